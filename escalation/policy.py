"""A workflow's SLA, regulatory and escalation sections compiled for fast lookups. Pure.

Built once per workflow version. ``affected(from, to)`` answers from a precomputed set
whether a state change can touch any clock, so the step observer skips the database when
nothing changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Literal

from escalation.calendar import BusinessCalendar
from workflows.compiled import CompiledWorkflow
from workflows.regulatory_presets import resolved
from workflows.sla_spec import ANY, BusinessDuration, EscalationSpec, RegulatoryPreset, SlaClockSpec

Role = Literal["start", "pause", "stop", "other"]


@dataclass(frozen=True)
class Milestone:
    clock: str
    name: str
    label: str
    deadline: datetime
    letter: str | None
    letter_at: datetime | None
    breach: bool = True


class SlaPolicy:
    """Lookups over one workflow's clock declarations."""

    def __init__(self, workflow: CompiledWorkflow):
        self.workflow = workflow
        spec = workflow.spec
        self.sla = spec.sla
        self.escalation: EscalationSpec | None = spec.escalation
        self.clocks: dict[str, SlaClockSpec] = dict(self.sla.clocks) if self.sla else {}
        self.calendars = {n: BusinessCalendar.from_spec(n, c) for n, c in (self.sla.calendars.items() if self.sla else [])}
        self.regulatory: dict[str, RegulatoryPreset] = (
            {n: resolved(c) for n, c in spec.regulatory.clocks.items()} if spec.regulatory else {}
        )
        self.regulatory_stop = {n: set(c.stop) for n, c in (spec.regulatory.clocks.items() if spec.regulatory else [])}
        self._regulatory_calendar = {
            n: c.calendar or (self.sla.calendar if self.sla else None)
            for n, c in (spec.regulatory.clocks.items() if spec.regulatory else [])
        }

    @property
    def active(self) -> bool:
        return bool(self.clocks or self.regulatory or self.escalation)

    # -- states --------------------------------------------------------------------------------
    def role(self, clock: str, state: str) -> Role:
        spec = self.clocks[clock]
        if state in spec.start:
            return "start"
        if state in spec.pause:
            return "pause"
        if state in spec.stop or ANY in spec.stop:
            return "stop"
        return "other"

    @cached_property
    def _touching(self) -> dict[str, frozenset[str]]:
        """state -> clocks that entering it can start, pause or stop. A clock with ``stop: '*'``
        can only run while the case sits in one of its start or pause states, so only leaving
        those (see ``_holding``) can stop it: other moves skip the database."""
        out: dict[str, set[str]] = {s: set() for s in self.workflow.spec.states}
        for name, spec in self.clocks.items():
            for state in out:
                role = self.role(name, state)
                if role != "other" and not (role == "stop" and ANY in spec.stop):
                    out[state].add(name)
        for name, stops in self.regulatory_stop.items():
            for state in stops:
                out[state].add(name)
        return {s: frozenset(c) for s, c in out.items()}

    @cached_property
    def _holding(self) -> dict[str, frozenset[str]]:
        """state -> clocks that leaving it can resume (paused there) or stop (``stop: '*'``)."""
        def holds(clock: str, state: str) -> bool:
            spec = self.clocks[clock]
            return state in spec.pause or (ANY in spec.stop and state in spec.start)

        return {s: frozenset(c for c in self.clocks if holds(c, s)) for s in self.workflow.spec.states}

    def affected(self, from_state: str | None, to_state: str) -> frozenset[str]:
        """Clocks a move from ``from_state`` into ``to_state`` may change (resume included)."""
        touched = self._touching.get(to_state, frozenset())
        if from_state is not None:
            touched = touched | self._holding.get(from_state, frozenset())
        return touched

    def restarted_by(self, action: str) -> list[str]:
        return [c for c, spec in self.clocks.items() if action in spec.restart_on]

    # -- targets -------------------------------------------------------------------------------
    def target(self, clock: str, tier: str, severity: str) -> BusinessDuration:
        targets = self.clocks[clock].targets
        row = {**targets.get(ANY, {}), **targets.get(tier, {})}
        return row.get(severity) or row[ANY]

    def warning(self, clock: str) -> float:
        spec = self.clocks[clock]
        return spec.warning if spec.warning is not None else (self.sla.warning if self.sla else 0.75)

    def calendar_for(self, clock: str, queue: str) -> BusinessCalendar:
        assert self.sla is not None
        name = self.clocks[clock].calendar or self.sla.queue_calendars.get(queue) or self.sla.calendar
        return self.calendars[name]

    def escalates_on(self, clock: str, what: Literal["warning", "breach"]) -> bool:
        if self.escalation is None:
            return False
        return clock in (self.escalation.on_warning if what == "warning" else self.escalation.on_breach)

    # -- regulatory ----------------------------------------------------------------------------
    @lru_cache(maxsize=8192)  # noqa: B019 - one policy per loaded workflow (policy_for), kept for the process
    def milestones(self, clock: str, received_at: datetime) -> tuple[Milestone, ...]:
        """The clock's milestones for a complaint received at ``received_at``, soonest first.

        Memoised for the policy's life (bounded): an import's complaints share a few hundred
        receipt dates, and counting business days across the calendar for each was a few
        percent of intake's time."""
        preset = self.regulatory[clock]
        calendar_name = self._regulatory_calendar[clock]
        calendar = self.calendars.get(calendar_name) if calendar_name else None
        out = []
        for name, ms in preset.milestones.items():
            if ms.business_days is not None:
                assert calendar is not None, "checked at load: business days need a calendar"
                deadline = (
                    calendar.business_days_after(received_at, ms.business_days) if ms.close_of_business
                    else calendar.add_days(received_at, ms.business_days)
                )
            else:
                deadline = received_at + timedelta(days=ms.calendar_days or 0)
            letter_at = deadline - ms.letter_lead if ms.letter else None
            out.append(Milestone(clock, name, ms.label, deadline, ms.letter, letter_at, ms.breach))
        return tuple(sorted(out, key=lambda m: m.deadline))


def add_months(at: datetime, months: int) -> datetime:
    """Same day ``months`` later (clamped to the month's last day): 'within six months'."""
    month = at.month - 1 + months
    year, month = at.year + month // 12, month % 12 + 1
    for day in range(at.day, 27, -1):
        try:
            return at.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return at.replace(year=year, month=month, day=min(at.day, 28))


def as_aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
