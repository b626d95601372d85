"""Moving open cases to a newer version of their workflow, planned first, applied in batches.

A new version applies to new complaints; the code of practice, reviewed, should apply to the
open ones too. Each open case on an older version keeps its state (or the one ``--map``
names), gets the new version's timers for that state in place of the old ones (counted from
when it entered the state: the customer was told then), and its clocks are brought under the
new version's rules by the hooks other packages register (``escalation.migration``). A state
the new version lacks, unmapped, refuses the whole migration, naming its cases.

Applying writes one ``migrated`` event per case (``machine.MIGRATED``) in the transaction
that changes its row, so the event log alone rebuilds the case, version included. Each
batch is one transaction: a failure leaves each case migrated or untouched.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from complaints.errors import InvalidInput, NotFound
from complaints.retry import retrying
from complaints.steps import Actor, Case, Step
from complaints.uow import UnitOfWork
from workflows.compiled import CompiledWorkflow
from workflows.engine import WorkflowEngine
from workflows.machine import MIGRATED, entry_timers

#: Who the ``migrated`` events name.
MIGRATOR = Actor.system("migration")
DEFAULT_BATCH = 500


@dataclass
class CasePlan:
    """What migrating one case does; ``clocks`` and ``letters`` are filled by the hooks."""

    id: int
    reference: str
    from_version: int
    from_state: str
    to_state: str
    timers_cancelled: list[str] = field(default_factory=list)
    timers_scheduled: list[tuple[str, datetime]] = field(default_factory=list)
    #: (clock, what happens: retargeted/started/stopped/restarted, due before, due after)
    clocks: list[tuple[str, str, datetime | None, datetime | None]] = field(default_factory=list)
    #: (template, when it would go) of the letters the new rules schedule
    letters: list[tuple[str, datetime]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference, "from_version": self.from_version, "from_state": self.from_state,
            "to_state": self.to_state, "timers_cancelled": self.timers_cancelled,
            "timers_scheduled": [{"name": n, "due_at": d} for n, d in self.timers_scheduled],
            "clocks": [{"clock": c, "change": k, "due_before": b, "due_after": a} for c, k, b, a in self.clocks],
            "letters": [{"template": t, "at": at} for t, at in self.letters],
        }


@dataclass
class MigrationPlan:
    workflow: str
    to_version: int
    applied: bool = False
    cases: list[CasePlan] = field(default_factory=list)
    batches: int = 0

    def totals(self) -> dict[str, int]:
        clocks = Counter(kind for c in self.cases for _, kind, _, _ in c.clocks)
        return {"cases": len(self.cases), "state changed": sum(c.from_state != c.to_state for c in self.cases),
                "timers cancelled": sum(len(c.timers_cancelled) for c in self.cases),
                "timers scheduled": sum(len(c.timers_scheduled) for c in self.cases),
                **{f"clocks {kind}": n for kind, n in sorted(clocks.items())},
                "letters": sum(len(c.letters) for c in self.cases)}

    def as_dict(self) -> dict[str, Any]:
        return {"workflow": self.workflow, "to_version": self.to_version, "applied": self.applied,
                "batches": self.batches, "totals": self.totals(), "cases": [c.as_dict() for c in self.cases]}


@dataclass(frozen=True)
class Moving:
    """One case on its way: as it is, the step that moves it, its plan, the version it leaves."""

    case: Case
    step: Step
    plan: CasePlan
    old: CompiledWorkflow


class MigrationHook(Protocol):
    """Brings what another package keeps per case under the new version's rules."""

    def plan(self, uow: UnitOfWork, new: CompiledWorkflow, items: Sequence[Moving],
             now: datetime) -> Callable[[], None]:
        """Fill each plan's ``clocks`` and ``letters``; return what writes them (in ``uow``),
        called only when the migration is applied."""
        ...


class WorkflowMigration:
    """Plans (``dry_run``) or applies the move of open cases to ``to_version``."""

    def __init__(self, engine: WorkflowEngine, hooks: Sequence[MigrationHook] = ()):
        self.engine = engine
        self.hooks = list(hooks)

    def run(self, name: str, to_version: int, mapping: Mapping[str, str] | None = None, dry_run: bool = True,
            batch_size: int = DEFAULT_BATCH,
            on_batch: Callable[[UnitOfWork, list[CasePlan]], None] | None = None) -> MigrationPlan:
        """The plan, written batch by batch unless ``dry_run``. ``on_batch`` is called inside
        each batch's transaction before it commits (raising there undoes that batch only)."""
        new = self.engine.registry.get(name, to_version)
        mapping = dict(mapping or {})
        self._check_mapping(new, mapping)
        todo = self._open_cases(name, to_version, mapping, new)
        plan = MigrationPlan(name, to_version, applied=not dry_run)
        now = self.engine.clock.now()
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]

            def one_batch(chunk: list[str] = chunk) -> list[CasePlan]:
                with UnitOfWork(self.engine.db) as uow:
                    done = self._batch(uow, new, chunk, mapping, now, dry_run)
                    if not dry_run:
                        if on_batch is not None:
                            on_batch(uow, done)
                        uow.commit()
                    return done
            plan.cases += one_batch() if dry_run else retrying(one_batch, f"migrating a batch of {len(chunk)}")
            plan.batches += 1
        return plan

    @staticmethod
    def _check_mapping(new: CompiledWorkflow, mapping: Mapping[str, str]) -> None:
        wrong = [f"--map {old}={to}: '{to}' is no state of '{new.name}' v{new.version}; its states: "
                 f"{', '.join(new.spec.states)}" for old, to in mapping.items() if to not in new.spec.states]
        if wrong:
            raise InvalidInput("Invalid --map", wrong)

    def _open_cases(self, name: str, to_version: int, mapping: Mapping[str, str], new: CompiledWorkflow) -> list[str]:
        """References of the open cases to move; refuses, naming them, when a state has no place."""
        with UnitOfWork(self.engine.db) as uow:
            rows = uow.cases.cases_on_workflow(name, to_version)
        todo: list[str] = []
        homeless: dict[tuple[int, str], list[str]] = {}
        for row in rows:
            old = self._version(name, row.workflow_version)
            if row.state in old.final_states:
                continue
            if mapping.get(row.state, row.state) not in new.spec.states:
                homeless.setdefault((row.workflow_version, row.state), []).append(row.reference)
            todo.append(row.reference)
        if homeless:
            raise InvalidInput(
                f"{sum(map(len, homeless.values()))} open case(s) sit in states '{name}' v{to_version} lacks; "
                "nothing was migrated", [_homeless(v, s, refs, new) for (v, s), refs in sorted(homeless.items())])
        return todo

    def _version(self, name: str, version: int) -> CompiledWorkflow:
        try:
            return self.engine.registry.get(name, version)
        except NotFound as exc:
            exc.add_note(f"cases on '{name}' v{version} need its definition loaded to be migrated")
            raise

    def _batch(self, uow: UnitOfWork, new: CompiledWorkflow, references: list[str], mapping: Mapping[str, str],
               now: datetime, dry_run: bool) -> list[CasePlan]:
        cases = uow.cases.get_many(references, for_update=not dry_run)
        ordered = [cases[ref] for ref in references]
        ids = [c.id for c in ordered]
        entered = uow.cases.entered_at(ids)  # type: ignore[arg-type]
        pending = uow.cases.pending_workflow_timers(ids)  # type: ignore[arg-type]
        items: list[Moving] = []
        for case in ordered:
            assert case.id is not None
            found = self._plan_case(new, case, mapping, entered.get(case.id, now), pending[case.id], now)
            if found is not None:
                items.append(found)
        writers = [hook.plan(uow, new, items, now) for hook in self.hooks]
        if not dry_run and items:
            uow.cases.move_to_version([m.case.id for m in items], new.version, now)  # type: ignore[misc]
            uow.cases.write_steps([(m.case, m.step) for m in items])
            for write in writers:
                write()
        return [m.plan for m in items]

    def _plan_case(self, new: CompiledWorkflow, case: Case, mapping: Mapping[str, str], entered: datetime,
                   pending: list[str], now: datetime) -> Moving | None:
        """The case's ``migrated`` step; None when it was closed or moved on meanwhile."""
        from_version = int(case.fields["workflow_version"])
        old = self._version(new.name, from_version)
        if from_version >= new.version or case.state in old.final_states:
            return None
        to_state = mapping.get(case.state, case.state)
        if to_state not in new.spec.states:  # moved into such a state since the check: refuse the batch
            raise InvalidInput(f"{case.reference} is now in '{case.state}', which '{new.name}' v{new.version} lacks; "
                               "this batch was not migrated", [_homeless(from_version, case.state,
                                                                        [case.reference], new)])
        tier = case.tier if case.tier in new.spec.tier_names() else new.first_tier
        after = Case(**{**case.__dict__, "state": to_state, "tier": tier})
        since = entered if to_state == case.state else now  # a new state's timers start now
        timers = [] if to_state in new.final_states else entry_timers(new, to_state, after, since, self.engine.deadline)
        payload: dict[str, Any] = {"workflow": new.name, "from_version": from_version, "to_version": new.version}
        if to_state != case.state:
            payload["mapped"] = f"{case.state}={to_state}"
        step = Step(action=MIGRATED, actor=MIGRATOR, from_state=case.state, to_state=to_state, tier=tier,
                    queue=new.queue_of(tier), seq=case.version + 1, at=now, payload=payload, changes={},
                    timers=timers, notifications=[])
        plan = CasePlan(case.id, case.reference, from_version, case.state, to_state,  # type: ignore[arg-type]
                        timers_cancelled=list(pending), timers_scheduled=[(t.name, t.due_at) for t in timers])
        return Moving(case, step, plan, old)


def _homeless(version: int, state: str, references: list[str], new: CompiledWorkflow) -> str:
    shown = ", ".join(references[:10]) + (f" and {len(references) - 10} more" if len(references) > 10 else "")
    return (f"state '{state}' of v{version} ({shown}): map it with --map {state}=STATE; "
            f"v{new.version}'s states: {', '.join(new.spec.states)}")
