"""History imports as history: cases received on their dates, no letters for the past, and
deadlines that passed before the import recorded as passed, never acted on."""

from __future__ import annotations

from datetime import UTC, datetime

from casework import complaint
from importing import IMPORT_FILES, store, write
from sqlalchemy import select

from complaintflow.bootstrap import App
from complaints.clock import FixedClock
from complaints.repository import complaint_t, event_t, note_t, timer_t
from complaints.steps import Actor
from escalation.sweep import sweep
from workflows.integrity import check_integrity

OLD = "product,description,received_at,customer_email\nLoan,Charged twice,2019-03-18,anna@example.lv\n" \
      "Card,Card lost,2019-03-20,ben@example.lv\n"


def rows_of(app: App, table: object, *columns: object) -> list[tuple[object, ...]]:
    with app.db.read() as conn:
        return [tuple(r) for r in conn.execute(select(*columns).select_from(table))]  # type: ignore[arg-type]


def test_old_complaints_are_received_on_their_dates_and_no_letter_is_queued(
    app: App, handler: Actor, tmp_path: object
) -> None:
    report = store(app, write(tmp_path / "old.csv", OLD), handler, historical=True)  # type: ignore[operator]
    assert len(report.created) == 2 and report.errors == []
    events = rows_of(app, event_t, event_t.c.action, event_t.c.at)
    assert {(action, at.date()) for action, at in events} == {  # type: ignore[union-attr]
        ("receive", datetime(2019, 3, 18).date()), ("acknowledge", datetime(2019, 3, 18).date()),
        ("receive", datetime(2019, 3, 20).date()), ("acknowledge", datetime(2019, 3, 20).date())}
    assert rows_of(app, note_t, note_t.c.id) == []  # no acknowledgement promising 2027 deadlines
    assert check_integrity(app.db, app.registry).problems == []


def test_deadlines_that_passed_before_the_import_are_recorded_and_not_acted_on(
    app: App, handler: Actor, clock: FixedClock, tmp_path: object
) -> None:
    store(app, write(tmp_path / "old.csv", OLD), handler, historical=True)  # type: ignore[operator]
    report = sweep(app.engine)
    assert report.fired and report.escalated == [] and report.letters == [] and report.letters_queued == 0
    tiers = {tier for (tier,) in rows_of(app, complaint_t, complaint_t.c.tier)}
    assert tiers == {"frontline"}
    pending_past = [due for due, status in rows_of(app, timer_t, timer_t.c.due_at, timer_t.c.status)
                    if status == "pending" and due < clock.now()]  # type: ignore[operator]
    assert pending_past == []
    assert check_integrity(app.db, app.registry).problems == []


def test_a_closed_case_in_the_file_is_imported_closed_with_its_outcome(app: App, handler: Actor) -> None:
    store(app, IMPORT_FILES / "housing_ombudsman.csv", handler)  # the mapping says: history
    states = rows_of(app, complaint_t, complaint_t.c.external_id, complaint_t.c.state)
    assert {state for _, state in states} == {"closed"}
    closes = rows_of(app, event_t, event_t.c.action, event_t.c.at, event_t.c.payload)
    lambeth = [(at, payload) for action, at, payload in closes if action == "close"
               and payload["outcome"] == "Maladministration"]
    assert lambeth and lambeth[0][0].replace(tzinfo=UTC).date() == datetime(2024, 1, 18).date()  # type: ignore[union-attr]
    assert rows_of(app, note_t, note_t.c.id) == []
    assert check_integrity(app.db, app.registry).problems == []
    sweep(app.engine)  # closed long ago: the archive timers fire
    assert {state for _, state in rows_of(app, complaint_t, complaint_t.c.external_id, complaint_t.c.state)} == {
        "archived"}


def test_history_needs_receipt_dates_and_only_history_comes_closed(app: App, handler: Actor) -> None:
    undated = app.intake.take_in([(2, complaint())], handler, historical=True)
    assert undated.errors == [(2, "row 2: received_at: a historical import needs the date each complaint was received")]
    closed = complaint(received_at=datetime(2023, 1, 2, tzinfo=UTC), closed_at=datetime(2023, 2, 1, tzinfo=UTC),
                       outcome="Upheld")
    live = app.intake.take_in([(3, closed)], handler)
    assert live.errors == [(3, "row 3: closed_at: only a historical import (--historical) takes a complaint that "
                               "is closed already")]
