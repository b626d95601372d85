"""Sending the root-cause notices that are due: the quality team hears of an alert that
recurred or reopened without having to look.

Notices (``rc_notice``) are queued in the transaction that raised the reason for them
(``alert_service``); this is their half of the delivery run (``complaints outbox send``,
the ``deliver-outbox`` flow). They go like letters, through the same ``LetterSender``
channels: claimed in a transaction of their own (``sending`` until the claim runs out, a
Message-ID kept across attempts), sent, and each outcome recorded in a transaction of its
own: ``sent``; ``queued`` again with the letters' backoff after a temporary failure; or
``failed`` (refused for good, or out of attempts). Every outcome is also an event on the
alert's audit trail (``rc_alert_event``), written in that same transaction.

A notice goes to its recipient when that is an e-mail address (the owner's address given
on assignment), else to the quality team's address from the settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

from complaints.clock import Clock
from complaints.db import Database
from complaints.delivery import (
    CLAIM_FOR,
    MAX_ATTEMPTS,
    DeliveryReport,
    LetterSender,
    OutgoingLetter,
    new_message_id,
    retry_after,
)
from complaints.errors import DeliveryFailed
from complaints.steps import Actor
from complaints.uow import UnitOfWork
from root_cause.repository import RootCauseRepository

SENDER = Actor.system("notice-delivery")
#: What a notice's outcome is called on its alert's audit trail.
EVENTS = {"sent": "notice_sent", "queued": "notice_retry", "failed": "notice_failed"}
TEMPLATE = "rc_notice"


def address_of(recipient: str, team_address: str | None) -> str | None:
    """The e-mail address a notice goes to: its recipient's if that is one, else the team's."""
    _, address = parseaddr(recipient)
    return address if "@" in address else team_address


def deliver_notices(db: Database, clock: Clock, sender: LetterSender | None, channel: str,
                    team_address: str | None, domain: str, batch_size: int = 100,
                    max_batches: int | None = None, claim_for: timedelta = CLAIM_FOR,
                    max_attempts: int = MAX_ATTEMPTS) -> DeliveryReport:
    """Send every notice due by the clock's time through ``sender`` (None: ``channel`` is not
    configured, and the notices wait, saying so)."""
    report = DeliveryReport()
    while True:
        notices = _claim(db, clock.now(), batch_size, claim_for, domain, channel, team_address)
        report.batches += 1
        for notice, alert_id in notices:
            _send_one(db, clock, sender, notice, alert_id, max_attempts, report)
        if len(notices) < batch_size or report.batches == max_batches:
            return report


def _claim(db: Database, now: datetime, limit: int, claim_for: timedelta, domain: str, channel: str,
           team_address: str | None) -> list[tuple[OutgoingLetter, int]]:
    """Claim a batch of due notices: (the notice as a letter, its alert's id)."""
    with UnitOfWork(db) as uow:
        repo = RootCauseRepository(uow.conn)
        due = repo.due_notices(now, limit)
        notices = [(_outgoing(row, channel, team_address, domain), row["alert_id"]) for row in due]
        repo.claim_notices([(n.letter_id, n.message_id) for n, _ in notices], now + claim_for)
        uow.commit()
    return notices


def _outgoing(row: Mapping[str, Any], channel: str, team_address: str | None, domain: str) -> OutgoingLetter:
    reference = f"RC-ALERT-{row['alert_id']}"
    return OutgoingLetter(
        letter_id=row["id"], reference=reference, template=TEMPLATE, language="en", channel=channel,
        subject=row["subject"], body=row["body"],
        message_id=row["message_id"] or new_message_id(reference, domain), attempt=row["attempts"] + 1,
        customer_name=row["recipient"] if "@" not in row["recipient"] else None,
        email=address_of(row["recipient"], team_address),
    )


def _send_one(db: Database, clock: Clock, sender: LetterSender | None, notice: OutgoingLetter, alert_id: int,
              max_attempts: int, report: DeliveryReport) -> None:
    """Send one notice, then record its outcome and the alert's event in one transaction."""
    outcome = _attempt(sender, notice, max_attempts)
    label = f"notice {notice.letter_id} {notice.reference}"
    with UnitOfWork(db) as uow:
        repo = RootCauseRepository(uow.conn)
        now = clock.now()
        details: dict[str, Any] = {"notice": notice.letter_id, "attempt": notice.attempt,
                                   "message_id": notice.message_id, "channel": notice.channel}
        if isinstance(outcome, str):
            status, due = "sent", None
            details["to"] = outcome
            report.sent.append(label)
        else:
            final = outcome.permanent or notice.attempt >= max_attempts
            status, due = ("failed", None) if final else ("queued", now + retry_after(notice.attempt))
            details["error"] = outcome.reason
            (report.failed if final else report.retried).append(f"{label}: {outcome.reason}")
        repo.notice_outcome(notice.letter_id, status, now, None if status == "sent" else details["error"], due)
        alert = repo.alert(alert_id, for_update=True)
        seq = repo.update_alert(alert)  # the alert is unchanged; its trail gets the next event
        repo.add_alert_event(alert_id, seq, action=EVENTS[status], from_status=alert["status"],
                             to_status=alert["status"], actor=SENDER.name, role=SENDER.role, at=now, details=details)
        uow.commit()


def _attempt(sender: LetterSender | None, notice: OutgoingLetter, max_attempts: int) -> str | DeliveryFailed:
    """The address the notice went to, or why it did not go."""
    if notice.attempt > max_attempts:  # its sender died with it each time: never try it again
        return DeliveryFailed(f"given up after {max_attempts} attempts", permanent=True)
    if sender is None:
        return DeliveryFailed(f"no sender is configured for root-cause notices (channel '{notice.channel}', "
                              "docs/root-causes.md)", permanent=False)
    if notice.email is None:
        return DeliveryFailed("the notice's recipient has no e-mail address and COMPLAINTS_QUALITY_TEAM_ADDRESS "
                              "is unset", permanent=False)
    try:
        return sender.send(notice)
    except DeliveryFailed as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - any other failure of a channel is retried, and kept on the notice
        return DeliveryFailed(f"{type(exc).__name__}: {exc}", permanent=False)
