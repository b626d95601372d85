"""A case moved to a newer workflow version keeps its clocks, under the new version's rules.

The migration hook of ``workflows.migration``: an open SLA clock keeps the business time it
has used and takes the new target and calendar (``SlaClocks.retarget``); a clock the new
version drops stops; one it adds starts if the case sits in a state that starts it. A
regulatory clock whose milestones the new version moves is counted again from receipt, its
letters scheduled anew (a letter the old rules already sent is not sent twice).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from complaints.uow import UnitOfWork
from escalation.clocks import REGULATORY, ClockState, Context, Outcome, SlaClocks
from escalation.observer import OPEN, SlaObserver
from escalation.policy import SlaPolicy, as_aware
from escalation.repository import ClockChanges, ClockRepository
from escalation.tiers import policy_for
from workflows.compiled import CompiledWorkflow
from workflows.migration import MIGRATOR, Moving


class ClockMigration:
    """``MigrationHook`` for the SLA and regulatory clocks."""

    def plan(self, uow: UnitOfWork, new: CompiledWorkflow, items: Sequence[Moving],
             now: datetime) -> Callable[[], None]:
        policy = policy_for(new)
        ops = SlaClocks(policy)
        stored = ClockRepository(uow.conn).clocks_wanted({m.case.id: None for m in items}) if items else {}  # type: ignore[misc]
        changes = ClockChanges()
        for m in items:
            assert m.case.id is not None
            clocks = stored.get(m.case.id, {})
            for kind, before, outcome in self._outcomes(m, policy, ops, clocks, now):
                changes.add(m.case.id, outcome, str(MIGRATOR), now)
                m.plan.clocks.append((outcome.state.name, kind, before, outcome.state.due_at))
                m.plan.letters += [(t.payload["letter"], t.due_at) for t in outcome.timers
                                   if t.kind == REGULATORY and "letter" in t.payload]
        return lambda: changes.flush(uow.conn)

    def _outcomes(self, m: Moving, policy: SlaPolicy, ops: SlaClocks, clocks: dict[str, ClockState],
                  now: datetime) -> list[tuple[str, datetime | None, Outcome]]:
        old_policy = policy_for(m.old)
        step = m.step
        ctx = Context(step.tier, str(m.case.fields.get("severity") or "medium"), step.queue, now)
        reason = f"moved to '{m.plan.to_state}' of workflow '{step.payload['workflow']}' v{step.payload['to_version']}"
        out: list[tuple[str, datetime | None, Outcome]] = []
        for name in policy.clocks:
            if name not in clocks:
                if policy.role(name, step.to_state) == "start":
                    out.append(("started", None, ops.start(name, ctx, reason)))
                continue
            state = clocks[name]
            if state.kind != "sla" or state.status not in OPEN:
                continue
            affected = name in policy.affected(step.from_state, step.to_state) if step.state_changed else False
            moved = SlaObserver._sla_move(ops, policy, state, name, step, ctx, reason, affected, False, False)
            if moved is not None:
                out.append(("moved", state.due_at, moved))
            elif state.breached_at is None and self._target_changes(policy, old_policy, state, ctx):
                out.append(("retargeted", state.due_at, ops.retarget(state, ctx, reason + "; the new rules' target")))
        old_ops = SlaClocks(old_policy)
        for name, state in clocks.items():
            if state.kind == "sla" and name not in policy.clocks and state.status in OPEN:
                old_ctx = Context(m.case.tier, ctx.severity, m.case.queue, now)
                out.append(("stopped", state.due_at, old_ops.stop(state, old_ctx, reason + "; the new rules drop it")))
        out += self._regulatory(m, policy, old_policy, ops, clocks, now, reason)
        return out

    @staticmethod
    def _target_changes(policy: SlaPolicy, old: SlaPolicy, state: ClockState, ctx: Context) -> bool:
        """Whether the new rules count this clock differently: target, calendar or warning."""
        if state.name not in old.clocks:
            return True
        assert policy.sla is not None and old.sla is not None  # both declare the clock
        now_on, was_on = policy.calendar_for(state.name, ctx.queue).name, old.calendar_for(state.name, ctx.queue).name
        return (policy.target(state.name, ctx.tier, ctx.severity) != old.target(state.name, ctx.tier, ctx.severity)
                or now_on != was_on or policy.sla.calendars[now_on] != old.sla.calendars[was_on]
                or policy.warning(state.name) != old.warning(state.name))

    @staticmethod
    def _regulatory(m: Moving, policy: SlaPolicy, old: SlaPolicy, ops: SlaClocks, clocks: dict[str, ClockState],
                    now: datetime, reason: str) -> list[tuple[str, datetime | None, Outcome]]:
        received = as_aware(m.case.fields.get("received_at") or now)  # type: ignore[arg-type]
        out: list[tuple[str, datetime | None, Outcome]] = []
        for name, state in clocks.items():
            if state.kind == "regulatory" and state.status == "running" and name not in policy.regulatory:
                out.append(("stopped", state.due_at, ops.stop_regulatory(state, now, reason + "; the new rules drop it")))
        for name in policy.regulatory:
            found = clocks.get(name)
            if found is not None and found.status != "running":
                continue
            if found is not None and m.step.state_changed and m.step.to_state in policy.regulatory_stop[name]:
                out.append(("stopped", found.due_at, ops.stop_regulatory(found, now, reason)))
                continue
            if found is not None and name in old.regulatory and \
                    old.milestones(name, received) == policy.milestones(name, received):
                continue
            started = ops.start_regulatory(name, received, now)
            sent = {ms.name for ms in (old.milestones(name, received) if name in old.regulatory else ())
                    if ms.letter and ms.letter_at is not None and ms.letter_at <= now}
            timers = [t for t in started.timers if not ("letter" in t.payload and t.payload["milestone"] in sent)]
            fresh = ClockState(**{**vars(started.state), "id": found.id if found else None})
            out.append(("restarted" if found else "started", found.due_at if found else None,
                        Outcome(fresh, started.entries, timers, cancel=found is not None)))
        return out
