"""The step observer: clocks start, pause, resume, retarget and stop inside the step's transaction.

Cheap on the hot path: a step that enters no clock state, changes no tier and triggers no
escalation returns before touching the database (a dictionary lookup per step). Steps come
in batches (intake passes a whole batch): the clocks they change are read with one query,
moved in memory and written set-based (``ClockChanges``), so the statements per batch do
not grow with its size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from complaints.steps import Actor, Case, Step
from complaints.uow import UnitOfWork
from escalation.clocks import ClockState, Context, Outcome, SlaClocks
from escalation.policy import SlaPolicy, as_aware
from escalation.repository import ClockChanges, ClockRepository, FreshClocks
from escalation.tiers import escalate, find_repeats, policy_for
from workflows.compiled import CompiledWorkflow
from workflows.engine import WorkflowEngine
from workflows.intake import HISTORY

OPEN = ("running", "paused")
#: (case before the step, step, clocks its states touch, clocks it restarts, tier changed)
Move = tuple[Case, Step, frozenset[str], list[str], bool]


def _step_key(before: Case, step: Step, tier_changed: bool, reason: str) -> tuple[Any, ...]:
    """All of a step that its SLA clocks' outcomes depend on, beside the clocks it starts from
    (``reason`` is ``describe_step(step)``, or its ``_why`` where the key also holds the actor)."""
    return (step.action, step.from_state, step.to_state, step.tier, step.queue, step.at, reason, tier_changed,
            before.fields.get("severity"))


def _looks(move: Move) -> tuple[Any, ...]:
    """All of a new complaint's step that its SLA clock rows depend on: the SLA outcomes and
    the ledger's actor (not the receipt, which only the regulatory clocks count from). The
    step's description is made of what the key holds besides its ``_why``."""
    before, step, _, _, tier_changed = move
    return (*_step_key(before, step, tier_changed, _why(step)), step.actor)


def describe_step(step: Step) -> str:
    """'need_info by hana (handler): assessing → awaiting_customer — <question>' for the ledger."""
    move = f"{step.from_state} → {step.to_state}" if step.from_state else f"received into '{step.to_state}'"
    if step.from_state == step.to_state:
        move = f"stays '{step.to_state}'"
    why = _why(step)
    return f"'{step.action}' by {step.actor}: {move}" + (f" — {why}" if why else "")


def _why(step: Step) -> str:
    return next((str(step.payload[k]) for k in ("reason", "question", "summary") if step.payload.get(k)), "")


class SlaObserver:
    """Runs the workflow's SLA/regulatory clocks and the escalation triggers of each step.

    A batch of steps costs a constant number of statements: one read of the clocks the steps
    can change (none for complaints that are new in the batch: they have none yet), the
    outcomes computed in memory, then the writes of ``ClockChanges`` (an executemany per
    table, or an ``INSERT ... SELECT`` per row that many complaints share), and one query
    for repeat complaints.
    """

    def __init__(self, engine: WorkflowEngine):
        self.engine = engine

    def after_steps(self, uow: UnitOfWork, workflow: CompiledWorkflow, items: Sequence[tuple[Case, Step]]) -> None:
        policy = policy_for(workflow)
        if not policy.active:
            return
        self._move_clocks(uow, policy, items)
        self._triggers(uow, workflow, policy, items)

    # -- clocks --------------------------------------------------------------------------------
    def _move_clocks(self, uow: UnitOfWork, policy: SlaPolicy, items: Sequence[tuple[Case, Step]]) -> None:
        moves: dict[int, list[Move]] = {}  # by complaint, each complaint's in order
        new: set[int] = set()
        wanted: dict[int, set[str] | None] = {}  # stored complaints -> the clocks their steps read (None: all)
        for before, step in items:
            assert before.id is not None
            affected = policy.affected(step.from_state, step.to_state) if step.state_changed else frozenset()
            restarted = policy.restarted_by(step.action)
            tier_changed = step.from_state is not None and step.tier != before.tier
            if step.from_state is None:
                new.add(before.id)
            elif not (affected or restarted or tier_changed):
                continue  # nothing this step does can change a clock: no database work
            elif before.id not in new:
                names = wanted.setdefault(before.id, set())
                if tier_changed or names is None:
                    wanted[before.id] = None  # retargeting touches every clock
                else:
                    names |= affected | set(restarted)
            moves.setdefault(before.id, []).append((before, step, affected, restarted, tier_changed))
        if not moves:
            return
        clocks = ClockRepository(uow.conn).clocks_wanted(wanted) if wanted else {}
        ops = SlaClocks(policy)
        changes = ClockChanges()
        memo: dict[tuple[Any, ...], tuple[tuple[ClockState | None, ...], list[Outcome]]] = {}
        shapes: dict[tuple[Any, ...], FreshClocks] = {}
        for cid, case_moves in moves.items():
            if cid not in new:
                self._fold(changes, cid, clocks.setdefault(cid, {}), case_moves, ops, policy, memo)
                continue
            # A complaint new in this batch has no stored clocks: its steps alone decide its
            # rows, so complaints whose steps look alike (an intake batch) get the same SLA
            # rows, folded once. Regulatory clocks count from each complaint's receipt: they
            # are added per complaint after each step's SLA rows, in the order of the steps.
            shape = tuple(_looks(move) for move in case_moves)
            fresh = shapes.get(shape)
            if fresh is None:
                scratch = ClockChanges(sharing=changes)  # shapes share outcomes, so rows too
                self._fold(scratch, 0, {}, case_moves, ops, policy, memo, fresh=True)
                fresh = shapes[shape] = scratch.fresh()
            regulatory: dict[str, ClockState] = {}
            for (before, step, *_), part in zip(case_moves, fresh, strict=True):
                changes.add_fresh(cid, part)
                for outcome in self._regulatory(ops, policy, regulatory, before, step):
                    regulatory[outcome.state.name] = outcome.state
                    changes.add(cid, outcome, str(step.actor), step.at)
        changes.flush(uow.conn)

    def _fold(self, changes: ClockChanges, cid: int, current: dict[str, ClockState], case_moves: list[Move],
              ops: SlaClocks, policy: SlaPolicy,
              memo: dict[tuple[Any, ...], tuple[tuple[ClockState | None, ...], list[Outcome]]],
              fresh: bool = False) -> None:
        """One complaint's steps applied to its clocks (``current``, updated), into ``changes``.
        ``fresh``: the SLA rows of a new complaint's shape, for ``ClockChanges.fresh``: its
        regulatory clocks, which count from each complaint's receipt, are left out, and the
        end of each step is marked."""
        for before, step, affected, restarted, tier_changed in case_moves:
            outcomes = self._outcomes(ops, policy, current, before, step, affected, restarted, tier_changed, memo)
            if not fresh:
                outcomes += self._regulatory(ops, policy, current, before, step)
            for outcome in outcomes:
                current[outcome.state.name] = outcome.state
                changes.add(cid, outcome, str(step.actor), step.at)
            if fresh:
                changes.end_step()

    def _outcomes(
        self, ops: SlaClocks, policy: SlaPolicy, clocks: dict[str, ClockState], before: Case, step: Step,
        affected: frozenset[str], restarted: list[str], tier_changed: bool,
        memo: dict[tuple[Any, ...], tuple[tuple[ClockState | None, ...], list[Outcome]]],
    ) -> list[Outcome]:
        """What one step does to the case's SLA clocks (``clocks``: their state before it). Pure.

        Memoised for the batch on the step and the very clock objects it starts from: the
        complaints of an intake batch are received and acknowledged alike, so after the
        first their clocks are the same objects and the outcomes are shared (outcomes are
        never changed once made).
        """
        ctx = Context(step.tier, str(before.fields.get("severity") or "medium"), step.queue, step.at)
        reason = describe_step(step)
        states = tuple(clocks.get(name) for name in policy.clocks)
        key = (_step_key(before, step, tier_changed, reason), tuple(map(id, states)))  # affected, restarted: of the step
        known = memo.get(key)
        if known is not None and all(a is b for a, b in zip(known[0], states, strict=True)):
            outcomes = list(known[1])
        else:
            outcomes = []
            for name, state in zip(policy.clocks, states, strict=True):
                outcome = self._sla_move(ops, policy, state, name, step, ctx, reason,
                                         name in affected, name in restarted, tier_changed)
                if outcome is not None:
                    outcomes.append(outcome)
            memo[key] = (states, list(outcomes))  # holding the states keeps their ids unique
        return outcomes

    @staticmethod
    def _regulatory(ops: SlaClocks, policy: SlaPolicy, clocks: dict[str, ClockState], before: Case,
                    step: Step) -> list[Outcome]:
        """What one step does to the case's regulatory clocks (``clocks``: their state before it).
        Pure; their start is memoised on the receipt (``SlaClocks.start_regulatory``)."""
        outcomes = []
        for name in policy.regulatory:
            state = clocks.get(name)
            if step.from_state is None and state is None:
                received = as_aware(before.fields.get("received_at") or step.at)  # type: ignore[arg-type]
                outcomes.append(ops.start_regulatory(name, received, step.at))
            elif state is not None and state.status == "running" and step.to_state in policy.regulatory_stop[name] \
                    and step.state_changed:
                outcomes.append(ops.stop_regulatory(state, step.at, reason=describe_step(step)))
        return outcomes

    @staticmethod
    def _sla_move(
        ops: SlaClocks, policy: SlaPolicy, state: ClockState | None, name: str, step: Step, ctx: Context,
        reason: str, affected: bool, restarted: bool, tier_changed: bool,
    ) -> Outcome | None:
        if affected:
            role = policy.role(name, step.to_state)
            if role == "start" and (state is None or state.status == "stopped"):
                return ops.start(name, ctx, reason, previous=state)
            if state is None or state.status == "stopped":
                return None
            if role == "pause" and state.status == "running":
                return ops.pause(state, ctx, reason)
            if role == "stop":
                return ops.stop(state, ctx, reason)
            if role in ("start", "other") and state.status == "paused":
                return ops.resume(state, ctx, reason)
        if state is None or state.status not in OPEN:
            return None
        if restarted:
            return ops.restart(state, ctx, reason + "; a fresh run starts")
        if tier_changed:
            return ops.retarget(state, ctx, f"{reason}; now at tier '{ctx.tier}'")
        return None

    # -- escalation triggers -------------------------------------------------------------------
    def _triggers(self, uow: UnitOfWork, workflow: CompiledWorkflow, policy: SlaPolicy,
                  items: Sequence[tuple[Case, Step]]) -> None:
        spec = policy.escalation
        if spec is None:
            return
        reasons: list[tuple[Case, Step, str]] = []
        repeats: list[tuple[Case, Step]] = []
        for before, step in items:
            if step.action in spec.after_actions:
                detail = step.payload.get("reason")
                reasons.append((before, step, f"after '{step.action}'" + (f": {detail}" if detail else "")))
            elif spec.repeat is not None and step.from_state == workflow.initial_state and step.state_changed \
                    and HISTORY not in before.data:  # history's repeats happened long ago: nothing to do now
                repeats.append((before, step))
        if repeats:
            assert spec.repeat is not None
            within = spec.repeat.within
            received = {b.id: as_aware(b.fields.get("received_at") or s.at) for b, s in repeats}  # type: ignore[arg-type]
            earlier = find_repeats(uow.conn, received, within)  # type: ignore[arg-type]
            reasons += [(b, s, f"{spec.repeat.reason} ({earlier[b.id]})") for b, s in repeats if b.id in earlier]
            order = {id(step): i for i, (_, step) in enumerate(items)}
            reasons.sort(key=lambda r: order[id(r[1])])
        for before, step, reason in reasons:
            current = step.apply(before) if step.from_state is not None else before
            escalate(self.engine.as_of(step.at), uow, current, reason, Actor.system("escalation"))
