"""Guards compare a field with the step's time: ``$today`` (its date) and ``$now`` (its instant).

A payload holds dates and times as ISO text (it is stored as JSON), the case's data may hold
either: both compare as dates or instants, never as text."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from workflows.definition import Condition
from workflows.guards import CLOCK, holds

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def check(op: str, operand: str, value: Any) -> bool:
    payload = {} if value is None else {"when": value}
    context = {"complaint": {}, "data": {}, "payload": payload, CLOCK: {"now": NOW}}
    return holds(Condition.model_validate({"field": "payload.when", op: operand}), context)


@pytest.mark.parametrize(("op", "value", "expected"), [
    ("gte", "2026-12-01", True),
    ("gte", "2026-11-30", False),
    ("gt", "2026-12-01", False),
    ("lt", "2026-11-30", True),
    ("gte", "2026-12-01T00:00:00Z", True),  # a time compares by its date
    ("gte", "2026-12-01T08:00:00+10:00", False),  # ... in UTC: 2026-11-30 22:00
    ("gte", date(2026, 12, 1), True),
    ("gte", datetime(2026, 11, 30, 23, 0, tzinfo=UTC), False),
    ("gte", "2026-12-1", False),  # unreadable: the guard fails, it never passes by accident
    ("gte", None, False),  # absent
])
def test_today_is_the_date_of_the_step(op: str, value: Any, expected: bool) -> None:
    assert check(op, "$today", value) is expected


@pytest.mark.parametrize(("op", "value", "expected"), [
    ("gt", "2026-12-01T09:31:00+00:00", True),
    ("gt", "2026-12-01T09:29:00Z", False),
    ("gte", "2026-12-01T10:30:00+01:00", True),  # the same instant in another zone
    ("gte", "2026-12-01 09:31:00", True),  # a time without a zone is UTC
    ("lt", "2026-12-01", True),  # a date is its first instant, UTC
    ("lt", "soon", False),
])
def test_now_is_the_instant_of_the_step(op: str, value: Any, expected: bool) -> None:
    assert check(op, "$now", value) is expected
