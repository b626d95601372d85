"""Figure 2: the engine against the naive design, one Prefect flow run per complaint.

The same transition (pause or resume a complaint) is done by ``WorkflowEngine.advance``
(100 per transaction: the engine's batched rate per complaint) and by a Prefect flow that
wraps that very call, one run per complaint, against a temporary local Prefect server. The
baseline is the naive design as a naive user runs it: Prefect's defaults, where a sync flow
run costs about a second because the flow engine joins its heartbeat thread.
A second row, for context only, uses the heartbeat-off setting that brings a run near 0.1 s.
Server start-up is a warm-up run and not counted. Prefect is imported only here.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.databases import HANDLER, fresh_app, investigating_cases
from benchmarks.harness import Context, Figure, Measure, NotAvailable, Profile, Target, interleaved
from benchmarks.transitions import NOW, PAYLOADS, Rotation, engine_round
from complaints.clock import FixedClock

#: Offline machine: no telemetry. Nothing else is changed, so "defaults" means Prefect's defaults
#: (its run logs still go to the API; only their console echo is hidden, see ``_quiet_console``).
OFFLINE = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
#: The issue's premise: one flow run per complaint costs about a second with these defaults.
TARGET = Target(">=", 1_000)


@dataclass(frozen=True)
class Sizes:
    default_runs: int  # flow runs with Prefect's defaults (~1.1 s each: keep it small)
    no_heartbeat_runs: int  # flow runs with the heartbeat off (~0.1 s each)
    engine_transitions: int


SIZES: dict[Profile, Sizes] = {
    "tiny": Sizes(default_runs=1, no_heartbeat_runs=2, engine_transitions=20),
    "quick": Sizes(default_runs=5, no_heartbeat_runs=8, engine_transitions=200),
    "full": Sizes(default_runs=5, no_heartbeat_runs=20, engine_transitions=2_000),
}


def _prefect(ctx: Context) -> Any:
    """Import Prefect with its home in the scratch folder, offline, no server URL."""
    if os.environ.get("PREFECT_API_URL"):
        raise NotAvailable("PREFECT_API_URL is set; this figure measures the temporary local server")
    # A lasting home: the temporary server starts faster on a database it has used before.
    os.environ.setdefault("PREFECT_HOME", str(Path(tempfile.gettempdir()) / "complaintflow-bench-prefect"))
    for key, value in OFFLINE.items():
        os.environ.setdefault(key, value)
    # Start-up is not measured, and Prefect's own 20 s allowance is too short on a slow machine.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    try:
        import prefect
    except ImportError as exc:
        raise NotAvailable(f"Prefect is not importable: {exc}") from exc
    return prefect


def _no_heartbeat() -> AbstractContextManager[Any]:
    """The flow heartbeat off: the sync flow engine no longer joins its thread (PREFECT.md)."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


def _quiet_console() -> None:
    """Hide Prefect's console echo of each run (the benchmark table is printed there); the
    loggers keep their level, so run logs still go to the API as by default."""
    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler):
            handler.setLevel(logging.ERROR)


def run(ctx: Context) -> list[Measure]:
    sizes = SIZES[ctx.profile]
    app = fresh_app(ctx.sqlite_url("prefect_naive"), FixedClock(NOW))
    n = sizes.engine_transitions
    # The engine first, before Prefect is imported: once imported, its background threads share
    # the process (and its server the machine's two cores) and would slow the engine's rounds.
    engine = interleaved(
        {"single": engine_round(app, Rotation(investigating_cases(app, 100, "single")), n, 1),
         "batch": engine_round(app, Rotation(investigating_cases(app, 100, "batch")), n, 100)},
        repeat=2, warmup=1,
    )
    prefect = _prefect(ctx)
    per_flow = Rotation(investigating_cases(app, max(sizes.default_runs, sizes.no_heartbeat_runs), "flow"))

    @prefect.flow(name="advance-one-complaint", persist_result=False, log_prints=False)
    def advance_one(reference: str, action: str) -> int:
        return app.engine.advance(reference, action, HANDLER, PAYLOADS[action]).seq

    def flows(count: int, settings: Callable[[], AbstractContextManager[Any]]) -> Callable[[], Callable[[], object]]:
        def prepare() -> Callable[[], object]:
            steps = per_flow.take(count)

            def work() -> None:
                with settings():
                    for ref, action in steps:
                        advance_one(ref, action)

            return work

        return prepare

    advance_one(*per_flow.take(1)[0])  # starts the temporary server: not counted
    _quiet_console()
    seconds = interleaved({"defaults": flows(sizes.default_runs, nullcontext),
                           "no_heartbeat": flows(sizes.no_heartbeat_runs, _no_heartbeat)}, repeat=1, warmup=0)
    app.db.dispose()
    batched = n / engine["batch"]
    per_run = {key: seconds[key] / runs for key, runs in
               (("defaults", sizes.default_runs), ("no_heartbeat", sizes.no_heartbeat_runs))}
    engine_note = (f"engine {batched:,.0f} complaints/s at 100 per transaction, {n / engine['single']:,.0f}/s at one "
                   f"per transaction; Prefect {prefect.__version__}, temporary local server, start-up not counted")
    return [
        Measure("SQLite: engine (100 per transaction) vs one flow run per complaint, Prefect defaults", batched,
                "complaints/s", 1 / per_run["defaults"], f"{sizes.default_runs} flow runs, Prefect defaults",
                TARGET, note=f"{1000 * per_run['defaults']:,.0f} ms per flow run; {engine_note}"),
        Measure("context: the same, Prefect with the flow heartbeat off (not the naive set-up)", batched,
                "complaints/s", 1 / per_run["no_heartbeat"], f"{sizes.no_heartbeat_runs} flow runs, heartbeat off",
                note=f"{1000 * per_run['no_heartbeat']:,.0f} ms per flow run; no target: a tuned Prefect, for context"),
    ]


def estimate(profile: Profile) -> float:
    sizes = SIZES[profile]
    return 8 + 1.2 * (1 + sizes.default_runs) + 0.1 * sizes.no_heartbeat_runs + 6 * sizes.engine_transitions / 1_500


FIGURE = Figure("prefect_naive", "Against one Prefect flow run per complaint", run, estimate)
