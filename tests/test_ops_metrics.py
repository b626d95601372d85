"""The daily metrics snapshot service (no Prefect): what it counts, and one row per day."""

from __future__ import annotations

from datetime import timedelta

from casework import PAYLOADS, take_in, walk
from sqlalchemy import select

from complaints import metrics
from complaints.repository import complaint_t, timer_t
from complaints.steps import Actor


def test_snapshot_counts_work_by_state_tier_and_queue_breaches_and_time_to_resolve(app, clock):
    waiting = take_in(app, external_id="M-1")
    resolved = take_in(app, external_id="M-2")
    rejected = take_in(app, external_id="M-3")
    walk(app, rejected, ["assess", "invalid"])
    walk(app, resolved, ["assess", "valid"])
    app.engine.advance(resolved, "escalate", Actor.system("sla"), {"reason": "SLA breached"})
    clock.advance(hours=30)
    walk(app, resolved, ["propose", "accept"])
    walk(app, waiting, ["assess", "need_info"])
    clock.advance(days=15)  # the auto_close of the waiting complaint is overdue, not yet swept

    snap = metrics.take_snapshot(app.db, app.clock.now())

    assert snap["period"] == "2026-12-09" and snap["open_total"] == 2
    assert snap["by_state"] == {"awaiting_customer": 1, "resolved": 1, "closed": 1}
    assert snap["open_by_tier"] == {"frontline": 1, "supervisor": 1}
    assert snap["open_by_queue"] == {"frontline": 1, "supervisors": 1}
    assert snap["resolved_last_30_days"] == 1 and snap["median_hours_to_resolve"] == 30.0
    assert snap["overdue_timers_by_kind"]["workflow"] == 2  # auto_close and start_follow_up
    assert snap["received_last_day"] == 0 and snap["closed_last_day"] == 0


def _fired_timer(app, ref: str, kind: str, fired_at, result: str) -> None:  # type: ignore[no-untyped-def]
    with app.db.transaction() as conn:
        cid = conn.execute(select(complaint_t.c.id).where(complaint_t.c.reference == ref)).scalar_one()
        conn.execute(timer_t.insert().values(
            complaint_id=cid, kind=kind, name="resolution", due_at=fired_at, status="fired", payload={},
            created_at=fired_at, fired_at=fired_at, result=result))


def test_the_day_counts_cover_only_the_last_24_hours(app, clock):
    ref = take_in(app, external_id="D-1")
    walk(app, ref, ["assess", "valid"])
    app.engine.advance(ref, "escalate", Actor.system("sla"), {"reason": "SLA breached"})
    app.engine.advance(ref, "escalate", Actor("sam", "supervisor"), PAYLOADS["escalate"])
    _fired_timer(app, ref, metrics.SLA_BREACH_KIND, clock.now() - timedelta(days=2), "breach recorded")  # too old
    _fired_timer(app, ref, metrics.SLA_BREACH_KIND, clock.now(), "breach recorded; escalated to supervisor")
    _fired_timer(app, ref, metrics.SLA_BREACH_KIND, clock.now(), "skipped: the clock no longer runs this deadline")
    clock.advance(hours=2)
    snap = metrics.take_snapshot(app.db, app.clock.now())
    assert snap["received_last_day"] == 1
    assert snap["sla_breaches_last_day"] == 1 and snap["timers_fired_last_day_by_kind"] == {"sla_breach": 1}
    assert snap["automatic_escalations_last_day"] == 1 and snap["escalations_by_hand_last_day"] == 1


def test_a_second_snapshot_the_same_day_replaces_the_first(app, clock):
    take_in(app, external_id="S-1")
    metrics.take_snapshot(app.db, app.clock.now())
    take_in(app, external_id="S-2")
    clock.advance(hours=3)
    metrics.take_snapshot(app.db, app.clock.now())
    clock.advance(days=1)
    metrics.take_snapshot(app.db, app.clock.now())
    rows = metrics.snapshots(app.db)
    assert [(r["period"], r["open_total"]) for r in rows] == [("2026-11-24", 2), ("2026-11-23", 2)]
    assert rows[1]["taken_at"] == clock.now().replace(day=23)
