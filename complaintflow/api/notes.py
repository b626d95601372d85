"""``/complaints/{reference}/notes``: an internal note, or a comment the customer may read,
each an event on the case's audit trail, written by the signed-in user."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from complaintflow.api.auth import Acting
from complaintflow.api.deps import CF, Gate, Reference
from complaintflow.api.errors import ERRORS, ok
from complaints.limits import MAX_NUMBER, NOTE_MAX
from complaints.notes import add_note

router = APIRouter(tags=["notes"], responses=ERRORS)  # type: ignore[arg-type]


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=NOTE_MAX)
    public: bool = Field(False, description="a comment the customer may read, not an internal note")
    expected_version: int | None = Field(None, ge=1, le=MAX_NUMBER,
                                         description="the version you read: a stale one is refused with 409")


@router.post("/complaints/{reference}/notes", status_code=201)
def write_note(cf: CF, actor: Acting, gate: Gate, reference: Reference, body: NoteIn) -> Response:
    """Write a note on the case (an audited event; the case's version goes up by one)."""
    with gate:
        note = add_note(cf.db, cf.clock.now(), reference, actor, body.text, body.public, body.expected_version,
                        cf.engine.comment_letter)
    return ok(note.model_dump(mode="json"), 201)
