"""The one timer sweep: fire every due timer once, in batches, with a handler per timer kind.

Set-based: each batch is one indexed range query on pending ``due_at`` (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, so concurrent sweepers take disjoint batches; SQLite serialises
writers), one statement that claims the batch (``pending`` -> ``fired``) in the same
transaction, and one query for its cases. Claims commit with what the timers did, so a crash
fires nothing twice and a second sweeper finds nothing left to claim. A timer whose handler
may apply a workflow action runs in a savepoint: a refused action rolls back only its own
effects and leaves the timer ``failed`` with the reason (the case then needs a person: see
``complaints.repository.unattended_failed_timers``), and a case changed under us puts the
timer back to pending for the next sweep. Cost grows with what is due, not with what is open.

This module knows workflow timers only; other packages register handlers for their kinds
(``escalation.sweep`` adds SLA, regulatory and commitment timers) and may extend ``Batch``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Row, select

from complaints.clock import as_utc
from complaints.errors import ComplaintflowError, ConfigurationError, ConflictError
from complaints.repository import TIMER_FAILED, TIMER_FIRED, WORKFLOW_TIMER, case_from_row, complaint_t, customer_t
from complaints.retry import retrying
from complaints.steps import Actor, Case, Step
from complaints.uow import UnitOfWork
from workflows.engine import WorkflowEngine

#: The actor of the actions workflow timers take.
TIMER_ACTOR = Actor.system("timer")


@dataclass
class TimerReport:
    """What one sweep did; labels read ``C-2026-000001 workflow auto_close``."""

    fired: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # the timer no longer applied
    failed: list[str] = field(default_factory=list)  # refused: the timer is 'failed', the reason kept on it
    batches: int = 0
    #: How many timers of each kind and name (workflow: its action) ended how: "sla_breach
    #: resolution fired" -> 12.
    tally: Counter[str] = field(default_factory=Counter)
    #: Letters the sweep's steps queued (counted as stored: those of the steps observers took too).
    letters_queued: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (``asdict`` would turn the tally's items into keys of a new Counter)."""
        return {name: dict(value) if isinstance(value, Counter) else copy(value) for name, value in vars(self).items()}

    def merge(self, other: TimerReport) -> None:
        """Add what ``other`` (one batch's report, of the same type) says to this report."""
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


@dataclass(frozen=True)
class Handler:
    """What to do with a claimed timer of one kind: ``fire`` returns the result kept on it."""

    fire: Callable[[Batch, Case, Any], str]
    #: May apply a workflow action (which a guard may refuse): runs in a savepoint of its own.
    acts: bool = True


Report = TypeVar("Report", bound=TimerReport)
#: The smallest batch a sweep shrinks to while people wait for SQLite's write lock.
MIN_BATCH = 4


def sweep_with(
    engine: WorkflowEngine,
    handlers: Mapping[str, Handler],
    report: Report,
    now: datetime | None = None,
    batch_size: int = 500,
    kinds: Sequence[str] | None = None,
    actions: Sequence[str] | None = None,
    batch_type: type[Batch] | None = None,
    max_batches: int | None = None,
    on_batch: Callable[[TimerReport], None] | None = None,
) -> Report:
    """Fire every timer of ``kinds`` (default: every kind ``handlers`` knows; only ``actions``
    if given) due by ``now`` (default: the engine's clock), ``batch_size`` per transaction,
    at most ``max_batches`` transactions if given (what is left waits for the next sweep).
    ``on_batch`` hears what each batch did once it is committed (a sweep that fails later has
    still done that much)."""
    kinds = tuple(handlers) if kinds is None else tuple(kinds)
    unknown = sorted(set(kinds) - set(handlers))
    if unknown:
        raise ConfigurationError(f"No timer handler for kind(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(sorted(handlers))}")
    now = as_utc(now) if now is not None else engine.clock.now()
    acting = engine.as_of(now)  # the actions timers take are stamped with the sweep's time
    make = batch_type or Batch

    size = batch_size

    def one_batch() -> tuple[TimerReport, int, int, bool]:
        """A batch in its own transaction and report, so a batch run again reports once."""
        scratch = type(report)()
        with UnitOfWork(engine.db) as uow:
            due = uow.cases.due_timers(now, size, kinds=kinds, actions=actions)
            batch = make(acting, uow, now, scratch, due, handlers)
            done = batch.run()
            uow.commit()
        return scratch, len(due), done, batch.interrupted

    with engine.db.bulk_work():  # sweepers never step aside for each other
        while True:
            scratch, found, done, interrupted = retrying(one_batch, "a sweep's batch")
            report.merge(scratch)
            if on_batch:
                on_batch(scratch)
            report.batches += 1
            if interrupted:  # people are at work: smaller batches, so none of them waits long
                size = max(MIN_BATCH, size // 4)
                engine.db.step_aside()
            elif found < size or done == 0:
                return report
            else:
                size = min(batch_size, size * 2)
            if report.batches == max_batches:
                return report


class Batch:
    """One transaction's worth of due timers: claimed with one statement, their cases loaded
    with one query, their results written with one statement. Subclasses load and write more
    (``load``, ``flush``, ``forget``, ``after_apply``)."""

    def __init__(self, engine: WorkflowEngine, uow: UnitOfWork, now: datetime, report: TimerReport,
                 due: list[Row[Any]], handlers: Mapping[str, Handler]):
        self.engine, self.uow, self.now, self.report, self.due = engine, uow, now, report, due
        self.handlers = handlers
        self.cases: dict[int, Case] = {}
        self.results: list[dict[str, Any]] = []
        #: Stopped early for a writer waiting for SQLite's lock: the rest waits for the next batch.
        self.interrupted = False

    def run(self) -> int:
        """Fire the claimed timers; how many were dealt with (not put back to pending)."""
        claimed = self.uow.cases.claim_timers([t.id for t in self.due], self.now)
        self.load({t.complaint_id for t in self.due if t.id in claimed})
        letters = self.uow.cases.notification_watermark()
        mine = [t for t in self.due if t.id in claimed]
        done = 0
        for number, timer in enumerate(mine):
            if self.engine.db.someone_waiting():  # a person's step goes first
                self.uow.cases.release_timers([t.id for t in mine[number:]])
                self.interrupted = True
                break
            done += self._fire(timer)
        self.flush()
        self.report.letters_queued += self.uow.cases.notifications_since(letters, list(self.cases))
        return done

    # -- loading and writing: extended by subclasses -----------------------------------------------
    def load(self, complaint_ids: set[int]) -> None:
        """The cases of the claimed timers, as they are now."""
        if not complaint_ids:
            return
        query = (select(complaint_t, customer_t.c.name.label("customer_name"))
                 .select_from(complaint_t.outerjoin(customer_t, complaint_t.c.customer_id == customer_t.c.id))
                 .where(complaint_t.c.id.in_(complaint_ids)))
        self.cases = {r.id: case_from_row(r) for r in self.uow.conn.execute(query)}

    def flush(self) -> None:
        """Send the writes gathered so far (here: the timers' results and final status)."""
        self.uow.cases.record_timer_results(self.results)
        self.results = []

    def forget(self) -> None:
        """After a rolled-back savepoint: drop unsent writes (results are kept; none are pending)."""

    def after_apply(self, case: Case) -> None:
        """A workflow action was applied to ``case``: reload what its observers may have changed."""

    def apply(self, case: Case, action: str, actor: Actor, payload: dict[str, Any]) -> Step:
        """A workflow action on the case, within this batch's transaction."""
        self.flush()
        step = self.engine.apply(self.uow, case, action, actor, payload)
        self.cases[case.id] = step.apply(case)  # type: ignore[index]
        self.after_apply(case)
        return step

    # -- one timer ---------------------------------------------------------------------------------
    def _fire(self, timer: Any) -> bool:
        """Act on a claimed timer; False when it went back to pending (the case changed under us)."""
        label = f"{self.cases[timer.complaint_id].reference} {timer.kind} {timer.name}"
        handler = self.handlers[timer.kind]
        try:
            if handler.acts:
                self.flush()  # what the savepoint may roll back is this timer's own writes only
                with self.uow.conn.begin_nested():
                    result = handler.fire(self, self.cases[timer.complaint_id], timer)
                    self.flush()
            else:
                result = handler.fire(self, self.cases[timer.complaint_id], timer)
        except ConflictError:
            self._rolled_back()
            self.uow.cases.release_timer(timer.id)
            return False
        except ComplaintflowError as exc:
            self._rolled_back()
            self.results.append({"tid": timer.id, "st": TIMER_FAILED, "res": f"failed: {exc}"[:300]})
            self.report.failed.append(f"{label}: {exc}")
            self.report.tally[f"{timer.kind} {timer.action or timer.name} failed"] += 1
            return True
        self.results.append({"tid": timer.id, "st": TIMER_FIRED, "res": result[:300]})
        outcome = "skipped" if result.startswith("skipped") else "fired"
        (self.report.skipped if outcome == "skipped" else self.report.fired).append(label)
        self.report.tally[f"{timer.kind} {timer.action or timer.name} {outcome}"] += 1
        return True

    def _rolled_back(self) -> None:
        """Forget unsent writes and reload what the rolled-back savepoint may have changed."""
        self.forget()
        self.load(set(self.cases))


# -- the workflow timer: the action its state declared, if the case is still in that state ---------
def fire_workflow_timer(batch: Batch, case: Case, timer: Any) -> str:
    if case.state != timer.state:
        return f"skipped: case is now in '{case.state}'"
    batch.apply(case, timer.action, TIMER_ACTOR, {})
    return "fired"


HANDLERS: dict[str, Handler] = {WORKFLOW_TIMER: Handler(fire_workflow_timer)}


def sweep(
    engine: WorkflowEngine, now: datetime | None = None, batch_size: int = 500, actions: Sequence[str] | None = None,
    max_batches: int | None = None, on_batch: Callable[[TimerReport], None] | None = None,
) -> TimerReport:
    """Fire the workflow timers due by ``now`` (only those of ``actions`` if given); other
    kinds of timer are left to the sweep that registers their handlers (``escalation.sweep``)."""
    return sweep_with(engine, HANDLERS, TimerReport(), now, batch_size, actions=actions,
                      max_batches=max_batches, on_batch=on_batch)
