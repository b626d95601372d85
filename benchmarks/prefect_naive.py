"""Figure 2: the engine against the naive design, one Prefect flow run per complaint.

The same transition (pause or resume a complaint) is done by ``WorkflowEngine.advance``
directly and by a Prefect flow that wraps that very call, against a temporary local Prefect
server with the flow heartbeat off (its best case, see docs PREFECT.md). Server start-up is
a warm-up round and not counted. Prefect is imported only here, inside the figure.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.databases import HANDLER, fresh_app, investigating_cases
from benchmarks.harness import Context, Figure, Measure, NotAvailable, Profile, Target, interleaved
from benchmarks.transitions import NOW, PAYLOADS, Rotation, engine_round
from complaints.clock import FixedClock

QUIET = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1", "PREFECT_LOGGING_LEVEL": "ERROR",
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
}


@dataclass(frozen=True)
class Sizes:
    flow_runs: int
    engine_transitions: int


SIZES: dict[Profile, Sizes] = {
    "tiny": Sizes(flow_runs=2, engine_transitions=20),
    "quick": Sizes(flow_runs=8, engine_transitions=200),
    "full": Sizes(flow_runs=20, engine_transitions=2_000),
}


def _prefect(ctx: Context) -> Any:
    """Import Prefect with its home in the scratch folder, offline and quiet, no server URL."""
    if os.environ.get("PREFECT_API_URL"):
        raise NotAvailable("PREFECT_API_URL is set; this figure measures the temporary local server")
    # A lasting home: the temporary server starts in 6-7 s on a used database, 11-12 s on a new one.
    os.environ.setdefault("PREFECT_HOME", str(Path(tempfile.gettempdir()) / "complaintflow-bench-prefect"))
    for key, value in QUIET.items():
        os.environ.setdefault(key, value)
    try:
        import prefect
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    except ImportError as exc:
        raise NotAvailable(f"Prefect is not importable: {exc}") from exc
    return prefect, temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


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
    prefect, no_heartbeat = _prefect(ctx)
    per_flow = Rotation(investigating_cases(app, sizes.flow_runs, "flow"))

    @prefect.flow(name="advance-one-complaint", persist_result=False, log_prints=False)
    def advance_one(reference: str, action: str) -> int:
        return app.engine.advance(reference, action, HANDLER, PAYLOADS[action]).seq

    def flows() -> Callable[[], object]:
        steps = per_flow.take(sizes.flow_runs)
        return lambda: [advance_one(ref, action) for ref, action in steps]

    with no_heartbeat:
        seconds = interleaved({"prefect": flows}, repeat=1, warmup=1)["prefect"]
    app.db.dispose()
    logging.getLogger("prefect").setLevel(logging.ERROR)
    prefect_rate = sizes.flow_runs / seconds
    note = (f"Prefect {prefect.__version__}, temporary server, heartbeat off, start-up not counted: "
            f"{1000 * seconds / sizes.flow_runs:.0f} ms per flow run")
    return [
        Measure(f"SQLite: engine, {label}, vs one flow run per complaint", n / engine[key], "complaints/s",
                prefect_rate, f"{sizes.flow_runs} Prefect flow runs", Target(">=", 1_000), note=note)
        for key, label in (("single", "one per transaction"), ("batch", "100 per transaction"))
    ]


def estimate(profile: Profile) -> float:
    sizes = SIZES[profile]
    return 8 + 2 * sizes.flow_runs * 0.1 + 6 * sizes.engine_transitions / 1_500


FIGURE = Figure("prefect_naive", "Against one Prefect flow run per complaint", run, estimate)
