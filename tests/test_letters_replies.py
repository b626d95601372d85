"""Replies come back: .eml files in the reply folder are read onto the case they answer (by the
letter they reply to, or by the reference from the customer's own address), with their
attachments kept by content; other mail opens a complaint; unreadable mail fails, reported."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from casework import stored, take_in, walk
from letterwork import Mailbox, configured, mail_settings, smtp_server, write_eml

from complaintflow.bootstrap import App
from complaintflow.delivery import send_due
from complaintflow.replies import read_replies
from complaints.repository import CUSTOMER_MESSAGE
from complaints.steps import Actor
from workflows.queries import list_cases

ANN = {"name": "Ann Lee", "email": "ann@example.com"}


def replies_to(app: App, tmp_path: Path) -> Path:
    configured(app, reply_dir=tmp_path / "replies", attachment_dir=tmp_path / "attachments")
    return tmp_path / "replies"


def asked_for_information(app: App) -> tuple[str, str, str]:
    """A case awaiting the customer, its question sent: (reference, the letter's Message-ID, subject)."""
    reference = take_in(app, customer=ANN)
    walk(app, reference, ["assess", "need_info"])
    mailbox = Mailbox()
    with smtp_server(mailbox) as server:
        send_due(mail_settings(app, server.port))
    question = next(m for m in mailbox.messages if "more information" in m.get_content())
    return reference, str(question["Message-ID"]), str(question["Subject"])


def customer_messages(app: App, reference: str) -> list[dict]:
    return [e for e in stored(app, reference)["events"] if e["action"] == CUSTOMER_MESSAGE]


def test_a_reply_to_a_letter_goes_onto_its_case_with_its_attachment_and_moves_the_case_on(
    app: App, tmp_path: Path,
) -> None:
    reference, message_id, subject = asked_for_information(app)
    folder = replies_to(app, tmp_path)
    write_eml(folder, "0001.eml", f"""From: "Ann Lee" <ann@example.com>
To: complaints@bank.example
Subject: Re: {subject}
Message-ID: <reply-1@example.com>
In-Reply-To: {message_id}
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

The second charge was on 3 November; the statement is attached.
--b1
Content-Type: application/pdf; name="statement.pdf"
Content-Disposition: attachment; filename="statement.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKc3RhdGVtZW50Cg==
--b1--
""")
    report = read_replies(app)
    [outcome] = report.files
    assert (outcome.outcome, outcome.reference) == ("on a case", reference)
    assert outcome.moved_to == str(folder / "processed" / "0001.eml") and not (folder / "0001.eml").exists()
    [message] = customer_messages(app, reference)
    digest = hashlib.sha256(b"%PDF-1.4\nstatement\n").hexdigest()
    assert message["payload"]["text"] == "The second charge was on 3 November; the statement is attached."
    assert message["payload"]["attachments"] == [
        {"name": "statement.pdf", "content_type": "application/pdf", "size": 19, "sha256": digest}]
    assert (tmp_path / "attachments" / digest[:2] / digest).read_bytes() == b"%PDF-1.4\nstatement\n"
    case = stored(app, reference)
    assert case["state"] == "assessing" and case["events"][-1]["action"] == "info_received"
    assert list_cases(app.engine)[0]["attention"] == "the customer wrote"  # a person has to read it


def test_reading_the_same_reply_again_stores_it_once(app: App, tmp_path: Path) -> None:
    reference, message_id, subject = asked_for_information(app)
    folder = replies_to(app, tmp_path)
    text = (f"From: ann@example.com\nSubject: Re: {subject}\nMessage-ID: <reply-2@example.com>\n"
            f"In-Reply-To: {message_id}\n\nHere it is.\n")
    write_eml(folder, "a.eml", text)
    read_replies(app)
    write_eml(folder, "a.eml", text)  # the mail server delivered it twice, or a run crashed before moving it
    [again] = read_replies(app).files
    assert again.outcome == "already read" and len(customer_messages(app, reference)) == 1
    assert (folder / "processed" / "a.eml").exists() and len(list((folder / "processed").iterdir())) == 2


def test_a_reference_in_the_subject_from_the_customers_address_finds_the_case(sqlite_app: App, tmp_path: Path) -> None:
    reference = take_in(sqlite_app, customer=ANN)
    folder = replies_to(sqlite_app, tmp_path)
    write_eml(folder, "b.eml", f"From: ANN@example.com\nSubject: About {reference}\n\nAny news?\n")
    [outcome] = read_replies(sqlite_app).files
    assert (outcome.outcome, outcome.reference) == ("on a case", reference)
    assert stored(sqlite_app, reference)["state"] == "acknowledged"  # nothing was asked: it stays


def test_a_reference_quoted_from_another_address_opens_a_complaint_of_its_own(sqlite_app: App, tmp_path: Path) -> None:
    reference = take_in(sqlite_app, customer=ANN)
    folder = replies_to(sqlite_app, tmp_path)
    write_eml(folder, "c.eml", f"From: Mallory <m@example.net>\nSubject: Re: {reference}\n\nClose it please.\n")
    [outcome] = read_replies(sqlite_app).files
    assert outcome.outcome == "new complaint" and outcome.reference != reference
    assert f"quotes {reference} but comes from another address than its customer's" in outcome.notes
    assert customer_messages(sqlite_app, reference) == []


def test_mail_that_answers_no_case_opens_a_complaint_from_its_sender_once(app: App, tmp_path: Path) -> None:
    folder = replies_to(app, tmp_path)
    text = ("From: Jānis Bērziņš <janis@example.lv>\nSubject: Nauda divreiz\nContent-Language: lv\n"
            "Message-ID: <new-1@example.lv>\nContent-Type: text/plain; charset=utf-8\n"
            "Content-Transfer-Encoding: 8bit\n\nNo konta divreiz noņemta maksa.\n")
    write_eml(folder, "d.eml", text)
    [outcome] = read_replies(app).files
    write_eml(folder, "d.eml", text)
    [again] = read_replies(app).files
    assert outcome.outcome == again.outcome == "new complaint" and outcome.reference == again.reference
    case = stored(app, outcome.reference)  # type: ignore[arg-type]
    view = case["events"][0]["payload"]
    assert (view["channel"], view["language"], view["description"]) == ("email", "lv", "No konta divreiz noņemta maksa.")
    assert len(customer_messages(app, outcome.reference)) == 1  # type: ignore[arg-type]
    assert [n["language"] for n in case["notifications"]] == ["lv"]  # acknowledged in Latvian


def test_unreadable_mail_goes_to_failed_with_a_report_and_the_rest_is_read(sqlite_app: App, tmp_path: Path) -> None:
    folder = replies_to(sqlite_app, tmp_path)
    write_eml(folder, "1-garbage.eml", "this is not an e-mail at all\n")
    write_eml(folder, "2-empty.eml", "From: ann@example.com\nSubject: hi\n\n   \n")
    write_eml(folder, "3-good.eml", "From: ann@example.com\nSubject: Refund\n\nPlease refund the fee.\n")
    (folder / ".4-arriving.eml").write_text("From: x@example.com\n\npartial")
    (folder / "notes.txt").write_text("not mail")
    configured(sqlite_app, reply_max_bytes=10_000)
    write_eml(folder, "5-huge.eml", "From: ann@example.com\nSubject: big\n\n" + "x" * 20_000)
    report = read_replies(sqlite_app)
    assert [(f.file, f.outcome) for f in report.files] == [
        ("1-garbage.eml", "failed"), ("2-empty.eml", "failed"), ("3-good.eml", "new complaint"), ("5-huge.eml", "failed")]
    written = json.loads((folder / "failed" / "1-garbage.eml.report.json").read_text(encoding="utf-8"))
    assert written["notes"][0] == "no sender address (From:) to answer or match the customer by"
    assert json.loads((folder / "failed" / "2-empty.eml.report.json").read_text())["notes"] == ["no text and nothing attached"]
    assert "more than the 10,000 read" in json.loads((folder / "failed" / "5-huge.eml.report.json").read_text())["notes"][0]
    assert sorted(p.name for p in folder.iterdir()) == [".4-arriving.eml", "failed", "notes.txt", "processed"]


def test_an_attachment_over_the_limit_is_named_but_not_kept(sqlite_app: App, tmp_path: Path) -> None:
    reference = take_in(sqlite_app, customer=ANN)
    folder = replies_to(sqlite_app, tmp_path)
    configured(sqlite_app, attachment_max_bytes=4)
    write_eml(folder, "e.eml", f"""From: ann@example.com
Subject: {reference}
Content-Type: multipart/mixed; boundary="b"

--b
Content-Type: text/plain

Photo attached.
--b
Content-Type: image/png
Content-Disposition: attachment; filename="../../etc/photo.png"
Content-Transfer-Encoding: base64

iVBORw0KGgoAAAANSUhEUg==
--b--
""")
    read_replies(sqlite_app)
    [message] = customer_messages(sqlite_app, reference)
    [meta] = message["payload"]["attachments"]
    assert meta == {"name": "photo.png", "content_type": "image/png", "size": 16,
                    "refused": "larger than 4 bytes (COMPLAINTS_ATTACHMENT_MAX_BYTES)"}
    assert not (tmp_path / "attachments").exists()


def test_an_html_only_reply_is_read_as_its_text(sqlite_app: App, tmp_path: Path) -> None:
    reference = take_in(sqlite_app, customer=ANN)
    folder = replies_to(sqlite_app, tmp_path)
    write_eml(folder, "f.eml", f"From: ann@example.com\nSubject: {reference}\nContent-Type: text/html\n\n"
                               "<html><style>p{{}}</style><p>First line</p><p>Second &amp; last</p></html>\n")
    read_replies(sqlite_app)
    [message] = customer_messages(sqlite_app, reference)
    assert message["payload"]["text"] == "First line\nSecond & last"


def test_a_person_acting_on_the_case_answers_the_customers_message(sqlite_app: App, tmp_path: Path) -> None:
    reference = take_in(sqlite_app, customer=ANN)
    folder = replies_to(sqlite_app, tmp_path)
    write_eml(folder, "g.eml", f"From: ann@example.com\nSubject: {reference}\n\nAny news?\n")
    read_replies(sqlite_app)
    assert list_cases(sqlite_app.engine)[0]["attention"] == "the customer wrote"
    walk(sqlite_app, reference, ["assess"], Actor("hana", "handler"))
    assert list_cases(sqlite_app.engine)[0]["attention"] is None
