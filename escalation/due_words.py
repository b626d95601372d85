"""Deadlines in words a handler reads at a glance: "due in 3 business hours", "overdue by 2
business days", counted on the business calendar of the case's queue. Pure: the console's
queue and ``complaints list`` say them alike."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Any

from escalation.calendar import BusinessCalendar
from escalation.tiers import policy_for
from workflows.compiled import CompiledWorkflow
from workflows.registry import WorkflowRegistry


def calendar_of(workflow: CompiledWorkflow, queue: str) -> BusinessCalendar | None:
    """The calendar the queue's SLA clocks count on (none if the workflow declares no SLA)."""
    policy = policy_for(workflow)
    if policy.sla is None:
        return None
    name = policy.sla.queue_calendars.get(queue) or policy.sla.calendar
    return policy.calendars.get(name)


def _day_length(calendar: BusinessCalendar) -> float:
    """Seconds in the calendar's usual business day (its opening hours averaged over the week)."""
    return _average_span(tuple(calendar.hours.values()))


@lru_cache(maxsize=64)
def _average_span(hours: tuple[tuple[time, time], ...]) -> float:
    """Cached: the queue asks it once per row, of the same few calendars."""
    spans = [(datetime.combine(datetime.min, close) - datetime.combine(datetime.min, open_)).total_seconds()
             for open_, close in hours]
    return sum(spans) / len(spans) if spans else 8 * 3600.0


def _amount(seconds: float, day: float, unit: str) -> str:
    if seconds < 3600:
        n, word = max(1, round(seconds / 60)), "minute"
    elif seconds < 2 * day:
        n, word = round(seconds / 3600), "hour"
    else:
        n, word = round(seconds / day), "day"
    return f"{n} {unit}{word}{'' if n == 1 else 's'}"


def relative(due: datetime | None, now: datetime, calendar: BusinessCalendar | None) -> tuple[str, bool]:
    """(words, overdue) for a deadline: business time on ``calendar``, wall-clock time without one."""
    if due is None:
        return "no deadline", False
    overdue = due <= now
    if calendar is not None:
        span = calendar.elapsed(due, now) if overdue else calendar.elapsed(now, due)
        day, unit = _day_length(calendar), "business "
    else:
        span, day, unit = abs(due - now), 86400.0, ""
    if span <= timedelta(0):  # the whole gap falls outside business hours
        return ("overdue, outside business hours" if overdue else "due at the next opening"), overdue
    words = _amount(span.total_seconds(), day, unit)
    return (f"overdue by {words}" if overdue else f"due in {words}"), overdue


def with_due_words(rows: Iterable[dict[str, Any]], registry: WorkflowRegistry, now: datetime) -> list[dict[str, Any]]:
    """Work-list rows (``workflow_name``, ``workflow_version``, ``queue``, ``next_due``) with
    ``due_words`` and ``overdue`` added, each on its queue's calendar (looked up once each)."""
    calendars: dict[tuple[str, int, str], BusinessCalendar | None] = {}
    shown = []
    for r in rows:
        key = (r["workflow_name"], r["workflow_version"], r["queue"])
        if key not in calendars:
            calendars[key] = calendar_of(registry.get(key[0], key[1]), key[2])
        words, overdue = relative(r["next_due"], now, calendars[key])
        shown.append(r | {"due_words": words, "overdue": overdue})
    return shown
