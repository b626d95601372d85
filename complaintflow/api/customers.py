"""``/customers/{key}``: every complaint, letter and message of one customer, as the acting
role may see them (a role not shown personal data reads the pseudonym, and may not look a
customer up by email). A page at a time: the newest complaints first, with their letters
and messages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import AfterValidator

from complaintflow.api.auth import Acting
from complaintflow.api.deps import CF
from complaintflow.api.errors import ERRORS, ok
from complaints.history import PER_PAGE, PER_PAGE_MAX
from complaints.limits import check_text
from workflows import access

router = APIRouter(tags=["customers"], responses=ERRORS)  # type: ignore[arg-type]


@router.get("/customers/{key}")
def customer(cf: CF, actor: Acting,
             key: Annotated[str, Path(min_length=1, max_length=320, description="email, id (42) or pseudonym"),
                            AfterValidator(check_text)],
             page: Annotated[int, Query(ge=1, le=100_000, description="which page of complaints")] = 1,
             per_page: Annotated[int, Query(ge=1, le=PER_PAGE_MAX, description="complaints on a page")] = PER_PAGE,
             ) -> Response:
    """A page of one customer's history: complaints (newest first), their letters and messages."""
    history = access.customer(cf.engine, key, [actor.role], page, per_page)
    return ok(history.model_dump(mode="json") | {"pages": history.pages})
