"""``/customers/{key}``: every complaint, letter and message of one customer, as the acting
role may see them (a role not shown personal data reads the pseudonym, and may not look a
customer up by email)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import AfterValidator

from complaintflow.api.auth import Acting
from complaintflow.api.deps import CF
from complaintflow.api.errors import ERRORS, ok
from complaints.history import customer_history
from complaints.limits import check_text
from workflows.access import personal_data_rule

router = APIRouter(tags=["customers"], responses=ERRORS)  # type: ignore[arg-type]


@router.get("/customers/{key}")
def customer(cf: CF, actor: Acting,
             key: Annotated[str, Path(min_length=1, max_length=320, description="email, id (42) or pseudonym"),
                            AfterValidator(check_text)]
             ) -> Response:
    """One customer's history: complaints, letters, messages."""
    shows = personal_data_rule(cf.engine.registry, [actor.role])
    return ok(customer_history(cf.db, key, shows, (actor.role,)).model_dump(mode="json"))
