"""The sweep fires each due timer exactly once, even with two sweeper processes at once."""

from __future__ import annotations

import multiprocessing as mp
from datetime import timedelta
from typing import Any

import pytest
from casework import take_in
from conftest import T0

from complaintflow.bootstrap import App, build
from complaintflow.settings import Settings
from complaints.clock import FixedClock
from complaints.repository import note_t, timer_t
from complaints.uow import UnitOfWork
from escalation.sweep import sweep

CASES, PER_CASE = 100, 100  # 10,000 due regulatory-letter timers


def _sweeper(url: str, start: Any, results: Any) -> None:
    """A separate process: wait for the signal, sweep, report what it fired."""
    app = build(Settings(database_url=url), clock=FixedClock(T0 + timedelta(minutes=1)))
    start.wait()
    report = sweep(app.engine, now=None, batch_size=500)
    results.put((len(report.fired), len(report.letters), len(report.failed)))
    app.db.dispose()


def _due_letters(app: App) -> None:
    """Many pending letter timers, all due now, on cases whose regulatory clock runs."""
    references = [take_in(app) for _ in range(CASES)]
    with UnitOfWork(app.db) as uow:
        ids = [uow.cases.get(ref).id for ref in references]
    rows = [
        {"complaint_id": cid, "kind": "regulatory", "name": "fca.final_response.letter", "action": None,
         "state": None, "due_at": T0, "status": "pending", "created_at": T0,
         "payload": {"clock": "fca", "milestone": "final_response", "letter": "fca_delay_letter"}}
        for cid in ids for _ in range(PER_CASE)
    ]
    with app.db.transaction() as conn:
        conn.execute(timer_t.insert(), rows)


@pytest.mark.slow
def test_ten_thousand_due_timers_swept_by_two_processes_fire_exactly_once(app: App, database_url: str) -> None:
    _due_letters(app)
    ctx = mp.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=_sweeper, args=(database_url, start, results)) for _ in range(2)]
    for w in workers:
        w.start()
    start.set()
    reports = [results.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=30)
        assert w.exitcode == 0
    assert sum(r[0] for r in reports) == CASES * PER_CASE and all(r[2] == 0 for r in reports)
    assert sum(r[1] for r in reports) == CASES * PER_CASE
    with app.db.read() as conn:
        letters = conn.execute(note_t.select().where(note_t.c.template == "fca_delay_letter")).all()
        pending = conn.execute(
            timer_t.select().where(timer_t.c.status == "pending", timer_t.c.due_at <= T0 + timedelta(minutes=1))
        ).all()
    assert len(letters) == CASES * PER_CASE and pending == []


def test_the_sweep_reads_only_what_is_due(app: App, clock: FixedClock) -> None:
    """Thousands of open cases, none due: one empty batch, nothing fired."""
    for _ in range(20):
        take_in(app)
    report = sweep(app.engine, batch_size=5)
    assert (report.fired, report.batches) == ([], 1)


def test_a_due_workflow_timer_fires_its_action_once(app: App, clock: FixedClock) -> None:
    from casework import walk

    reference = take_in(app)
    walk(app, reference, ["assess", "need_info"])
    clock.advance(days=14)
    first, second = sweep(app.engine, batch_size=2), sweep(app.engine, batch_size=2)
    assert f"{reference} workflow auto_close" in first.fired and second.fired == []
    assert app.engine.get(reference).state == "closed"
