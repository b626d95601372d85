"""Corrective and preventive actions: the status rules and the effectiveness check. Pure.

    open ──implement──▶ implemented ──verify──▶ effective
      │                     │  └──verify (problem came back in the window)──▶ reopened
      └──────cancel─────────┴──▶ cancelled          reopened ──implement──▶ implemented

Verification compares the complaint rate of the CAPA's root causes in the window before the
action was implemented with the rate since: the problem *recurred* when at least
``min_recurrences`` complaints came in after implementation and their rate is still at least
``recurrence_ratio`` of the rate before. A binomial test (complaints split between the two
windows in proportion to their lengths if nothing changed) gives the p-value that the drop
is chance; the action is called effective when the window is over and it did not recur.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from scipy import stats

from complaints.errors import InvalidInput

OPEN, IMPLEMENTED, EFFECTIVE, REOPENED, CANCELLED = "open", "implemented", "effective", "reopened", "cancelled"
STATUSES = (OPEN, IMPLEMENTED, EFFECTIVE, REOPENED, CANCELLED)
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    # action: (from statuses, to status); verify decides its own target
    "implement": ((OPEN, REOPENED), IMPLEMENTED),
    "cancel": ((OPEN, REOPENED, IMPLEMENTED), CANCELLED),
    "reopen": ((EFFECTIVE, IMPLEMENTED), REOPENED),
}
ACTIVE = (OPEN, REOPENED, IMPLEMENTED)


@dataclass(frozen=True)
class CapaPolicy:
    min_recurrences: int = 2
    recurrence_ratio: float = 0.5


def next_status(capa_id: int, status: str, action: str) -> str:
    """The status after a manual ``action``; InvalidInput naming what is allowed otherwise."""
    if action not in ACTIONS:
        raise InvalidInput(f"Unknown CAPA action {action!r}", [f"use one of {', '.join(ACTIONS)}"])
    froms, to = ACTIONS[action]
    if status not in froms:
        allowed = [a for a, (f, _) in ACTIONS.items() if status in f]
        raise InvalidInput(
            f"Can't '{action}' CAPA {capa_id} in status '{status}'",
            [f"allowed: {', '.join(allowed) or 'nothing'}"],
        )
    return to


def is_overdue(status: str, due_at: datetime, now: datetime) -> bool:
    return status in (OPEN, REOPENED) and due_at < now


@dataclass(frozen=True)
class Windows:
    before_start: datetime
    start: datetime
    after_end: datetime
    window_end: datetime


def windows(implemented_at: datetime, window_days: int, now: datetime) -> Windows:
    window = timedelta(days=window_days)
    return Windows(implemented_at - window, implemented_at, min(now, implemented_at + window), implemented_at + window)


@dataclass(frozen=True)
class Verification:
    outcome: str  # effective | reopened | implemented (still watching)
    before_count: int
    after_count: int
    before_days: float
    after_days: float
    before_rate: float
    after_rate: float
    p_value: float
    window_over: bool
    explanation: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def verify(w: Windows, before_count: int, after_count: int, policy: CapaPolicy | None = None) -> Verification:
    """Decide what the complaint counts before and after implementation say about the action."""
    policy = policy or CapaPolicy()
    before_days = max((w.start - w.before_start).total_seconds() / 86400, 1e-9)
    after_days = max((w.after_end - w.start).total_seconds() / 86400, 0.0)
    before_rate = before_count / before_days
    after_rate = after_count / after_days if after_days > 0 else 0.0
    total = before_count + after_count
    share = after_days / (before_days + after_days)
    p = float(stats.binomtest(after_count, total, share, alternative="less").pvalue) if total and share > 0 else 1.0
    recurred = after_count >= policy.min_recurrences and after_rate >= policy.recurrence_ratio * before_rate
    over = w.after_end >= w.window_end
    rates = (f"{after_count} complaints in {after_days:.0f} days since implementation "
             f"({after_rate * 30:.2f}/30 days) against {before_count} in the {before_days:.0f} days before "
             f"({before_rate * 30:.2f}/30 days); p={p:.2g} that the drop is chance")
    if recurred:
        outcome, why = REOPENED, f"the problem came back inside the effectiveness window: {rates}"
    elif over:
        outcome, why = EFFECTIVE, f"no recurrence over the whole window: {rates}"
    else:
        outcome, why = IMPLEMENTED, f"still inside the window (until {w.window_end.date()}): {rates}"
    return Verification(outcome, before_count, after_count, round(before_days, 2), round(after_days, 2),
                        round(before_rate, 5), round(after_rate, 5), p, over, why)
