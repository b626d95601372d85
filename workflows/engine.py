"""The workflow engine: plan with the pure machine, persist in one unit of work.

``advance`` = read the case, plan the step (guards, payload, timers, notifications), write
state + version + event + timers + outbox in one transaction, and let observers (SLA clocks,
escalation) add their writes to the same transaction. A stale version writes nothing.
Every step takes that one path (``_record``): a single advance, a batch of moves, a sweep's
timer, and new complaints (``start_cases``), whose rows are inserted instead of updated.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from complaints.clock import Clock, FixedClock, SystemClock
from complaints.db import Database
from complaints.errors import ComplaintflowError, ConflictError, NotFound
from complaints.retry import retrying
from complaints.steps import Actor, Case, Move, NotificationPlan, Step
from complaints.uow import UnitOfWork
from workflows import machine
from workflows.compiled import CompiledWorkflow
from workflows.machine import ActionOption, DeadlineFn, plain_deadline
from workflows.registry import WorkflowRegistry


class StepObserver(Protocol):
    """Called inside the transaction after steps are written; may add writes of its own.

    ``items`` are (case before the step, step) in the order they were written; a case may
    appear several times (intake passes each new complaint's 'receive' and 'acknowledge').
    A batch arrives in one call so an observer can read and write with a constant number of
    statements per batch; raising rolls the whole transaction back.
    """

    def after_steps(self, uow: UnitOfWork, workflow: CompiledWorkflow, items: Sequence[tuple[Case, Step]]) -> None: ...


@dataclass(frozen=True)
class NewCase:
    """A complaint to store with its first steps: its row and ``case`` as planned after them."""

    row: dict[str, Any]
    case: Case
    steps: list[Step]


def _rounds(moves: Sequence[Move]) -> list[list[int]]:
    """Positions of ``moves`` in rounds that hold each case at most once, in order."""
    rounds: list[list[int]] = []
    seen: Counter[str] = Counter()
    for i, move in enumerate(moves):
        n = seen[move.reference]
        seen[move.reference] += 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(i)
    return rounds


class WorkflowEngine:
    def __init__(
        self,
        db: Database,
        registry: WorkflowRegistry,
        clock: Clock | None = None,
        observers: Sequence[StepObserver] = (),
        deadline: DeadlineFn = plain_deadline,
    ):
        self.db = db
        self.registry = registry
        self.clock = clock or SystemClock()
        self.observers = list(observers)
        self.deadline = deadline

    def as_of(self, now: datetime) -> WorkflowEngine:
        """The same engine acting at ``now`` (a sweep run for a given time stamps its steps then)."""
        return WorkflowEngine(self.db, self.registry, FixedClock(now), self.observers, self.deadline)

    def workflow_of(self, case: Case) -> CompiledWorkflow:
        return self.registry.get(str(case.fields["workflow_name"]), int(case.fields["workflow_version"]))

    def comment_letter(self, case: Case, step: Step) -> NotificationPlan:
        """The letter a comment for the customer (``complaints.notes``) is sent as. Only a role
        shown the customer's personal data writes to them: one that reads a pseudonym does not
        know whom it is writing to, nor what the case's texts said of them."""
        workflow = self.workflow_of(case)
        workflow.check_shows_personal_data_to(step.actor.role, "write to the customer",
                                              instead="write an internal note instead")
        return machine.comment_letter(workflow, case, step, self.deadline)

    def available_actions(self, complaint: Case | str, actor: Actor) -> list[ActionOption]:
        case = complaint if isinstance(complaint, Case) else self.get(complaint)
        return machine.available_actions(self.workflow_of(case), case, actor, self.clock.now())

    def preview(self, reference: str, action: str, actor: Actor, payload: Mapping[str, Any] | None = None) -> Step:
        """The step ``action`` would take now, planned and checked as ``advance`` plans it, with
        nothing written: the state it moves to, its timers and the letters it would send.
        What observers would add in the step's transaction (an escalation after it) is not in it."""
        case = self.get(reference)
        return machine.plan(self.workflow_of(case), case, action, actor, payload or {}, self.clock.now(), self.deadline)

    def get(self, reference: str) -> Case:
        with UnitOfWork(self.db) as uow:
            return uow.cases.get(reference)

    def advance(
        self,
        reference: str,
        action: str,
        actor: Actor,
        payload: Mapping[str, Any] | None = None,
        expected_version: int | None = None,
        uow: UnitOfWork | None = None,
    ) -> Step:
        """Perform ``action``; pass ``uow`` to join a larger transaction (the caller commits)."""
        if uow is not None:
            return self._advance(uow, reference, action, actor, payload or {}, expected_version)

        def alone() -> Step:
            with UnitOfWork(self.db) as own:
                step = self._advance(own, reference, action, actor, payload or {}, expected_version)
                own.commit()
                return step
        return retrying(alone, f"'{action}' on {reference}")

    def _advance(
        self, uow: UnitOfWork, reference: str, action: str, actor: Actor,
        payload: Mapping[str, Any], expected_version: int | None,
    ) -> Step:
        case = uow.cases.get(reference, for_update=True)
        if expected_version is not None and expected_version != case.version:
            raise ConflictError(reference, expected_version, case.version)
        return self.apply(uow, case, action, actor, payload)

    def advance_many(self, moves: Sequence[Move], actor: Actor, uow: UnitOfWork | None = None) -> list[Step]:
        """Perform ``moves`` in one transaction, all or nothing; the steps in the same order.

        The first move refused (action not allowed, guard, payload, stale expected version,
        unknown reference) raises, naming its case, and nothing is written. A batch reads its
        cases with one query, writes one statement per table and hands its steps to the
        observers at once. A case moved twice is moved again in a later round that reads it
        afresh, since an observer (an escalation) may have moved it in between. Joined to the
        caller's ``uow``, the batch runs in a savepoint: refused, it undoes only itself.
        """
        if uow is None:
            def alone() -> list[Step]:
                with UnitOfWork(self.db) as own:
                    steps = self._advance_many(own, moves, actor)
                    own.commit()
                    return steps
            return retrying(alone, f"a batch of {len(moves)} moves")
        with uow.conn.begin_nested():  # joined to a larger transaction: a refusal undoes this batch only
            return self._advance_many(uow, moves, actor)

    def _advance_many(self, uow: UnitOfWork, moves: Sequence[Move], actor: Actor) -> list[Step]:
        now = self.clock.now()
        steps: list[Step | None] = [None] * len(moves)
        for positions in _rounds(moves):
            try:
                cases = uow.cases.get_many((moves[i].reference for i in positions), for_update=True)
            except NotFound as exc:
                exc.add_note("nothing was done")
                raise
            items: dict[tuple[str, int], list[tuple[Case, Step]]] = {}  # by workflow
            for i in positions:
                move = moves[i]
                case = cases[move.reference]
                try:
                    if move.expected_version is not None and move.expected_version != case.version:
                        raise ConflictError(case.reference, move.expected_version, case.version)
                    workflow = self.workflow_of(case)
                    step = machine.plan(workflow, case, move.action, actor, move.payload, now, self.deadline)
                except ComplaintflowError as exc:
                    exc.move = i + 1
                    exc.add_note(f"move {i + 1} of {len(moves)}; nothing was done")
                    raise
                items.setdefault((workflow.name, workflow.version), []).append((case, step))
                steps[i] = step
            uow.cases.write_steps([item for group in items.values() for item in group])
            for (name, version), group in items.items():
                self._observe(uow, self.registry.get(name, version), group)
        return steps  # type: ignore[return-value]

    def apply(self, uow: UnitOfWork, case: Case, action: str, actor: Actor, payload: Mapping[str, Any]) -> Step:
        """Plan and write ``action`` on an already loaded ``case`` within ``uow``."""
        workflow = self.workflow_of(case)
        step = machine.plan(workflow, case, action, actor, payload, self.clock.now(), self.deadline)
        uow.cases.write_step(case, step, expected_version=case.version)
        self._observe(uow, workflow, ((case, step),))
        return step

    def start_cases(self, uow: UnitOfWork, workflow: CompiledWorkflow, new: Sequence[NewCase]) -> list[int]:
        """Store new complaints with their first steps (received, acknowledged ...) and let
        the observers add their writes for the whole batch at once; the new ids, in order."""
        ids = uow.cases.insert_cases([n.row for n in new])
        items: list[tuple[Case, Step]] = []
        for cid, n in zip(ids, new, strict=True):
            current = Case(**{**n.case.__dict__, "id": cid})
            for step in n.steps:
                items.append((current, step))
                current = step.apply(current)
        uow.cases.add_steps(items)
        self._observe(uow, workflow, items)
        return ids

    def _observe(self, uow: UnitOfWork, workflow: CompiledWorkflow, items: Sequence[tuple[Case, Step]]) -> None:
        for observer in self.observers:
            observer.after_steps(uow, workflow, items)

