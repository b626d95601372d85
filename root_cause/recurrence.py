"""Recurrence detection: is a problem's complaint rate above its own baseline? Pure, no I/O.

For every subject (a root-cause code or a cluster of linked complaints) the complaints are
counted per period (month or ISO week). The newest period is tested against the subject's
own baseline, the mean of the ``baseline`` periods before it, with a one-sided Poisson test:
``p = P(X >= observed | rate = baseline mean)``. The baseline gets half a complaint of
prior weight so that a subject with an empty history does not make every complaint look
significant. Many subjects are tested at once, so p-values are adjusted with
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

    @property
    def strength(self) -> float:
        return round(-math.log10(max(self.q_value, 1e-300)), 3)

    def explanation(self, unit: str = MONTH) -> str:
        return (
            f"{self.observed} complaints in {self.period} against a baseline of {self.expected:.2f} a {unit} "
            f"over the {len(self.history) - 1} {unit}s before (Poisson p={self.p_value:.2g}, FDR q={self.q_value:.2g}); "
            f"seen in {self.active_periods} of {len(self.history)} {unit}s: {list(self.history)}"
        )


def period_of(when: datetime, unit: str = MONTH) -> str:
    if unit == WEEK:
        year, week, _ = when.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{when.year}-{when.month:02d}"


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


def detect(series: Mapping[str, list[int]], labels: list[str], policy: RecurrencePolicy | None = None) -> list[RecurrenceFinding]:
    """Subjects whose newest period is significantly above their baseline, strongest first."""
    policy = policy or RecurrencePolicy()
    tested: list[tuple[str, int, float, float, int, tuple[int, ...]]] = []
    for subject, counts in series.items():
        window = counts[-(policy.baseline + 1):]
        observed, history = window[-1], window[:-1]
        active = sum(1 for c in window if c > 0)
        expected, p = poisson_p(observed, history, policy.prior)
        eligible = observed >= policy.min_count and active >= policy.min_active and observed > expected
        tested.append((subject, observed, expected, p if eligible else 1.0, active, tuple(window)))
    if not tested:
        return []
    q_values = stats.false_discovery_control(np.array([t[3] for t in tested]), method="bh")
    findings = [
        RecurrenceFinding(subject, labels[-1], observed, round(expected, 3), p, float(q), active, window)
        for (subject, observed, expected, p, active, window), q in zip(tested, q_values, strict=True)
        if q < policy.alpha
    ]
    return sorted(findings, key=lambda f: (-f.strength, f.subject))
