"""Week by week: complaints received, the SLA compliance of each week's complaints, the backlog
and its age at each week's end. Pure; the chart draws it.

Weeks run Monday to Monday (UTC). A week's SLA compliance is that of the complaints received
in it, as they stand at the period's end (the indicators' cohort, a week at a time), so it
is the same figure ``complaints metrics`` gives for that week. The backlog is counted from the
event log: open from receipt, closed on entering a done state, open again on leaving one.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from escalation.indicators.facts import MET, MISSED, CaseFacts
from escalation.indicators.measures import Period, median, percentile, rate

_WEEK, _DAY, _INSTANT = timedelta(weeks=1), timedelta(days=1), timedelta(microseconds=1)


def week_starts(period: Period) -> list[datetime]:
    """The Mondays (00:00 UTC) of the weeks the period touches."""
    first = period.start - timedelta(days=period.start.weekday())
    return [first + i * _WEEK for i in range((period.end - first + _WEEK - _INSTANT) // _WEEK)]


def weekly(cohort: Sequence[CaseFacts], clocks: Sequence[str], received: Sequence[Any], crossings: Sequence[Any],
           period: Period) -> list[dict[str, Any]]:
    """One row per week: received, SLA compliance per clock (and over every clock), backlog."""
    starts = [start for start in week_starts(period) if start <= period.as_of]  # none that has not begun
    by_week: list[list[CaseFacts]] = [[] for _ in starts]
    for f in cohort:
        week = (f.received_at - starts[0]) // _WEEK
        if period.holds(f.received_at) and week < len(starts):
            by_week[week].append(f)
    backlogs = _backlog(starts, received, crossings, period)
    rows = []
    for start, facts, backlog in zip(starts, by_week, backlogs, strict=True):
        per_clock = {clock: _share(f.sla.get(clock) for f in facts) for clock in clocks}
        every = _share(outcome for f in facts for outcome in f.sla.values())
        rows.append({"week": start.date().isoformat(), "received": len(facts), "sla": per_clock, "sla_all": every,
                     "backlog": backlog})
    return rows


def _share(outcomes: Any) -> float | None:
    met = missed = 0
    for outcome in outcomes:
        met += outcome == MET
        missed += outcome == MISSED
    return rate(met, met + missed)


def _backlog(starts: Sequence[datetime], received: Sequence[Any], crossings: Sequence[Any],
             period: Period) -> list[dict[str, Any]]:
    """Open complaints and their age (days) at the end of each week (or at the period's
    ``as_of``, if earlier), by replaying receipts and moves into and out of done states."""
    moves = sorted([(at, 0, cid, 1) for cid, at in received] + [(at, 1, cid, 1 - closed) for cid, at, closed in crossings])
    receipt = {cid: at for cid, at in received}
    open_: dict[int, datetime] = {}
    out, i = [], 0
    for start in starts:
        cut = min(start + _WEEK - _INSTANT, period.as_of)
        while i < len(moves) and moves[i][0] <= cut:
            _, _, cid, opens = moves[i]
            if opens:
                open_[cid] = receipt[cid]
            else:
                open_.pop(cid, None)
            i += 1
        ages = [(cut - at) / _DAY for at in open_.values()]
        out.append({"open": len(ages), "median_age_days": median(ages), "p90_age_days": percentile(ages),
                    "mean_age_days": round(statistics.fmean(ages), 2) if ages else None})
    return out
