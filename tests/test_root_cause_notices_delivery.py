"""Root-cause notices reach the quality team: the delivery run sends queued ``rc_notice`` rows
to a real SMTP server (aiosmtpd) like letters, once each, retried after a temporary refusal
with the same Message-ID, and every outcome is on the alert's audit trail."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from letterwork import Mailbox, configured, mail_settings, smtp_server, webhook_server
from test_root_cause_alerts import QUINN, _rising

from complaintflow.bootstrap import App
from complaintflow.delivery import send_due
from complaints.clock import FixedClock
from root_cause import alert_service

TEAM = "quality-team@bank.example"


def assigned(app: App, clock: FixedClock, address: str | None = None) -> dict[str, Any]:
    """An alert assigned to ops-lead, which queues one notice to them; the alert's view."""
    alert = _rising(app, clock)
    alert_service.change_alert(app.db, clock.now(), alert["id"], "assign", QUINN, owner="ops-lead", address=address)
    return alert_service.alert_view(app.db, alert["id"])


def test_a_notice_reaches_the_owners_address_once_and_its_alert_records_it(app: App, clock: FixedClock) -> None:
    view = assigned(app, clock, address="ops@bank.example")
    mailbox = Mailbox()
    with smtp_server(mailbox) as server:
        report = send_due(mail_settings(app, server.port, quality_team_address=TEAM))
        again = send_due(app)
    after = alert_service.alert_view(app.db, view["id"])
    [notice] = after["notices"]
    [message] = mailbox.messages
    assert report.notices is not None and report.notices.sent == [f"notice {notice['id']} RC-ALERT-{view['id']}"]
    assert again.notices is not None and again.notices.sent == [] and report.sent == []
    assert (notice["status"], notice["attempts"], notice["sent_at"], notice["last_error"]) == (
        "sent", 1, clock.now(), None)
    assert mailbox.envelopes == [("complaints@bank.example", ["ops@bank.example"])]
    assert message["Message-ID"] == notice["message_id"] and message["Subject"] == notice["subject"]
    assert "rootcause alerts show" in message.get_content()
    event = after["events"][-1]
    assert (event["action"], event["from_status"], event["to_status"], event["actor"]) == (
        "notice_sent", after["status"], after["status"], "notice-delivery")
    assert event["details"]["to"] == "ops@bank.example" and event["details"]["notice"] == notice["id"]
    assert report.as_dict()["notices"]["sent"] == report.notices.sent


def test_a_notice_to_an_owner_without_an_address_goes_to_the_quality_team(sqlite_app: App, clock: FixedClock) -> None:
    assigned(sqlite_app, clock)
    mailbox = Mailbox()
    with smtp_server(mailbox) as server:
        send_due(mail_settings(sqlite_app, server.port, quality_team_address=TEAM))
    [message] = mailbox.messages
    assert mailbox.envelopes == [("complaints@bank.example", [TEAM])]
    assert message["To"] == f"ops-lead <{TEAM}>"


def test_a_temporary_refusal_is_tried_again_later_with_the_same_message_id_and_audited(
    app: App, clock: FixedClock,
) -> None:
    view = assigned(app, clock, address="ops@bank.example")
    mailbox = Mailbox(refuse={"ops@bank.example": "451 4.3.0 try again later"})
    with smtp_server(mailbox) as server:
        first = send_due(mail_settings(app, server.port))
        [waiting] = alert_service.alert_view(app.db, view["id"])["notices"]
        assert (waiting["status"], waiting["attempts"], waiting["next_attempt_at"]) == (
            "queued", 1, clock.now() + timedelta(minutes=1))
        assert waiting["last_error"] == "the address was refused: 451 4.3.0 try again later"
        assert send_due(app).notices.sent == []  # type: ignore[union-attr] # not due yet
        mailbox.refuse.clear()
        clock.advance(minutes=1)
        second = send_due(app)
    after = alert_service.alert_view(app.db, view["id"])
    [notice] = after["notices"]
    assert first.notices is not None and len(first.notices.retried) == 1
    assert second.notices is not None and len(second.notices.sent) == 1
    assert (notice["status"], notice["attempts"]) == ("sent", 2)
    assert [m["Message-ID"] for m in mailbox.messages] == [waiting["message_id"]] == [notice["message_id"]]
    assert [e["action"] for e in after["events"]][-2:] == ["notice_retry", "notice_sent"]


def test_a_refused_address_fails_the_notice_for_good(sqlite_app: App, clock: FixedClock) -> None:
    view = assigned(sqlite_app, clock, address="gone@bank.example")
    mailbox = Mailbox(refuse={"gone@bank.example": "550 5.1.1 no such user"})
    with smtp_server(mailbox) as server:
        report = send_due(mail_settings(sqlite_app, server.port))
    after = alert_service.alert_view(sqlite_app.db, view["id"])
    [notice] = after["notices"]
    assert (notice["status"], notice["last_error"]) == ("failed", "the address was refused: 550 5.1.1 no such user")
    assert report.notices is not None and len(report.notices.failed) == 1
    assert after["events"][-1]["action"] == "notice_failed"


def test_without_an_address_or_a_sender_notices_wait_and_say_why(sqlite_app: App, clock: FixedClock) -> None:
    view = assigned(sqlite_app, clock)
    send_due(sqlite_app)  # no SMTP server configured
    [notice] = alert_service.alert_view(sqlite_app.db, view["id"])["notices"]
    assert (notice["status"], notice["last_error"]) == (
        "queued", "no sender is configured for root-cause notices (channel 'smtp', docs/root-causes.md)")
    clock.advance(minutes=1)
    mailbox = Mailbox()
    with smtp_server(mailbox) as server:
        send_due(mail_settings(sqlite_app, server.port))  # a server, but no team address for an owner without one
    [notice] = alert_service.alert_view(sqlite_app.db, view["id"])["notices"]
    assert notice["status"] == "queued" and "COMPLAINTS_QUALITY_TEAM_ADDRESS is unset" in notice["last_error"]
    assert mailbox.messages == []


def test_notices_can_go_to_the_webhook_instead(sqlite_app: App, clock: FixedClock) -> None:
    assigned(sqlite_app, clock)
    with webhook_server() as (url, received):
        configured(sqlite_app, webhook_url=url, webhook_secret="s3cret", rc_notice_channel="webhook",
                   quality_team_address=TEAM)
        report = send_due(sqlite_app)
    [post] = received
    assert report.notices is not None and len(report.notices.sent) == 1
    assert (post["json"]["template"], post["json"]["to"]["email"]) == ("rc_notice", TEAM)
