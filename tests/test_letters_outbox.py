"""The handler sees before the customer does: a step's letters previewed with nothing written,
letters held, released, edited, cancelled and sent again, each change an event on the case."""

from __future__ import annotations

import pytest
from casework import PAYLOADS, stored, take_in, walk
from letterwork import letter_rows

from complaintflow.bootstrap import App
from complaints import outbox
from complaints.errors import InvalidInput, LetterNotChangeable, NotPermitted
from complaints.repository import note_t
from complaints.steps import Actor
from workflows.integrity import check_integrity
from workflows.queries import list_cases

HANA = Actor("hana", "handler")
SAM = Actor("sam", "supervisor")
ANN = {"name": "Ann Lee", "email": "ann@example.com"}


def letter_of(app: App, template: str) -> dict:
    return next(r for r in letter_rows(app) if r["template"] == template)


def events(app: App, reference: str) -> list[dict]:
    return [e for e in stored(app, reference)["events"] if e["action"].startswith("letter_")]


def test_a_preview_shows_the_letters_a_step_would_send_and_writes_nothing(app: App) -> None:
    reference = take_in(app, customer=ANN, language="el")
    walk(app, reference, ["assess"])
    before = stored(app, reference)
    step = app.engine.preview(reference, "invalid", HANA, PAYLOADS["invalid"])
    assert stored(app, reference) == before
    [letter] = step.notifications
    assert (step.to_state, letter.template, letter.language, letter.held) == ("closed", "assessment_invalid", "el", True)
    assert letter.subject == f"Το παράπονό σας {reference}"
    assert "Οι λόγοι μας: the loan is with another lender." in letter.body
    assert "Financial Ombudsman Service" in letter.body and "έως τις 23 Μαΐου 2027" in letter.body
    walk(app, reference, ["invalid"])
    assert letter_of(app, "assessment_invalid")["body"] == letter.body  # what the preview showed is what is written


def test_a_held_letter_needs_attention_until_a_handler_releases_it_and_both_are_audited(app: App) -> None:
    reference = take_in(app, customer=ANN)
    walk(app, reference, ["assess", "invalid"])
    held = letter_of(app, "assessment_invalid")
    assert held["status"] == "held"
    assert list_cases(app.engine)[0]["attention"] == "letter 'assessment_invalid' held for review"
    released = outbox.release(app.db, app.clock.now(), held["id"], SAM, note="read and agreed")
    assert released["status"] == "queued" and letter_of(app, "assessment_invalid")["next_attempt_at"] == app.clock.now()
    assert list_cases(app.engine)[0]["attention"] is None
    [event] = events(app, reference)
    assert (event["action"], event["actor"], event["payload"]) == (
        "letter_released", "sam", {"letter": held["id"], "template": "assessment_invalid", "note": "read and agreed"})


def test_an_edit_keeps_the_text_before_and_after_in_the_audit_trail_and_may_release(app: App) -> None:
    reference = take_in(app, customer=ANN)
    walk(app, reference, ["assess", "invalid"])
    held = letter_of(app, "assessment_invalid")
    new = held["body"].replace("the loan is with another lender", "your loan is with Lender B, not with us")
    outbox.edit(app.db, app.clock.now(), held["id"], SAM, body=new, subject="Our final response", release_it=True)
    edited = letter_of(app, "assessment_invalid")
    assert (edited["status"], edited["body"], edited["subject"]) == ("queued", new, "Our final response")
    [event] = events(app, reference)
    assert event["action"] == "letter_edited" and event["payload"]["released"] is True
    assert (event["payload"]["body_before"], event["payload"]["body"]) == (held["body"], new)
    assert event["payload"]["subject_before"] == f"Your complaint {reference}"
    assert check_integrity(app.db, app.registry).problems == []  # the chain verifies, the case replays


@pytest.mark.parametrize("release", [
    lambda app, letter, actor: outbox.release(app.db, app.clock.now(), letter, actor),
    lambda app, letter, actor: outbox.edit(app.db, app.clock.now(), letter, actor, body="Our final word.", release_it=True),
], ids=["release", "edit and release"])
def test_a_letter_held_for_review_is_released_by_a_second_reader_not_by_its_author(app: App, release) -> None:
    reference = take_in(app, customer=ANN)
    walk(app, reference, ["assess", "invalid"], HANA)
    held = letter_of(app, "assessment_invalid")
    with pytest.raises(NotPermitted, match=rf"^Letter {held['id']} \('assessment_invalid'\) waits for a second "
                                           "reader: hana wrote it, so another person reads it and releases it"):
        release(app, held["id"], HANA)
    assert letter_of(app, "assessment_invalid")["status"] == "held" and events(app, reference) == []
    release(app, held["id"], SAM)
    assert letter_of(app, "assessment_invalid")["status"] == "queued"


def test_a_letter_held_by_hand_is_released_by_whoever_held_it(app: App) -> None:
    take_in(app, HANA, customer=ANN)
    ack = letter_of(app, "acknowledgement")
    outbox.hold(app.db, app.clock.now(), ack["id"], HANA)
    assert outbox.release(app.db, app.clock.now(), ack["id"], HANA)["status"] == "queued"


def test_hold_then_cancel_with_a_reason_and_a_cancelled_letter_can_be_sent_again(app: App) -> None:
    reference = take_in(app, customer=ANN)
    ack = letter_of(app, "acknowledgement")
    outbox.hold(app.db, app.clock.now(), ack["id"], HANA)
    with pytest.raises(InvalidInput, match="reason: say why it is not sent"):
        outbox.cancel(app.db, app.clock.now(), ack["id"], HANA, "  ")
    outbox.cancel(app.db, app.clock.now(), ack["id"], HANA, "told on the phone")
    assert letter_of(app, "acknowledgement")["status"] == "cancelled"
    outbox.resend(app.db, app.clock.now(), ack["id"], HANA)
    again = letter_of(app, "acknowledgement")
    assert (again["status"], again["attempts"]) == ("queued", 0)
    assert [e["action"] for e in events(app, reference)] == ["letter_held", "letter_cancelled", "letter_resent"]
    assert events(app, reference)[1]["payload"]["reason"] == "told on the phone"


def test_a_sent_letter_cannot_be_changed_and_sending_it_again_makes_a_new_letter(app: App) -> None:
    reference = take_in(app, customer=ANN)
    ack = letter_of(app, "acknowledgement")
    with app.db.transaction() as conn:
        conn.execute(note_t.update().where(note_t.c.id == ack["id"]).values(status="sent", message_id="<a@x>"))
    for change in (outbox.hold, outbox.release):
        with pytest.raises(LetterNotChangeable, match=rf"^Can't \w+ letter {ack['id']} \('acknowledgement' of "
                                                      rf"{reference}\): it is sent; \w+ applies to letters that are "):
            change(app.db, app.clock.now(), ack["id"], HANA)
    with pytest.raises(LetterNotChangeable, match="it is sent; edit applies to letters that are queued or held or failed"):
        outbox.edit(app.db, app.clock.now(), ack["id"], HANA, body="New text")
    copy = outbox.resend(app.db, app.clock.now(), ack["id"], HANA, note="the customer lost it")
    rows = letter_rows(app)
    assert [(r["id"], r["status"], r["message_id"]) for r in rows] == [(ack["id"], "sent", "<a@x>"),
                                                                       (copy["id"], "queued", None)]
    assert rows[1]["body"] == ack["body"] and events(app, reference)[-1]["seq"] == rows[1]["event_seq"]


def test_a_letter_a_sender_has_claimed_is_no_longer_the_handlers_to_change(app: App) -> None:
    take_in(app, customer=ANN)
    ack = letter_of(app, "acknowledgement")
    with app.db.transaction() as conn:
        conn.execute(note_t.update().where(note_t.c.id == ack["id"]).values(status="sending"))
    with pytest.raises(LetterNotChangeable, match="it is sending; cancel applies to letters that are queued or held or failed"):
        outbox.cancel(app.db, app.clock.now(), ack["id"], HANA, "not needed")
    assert letter_of(app, "acknowledgement")["status"] == "sending"


def test_an_edit_that_would_break_the_letter_is_refused_naming_each_problem(sqlite_app: App) -> None:
    take_in(sqlite_app, customer=ANN)
    ack = letter_of(sqlite_app, "acknowledgement")
    with pytest.raises(InvalidInput) as refused:
        outbox.edit(sqlite_app.db, sqlite_app.clock.now(), ack["id"], HANA, body=" ", subject="x" * 301)
    assert refused.value.problems == ["body: the letter would be empty", "subject: 1 to 300 characters"]
    with pytest.raises(InvalidInput, match="body: holds a NUL character"):
        outbox.edit(sqlite_app.db, sqlite_app.clock.now(), ack["id"], HANA, body="a\x00b")
    assert letter_of(sqlite_app, "acknowledgement")["body"] == ack["body"]
