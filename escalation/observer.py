"""The step observer: clocks start, pause, resume, retarget and stop inside the step's transaction.

Cheap on the hot path: a step that enters no clock state, changes no tier and triggers no
escalation returns before touching the database (a dictionary lookup per step). When it
does act, it reads the case's clocks once and writes with Core statements.
"""

from __future__ import annotations

from collections.abc import Sequence

from complaints.uow import UnitOfWork
from escalation.clocks import ClockState, Context, Outcome, SlaClocks
from escalation.policy import SlaPolicy, as_aware
from escalation.repository import ClockRepository
from escalation.tiers import at_time, escalate, find_repeat, policy_for
from workflows.compiled import CompiledWorkflow
from workflows.engine import WorkflowEngine
from workflows.machine import Actor, Case, Step

OPEN = ("running", "paused")


def describe_step(step: Step) -> str:
    """'need_info by hana (handler): assessing → awaiting_customer — <question>' for the ledger."""
    move = f"{step.from_state} → {step.to_state}" if step.from_state else f"received into '{step.to_state}'"
    if step.from_state == step.to_state:
        move = f"stays '{step.to_state}'"
    why = next((str(step.payload[k]) for k in ("reason", "question", "summary") if step.payload.get(k)), "")
    return f"'{step.action}' by {step.actor}: {move}" + (f" — {why}" if why else "")


class SlaObserver:
    """Runs the workflow's SLA/regulatory clocks and the escalation triggers of each step."""

    def __init__(self, engine: WorkflowEngine):
        self.engine = engine

    def after_steps(self, uow: UnitOfWork, workflow: CompiledWorkflow, items: Sequence[tuple[Case, Step]]) -> None:
        for before, step in items:
            self.after_step(uow, workflow, before, step)

    def after_step(self, uow: UnitOfWork, workflow: CompiledWorkflow, before: Case, step: Step) -> None:
        policy = policy_for(workflow)
        if not policy.active:
            return
        assert before.id is not None
        affected = policy.affected(step.from_state, step.to_state) if step.state_changed else frozenset()
        restarted = policy.restarted_by(step.action)
        tier_changed = step.from_state is not None and step.tier != before.tier
        if affected or restarted or tier_changed or step.from_state is None:
            self._move_clocks(uow, policy, before, step, affected, restarted, tier_changed)
        self._triggers(uow, workflow, policy, before, step)

    # -- clocks --------------------------------------------------------------------------------
    def _move_clocks(
        self, uow: UnitOfWork, policy: SlaPolicy, before: Case, step: Step,
        affected: frozenset[str], restarted: list[str], tier_changed: bool,
    ) -> None:
        repo = ClockRepository(uow.conn)
        clocks = {} if step.from_state is None else repo.clocks(before.id)  # type: ignore[arg-type]
        ctx = Context(step.tier, str(before.fields.get("severity") or "medium"), step.queue, step.at)
        ops = SlaClocks(policy)
        reason = describe_step(step)
        outcomes: list[Outcome] = []
        for name in policy.clocks:
            outcome = self._sla_move(ops, policy, clocks.get(name), name, step, ctx, reason,
                                     name in affected, name in restarted, tier_changed)
            if outcome is not None:
                outcomes.append(outcome)
        for name in policy.regulatory:
            state = clocks.get(name)
            if step.from_state is None and state is None:
                received = as_aware(before.fields.get("received_at") or step.at)  # type: ignore[arg-type]
                outcomes.append(ops.start_regulatory(name, received, step.at))
            elif state is not None and state.status == "running" and step.to_state in policy.regulatory_stop[name] \
                    and step.state_changed:
                outcomes.append(ops.stop_regulatory(state, step.at, reason))
        if outcomes:
            repo.save(before.id, outcomes, str(step.actor), step.at)  # type: ignore[arg-type]

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
    def _triggers(self, uow: UnitOfWork, workflow: CompiledWorkflow, policy: SlaPolicy, before: Case, step: Step) -> None:
        spec = policy.escalation
        if spec is None:
            return
        reason = None
        if step.action in spec.after_actions:
            detail = step.payload.get("reason")
            reason = f"after '{step.action}'" + (f": {detail}" if detail else "")
        elif spec.repeat is not None and step.from_state == workflow.initial_state and step.state_changed:
            received = as_aware(before.fields.get("received_at") or step.at)  # type: ignore[arg-type]
            earlier = find_repeat(uow.conn, before.id, received, spec.repeat.within)  # type: ignore[arg-type]
            if earlier:
                reason = f"{spec.repeat.reason} ({earlier})"
        if reason is None:
            return
        current = step.apply(before) if step.from_state is not None else before
        escalate(at_time(self.engine, step.at), uow, current, reason, Actor.system("escalation"))
