"""Figure: throughput under concurrency on PostgreSQL, beside raw psycopg doing the same writes.

1, 2, 4 and 8 processes each advance cases of their own (pause and resume, one transition a
transaction, as handlers do), through the engine; the same numbers of processes make the
same writes with raw ``psycopg`` (``transitions.RawTransitions``), in alternating rounds.
Targets: at every count at least 0.5 of the raw throughput, and throughput that grows from
one count to the next wherever the raw one grows (by more than a tenth).
"""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime
from typing import Any

from benchmarks.databases import HANDLER, fresh_app, investigating_cases, raw_pg
from benchmarks.harness import Context, Figure, Measure, NotAvailable, Profile, Target
from benchmarks.transitions import PAYLOADS, ClockMoves, RawTransitions, Rotation
from complaints.clock import FixedClock

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
COUNTS = (1, 2, 4, 8)
#: (cases each process rotates over, transitions each makes a round, rounds of each contender)
SIZES: dict[Profile, tuple[int, int, int]] = {"tiny": (4, 8, 1), "quick": (20, 80, 1), "full": (50, 400, 2)}


def _engine_worker(url: str, references: list[str], count: int, barrier: Any, out: Any) -> None:
    from complaintflow.bootstrap import build
    from complaintflow.settings import Settings

    app = build(Settings(database_url=url), clock=FixedClock(NOW))
    steps = Rotation(references).take(count)
    app.engine.advance(*_warm(references[0]), HANDLER, PAYLOADS["pause"])  # connect before the clock starts
    app.engine.advance(references[0], "resume", HANDLER, {})
    barrier.wait(120)
    began = time.perf_counter()
    for reference, action in steps:
        app.engine.advance(reference, action, HANDLER, PAYLOADS[action])
    out.put((began, time.perf_counter()))
    app.db.dispose()


def _raw_worker(url: str, references: list[str], count: int, barrier: Any, out: Any) -> None:
    from complaintflow.bootstrap import build
    from complaintflow.settings import Settings

    app = build(Settings(database_url=url), clock=FixedClock(NOW))
    conn = raw_pg(url)
    raw = RawTransitions(conn, "postgresql", ClockMoves.of(app))
    warm = Rotation(references[:1])
    raw.round(warm, 2, 1)()()  # connect and prepare before the clock starts (pause and resume back)
    work = raw.round(Rotation(references), count, 1)()
    barrier.wait(120)
    began = time.perf_counter()
    work()
    out.put((began, time.perf_counter()))
    conn.close()
    app.db.dispose()


def _warm(reference: str) -> tuple[str, str]:
    return reference, "pause"


def _throughput(target: Any, url: str, sets: list[list[str]], processes: int, count: int) -> float:
    spawn = multiprocessing.get_context("spawn")
    barrier, out = spawn.Barrier(processes), spawn.Queue()
    workers = [spawn.Process(target=target, args=(url, sets[i], count, barrier, out)) for i in range(processes)]
    for worker in workers:
        worker.start()
    spans = [out.get(timeout=600) for _ in workers]
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise AssertionError(f"a {target.__name__} process failed (exit code {worker.exitcode})")
    return processes * count / (max(end for _, end in spans) - min(start for start, _ in spans))


def run(ctx: Context) -> list[Measure]:
    if not ctx.pg_url:
        raise NotAvailable("needs PostgreSQL (--pg-url or COMPLAINTS_BENCH_POSTGRES_URL)")
    per_process, count, rounds = SIZES[ctx.profile]
    app = fresh_app(ctx.pg_url, FixedClock(NOW))
    engine_sets = [investigating_cases(app, per_process, f"E{i}") for i in range(max(COUNTS))]
    raw_sets = [investigating_cases(app, per_process, f"R{i}") for i in range(max(COUNTS))]
    app.db.dispose()
    count -= count % (2 * per_process)  # whole rotations: every case back in 'investigating' after a round
    best: dict[tuple[str, int], float] = {}
    for _ in range(rounds):
        for processes in COUNTS:
            for name, target, sets in (("engine", _engine_worker, engine_sets), ("raw", _raw_worker, raw_sets)):
                rate = _throughput(target, ctx.pg_url, sets, processes, count)
                best[(name, processes)] = max(best.get((name, processes), 0.0), rate)
    measures = [
        Measure(f"PostgreSQL: {n} process{'es' if n > 1 else ''} advancing disjoint cases", best[("engine", n)],
                "transitions/s", best[("raw", n)], f"raw psycopg, {n} process{'es' if n > 1 else ''}, same writes",
                Target(">=", 0.5))
        for n in COUNTS
    ]
    for fewer, more in zip(COUNTS, COUNTS[1:], strict=False):
        engine_growth = best[("engine", more)] / best[("engine", fewer)]
        raw_growth = best[("raw", more)] / best[("raw", fewer)]
        grows = raw_growth > 1.1
        measures.append(Measure(
            f"PostgreSQL: throughput from {fewer} to {more} processes", engine_growth, "x", raw_growth,
            "raw psycopg's growth", Target(">=", 1.05, on="value") if grows else None,
            note="" if grows else "the raw throughput does not grow here either (the machine's cores are busy): "
                                  "no target"))
    return measures


def estimate(profile: Profile) -> float:
    """Setting up the cases, then each round: every process starts (about a second and a half
    each, importing the application) and makes its transitions."""
    per_process, count, rounds = SIZES[profile]
    return 16 * per_process * 0.03 + rounds * sum(2 * n * (1.5 + count / 150) for n in COUNTS)


FIGURE = Figure("scaling", "Concurrency on PostgreSQL: processes advancing cases", run, estimate)
