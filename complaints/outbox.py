"""What a person does with a letter before it reaches the customer: hold it, release it,
edit it, cancel it, or send it again.

Each change is an event on the case's audit trail (in place: the case does not move), written
in the same transaction as the change: who did what to which letter, and for an edit the
text before and after. A letter a sender has claimed (``sending``) or sent is the
customer's and can no longer be changed; sending a sent letter again queues a copy, a
message of its own. The change is conditional on the status read, so a sender that claims
the letter meanwhile wins and the person is told.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from complaints.db import Database
from complaints.errors import InvalidInput, LetterNotChangeable, NotPermitted
from complaints.limits import PAYLOAD_TEXT_MAX, check_text
from complaints.repository import NOTE_CANCELLED, NOTE_FAILED, NOTE_HELD, NOTE_QUEUED, NOTE_SENT
from complaints.steps import Actor, Step
from complaints.uow import UnitOfWork

#: The events a person's change of a letter writes on its case.
HOLD, RELEASE, EDIT, CANCEL, RESEND = "letter_held", "letter_released", "letter_edited", "letter_cancelled", "letter_resent"
SUBJECT_MAX = 300
#: Letters not yet the customer's, which a person may still change.
UNSENT = (NOTE_QUEUED, NOTE_HELD, NOTE_FAILED)


def hold(db: Database, now: datetime, letter_id: int, actor: Actor, note: str = "") -> dict[str, Any]:
    """Keep a queued (or failed) letter back until someone releases it."""
    return _change(db, now, letter_id, actor, HOLD, "hold", (NOTE_QUEUED, NOTE_FAILED), _noted(note),
                   {"status": NOTE_HELD})


def release(db: Database, now: datetime, letter_id: int, actor: Actor, note: str = "") -> dict[str, Any]:
    """Let a held letter go: it is due at once."""
    return _change(db, now, letter_id, actor, RELEASE, "release", (NOTE_HELD,), _noted(note),
                   {"status": NOTE_QUEUED, "next_attempt_at": now}, releases=True)


def second_reader_refusal(letter: Mapping[str, Any], events: Sequence[Mapping[str, Any]], actor: Actor) -> str | None:
    """Why ``actor`` may not release ``letter`` (a row of its case's ``events``), or None. A
    letter held for review when it was written is read by a second person: whoever's step
    wrote it may not release it. One held by hand later is anyone's to release."""
    if letter["status"] != NOTE_HELD:
        return None
    if any(e["action"] == HOLD and (e["payload"] or {}).get("letter") == letter["id"] for e in events):
        return None
    author = next((e["actor"] for e in events if e["seq"] == letter["event_seq"]), None)
    if author != actor.name:
        return None
    return (f"Letter {letter['id']} ('{letter['template']}') waits for a second reader: {author} wrote it, "
            "so another person reads it and releases it.")


def cancel(db: Database, now: datetime, letter_id: int, actor: Actor, reason: str) -> dict[str, Any]:
    """Never send a letter; ``reason`` goes into the audit trail."""
    if not reason.strip():
        raise InvalidInput(f"Cancel letter {letter_id}", ["reason: say why it is not sent (it goes into the audit trail)"])
    return _change(db, now, letter_id, actor, CANCEL, "cancel", UNSENT, {"reason": reason.strip()},
                   {"status": NOTE_CANCELLED, "next_attempt_at": None})


def edit(db: Database, now: datetime, letter_id: int, actor: Actor, body: str | None = None,
         subject: str | None = None, release_it: bool = False) -> dict[str, Any]:
    """Change the text (and subject) of a letter not yet sent; ``release_it`` lets a held letter
    go with the change. The event keeps the text before and after."""
    problems = []
    if body is not None and not body.strip():
        problems.append("body: the letter would be empty")
    if body is not None and len(body) > PAYLOAD_TEXT_MAX:
        problems.append(f"body: at most {PAYLOAD_TEXT_MAX:,} characters, got {len(body):,}")
    if subject is not None and not (0 < len(subject.strip()) <= SUBJECT_MAX):
        problems.append(f"subject: 1 to {SUBJECT_MAX} characters")
    if body is None and subject is None:
        problems.append("give the new body, the new subject, or both")
    for name, value in (("body", body), ("subject", subject)):
        try:
            check_text(value)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
    if problems:
        raise InvalidInput(f"Edit letter {letter_id}", problems)

    def values(letter: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        audit = {"body_before": letter["body"], "body": body if body is not None else letter["body"]}
        if subject is not None:
            audit |= {"subject_before": letter["subject"], "subject": subject.strip()}
        change: dict[str, Any] = {"body": audit["body"]} | ({"subject": subject.strip()} if subject is not None else {})
        if release_it and letter["status"] in (NOTE_HELD, NOTE_FAILED):
            change |= {"status": NOTE_QUEUED, "next_attempt_at": now}
            audit["released"] = True
        return audit, change

    return _change(db, now, letter_id, actor, EDIT, "edit", UNSENT, values, None, releases=release_it)


def resend(db: Database, now: datetime, letter_id: int, actor: Actor, note: str = "") -> dict[str, Any]:
    """Send again: a failed or cancelled letter is queued once more (with its Message-ID: it
    never reached the customer); a sent one is copied into a new letter of its own."""
    with UnitOfWork(db) as uow:
        letter = uow.outbox.letter(letter_id)
    if letter["status"] != NOTE_SENT:
        return _change(db, now, letter_id, actor, RESEND, "resend", (NOTE_FAILED, NOTE_CANCELLED),
                       _noted(note), {"status": NOTE_QUEUED, "attempts": 0, "next_attempt_at": now, "last_error": None})
    with UnitOfWork(db) as uow:  # a sent letter stays as it was sent: nothing can change it
        case = uow.cases.get(letter["reference"], for_update=True)
        step = Step.in_place(case, RESEND, actor, now, _payload(letter, _noted(note)))
        uow.cases.write_step(case, step, expected_version=case.version)
        copy = uow.outbox.add_copy(letter, step.seq, now)
        uow.commit()
    return {**letter, "id": copy, "status": NOTE_QUEUED, "message_id": None, "sent_at": None, "copy_of": letter_id}


def _noted(note: str) -> dict[str, Any]:
    return {"note": note.strip()} if note.strip() else {}


def _payload(letter: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    return {"letter": letter["id"], "template": letter["template"], **extra}


#: What a change writes, given the letter as read: the event's payload, and the letter's new values.
Change = Callable[[Mapping[str, Any]], tuple[dict[str, Any], dict[str, Any]]]


def _change(db: Database, now: datetime, letter_id: int, actor: Actor, event: str, verb: str,
            allowed: Sequence[str], audit: Mapping[str, Any] | Change, values: Mapping[str, Any] | None,
            releases: bool = False) -> dict[str, Any]:
    """Check the letter's status, write the event on its case, change the letter: together.
    ``audit`` and ``values`` may be one function of the letter giving both; a change that
    ``releases`` a held letter needs a second reader (``second_reader_refusal``)."""
    with UnitOfWork(db) as uow:
        letter = uow.outbox.letter(letter_id)
        case = uow.cases.get(letter["reference"], for_update=True)
        if letter["status"] not in allowed:
            raise LetterNotChangeable(letter_id, letter["reference"], letter["template"], verb, letter["status"], allowed)
        refusal = second_reader_refusal(letter, uow.cases.events(letter["complaint_id"]), actor) if releases else None
        if refusal:
            raise NotPermitted(refusal)
        extra, change = audit(letter) if callable(audit) else (dict(audit), dict(values or {}))
        step = Step.in_place(case, event, actor, now, _payload(letter, extra))
        uow.cases.write_step(case, step, expected_version=case.version)
        if not uow.outbox.change(letter_id, allowed, **change):  # a sender claimed it since it was read
            status = uow.outbox.letter(letter_id)["status"]
            raise LetterNotChangeable(letter_id, letter["reference"], letter["template"], verb, status, allowed)
        uow.commit()
    return {**letter, **change}
