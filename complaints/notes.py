"""Notes on a case: an internal note for the people working it, or a comment the customer may
read (``public``), each an event on the case's audit trail.

A note is an in-place step (the case does not move): written with the case's optimistic
version check, hashed into its chain, replayed like any other event, and found by search
(the index's trigger reads the event's ``text``). Erasure masks personal data in it as in
every other event's payload (``complaints.privacy``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pydantic import BaseModel

from complaints.db import Database
from complaints.errors import ConflictError, InvalidInput
from complaints.limits import NOTE_MAX, check_text
from complaints.steps import SYSTEM_ROLE, Actor, Case, NotificationPlan, Step
from complaints.uow import UnitOfWork

#: The events a note and a comment write.
NOTE, COMMENT = "note", "comment"
#: Makes the letter that sends a comment to the customer (``WorkflowEngine.comment_letter``).
Letter = Callable[[Case, Step], NotificationPlan]


class Note(BaseModel):
    """A note as stored: ``seq`` is its event's number (the case's version after it)."""

    reference: str
    seq: int
    public: bool
    text: str
    actor: str
    role: str
    at: datetime


def check_note(text: str) -> str:
    """The note's text, stripped; ``InvalidInput`` naming what is wrong with it."""
    problems = []
    stripped = text.strip()
    if not stripped:
        problems.append("text: the note is empty")
    if len(stripped) > NOTE_MAX:
        problems.append(f"text: at most {NOTE_MAX:,} characters, got {len(stripped):,}")
    try:
        check_text(stripped)
    except ValueError as exc:
        problems.append(f"text: {exc}")
    if problems:
        raise InvalidInput("Invalid note", problems)
    return stripped


def add_note(db: Database, now: datetime, reference: str, actor: Actor, text: str, public: bool = False,
             expected_version: int | None = None, letter: Letter | None = None) -> Note:
    """Write a note (or, ``public``, a comment for the customer) on the case; with
    ``expected_version``, only if the case is still at that version (``ConflictError`` else).
    A comment is sent to the customer as the letter ``letter`` makes of it (the engine's
    ``comment_letter``), queued in the outbox in the same transaction."""
    body = check_note(text)
    if actor.role == SYSTEM_ROLE:
        raise InvalidInput("Invalid note", ["role: a note is a person's; the system writes none"])
    with UnitOfWork(db) as uow:
        case = uow.cases.get(reference, for_update=True)
        if expected_version is not None and case.version != expected_version:
            raise ConflictError(reference, expected_version, case.version)
        step = Step.in_place(case, COMMENT if public else NOTE, actor, now, {"text": body})
        if public and letter is not None:
            step.notifications.append(letter(case, step))
        uow.cases.write_step(case, step, expected_version=case.version)
        uow.commit()
    return Note(reference=reference, seq=step.seq, public=public, text=body, actor=actor.name, role=actor.role, at=now)
