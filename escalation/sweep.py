"""The sweep: fire every due timer (workflow, SLA warning/breach, regulatory, commitment) once.

Set-based: each batch is one indexed range query on pending ``due_at`` (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so concurrent sweepers take disjoint batches; SQLite serialises
writers). Each timer is claimed (``pending`` -> ``fired``) and acted on inside one savepoint
of the batch's transaction: a failed action rolls back its own claim only, and the claim
commits with its effects, so a crash fires nothing twice and a second sweeper finds nothing
left to claim. Cost grows with what is due, not with what is open.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from complaints.clock import as_utc
from complaints.errors import ComplaintflowError, ConflictError
from complaints.repository import WORKFLOW_TIMER
from complaints.uow import UnitOfWork
from escalation.clocks import COMMITMENT, REGULATORY, SLA_BREACH, SLA_WARNING, ClockState, hours
from escalation.policy import add_months
from escalation.repository import ClockRepository
from escalation.tiers import at_time, escalate, policy_for
from workflows import machine
from workflows.engine import WorkflowEngine
from workflows.machine import Actor, Case, Step

ALL_KINDS = (WORKFLOW_TIMER, SLA_WARNING, SLA_BREACH, REGULATORY, COMMITMENT)
SWEEPER = "sla-sweep"


@dataclass
class SweepReport:
    """What one sweep did; labels read ``C-2026-000001 sla_breach resolution``."""

    fired: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # the timer no longer applied
    failed: list[str] = field(default_factory=list)  # the action was refused; reason kept on the timer
    escalated: list[str] = field(default_factory=list)
    letters: list[str] = field(default_factory=list)
    batches: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"fired": self.fired, "skipped": self.skipped, "failed": self.failed,
                "escalated": self.escalated, "letters": self.letters, "batches": self.batches}


def _engine_of(app_or_engine: Any) -> WorkflowEngine:
    return app_or_engine if isinstance(app_or_engine, WorkflowEngine) else app_or_engine.engine


def sweep(
    app_or_engine: Any, now: datetime | None = None, batch_size: int = 500,
    kinds: Sequence[str] = ALL_KINDS, actions: Sequence[str] | None = None,
) -> SweepReport:
    """Fire every timer due by ``now`` (default: the engine's clock), in batches of ``batch_size``;
    only timers of ``kinds`` (and of ``actions``, if given) for the narrower scheduled flows."""
    engine = _engine_of(app_or_engine)
    now = as_utc(now) if now is not None else engine.clock.now()
    acting = at_time(engine, now)
    report = SweepReport()
    while True:
        with UnitOfWork(engine.db) as uow:
            due = uow.cases.due_timers(now, batch_size, kinds=kinds, actions=actions)
            done = sum(_fire(acting, uow, timer, now, report) for timer in due)
            uow.commit()
        report.batches += 1
        if len(due) < batch_size or done == 0:
            return report


def _fire(engine: WorkflowEngine, uow: UnitOfWork, timer: Any, now: datetime, report: SweepReport) -> bool:
    """Claim and act in one savepoint; False when the timer stays pending (lost race, conflict)."""
    label = f"{timer.kind} {timer.name}"
    try:
        with uow.conn.begin_nested():
            if not uow.cases.claim_timer(timer.id, now):
                return False
            case = uow.cases.get_by_id(timer.complaint_id)
            label = f"{case.reference} {label}"
            result = HANDLERS[timer.kind](engine, uow, case, timer, now, report)
            uow.cases.record_timer_result(timer.id, result)
    except ConflictError:
        return False  # the case changed under us: the claim rolled back, a later sweep retries
    except ComplaintflowError as exc:
        with uow.conn.begin_nested():
            if uow.cases.claim_timer(timer.id, now):
                uow.cases.record_timer_result(timer.id, f"failed: {exc}")
        report.failed.append(f"{label}: {exc}")
        return True
    (report.skipped if result.startswith("skipped") else report.fired).append(label)
    return True


# -- handlers: each returns the result kept on the timer ------------------------------------------
Handler = Callable[[WorkflowEngine, UnitOfWork, Case, Any, datetime, SweepReport], str]


def _workflow(engine: WorkflowEngine, uow: UnitOfWork, case: Case, timer: Any, now: datetime, report: SweepReport) -> str:
    if case.state != timer.state:
        return f"skipped: case is now in '{case.state}'"
    engine.apply(uow, case, timer.action, Actor.system("timer"), {})
    return "fired"


def _live_clock(uow: UnitOfWork, case: Case, name: str) -> tuple[ClockRepository, ClockState | None]:
    repo = ClockRepository(uow.conn)
    state = repo.clock(case.id, name)  # type: ignore[arg-type]
    return repo, state if state is not None and state.status == "running" else None


def _escalate(engine: WorkflowEngine, uow: UnitOfWork, case: Case, repo: ClockRepository, clock: str,
              reason: str, now: datetime, report: SweepReport) -> str:
    step = escalate(engine, uow, case, reason, Actor.system(SWEEPER))
    if step is None:
        repo.add_entry(case.id, clock, "top_tier", now, SWEEPER,  # type: ignore[arg-type]
                       f"could not escalate: already at the highest tier '{case.tier}'")
        return "; already at the highest tier"
    repo.add_entry(case.id, clock, "escalate", now, SWEEPER,  # type: ignore[arg-type]
                   f"escalated {case.tier} → {step.tier}: {reason}", {"seq": step.seq})
    report.escalated.append(f"{case.reference} → {step.tier}")
    return f"; escalated to {step.tier}"


def _sla(engine: WorkflowEngine, uow: UnitOfWork, case: Case, timer: Any, now: datetime, report: SweepReport) -> str:
    what = "warning" if timer.kind == SLA_WARNING else "breach"
    repo, clock = _live_clock(uow, case, timer.name)
    stamp = "warned_at" if what == "warning" else "breached_at"
    if clock is None or clock.run != timer.payload.get("run") or getattr(clock, stamp) is not None:
        return "skipped: the clock no longer runs this deadline"
    assert clock.id is not None and clock.due_at is not None
    repo.mark(clock.id, now, **{stamp: now})
    policy = policy_for(engine.workflow_of(case))
    due = f"{clock.due_at:%Y-%m-%d %H:%M} UTC"
    budget = float(clock.detail.get("budget") or 0)
    if what == "warning":
        reason = f"{round(100 * policy.warning(clock.name))}% of the {clock.target} target used; due {due}"
    else:
        reason = (f"the {clock.target} target (tier {clock.tier}, severity {clock.severity}, "
                  f"calendar {clock.calendar}) ran out at {due}")
    repo.add_entry(case.id, clock.name, what, now, SWEEPER, reason,  # type: ignore[arg-type]
                   {"due_at": clock.due_at.isoformat(), "budget": hours(budget)})
    if not policy.escalates_on(clock.name, what):
        return f"{what} recorded"
    return f"{what} recorded" + _escalate(engine, uow, case, repo, clock.name, f"SLA '{clock.name}' {what}: due {due}", now, report)


def _regulatory(engine: WorkflowEngine, uow: UnitOfWork, case: Case, timer: Any, now: datetime, report: SweepReport) -> str:
    repo, clock = _live_clock(uow, case, timer.payload["clock"])
    if clock is None:
        return "skipped: the regulatory clock has stopped"
    assert clock.id is not None
    milestone = timer.payload["milestone"]
    info = clock.detail["milestones"][milestone]
    deadline = datetime.fromisoformat(info["deadline"])
    letter = timer.payload.get("letter")
    if letter is None:
        if not info.get("breach", True):
            repo.add_entry(case.id, clock.name, "lapsed", now, SWEEPER,  # type: ignore[arg-type]
                           f"{clock.detail['label']}: '{info['label']}' ended {deadline:%Y-%m-%d %H:%M} UTC; "
                           "a full final response is now required")
            return "option lapsed"
        if clock.breached_at is None:
            repo.mark(clock.id, now, breached_at=now)
        repo.add_entry(case.id, clock.name, "breach", now, SWEEPER,  # type: ignore[arg-type]
                       f"{clock.detail['label']}: '{info['label']}' passed ({deadline:%Y-%m-%d %H:%M} UTC) "
                       "while the case was still open")
        return "deadline passed"
    workflow = engine.workflow_of(case)
    preset = policy_for(workflow).regulatory[clock.name]
    refer_by = add_months(now, preset.refer_within_months).date().isoformat() if preset.refer_within_months else ""
    values = {"deadline": deadline.date().isoformat(), "milestone": info["label"], "regulation": preset.label,
              "refer_by": refer_by}
    step = Step(action="regulatory_letter", actor=Actor.system(SWEEPER), from_state=case.state, to_state=case.state,
                tier=case.tier, queue=case.queue, seq=case.version, at=now, payload=values, changes={}, timers=[],
                notifications=[])
    note = machine.render(workflow, letter, case, step, engine.deadline)
    uow.cases.add_notifications([(case.id, Step(**{**step.__dict__, "notifications": [note]}))])  # type: ignore[list-item]
    repo.add_entry(case.id, clock.name, "letter", now, SWEEPER,  # type: ignore[arg-type]
                   f"queued '{letter}' because '{info['label']}' falls due {deadline:%Y-%m-%d}", values)
    report.letters.append(f"{case.reference} {letter}")
    return f"letter '{letter}' queued"


def _commitment(engine: WorkflowEngine, uow: UnitOfWork, case: Case, timer: Any, now: datetime, report: SweepReport) -> str:
    repo, clock = _live_clock(uow, case, timer.name)
    if clock is None or clock.breached_at is not None:
        return "skipped: the promise was kept or withdrawn"
    assert clock.id is not None and clock.due_at is not None
    repo.mark(clock.id, now, breached_at=now)
    text = clock.detail.get("text", "")
    repo.add_entry(case.id, clock.name, "breach", now, SWEEPER,  # type: ignore[arg-type]
                   f"promise overdue since {clock.due_at:%Y-%m-%d %H:%M} UTC: {text}")
    spec = engine.workflow_of(case).spec.escalation
    if spec is None or not spec.overdue_commitment:
        return "overdue recorded"
    reason = f"overdue commitment: {text} (due {clock.due_at:%Y-%m-%d %H:%M} UTC)"
    return "overdue recorded" + _escalate(engine, uow, case, repo, clock.name, reason, now, report)


HANDLERS: dict[str, Handler] = {
    WORKFLOW_TIMER: _workflow,
    SLA_WARNING: _sla,
    SLA_BREACH: _sla,
    REGULATORY: _regulatory,
    COMMITMENT: _commitment,
}
