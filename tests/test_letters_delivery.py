"""Letters reach the customer: sent over SMTP to a real server (aiosmtpd) and POSTed to a real
HTTP gateway, each once, with a Message-ID that stays the letter's; refusals fail the letter
and flag its case, temporary failures are tried again later."""

from __future__ import annotations

import hashlib
import hmac
import socket
import ssl
import threading
from datetime import UTC, datetime, timedelta
from email import message_from_string
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.smtp import AuthResult
from casework import take_in, walk
from letterwork import Mailbox, configured, letter_rows, mail_settings, smtp_server, webhook_server

from complaintflow.bootstrap import App
from complaintflow.delivery import send_due
from complaintflow.delivery.smtp import build_message, wire_text
from complaints import outbox
from complaints.clock import FixedClock
from complaints.delivery import OutgoingLetter
from complaints.privacy import erase_customer
from complaints.steps import Actor
from workflows.queries import list_cases

ANNA = {"name": "Anna Bērziņa", "email": "anna@example.lv"}
HANA = Actor("hana", "handler")


def test_a_queued_letter_reaches_the_smtp_server_once_with_its_subject_and_message_id(app: App) -> None:
    reference = take_in(app, customer=ANNA)
    mailbox = Mailbox()
    with smtp_server(mailbox) as server:
        report = send_due(mail_settings(app, server.port))
        again = send_due(app)
    [letter] = letter_rows(app)
    [message] = mailbox.messages
    assert report.sent == [f"{letter['id']} {reference} acknowledgement"] and again.sent == []
    assert (letter["status"], letter["recipient"], letter["sent_at"], letter["attempts"]) == (
        "sent", "anna@example.lv", app.clock.now(), 1)
    assert message["Message-ID"] == letter["message_id"] and letter["message_id"].endswith("@bank.example>")
    assert message["Subject"] == f"Your complaint {reference}"
    assert message["To"] == "Anna Bērziņa <anna@example.lv>" and message["Auto-Submitted"] == "auto-generated"
    assert message.get_content().replace("\r\n", "\n").rstrip("\n") == letter["body"]
    assert mailbox.envelopes == [("complaints@bank.example", ["anna@example.lv"])]


def test_a_latvian_letter_travels_in_seven_bits_and_reads_as_written(sqlite_app: App) -> None:
    take_in(sqlite_app, customer=ANNA, language="lv")
    mailbox = Mailbox()
    with smtp_server(mailbox) as server:
        send_due(mail_settings(sqlite_app, server.port))
    [message] = mailbox.messages
    assert message["Subject"].startswith("Jūsu sūdzība C-2026-")
    assert message["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
    assert "Paldies, ka sazinājāties ar mums." in message.get_content()


def test_a_refused_address_fails_the_letter_for_good_and_the_case_needs_attention(app: App) -> None:
    reference = take_in(app, customer=ANNA)
    mailbox = Mailbox(refuse={"anna@example.lv": "550 5.1.1 no such user"})
    with smtp_server(mailbox) as server:
        report = send_due(mail_settings(app, server.port))
    [letter] = letter_rows(app)
    assert (letter["status"], letter["last_error"]) == ("failed", "the address was refused: 550 5.1.1 no such user")
    assert len(report.failed) == 1 and mailbox.messages == []
    [row] = list_cases(app.engine)
    assert row["reference"] == reference
    assert row["attention"] == "letter 'acknowledgement' failed: the address was refused: 550 5.1.1 no such user"


def test_a_temporary_refusal_is_tried_again_later_and_then_sent_with_the_same_message_id(
    app: App, clock: FixedClock,
) -> None:
    take_in(app, customer=ANNA)
    mailbox = Mailbox(refuse={"anna@example.lv": "451 4.3.0 try again later"})
    with smtp_server(mailbox) as server:
        first = send_due(mail_settings(app, server.port))
        [waiting] = letter_rows(app)
        assert (waiting["status"], waiting["attempts"], waiting["next_attempt_at"]) == (
            "queued", 1, clock.now() + timedelta(minutes=1))
        assert send_due(app).sent == []  # not due yet
        mailbox.refuse.clear()
        clock.advance(minutes=1)
        second = send_due(app)
    [letter] = letter_rows(app)
    assert len(first.retried) == 1 and len(second.sent) == 1
    assert (letter["status"], letter["attempts"], letter["last_error"]) == ("sent", 2, None)
    assert [m["Message-ID"] for m in mailbox.messages] == [waiting["message_id"]] == [letter["message_id"]]


def test_a_letter_that_keeps_failing_for_now_fails_for_good_after_its_last_attempt(sqlite_app: App,
                                                                                     clock: FixedClock) -> None:
    reference = take_in(sqlite_app, customer=ANNA)
    mailbox = Mailbox(refuse={"anna@example.lv": "421 4.7.0 busy"})
    with smtp_server(mailbox) as server:
        mail_settings(sqlite_app, server.port, outbox_max_attempts=3)
        for wait in (0, 1, 2):
            clock.advance(minutes=wait)
            send_due(sqlite_app)
    [letter] = letter_rows(sqlite_app)
    assert (letter["status"], letter["attempts"]) == ("failed", 3)
    assert list_cases(sqlite_app.engine)[0]["attention"].startswith("letter 'acknowledgement' failed: ")
    assert list_cases(sqlite_app.engine)[0]["reference"] == reference


def test_letters_wait_queued_while_the_smtp_server_cannot_be_reached(sqlite_app: App) -> None:
    take_in(sqlite_app, customer=ANNA)
    report = send_due(mail_settings(sqlite_app, 9))  # nothing listens on the discard port
    [letter] = letter_rows(sqlite_app)
    assert letter["status"] == "queued" and "can't reach the SMTP server 127.0.0.1:9" in letter["last_error"]
    assert len(report.retried) == 1


def test_without_a_configured_channel_letters_wait_and_say_why(sqlite_app: App) -> None:
    take_in(sqlite_app, customer=ANNA)
    send_due(sqlite_app)
    [letter] = letter_rows(sqlite_app)
    assert (letter["status"], letter["last_error"]) == (
        "queued", "no sender is configured for channel 'web' (docs/letters.md)")


def test_a_customer_without_an_email_address_is_a_failed_letter_and_a_case_needing_attention(app: App) -> None:
    take_in(app, customer={"name": "Jānis", "phone": "+371 2000 0000"})
    with smtp_server(Mailbox()) as server:
        send_due(mail_settings(app, server.port))
    [letter] = letter_rows(app)
    assert (letter["status"], letter["last_error"]) == ("failed", "the customer has no e-mail address (or it was erased)")


def test_the_letters_of_an_erased_customer_are_never_sent(app: App) -> None:
    reference = take_in(app, customer=ANNA)
    erase_customer(app.db, app.clock.now(), Actor("dpo", "supervisor"), "request of 2026-11-20", reference=reference)
    mailbox = Mailbox()
    with smtp_server(mailbox) as server:
        report = send_due(mail_settings(app, server.port))
    assert report.sent == [] and mailbox.messages == []
    assert [r["status"] for r in letter_rows(app)] == ["cancelled"]


def test_a_letter_held_for_review_waits_until_a_second_handler_releases_it(app: App) -> None:
    reference = take_in(app, customer=ANNA)
    walk(app, reference, ["assess", "invalid"])  # the final response is held (letters.review)
    mailbox = Mailbox()
    with smtp_server(mailbox) as server:
        send_due(mail_settings(app, server.port))
        held = next(r for r in letter_rows(app) if r["template"] == "assessment_invalid")
        assert held["status"] == "held" and len(mailbox.messages) == 1
        outbox.release(app.db, app.clock.now(), held["id"], Actor("hugo", "handler"))  # hana wrote it
        send_due(app)
    assert [m["X-Complaintflow-Letter"] for m in mailbox.messages][-1] == str(held["id"])
    assert next(r for r in letter_rows(app) if r["id"] == held["id"])["status"] == "sent"


def test_letters_go_over_starttls_after_a_login_and_a_refused_login_is_tried_again(
    sqlite_app: App, tmp_path: Path,
) -> None:
    certificate, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, key)

    def authenticate(server: object, session: object, envelope: object, mechanism: str, auth: object) -> AuthResult:
        given = [v.decode() if isinstance(v, bytes) else v for v in (auth.login, auth.password)]  # type: ignore[attr-defined]
        return AuthResult(success=given == ["letters", "s3cret"], handled=False)

    take_in(sqlite_app, customer=ANNA)
    mailbox = Mailbox()
    with smtp_server(mailbox, tls_context=context, require_starttls=True, authenticator=authenticate,
                     auth_require_tls=True) as server:
        mail_settings(sqlite_app, server.port, smtp_starttls=True, smtp_ca_file=certificate, smtp_user="letters",
                      smtp_password="wrong")
        send_due(sqlite_app)
        [refused] = letter_rows(sqlite_app)
        configured(sqlite_app, smtp_password="s3cret")
        sqlite_app.clock.advance(minutes=1)  # type: ignore[attr-defined]
        send_due(sqlite_app)
    assert refused["status"] == "queued" and "refused the session" in refused["last_error"]
    assert [r["status"] for r in letter_rows(sqlite_app)] == ["sent"] and len(mailbox.messages) == 1


def test_letters_of_phone_complaints_are_posted_signed_to_the_webhook(app: App) -> None:
    reference = take_in(app, channel="phone", customer={"name": "Jānis", "phone": "+371 2000 0000"})
    with webhook_server() as (url, received):
        configured(app, webhook_url=url, webhook_secret="shared")
        report = send_due(app)
    [post] = received
    [letter] = letter_rows(app)
    stamp, body = post["headers"]["X-Complaintflow-Timestamp"], post["body"]
    expected = "sha256=" + hmac.new(b"shared", stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert post["headers"]["X-Complaintflow-Signature"] == expected
    assert post["headers"]["Idempotency-Key"] == letter["message_id"] == post["json"]["message_id"]
    assert post["json"]["to"] == {"name": "Jānis", "email": None, "phone": "+371 2000 0000"}
    assert (post["json"]["reference"], post["json"]["body"]) == (reference, letter["body"])
    assert len(report.sent) == 1 and (letter["status"], letter["recipient"]) == ("sent", "+371 2000 0000")


@pytest.mark.parametrize(("answer", "status"), [(503, "queued"), (429, "queued"), (400, "failed"), (410, "failed")])
def test_a_webhook_answer_decides_whether_the_letter_is_tried_again(sqlite_app: App, answer: int, status: str) -> None:
    take_in(sqlite_app, channel="phone", customer={"phone": "+371 2000 0000"})
    with webhook_server([answer]) as (url, _):
        configured(sqlite_app, webhook_url=url, webhook_secret="shared")
        send_due(sqlite_app)
    [letter] = letter_rows(sqlite_app)
    assert letter["status"] == status and letter["last_error"].startswith(f"webhook answered {answer} ")


def test_two_senders_at_once_send_each_letter_once(app: App) -> None:
    for n in range(30):
        take_in(app, customer={"name": f"Customer {n}", "email": f"c{n}@example.com"})
    mailbox = Mailbox()
    with smtp_server(mailbox) as server:
        mail_settings(app, server.port, outbox_batch_size=4)
        errors: list[BaseException] = []

        def sender() -> None:
            try:
                send_due(app)
            except BaseException as exc:  # noqa: BLE001 - reported by the test below
                errors.append(exc)

        threads = [threading.Thread(target=sender) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    assert sorted(mailbox.message_ids().values()) == [1] * 30
    assert {r["status"] for r in letter_rows(app)} == {"sent"}


def self_signed(folder: Path) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                  critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_an_answer_quoting_the_customers_address_is_kept_without_it(sqlite_app: App) -> None:
    take_in(sqlite_app, customer=ANNA)
    mailbox = Mailbox(refuse={"anna@example.lv": "550 5.1.1 <anna@example.lv>: Recipient address rejected"})
    with smtp_server(mailbox) as server:
        report = send_due(mail_settings(sqlite_app, server.port))
    [letter] = letter_rows(sqlite_app)
    assert letter["last_error"] == "the address was refused: 550 5.1.1 <[email]>: Recipient address rejected"
    assert "anna@" not in str(report.as_dict())


def test_erasure_forgets_the_address_a_letter_was_sent_to(sqlite_app: App) -> None:
    reference = take_in(sqlite_app, customer=ANNA)
    with smtp_server(Mailbox()) as server:
        send_due(mail_settings(sqlite_app, server.port))
    assert letter_rows(sqlite_app)[0]["recipient"] == "anna@example.lv"
    erase_customer(sqlite_app.db, sqlite_app.clock.now(), Actor("dpo", "supervisor"), "request", reference=reference)
    [letter] = letter_rows(sqlite_app)
    assert (letter["status"], letter["recipient"]) == ("sent", None)


def test_a_server_that_hangs_up_is_tried_once_a_run_not_once_a_letter(sqlite_app: App) -> None:
    for n in range(3):
        take_in(sqlite_app, customer={"name": f"C {n}", "email": f"c{n}@example.com"})
    accepted: list[object] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:  # a server that hangs up at once
        def hang_up() -> None:
            while True:
                try:
                    connection, _ = listener.accept()
                except OSError:
                    return
                accepted.append(connection)
                connection.close()

        port = listener.getsockname()[1]
        threading.Thread(target=hang_up, daemon=True).start()
        report = send_due(mail_settings(sqlite_app, port))
    assert len(report.retried) == 3 and len(accepted) == 1
    assert {r["last_error"].split(": ")[0] for r in letter_rows(sqlite_app)} == {f"can't reach the SMTP server 127.0.0.1:{port}"}


@pytest.mark.parametrize("name", ["Anna Bērziņa-Kalniņa Ozoliņa Liepiņa Kļaviņa", "Δημήτρης Παπαδόπουλος-Καραγιάννης"])
def test_a_letter_on_the_wire_reads_back_as_built_with_no_line_longer_than_the_rfc_asks(name: str) -> None:
    letter = OutgoingLetter(7, "C-2026-000007", "acknowledgement", "lv", "email",
                            "Jūsu sūdzība C-2026-000007 ir saņemta; mēs atbildēsim piecu darba dienu laikā, "
                            "kā to nosaka noteikumi", "Labdien!\nPaldies.\n", "<7@bank.example>", 1, name,
                            "anna@example.com")
    built = build_message(letter, "Sūdzību nodaļa <complaints@bank.example>", "anna@example.com",
                          FixedClock(datetime(2026, 11, 23, 9, tzinfo=UTC)))
    wire = wire_text(built)
    assert wire.isascii() and max(len(line) for line in wire.splitlines()) <= 78
    read = message_from_string(wire, policy=default)
    assert read["Subject"] == letter.subject and read["To"].addresses[0].display_name == name
    assert read["From"].addresses[0].display_name == "Sūdzību nodaļa"
    assert read.get_content() == "Labdien!\nPaldies.\n" and read["Message-ID"] == "<7@bank.example>"
