"""Figure 6: peak resident memory of the nightly analysis (linking, recurrence, CAPA checks).

The database is filled with CFPB complaints (raw inserts, setup only); the analysis runs in a
fresh process and reports that process's own peak RSS. The baseline is the same process
doing everything but the analysis (interpreter, imports, application built): the floor.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from benchmarks import data
from benchmarks.databases import bulk_complaints, fresh_app, raw_sqlite
from benchmarks.harness import Context, Figure, Measure, NotAvailable, Profile, Target
from benchmarks.probe import measure
from complaintflow.bootstrap import build
from complaintflow.settings import Settings
from complaints.clock import FixedClock

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SIZES: dict[Profile, int] = {"tiny": 300, "quick": 3_000, "full": 100_000}
LIMIT_MB = 2_048


def _nightly() -> Callable[..., Any]:
    try:
        from root_cause.nightly import nightly
    except ImportError as exc:
        raise NotAvailable(f"root_cause.nightly is not there yet ({exc})") from exc
    return nightly


# -- jobs run in a child process by benchmarks.probe --------------------------------------------


def floor_job(url: str) -> Callable[[], dict[str, Any]]:
    _nightly()
    build(Settings(database_url=url), clock=FixedClock(NOW))
    return dict


def nightly_job(url: str) -> Callable[[], dict[str, Any]]:
    nightly = _nightly()
    app = build(Settings(database_url=url), clock=FixedClock(NOW))

    def work() -> dict[str, Any]:
        result = nightly(app.db, app.taxonomy, NOW)
        return {"parts": sorted(result)} if isinstance(result, dict) else {}

    return work


def run(ctx: Context) -> list[Measure]:
    _nightly()
    count = SIZES[ctx.profile]
    url = ctx.sqlite_url("memory")
    fresh_app(url, FixedClock(NOW)).db.dispose()
    conn = raw_sqlite(url)
    bulk_complaints(conn, count, 0, data.cfpb_rows(), "investigating", None, NOW, NOW)
    conn.close()
    floor = measure("benchmarks.memory:floor_job", url)
    night = measure("benchmarks.memory:nightly_job", url)
    return [Measure(
        f"SQLite: nightly analysis of {count:,} complaints, peak RSS", night["peak_mb"], "MB", floor["peak_mb"],
        "same process without the analysis", Target("<=", LIMIT_MB, on="value"),
        note=f"root_cause.nightly took {night['seconds']:.1f} s; {data.source_name()}",
    )]


def estimate(profile: Profile) -> float:
    return 4 + SIZES[profile] / 1_100


FIGURE = Figure("memory", "Memory of the nightly analysis", run, estimate)
