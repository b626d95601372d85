"""One case's recorded history replayed under a policy: its clocks, breaches, escalations and
letters as they would have been. Pure: events in, figures out.

The events people and customers caused are kept as recorded; the escalations the rules made
(an SLA breach or warning, an action such as 'reject') are dropped and made again by the
policy replayed, at the instant its deadline passed, with the tier, queue and clock changes
they bring. The clock arithmetic is the observer's and the sweep's own (``SlaClocks``,
``SlaObserver._sla_move``), so replaying under a workflow's own policy gives what its sweeps
recorded when they ran on time. Repeat complaints are kept as recorded when the policy has a
repeat rule (telling them needs every other complaint of the customer), dropped otherwise;
promises (commitment clocks) are not replayed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from complaints.steps import Actor, Case, Step
from escalation.clocks import ClockState, Context, Outcome, SlaClocks, replace
from escalation.observer import SlaObserver
from escalation.policy import Milestone, SlaPolicy, as_aware
from workflows.compiled import CompiledWorkflow

#: Actors of the escalations the rules make: the sweep (deadlines) and the step triggers.
SWEEPER, TRIGGERS = "sla-sweep", "escalation"


@dataclass
class Figures:
    """What one side of the report counts for a group of cases."""

    met: int = 0  # deadlines met: SLA clock runs and regulatory clocks stopped in time
    breaches: int = 0  # SLA deadlines and regulatory deadlines passed while running
    escalations: int = 0  # made by the rules (not by people)
    letters: int = 0  # regulatory letters and the letters of those escalations

    def add(self, other: Figures) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


#: (queue, tier, product): where a deadline, breach, escalation or letter fell.
Group = tuple[str, str, str]
Tallies = dict[Group, Figures]


@dataclass(frozen=True)
class History:
    """One case as recorded: its product, severity, receipt and events (ordered by seq; each
    with actor, action, from_state, to_state, tier, queue and at)."""

    product: str
    severity: str
    received_at: datetime
    events: Sequence[Mapping[Any, Any]]
    data: Mapping[str, Any] | None = None


def regulatory_met(state: ClockState, late_for: Sequence[str]) -> bool:
    """A stopped regulatory clock met its deadlines unless one that counts as a breach passed."""
    milestones = state.detail.get("milestones", {})
    return not any(milestones.get(name, {}).get("breach", True) for name in late_for)


class CaseReplay:
    """Replays one case; ``tally`` collects the figures by group."""

    def __init__(self, workflow: CompiledWorkflow, policy: SlaPolicy, ops: SlaClocks, history: History,
                 tally: Tallies):
        self.workflow, self.policy, self.ops, self.history, self.tally = workflow, policy, ops, history, tally
        self.clocks: dict[str, ClockState] = {}
        #: The case at receipt, as the regulatory clocks read it; then where it is now.
        self.case: Case | None = None
        self.state, self.tier, self.queue, self.seq = "", "", "", 0
        self.milestones: dict[str, tuple[Milestone, ...]] = {}
        self.done: set[tuple[str, str, str]] = set()  # (clock, milestone, breach|letter) already dealt with
        self._due: tuple[datetime, str, str, Milestone | None] | None = None
        self._due_known = False  # ``_due`` holds the next deadline until a clock or milestone changes
        spec = policy.escalation
        self.escalate_action = spec.action if spec else "escalate"
        self.letters_per_escalation = len(workflow.spec.transitions[self.escalate_action].notify) \
            if self.escalate_action in workflow.spec.transitions else 0

    # -- the walk ------------------------------------------------------------------------------
    def run(self, until: datetime) -> None:
        events = self.history.events
        for i, ev in enumerate(events):
            if ev["at"] >= until:
                break
            made = self._made_by_rules(ev, events[i - 1] if i else None)
            if made == "replayed":
                continue
            self.advance(ev["at"])
            if made == "kept":
                self.escalate(ev["at"])  # a repeat complaint: escalated as recorded
            else:
                self._recorded(ev)
        self.advance(until, inclusive=False)

    def _made_by_rules(self, ev: Mapping[str, Any], before: Mapping[str, Any] | None) -> str:
        """'replayed' for an escalation the rules made (the policy makes its own), 'kept' for a
        repeat complaint's escalation the policy keeps, '' for any other event."""
        if ev["action"] != self.escalate_action or ev["actor"] not in (SWEEPER, TRIGGERS):
            return ""
        if is_repeat(ev, before, self.workflow) and self.policy.escalation is not None \
                and self.policy.escalation.repeat is not None:
            return "kept"
        return "replayed"

    def _recorded(self, ev: Mapping[str, Any]) -> None:
        if self.case is None or ev["from_state"] is None:
            self._receive(ev)
            return
        tr = self.workflow.spec.transitions.get(ev["action"])
        tier = self.workflow.tier_after(ev["action"], self.tier) if tr is not None else self.tier
        self.step(ev["action"], str(ev["actor"]), ev["to_state"], tier, ev["at"])
        spec = self.policy.escalation
        if spec is not None and ev["action"] in spec.after_actions:
            self.escalate(ev["at"])

    def _receive(self, ev: Mapping[str, Any]) -> None:
        spec = self.policy.escalation
        tier = (spec.severity.get(self.history.severity) if spec else None) or self.workflow.first_tier
        received = as_aware(self.history.received_at)
        self.case = Case(reference="", state=ev["to_state"], tier=tier, queue=self.workflow.queue_of(tier), version=0,
                         data=self.history.data or {},
                         fields={"severity": self.history.severity, "received_at": received})
        self._apply(Step(action=ev["action"], actor=Actor(str(ev["actor"])), from_state=None, to_state=ev["to_state"],
                         tier=tier, queue=self.case.queue, seq=1, at=ev["at"], payload={}, changes={}, timers=[],
                         notifications=[]))
        for name in self.policy.regulatory:
            self.milestones[name] = self.policy.milestones(name, received)
            self.done |= {(name, m.name, k) for m in self.milestones[name] if m.deadline <= ev["at"]
                          for k in ("breach", "letter")}

    def step(self, action: str, actor: str, to_state: str, tier: str, at: datetime) -> None:
        step = Step(action=action, actor=Actor(actor), from_state=self.state, to_state=to_state, tier=tier,
                    queue=self.workflow.queue_of(tier), seq=self.seq + 1, at=at, payload={}, changes={},
                    timers=[], notifications=[])
        self._apply(step)

    def _apply(self, step: Step) -> None:
        """The clocks moved by ``step``, as the observer moves them; the case after it."""
        assert self.case is not None
        policy = self.policy
        affected = policy.affected(step.from_state, step.to_state) if step.state_changed else frozenset()
        restarted = policy.restarted_by(step.action)
        tier_changed = step.from_state is not None and step.tier != self.tier
        if affected or restarted or tier_changed or step.from_state is None:
            ctx = Context(step.tier, self.history.severity, step.queue, step.at)
            reason = step.action
            for name in policy.clocks:
                outcome = SlaObserver._sla_move(self.ops, policy, self.clocks.get(name), name, step, ctx, reason,
                                                name in affected, name in restarted, tier_changed)
                if outcome is not None:
                    self._moved(outcome, step)
        if policy.regulatory and (step.from_state is None or step.state_changed):
            for outcome in SlaObserver._regulatory(self.ops, policy, self.clocks, self.case, step):
                self._moved(outcome, step)
        self.state, self.tier, self.queue, self.seq = step.to_state, step.tier, step.queue, step.seq

    def _moved(self, outcome: Outcome, step: Step) -> None:
        state = outcome.state
        self.clocks[state.name] = state
        self._due_known = False
        stop = next((e for e in outcome.entries if e.entry == "stop"), None)
        if stop is None:
            return
        met = stop.detail.get("met") if state.kind == "sla" else regulatory_met(state, stop.detail.get("late_for", ()))
        if met:
            self._figures(step.queue, step.tier).met += 1

    def _figures(self, queue: str, tier: str) -> Figures:
        key = (queue, tier, self.history.product)
        found = self.tally.get(key)
        if found is None:
            found = self.tally[key] = Figures()
        return found

    # -- deadlines passing ---------------------------------------------------------------------
    def advance(self, until: datetime, inclusive: bool = True) -> None:
        """Every deadline that passes by ``until`` (before it unless ``inclusive``), in order."""
        while self.case is not None:
            if not self._due_known:
                self._due, self._due_known = self._next_due(), True
            due = self._due
            if due is None or due[0] > until or (due[0] == until and not inclusive):
                return
            at, kind, name, milestone = due
            self._due_known = False
            if kind in ("breach", "warning"):
                self._sla_deadline(kind, name, at)
            else:
                self._regulatory_deadline(kind, name, milestone, at)

    def _next_due(self) -> tuple[datetime, str, str, Milestone | None] | None:
        best: tuple[datetime, str, str, Milestone | None] | None = None
        for name, state in self.clocks.items():
            if state.status != "running":
                continue
            if state.kind == "sla":
                if state.breached_at is None and state.due_at is not None:
                    best = _sooner(best, (state.due_at, "breach", name, None))
                if state.warned_at is None and state.warn_at is not None and self.policy.escalates_on(name, "warning"):
                    best = _sooner(best, (state.warn_at, "warning", name, None))
            elif state.kind == "regulatory":
                for m in self.milestones.get(name, ()):
                    if m.letter and m.letter_at is not None and (name, m.name, "letter") not in self.done:
                        best = _sooner(best, (max(m.letter_at, state.started_at), "letter", name, m))
                    if (name, m.name, "breach") not in self.done:
                        best = _sooner(best, (m.deadline, "breach-reg", name, m))
        return best

    def _sla_deadline(self, kind: str, name: str, at: datetime) -> None:
        assert self.case is not None
        state = self.clocks[name]
        if kind == "warning":
            self.clocks[name] = replace(state, warned_at=at)
            self.escalate(at)
            return
        self.clocks[name] = replace(state, breached_at=at)
        self._figures(self.queue, self.tier).breaches += 1
        if self.policy.escalates_on(name, "breach"):
            self.escalate(at)

    def _regulatory_deadline(self, kind: str, name: str, milestone: Milestone | None, at: datetime) -> None:
        assert self.case is not None and milestone is not None
        if kind == "letter":
            self.done.add((name, milestone.name, "letter"))
            self._figures(self.queue, self.tier).letters += 1
            return
        self.done.add((name, milestone.name, "breach"))
        if milestone.breach:
            self.clocks[name] = replace(self.clocks[name], breached_at=self.clocks[name].breached_at or at)
            self._figures(self.queue, self.tier).breaches += 1

    def escalate(self, at: datetime) -> None:
        """The rules' escalation at ``at``: up a tier, with its letters; none at the top tier."""
        above = self.workflow.next_tier(self.tier)
        if above is None:
            return
        figures = self._figures(self.queue, self.tier)
        figures.escalations += 1
        figures.letters += self.letters_per_escalation
        self.step(self.escalate_action, SWEEPER, self.state, above, at)


def is_repeat(ev: Mapping[str, Any], before: Mapping[str, Any] | None, workflow: CompiledWorkflow) -> bool:
    """Whether an escalation by the step triggers was for a repeat complaint: those follow the
    step out of the initial state (``SlaObserver._triggers``)."""
    return ev["actor"] == TRIGGERS and before is not None and before["from_state"] == workflow.initial_state


def _sooner(best: tuple[datetime, str, str, Milestone | None] | None,
            other: tuple[datetime, str, str, Milestone | None]) -> tuple[datetime, str, str, Milestone | None]:
    return other if best is None or other[0] < best[0] else best


def replay_case(workflow: CompiledWorkflow, policy: SlaPolicy, ops: SlaClocks, history: History, until: datetime,
                tally: Tallies) -> None:
    """Add one case's figures under ``policy`` up to ``until`` to ``tally``."""
    CaseReplay(workflow, policy, ops, history, tally).run(until)


__all__ = ["Figures", "Group", "History", "Tallies", "is_repeat", "regulatory_met", "replay_case"]
