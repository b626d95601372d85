"""Evaluate structured guard conditions against a case; no ``eval`` anywhere."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from workflows.definition import CLOCK_OPERANDS, Condition

#: Where a guard's context holds the step's time: ``context[CLOCK]["now"]``.
CLOCK = "clock"

_MISSING = object()


def resolve(path: str, context: Mapping[str, Mapping[str, Any]]) -> Any:
    """Value at ``data.assessment.outcome``-style paths, or a sentinel when absent."""
    root, *parts = path.split(".")
    value: Any = context.get(root, {})
    for part in parts:
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _compare(op: str, value: Any, operand: Any) -> bool:
    if op == "exists":
        present = value is not _MISSING and value is not None and value != ""
        return present == bool(operand)
    if value is _MISSING:
        return op in ("not_equals", "not_in")
    match op:
        case "equals":
            return bool(value == operand)
        case "not_equals":
            return bool(value != operand)
        case "in":
            return value in operand
        case "not_in":
            return value not in operand
    try:
        match op:
            case "gt":
                return bool(value > operand)
            case "gte":
                return bool(value >= operand)
            case "lt":
                return bool(value < operand)
            case "lte":
                return bool(value <= operand)
    except TypeError:
        return False
    raise AssertionError(op)  # pragma: no cover


def holds(cond: Condition, context: Mapping[str, Mapping[str, Any]]) -> bool:
    if cond.all is not None:
        return all(holds(c, context) for c in cond.all)
    if cond.any is not None:
        return any(holds(c, context) for c in cond.any)
    if cond.not_ is not None:
        return not holds(cond.not_, context)
    assert cond.field is not None and cond.operator is not None
    value, operand = resolve(cond.field, context), cond.operand
    if operand in CLOCK_OPERANDS:
        value, operand = _against_clock(operand, value, context[CLOCK]["now"])
    return _compare(cond.operator, value, operand)


def _against_clock(operand: str, value: Any, now: datetime) -> tuple[Any, Any]:
    """``value`` and the step's day (``$today``: the value's UTC date) or time (``$now``), as
    values that compare; an unreadable value fails the comparison."""
    instant = as_instant(value)
    if instant is None:
        return value, None
    instant = instant.astimezone(UTC)
    return (instant.date(), now.date()) if operand == "$today" else (instant, now)


def as_instant(value: Any) -> datetime | None:
    """A date or time, or its ISO text as a payload or a case's data holds it, as an aware
    instant (a time without a zone is UTC, a date is the start of its day); ``None`` if it is
    none of these."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC)
    text = str(value)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if len(text) == 10:  # a bare date: the start of that day
        return datetime.combine(parsed.date(), time(), UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def describe(cond: Condition) -> str:
    """The default explanation of a failed condition, when the workflow gives no message."""
    if cond.message:
        return cond.message
    if cond.all is not None:
        return "all of: " + "; ".join(describe(c) for c in cond.all)
    if cond.any is not None:
        return "one of: " + " or ".join(describe(c) for c in cond.any)
    if cond.not_ is not None:
        return f"not ({describe(cond.not_)})"
    return f"{cond.field} must be {cond.operator.replace('_', ' ')} {cond.operand!r}"  # type: ignore[union-attr]


def failures(conditions: list[Condition], context: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [describe(c) for c in conditions if not holds(c, context)]
