"""The daily metrics snapshot: where the work stands and how fast it moves, kept per day.

``compute`` reads the case tables with a handful of grouped queries (no per-complaint work);
``take_snapshot`` stores the result as that UTC day's row of ``metrics_snapshot``, replacing
an earlier snapshot of the same day, so a retried or repeated run leaves one row per day.
"""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, select

from complaints.db import Database
from complaints.repository import (
    IS_PENDING,
    complaint_t,
    event_t,
    snapshot_t,
    store_snapshot,
    timer_t,
    unattended_failed_timers,
)
from complaints.steps import SYSTEM_ROLE
from complaints.types import UTCDateTime

#: States in which nobody has work left on a complaint.
DONE_STATES = ("closed", "archived")
#: The timer kind escalation gives SLA breach deadlines (a string, so this module need not import it).
SLA_BREACH_KIND = "sla_breach"
#: The window for the "last day" counts and the one for resolution times.
DAY, RESOLUTION_WINDOW = timedelta(days=1), timedelta(days=30)


def compute(conn: Connection, now: datetime) -> dict[str, Any]:
    """Counts by state/tier/queue, the day's flow in and out, SLA breaches, time to resolve."""
    open_ = complaint_t.c.state.not_in(DONE_STATES)
    by_state = _grouped(conn, complaint_t.c.state)
    since = now - DAY
    escalations = _grouped(
        conn, event_t.c.role == SYSTEM_ROLE, and_(event_t.c.action == "escalate", event_t.c.at >= since, event_t.c.at < now)
    )
    fired = _grouped(conn, timer_t.c.kind, and_(
        timer_t.c.status == "fired", timer_t.c.fired_at >= since, timer_t.c.fired_at < now,
        func.coalesce(timer_t.c.result, "").not_like("skipped%"),
    ))
    hours = _hours_to_resolve(conn, now)
    return {
        "open_total": sum(n for state, n in by_state.items() if state not in DONE_STATES),
        "by_state": by_state,
        "open_by_tier": _grouped(conn, complaint_t.c.tier, open_),
        "open_by_queue": _grouped(conn, complaint_t.c.queue, open_),
        "received_last_day": _count(conn, complaint_t, and_(complaint_t.c.received_at >= since, complaint_t.c.received_at < now)),
        "closed_last_day": _count(conn, event_t, and_(event_t.c.to_state == "closed", event_t.c.from_state != "closed",
                                                      event_t.c.at >= since, event_t.c.at < now)),
        "sla_breaches_last_day": fired.get(SLA_BREACH_KIND, 0),
        "timers_fired_last_day_by_kind": fired,
        "automatic_escalations_last_day": escalations.get(True, 0),
        "escalations_by_hand_last_day": escalations.get(False, 0),
        "overdue_timers_by_kind": _grouped(conn, timer_t.c.kind, and_(IS_PENDING, timer_t.c.due_at < now)),
        "failed_timers_by_kind": _failed_by_kind(conn),
        "resolved_last_30_days": len(hours),
        "median_hours_to_resolve": round(statistics.median(hours), 2) if hours else None,
    }


def take_snapshot(db: Database, now: datetime) -> dict[str, Any]:
    """Compute and store today's snapshot (UTC day of ``now``); returns what was stored."""
    with db.transaction() as conn:
        data = compute(conn, now)
        row = {"period": now.date().isoformat(), "taken_at": now, "open_total": data["open_total"], "data": data}
        store_snapshot(conn, row)
    return {"period": row["period"], "taken_at": now.isoformat()} | data


def snapshots(db: Database, limit: int = 30) -> list[dict[str, Any]]:
    """The latest stored snapshots, newest first."""
    with db.read() as conn:
        rows = conn.execute(select(snapshot_t).order_by(snapshot_t.c.period.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]


def _grouped(conn: Connection, key: Any, where: Any = None) -> dict[Any, int]:
    query = select(key, func.count()).group_by(key)
    if where is not None:
        query = query.where(where)
    return {k: n for k, n in conn.execute(query)}


def _failed_by_kind(conn: Connection) -> dict[str, int]:
    """Refused timers on complaints nobody has acted on since: the cases waiting for a person."""
    failed = unattended_failed_timers().subquery()
    return {k: n for k, n in conn.execute(select(failed.c.kind, func.count()).group_by(failed.c.kind))}


def _count(conn: Connection, table: Any, where: Any) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(where)).scalar_one())


def _hours_to_resolve(conn: Connection, now: datetime) -> list[float]:
    """Hours from receipt to first resolution, for complaints first resolved in the window."""
    first = (
        select(event_t.c.complaint_id, func.min(event_t.c.at).label("resolved_at"))
        .where(event_t.c.to_state == "resolved")
        .group_by(event_t.c.complaint_id)
        .subquery()
    )
    rows = conn.execute(
        select(complaint_t.c.received_at, first.c.resolved_at)
        .join(first, first.c.complaint_id == complaint_t.c.id)
        .where(and_(first.c.resolved_at >= now - RESOLUTION_WINDOW, first.c.resolved_at < now))
    )
    fix = UTCDateTime().process_result_value
    return [
        (fix(resolved, None) - received).total_seconds() / 3600  # type: ignore[operator]
        for received, resolved in rows
    ]
