"""Read side of the clocks: 'why is this due then?' in plain words, and what breaches soon.

Everything here returns plain data (dicts and lines of text); the CLI renders it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select

from complaints.errors import InvalidInput
from complaints.repository import IS_PENDING, CaseRepository, complaint_t, timer_t
from escalation.calendar import BusinessCalendar
from escalation.clocks import COMMITMENT, REGULATORY, SLA_BREACH, ClockState, hours
from escalation.policy import SlaPolicy
from escalation.repository import ClockRepository
from escalation.tiers import policy_for
from workflows.engine import WorkflowEngine
from workflows.sla_spec import BusinessDuration, parse_business_duration

DUE_KINDS = (SLA_BREACH, REGULATORY, COMMITMENT)


def _when(at: datetime | None, calendar: BusinessCalendar | None = None) -> str:
    if at is None:
        return "-"
    text = f"{at:%Y-%m-%d %H:%M} UTC"
    if calendar is not None:
        text += f" ({at.astimezone(calendar.tz):%a %d %b %H:%M} {calendar.timezone})"
    return text


def clocks_view(engine: WorkflowEngine, reference: str) -> dict[str, Any]:
    """The case's clocks, ledger and a plain-words explanation of each deadline."""
    now = engine.clock.now()
    with engine.db.read() as conn:  # a read: on SQLite it never waits for a writer
        case = CaseRepository(conn).get(reference)
        repo = ClockRepository(conn)
        clocks = repo.clocks(case.id)  # type: ignore[arg-type]
        ledger = repo.ledger(case.id)  # type: ignore[arg-type]
    policy = policy_for(engine.workflow_of(case))
    out = []
    for state in clocks.values():
        entries = [e for e in ledger if e["clock"] == state.name]
        out.append({
            "name": state.name, "kind": state.kind, "status": _status(state), "run": state.run,
            "due_at": state.due_at, "warn_at": state.warn_at, "target": state.target, "tier": state.tier,
            "severity": state.severity, "calendar": state.calendar, "used": hours(_used(policy, state, now, case.queue)),
            "explanation": _explain(policy, state, entries, now, case.queue),
            "ledger": [{k: e[k] for k in ("at", "entry", "actor", "reason")} for e in entries],
        })
    return {"reference": case.reference, "state": case.state, "tier": case.tier, "queue": case.queue,
            "now": now, "clocks": out}


def _status(state: ClockState) -> str:
    if state.breached_at is not None and state.status != "stopped":
        return f"{state.status}, breached"
    return state.status


def _calendar(policy: SlaPolicy, state: ClockState, queue: str) -> BusinessCalendar | None:
    if state.calendar and state.calendar in policy.calendars:
        return policy.calendars[state.calendar]
    if state.kind == "sla" and state.name in policy.clocks:
        return policy.calendar_for(state.name, queue)
    return None


def _used(policy: SlaPolicy, state: ClockState, now: datetime, queue: str) -> float:
    calendar = _calendar(policy, state, queue)
    if state.kind != "sla" or calendar is None or state.running_since is None or state.status != "running":
        return state.consumed
    return state.consumed + calendar.elapsed(state.running_since, now).total_seconds()


def _explain(policy: SlaPolicy, state: ClockState, entries: list[dict[str, Any]], now: datetime, queue: str) -> list[str]:
    calendar = _calendar(policy, state, queue)
    if state.kind == "regulatory":
        return _explain_regulatory(state, now)
    if state.kind == "commitment":
        lines = [f"A promise to the customer: {state.detail.get('text', '')!r}, due {_when(state.due_at)}."]
        if state.status == "stopped":
            lines.append(f"Kept (recorded {_when(state.stopped_at)}).")
        elif state.breached_at is not None:
            lines.append(f"Overdue since {_when(state.due_at)}; the case was escalated for it.")
        return lines
    spec = policy.clocks.get(state.name)
    label = spec.label if spec and spec.label else state.name
    target = BusinessDuration() if state.target is None else parse_business_duration(state.target)
    lines = [f"{label}."]
    start = next((e for e in reversed(entries) if e["entry"] in ("start", "restart")), None)
    if start is not None:
        lines.append(f"Run {state.run} started {_when(start['at'])}: {start['reason']}.")
    if calendar is not None:
        lines.append(f"Target {target.describe()} ({state.target}) for severity {state.severity} at tier "
                     f"{state.tier}, counted in business time on calendar {calendar.describe()}.")
    paused = [e for e in entries if e["entry"] in ("pause", "resume")]
    if paused:
        lines.append(f"Paused {sum(1 for e in paused if e['entry'] == 'pause')} time(s); paused time does not count "
                     "(the time used before each pause is kept).")
    budget = float(state.detail.get("budget") or 0)
    used = _used(policy, state, now, queue)
    if state.status == "running":
        lines.append(f"Used {hours(used)} of {hours(budget)} business time; due {_when(state.due_at, calendar)}"
                     + (f", warning at {_when(state.warn_at)}" if state.warn_at and not state.warned_at else "") + ".")
    elif state.status == "paused":
        since = state.detail.get("paused_at", "")
        lines.append(f"Paused since {since[:16].replace('T', ' ')} UTC with {hours(used)} used; no deadline until it "
                     "resumes, then the rest of the target (under the tier and calendar of that moment) counts again.")
    else:
        met = "met" if state.breached_at is None else "breached"
        lines.append(f"Stopped {_when(state.stopped_at)} after {hours(used)} of business time: target {met}.")
    if state.breached_at is not None and state.status != "stopped":
        lines.append(f"Breached at {_when(state.breached_at)}.")
    return lines


def _explain_regulatory(state: ClockState, now: datetime) -> list[str]:
    lines = [f"{state.detail.get('label', state.name)}: counted from receipt {_when(state.started_at)}, never paused."]
    for info in state.detail.get("milestones", {}).values():
        deadline = datetime.fromisoformat(info["deadline"])
        where = "passed" if deadline <= now else "ahead"
        lines.append(f"{info['label']}: by {_when(deadline)} ({where}).")
    if state.status == "stopped":
        lines.append(f"Stopped {_when(state.stopped_at)}: the response it asks for was given.")
    return lines


# -- what breaches soon ----------------------------------------------------------------------------
_SHORT = re.compile(r"^\s*(\d+)\s*([hmd])\s*$", re.IGNORECASE)


def parse_within(text: str) -> BusinessDuration:
    """'8h', '90m', '2d' or an ISO business duration such as PT8H."""
    match = _SHORT.match(text)
    if match:
        n, unit = int(match.group(1)), match.group(2).lower()
        return BusinessDuration(days=n) if unit == "d" else BusinessDuration(seconds=n * (3600 if unit == "h" else 60))
    try:
        return parse_business_duration(text)
    except ValueError as exc:
        raise InvalidInput("Invalid --within", [f"{text!r}: use 8h, 90m, 2d or PT8H"]) from exc


def due_within(engine: WorkflowEngine, within: BusinessDuration, limit: int = 5000) -> list[dict[str, Any]]:
    """Deadlines (SLA breaches, regulatory deadlines, promises) due within ``within`` business
    time of now on each case's own calendar, sorted by queue then due time."""
    now = engine.clock.now()
    horizons: dict[tuple[int, str], datetime] = {}
    widest = now
    for workflow in engine.registry:
        for cal in policy_for(workflow).calendars.values():
            horizon = cal.add(now, within)
            horizons[(id(workflow), cal.name)] = horizon
            widest = max(widest, horizon)
    query = (
        select(timer_t.c.kind, timer_t.c.name, timer_t.c.due_at, complaint_t.c.reference, complaint_t.c.queue,
               complaint_t.c.tier, complaint_t.c.severity, complaint_t.c.state, complaint_t.c.workflow_name,
               complaint_t.c.workflow_version)
        .select_from(timer_t.join(complaint_t, complaint_t.c.id == timer_t.c.complaint_id))
        .where(and_(IS_PENDING, timer_t.c.due_at <= widest, timer_t.c.kind.in_(DUE_KINDS)))
        .order_by(timer_t.c.due_at)
        .limit(limit)
    )
    with engine.db.read() as conn:
        rows = conn.execute(query).all()
    out = []
    for r in rows:
        if r.name.endswith(".letter"):
            continue
        workflow = engine.registry.get(r.workflow_name, r.workflow_version)
        policy = policy_for(workflow)
        calendar = policy.calendar_for(r.name, r.queue) if r.name in policy.clocks else (
            policy.calendars.get(policy.sla.calendar) if policy.sla else None)
        until = horizons.get((id(workflow), calendar.name)) if calendar else now
        if until is not None and r.due_at <= until:
            out.append({"queue": r.queue, "reference": r.reference, "clock": r.name, "kind": r.kind,
                        "due_at": r.due_at, "overdue": r.due_at <= now, "tier": r.tier, "severity": r.severity,
                        "state": r.state})
    return sorted(out, key=lambda d: (d["queue"], d["due_at"]))
