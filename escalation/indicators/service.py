"""Use cases: the indicators of a period, the weekly series, the regulators' returns.

Each reads the facts it needs with one read-only connection and computes the rest in memory,
with the cyclic garbage collector paused (a fact a complaint: see ``complaints.collector``);
time comes from the engine's clock, so ``--now`` replays a report as it stood.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import or_

from complaints.collector import collector_paused
from complaints.errors import ConfigurationError
from escalation.indicators import facts as read
from escalation.indicators.meaning import Meaning
from escalation.indicators.measures import Context, Period, dimension_key, report
from escalation.indicators.returns import FCA_PRESET, cfpb_summary, fca_return, half_year, load_groups
from escalation.indicators.series import weekly
from escalation.policy import SlaPolicy
from escalation.tiers import policy_for
from workflows.engine import WorkflowEngine

#: Without ``--from``: the four weeks to ``--to`` (today by default); the chart, half a year.
DEFAULT_DAYS, DEFAULT_CHART_DAYS = 28, 182
DEFAULT_WORKFLOW = "complaint"


def period_of(engine: WorkflowEngine, first: date | None, last: date | None, days: int = DEFAULT_DAYS) -> Period:
    now = engine.clock.now()
    last = last or now.date()
    return Period.of_days(first or last - timedelta(days=days - 1), last, now)


def meaning_of(engine: WorkflowEngine, workflow: str = DEFAULT_WORKFLOW) -> tuple[Meaning, SlaPolicy]:
    """The meaning of every version of ``workflow``, and the calendars of its newest."""
    versions = [w for w in engine.registry if w.name == workflow]
    newest = engine.registry.get(workflow)
    return Meaning.of(versions), policy_for(newest)


def indicators(engine: WorkflowEngine, first: date | None = None, last: date | None = None,
               by: Sequence[str] = (), workflow: str = DEFAULT_WORKFLOW) -> dict[str, Any]:
    """Every indicator for the period (``first`` to ``last``, whole UTC days), whole and by ``by``."""
    for dimension in by:
        dimension_key(dimension)  # refused before anything is read
    period = period_of(engine, first, last)
    meaning, policy = meaning_of(engine, workflow)
    population = or_(read.received_between(period.start, period.end), read.open_at(period.as_of, meaning))
    with collector_paused():
        with engine.db.read() as conn:
            facts = read.read_facts(conn, meaning, population, period.end, period.as_of)
        cohort = [f for f in facts if period.holds(f.received_at)]
        backlog = [f for f in facts if f.received_at <= period.as_of and f.state not in meaning.done]
        return {"period": period.as_dict(), **report(cohort, backlog, Context(meaning, policy, period.as_of), by)}


def weekly_series(engine: WorkflowEngine, first: date | None = None, last: date | None = None,
                  workflow: str = DEFAULT_WORKFLOW) -> dict[str, Any]:
    period = period_of(engine, first, last, DEFAULT_CHART_DAYS)
    meaning, _ = meaning_of(engine, workflow)
    with collector_paused():
        with engine.db.read() as conn:
            cohort = read.read_facts(conn, meaning, read.received_between(period.start, period.end), period.end,
                                     period.as_of)
            received, crossings = read.read_openings(conn, meaning, period.end)
        return {"period": period.as_dict(), "clocks": list(meaning.sla_clocks),
                "weeks": weekly(cohort, meaning.sla_clocks, received, crossings, period)}


def fca(engine: WorkflowEngine, half: str, groups: str | Path | None = None,
        workflow: str = DEFAULT_WORKFLOW) -> dict[str, Any]:
    """The FCA's half-yearly return for ``half`` ('2026H2')."""
    mapping = load_groups(groups)
    first, last = half_year(half)
    period = Period.of_days(first, last, engine.clock.now())
    meaning, _ = meaning_of(engine, workflow)
    clock = meaning.regulatory_clock(FCA_PRESET)
    if clock is None:
        raise ConfigurationError(f"Workflow '{workflow}' has no regulatory clock with 'preset: {FCA_PRESET}'; "
                                 "the FCA return is counted on it")
    with collector_paused():
        with engine.db.read() as conn:
            facts = read.read_facts(conn, meaning, read.fca_population(period.start, period.end, meaning),
                                    period.end, period.as_of, relief=True)
        return {"half": half.strip().upper(), **fca_return(facts, clock, period, mapping)}


def cfpb(engine: WorkflowEngine, first: date | None = None, last: date | None = None,
         workflow: str = DEFAULT_WORKFLOW) -> dict[str, Any]:
    """The CFPB-style response summary of the complaints received in the period."""
    period = period_of(engine, first, last)
    meaning, _ = meaning_of(engine, workflow)
    with collector_paused():
        with engine.db.read() as conn:
            cohort = read.read_facts(conn, meaning, read.received_between(period.start, period.end), period.end,
                                     period.as_of, relief=True)
        return cfpb_summary(cohort, period)
