"""Figure 4: the sweep's cost grows with what is due, not with what is open.

Databases with N open complaints (each waiting on a pending timer due in 30 days) and the
same number of due timers; the sweep fires the due ones. Its time at the smallest N is the
baseline: at the larger N it must stay within a factor of 2. Open complaints are inserted with
raw ``executemany`` (setup only); the due ones are added fresh before every timed round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from benchmarks.databases import bulk_complaints, count_rows, due_and_later, fresh_app, raw_sqlite
from benchmarks.harness import Context, Figure, Measure, Profile, Target, best_of
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


def measure_size(ctx: Context, open_count: int, sizes: Sizes) -> float:
    url = ctx.sqlite_url(f"sweep_{open_count}")
    app = fresh_app(url, FixedClock(NOW))
    conn = raw_sqlite(url)
    due_at, later = due_and_later(NOW)
    bulk_complaints(conn, open_count, 0, ROWS, STATE, ACTION, later, NOW)
    conn.execute("ANALYZE")
    added = [open_count]

    def prepare() -> Callable[[], object]:
        bulk_complaints(conn, sizes.due, added[0], ROWS, STATE, ACTION, due_at, NOW)
        added[0] += sizes.due
        before = count_rows(conn, "timer", "status = 'fired'")

        def work() -> None:
            sweep(app, now=NOW, batch_size=500)
            fired = count_rows(conn, "timer", "status = 'fired'") - before
            if fired != sizes.due:
                raise AssertionError(f"the sweep fired {fired} of {sizes.due} due timers at {open_count:,} open")

        return work

    try:
        return best_of(prepare, sizes.repeat, warmup=1)
    finally:
        conn.close()
        app.db.dispose()


def run(ctx: Context) -> list[Measure]:
    sizes = SIZES[ctx.profile]
    seconds = {n: measure_size(ctx, n, sizes) for n in sizes.open}
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
