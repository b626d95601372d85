"""Notes and comments: each an audited event on the case, refused when bad with nothing
written, and masked by erasure like every other event."""

from __future__ import annotations

import json
import sys

import pytest
from casework import take_in
from letterwork import Mailbox, letter_rows, mail_settings, smtp_server

from complaintflow.bootstrap import App
from complaintflow.cli.app import main
from complaintflow.delivery import send_due
from complaints.errors import ConflictError, InvalidInput, NotPermitted
from complaints.limits import NOTE_MAX
from complaints.notes import COMMENT, NOTE, add_note
from complaints.privacy import erase_customer
from complaints.steps import Actor
from complaints.uow import UnitOfWork
from workflows.integrity import check_integrity

HANA = Actor("hana", "handler")
ANNA = {"name": "Anna Bērziņa", "email": "anna@example.lv"}


def events(app: App, reference: str) -> list[dict]:
    with UnitOfWork(app.db) as uow:
        return uow.cases.events(uow.cases.get(reference).id)  # type: ignore[arg-type]


def test_a_note_and_a_comment_are_events_that_leave_the_case_where_it_was(app: App) -> None:
    reference = take_in(app)
    before = app.engine.get(reference)
    note = add_note(app.db, app.clock.now(), reference, HANA, "  Called the branch  ")
    comment = add_note(app.db, app.clock.now(), reference, HANA, "We are looking into it", public=True)
    after = app.engine.get(reference)
    assert (after.state, after.tier, after.version) == (before.state, before.tier, before.version + 2)
    assert (note.seq, note.text, note.public, comment.seq, comment.public) == (
        before.version + 1, "Called the branch", False, before.version + 2, True)
    last = events(app, reference)[-2:]
    assert [(e["action"], e["payload"], e["actor"], e["role"]) for e in last] == [
        (NOTE, {"text": "Called the branch"}, "hana", "handler"),
        (COMMENT, {"text": "We are looking into it"}, "hana", "handler")]
    report = check_integrity(app.db, app.engine.registry)
    assert report.problems == [], "the hash chain holds and the log replays to the case"


def test_a_comment_goes_to_the_customer_as_a_letter_in_their_language_and_a_note_stays_in(app: App) -> None:
    reference = take_in(app, customer=ANNA, language="lv")
    before = len(letter_rows(app))
    add_note(app.db, app.clock.now(), reference, HANA, "Called the branch", letter=app.engine.comment_letter)
    assert len(letter_rows(app)) == before, "an internal note is never sent"
    comment = add_note(app.db, app.clock.now(), reference, HANA, "Naudu atmaksāsim piektdien.", public=True,
                       letter=app.engine.comment_letter)
    [letter] = letter_rows(app)[before:]
    assert (letter["template"], letter["language"], letter["status"], letter["event_seq"]) == (
        "comment", "lv", "queued", comment.seq)
    assert (letter["subject"], letter["body"]) == (f"Jūsu sūdzība {reference}", "Naudu atmaksāsim piektdien.")
    assert check_integrity(app.db, app.engine.registry).problems == []


def test_a_comment_reaches_the_customers_mailbox_as_written(sqlite_app: App) -> None:
    reference = take_in(sqlite_app, customer=ANNA)
    add_note(sqlite_app.db, sqlite_app.clock.now(), reference, HANA, "Your refund of EUR 12 is on its way.",
             public=True, letter=sqlite_app.engine.comment_letter)
    mailbox = Mailbox()
    with smtp_server(mailbox) as server:
        report = send_due(mail_settings(sqlite_app, server.port))
    assert [line.split()[-1] for line in report.sent] == ["acknowledgement", "comment"]
    comment = mailbox.messages[-1]
    assert comment["Subject"] == f"Your complaint {reference}" and comment["To"] == "Anna Bērziņa <anna@example.lv>"
    assert comment.get_content().strip() == "Your refund of EUR 12 is on its way."


@pytest.mark.parametrize(("text", "problem"), [
    ("   ", "text: the note is empty"),
    ("x" * (NOTE_MAX + 1), f"text: at most {NOTE_MAX:,} characters"),
    ("a\x00b", "text: holds a NUL character"),
])
def test_a_bad_note_is_refused_naming_the_field_and_nothing_is_written(app: App, text: str, problem: str) -> None:
    reference = take_in(app)
    count = len(events(app, reference))
    with pytest.raises(InvalidInput, match=problem):
        add_note(app.db, app.clock.now(), reference, HANA, text)
    assert len(events(app, reference)) == count


def test_a_note_on_a_case_that_moved_on_is_refused_when_the_version_is_given(app: App) -> None:
    reference = take_in(app)
    version = app.engine.get(reference).version
    add_note(app.db, app.clock.now(), reference, HANA, "first")
    with pytest.raises(ConflictError, match=f"expected version {version}, it is now at version {version + 1}"):
        add_note(app.db, app.clock.now(), reference, HANA, "second", expected_version=version)
    assert len(events(app, reference)) == version + 1


def test_erasure_masks_personal_data_in_notes_and_the_trail_still_verifies(app: App) -> None:
    reference = take_in(app, customer={"name": "Anna Bērziņa", "email": "anna@example.lv", "phone": "+37120000000"})
    add_note(app.db, app.clock.now(), reference, HANA, "Anna Bērziņa rang from +371 2000 0000, write to anna@example.lv")
    erase_customer(app.db, app.clock.now(), Actor("dora", "supervisor"), "request", email="anna@example.lv")
    note = next(e for e in events(app, reference) if e["action"] == NOTE)
    assert note["payload"]["text"] == "[name erased] rang from [phone], write to [email]"
    assert check_integrity(app.db, app.engine.registry).problems == []


def test_the_note_command_writes_a_note_or_a_public_comment(
        sqlite_app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    reference = take_in(sqlite_app)
    monkeypatch.setattr(sys, "argv", ["complaints", "--db", sqlite_app.db.url, "--actor", "ines", "--json", "note",
                                      reference, "Refund agreed", "--public"])
    with pytest.raises(SystemExit) as exited:
        main()
        raise SystemExit(0)
    assert exited.value.code in (0, None)
    written = json.loads(capsys.readouterr().out)
    assert (written["public"], written["text"], written["actor"]) == (True, "Refund agreed", "ines")
    assert events(sqlite_app, reference)[-1]["action"] == COMMENT
    assert [(n["template"], n["body"]) for n in letter_rows(sqlite_app)][-1] == ("comment", "Refund agreed")
    monkeypatch.setattr(sys, "argv", ["complaints", "--db", sqlite_app.db.url, "note", reference, " "])
    with pytest.raises(SystemExit) as refused:
        main()
    assert refused.value.code == 1 and "the note is empty" in capsys.readouterr().err


def test_a_role_not_shown_the_customers_personal_data_may_not_write_to_them(app: App) -> None:
    reference = take_in(app)
    before = app.engine.get(reference).version
    quinn = Actor("quinn", "quality")
    with pytest.raises(NotPermitted, match="write an internal note instead"):
        add_note(app.db, app.clock.now(), reference, quinn, "We will refund you", public=True,
                 letter=app.engine.comment_letter)
    assert app.engine.get(reference).version == before, "nothing written"
    note = add_note(app.db, app.clock.now(), reference, quinn, "Same cause as last week's", letter=app.engine.comment_letter)
    assert not note.public and app.engine.get(reference).version == before + 1
