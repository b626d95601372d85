"""The bounds every input and every definition is held to, in one place.

Whatever comes from outside (a complaint taken in, an import row, an action's payload, a
moves file, a workflow or taxonomy file) is refused beyond these bounds, with the field, line
or row at fault, before anything is written: so no value can overflow a date, a timer or a
database column later, and no file can take unbounded time or memory to read.

Dates and times (``received_at``, payload ``date``/``datetime`` fields, calendar closures,
dates a guard compares with): from ``MIN_DATE`` (1900-01-01) to ``MAX_DATE`` (2200-12-31).

Durations in a definition (a timer's ``after``, ``timeline`` entries, a milestone's
``letter_lead``, ``escalation.repeat.within``, SLA targets, a milestone's days): longer than
zero and at most ``MAX_DURATION``, ten years (P10Y, 3,653 days with the leap days); a
business duration counts its days and business time as if every day were open.
``MAX_MONTHS`` (120) bounds a count of months (``refer_within_months``).

Numbers (payload ``int``/``float`` fields, values a transition sets, guard operands): finite
and within ``MAX_NUMBER`` (2**53 - 1, the largest integer every JSON reader keeps exactly)
either side of zero. A workflow's ``version`` is at most ``MAX_WORKFLOW_VERSION``.

Text of a complaint or a payload never holds a NUL character (``check_text``: no database
stores one). Text of a complaint, in characters: ``external_id`` 100, ``product``, ``sub_product`` and
``company`` 200, ``category`` and ``sub_category`` 300, ``region`` 20, ``outcome`` 1,000, ``description``
100,000; a customer's ``name`` 200, ``email`` 320, ``phone`` 31 (see ``*_MAX`` below).
Payload fields an action declares: ``str`` 1,000 characters (``PAYLOAD_STR_MAX``), ``text``
100,000 (``PAYLOAD_TEXT_MAX``), ``list`` at most 100 items (``PAYLOAD_LIST_MAX``) of at most
1,000 characters each.

A note or comment on a case (``complaints.notes``) at most ``NOTE_MAX`` (20,000) characters;
a search text at most 500 (``complaints.search.QUERY_MAX``).

Files: a YAML file (workflow, taxonomy, import mapping) at most ``YAML_MAX_BYTES`` (1 MB);
with its aliases written out, at most ``YAML_MAX_WEIGHT`` (one million: each scalar weighs
its length, at least 1, each mapping and list 1 more than what it holds), so a "billion
laughs" of nested aliases is refused before it is expanded; nested at most
``YAML_MAX_DEPTH`` (64) deep. A line of a moves file at most ``JSON_LINE_MAX`` characters
(one million), nested at most ``JSON_MAX_DEPTH`` (32) deep.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, Field, ValidatorFunctionWrapHandler, WrapValidator

_T = TypeVar("_T")

MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2200, 12, 31)
MAX_DURATION = timedelta(days=3653)
MAX_MONTHS = 120
MAX_NUMBER = 2**53 - 1
MAX_WORKFLOW_VERSION = 1_000_000

EXTERNAL_ID_MAX = 100
PRODUCT_MAX = 200
COMPANY_MAX = 200
CATEGORY_MAX = 300
REGION_MAX = 20
DESCRIPTION_MAX = 100_000
OUTCOME_MAX = 1_000
NAME_MAX = 200
EMAIL_MAX = 320
PHONE_MAX = 31

PAYLOAD_STR_MAX = 1_000
PAYLOAD_TEXT_MAX = 100_000
PAYLOAD_LIST_MAX = 100
NOTE_MAX = 20_000

YAML_MAX_BYTES = 1_000_000
YAML_MAX_WEIGHT = 1_000_000
YAML_MAX_DEPTH = 64
JSON_LINE_MAX = 1_000_000
JSON_MAX_DEPTH = 32


def check_date(value: date) -> date:
    """``value`` (a date or a time) if its day lies from MIN_DATE to MAX_DATE; ValueError else."""
    day = value.date() if isinstance(value, datetime) else value
    if not MIN_DATE <= day <= MAX_DATE:
        raise ValueError(f"must be a date from {MIN_DATE} to {MAX_DATE}; got {value.isoformat()}")
    return value


def check_duration(value: timedelta, given: object = None) -> timedelta:
    """``value`` if longer than zero and at most ten years; ValueError naming the bounds and
    the duration as ``given`` (as written, where known) else."""
    shown = given if isinstance(given, str) else iso_duration(value)
    if value <= timedelta(0):
        raise ValueError(f"must be a duration longer than zero; got {shown}")
    if value > MAX_DURATION:
        raise ValueError(f"must be at most ten years (P10Y, {MAX_DURATION.days} days); got {shown}")
    return value


def _duration(value: Any, handler: ValidatorFunctionWrapHandler) -> timedelta:
    parsed: timedelta = handler(value)
    return check_duration(parsed, value)


def check_text(value: _T) -> _T:
    """``value`` unless it is text holding a NUL character, which PostgreSQL stores neither in a
    text column nor in JSON (and SQLite cuts text short at); ValueError naming where it is."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError(f"holds a NUL character (\\x00) at position {value.index(chr(0)) + 1}, which can't be "
                         "stored; remove it")
    return value


def check_number(value: Any) -> Any:
    """``value`` unless it is a number that is not finite or lies beyond MAX_NUMBER (bools and
    anything else pass: this bounds numbers only)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    if value != value or not -MAX_NUMBER <= value <= MAX_NUMBER:  # NaN is unequal to itself
        raise ValueError(f"must be a finite number from -{MAX_NUMBER} to {MAX_NUMBER}; got {value}")
    return value


def check_value(value: Any) -> Any:
    """``value`` if every date, number and text in it (it may be a list or mapping of them) is
    within bounds: a value a definition writes as it likes (a guard's operand, a value ``set``)."""
    if isinstance(value, date):
        return check_date(value)
    if isinstance(value, str):
        return check_text(value)
    if isinstance(value, dict):
        for item in value.values():
            check_value(item)
    elif isinstance(value, list | tuple):
        for item in value:
            check_value(item)
    return check_number(value)


def iso_duration(value: timedelta) -> str:
    """``P36500D``, ``P1DT4H30M``, ``-P1D``: a duration as ISO 8601 writes it, for messages."""
    sign, value = ("-", -value) if value < timedelta(0) else ("", value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    return f"{sign}P{f'{value.days}D' if value.days or not clock else ''}{f'T{clock}' if clock else ''}"


#: A date or time within MIN_DATE..MAX_DATE.
BoundedDate = Annotated[date, AfterValidator(check_date)]
BoundedDatetime = Annotated[datetime, AfterValidator(check_date)]
#: A duration longer than zero and at most MAX_DURATION.
Duration = Annotated[timedelta, WrapValidator(_duration)]
#: Any value, its dates and numbers within bounds.
BoundedValue = Annotated[Any, AfterValidator(check_value)]
#: A count of days (a milestone's calendar or business days).
DayCount = Annotated[int, Field(ge=1, le=MAX_DURATION.days)]
BoundedInt = Annotated[int, Field(ge=-MAX_NUMBER, le=MAX_NUMBER)]
BoundedFloat = Annotated[float, Field(ge=-MAX_NUMBER, le=MAX_NUMBER, allow_inf_nan=False)]

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_JSON_BRACKETS = re.compile(r"[^\[\]{}]+")


def json_depth(text: str) -> int:
    """How deep the arrays and objects of JSON ``text`` nest, counted without parsing it (the
    json module parses by recursion, so too deep a document fails with RecursionError).
    Brackets inside strings don't count; text that is no JSON gets some count, and the
    parser says what is wrong with it."""
    depth = deepest = 0
    for bracket in _JSON_BRACKETS.sub("", _JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest
