"""Code that concurrency tests run in separate processes (spawned, so each has its own engine).

Each worker builds its own application from the database URL, waits at a barrier so all of
them start together, and writes what happened to a JSON file the test reads afterwards.
"""

from __future__ import annotations

import json
import multiprocessing
import random
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from complaintflow.bootstrap import build
from complaintflow.settings import Settings
from complaints.clock import FixedClock
from complaints.errors import ActionNotAllowed, ConflictError
from complaints.steps import Actor

#: A worker that waits longer than this at a barrier gives up (another one has died).
BARRIER_TIMEOUT = 60

#: From each state of the pause/resume cycle, the action that moves the case on.
CYCLE = {"investigating": "pause", "on_hold": "resume"}


def payload(action: str, worker: int, round_: int) -> dict[str, Any]:
    """A payload unique to the writer, so a lost update would show in the data."""
    if action == "pause":
        return {"reason": f"worker {worker} round {round_}", "resume_on": f"2026-12-{1 + round_ % 28:02d}"}
    return {}


def _app(url: str, now: str) -> Any:
    return build(Settings(database_url=url), clock=FixedClock(datetime.fromisoformat(now)))


def advance_worker(url: str, now: str, references: list[str], worker: int, rounds: int, barrier: Any, out: str) -> None:
    """Read a case, wait for every worker to have read, then advance it with (half the time)
    the version read: each round is a read-modify-write race, on purpose."""
    app = _app(url, now)
    rng = random.Random(worker)
    actor = Actor(f"worker-{worker}", "handler")
    outcomes: list[dict[str, Any]] = []
    for round_ in range(rounds):
        reference = rng.choice(references)
        seen = app.engine.get(reference)
        barrier.wait(timeout=BARRIER_TIMEOUT)
        action = CYCLE[seen.state]
        expected = seen.version if round_ % 2 == 0 else None
        outcome: dict[str, Any] = {"reference": reference, "action": action, "actor": actor.name,
                                   "expected_version": expected}
        try:
            step = app.engine.advance(reference, action, actor, payload(action, worker, round_), expected)
            outcome.update(result="accepted", seq=step.seq, payload=step.payload)
        except ConflictError as exc:
            outcome.update(result="conflict", message=str(exc))
        except ActionNotAllowed as exc:
            outcome.update(result="not_allowed", message=str(exc), state=exc.state)
        outcomes.append(outcome)
    app.db.dispose()
    Path(out).write_text(json.dumps(outcomes), encoding="utf-8")


def sweep_worker(url: str, now: str, barrier: Any, out: str) -> None:
    """Sweep until nothing is due; record every timer this sweeper fired."""
    from escalation.sweep import sweep

    app = _app(url, now)
    fired: list[str] = []
    barrier.wait(timeout=BARRIER_TIMEOUT)
    while True:
        report = sweep(app.engine, batch_size=500)
        fired += report.fired
        if not (report.fired or report.skipped or report.failed) and not _anything_due(app):
            break
    app.db.dispose()
    Path(out).write_text(json.dumps(fired), encoding="utf-8")


def _anything_due(app: Any) -> bool:
    from complaints.uow import UnitOfWork

    with UnitOfWork(app.db) as uow:
        return bool(uow.cases.due_timers(app.clock.now(), 1))


def run_workers(target: Callable[..., None], args: Sequence[tuple[Any, ...]], tmp_path: Path) -> list[Any]:
    """Start one spawned process per argument tuple, all released together; their JSON results."""
    return run_mixed([(target, a) for a in args], tmp_path)


def init_worker(url: str, barrier: Any, out: str) -> None:
    """Upgrade the schema at the same moment as the other workers; record the revision reached."""
    from complaintflow.bootstrap import init_database
    from complaintflow.migrations import current
    from complaints.db import Database

    db = Database(url)
    barrier.wait(timeout=BARRIER_TIMEOUT)
    init_database(db)
    Path(out).write_text(json.dumps(current(db)), encoding="utf-8")
    db.dispose()


def assign_worker(url: str, now: str, references: list[str], worker: int, rounds: int, barrier: Any, out: str) -> None:
    """Assign cases with the version just read, as a handler's screen does; record each outcome.
    Half the picks go to a few cases, so that writers meet there."""
    app = _app(url, now)
    rng = random.Random(worker)
    actor = Actor(f"worker-{worker}", "handler")
    outcomes: list[dict[str, Any]] = []
    barrier.wait(timeout=BARRIER_TIMEOUT)
    for round_ in range(rounds):
        reference = rng.choice(references[:5] if round_ % 2 else references)
        assignee = f"w{worker}-r{round_}"
        outcome: dict[str, Any] = {"reference": reference, "assignee": assignee}
        try:
            seen = app.engine.get(reference)
            time.sleep(rng.uniform(0, 0.01))  # the handler reads the case before acting
            step = app.engine.advance(reference, "assign", actor, {"assignee": assignee}, seen.version)
            outcome.update(result="accepted", seq=step.seq)
        except ConflictError:
            outcome.update(result="conflict")
        except Exception as exc:  # noqa: BLE001 - anything else is what the test looks for
            outcome.update(result="error", error=f"{type(exc).__name__}: {exc}")
        outcomes.append(outcome)
    app.db.dispose()
    Path(out).write_text(json.dumps(outcomes), encoding="utf-8")


def run_mixed(workers: Sequence[tuple[Callable[..., None], tuple[Any, ...]]], tmp_path: Path) -> list[Any]:
    """Like ``run_workers``, for workers of several kinds released together."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(workers))
    outs = [tmp_path / f"mixed-{i}.json" for i in range(len(workers))]
    procs = [ctx.Process(target=target, args=(*args, barrier, str(out)))
             for (target, args), out in zip(workers, outs, strict=True)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    for p in procs:
        if p.is_alive():
            p.kill()
            p.join()
    assert [p.exitcode for p in procs] == [0] * len(procs), "a worker process failed (its traceback is above)"
    return [json.loads(out.read_text(encoding="utf-8")) for out in outs]
