"""SLA clocks start, pause and stop with the lifecycle; regulatory clocks never pause; every
escalation trigger moves the case up a tier through the event log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from casework import PAYLOADS, TO_INVESTIGATING, take_in, walk
from conftest import T0

from complaintflow.bootstrap import App, build, init_database
from complaintflow.settings import Settings
from complaints.clock import FixedClock
from complaints.steps import Actor
from complaints.uow import UnitOfWork
from escalation.clocks import ClockState
from escalation.repository import ClockRepository
from escalation.sweep import sweep
from workflows.loader import shipped_workflow_files
from workflows.machine import replay

HANA = Actor("hana", "handler")


def clocks(app: App, reference: str) -> dict[str, ClockState]:
    with UnitOfWork(app.db) as uow:
        return ClockRepository(uow.conn).clocks(uow.cases.get(reference).id)  # type: ignore[arg-type]


def ledger(app: App, reference: str, clock: str | None = None) -> list[tuple[str, str]]:
    with UnitOfWork(app.db) as uow:
        rows = ClockRepository(uow.conn).ledger(uow.cases.get(reference).id)  # type: ignore[arg-type]
    return [(r["clock"], r["entry"]) for r in rows if clock is None or r["clock"] == clock]


def case_of(app: App, reference: str) -> dict[str, Any]:
    with UnitOfWork(app.db) as uow:
        case = uow.cases.get(reference)
        return {"case": case, "events": uow.cases.events(case.id),  # type: ignore[arg-type]
                "timers": uow.cases.timers(case.id), "notes": uow.cases.notifications(case.id)}  # type: ignore[arg-type]


def at(clock: FixedClock, *args: int) -> None:
    clock.at = datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# -- starting, pausing and stopping ------------------------------------------------------------


def test_intake_starts_the_clocks_and_acknowledging_meets_the_acknowledgement_target(app: App) -> None:
    reference = take_in(app)
    found = clocks(app, reference)
    assert {n: c.status for n, c in found.items()} == {
        "acknowledge": "stopped", "first_response": "running", "resolution": "running", "fca": "running"}
    assert found["resolution"].due_at == datetime(2026, 12, 4, 17, 0, tzinfo=UTC)  # 10 business days (Fri closes 17:00)
    assert found["resolution"].warn_at is not None and found["resolution"].warn_at < found["resolution"].due_at
    pending = {(t["kind"], t["name"]) for t in case_of(app, reference)["timers"] if t["status"] == "pending"}
    assert {("sla_breach", "resolution"), ("sla_warning", "resolution"), ("regulatory", "fca.final_response"),
            ("regulatory", "fca.final_response.letter")} <= pending


def test_waiting_on_the_customer_pauses_the_clock_over_the_weekend_and_keeps_the_time_used(app: App, clock: FixedClock) -> None:
    reference = take_in(app)
    at(clock, 2026, 11, 27, 12, 0)  # Friday noon
    walk(app, reference, ["assess", "need_info"])
    paused = clocks(app, reference)["resolution"]
    assert paused.status == "paused" and paused.due_at is None
    assert paused.consumed == 37 * 3600  # Mon-Thu 4 x 8h30, Friday 09:00-12:00
    assert not [t for t in case_of(app, reference)["timers"] if t["name"] == "resolution" and t["status"] == "pending"]
    at(clock, 2026, 11, 30, 10, 0)  # the customer answers on Monday at 10:00
    walk(app, reference, ["info_received"])
    resumed = clocks(app, reference)["resolution"]
    # 84h budget - 37h used = 47h from Monday 10:00: due six business hours later than without the pause
    assert resumed.status == "running" and resumed.due_at == datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    assert ledger(app, reference, "resolution") == [("resolution", e) for e in ("start", "pause", "resume")]


def test_a_policy_change_while_paused_keeps_the_time_used_and_applies_the_new_target(app: App, clock: FixedClock) -> None:
    reference = take_in(app)
    at(clock, 2026, 11, 27, 12, 0)
    walk(app, reference, ["assess", "need_info"])
    at(clock, 2026, 11, 28, 11, 0)  # Saturday: a supervisor takes the case while it waits
    walk(app, reference, ["escalate"])
    still = clocks(app, reference)["resolution"]
    assert (still.status, still.tier, still.consumed) == ("paused", "supervisor", 37 * 3600)
    at(clock, 2026, 11, 30, 10, 0)
    walk(app, reference, ["info_received"])
    resumed = clocks(app, reference)["resolution"]
    # supervisor target P8D = 67h30 of business time; 67h30 - 37h = 30h30 from Monday 10:00 -> Thursday 15:00
    assert (resumed.target, resumed.due_at) == ("P8D", datetime(2026, 12, 3, 15, 0, tzinfo=UTC))
    assert [e for _, e in ledger(app, reference, "resolution")] == ["start", "pause", "retarget", "resume"]


def test_a_calendar_change_while_paused_counts_the_rest_on_the_new_calendar(database_url: str, tmp_path: Path, clock: FixedClock) -> None:
    path = next(p for p in shipped_workflow_files() if p.name == "complaint.yaml")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["name"] = "complaint_riga"
    doc["sla"]["queue_calendars"] = {"supervisors": "lv"}
    custom = tmp_path / "riga.yaml"
    custom.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    app = build(Settings(database_url=database_url, workflow_files=[custom], default_workflow="complaint_riga"), clock=clock)
    if database_url.startswith("sqlite"):
        init_database(app.db)
    try:
        reference = take_in(app)
        at(clock, 2026, 11, 27, 12, 0)
        walk(app, reference, ["assess", "need_info", "escalate"])
        at(clock, 2026, 11, 30, 10, 0)
        walk(app, reference, ["info_received"])
        resumed = clocks(app, reference)["resolution"]
        assert (resumed.calendar, resumed.consumed) == ("lv", 37 * 3600)
        # P8D on the Riga calendar = 67h; 30h left from 12:00 Riga on Monday: Thursday 16:30 Riga
        assert resumed.due_at == datetime(2026, 12, 3, 14, 30, tzinfo=UTC)
    finally:
        app.db.dispose()


def test_the_regulatory_clock_keeps_running_while_the_sla_clock_is_paused(app: App, clock: FixedClock) -> None:
    reference = take_in(app)
    walk(app, reference, ["assess", "need_info"])
    found = clocks(app, reference)
    assert (found["resolution"].status, found["fca"].status) == ("paused", "running")
    assert found["fca"].due_at == T0 + timedelta(weeks=8)
    clock.advance(days=4)  # past close of the third business day, still waiting on the customer
    sweep(app.engine)
    later = clocks(app, reference)
    assert (later["resolution"].status, later["resolution"].consumed) == ("paused", found["resolution"].consumed)
    assert later["fca"].status == "running" and ("fca", "lapsed") in ledger(app, reference, "fca")
    pending = {t["name"] for t in case_of(app, reference)["timers"] if t["status"] == "pending"}
    assert {"fca.final_response", "fca.final_response.letter"} <= pending


def test_proposing_a_resolution_stops_the_resolution_and_regulatory_clocks(app: App) -> None:
    reference = take_in(app)
    walk(app, reference, [*TO_INVESTIGATING, "propose"])
    found = clocks(app, reference)
    assert {n: found[n].status for n in ("first_response", "next_update", "resolution", "fca")} == dict.fromkeys(
        ("first_response", "next_update", "resolution", "fca"), "stopped")
    assert not [t for t in case_of(app, reference)["timers"] if t["status"] == "pending" and t["kind"] != "workflow"]


# -- escalation triggers -------------------------------------------------------------------------


def test_a_case_nobody_touches_escalates_when_its_clock_breaches_and_again_at_the_next_tier(app: App, clock: FixedClock) -> None:
    reference = take_in(app)
    at(clock, 2026, 11, 25, 9, 0)  # the first response (P2D) ran out on Tuesday at 17:30
    report = sweep(app.engine)
    assert report.escalated == [f"{reference} → supervisor"]
    seen = case_of(app, reference)
    assert (seen["case"].tier, seen["case"].queue, seen["case"].state) == ("supervisor", "supervisors", "acknowledged")
    last = seen["events"][-1]
    assert (last["action"], last["actor"], last["tier"]) == ("escalate", "sla-sweep", "supervisor")
    assert "SLA 'first_response' breach" in last["payload"]["reason"]
    assert seen["notes"][-1]["template"] == "escalated"
    restarted = clocks(app, reference)["first_response"]
    assert (restarted.run, restarted.breached_at, restarted.tier) == (2, None, "supervisor")
    clock.advance(days=7)
    sweep(app.engine)
    assert case_of(app, reference)["case"].tier == "specialist"


def test_a_sweep_run_twice_fires_nothing_twice(app: App, clock: FixedClock) -> None:
    reference = take_in(app)
    at(clock, 2026, 11, 25, 9, 0)
    first = sweep(app.engine)
    again = sweep(app.engine)
    assert first.fired and again.fired == [] and again.escalated == []
    assert [e["action"] for e in case_of(app, reference)["events"]].count("escalate") == 1


def test_a_critical_complaint_starts_at_the_supervisor_tier(app: App) -> None:
    reference = take_in(app, severity="critical")
    seen = case_of(app, reference)
    assert (seen["case"].tier, seen["events"][0]["tier"]) == ("supervisor", "supervisor")
    assert clocks(app, reference)["resolution"].target == "P2D"


def test_a_repeat_complaint_about_the_same_product_escalates_at_intake(app: App, clock: FixedClock) -> None:
    customer = {"name": "Ana", "email": "ana@example.com"}
    first = take_in(app, customer=customer)
    clock.advance(days=30)
    other_product = take_in(app, customer=customer, product="Credit card")
    repeat = take_in(app, customer=customer)
    assert case_of(app, other_product)["case"].tier == "frontline"
    seen = case_of(app, repeat)
    assert seen["case"].tier == "supervisor"
    assert seen["events"][-1]["payload"]["reason"] == f"repeat complaint about the same product within 90 days ({first})"


def test_a_rejected_resolution_escalates_in_the_same_transaction(app: App) -> None:
    reference = take_in(app)
    walk(app, reference, [*TO_INVESTIGATING, "propose", "reject"])
    events = case_of(app, reference)["events"]
    assert [e["action"] for e in events[-2:]] == ["reject", "escalate"]
    assert events[-1]["payload"]["reason"] == f"after 'reject': {PAYLOADS['reject']['reason']}"
    assert events[-1]["at"] == events[-2]["at"]


def test_manual_escalation_with_a_reason_retargets_the_running_clocks(app: App) -> None:
    reference = take_in(app)
    walk(app, reference, TO_INVESTIGATING)
    walk(app, reference, ["escalate"])
    found = clocks(app, reference)
    assert (found["resolution"].tier, found["resolution"].target) == ("supervisor", "P8D")
    assert found["next_update"].run == 2  # the escalation told the customer: a fresh update interval


def test_an_overdue_promise_escalates_and_a_kept_one_does_not(app: App, clock: FixedClock) -> None:
    from escalation.services import keep_promises, promise

    kept, broken = take_in(app), take_in(app)
    for ref in (kept, broken):
        promise(app.engine, ref, datetime(2026, 11, 23, 12, 0, tzinfo=UTC), "call back before noon", HANA)
    keep_promises(app.engine, kept, HANA, "called at 11:30")
    clock.advance(hours=4)
    report = sweep(app.engine)
    assert report.escalated == [f"{broken} → supervisor"]
    assert case_of(app, kept)["case"].data["commitment"]["kept"] is True
    assert ("promise_3", "breach") in ledger(app, broken)


def test_approaching_the_regulatory_deadline_queues_the_delay_letter_once(app: App, clock: FixedClock) -> None:
    reference = take_in(app, customer={"name": "Ana", "email": "ana@example.com"})
    walk(app, reference, TO_INVESTIGATING)
    clock.advance(weeks=8, days=-2)
    for _ in range(2):
        sweep(app.engine)
    letters = [n for n in case_of(app, reference)["notes"] if n["template"] == "fca_delay_letter"]
    assert len(letters) == 1
    body = letters[0]["body"]
    assert body.startswith("Dear Ana,") and "end on 18 January 2027." in body  # the day, in the customer's zone
    assert "refer your complaint to the Financial Ombudsman Service (www.financial-ombudsman.org.uk)" in body


def test_an_older_complaint_taken_in_names_the_regulatory_milestones_already_passed_in_its_start_entry(
    app: App,
) -> None:
    reference = take_in(app, received_at="2026-10-01")  # summary resolution passed, final response ahead
    with UnitOfWork(app.db) as uow:
        entries = [e for e in ClockRepository(uow.conn).ledger(uow.cases.get(reference).id) if e["clock"] == "fca"]  # type: ignore[arg-type]
    [start] = entries
    assert start["entry"] == "start" and start["detail"]["passed"] == ["summary_resolution"]
    assert start["reason"].endswith("already passed when the case was taken in: "
                                    "'summary resolution by close of the third business day after receipt'")
    pending = {t["name"] for t in case_of(app, reference)["timers"] if t["status"] == "pending"}
    assert "fca.final_response" in pending and not any(name.startswith("fca.summary_resolution") for name in pending)


def test_the_event_log_still_replays_the_case_after_escalations_and_promises(app: App, clock: FixedClock) -> None:
    from escalation.services import promise

    reference = take_in(app)
    walk(app, reference, [*TO_INVESTIGATING, "propose", "reject"])
    promise(app.engine, reference, datetime(2026, 11, 24, 12, 0, tzinfo=UTC), "call back tomorrow", HANA)
    clock.advance(days=3)
    sweep(app.engine)
    seen = case_of(app, reference)
    folded = replay(seen["events"])
    assert folded is not None
    assert (folded.state, folded.tier, folded.queue, folded.version, folded.data) == (
        seen["case"].state, seen["case"].tier, seen["case"].queue, seen["case"].version, dict(seen["case"].data))


def test_a_step_that_touches_no_clock_costs_the_observer_no_query(app: App) -> None:
    from sqlalchemy import event

    reference = take_in(app)
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(app.db.engine, "before_cursor_execute", listener)
    try:
        walk(app, reference, ["assess"])  # acknowledged -> assessing: no clock starts, pauses or stops
        quiet = list(statements)
        statements.clear()
        walk(app, reference, ["valid"])  # assessing -> investigating: first response stops, updates start
    finally:
        event.remove(app.db.engine, "before_cursor_execute", listener)
    assert not [s for s in quiet if "sla_" in s]
    assert [s for s in statements if "sla_" in s]


def test_statements_on_pending_timers_write_the_status_out_for_the_planner(app: App, clock: FixedClock) -> None:
    """Cancelling, claiming and finding pending timers name 'pending' in the SQL rather than
    binding it: only then can the planner rely on the partial index of pending timers, and
    SQLite cancels about 2.5 times faster."""
    import re

    from sqlalchemy import event

    reference = take_in(app)
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(app.db.engine, "before_cursor_execute", listener)
    try:
        walk(app, reference, [*TO_INVESTIGATING, "pause", "resume"])  # timers cancelled and rescheduled
        at(clock, 2027, 6, 1)
        sweep(app.engine)  # due timers found and claimed
    finally:
        event.remove(app.db.engine, "before_cursor_execute", listener)
    on_status = [s for s in statements if re.search(r"\btimer\b", s) and re.search(r"WHERE.*\bstatus\b", s, re.S)]
    assert any(s.startswith("UPDATE") for s in on_status) and any(s.startswith("SELECT") for s in on_status)
    for statement in on_status:
        assert re.search(r"status = 'pending'", statement), statement


def test_a_catch_up_sweep_never_acts_on_a_deadline_an_earlier_timer_of_the_same_sweep_moved(
    app: App, clock: FixedClock,
) -> None:
    """One late sweep finds several overdue timers of a case: escalating on the first breach
    moves the resolution deadline later, and the resolution timers it had claimed in the same
    sweep no longer apply (they must not escalate the case again)."""
    reference = take_in(app)
    app.engine.advance(reference, "escalate", HANA, {"reason": "customer asked for a manager"})
    at(clock, 2026, 12, 4, 10, 0)  # no sweep since: first response and supervisor resolution both overdue
    sweep(app.engine)
    with UnitOfWork(app.db) as uow:
        entries = ClockRepository(uow.conn).ledger(uow.cases.get(reference).id)  # type: ignore[arg-type]
    breaches = [e for e in entries if e["entry"] == "breach"]
    assert breaches, "the sweep recorded no breach at all"
    for e in breaches:
        assert datetime.fromisoformat(e["detail"]["due_at"]) <= e["at"], (
            f"{e['clock']} breach recorded at {e['at']} for a deadline at {e['detail']['due_at']}")
    tiers = [ev["tier"] for ev in case_of(app, reference)["events"] if ev["action"] == "escalate"]
    assert tiers == ["supervisor", "specialist"]
