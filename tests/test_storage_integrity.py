"""`complaints db check`: every complaint equals the replay of its event log, timers included."""

from __future__ import annotations

import json
from typing import Any

import pytest
from casework import TO_CLOSED, TO_INVESTIGATING, take_in, walk
from sqlalchemy import delete, update
from typer.testing import CliRunner

from complaintflow.bootstrap import App
from complaintflow.cli.app import app as cli
from complaints.clock import FixedClock
from complaints.repository import audit_unlock_t, complaint_t, event_t, timer_t
from workflows import timers
from workflows.integrity import IntegrityReport, check_integrity


@pytest.fixture
def cases(app: App, clock: FixedClock) -> dict[str, str]:
    """One complaint in each interesting position: no timer, waiting on a timer, on hold
    (a timer at a date from the data), closed, archived (final), and one whose timer fired."""
    refs = {name: take_in(app) for name in ("fresh", "waiting", "on_hold", "closed", "archived", "deemed")}
    walk(app, refs["archived"], ["assess", "invalid"])
    walk(app, refs["deemed"], [*TO_INVESTIGATING, "propose"])
    clock.advance(days=91)  # archive is due 90 days after closing, deemed_accepted after 14
    timers.sweep(app.engine)
    walk(app, refs["waiting"], ["assess", "need_info", "info_received"])
    clock.advance(hours=1)
    walk(app, refs["waiting"], ["need_info"])  # entering the state again sets a fresh timer
    walk(app, refs["on_hold"], [*TO_INVESTIGATING, "escalate", "pause"])
    walk(app, refs["closed"], TO_CLOSED)
    return refs


def check(app: App, batch_size: int = 2) -> IntegrityReport:
    return check_integrity(app.db, app.registry, batch_size=batch_size)


def tamper(app: App, table: Any, reference: str, **values: Any) -> None:
    complaint_id = app.engine.get(reference).id
    column = table.c.id if table is complaint_t else table.c.complaint_id
    with app.db.transaction() as conn:
        conn.execute(update(table).where(column == complaint_id).values(**values))


def problems_of(report: IntegrityReport, reference: str) -> list[tuple[str, str]]:
    return [(p.aspect, p.message) for p in report.problems if p.reference == reference]


def test_a_database_written_only_by_the_engine_passes_in_batches(app: App, cases: dict[str, str]) -> None:
    assert app.engine.get(cases["archived"]).state == "archived"
    assert app.engine.get(cases["deemed"]).state == "resolved"
    report = check(app)
    assert report.problems == []
    assert report.ok and report.checked == len(cases)


def test_a_tampered_state_is_reported_with_the_reference(app: App, cases: dict[str, str]) -> None:
    tamper(app, complaint_t, cases["waiting"], state="investigating")
    report = check(app)
    assert report.references == [cases["waiting"]]
    assert ("state", "stored 'investigating', the event log gives 'awaiting_customer'") in problems_of(
        report, cases["waiting"])


def test_a_tampered_version_is_reported(app: App, cases: dict[str, str]) -> None:
    tamper(app, complaint_t, cases["fresh"], version=7)
    assert problems_of(check(app), cases["fresh"]) == [
        ("audit", "event 3 to 7 deleted (the complaint is at version 7)"), ("version", "stored 7, the event log gives 2")]


def test_an_assignee_column_that_disagrees_with_the_log_is_reported(app: App, cases: dict[str, str]) -> None:
    tamper(app, complaint_t, cases["fresh"], assignee="mallory")
    assert problems_of(check(app), cases["fresh"]) == [("assignee", "stored 'mallory', the event log gives None")]


def test_tampered_data_is_reported_key_by_key(app: App, cases: dict[str, str]) -> None:
    data = dict(app.engine.get(cases["closed"]).data)
    data["root_cause_code"] = "OTHER"
    data["sneaked_in"] = True
    tamper(app, complaint_t, cases["closed"], data=data)
    assert problems_of(check(app), cases["closed"]) == [
        ("data", "key 'root_cause_code' stored 'OTHER', the event log gives 'BILLING.DUPLICATE'"),
        ("data", "stored key 'sneaked_in' = True was never set by an event"),
    ]


def test_a_cancelled_timer_of_the_current_state_is_reported(app: App, cases: dict[str, str]) -> None:
    tamper(app, timer_t, cases["on_hold"], status="cancelled")
    assert problems_of(check(app), cases["on_hold"]) == [
        ("timers", "timer 'resume_on_date' of state 'on_hold' should be pending but is not")]


def test_a_pending_timer_of_a_state_left_behind_is_reported(app: App, cases: dict[str, str]) -> None:
    tamper(app, timer_t, cases["deemed"], status="pending")  # deemed_accepted fired; start_follow_up pending
    assert problems_of(check(app), cases["deemed"]) == [
        ("timers", "timer 'deemed_accepted' of state 'resolution_proposed' is pending but the complaint "
                   "is in 'resolved'")]


def test_a_pending_timer_on_a_final_state_is_reported(app: App, cases: dict[str, str]) -> None:
    tamper(app, timer_t, cases["archived"], status="pending")
    assert problems_of(check(app), cases["archived"]) == [
        ("timers", "timer 'archive' is pending but 'archived' is a final state")]


def test_a_timer_not_scheduled_by_the_event_that_entered_the_state_is_reported(
    app: App, cases: dict[str, str]
) -> None:
    complaint_id = app.engine.get(cases["waiting"]).id
    with app.db.transaction() as conn:  # revive the timer of the first visit to awaiting_customer
        conn.execute(update(timer_t).where(timer_t.c.complaint_id == complaint_id, timer_t.c.status == "cancelled")
                     .values(status="pending"))
    found = problems_of(check(app), cases["waiting"])
    assert found[0][1].startswith("timer 'auto_close' is pending but was not scheduled by event 6 ('need_info')")
    assert ("timers", "timer 'auto_close' is pending but 'awaiting_customer' declares no such timer "
                      "(or has it once)") not in found  # the stale one is reported once, as stale


def test_a_missing_event_is_reported_as_a_gap(app: App, cases: dict[str, str]) -> None:
    complaint_id = app.engine.get(cases["closed"]).id
    with app.db.transaction() as conn:  # as someone with the rights to lift the append-only guard
        conn.execute(audit_unlock_t.insert().values(reason="test"))
        conn.execute(delete(event_t).where(event_t.c.complaint_id == complaint_id, event_t.c.seq == 3))
        conn.execute(delete(audit_unlock_t))
    found = problems_of(check(app), cases["closed"])
    assert ("audit", "event 3 deleted (the sequence jumps from 2 to 4)") in found


def test_the_cli_check_exits_non_zero_and_names_each_complaint(
    app: App, cases: dict[str, str], database_url: str
) -> None:
    runner = CliRunner()
    clean = runner.invoke(cli, ["--db", database_url, "--json", "db", "check", "--batch-size", "4"])
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.output) | {"database": None} == {
        "database": None, "checked": 6, "ok": True, "complaints_with_problems": [], "problems": [],
        "access_log_problems": []}
    tamper(app, complaint_t, cases["fresh"], tier="executive")
    tampered = runner.invoke(cli, ["--db", database_url, "db", "check"])
    assert tampered.exit_code == 1
    assert cases["fresh"] in tampered.output and "stored 'executive'" in tampered.output
