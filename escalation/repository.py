"""Clock rows, ledger entries and their timers, in SQLAlchemy Core on the caller's connection.

Writes join the transaction of the step (or sweep) that caused them: a rolled-back step
leaves no clock change behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, or_, select, update

from complaints.repository import timer_t
from escalation.clocks import TIMER_KINDS, ClockState, Outcome
from escalation.models import SlaClock, SlaLedgerEntry

clock_t = SlaClock.__table__  # type: ignore[attr-defined]
ledger_t = SlaLedgerEntry.__table__  # type: ignore[attr-defined]

_STATE_FIELDS = [f.name for f in fields(ClockState) if f.name != "id"]

# Built once with bind parameters: the observer runs them inside every clock-changing step.
_CLOCKS_OF = select(clock_t).where(clock_t.c.complaint_id == bindparam("cid")).order_by(clock_t.c.id)
_UPDATE_CLOCK = update(clock_t).where(clock_t.c.id == bindparam("clock_id"))
_CANCEL = (
    update(timer_t)
    .where(and_(timer_t.c.complaint_id == bindparam("cid"), timer_t.c.status == "pending",
                or_(*[timer_t.c.kind == kind for kind in TIMER_KINDS]),  # no IN: executemany can't expand it
                or_(timer_t.c.name == bindparam("clock"), timer_t.c.name.like(bindparam("prefix")))))
    .values(status="cancelled", cancelled_at=bindparam("at"))
)
_INSERT_CLOCKS = clock_t.insert().returning(clock_t.c.id, sort_by_parameter_order=True)


def _state(row: Any) -> ClockState:
    m = row._mapping
    return ClockState(id=m["id"], **{k: m[k] for k in _STATE_FIELDS})


class ClockRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    @staticmethod
    def state_of(row: Any) -> ClockState:
        return _state(row)

    def clocks(self, complaint_id: int, kinds: Sequence[str] | None = None) -> dict[str, ClockState]:
        rows = self.conn.execute(_CLOCKS_OF, {"cid": complaint_id})
        return {r.name: _state(r) for r in rows if kinds is None or r.kind in kinds}

    def ledger(self, complaint_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            select(ledger_t).where(ledger_t.c.complaint_id == complaint_id).order_by(ledger_t.c.id)
        )
        return [dict(r._mapping) for r in rows]

    def save(self, complaint_id: int, outcomes: Iterable[Outcome], actor: str, at: datetime) -> None:
        """Insert or update each clock, append its ledger entries, replace its timers."""
        ledger: list[dict[str, Any]] = []
        timers: list[dict[str, Any]] = []
        cancel: list[str] = []
        outcomes = list(outcomes)
        fresh = [o for o in outcomes if o.state.id is None]
        if fresh:  # one round trip for the clocks a step starts (intake starts several)
            rows = [{k: getattr(o.state, k) for k in _STATE_FIELDS} | {"updated_at": at, "complaint_id": complaint_id}
                    for o in fresh]
            ids = self.conn.execute(_INSERT_CLOCKS, rows).scalars().all()
            for o, new_id in zip(fresh, ids, strict=True):
                o.state.id = new_id
        inserted = {id(o) for o in fresh}
        changed = [{k: getattr(o.state, k) for k in _STATE_FIELDS} | {"updated_at": at, "clock_id": o.state.id}
                   for o in outcomes if id(o) not in inserted]
        if changed:
            self.conn.execute(_UPDATE_CLOCK, changed)
        for out in outcomes:
            if out.cancel:
                cancel.append(out.state.name)
            ledger += [
                {"complaint_id": complaint_id, "clock": e.clock, "entry": e.entry, "at": e.at, "actor": actor,
                 "reason": e.reason[:500], "detail": e.detail}
                for e in out.entries
            ]
            timers += [
                {"complaint_id": complaint_id, "kind": t.kind, "name": t.name, "action": None, "state": None,
                 "due_at": t.due_at, "status": "pending", "payload": t.payload, "created_at": at}
                for t in out.timers
            ]
        if cancel:
            self.cancel_timers(complaint_id, cancel, at)
        if ledger:
            self.conn.execute(ledger_t.insert(), ledger)
        if timers:
            self.conn.execute(timer_t.insert(), timers)

    def cancel_timers(self, complaint_id: int, clocks: Sequence[str], at: datetime) -> None:
        """Cancel the pending timers of ``clocks`` (named ``clock`` or ``clock.<milestone>...``)."""
        self.conn.execute(_CANCEL, [{"cid": complaint_id, "clock": c, "prefix": f"{c}.%", "at": at} for c in clocks])
