"""The ``sla``, ``regulatory`` and ``escalation`` sections of a workflow file, as pydantic models.

They belong to the definition language (checked when the file loads, like states and
actions); the escalation package interprets them. SLA targets are *business* durations:
``P5D`` is five business days, ``PT8H`` eight business hours, so they are kept as days and
seconds rather than one ``timedelta`` (where ``P1D`` would silently mean 24 hours). Durations,
day counts and dates are bounded as ``complaints.limits`` says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from complaints.limits import MAX_DURATION, MAX_MONTHS, BoundedDate, DayCount, Duration

NAME = r"^[a-z][a-z0-9_]*$"
ANY = "*"
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

_DURATION = re.compile(r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?)?$")


@dataclass(frozen=True, order=True)
class BusinessDuration:
    """Business days plus business time (hours/minutes) counted on a calendar."""

    days: int = 0
    seconds: int = 0

    def __str__(self) -> str:
        hours, rest = divmod(self.seconds, 3600)
        minutes = rest // 60
        clock = f"T{f'{hours}H' if hours else ''}{f'{minutes}M' if minutes else ''}" if self.seconds else ""
        return f"P{f'{self.days}D' if self.days else ''}{clock}"

    def describe(self) -> str:
        """'2 business days 4 business hours' for explanations."""
        parts = []
        if self.days:
            parts.append(f"{self.days} business day{'s' if self.days != 1 else ''}")
        hours, minutes = divmod(self.seconds // 60, 60)
        if hours:
            parts.append(f"{hours} business hour{'s' if hours != 1 else ''}")
        if minutes:
            parts.append(f"{minutes} business minute{'s' if minutes != 1 else ''}")
        return " ".join(parts) or "no time"


def parse_business_duration(value: Any) -> BusinessDuration:
    if isinstance(value, BusinessDuration):
        return value
    match = _DURATION.match(str(value).strip().upper()) if isinstance(value, str) else None
    if not match or str(value).strip().upper() in ("P", "PT"):
        raise ValueError(
            f"{value!r} is not a business duration; write P5D (5 business days), PT8H "
            "(8 business hours) or P1DT4H (weeks, months and seconds are not allowed)"
        )
    digits = [match.group(g) or "0" for g in "dhm"]
    if any(len(d) > 9 for d in digits):  # beyond any bound, and int() of thousands of digits is refused
        raise ValueError(f"{value!r} must be at most ten years (P{MAX_DURATION.days}D)")
    days, hours, minutes = (int(d) for d in digits)
    if not (days or hours or minutes):
        raise ValueError(f"{value!r} must be longer than zero")
    found = BusinessDuration(days, hours * 3600 + minutes * 60)
    if timedelta(days=found.days, seconds=found.seconds) > MAX_DURATION:
        raise ValueError(f"{value!r} must be at most ten years (P{MAX_DURATION.days}D, counting every day and hour)")
    return found


BusinessDurationT = Annotated[
    BusinessDuration, BeforeValidator(parse_business_duration), PlainSerializer(str, return_type=str)
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Names = Annotated[list[str], BeforeValidator(_one_or_many)]


def _zone_exists(value: str) -> str:
    """``value`` if the zone database knows it. ZoneInfo looks a name up as a file: a name too
    long for one (``OSError``) or naming a folder of zones (``Europe``: ``IsADirectoryError``)
    is an unknown zone too, as is one it refuses as a path (``ValueError``)."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        shown = value if len(value) <= 60 else value[:60] + "..."
        raise ValueError(f"unknown time zone {shown!r}; use an IANA name such as Europe/London") from exc
    return value


#: An IANA time zone name, refused at load when this machine's zone database does not know it.
TimeZoneName = Annotated[str, AfterValidator(_zone_exists)]


class CalendarSpec(_Strict):
    """Working hours per weekday in a time zone, public holidays of a country, extra closures."""

    timezone: TimeZoneName
    country: str | None = Field(None, description="ISO 3166 code whose public holidays close the office")
    subdivision: str | None = Field(None, description="e.g. ENG for England within GB")
    hours: dict[Weekday, str] = Field(
        default_factory=lambda: dict.fromkeys(WEEKDAYS[:5], "09:00-17:00"),
        description="'09:00-17:30' per open weekday; days not listed are closed",
    )
    closures: list[BoundedDate] = Field(default_factory=list, description="extra closed days (office events, strikes)")

    @field_validator("hours")
    @classmethod
    def _hours_parse(cls, value: dict[str, str]) -> dict[str, str]:
        if not value:
            raise ValueError("a calendar needs at least one open weekday")
        for day, span in value.items():
            parse_hours(span, day)
        return value

    def opening_hours(self) -> dict[int, tuple[time, time]]:
        """Weekday number (Monday 0) -> (open, close)."""
        return {WEEKDAYS.index(day): parse_hours(span, day) for day, span in self.hours.items()}


def parse_hours(span: str, day: str = "") -> tuple[time, time]:
    match = re.match(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$", span)
    if not match:
        raise ValueError(f"hours for {day!r} must look like '09:00-17:30', got {span!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h2 == 24 and m2 == 0:
        h2, m2 = 23, 59
    try:
        start, end = time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ValueError(f"hours for {day!r}: {exc} in {span!r}") from exc
    if start >= end:
        raise ValueError(f"hours for {day!r} must open before they close, got {span!r}")
    return start, end


Fraction = Annotated[float, Field(gt=0, lt=1)]


class SlaClockSpec(_Strict):
    """One SLA clock: which states start, pause and stop it, and its target per tier and severity.

    ``targets`` maps a tier (or ``*``) to severities (or ``*``) to a business duration; the most
    specific entry wins. ``stop: ['*']`` means every state that neither starts nor pauses it.
    """

    label: str = ""
    description: str = ""
    start: Names = Field(min_length=1)
    pause: Names = Field(default_factory=list)
    stop: Names = Field(min_length=1)
    restart_on: Names = Field(default_factory=list, description="actions that start a fresh run (an update sent)")
    targets: dict[str, dict[str, BusinessDurationT]] = Field(min_length=1)
    warning: Fraction | None = Field(None, description="share of the target after which it warns (default: sla.warning)")
    calendar: str | None = Field(None, description="calendar name; default: the queue's, else sla.calendar")

    @model_validator(mode="after")
    def _no_overlap(self) -> SlaClockSpec:
        for a, b in (("start", "pause"), ("start", "stop"), ("pause", "stop")):
            both = set(getattr(self, a)) & set(getattr(self, b)) - {ANY}
            if both:
                raise ValueError(f"state(s) {', '.join(sorted(both))} can't be in both '{a}' and '{b}'")
        return self


class SlaSpec(_Strict):
    calendar: str = Field(description="the default calendar")
    queue_calendars: dict[str, str] = Field(default_factory=dict, description="queue -> calendar")
    warning: Fraction = 0.75
    calendars: dict[str, CalendarSpec] = Field(min_length=1)
    clocks: dict[str, SlaClockSpec] = Field(min_length=1)


class MilestoneSpec(_Strict):
    """A regulatory deadline counted from receipt, in calendar or business days."""

    label: str
    calendar_days: DayCount | None = None
    business_days: DayCount | None = None
    close_of_business: bool = Field(False, description="due at close of that business day")
    letter: str | None = Field(None, description="template queued as the deadline approaches")
    letter_lead: Duration = Field(timedelta(days=2), description="how long before the deadline")
    breach: bool = Field(True, description="false: passing it ends an option (summary resolution), no breach")

    @model_validator(mode="after")
    def _one_count(self) -> MilestoneSpec:
        if (self.calendar_days is None) == (self.business_days is None):
            raise ValueError("a milestone needs exactly one of 'calendar_days' or 'business_days'")
        if self.close_of_business and self.business_days is None:
            raise ValueError("'close_of_business' applies to 'business_days' only")
        return self


class RegulatoryPreset(_Strict):
    label: str
    milestones: dict[str, MilestoneSpec]
    refer_within_months: int | None = Field(None, ge=1, le=MAX_MONTHS,
                                            description="the customer's window to refer to the ombudsman")
    refer_to: str | None = Field(None, description="the body a customer may refer the complaint to, as letters name it")


class RegulatoryClockSpec(_Strict):
    """A clock the regulator sets: never paused; starts at receipt; stops in ``stop`` states."""

    preset: str | None = None
    label: str = ""
    calendar: str | None = Field(None, description="calendar for business days; default sla.calendar")
    stop: Names = Field(min_length=1)
    milestones: dict[str, MilestoneSpec] = Field(default_factory=dict, description="added to / replacing the preset's")
    letters: dict[str, str] = Field(default_factory=dict, description="milestone -> template, replacing the preset's")
    refer_within_months: int | None = Field(None, ge=1, le=MAX_MONTHS)


class RegulatorySpec(_Strict):
    clocks: dict[str, RegulatoryClockSpec] = Field(min_length=1)


class RepeatSpec(_Strict):
    """A complaint from the same customer about the same product within ``within`` is a repeat."""

    within: Duration = Field(description="e.g. P90D")
    reason: str = "repeat complaint"


class EscalationSpec(_Strict):
    """When a case moves up a tier; every escalation is the workflow's ``action`` (tier: next)."""

    action: str = "escalate"
    on_warning: Names = Field(default_factory=list, description="SLA clocks whose warning escalates")
    on_breach: Names = Field(default_factory=list, description="SLA clocks whose breach escalates")
    after_actions: Names = Field(default_factory=list, description="actions followed by an escalation (reject)")
    severity: dict[str, str] = Field(default_factory=dict, description="severity -> tier a new case starts at")
    repeat: RepeatSpec | None = None
    promise_roles: Names = Field(
        default_factory=lambda: ["handler", "supervisor", "specialist", "executive"],
        description="roles that may record a promise to the customer (a commitment clock)",
    )
    overdue_commitment: bool = Field(True, description="an overdue promise escalates")
