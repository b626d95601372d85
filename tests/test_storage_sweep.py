"""Exactly once: two sweepers running at once fire each of 10,000 due timers once (PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import T0
from sqlalchemy import func, select
from storage_workers import run_workers, sweep_worker

from complaintflow.bootstrap import App
from complaints.audit import hash_events
from complaints.repository import WORKFLOW_TIMER, complaint_t, event_t, timer_t
from workflows.integrity import check_integrity

#: PostgreSQL is where sweepers share the work (SKIP LOCKED); SQLite serialises writers, so a
#: smaller run there shows the same property without the wait.
SWEPT_TIMERS = {"postgresql": 2_000, "sqlite": 1_000}  # ten thousand: test_escalation_sweep


def seed_due_timers(app: App, count: int) -> None:
    """``count`` closed complaints whose 'archive' timer (90 days after closing) is due."""
    workflow = app.registry.get("complaint")
    entered = T0 - timedelta(days=91)
    state, tier = "closed", workflow.first_tier
    queue = workflow.queue_of(tier)
    rows = [{
        "reference": f"C-2026-{n:06d}", "channel": "web", "product": "Payday loan", "description": "bulk",
        "severity": "medium", "language": "en", "state": state, "tier": tier, "queue": queue,
        "workflow_name": workflow.name, "workflow_version": workflow.version, "version": 1, "data": {},
        "received_at": entered, "created_at": entered, "updated_at": entered,
    } for n in range(1, count + 1)]
    with app.db.transaction() as conn:
        ids = conn.execute(complaint_t.insert().returning(complaint_t.c.id, sort_by_parameter_order=True),
                           rows).scalars().all()
        events = [{
            "complaint_id": cid, "seq": 1, "actor": "seed", "role": "system", "action": "receive",
            "from_state": None, "to_state": state, "tier": tier, "queue": queue, "payload": {}, "changes": {},
            "at": entered} for cid in ids]
        for event, row in zip(events, rows, strict=True):
            [(event["content_hash"], event["chain_hash"])] = hash_events(row["reference"], None, [event])
        conn.execute(event_t.insert(), events)
        conn.execute(timer_t.insert(), [{
            "complaint_id": cid, "kind": WORKFLOW_TIMER, "name": "archive", "action": "archive",
            "state": state, "due_at": entered + timedelta(days=90), "status": "pending", "payload": {},
            "created_at": entered} for cid in ids])


@pytest.mark.slow
def test_two_sweepers_at_once_fire_each_timer_exactly_once(app: App, database_url: str, tmp_path: Path) -> None:
    count = SWEPT_TIMERS[app.db.dialect]
    seed_due_timers(app, count)

    results = run_workers(sweep_worker, [(database_url, T0.isoformat())] * 2, tmp_path)

    if app.db.dialect == "postgresql":  # SKIP LOCKED: the sweepers take disjoint batches side by side
        assert all(results), "each sweeper should have fired part of the timers"
    fired = Counter(label for result in results for label in result)
    assert len(fired) == count and set(fired.values()) == {1}
    with app.db.read() as conn:
        statuses = dict(conn.execute(select(timer_t.c.status, func.count()).where(
            timer_t.c.action == "archive").group_by(timer_t.c.status)).all())
        per_complaint = Counter(conn.execute(select(event_t.c.complaint_id).where(
            event_t.c.action == "archive")).scalars())
    assert statuses == {"fired": count}
    assert len(per_complaint) == count and set(per_complaint.values()) == {1}
    assert check_integrity(app.db, app.registry).problems == []


def seed_complaints_with_clocks(app: App, count: int) -> None:
    """``count`` complaints taken in through intake: each with its SLA, regulatory and
    workflow timers, which act on one another (an escalation retargets and cancels)."""
    from casework import complaint

    from complaints.steps import Actor

    records = [(n, complaint(external_id=f"S-{n}", severity=("medium", "high", "low")[n % 3])) for n in range(count)]
    report = app.intake.take_in(records, Actor("seed", "handler"))
    assert len(report.created) == count


def pending_and_fired(app: App) -> tuple[int, Counter[str]]:
    with app.db.read() as conn:
        statuses = Counter(dict(conn.execute(select(timer_t.c.status, func.count()).group_by(timer_t.c.status)).all()))
    return statuses["pending"], statuses


@pytest.mark.slow
def test_four_sweepers_over_interacting_timers_never_fail_and_fire_each_timer_once(
    app: App, database_url: str, tmp_path: Path
) -> None:
    """Cases with many overdue timers each (a sweep months late): the sweepers escalate, retarget
    and cancel timers of cases another sweeper may hold. No sweeper may fail, and the
    result is as if one sweeper had worked alone: each timer fired (or skipped) once."""
    seed_complaints_with_clocks(app, 2_000 if app.db.dialect == "postgresql" else 300)
    for later in (timedelta(days=20), timedelta(days=75)):  # repeated: a second catch-up, further on
        now = (T0 + later).isoformat()
        due = count_due(app, T0 + later)
        results = run_workers(sweep_worker, [(database_url, now)] * 4, tmp_path)
        fired = Counter(label for result in results for label in result)
        assert set(fired.values()) <= {1}, "a timer fired twice"
        assert count_due(app, T0 + later) == 0 and due >= (10_000 if app.db.dialect == "postgresql" else 1_000)
    with app.db.read() as conn:
        escalations = Counter(conn.execute(select(event_t.c.complaint_id, event_t.c.seq).where(
            event_t.c.action == "escalate")).all())
    assert escalations and set(escalations.values()) == {1}
    assert check_integrity(app.db, app.registry).problems == []


def count_due(app: App, now: object) -> int:
    with app.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(timer_t).where(
            timer_t.c.status == "pending", timer_t.c.due_at <= now)).scalar_one())
