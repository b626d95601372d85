"""Moving a case up a tier: where it starts, what counts as a repeat, and the escalation itself.

An escalation is always the workflow's escalation action (``tier: next``) applied through the
engine with a reason, so the tier, queue, audit event and notification change together and
the event log stays the single source of truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import Connection, and_, bindparam, or_, select

from complaints.repository import complaint_t
from complaints.schemas import ComplaintIn
from complaints.steps import Actor, Case, Step
from complaints.uow import UnitOfWork
from escalation.policy import SlaPolicy
from workflows.compiled import CompiledWorkflow
from workflows.engine import WorkflowEngine


@lru_cache(maxsize=256)
def policy_for(workflow: CompiledWorkflow) -> SlaPolicy:
    """One compiled policy per loaded workflow object."""
    return SlaPolicy(workflow)


def initial_tier(workflow: CompiledWorkflow, record: ComplaintIn) -> str:
    """IntakeService hook: a complaint starts at the tier its severity calls for."""
    spec = workflow.spec.escalation
    return (spec.severity.get(record.severity) if spec else None) or workflow.first_tier


_me = complaint_t.alias("me")
# Every earlier complaint of the same customer about the same product, for a batch of complaints
# ("me"), received since the earliest window start; each complaint's own window is applied after.
_REPEATS = (
    select(_me.c.id.label("me_id"), complaint_t.c.id, complaint_t.c.reference, complaint_t.c.received_at)
    .select_from(complaint_t.join(_me, and_(complaint_t.c.customer_id == _me.c.customer_id,
                                             complaint_t.c.product == _me.c.product)))
    .where(and_(
        _me.c.id.in_(bindparam("cids", expanding=True)), complaint_t.c.id != _me.c.id,
        complaint_t.c.received_at >= bindparam("since"),
        or_(complaint_t.c.received_at < _me.c.received_at,
            and_(complaint_t.c.received_at == _me.c.received_at, complaint_t.c.id < _me.c.id)),
    ))
)
#: Complaints per query: far below every database's limit on bound parameters.
REPEAT_CHUNK = 500


def find_repeats(conn: Connection, received: Mapping[int, datetime], within: timedelta) -> dict[int, str]:
    """complaint id -> reference of the latest earlier complaint of the same customer about the
    same product received within ``within`` before it (``received``: complaint id -> its receipt).
    One indexed query per 500 complaints; a complaint without a known customer matches nothing."""
    ids = sorted(received)
    latest: dict[int, tuple[datetime, int, str]] = {}
    for i in range(0, len(ids), REPEAT_CHUNK):
        chunk = ids[i : i + REPEAT_CHUNK]
        since = min(received[c] for c in chunk) - within
        for row in conn.execute(_REPEATS, {"cids": chunk, "since": since}):
            if row.received_at < received[row.me_id] - within:
                continue
            candidate = (row.received_at, row.id, row.reference)
            if row.me_id not in latest or candidate[:2] > latest[row.me_id][:2]:
                latest[row.me_id] = candidate
    return {cid: found[2] for cid, found in latest.items()}


def escalate(engine: WorkflowEngine, uow: UnitOfWork, case: Case, reason: str, actor: Actor | None = None) -> Step | None:
    """Apply the escalation action within ``uow``; None when the case is already at the top tier."""
    workflow = engine.workflow_of(case)
    spec = workflow.spec.escalation
    if workflow.next_tier(case.tier) is None:
        return None
    action = spec.action if spec else "escalate"
    return engine.apply(uow, case, action, actor or Actor.system("escalation"), {"reason": reason})
