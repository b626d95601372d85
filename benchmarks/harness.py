"""The shared harness: measured figures, their baselines and targets, and fair timing.

Every figure is a value measured beside a baseline in the same run on the same machine, so
the *ratio* between them holds even when the machine is noisy. Contenders are timed in
alternating rounds (A B A B ...) and each keeps its best round: noise that slows one round
slows the others' neighbouring rounds alike, and the best round is the least disturbed one.
"""

from __future__ import annotations

import gc
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

Profile = Literal["tiny", "quick", "full"]
PROFILES: tuple[Profile, ...] = ("tiny", "quick", "full")
K = TypeVar("K")

#: Prepares one round (outside the clock) and returns the work to time.
Round = Callable[[], Callable[[], object]]


class NotAvailable(Exception):
    """A figure (or part of one) whose dependency is missing: reported, never crashed on."""


@dataclass(frozen=True)
class Target:
    """What a measure must reach: ``ratio >= 0.25``, or ``value <= 2048`` in the measure's unit."""

    op: Literal[">=", "<="]
    threshold: float
    on: Literal["ratio", "value"] = "ratio"

    def met(self, value: float | None, ratio: float | None) -> bool | None:
        subject = ratio if self.on == "ratio" else value
        if subject is None:
            return None
        return subject >= self.threshold if self.op == ">=" else subject <= self.threshold

    def describe(self, unit: str = "") -> str:
        sign = "≥" if self.op == ">=" else "≤"
        if self.on == "ratio":
            return f"ratio {sign} {self.threshold:g}"
        return f"{sign} {format_number(self.threshold)} {unit}".rstrip()


@dataclass
class Measure:
    """One figure: a value, the baseline measured beside it, and the target it is held to."""

    name: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_name: str | None = None
    target: Target | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    @property
    def met(self) -> bool | None:
        return self.target.met(self.value, self.ratio) if self.target else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "value": self.value, "unit": self.unit,
            "baseline": self.baseline, "baseline_name": self.baseline_name, "ratio": self.ratio,
            "target": self.target.describe(self.unit) if self.target else None,
            "met": self.met, "note": self.note,
        }


@dataclass
class Context:
    """What a figure may use: the profile (sizes), a scratch folder, PostgreSQL if given."""

    profile: Profile
    workdir: Path
    pg_url: str | None = None
    log: Callable[[str], None] = print

    def sqlite_url(self, name: str) -> str:
        path = self.workdir / f"{name}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    run: Callable[[Context], list[Measure]]
    #: Rough duration in seconds for a profile, so a long run can say how long it will take.
    estimate: Callable[[Profile], float]


@dataclass
class FigureResult:
    key: str
    title: str
    status: Literal["ok", "not available", "failed"]
    seconds: float
    measures: list[Measure] = field(default_factory=list)
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key, "title": self.title, "status": self.status, "reason": self.reason,
            "seconds": round(self.seconds, 2), "measures": [m.to_dict() for m in self.measures],
        }


def run_figure(figure: Figure, ctx: Context) -> FigureResult:
    """Run one figure; a missing dependency or a crash is recorded so the other figures still run."""
    started = time.perf_counter()
    try:
        measures = figure.run(ctx)
    except NotAvailable as exc:
        return FigureResult(figure.key, figure.title, "not available", time.perf_counter() - started, reason=str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken figure must not lose the others' results
        ctx.log(traceback.format_exc())
        return FigureResult(
            figure.key, figure.title, "failed", time.perf_counter() - started,
            reason=f"{type(exc).__name__}: {exc}",
        )
    return FigureResult(figure.key, figure.title, "ok", time.perf_counter() - started, measures)


def interleaved(rounds: Mapping[K, Round], repeat: int, warmup: int = 1) -> dict[K, float]:
    """Best seconds of each contender over ``repeat`` alternating rounds, after ``warmup`` rounds."""
    best = {name: float("inf") for name in rounds}
    for index in range(warmup + repeat):
        for name, prepare in rounds.items():
            work = prepare()
            gc.collect()
            started = time.perf_counter()
            work()
            elapsed = time.perf_counter() - started
            if index >= warmup:
                best[name] = min(best[name], elapsed)
    return best


def format_number(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"
