"""Figure: a handler's step waits at most a moment behind a sweep (SQLite).

A sweeper process fires N due timers (closing complaints the customer never answered: each
closes the case, queues a letter and sets the archive timer) while this process advances
other cases one transaction at a time, as handlers do; the same advances run with no sweep
in alternating rounds. Target: the advances' 95th percentile latency during the sweep at most
three times the one without.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from benchmarks.databases import HANDLER, bulk_complaints, due_and_later, fresh_app, investigating_cases, raw_sqlite
from benchmarks.harness import Context, Figure, Measure, Profile, Target
from complaintflow.bootstrap import App
from complaints.clock import FixedClock

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ROWS = [{"Product": "Payday loan", "Company": "Lender A", "Issue": "Fees", "Sub-issue": "Late fee", "State": "TX"}]
#: (due timers a sweep fires, advances measured with no sweep, rounds of each)
SIZES: dict[Profile, tuple[int, int, int]] = {"tiny": (300, 20, 1), "quick": (3_000, 60, 2),
                                              "full": (10_000, 150, 3)}
LIMIT = 3.0
PAUSE = 0.005  # between a handler's steps


def _sweep(url: str, ready: object) -> None:
    """The sweeper process: the full sweep, as the sla-sweep flow runs it."""
    from complaintflow.bootstrap import build
    from complaintflow.settings import Settings
    from escalation.sweep import sweep

    app = build(Settings(database_url=url), clock=FixedClock(NOW))
    ready.set()  # type: ignore[attr-defined]
    sweep(app.engine, batch_size=app.settings.sweep_batch_size)
    app.db.dispose()


def _advances(app: App, references: list[str], more: Callable[[list[float]], bool], start: int) -> list[float]:
    """Seconds of each advance, begun while ``more(seconds so far)``."""
    seconds: list[float] = []
    number = start
    while more(seconds):
        reference = references[number % len(references)]
        began = time.perf_counter()
        app.engine.advance(reference, "assign", HANDLER, {"assignee": f"h{number}"})
        seconds.append(time.perf_counter() - began)
        number += 1
        time.sleep(PAUSE)
    return seconds


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


def run(ctx: Context) -> list[Measure]:
    due, least, rounds = SIZES[ctx.profile]
    url = ctx.sqlite_url("contention")
    app = fresh_app(url, FixedClock(NOW))
    references = investigating_cases(app, 50, "H")
    conn = raw_sqlite(url)
    due_at, _ = due_and_later(NOW)
    spawn = multiprocessing.get_context("spawn")
    during: list[float] = []
    alone: list[float] = []
    added = 0
    try:
        for round_ in range(rounds):
            bulk_complaints(conn, due, added, ROWS, "awaiting_customer", "auto_close", due_at, NOW)
            added += due
            ready = spawn.Event()
            sweeper = spawn.Process(target=_sweep, args=(url, ready))
            sweeper.start()
            ready.wait(60)
            during += _advances(app, references, lambda _, running=sweeper: running.is_alive(), round_ * 10_000)
            sweeper.join()
            if sweeper.exitcode != 0:
                raise AssertionError(f"the sweeper failed (exit code {sweeper.exitcode})")
            alone += _advances(app, references, lambda done: len(done) < least, round_ * 10_000 + 5_000)
    finally:
        conn.close()
        app.db.dispose()
    return [Measure(
        f"SQLite: p95 of a handler's advance during a sweep of {due:,} due timers", p95(during), "s", p95(alone),
        "the same advances with no sweep", Target("<=", LIMIT),
        note=f"{len(during)} advances during, {len(alone)} alone; medians {statistics.median(during) * 1000:.1f} "
             f"and {statistics.median(alone) * 1000:.1f} ms; worst during {max(during) * 1000:.0f} ms",
    )]


def estimate(profile: Profile) -> float:
    due, least, rounds = SIZES[profile]
    return rounds * (due / 1_500 + least * 0.02 + 4)


FIGURE = Figure("contention", "Contention: a handler's step beside a sweep (SQLite)", run, estimate)
