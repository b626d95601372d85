"""Correctness under concurrency, with real processes: racing writers lose no update."""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest
from casework import TO_INVESTIGATING, stored, take_in, walk
from conftest import T0
from storage_workers import CYCLE, advance_worker, assign_worker, run_mixed, run_workers, sweep_worker

from complaintflow.bootstrap import App
from complaints.db import Database
from workflows.integrity import check_integrity
from workflows.machine import replay

WORKERS = 4
ROUNDS = 30


def test_racing_processes_lose_no_update_and_every_refusal_is_clean(
    app: App, database_url: str, tmp_path: Path
) -> None:
    references = [take_in(app) for _ in range(3)]
    for reference in references:
        walk(app, reference, TO_INVESTIGATING)
    setup_events = 2 + len(TO_INVESTIGATING)

    results = run_workers(advance_worker, [(database_url, T0.isoformat(), references, w, ROUNDS)
                                           for w in range(WORKERS)], tmp_path)
    outcomes = [o for result in results for o in result]
    accepted = [o for o in outcomes if o["result"] == "accepted"]
    refused = [o for o in outcomes if o["result"] != "accepted"]

    assert len(outcomes) == WORKERS * ROUNDS and accepted and refused
    for o in refused:
        if o["result"] == "conflict":
            assert o["expected_version"] is not None
            assert "was changed by someone else" in o["message"] and "Reload it and try again" in o["message"]
        else:  # without a version to check, the case had moved on to where the action doesn't apply
            assert o["result"] == "not_allowed" and CYCLE.get(o["state"]) != o["action"], o
    for reference in references:
        case = stored(app, reference)
        logged = [(e["seq"], e["action"], e["actor"], e["payload"]) for e in case["events"][setup_events:]]
        wanted = sorted((o["seq"], o["action"], o["actor"], o["payload"]) for o in accepted
                        if o["reference"] == reference)
        assert logged == wanted  # every accepted action once, in its order, and nothing else
        folded = replay(case["events"])
        assert folded is not None
        assert (folded.state, folded.tier, folded.queue, folded.version, folded.data) == (
            case["state"], case["tier"], case["queue"], case["version"], case["data"])
    assert check_integrity(app.db, app.registry).problems == []


def test_a_checkpoint_copies_the_log_back_beside_a_writer_without_waiting_for_it(sqlite_app: App) -> None:
    take_in(sqlite_app, external_id="CP-1")
    writer = sqlite3.connect(sqlite_app.db.engine.url.database, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # a writer mid-transaction holds the write lock
        writer.execute("UPDATE reference_counter SET next_number = next_number")
        started = time.perf_counter()
        sqlite_app.db.checkpoint()
        assert time.perf_counter() - started < 5, "a checkpoint must not wait for the writer (busy timeout: 60 s)"
        writer.execute("COMMIT")
        sqlite_app.db.checkpoint()
        busy, in_log, copied = writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert (busy, copied) == (0, in_log), "everything committed is back in the database file"
    finally:
        writer.close()


def test_a_checkpoint_leaves_databases_without_a_log_alone(app: App) -> None:
    """PostgreSQL has no log to copy back; an in-memory SQLite database has one connection,
    which a checkpoint must not use mid-transaction."""
    memory = Database("sqlite://")
    with memory.transaction() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        memory.checkpoint()
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    with memory.read() as conn:
        assert conn.exec_driver_sql("SELECT x FROM t").scalars().all() == [1]
    reference = take_in(app, external_id="CP-1")
    app.db.checkpoint()
    assert stored(app, reference)["state"] == "acknowledged"


@pytest.mark.slow
def test_eight_handlers_and_two_sweepers_on_the_same_cases_lose_no_update(
    app: App, database_url: str, tmp_path: Path
) -> None:
    """Handlers assign with the version they read while sweepers escalate the same cases: a
    handler either succeeds or is told of a conflict (never another error), and every
    accepted write is in the log exactly once, the versions counting every event."""
    references = [take_in(app, external_id=f"R-{n}") for n in range(100)]
    now = (T0 + timedelta(days=20)).isoformat()  # their SLA timers are due: the sweepers escalate
    handlers = [(assign_worker, (database_url, now, references, w, 25)) for w in range(8)]
    sweepers = [(sweep_worker, (database_url, now))] * 2
    results = run_mixed([*handlers, *sweepers], tmp_path)
    outcomes = [o for result in results[:8] for o in result]
    assert [o for o in outcomes if o["result"] == "error"] == []
    accepted = [o for o in outcomes if o["result"] == "accepted"]
    assert accepted and any(o["result"] == "conflict" for o in outcomes)
    escalated = 0
    for reference in references:
        case = stored(app, reference)
        assert [e["seq"] for e in case["events"]] == list(range(1, case["version"] + 1))
        logged = sorted((e["seq"], e["payload"]["assignee"]) for e in case["events"] if e["action"] == "assign")
        assert logged == sorted((o["seq"], o["assignee"]) for o in accepted if o["reference"] == reference)
        escalated += sum(e["action"] == "escalate" for e in case["events"])
    assert escalated > 0
    assert check_integrity(app.db, app.registry).problems == []
