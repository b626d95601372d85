"""Run the chosen figures in one process, one after the other, and collect one result document."""

from __future__ import annotations

import importlib
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.environment import describe
from benchmarks.harness import Context, Figure, FigureResult, Profile, run_figure
from benchmarks.report import document

#: In the order they run: the cheap, core figures first.
FIGURE_KEYS = ("transitions", "intake", "mapping", "sweep", "contention", "scaling", "indicators", "letters", "search",
               "cli", "whatif", "console", "api", "linking", "memory", "prefect_naive")


def figures(keys: Sequence[str] = FIGURE_KEYS) -> list[Figure]:
    unknown = sorted(set(keys) - set(FIGURE_KEYS))
    if unknown:
        raise ValueError(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(FIGURE_KEYS)}")
    return [importlib.import_module(f"benchmarks.{key}").FIGURE for key in FIGURE_KEYS if key in keys]


def estimate(profile: Profile, keys: Sequence[str] = FIGURE_KEYS) -> float:
    return sum(f.estimate(profile) for f in figures(keys))


def run(
    profile: Profile,
    keys: Sequence[str] = FIGURE_KEYS,
    pg_url: str | None = None,
    workdir: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Every chosen figure at the profile's sizes; scratch databases live in ``workdir``."""
    started = datetime.now(UTC)
    machine = describe(pg_url)
    results: list[FigureResult] = []
    with tempfile.TemporaryDirectory(prefix="complaintflow-bench-", dir=workdir) as scratch:
        ctx = Context(profile, Path(scratch), pg_url, log)
        for figure in figures(keys):
            log(f"… {figure.title} (about {figure.estimate(profile):.0f} s)")
            result = run_figure(figure, ctx)
            log(f"  {result.status}{': ' + result.reason if result.reason else ''} in {result.seconds:.1f} s")
            results.append(result)
    return document(profile, machine, results, started)
