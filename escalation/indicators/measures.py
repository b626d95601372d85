"""The indicators of the code of practice over complaints' facts, whole and broken down. Pure.

Two groups of complaints: the *cohort* (received in the period), whose handling every
indicator but the backlog describes as it stood at the period's end, and the *backlog*
(open at the period's end, whenever received). Each figure says what it is a share of:

- acknowledged within target: the ``acknowledge`` SLA clocks met, of those met or missed;
- time to acknowledge, to first response, to resolution (the final response): business
  hours from receipt on the calendar of the clock of that name (``acknowledge``,
  ``first_response``, ``resolution``) for the complaint's queue; the median (the middle
  value, or the mean of the two middle ones) and the 90th percentile by nearest rank (the
  value at position ceil(0.9 n) of the n values sorted);
- SLA compliance per clock: met / (met + missed); a clock still running is in neither;
- regulatory deadlines met, per clock and deadline: responded by it / (by it + after it or
  not yet when it passed);
- escalation rate: complaints escalated at least once / received; the highest tier each reached;
- reopen rate: complaints reopened / those given a final response;
- invalid rate: found invalid / decided valid or invalid (lapsed ones decided nothing), with
  the five most common rationales (personal data masked);
- promises kept: kept on time / (kept + kept late + broken);
- satisfaction: satisfied / (satisfied + dissatisfied) at the latest follow-up answer, with
  the customer's rating of the handling (1 to 5) where the follow-up records one;
- backlog: complaints open, their age in calendar days since receipt.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from complaints.errors import InvalidInput
from complaints.pii import mask
from escalation.indicators.business_time import BusinessTimeline
from escalation.indicators.facts import MET, MISSED, CaseFacts
from escalation.indicators.meaning import ACKNOWLEDGE, DECIDED, FIRST_RESPONSE, RESOLUTION, Meaning
from escalation.policy import SlaPolicy

#: The breakdowns ``--by`` offers: a complaint's channel and product, and where it stood at
#: the period's end (tier, queue, the handler it was assigned to).
DIMENSIONS: dict[str, Callable[[CaseFacts], str]] = {
    "channel": lambda f: f.channel,
    "product": lambda f: f.product,
    "tier": lambda f: f.tier,
    "queue": lambda f: f.queue,
    "handler": lambda f: f.handler or "(unassigned)",
}
#: The backlog's ages since receipt (``age_band``).
AGE_BANDS = ("under 1 week", "1 to 4 weeks", "4 to 8 weeks", "over 8 weeks")
TOP_RATIONALES = 5
#: The longest period a report covers.
MAX_DAYS = 3660
_DAY = timedelta(days=1)
_INSTANT = timedelta(microseconds=1)


@dataclass(frozen=True)
class Period:
    """Whole UTC days from ``start`` to ``end`` (exclusive); figures as of ``as_of``, the
    period's last instant or now, whichever is earlier."""

    start: datetime
    end: datetime
    as_of: datetime

    @classmethod
    def of_days(cls, first: date, last: date, now: datetime) -> Period:
        if last < first:
            raise InvalidInput("Invalid period", [f"--to {last} is before --from {first}"])
        if (last - first).days >= MAX_DAYS:
            raise InvalidInput("Invalid period", [f"{first} to {last} is more than {MAX_DAYS} days; ask for less"])
        start = datetime.combine(first, time(), tzinfo=UTC)
        end = datetime.combine(last + _DAY, time(), tzinfo=UTC)
        return cls(start, end, min(end - _INSTANT, now))

    def holds(self, at: datetime) -> bool:
        return self.start <= at < self.end

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.start.date().isoformat(), "to": (self.end - _DAY).date().isoformat(),
                "as_of": self.as_of.isoformat()}


@dataclass
class Context:
    """What the measures need besides the facts: the workflow's meaning, its calendars, the instant."""

    meaning: Meaning
    policy: SlaPolicy | None
    as_of: datetime
    _timelines: dict[tuple[str, str], BusinessTimeline | None] = field(default_factory=dict)

    def hours(self, clock: str, queue: str, spans: Sequence[tuple[datetime, datetime]]) -> list[float]:
        """Business hours of each (start, end), in order, on the calendar of ``clock`` for
        ``queue``; calendar hours where the workflow has no such clock."""
        key = (clock, queue)
        if key not in self._timelines:
            policy = self.policy
            known = policy is not None and policy.sla is not None and clock in policy.clocks
            self._timelines[key] = BusinessTimeline(policy.calendar_for(clock, queue)) if known else None  # type: ignore[union-attr]
        timeline = self._timelines[key]
        if timeline is None:
            return [max((end - start).total_seconds(), 0.0) / 3600 for start, end in spans]
        return [seconds / 3600 for seconds in timeline.elapsed_many(spans)]


def report(cohort: Sequence[CaseFacts], backlog: Sequence[CaseFacts], ctx: Context,
           by: Iterable[str] = ()) -> dict[str, Any]:
    """Every indicator for the whole, and for each value of each dimension in ``by``."""
    out: dict[str, Any] = {"overall": summary(cohort, backlog, ctx), "by": {}}
    for dimension in by:
        key = dimension_key(dimension)
        groups: dict[str, tuple[list[CaseFacts], list[CaseFacts]]] = {}
        for f in cohort:
            groups.setdefault(key(f), ([], []))[0].append(f)
        for f in backlog:
            groups.setdefault(key(f), ([], []))[1].append(f)
        rows = [{"key": value, **summary(c, b, ctx)} for value, (c, b) in groups.items()]
        out["by"][dimension] = sorted(rows, key=lambda r: (-r["received"], -r["backlog"]["open"], r["key"]))
    return out


def dimension_key(name: str) -> Callable[[CaseFacts], str]:
    try:
        return DIMENSIONS[name]
    except KeyError:
        raise InvalidInput("Invalid --by", [f"{name!r}: use one of {', '.join(DIMENSIONS)}"]) from None


def summary(cohort: Sequence[CaseFacts], backlog: Sequence[CaseFacts], ctx: Context) -> dict[str, Any]:
    m = ctx.meaning
    return {
        "received": len(cohort),
        "acknowledged": acknowledged(cohort),
        "time_to_acknowledge": durations(cohort, ACKNOWLEDGE, "acknowledged_at", ctx),
        "time_to_first_response": durations(cohort, FIRST_RESPONSE, "first_response_at", ctx),
        "time_to_resolution": durations(cohort, RESOLUTION, "final_response_at", ctx),
        "sla": {clock: compliance(f.sla.get(clock) for f in cohort) for clock in m.sla_clocks},
        "regulatory": {clock: {d: deadline(cohort, clock, d, ctx.as_of) for d in deadlines}
                       for clock, deadlines in m.deadlines.items()},
        "escalation": escalation(cohort, m),
        "reopened": reopened(cohort),
        "invalid": invalid(cohort),
        "promises": promises(cohort),
        "satisfaction": satisfaction(cohort, m),
        "backlog": backlog_age(backlog, ctx.as_of),
    }


# -- one indicator each -----------------------------------------------------------------------------
def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def percentile(values: Sequence[float], share: float = 0.9) -> float | None:
    """Nearest rank: the value at position ceil(share * n) of the values sorted."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(math.ceil(share * len(ordered)), 1) - 1], 2)


def acknowledged(cohort: Sequence[CaseFacts]) -> dict[str, Any]:
    outcome = Counter(f.sla.get(ACKNOWLEDGE) for f in cohort)
    return {"count": sum(1 for f in cohort if f.acknowledged_at is not None), "within_target": outcome[MET],
            "late": outcome[MISSED], "rate": rate(outcome[MET], outcome[MET] + outcome[MISSED])}


def durations(cohort: Sequence[CaseFacts], clock: str, attribute: str, ctx: Context) -> dict[str, Any]:
    spans: dict[str, list[tuple[datetime, datetime]]] = {}  # by queue, each in the cohort's order
    for f in cohort:
        if (at := getattr(f, attribute)) is not None:
            spans.setdefault(f.queue, []).append((f.received_at, at))
    hours = [h for queue, pairs in spans.items() for h in ctx.hours(clock, queue, pairs)]  # sorted by each statistic
    return {"count": len(hours), "median_hours": median(hours), "p90_hours": percentile(hours)}


def compliance(outcomes: Iterable[str | None]) -> dict[str, Any]:
    counted = Counter(outcomes)
    met, missed = counted[MET], counted[MISSED]
    return {"met": met, "missed": missed, "running": counted["running"], "rate": rate(met, met + missed)}


def deadline(cohort: Sequence[CaseFacts], clock: str, name: str, as_of: datetime) -> dict[str, Any]:
    """A regulatory deadline: responded by it, after it (or still not when it passed), pending."""
    met = missed = pending = 0
    for f in cohort:
        reg = f.regulatory.get(clock)
        if reg is None or name not in reg.deadlines:
            continue
        due = reg.deadlines[name]
        if reg.stopped_at is not None and reg.stopped_at <= due:
            met += 1
        elif reg.stopped_at is not None or due < as_of:
            missed += 1
        else:
            pending += 1
    return {"met": met, "missed": missed, "pending": pending, "rate": rate(met, met + missed)}


def escalation(cohort: Sequence[CaseFacts], meaning: Meaning) -> dict[str, Any]:
    escalated = sum(1 for f in cohort if f.escalated)
    reached = Counter(f.top_tier for f in cohort)
    return {"escalated": escalated, "rate": rate(escalated, len(cohort)),
            "highest_tier": {tier: reached[tier] for tier in meaning.tier_order()}}


def reopened(cohort: Sequence[CaseFacts]) -> dict[str, Any]:
    answered = [f for f in cohort if f.final_response_at is not None]
    count = sum(1 for f in answered if f.reopened)
    return {"reopened": count, "of": len(answered), "rate": rate(count, len(answered))}


def invalid(cohort: Sequence[CaseFacts]) -> dict[str, Any]:
    decided = [f for f in cohort if f.validity in DECIDED]
    found = [f for f in decided if f.validity == "invalid"]
    return {"assessed": len(decided), "invalid": len(found), "rate": rate(len(found), len(decided)),
            "lapsed": sum(1 for f in cohort if f.validity == "lapsed"),
            "rationales": common_rationales(f.rationale for f in found)}


def common_rationales(texts: Iterable[str | None], top: int = TOP_RATIONALES) -> list[dict[str, Any]]:
    """The most common rationales, alike when they differ only in case and spacing; each as
    first written (in ``texts``' order: the facts come oldest complaint first), with personal
    data masked (``complaints.pii``). Masked after counting, so only the few shown are masked."""
    counted: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for text in texts:
        written = " ".join((text or "").split()) or "(no rationale given)"
        key = written.casefold()
        counted[key] += 1
        shown.setdefault(key, written)
    ranked = sorted(counted.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return [{"rationale": mask(shown[key]), "count": n} for key, n in ranked]


def promises(cohort: Sequence[CaseFacts]) -> dict[str, Any]:
    kept = sum(f.promises.kept for f in cohort)
    late = sum(f.promises.late for f in cohort)
    broken = sum(f.promises.broken for f in cohort)
    still = sum(f.promises.open for f in cohort)
    return {"made": kept + late + broken + still, "kept": kept, "kept_late": late, "broken": broken, "open": still,
            "rate": rate(kept, kept + late + broken)}


def satisfaction(cohort: Sequence[CaseFacts], meaning: Meaning) -> dict[str, Any]:
    asked = [f for f in cohort if f.asked_follow_up]
    answers = Counter(f.follow_up for f in asked if f.follow_up is not None)
    feeling = Counter(meaning.follow_up.get(f.follow_up) for f in asked if f.follow_up is not None)
    happy, unhappy = feeling["satisfied"], feeling["dissatisfied"]
    ratings = [f.rating for f in asked if f.rating is not None]
    return {
        "asked": len(asked), "answers": {a: answers[a] for a in meaning.follow_up},
        "satisfied": happy, "dissatisfied": unhappy, "no_answer": feeling[None],
        "waiting": sum(1 for f in asked if f.follow_up is None),
        "rate": rate(happy, happy + unhappy),
        "rating": {
            "recorded": len(ratings),
            "mean": round(statistics.fmean(ratings), 2) if ratings else None,
            "distribution": {str(r): ratings.count(r) for r in range(1, 6)} if ratings else {},
            "status": "recorded" if ratings else "not recorded",
        },
    }


def backlog_age(backlog: Sequence[CaseFacts], as_of: datetime) -> dict[str, Any]:
    ages = [(as_of - f.received_at) / _DAY for f in backlog]
    bands = Counter(age_band(age) for age in ages)
    return {"open": len(ages), "median_age_days": median(ages), "p90_age_days": percentile(ages),
            "oldest_age_days": round(max(ages), 2) if ages else None, "ages": {band: bands[band] for band in AGE_BANDS}}


def age_band(days: float) -> str:
    """Under 1 week (< 7 days), 1 to 4 weeks (< 28), 4 to 8 weeks (up to 56, the FCA's eight
    weeks, included), over 8 weeks."""
    if days < 7:
        return AGE_BANDS[0]
    if days < 28:
        return AGE_BANDS[1]
    return AGE_BANDS[2] if days <= 56 else AGE_BANDS[3]
