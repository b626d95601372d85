"""Figure 4: the sweep's cost grows with what is due, not with what is open.

Databases with N open complaints (each waiting on a pending timer due in 30 days) and the
same number of due timers; the sweep fires the due ones. Its time at the smallest N is the
baseline: at the larger N it must stay within a factor of 2. Open complaints are inserted with
raw ``executemany`` (setup only); the due ones are added fresh before every timed round, and
the sizes' rounds alternate, as every figure's contenders do.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack, closing
from dataclasses import dataclass
from datetime import UTC, datetime

from benchmarks.databases import bulk_complaints, count_rows, due_and_later, fresh_app, raw_sqlite
from benchmarks.harness import Context, Figure, Measure, Profile, Target, interleaved
from complaints.clock import FixedClock
from escalation.sweep import sweep

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
#: Short rows: the sweep never reads the text, and 1M narratives would only slow the setup.
ROWS = [{"Product": "Payday loan", "Company": "Lender A", "Issue": "Fees", "Sub-issue": "Late fee", "State": "TX"}]
STATE, ACTION = "awaiting_customer", "auto_close"  # auto_close: closes, queues a letter, sets the archive timer


@dataclass(frozen=True)
class Sizes:
    open: tuple[int, ...]
    due: int
    repeat: int


SIZES: dict[Profile, Sizes] = {
    "tiny": Sizes(open=(100, 300), due=20, repeat=1),
    "quick": Sizes(open=(1_000, 10_000, 50_000), due=300, repeat=1),
    "full": Sizes(open=(10_000, 100_000, 1_000_000), due=1_000, repeat=3),
}


class Size:
    """One database of ``open_count`` open complaints; each round adds ``due`` due ones."""

    def __init__(self, ctx: Context, open_count: int, due: int):
        url = ctx.sqlite_url(f"sweep_{open_count}")
        self.open_count, self.due, self.added = open_count, due, open_count
        self.app = fresh_app(url, FixedClock(NOW))
        self.conn = raw_sqlite(url)
        self.due_at, later = due_and_later(NOW)
        bulk_complaints(self.conn, open_count, 0, ROWS, STATE, ACTION, later, NOW)
        self.conn.execute("ANALYZE")

    def prepare(self) -> Callable[[], object]:
        self.check()
        bulk_complaints(self.conn, self.due, self.added, ROWS, STATE, ACTION, self.due_at, NOW)
        self.added += self.due

        def work() -> None:
            report = sweep(self.app.engine, now=NOW, batch_size=500)
            if len(report.fired) != self.due:
                raise AssertionError(f"the sweep fired {len(report.fired)} of {self.due} due timers "
                                     f"at {self.open_count:,} open")

        return work

    def check(self) -> None:
        """Every due complaint added so far has its timer stored as fired. Counted outside the
        clock: the count reads an index of every timer, which would be charged to the sweep."""
        fired = count_rows(self.conn, "timer", "status = 'fired'")
        if fired != self.added - self.open_count:
            raise AssertionError(f"{fired} timers stored as fired, {self.added - self.open_count} due so far, "
                                 f"at {self.open_count:,} open")

    def close(self) -> None:
        try:
            self.check()
        finally:
            self.conn.close()
            self.app.db.dispose()


def run(ctx: Context) -> list[Measure]:
    """The sizes' rounds alternate (10k, 100k, 1M, 10k, ...), so a slow moment of a shared
    machine falls on all of them rather than on the size measured at the time."""
    sizes = SIZES[ctx.profile]
    with ExitStack() as opened:  # each database closed, and checked, whatever fails
        databases = [opened.enter_context(closing(Size(ctx, n, sizes.due))) for n in sizes.open]
        seconds = interleaved({db.open_count: db.prepare for db in databases}, sizes.repeat, warmup=1)
    smallest = sizes.open[0]
    return [
        Measure(
            f"SQLite: {sizes.due:,} due among {n:,} open", seconds[n], "s", seconds[smallest],
            f"same sweep at {smallest:,} open", Target("<=", 2.0),
            note=f"escalation.sweep.sweep; {sizes.due / seconds[n]:,.0f} timers fired/s",
        )
        for n in sizes.open
    ]


def estimate(profile: Profile) -> float:
    sizes = SIZES[profile]
    return sum(n / 60_000 + (sizes.repeat + 1) * (sizes.due / 1_500 + 0.2) for n in sizes.open)


FIGURE = Figure("sweep", "Sweep: cost grows with what is due, not what is open", run, estimate)
