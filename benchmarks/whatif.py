"""Figure: a year of history replayed under another SLA policy, beside a plain replay of it.

The year of the indicators figure (``benchmarks.indicators``: twelve walked histories copied
across a year, with their events, clocks and ledger; 100,000 complaints at full size). Timed
in alternating rounds: ``escalation.whatif.WhatIf`` replaying every complaint of the year
under a reviewed policy (a one-day first response at the frontline, a shorter resolution
target, escalation on the warning of the next update) beside what the clocks recorded,
against a plain replay of the same events: read batch by batch as the what-if reads them, with
the changes they made, each complaint's log folded into its state (``workflows.machine.replay``). Both are reported as complaints a
second; the target is a ratio of at least 0.25, and the what-if of the full size within two
minutes. ``COMPLAINTS_BENCH_WHATIF_SIZE`` sets another size.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime

from benchmarks.harness import Context, Figure, Measure, Profile, Target, interleaved
from benchmarks.indicators import NOW, YEAR_START, build_year, walk
from complaintflow.bootstrap import App, build
from complaintflow.settings import Settings
from complaints.clock import FixedClock
from complaints.uow import UnitOfWork
from escalation.whatif import DEFAULT_BATCH, WhatIf
from workflows.machine import replay

#: A review of the shipped rules: what its figures would have been over the year.
POLICY = {
    "sla": {"clocks": {"first_response": {"targets": {"frontline": {"medium": "P1D"}}},
                       "resolution": {"targets": {"frontline": {"medium": "P8D", "low": "P12D"}}}}},
    "escalation": {"on_warning": ["next_update"]},
}
START = YEAR_START.replace(hour=0)


@dataclass(frozen=True)
class Sizes:
    complaints: int
    repeat: int


SIZES: dict[Profile, Sizes] = {
    "tiny": Sizes(complaints=600, repeat=1),
    "quick": Sizes(complaints=10_000, repeat=2),
    "full": Sizes(complaints=100_000, repeat=2),
}


def sizes_for(profile: Profile) -> Sizes:
    """The profile's sizes, or the number of complaints ``COMPLAINTS_BENCH_WHATIF_SIZE`` asks for."""
    wanted = os.environ.get("COMPLAINTS_BENCH_WHATIF_SIZE")
    sizes = SIZES[profile]
    return Sizes(int(wanted), sizes.repeat) if wanted else sizes


def plain_replay(app: App, start: datetime, end: datetime, batch: int = DEFAULT_BATCH, changes: bool = True) -> int:
    """The same complaints' events, with the changes a replay folds, each log folded into
    its complaint's state as ``complaints db check`` does."""
    after, folded = 0, 0
    while True:
        with UnitOfWork(app.db) as uow:
            cases = uow.cases.received_between(start, end, after, batch)
            if not cases:
                return folded
            ids = [c.id for c in cases]
            events = uow.cases.history_events(ids, end, changes)
        for cid in ids:
            if replay(r._mapping for r in events[cid]) is not None:
                folded += 1
        after = ids[-1]


def run(ctx: Context) -> list[Measure]:
    sizes = sizes_for(ctx.profile)
    url = ctx.sqlite_url("whatif_year")
    build_year(url, walk(ctx), sizes.complaints)
    app = build(Settings(database_url=url), clock=FixedClock(NOW))
    try:
        what_if = WhatIf(app.engine, POLICY, "review.yaml")
        report = what_if.run(START, NOW)
        if report.cases != sizes.complaints or plain_replay(app, START, NOW) != sizes.complaints:
            raise AssertionError(f"replayed {report.cases:,} of {sizes.complaints:,} complaints")
        recorded, changed = report.totals()
        seconds = interleaved({
            "whatif": lambda: lambda: what_if.run(START, NOW),
            "replay": lambda: lambda: plain_replay(app, START, NOW),
            "states": lambda: lambda: plain_replay(app, START, NOW, changes=False),
        }, sizes.repeat, warmup=1)
    finally:
        app.db.dispose()
    n = sizes.complaints
    figures = (f"recorded breaches {recorded.breaches:,}, escalations {recorded.escalations:,}; what-if "
               f"{changed.breaches:,} and {changed.escalations:,}")
    measures = [Measure(
        f"SQLite: what-if of a year, {n:,} complaints", n / seconds["whatif"], "complaints/s",
        n / seconds["replay"], "plain replay of the same events (machine.replay)", Target(">=", 0.25),
        note=f"escalation.whatif {seconds['whatif']:.2f} s, the plain replay {seconds['replay']:.2f} s; {figures}",
    )]
    measures.append(Measure(
        "the same replay folding states only (no changes read)", n / seconds["states"], "complaints/s",
        note="context, no target: what reading the events' changes costs the plain replay"))
    if n >= 100_000:
        measures.append(Measure(f"SQLite: what-if of {n:,} complaints", seconds["whatif"], "s",
                                target=Target("<=", 120, on="value"), note="the whole what-if, reads included"))
    return measures


def estimate(profile: Profile) -> float:
    sizes = sizes_for(profile)
    return 10 + sizes.complaints / 1_000 + (sizes.repeat + 1) * sizes.complaints / 2_000


FIGURE = Figure("whatif", "What-if: a year replayed under another policy, beside a plain replay", run, estimate)
