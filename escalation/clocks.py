"""What happens to a clock when it starts, pauses, resumes, is retargeted or stops. Pure.

A clock keeps the business time it has used (``consumed``) and, while it runs, the instant
it last started counting (``running_since``). A pause folds the running time into
``consumed``; a resume computes the deadline from the *current* policy and calendar as
``target budget - consumed`` from now. So paused time never counts, and the time used
before a pause is never lost, even when the tier, the policy or the calendar changed
meanwhile. Each operation returns the new state, ledger entries and timers to write.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from escalation.calendar import BusinessCalendar
from escalation.policy import SlaPolicy

SLA_WARNING, SLA_BREACH, REGULATORY, COMMITMENT = "sla_warning", "sla_breach", "regulatory", "commitment"
TIMER_KINDS = (SLA_WARNING, SLA_BREACH, REGULATORY, COMMITMENT)


@dataclass
class ClockState:
    name: str
    kind: str  # sla | regulatory | commitment
    status: str  # running | paused | stopped
    started_at: datetime
    run: int = 1
    running_since: datetime | None = None
    consumed: float = 0.0
    target: str | None = None
    calendar: str | None = None
    tier: str | None = None
    severity: str | None = None
    due_at: datetime | None = None
    warn_at: datetime | None = None
    warned_at: datetime | None = None
    breached_at: datetime | None = None
    stopped_at: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


def replace(state: ClockState, **changes: Any) -> ClockState:
    """``dataclasses.replace`` for a clock, without its generic field walk: a replay of a
    year's history makes hundreds of thousands of them, and the walk was a fifth of it."""
    new = object.__new__(ClockState)
    new.__dict__ = {**state.__dict__, **changes}
    return new


@dataclass(frozen=True)
class Entry:
    clock: str
    entry: str
    at: datetime
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Due:
    kind: str
    name: str
    due_at: datetime
    payload: dict[str, Any]


@dataclass
class Outcome:
    state: ClockState
    entries: list[Entry] = field(default_factory=list)
    timers: list[Due] = field(default_factory=list)
    cancel: bool = False  # cancel the clock's pending timers before adding ``timers``


@dataclass(frozen=True)
class Context:
    """The case as the clock sees it at ``at``."""

    tier: str
    severity: str
    queue: str
    at: datetime


def hours(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


class SlaClocks:
    """Clock operations under one policy.

    Calendar arithmetic is memoised for the life of the instance (one batch of steps): an
    intake batch starts the same clocks at the same instant for most of its complaints, and
    counting business hours across a calendar is most of what starting a clock costs.
    """

    def __init__(self, policy: SlaPolicy, explain: bool = True):
        """``explain=False`` leaves the due times out of the ledger entries' details, and
        the warnings that escalate nothing out of the clocks, for a replay that reads only
        the deadlines that count (``escalation.replay``)."""
        self.policy = policy
        self.explain = explain
        self._memo: dict[tuple[Any, ...], Any] = {}

    def _calendar(self, calendar: BusinessCalendar, op: str, *args: Any) -> Any:
        key = (calendar.name, op, *args)
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = getattr(calendar, op)(*args)
            return value

    def _schedule(self, state: ClockState, ctx: Context) -> tuple[ClockState, list[Due]]:
        assert state.running_since is not None
        calendar = self.policy.calendar_for(state.name, ctx.queue)
        target = self.policy.target(state.name, ctx.tier, ctx.severity)
        budget = self._calendar(calendar, "budget", state.started_at, target)
        due = self._calendar(calendar, "add_time", state.running_since, budget - state.consumed)
        warn_budget = budget * self.policy.warning(state.name)
        warns = self.explain or self.policy.escalates_on(state.name, "warning")  # else only the ledger reads it
        warn = (
            self._calendar(calendar, "add_time", state.running_since, warn_budget - state.consumed)
            if warns and state.warned_at is None and warn_budget > state.consumed else None
        )
        state = replace(state, target=str(target), calendar=calendar.name, tier=ctx.tier, severity=ctx.severity,
                        due_at=due, warn_at=warn, detail={**state.detail, "budget": budget})
        payload = {"clock": state.name, "run": state.run}
        timers = [Due(SLA_BREACH, state.name, due, payload)] if state.breached_at is None else []
        if warn is not None:
            timers.append(Due(SLA_WARNING, state.name, warn, payload))
        return state, timers

    def _used(self, state: ClockState, ctx: Context) -> float:
        if state.status != "running" or state.running_since is None:
            return state.consumed
        calendar = self.policy.calendar_for(state.name, ctx.queue)
        return state.consumed + calendar.elapsed(state.running_since, ctx.at).total_seconds()

    def start(self, name: str, ctx: Context, reason: str, previous: ClockState | None = None) -> Outcome:
        run = previous.run + 1 if previous else 1
        state = ClockState(name=name, kind="sla", status="running", started_at=ctx.at, run=run,
                           running_since=ctx.at, id=previous.id if previous else None)
        state, timers = self._schedule(state, ctx)
        entry = Entry(name, "start", ctx.at, reason, self._due_detail(state))
        return Outcome(state, [entry], timers, cancel=previous is not None)

    def pause(self, state: ClockState, ctx: Context, reason: str) -> Outcome:
        used = self._used(state, ctx)
        paused = replace(state, status="paused", consumed=used, running_since=None, due_at=None, warn_at=None,
                         detail={**state.detail, "paused_at": ctx.at.isoformat()})
        return Outcome(paused, [Entry(state.name, "pause", ctx.at, reason, {"consumed": used})], cancel=True)

    def resume(self, state: ClockState, ctx: Context, reason: str) -> Outcome:
        paused_at = state.detail.get("paused_at")
        running = replace(state, status="running", running_since=ctx.at,
                          detail={k: v for k, v in state.detail.items() if k != "paused_at"})
        running, timers = self._schedule(running, ctx)
        detail = self._due_detail(running) | {"paused_since": paused_at}
        return Outcome(running, [Entry(state.name, "resume", ctx.at, reason, detail)], timers, cancel=True)

    def stop(self, state: ClockState, ctx: Context, reason: str) -> Outcome:
        used = self._used(state, ctx)
        # Met only if stopped by its deadline: a breach the sweep has not recorded yet (or one
        # before a case imported as history was recorded) is still a breach.
        met = state.breached_at is None and (state.due_at is None or ctx.at <= state.due_at)
        stopped = replace(state, status="stopped", consumed=used, running_since=None, stopped_at=ctx.at,
                          warn_at=None)
        detail = {"consumed": used, "met": met}
        return Outcome(stopped, [Entry(state.name, "stop", ctx.at, reason, detail)], cancel=True)

    def restart(self, state: ClockState, ctx: Context, reason: str) -> Outcome:
        """A fresh run from now (after an escalation for a breach, or a ``restart_on`` action)."""
        fresh = ClockState(name=state.name, kind="sla", status=state.status, started_at=ctx.at,
                           run=state.run + 1, id=state.id)
        if state.status == "running":
            fresh.running_since = ctx.at
            fresh, timers = self._schedule(fresh, ctx)
        else:
            fresh, timers = replace(fresh, tier=ctx.tier, severity=ctx.severity), []
        entry = Entry(state.name, "restart", ctx.at, reason, self._due_detail(fresh))
        return Outcome(fresh, [entry], timers, cancel=True)

    def retarget(self, state: ClockState, ctx: Context, reason: str) -> Outcome:
        """The tier (or queue) changed: keep the time used, apply the new target and calendar."""
        if state.breached_at is not None:
            return self.restart(state, ctx, reason + "; the breached clock starts a new run at the new tier")
        if state.status != "running":
            paused = replace(state, tier=ctx.tier, severity=ctx.severity)
            return Outcome(paused, [Entry(state.name, "retarget", ctx.at, reason + "; applies when it resumes")])
        used = self._used(state, ctx)
        moved, timers = self._schedule(replace(state, consumed=used, running_since=ctx.at), ctx)
        return Outcome(moved, [Entry(state.name, "retarget", ctx.at, reason, self._due_detail(moved))], timers, cancel=True)

    def _due_detail(self, state: ClockState) -> dict[str, Any]:
        if not self.explain:
            return {}
        return {
            "target": state.target, "calendar": state.calendar, "tier": state.tier, "severity": state.severity,
            "consumed": state.consumed, "due_at": state.due_at.isoformat() if state.due_at else None,
            "warn_at": state.warn_at.isoformat() if state.warn_at else None,
        }

    # -- regulatory and commitments (never paused) ---------------------------------------------
    def start_regulatory(self, name: str, received_at: datetime, at: datetime) -> Outcome:
        """Memoised for the instance: complaints taken in together share their receipt dates."""
        key = ("start_regulatory", name, received_at, at)
        try:
            return self._memo[key]  # type: ignore[no-any-return]
        except KeyError:
            outcome = self._memo[key] = self._start_regulatory(name, received_at, at)
            return outcome

    def _start_regulatory(self, name: str, received_at: datetime, at: datetime) -> Outcome:
        """The clock, from the receipt; milestones already passed when the case is taken in (an
        import of older complaints) are named in its start entry, and get no timer."""
        milestones = self.policy.milestones(name, received_at)
        preset = self.policy.regulatory[name]
        detail: dict[str, Any] = {
            "label": preset.label,
            "milestones": {m.name: {"label": m.label, "deadline": m.deadline.isoformat(), "breach": m.breach}
                           for m in milestones},
        }
        state = ClockState(name=name, kind="regulatory", status="running", started_at=received_at,
                           running_since=received_at, due_at=milestones[-1].deadline if milestones else None,
                           detail=detail)
        timers, passed = [], []
        for m in milestones:
            payload = {"clock": name, "milestone": m.name}
            if m.deadline <= at:
                passed.append(m)
                continue
            timers.append(Due(REGULATORY, f"{name}.{m.name}", m.deadline, payload))
            if m.letter and m.letter_at is not None:
                timers.append(Due(REGULATORY, f"{name}.{m.name}.letter", max(m.letter_at, at),
                                  payload | {"letter": m.letter}))
        # Milestones already passed are named in the start entry rather than in an entry each:
        # importing older complaints wrote two more rows for each, a tenth of what it wrote.
        reason = f"{preset.label}: counted from receipt, never paused" + (
            "; already passed when the case was taken in: " + ", ".join(f"'{m.label}'" for m in passed)
            if passed else "")
        entry_detail = detail | {"passed": [m.name for m in passed]} if passed else detail
        return Outcome(state, [Entry(name, "start", at, reason, entry_detail)], timers)

    def stop_regulatory(self, state: ClockState, at: datetime, reason: str) -> Outcome:
        deadlines = {k: datetime.fromisoformat(v["deadline"]) for k, v in state.detail.get("milestones", {}).items()}
        late = [k for k, d in deadlines.items() if d < at]
        stopped = replace(state, status="stopped", stopped_at=at, running_since=None)
        detail = {"late_for": late, "elapsed_days": round((at - state.started_at) / timedelta(days=1), 2)}
        return Outcome(stopped, [Entry(state.name, "stop", at, reason, detail)], cancel=True)

    @staticmethod
    def start_commitment(name: str, due: datetime, text: str, at: datetime) -> Outcome:
        state = ClockState(name=name, kind="commitment", status="running", started_at=at, running_since=at,
                           due_at=due, detail={"text": text})
        return Outcome(state, [Entry(name, "start", at, f"promised: {text}", {"due_at": due.isoformat()})],
                       [Due(COMMITMENT, name, due, {"clock": name})])

    @staticmethod
    def keep_commitment(state: ClockState, at: datetime, reason: str) -> Outcome:
        stopped = replace(state, status="stopped", stopped_at=at, running_since=None)
        return Outcome(stopped, [Entry(state.name, "stop", at, reason, {"met": at <= (state.due_at or at)})], cancel=True)
