"""The sweep: fire every due timer (workflow, SLA warning/breach, regulatory, commitment) once.

Set-based: each batch is one indexed range query on pending ``due_at`` (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so concurrent sweepers take disjoint batches; SQLite serialises
writers), one statement that claims the batch (``pending`` -> ``fired``), one query each for
its cases and clocks. Claims commit in the same transaction as what the timers did, so a
crash fires nothing twice and a second sweeper finds nothing left to claim. A timer whose
handler may apply a workflow action runs in a savepoint: a refused action rolls back only its
own effects (the reason is kept on the timer), and a case changed under us puts the timer
back to pending for the next sweep. Cost grows with what is due, not with what is open.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, select, update

from complaints.clock import as_utc
from complaints.errors import ComplaintflowError, ConflictError
from complaints.repository import WORKFLOW_TIMER, case_from_row, complaint_t, customer_t, timer_t
from complaints.uow import UnitOfWork
from escalation.clocks import COMMITMENT, REGULATORY, SLA_BREACH, SLA_WARNING, ClockState, hours
from escalation.policy import add_months
from escalation.repository import ClockRepository, clock_t, ledger_t
from escalation.tiers import at_time, policy_for
from workflows import machine
from workflows.engine import WorkflowEngine
from workflows.machine import Actor, Case, Step

ALL_KINDS = (WORKFLOW_TIMER, SLA_WARNING, SLA_BREACH, REGULATORY, COMMITMENT)
SWEEPER = "sla-sweep"
#: Timers whose handler may apply a workflow action: each runs in a savepoint of its own.
_ACTING = frozenset({WORKFLOW_TIMER, SLA_WARNING, SLA_BREACH, COMMITMENT})


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
            batch = Batch(acting, uow, now, report, due)
            done = batch.run()
            uow.commit()
        report.batches += 1
        if len(due) < batch_size or done == 0:
            return report


class Batch:
    """One transaction's worth of due timers: claimed with one statement, cases and clocks
    loaded with one query each, ledger/outbox/result writes sent together."""

    def __init__(self, engine: WorkflowEngine, uow: UnitOfWork, now: datetime, report: SweepReport, due: list[Any]):
        self.engine, self.uow, self.now, self.report, self.due = engine, uow, now, report, due
        self.repo = ClockRepository(uow.conn)
        self.cases: dict[int, Case] = {}
        self.clocks: dict[int, dict[str, ClockState]] = {}
        self.results: list[dict[str, Any]] = []
        self.ledger: list[dict[str, Any]] = []
        self.notes: list[tuple[int, Step]] = []
        self.marks: list[tuple[int, dict[str, Any]]] = []

    def run(self) -> int:
        claimed = self._claim([t.id for t in self.due])
        self._load({t.complaint_id for t in self.due if t.id in claimed})
        done = sum(self._fire(t) for t in self.due if t.id in claimed)
        self.flush()
        return done

    # -- loading and writing -----------------------------------------------------------------------
    def _claim(self, ids: list[int]) -> set[int]:
        """pending -> fired for the whole batch; rows a concurrent sweeper took are left out."""
        if not ids:
            return set()
        rows = self.uow.conn.execute(
            update(timer_t).where(and_(timer_t.c.id.in_(ids), timer_t.c.status == "pending"))
            .values(status="fired", fired_at=self.now).returning(timer_t.c.id)
        )
        return {r.id for r in rows}

    def _load(self, complaint_ids: set[int]) -> None:
        if not complaint_ids:
            return
        query = (select(complaint_t, customer_t.c.name.label("customer_name"))
                 .select_from(complaint_t.outerjoin(customer_t, complaint_t.c.customer_id == customer_t.c.id))
                 .where(complaint_t.c.id.in_(complaint_ids)))
        self.cases = {r.id: case_from_row(r) for r in self.uow.conn.execute(query)}
        self.clocks = {cid: {} for cid in complaint_ids}
        for row in self.uow.conn.execute(select(clock_t).where(clock_t.c.complaint_id.in_(complaint_ids))):
            state = self.repo.state_of(row)
            self.clocks[row.complaint_id][state.name] = state

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

    def flush(self) -> None:
        conn = self.uow.conn
        if self.ledger:
            conn.execute(ledger_t.insert(), self.ledger)
        if self.notes:
            self.uow.cases.add_notifications(self.notes)
        for clock_id, values in self.marks:
            conn.execute(update(clock_t).where(clock_t.c.id == clock_id).values(updated_at=self.now, **values))
        if self.results:
            conn.execute(
                update(timer_t).where(timer_t.c.id == bindparam("tid")).values(result=bindparam("res")), self.results
            )
        self.ledger, self.notes, self.marks, self.results = [], [], [], []

    def apply(self, case: Case, action: str, actor: Actor, payload: dict[str, Any]) -> Step:
        """A workflow action on the case; its observers may change the clocks, so reload them."""
        self.flush()
        step = self.engine.apply(self.uow, case, action, actor, payload)
        self.cases[case.id] = step.apply(case)  # type: ignore[index]
        self.clocks[case.id] = self.repo.clocks(case.id)  # type: ignore[arg-type,index]
        return step

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

    # -- one timer -----------------------------------------------------------------------------------
    def _fire(self, timer: Any) -> bool:
        """Act on a claimed timer; False when it went back to pending (the case changed under us)."""
        case = self.cases[timer.complaint_id]
        label = f"{case.reference} {timer.kind} {timer.name}"
        handler = HANDLERS[timer.kind]
        try:
            if timer.kind in _ACTING:
                self.flush()  # what the savepoint may roll back is this timer's own writes only
                with self.uow.conn.begin_nested():
                    result = handler(self, self.cases[timer.complaint_id], timer)
                    self.flush()
            else:
                result = handler(self, case, timer)
        except ConflictError:
            self._reset()
            self.uow.conn.execute(update(timer_t).where(timer_t.c.id == timer.id)
                                  .values(status="pending", fired_at=None))
            return False
        except ComplaintflowError as exc:
            self._reset()
            self.results.append({"tid": timer.id, "res": f"failed: {exc}"[:300]})
            self.report.failed.append(f"{label}: {exc}")
            return True
        self.results.append({"tid": timer.id, "res": result[:300]})
        (self.report.skipped if result.startswith("skipped") else self.report.fired).append(label)
        return True

    def _reset(self) -> None:
        """After a rolled-back savepoint: forget unsent writes and reload what may have changed."""
        self.ledger, self.notes, self.marks = [], [], []
        self._load(set(self.cases))


# -- handlers: each returns the result kept on the timer --------------------------------------------
Handler = Callable[[Batch, Case, Any], str]


def _workflow(batch: Batch, case: Case, timer: Any) -> str:
    if case.state != timer.state:
        return f"skipped: case is now in '{case.state}'"
    batch.apply(case, timer.action, Actor.system("timer"), {})
    return "fired"


def _sla(batch: Batch, case: Case, timer: Any) -> str:
    what = "warning" if timer.kind == SLA_WARNING else "breach"
    stamp = "warned_at" if what == "warning" else "breached_at"
    clock = batch.clock(case, timer.name)
    if clock is None or clock.run != timer.payload.get("run") or getattr(clock, stamp) is not None:
        return "skipped: the clock no longer runs this deadline"
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
    if letter is None:
        if clock.breached_at is None:
            batch.mark(clock, breached_at=batch.now)
        batch.entry(case, clock.name, "breach", f"{label}: '{info['label']}' passed "
                    f"({deadline:%Y-%m-%d %H:%M} UTC) while the case was still open")
        return "deadline passed"
    workflow = batch.engine.workflow_of(case)
    preset = policy_for(workflow).regulatory[clock.name]
    refer_by = add_months(batch.now, preset.refer_within_months).date().isoformat() if preset.refer_within_months else ""
    values = {"deadline": deadline.date().isoformat(), "milestone": info["label"], "regulation": preset.label,
              "refer_by": refer_by}
    step = Step(action="regulatory_letter", actor=Actor.system(SWEEPER), from_state=case.state, to_state=case.state,
                tier=case.tier, queue=case.queue, seq=case.version, at=batch.now, payload=values, changes={},
                timers=[], notifications=[])
    step.notifications.append(machine.render(workflow, letter, case, step, batch.engine.deadline))
    batch.notes.append((case.id, step))  # type: ignore[arg-type]
    batch.entry(case, clock.name, "letter", f"queued '{letter}' because '{info['label']}' falls due "
                f"{deadline:%Y-%m-%d}", values)
    batch.report.letters.append(f"{case.reference} {letter}")
    return f"letter '{letter}' queued"


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


HANDLERS: dict[str, Handler] = {
    WORKFLOW_TIMER: _workflow,
    SLA_WARNING: _sla,
    SLA_BREACH: _sla,
    REGULATORY: _regulatory,
    COMMITMENT: _commitment,
}
