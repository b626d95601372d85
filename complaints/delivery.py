"""Sending the letters that are due: the use case behind ``complaints outbox send`` and the
``deliver-outbox`` flow, and the port (``LetterSender``) its channels implement.

A letter is claimed like a timer: in one transaction a batch of due letters is marked
``sending`` until a time (``claim_for``), each with a Message-ID it keeps for good, and
committed; then each letter is sent and, in a transaction of its own, marked ``sent``,
``queued`` again for a later attempt (a temporary failure, with backoff) or ``failed`` (a
permanent one, or out of attempts: its case then needs attention). Concurrent senders never
take the same letter: PostgreSQL locks the letters a sender claims and skips those another
holds, SQLite lets one writer in at a time.

**Exactly once, and the one window.** A sender that dies leaves its unsent letters
``sending``; once the claim runs out they are due again and go with the same Message-ID. A
letter is sent twice only if the sender dies after the receiving server took it and before
its ``sent`` was committed: that letter, the one in flight, goes again with the same
Message-ID. Every other letter reaches the server once. (The window is one letter wide per
sender that dies; a receiving server or client that knows the Message-ID may fold the two.)
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from complaints import pii
from complaints.clock import Clock
from complaints.db import Database
from complaints.errors import DeliveryFailed
from complaints.repository import OutboxRepository
from complaints.uow import UnitOfWork

#: How long a claimed letter is its sender's; found ``sending`` after that, it is sent again.
CLAIM_FOR = timedelta(minutes=5)
MAX_ATTEMPTS = 8
#: Waits after a temporary failure: a minute, doubling each attempt, at most an hour.
FIRST_RETRY, LONGEST_RETRY = timedelta(minutes=1), timedelta(hours=1)


@dataclass(frozen=True)
class OutgoingLetter:
    """A claimed letter, with the customer's addresses as they are when it is sent."""

    letter_id: int
    reference: str
    template: str
    language: str
    channel: str
    subject: str
    body: str
    message_id: str
    attempt: int
    customer_name: str | None = None
    email: str | None = None
    phone: str | None = None


class LetterSender(Protocol):
    """A channel that delivers letters (e-mail over SMTP, a webhook to an SMS or post gateway).

    ``send`` returns the address the letter went to, or raises ``DeliveryFailed`` (permanent
    or not); any other exception counts as a temporary failure. A sender may keep a
    connection open between letters; ``close`` ends it."""

    def send(self, letter: OutgoingLetter) -> str: ...

    def close(self) -> None: ...


#: The sender for a channel, or None when no sender is configured for it.
Route = Callable[[str], LetterSender | None]


@dataclass
class DeliveryReport:
    """What one run did; labels read ``17 C-2026-000001 acknowledgement``."""

    sent: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)  # failed for now, due again later
    failed: list[str] = field(default_factory=list)  # refused for good, or out of attempts
    batches: int = 0
    notices: DeliveryReport | None = None  # the root-cause notices sent in the same run

    def as_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"sent": list(self.sent), "retried": list(self.retried),
                                 "failed": list(self.failed), "batches": self.batches}
        return found | ({"notices": self.notices.as_dict()} if self.notices is not None else {})


def retry_after(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def deliver_due(db: Database, clock: Clock, route: Route, domain: str, batch_size: int = 100,
                max_batches: int | None = None, claim_for: timedelta = CLAIM_FOR,
                max_attempts: int = MAX_ATTEMPTS) -> DeliveryReport:
    """Send every letter due by the clock's time, ``batch_size`` claimed at once, at most
    ``max_batches`` batches if given (what is left waits for the next run). ``domain`` ends
    the Message-IDs of letters sent for the first time."""
    report = DeliveryReport()
    while True:
        letters = _claim(db, clock.now(), batch_size, claim_for, domain)
        report.batches += 1
        _send_all(db, clock, route, letters, claim_for, max_attempts, report)
        if len(letters) < batch_size or report.batches == max_batches:
            return report


def new_message_id(reference: str, domain: str) -> str:
    """A Message-ID of our own: random, naming the complaint (for whoever reads mail logs), short
    enough that its header line is never folded."""
    return f"<{secrets.token_hex(8)}.{reference}@{domain}>"


def _claim(db: Database, now: datetime, limit: int, claim_for: timedelta, domain: str) -> list[OutgoingLetter]:
    with UnitOfWork(db) as uow:
        due = uow.outbox.due(now, limit)
        letters = [_outgoing(row, row["message_id"] or new_message_id(row["reference"], domain)) for row in due]
        uow.outbox.claim([(letter.letter_id, letter.message_id) for letter in letters], now + claim_for)
        uow.commit()
    return letters


def _outgoing(row: Mapping[str, Any], message_id: str) -> OutgoingLetter:
    return OutgoingLetter(
        letter_id=row["id"], reference=row["reference"], template=row["template"], language=row["language"],
        channel=row["channel"], subject=row["subject"] or row["reference"], body=row["body"], message_id=message_id,
        attempt=row["attempts"] + 1, customer_name=row["customer_name"], email=row["email"], phone=row["phone"],
    )


def _send_all(db: Database, clock: Clock, route: Route, letters: list[OutgoingLetter], claim_for: timedelta,
              max_attempts: int, report: DeliveryReport) -> None:
    """Send each letter and record its outcome in a transaction of its own (on one connection
    kept for the batch); while the batch takes long, keep the claims on the letters still to
    send from running out."""
    renewed = time.monotonic()
    with db.engine.connect() as conn:
        outbox = OutboxRepository(conn)
        for i, letter in enumerate(letters):
            label = f"{letter.letter_id} {letter.reference} {letter.template}"
            outcome = _attempt(route, letter, max_attempts)
            with conn.begin():
                now = clock.now()
                if isinstance(outcome, str):
                    outbox.sent(letter.letter_id, outcome, now)
                    report.sent.append(label)
                elif outcome.permanent or letter.attempt >= max_attempts:
                    outbox.failed(letter.letter_id, outcome.reason)
                    report.failed.append(f"{label}: {outcome.reason}")
                else:
                    outbox.retry(letter.letter_id, outcome.reason, now + retry_after(letter.attempt))
                    report.retried.append(f"{label}: {outcome.reason}")
                if time.monotonic() - renewed > claim_for.total_seconds() / 2:
                    outbox.extend_claims([left.letter_id for left in letters[i + 1:]], now + claim_for)
                    renewed = time.monotonic()


def _attempt(route: Route, letter: OutgoingLetter, max_attempts: int) -> str | DeliveryFailed:
    """The address the letter went to, or why it did not go."""
    if letter.attempt > max_attempts:  # its sender died with it each time: never try it again
        return DeliveryFailed(f"given up after {max_attempts} attempts", permanent=True)
    sender = route(letter.channel)
    if sender is None:
        return DeliveryFailed(f"no sender is configured for channel '{letter.channel}' (docs/letters.md)",
                              permanent=False)
    try:
        return sender.send(letter)
    except DeliveryFailed as exc:
        failure = exc
    except Exception as exc:  # noqa: BLE001 - any other failure of a channel is retried, and kept on the letter
        failure = DeliveryFailed(f"{type(exc).__name__}: {exc}", permanent=False)
    # A server's answer often quotes the address it refused: the error is kept, and shown in
    # `complaints list` to every role, without the customer's personal data.
    return DeliveryFailed(pii.mask(failure.reason), failure.permanent)
