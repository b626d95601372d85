"""SLA outcomes through breaches, escalations and restarts, and past periods that stay as they were."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from casework import PAYLOADS, take_in, walk
from conftest import T0

from complaintflow.bootstrap import App
from complaints.clock import FixedClock
from complaints.steps import Actor
from escalation.indicators import indicators
from escalation.indicators.facts import MET, MISSED, RUNNING, replay_run
from escalation.sweep import sweep

WEEK = (date(2026, 11, 23), date(2026, 11, 29))


def test_a_breach_the_sweep_recorded_counts_though_the_escalation_restarted_the_clock(app: App,
                                                                                      clock: FixedClock) -> None:
    reference = take_in(app)
    clock.at = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)  # first response (P2D) was due Wed 09:00
    report = sweep(app.engine)
    assert report.escalated == [f"{reference} → supervisor"]  # the breached clock starts a new run there
    clock.advance(minutes=30)
    walk(app, reference, ["assess", "valid"])  # well within the new run's two days
    s = indicators(app.engine, *WEEK)["overall"]
    assert s["sla"]["first_response"] == {"met": 0, "missed": 1, "running": 0, "rate": 0.0}
    assert s["escalation"]["escalated"] == 1 and s["escalation"]["highest_tier"]["supervisor"] == 1


def test_a_past_periods_figures_stay_as_they_were_when_asked_again_later(app: App, clock: FixedClock) -> None:
    late = take_in(app, external_id="late")  # nothing is done about it during the week
    prompt = take_in(app, external_id="prompt")
    walk(app, prompt, ["assess", "valid"])
    clock.at = datetime(2026, 11, 30, 9, tzinfo=UTC)
    then = indicators(app.engine, *WEEK)
    # The week after: a sweep escalates both (the late one's first response, the prompt one's next update
    # were overdue), restarting their clocks; both are then answered and given a resolution.
    clock.at = datetime(2026, 12, 1, 9, tzinfo=UTC)
    assert sorted(sweep(app.engine).escalated) == sorted(f"{r} → supervisor" for r in (late, prompt))
    clock.advance(hours=1)
    walk(app, late, ["assess", "valid", "propose"])
    app.engine.advance(prompt, "propose", Actor("hana", "handler"), PAYLOADS["propose"])
    clock.at = datetime(2026, 12, 9, 9, tzinfo=UTC)
    assert indicators(app.engine, *WEEK) == then
    s = then["overall"]
    # At the week's end: the late one's first response was overdue (due Wed 25 09:00), the prompt one's met.
    assert s["sla"]["first_response"] == {"met": 1, "missed": 1, "running": 0, "rate": 0.5}
    assert (s["escalation"]["escalated"], s["time_to_resolution"]["count"], s["backlog"]["open"]) == (0, 0, 2)
    later = indicators(app.engine, WEEK[0], date(2026, 12, 9))["overall"]  # the same complaints, to now
    assert later["escalation"]["escalated"] == 2 and later["time_to_resolution"]["count"] == 2


def _entry(entry: str, hour: int, due: int | None = None) -> dict[str, object]:
    detail = {"due_at": (T0 + timedelta(hours=due)).isoformat()} if due is not None else {}
    return {"entry": entry, "at": T0 + timedelta(hours=hour), "detail": detail}


def test_a_run_is_replayed_from_its_ledger_entries() -> None:
    as_of = T0 + timedelta(hours=10)
    assert replay_run([], as_of) is None
    assert replay_run([_entry("start", 0, due=20)], as_of) == RUNNING
    assert replay_run([_entry("start", 0, due=5)], as_of) == MISSED  # overdue, no breach recorded yet
    assert replay_run([_entry("start", 0, due=5), _entry("pause", 2)], as_of) == RUNNING  # paused: no deadline
    assert replay_run([_entry("start", 0, due=5), _entry("stop", 4)], as_of) == MET
    assert replay_run([_entry("start", 0, due=5), _entry("stop", 6)], as_of) == MISSED  # stopped late
    assert replay_run([_entry("start", 0, due=5), _entry("breach", 5), _entry("restart", 5, due=30)], as_of) == RUNNING
    assert replay_run([_entry("start", 0, due=20), _entry("retarget", 2, due=8)], as_of) == MISSED
