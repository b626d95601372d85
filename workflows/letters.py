"""What a letter to a customer may say, and how its values are written. Pure: no I/O.

A workflow with a ``letters`` section (``workflows.letter_spec``) writes only what its
customers should read: the complaint fields and built-ins below, the referral right of its
regulatory preset, and the action fields it declares ``customer_facing``; the queue, the
tier's name, the actor, internal codes and reasons stay inside (``workflows.checks`` refuses
a template that names them). Its dates are written in the customer's language and time
zone (babel's CLDR data), never as UTC stamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_datetime_format
from dateutil.relativedelta import relativedelta

from workflows.definition import WorkflowSpec
from workflows.regulatory_presets import PRESETS, resolved

#: Complaint columns a customer may read in a letter (the rest, such as the queue, the tier,
#: the severity or the assignee, describe how the team works the case).
CUSTOMER_COMPLAINT_FIELDS = frozenset({
    "reference", "channel", "product", "sub_product", "company", "category", "sub_category", "received_at",
})
#: Built-in placeholders a customer may read (``$timeline_<name>`` too).
CUSTOMER_EXTRAS = frozenset({"customer_name", "received_date", "today", "tier_label"})
#: What the regulatory clocks' letters add, and what of it a customer may read (the
#: milestone's label is written for the team).
REGULATORY_LETTER_FIELDS = frozenset({"deadline", "milestone", "regulation", "refer_by"})
CUSTOMER_LETTER_FIELDS = frozenset({"deadline", "regulation", "refer_by"})
#: The right to refer the complaint, from the workflow's regulatory preset: every letter
#: may name it (``$refer_by`` counts the months from the letter's date).
REFERRAL_FIELDS = frozenset({"referral_body", "refer_within_months", "refer_by"})
#: Instants a letter names by their day in the customer's time zone (a deadline, the end of
#: the time to refer), never by a time of day in UTC.
DAY_FIELDS = frozenset({"deadline", "refer_by"})


@dataclass(frozen=True)
class Referral:
    """Where a customer may take a complaint the firm did not settle, and for how long."""

    body: str
    months: int | None

    def refer_by(self, at: datetime) -> datetime | None:
        return at + relativedelta(months=self.months) if self.months else None


def referral_of(spec: WorkflowSpec) -> Referral | None:
    """The referral right of the workflow's first regulatory clock that names a body."""
    for clock in (spec.regulatory.clocks.values() if spec.regulatory else ()):
        if clock.preset is not None and clock.preset not in PRESETS:
            continue
        preset = resolved(clock)
        if preset.refer_to:
            return Referral(preset.refer_to, preset.refer_within_months)
    return None


def referral_fields(spec: WorkflowSpec) -> frozenset[str]:
    """The referral placeholders this workflow can fill."""
    found = referral_of(spec)
    if found is None:
        return frozenset()
    return REFERRAL_FIELDS if found.months else REFERRAL_FIELDS - {"refer_within_months", "refer_by"}


@dataclass(frozen=True)
class LetterStyle:
    """How one language's letters write dates (its locale, its customers' time zone, a CLDR
    date format) and address a customer whose name is not known."""

    locale: str
    timezone: str
    date_format: str = "long"
    unnamed: str = "customer"

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def text(self, value: Any) -> str | None:
        """``value`` written for the customer if it is a date or a time, else None."""
        if isinstance(value, datetime):
            local = value.astimezone(self.zone) if value.tzinfo else value
            return _date_time(local.replace(tzinfo=None), self.locale, self.date_format)
        if isinstance(value, date):
            return _date(value, self.locale, self.date_format)
        return None

    def day(self, value: datetime) -> str:
        """The customer's calendar day of an instant (a deadline is kept on that day)."""
        return _date((value.astimezone(self.zone) if value.tzinfo else value).date(), self.locale, self.date_format)


def style_of(spec: WorkflowSpec, language: str) -> LetterStyle | None:
    """The language's style, if the workflow declares its letters (else ISO dates, as ever)."""
    if spec.letters is None:
        return None
    letters = spec.letters
    declared = letters.languages.get(language) or letters.languages.get(spec.default_language)
    if declared is None:
        declared = next(iter(letters.languages.values()))
    return LetterStyle(letters.locale_of(language), declared.timezone, declared.date_format,
                       letters.unnamed.get(language) or letters.unnamed.get(spec.default_language) or "customer")


def parse_instant(value: Any, kind: str) -> Any:
    """A stored payload value of a ``date``/``datetime`` field (ISO text in JSON) as a value."""
    if not isinstance(value, str):
        return value
    try:
        return date.fromisoformat(value) if kind == "date" else datetime.fromisoformat(value)
    except ValueError:
        return value


@lru_cache(maxsize=4096)
def _date(value: date, locale: str, form: str) -> str:
    """Memoised: a batch of acknowledgements writes the same few dates for every complaint."""
    return format_date(value, form, locale=locale)


@lru_cache(maxsize=4096)
def _date_time(value: datetime, locale: str, form: str) -> str:
    pattern = get_datetime_format("medium", locale=locale)
    return str(pattern).replace("{1}", format_date(value, form, locale=locale)).replace(
        "{0}", format_time(value, "short", locale=locale))
