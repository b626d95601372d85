"""What the indicators read a workflow's states and actions as. Pure.

The event log says only that a case moved from one state to another by an action; which of
those moves is an acknowledgement, a first response, a final response, an escalation or a
reopen is the workflow's to say. Most of it is read from the definition itself, so that an
indicator means what the clocks mean:

- acknowledged, first response, final response: entering a state where the workflow's
  ``acknowledge``, ``first_response`` or ``resolution`` SLA clock stops (``'*'``: any state
  but where it starts or pauses);
- done (no work left, not in the backlog): a final state, or one where every SLA clock stops;
- escalations: actions that move the tier (``tier: next`` or a tier's name);
- the validity decision: actions that ``set`` the ``validity`` field (valid, invalid, lapsed);
- a proposal: an action into a state where the resolution clock stops that is not done;
- follow-up outcomes: the actions out of the ``follow_up`` state, satisfied or not as they
  ``set`` the ``satisfaction`` field (no answer, declined: neither);
- the handler: the ``assignee`` the assigning action sets.

Two things the definition can't say are named here: which actions reopen a complaint (the
shipped ``reopen``, and ``dissatisfied``, which reopens it from the follow-up), and the names
above. A workflow without these clocks or states gets empty sets: its indicators read none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from complaints.repository import ASSIGNEE
from workflows.compiled import CompiledWorkflow
from workflows.regulatory_presets import resolved
from workflows.sla_spec import ANY

ACKNOWLEDGE, FIRST_RESPONSE, RESOLUTION = "acknowledge", "first_response", "resolution"
VALIDITY, SATISFACTION, FOLLOW_UP = "validity", "satisfaction", "follow_up"
#: The shipped workflow's actions that reopen a complaint after its final response.
REOPEN_ACTIONS = ("reopen", "dissatisfied")
#: Validity decisions that are a decision on the complaint's merits (lapsed is none).
DECIDED = ("valid", "invalid")


@dataclass(frozen=True)
class Meaning:
    """The states and actions each indicator counts, for one family of workflows."""

    states: frozenset[str] = frozenset()
    acknowledged: frozenset[str] = frozenset()
    first_response: frozenset[str] = frozenset()
    final_response: frozenset[str] = frozenset()
    done: frozenset[str] = frozenset()
    follow_up_state: str | None = None
    escalations: frozenset[str] = frozenset()
    reopens: frozenset[str] = frozenset()
    proposals: frozenset[str] = frozenset()
    assigns: frozenset[str] = frozenset()
    #: action -> the validity it records (valid, invalid, lapsed)
    validity: dict[str, str] = field(default_factory=dict)
    #: follow-up outcome action -> 'satisfied', 'dissatisfied' or None (no answer)
    follow_up: dict[str, str | None] = field(default_factory=dict)
    #: tier -> rank, lowest first
    tiers: dict[str, int] = field(default_factory=dict)
    #: no action moves a case to a lower tier (only ``tier: next``): its highest is its last
    tiers_only_rise: bool = True
    sla_clocks: tuple[str, ...] = ()
    #: regulatory clock -> its milestones, and those of them that are deadlines (passing one is a breach)
    milestones: dict[str, tuple[str, ...]] = field(default_factory=dict)
    deadlines: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: regulatory clock -> the preset it follows (``fca_disp``), if any
    presets: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, workflows: Iterable[CompiledWorkflow]) -> Meaning:
        """One meaning for several versions of a workflow: the union of theirs (versions keep
        their states' names; a name means the same in each)."""
        found = [_meaning(w) for w in workflows]
        if not found:
            return cls()
        merged = found[0]
        for other in found[1:]:
            merged = merged._union(other)
        return merged

    def _union(self, other: Meaning) -> Meaning:
        tiers = dict(self.tiers)
        for name, rank in other.tiers.items():
            tiers.setdefault(name, rank)
        return Meaning(
            states=self.states | other.states, acknowledged=self.acknowledged | other.acknowledged, first_response=self.first_response | other.first_response,
            final_response=self.final_response | other.final_response, done=self.done | other.done,
            follow_up_state=self.follow_up_state or other.follow_up_state,
            escalations=self.escalations | other.escalations, reopens=self.reopens | other.reopens,
            proposals=self.proposals | other.proposals, assigns=self.assigns | other.assigns,
            validity={**other.validity, **self.validity}, follow_up={**other.follow_up, **self.follow_up},
            tiers=tiers, tiers_only_rise=self.tiers_only_rise and other.tiers_only_rise,
            sla_clocks=_merged(self.sla_clocks, other.sla_clocks),
            milestones={**other.milestones, **self.milestones}, deadlines={**other.deadlines, **self.deadlines},
            presets={**other.presets, **self.presets},
        )

    def validity_actions(self) -> tuple[str, ...]:
        """The actions that record a validity decision, in a fixed order."""
        return tuple(sorted(self.validity))

    def tier_order(self) -> list[str]:
        return sorted(self.tiers, key=lambda t: self.tiers[t])

    def regulatory_clock(self, preset: str) -> str | None:
        """The regulatory clock that follows ``preset`` (``fca_disp``), if the workflow has one."""
        return next((name for name, p in self.presets.items() if p == preset), None)


def _merged(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return first + tuple(n for n in second if n not in first)


def _meaning(workflow: CompiledWorkflow) -> Meaning:
    spec = workflow.spec
    states = set(spec.states)
    clocks = spec.sla.clocks if spec.sla else {}

    def stops(name: str) -> frozenset[str]:
        clock = clocks.get(name)
        if clock is None:
            return frozenset()
        if ANY in clock.stop:
            return frozenset(states - set(clock.start) - set(clock.pause))
        return frozenset(clock.stop)

    every_clock_stops = {s for s in states if clocks and all(s in stops(name) for name in clocks)}
    done = frozenset(workflow.final_states | every_clock_stops)
    final_response = stops(RESOLUTION)
    targets = {a: t.to for a, t in spec.transitions.items()}
    follow_up_state = FOLLOW_UP if FOLLOW_UP in states else None
    regulatory = spec.regulatory.clocks if spec.regulatory else {}
    return Meaning(
        states=frozenset(states), acknowledged=stops(ACKNOWLEDGE), first_response=stops(FIRST_RESPONSE), final_response=final_response,
        done=done, follow_up_state=follow_up_state,
        escalations=frozenset(a for a, t in spec.transitions.items() if t.tier is not None),
        reopens=frozenset(a for a in REOPEN_ACTIONS if a in spec.transitions),
        proposals=frozenset(a for a, to in targets.items() if to in final_response and to not in done),
        assigns=frozenset(a for a, t in spec.transitions.items() if ASSIGNEE in t.fields or ASSIGNEE in t.set_),
        validity={a: str(t.set_[VALIDITY]) for a, t in spec.transitions.items() if VALIDITY in t.set_},
        follow_up={a: _satisfaction(t.set_.get(SATISFACTION)) for a, t in spec.transitions.items()
                   if follow_up_state is not None and follow_up_state in t.from_},
        tiers={t.name: i for i, t in enumerate(spec.tiers)},
        tiers_only_rise=all(t.tier in (None, "next") for t in spec.transitions.values()),
        sla_clocks=tuple(clocks),
        milestones={name: tuple(resolved(c).milestones) for name, c in regulatory.items()},
        deadlines={name: tuple(m for m, ms in resolved(c).milestones.items() if ms.breach)
                   for name, c in regulatory.items()},
        presets={name: c.preset for name, c in regulatory.items() if c.preset},
    )


def _satisfaction(value: object) -> str | None:
    return str(value) if value in ("satisfied", "dissatisfied") else None
