"""Recurrence detection: is a problem's share of complaints above its baseline? Pure, no I/O.

For every subject (a root-cause code or a cluster of linked complaints) the complaints are
counted per period (month or ISO week). The newest period is tested against the subject's
baseline **against exposure**: its share of the volume it belongs to (the complaints about
its product, or all complaints) over the ``baseline`` periods before, with a one-sided
binomial test, ``p = P(X >= observed | n = volume now, share = baseline share)``. So a
general rise in complaints, which lifts every subject with it, raises no alert: only a
subject that grows faster than its volume does. (Without an exposure series the subject's
own mean count is the baseline, Poisson-tested: the test of old, kept for pure uses.) The
baseline gets half a complaint of prior weight so that a subject with an empty history does
not make every complaint look significant. Many subjects are tested at once, so p-values are adjusted with
Benjamini-Hochberg: an alert fires when the adjusted q-value is below ``alpha``, which holds
the expected share of false alarms among the alerts at ``alpha`` (default 1%). A problem
*recurs* only if it was also seen in earlier periods (``min_active`` periods in all), so a
one-off burst of a brand-new problem is not called a recurrence. Alerts are ranked by
strength, ``-log10(q)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy import stats

MONTH, WEEK = "month", "week"


@dataclass(frozen=True)
class RecurrencePolicy:
    alpha: float = 0.01
    baseline: int = 6
    min_count: int = 3
    min_active: int = 2
    prior: float = 0.5
    unit: str = MONTH


ALL = "all complaints"  # the exposure of a subject that belongs to no single product


@dataclass(frozen=True)
class Baseline:
    """What a subject's newest period is tested against, and what a chart draws as its baseline."""

    exposure: str | None  # "all complaints", "product: X", or None (the subject's own mean)
    share: float | None  # the baseline share of the exposure, None without one
    expected: tuple[float, ...]  # the count expected in each period of the window at the baseline
    volume: tuple[int, ...]  # the exposure's complaints per period (empty without one)
    p_value: float

    @property
    def expected_now(self) -> float:
        return self.expected[-1]


@dataclass(frozen=True)
class RecurrenceFinding:
    subject: str
    period: str
    observed: int
    expected: float
    p_value: float
    q_value: float
    active_periods: int
    history: tuple[int, ...]
    exposure: str | None = None
    share: float | None = None
    volume: int | None = None

    @property
    def strength(self) -> float:
        return round(-math.log10(max(self.q_value, 1e-300)), 3)

    def explanation(self, unit: str = MONTH) -> str:
        before = f"over the {len(self.history) - 1} {unit}s before"
        seen = f"seen in {self.active_periods} of {len(self.history)} {unit}s: {list(self.history)}"
        if self.exposure is None or self.share is None:
            return (f"{self.observed} complaints in {self.period} against a baseline of {self.expected:.2f} a {unit} "
                    f"{before} (Poisson p={self.p_value:.2g}, FDR q={self.q_value:.2g}); {seen}")
        return (f"{self.observed} of {self.volume} complaints in {self.period} ({self.exposure}), "
                f"{self.observed / max(self.volume or 1, 1):.1%} against a baseline share of {self.share:.1%} {before} "
                f"(expected {self.expected:.2f}; binomial p={self.p_value:.2g}, FDR q={self.q_value:.2g}); {seen}")

    def as_evidence(self) -> dict[str, object]:
        """What the alert keeps of the finding: enough to explain it without recomputing."""
        return {"period": self.period, "observed": self.observed, "expected": self.expected, "p_value": self.p_value,
                "q_value": self.q_value, "history": list(self.history), "exposure": self.exposure or "own history",
                "baseline_share": self.share, "volume": self.volume}


def period_of(when: datetime, unit: str = MONTH) -> str:
    if unit == WEEK:
        year, week, _ = when.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{when.year}-{when.month:02d}"


def period_start(label: str, unit: str = MONTH) -> datetime:
    """The first instant (UTC) of the period ``label`` names."""
    from datetime import UTC, date

    if unit == WEEK:
        year, week = label.split("-W")
        day = date.fromisocalendar(int(year), int(week), 1)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    year, month = label.split("-")
    return datetime(int(year), int(month), 1, tzinfo=UTC)


def count_between(start: datetime, end: datetime, unit: str = MONTH) -> int:
    """How many periods run from the one holding ``start`` to the one holding ``end``."""
    if unit == WEEK:
        return max(1, (period_start(period_of(end, WEEK), WEEK) - period_start(period_of(start, WEEK), WEEK)).days // 7 + 1)
    return max(1, (end.year - start.year) * 12 + end.month - start.month + 1)


def periods_ending(end: datetime, count: int, unit: str = MONTH) -> list[str]:
    """The labels of ``count`` consecutive periods, oldest first, the last one containing ``end``."""
    if unit == WEEK:
        from datetime import timedelta

        return [period_of(end - timedelta(weeks=i), WEEK) for i in range(count - 1, -1, -1)]
    labels = []
    y, m = end.year, end.month
    for _ in range(count):
        labels.append(f"{y}-{m:02d}")
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    return labels[::-1]


def count_series(events: Iterable[tuple[str, datetime]], labels: list[str], unit: str = MONTH) -> dict[str, list[int]]:
    """Complaints per subject per period, for the periods in ``labels`` (others ignored)."""
    position = {label: i for i, label in enumerate(labels)}
    series: dict[str, list[int]] = {}
    for subject, when in events:
        i = position.get(period_of(when, unit))
        if i is not None:
            series.setdefault(subject, [0] * len(labels))[i] += 1
    return series


def poisson_p(observed: int, history: list[int], prior: float) -> tuple[float, float]:
    """(expected, one-sided p) of ``observed`` against the mean of ``history``."""
    expected = (sum(history) + prior) / max(len(history), 1)
    return expected, float(stats.poisson.sf(observed - 1, expected))


def baseline(counts: list[int], policy: RecurrencePolicy, volume: list[int] | None = None,
             exposure: str | None = None) -> Baseline:
    """The baseline of the newest period of ``counts`` (and of each period of the window, for
    charts): its share of ``volume`` over the periods before, or its own mean without one."""
    window = counts[-(policy.baseline + 1):]
    observed, history = window[-1], window[:-1]
    if volume is None:
        expected, p = poisson_p(observed, history, policy.prior)
        return Baseline(None, None, (round(expected, 3),) * len(window), (), p)
    vol = [max(v, c) for v, c in zip(volume[-len(window):], window, strict=True)]  # a subject is part of its volume
    share = min((sum(history) + policy.prior) / (sum(vol[:-1]) + policy.prior), 1.0)
    p = float(stats.binom.sf(observed - 1, vol[-1], share)) if vol[-1] else 1.0
    return Baseline(exposure, share, tuple(round(share * v, 3) for v in vol), tuple(vol), p)


def detect(series: Mapping[str, list[int]], labels: list[str], policy: RecurrencePolicy | None = None,
           volumes: Mapping[str, list[int]] | None = None, exposure_of: Mapping[str, str] | None = None,
           ) -> list[RecurrenceFinding]:
    """Subjects whose newest period is significantly above their baseline, strongest first.

    ``volumes``: complaints per period of each exposure (``ALL``, ``product: X``);
    ``exposure_of``: the exposure of each subject (``ALL`` when not named). Without
    ``volumes`` each subject is tested against its own mean."""
    policy = policy or RecurrencePolicy()
    tested: list[tuple[str, int, Baseline, float, int, tuple[int, ...]]] = []
    for subject, counts in series.items():
        window = tuple(counts[-(policy.baseline + 1):])
        exposure = (exposure_of or {}).get(subject, ALL) if volumes is not None else None
        base = baseline(counts, policy, volumes.get(exposure) if volumes is not None and exposure else None, exposure)
        observed, active = window[-1], sum(1 for c in window if c > 0)
        eligible = observed >= policy.min_count and active >= policy.min_active and observed > base.expected_now
        tested.append((subject, observed, base, base.p_value if eligible else 1.0, active, window))
    if not tested:
        return []
    q_values = stats.false_discovery_control(np.array([t[3] for t in tested]), method="bh")
    findings = [
        RecurrenceFinding(subject, labels[-1], observed, round(base.expected_now, 3), p, float(q), active, window,
                          base.exposure, None if base.share is None else round(base.share, 5),
                          base.volume[-1] if base.volume else None)
        for (subject, observed, base, p, active, window), q in zip(tested, q_values, strict=True)
        if q < policy.alpha
    ]
    return sorted(findings, key=lambda f: (-f.strength, f.subject))


def product_exposure(product: str) -> str:
    return f"product: {product}"
