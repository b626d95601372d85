"""Moving a case up a tier: where it starts, what counts as a repeat, and the escalation itself.

An escalation is always the workflow's escalation action (``tier: next``) applied through the
engine with a reason, so the tier, queue, audit event and notification change together and
the event log stays the single source of truth.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import Connection, and_, bindparam, or_, select

from complaints.repository import complaint_t
from complaints.schemas import ComplaintIn
from complaints.uow import UnitOfWork
from escalation.policy import SlaPolicy
from workflows.compiled import CompiledWorkflow
from workflows.engine import WorkflowEngine
from workflows.machine import Actor, Case, Step


@lru_cache(maxsize=256)
def policy_for(workflow: CompiledWorkflow) -> SlaPolicy:
    """One compiled policy per loaded workflow object."""
    return SlaPolicy(workflow)


def initial_tier(workflow: CompiledWorkflow, record: ComplaintIn) -> str:
    """IntakeService hook: a complaint starts at the tier its severity calls for."""
    spec = workflow.spec.escalation
    return (spec.severity.get(record.severity) if spec else None) or workflow.first_tier


_me = complaint_t.alias("me")
_REPEAT = (
    select(complaint_t.c.reference)
    .select_from(complaint_t.join(_me, and_(complaint_t.c.customer_id == _me.c.customer_id,
                                             complaint_t.c.product == _me.c.product)))
    .where(and_(
        _me.c.id == bindparam("cid"), complaint_t.c.id != bindparam("cid"),
        complaint_t.c.received_at >= bindparam("since"),
        or_(complaint_t.c.received_at < _me.c.received_at,
            and_(complaint_t.c.received_at == _me.c.received_at, complaint_t.c.id < bindparam("cid"))),
    ))
    .order_by(complaint_t.c.received_at.desc())
    .limit(1)
)


def find_repeat(conn: Connection, complaint_id: int, received_at: datetime, within: timedelta) -> str | None:
    """The latest earlier complaint of the same customer about the same product within ``within``
    (one indexed query; a complaint without a known customer matches nothing)."""
    return conn.execute(_REPEAT, {"cid": complaint_id, "since": received_at - within}).scalar()


def escalate(engine: WorkflowEngine, uow: UnitOfWork, case: Case, reason: str, actor: Actor | None = None) -> Step | None:
    """Apply the escalation action within ``uow``; None when the case is already at the top tier."""
    workflow = engine.workflow_of(case)
    spec = workflow.spec.escalation
    if workflow.next_tier(case.tier) is None:
        return None
    action = spec.action if spec else "escalate"
    return engine.apply(uow, case, action, actor or Actor.system("escalation"), {"reason": reason})


def at_time(engine: WorkflowEngine, now: datetime) -> WorkflowEngine:
    """The same engine acting as of ``now`` (a sweep run for a given time)."""
    from complaints.clock import FixedClock

    clone = WorkflowEngine(engine.db, engine.registry, FixedClock(now), engine.observers, engine.deadline)
    return clone
