"""The full sweep: every due timer (workflow, SLA warning/breach, regulatory, commitment) once.

The mechanism (batched claim, one query per batch for cases, a savepoint per timer that may
act, results written together, exactly once under concurrent sweepers) is
``workflows.timers``; this module registers the handlers of escalation's timer kinds and
extends the batch with the SLA clocks: loaded once per batch, reloaded after a workflow
action (its observers may move them), ledger entries, clock marks and letters sent together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Row

from complaints.repository import WORKFLOW_TIMER
from complaints.steps import Actor, Case, Step
from complaints.uow import UnitOfWork
from escalation.clocks import COMMITMENT, REGULATORY, SLA_BREACH, SLA_WARNING, ClockState, hours
from escalation.policy import add_months
from escalation.repository import ClockRepository
from escalation.tiers import policy_for
from workflows import machine, timers
from workflows.engine import WorkflowEngine
from workflows.intake import HISTORY
from workflows.timers import Handler, TimerReport

ALL_KINDS = (WORKFLOW_TIMER, SLA_WARNING, SLA_BREACH, REGULATORY, COMMITMENT)
SWEEPER = "sla-sweep"


@dataclass
class SweepReport(TimerReport):
    """What one sweep did; labels read ``C-2026-000001 sla_breach resolution``."""

    escalated: list[str] = field(default_factory=list)
    letters: list[str] = field(default_factory=list)


def sweep(
    engine: WorkflowEngine, now: datetime | None = None, batch_size: int = 500,
    kinds: Sequence[str] = ALL_KINDS, actions: Sequence[str] | None = None,
    on_batch: Callable[[timers.TimerReport], None] | None = None,
) -> SweepReport:
    """Fire every timer due by ``now`` (default: the engine's clock), in batches of ``batch_size``;
    only timers of ``kinds`` (and of ``actions``, if given) for the narrower scheduled flows."""
    return timers.sweep_with(engine, HANDLERS, SweepReport(), now, batch_size, kinds, actions,
                             batch_type=Batch, on_batch=on_batch)


class Batch(timers.Batch):
    """The generic batch plus the cases' SLA clocks (one query per batch) and the ledger,
    clock marks and letters the handlers gather, sent together."""

    report: SweepReport

    def __init__(self, engine: WorkflowEngine, uow: UnitOfWork, now: datetime, report: TimerReport,
                 due: list[Row[Any]], handlers: Mapping[str, Handler]):
        super().__init__(engine, uow, now, report, due, handlers)
        self.repo = ClockRepository(uow.conn)
        self.clocks: dict[int, dict[str, ClockState]] = {}
        self.ledger: list[dict[str, Any]] = []
        self.notes: list[tuple[int, Step]] = []
        self.marks: list[tuple[int, dict[str, Any]]] = []

    # -- loading and writing -----------------------------------------------------------------------
    def load(self, complaint_ids: set[int]) -> None:
        super().load(complaint_ids)
        if not complaint_ids:
            return
        self.clocks = self.repo.clocks_wanted(dict.fromkeys(complaint_ids))

    def flush(self) -> None:
        self.repo.add_ledger(self.ledger)
        self.uow.cases.add_notifications(self.notes)
        for clock_id, values in self.marks:
            self.repo.mark(clock_id, self.now, **values)
        self.ledger, self.notes, self.marks = [], [], []
        super().flush()

    def forget(self) -> None:
        self.ledger, self.notes, self.marks = [], [], []

    def after_apply(self, case: Case) -> None:
        self.clocks[case.id] = self.repo.clocks(case.id)  # type: ignore[arg-type,index]

    # -- what the handlers use ---------------------------------------------------------------------
    def clock(self, case: Case, name: str) -> ClockState | None:
        state = self.clocks.get(case.id, {}).get(name)  # type: ignore[arg-type]
        return state if state is not None and state.status == "running" else None

    def entry(self, case: Case, clock: str, entry: str, reason: str, detail: dict[str, Any] | None = None) -> None:
        self.ledger.append({"complaint_id": case.id, "clock": clock, "entry": entry, "at": self.now,
                            "actor": SWEEPER, "reason": reason[:500], "detail": detail or {}})

    def mark(self, state: ClockState, **values: Any) -> None:
        assert state.id is not None
        for key, value in values.items():
            setattr(state, key, value)
        self.marks.append((state.id, values))

    def escalate(self, case: Case, clock: str, reason: str) -> str:
        workflow = self.engine.workflow_of(case)
        if workflow.next_tier(case.tier) is None:
            self.entry(case, clock, "top_tier", f"could not escalate: already at the highest tier '{case.tier}'")
            return "; already at the highest tier"
        spec = workflow.spec.escalation
        self.entry(case, clock, "escalate", f"escalating from tier {case.tier}: {reason}")
        step = self.apply(case, spec.action if spec else "escalate", Actor.system(SWEEPER), {"reason": reason})
        self.report.escalated.append(f"{case.reference} → {step.tier}")
        return f"; escalated to {step.tier}"


# -- handlers: each returns the result kept on the timer --------------------------------------------
def _sla(batch: Batch, case: Case, timer: Any) -> str:
    what: Literal["warning", "breach"] = "warning" if timer.kind == SLA_WARNING else "breach"
    stamp = "warned_at" if what == "warning" else "breached_at"
    clock = batch.clock(case, timer.name)
    if clock is None or clock.run != timer.payload.get("run") or getattr(clock, stamp) is not None:
        return "skipped: the clock no longer runs this deadline"
    deadline = clock.warn_at if what == "warning" else clock.due_at
    if deadline != timer.due_at:  # moved since the timer was set (a tier change in this very sweep)
        return f"skipped: the {what} moved to {deadline:%Y-%m-%d %H:%M} UTC" if deadline else "skipped: no deadline"
    assert clock.due_at is not None
    batch.mark(clock, **{stamp: batch.now})
    policy = policy_for(batch.engine.workflow_of(case))
    due = f"{clock.due_at:%Y-%m-%d %H:%M} UTC"
    budget = float(clock.detail.get("budget") or 0)
    if what == "warning":
        reason = f"{round(100 * policy.warning(clock.name))}% of the {clock.target} target used; due {due}"
    else:
        reason = (f"the {clock.target} target (tier {clock.tier}, severity {clock.severity}, "
                  f"calendar {clock.calendar}) ran out at {due}")
    batch.entry(case, clock.name, what, reason, {"due_at": clock.due_at.isoformat(), "budget": hours(budget)})
    if not policy.escalates_on(clock.name, what):
        return f"{what} recorded"
    if before_recorded(case, timer.due_at):
        return f"{what} recorded; it passed before the case was imported as history: not acted on"
    return f"{what} recorded" + batch.escalate(case, clock.name, f"SLA '{clock.name}' {what}: due {due}")


def _regulatory(batch: Batch, case: Case, timer: Any) -> str:
    clock = batch.clock(case, timer.payload["clock"])
    if clock is None:
        return "skipped: the regulatory clock has stopped"
    info = clock.detail["milestones"][timer.payload["milestone"]]
    deadline = datetime.fromisoformat(info["deadline"])
    letter = timer.payload.get("letter")
    label = clock.detail.get("label", clock.name)
    if letter is None and not info.get("breach", True):
        batch.entry(case, clock.name, "lapsed", f"{label}: '{info['label']}' ended {deadline:%Y-%m-%d %H:%M} UTC; "
                    "a full final response is now required")
        return "option lapsed"
    if letter is not None and before_recorded(case, timer.due_at):
        return "skipped: the letter was due before the case was imported as history"
    if letter is None:
        if clock.breached_at is None:
            batch.mark(clock, breached_at=batch.now)
        batch.entry(case, clock.name, "breach", f"{label}: '{info['label']}' passed "
                    f"({deadline:%Y-%m-%d %H:%M} UTC) while the case was still open")
        return "deadline passed"
    workflow = batch.engine.workflow_of(case)
    preset = policy_for(workflow).regulatory[clock.name]
    refer_by = add_months(batch.now, preset.refer_within_months) if preset.refer_within_months else None
    values = {"deadline": deadline.date().isoformat(), "milestone": info["label"], "regulation": preset.label,
              "refer_by": refer_by.date().isoformat() if refer_by else ""}
    # The letter is given the instants: it names their days in the customer's time zone.
    shown = {**values, "deadline": deadline, "refer_by": refer_by or ""}
    step = Step(action="regulatory_letter", actor=Actor.system(SWEEPER), from_state=case.state, to_state=case.state,
                tier=case.tier, queue=case.queue, seq=case.version, at=batch.now, payload=shown, changes={},
                timers=[], notifications=[])
    step.notifications.append(machine.render(workflow, letter, case, step, batch.engine.deadline))
    batch.notes.append((case.id, step))  # type: ignore[arg-type]
    batch.entry(case, clock.name, "letter", f"queued '{letter}' because '{info['label']}' falls due "
                f"{deadline:%Y-%m-%d}", values)
    batch.report.letters.append(f"{case.reference} {letter}")
    return f"letter '{letter}' queued"


def before_recorded(case: Case, due: datetime) -> bool:
    """Whether ``due`` came before the case was imported as history (``workflows.intake``):
    such a deadline is recorded as passed, never acted on (no escalation, no letter)."""
    imported = case.data.get(HISTORY)
    return isinstance(imported, str) and due < datetime.fromisoformat(imported)


def _commitment(batch: Batch, case: Case, timer: Any) -> str:
    clock = batch.clock(case, timer.name)
    if clock is None or clock.breached_at is not None:
        return "skipped: the promise was kept or withdrawn"
    assert clock.due_at is not None
    batch.mark(clock, breached_at=batch.now)
    text = clock.detail.get("text", "")
    batch.entry(case, clock.name, "breach", f"promise overdue since {clock.due_at:%Y-%m-%d %H:%M} UTC: {text}")
    spec = batch.engine.workflow_of(case).spec.escalation
    if spec is None or not spec.overdue_commitment:
        return "overdue recorded"
    return "overdue recorded" + batch.escalate(case, clock.name, f"overdue commitment: {text} "
                                               f"(due {clock.due_at:%Y-%m-%d %H:%M} UTC)")


def _needs_clocks(fire: Callable[[Batch, Case, Any], str], acts: bool = True) -> Handler:
    """A handler of escalation's kinds: it uses the clocks of this module's batch."""
    def handler(batch: timers.Batch, case: Case, timer: Any) -> str:
        assert isinstance(batch, Batch), "escalation's timers are swept with escalation.sweep.Batch"
        return fire(batch, case, timer)
    return Handler(handler, acts)


#: Every timer kind the full sweep fires; ``acts``: may apply a workflow action (escalate).
HANDLERS: dict[str, Handler] = {
    **timers.HANDLERS,
    SLA_WARNING: _needs_clocks(_sla),
    SLA_BREACH: _needs_clocks(_sla),
    REGULATORY: _needs_clocks(_regulatory, acts=False),
    COMMITMENT: _needs_clocks(_commitment),
}
