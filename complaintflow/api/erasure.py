"""``/erasures``: a customer's personal data erased on request, the complaints and their audit
trail kept. Only a supervisor or an executive may erase."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from complaintflow.api.auth import require_roles
from complaintflow.api.deps import CF, Gate, Text
from complaintflow.api.errors import ERRORS, field_errors, ok
from complaints.limits import EMAIL_MAX, check_text
from complaints.steps import Actor

router = APIRouter(tags=["privacy"], responses=ERRORS)  # type: ignore[arg-type]

ERASERS = ("supervisor", "executive")
Eraser = Annotated[Actor, Depends(require_roles(ERASERS, "erasing personal data"))]


class Erasure(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Text = Field(description="the request and its date: kept in the audit trail")
    email: Annotated[str, Field(min_length=3, max_length=EMAIL_MAX), AfterValidator(check_text)] | None = None
    reference: Annotated[str, Field(min_length=1, max_length=20), AfterValidator(check_text)] | None = None


@router.post("/erasures")
def erase(cf: CF, actor: Eraser, gate: Gate, body: Erasure) -> Response:
    """Erase one customer's personal data (by email, or by any complaint of theirs)."""
    from complaints.privacy import erase_customer

    if (body.email is None) == (body.reference is None):  # said here in the body's words, not the CLI's options
        raise RequestValidationError(field_errors(["give exactly one of email or reference"]))
    with gate:
        return ok(erase_customer(cf.db, cf.clock.now(), actor, body.reason, email=body.email,
                                 reference=body.reference))
