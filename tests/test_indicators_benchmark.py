"""The indicators benchmark figure runs at tiny size, and its year holds every kind of history.

No timing is asserted: the figure compares itself with its baseline."""

from __future__ import annotations

from pathlib import Path

from benchmarks import indicators as figure
from benchmarks.harness import Context
from complaintflow.bootstrap import build
from complaintflow.settings import Settings
from complaints.clock import FixedClock
from escalation.indicators import indicators


def test_the_figure_times_a_years_indicators_beside_the_counting_query_on_every_kind_of_history(
        tmp_path: Path) -> None:
    ctx = Context("tiny", tmp_path)
    sqlite, postgres = figure.run(ctx)
    assert sqlite.name == "SQLite: every indicator of a year, 600 complaints"
    assert sqlite.value and sqlite.baseline and sqlite.target is not None and sqlite.met in (True, False)
    assert postgres.value is None and "skipped" in postgres.note
    app = build(Settings(database_url=f"sqlite:///{tmp_path / 'indicators_year.db'}"), clock=FixedClock(figure.NOW))
    try:
        s = indicators(app.engine, figure.FIRST_DAY, figure.LAST_DAY, by=["channel", "product"])["overall"]
    finally:
        app.db.dispose()
    assert s["received"] == 600
    # each history's copies show in the figures it is there for
    assert s["invalid"]["invalid"] and s["invalid"]["lapsed"] and s["reopened"]["reopened"]
    assert s["escalation"]["escalated"] and s["escalation"]["highest_tier"]["specialist"]
    assert s["promises"]["kept"] and s["promises"]["broken"]
    assert s["satisfaction"]["satisfied"] and s["satisfaction"]["no_answer"]
    assert all(c["met"] for c in s["sla"].values()) and any(c["missed"] for c in s["sla"].values())
    assert s["regulatory"]["fca"]["final_response"]["met"] and s["backlog"]["open"]
