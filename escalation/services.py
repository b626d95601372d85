"""Use cases over clocks: record and keep promises, explain a case's deadlines, list what is due.

A promise is written as an audit event of its own (``promise`` / ``promise_kept``, same state,
the next version, ``data.commitment`` updated) in the same transaction as its clock and
timer, so the event log still replays the case and shows who promised what.
"""

from __future__ import annotations

from datetime import datetime

from complaints.clock import as_utc
from complaints.errors import ActionNotAllowed, InvalidInput
from complaints.steps import Actor, Case, Step
from complaints.uow import UnitOfWork
from escalation.clocks import COMMITMENT, ClockState, SlaClocks
from escalation.repository import ClockRepository
from workflows.engine import WorkflowEngine

PROMISE, PROMISE_KEPT = "promise", "promise_kept"


def _may_promise(engine: WorkflowEngine, case: Case, actor: Actor, action: str) -> None:
    spec = engine.workflow_of(case).spec.escalation
    roles = spec.promise_roles if spec else []
    if actor.role not in roles:
        raise ActionNotAllowed(case.reference, action, case.state, [],
                               f"role '{actor.role}' may not; it needs one of {', '.join(roles) or 'none'}")


def promise(engine: WorkflowEngine, reference: str, due: datetime, text: str, actor: Actor) -> ClockState:
    """Record a promise to the customer; it becomes a commitment clock that escalates when overdue."""
    now = engine.clock.now()
    due = as_utc(due)
    problems = []
    if not text.strip():
        problems.append("text: say what was promised")
    if due <= now:
        problems.append(f"due: {due:%Y-%m-%d %H:%M} UTC is not in the future (now {now:%Y-%m-%d %H:%M} UTC)")
    if problems:
        raise InvalidInput(f"Invalid promise for {reference}", problems)
    with UnitOfWork(engine.db) as uow:
        case = uow.cases.get(reference, for_update=True)
        _may_promise(engine, case, actor, PROMISE)
        payload = {"due": due.isoformat(), "text": text.strip()}
        step = Step.in_place(case, PROMISE, actor, now, payload,
                      {"commitment": payload | {"by": actor.name, "at": now.isoformat(), "kept": False}})
        uow.cases.write_step(case, step, expected_version=case.version)
        outcome = SlaClocks.start_commitment(f"promise_{step.seq}", due, text.strip(), now)
        ClockRepository(uow.conn).save(case.id, [outcome], str(actor), now)  # type: ignore[arg-type]
        uow.commit()
        return outcome.state


def keep_promises(engine: WorkflowEngine, reference: str, actor: Actor, note: str = "") -> list[str]:
    """Mark every open promise of the case kept; returns their clock names."""
    now = engine.clock.now()
    with UnitOfWork(engine.db) as uow:
        case = uow.cases.get(reference, for_update=True)
        _may_promise(engine, case, actor, PROMISE_KEPT)
        repo = ClockRepository(uow.conn)
        open_ = [c for c in repo.clocks(case.id, kinds=[COMMITMENT]).values() if c.status == "running"]  # type: ignore[arg-type]
        if not open_:
            raise InvalidInput(f"No open promise on {reference}", ["record one with `complaints sla promise`"])
        kept = [c.name for c in open_]
        commitment = {**dict(case.data.get("commitment") or {}), "kept": True, "kept_by": actor.name,
                      "kept_at": now.isoformat()}
        step = Step.in_place(case, PROMISE_KEPT, actor, now, {"promises": kept, "note": note}, {"commitment": commitment})
        uow.cases.write_step(case, step, expected_version=case.version)
        reason = f"kept, recorded by {actor}" + (f": {note}" if note else "")
        outcomes = [SlaClocks.keep_commitment(c, now, reason) for c in open_]
        repo.save(case.id, outcomes, str(actor), now)  # type: ignore[arg-type]
        uow.commit()
        return kept
