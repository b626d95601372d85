"""``/sla``: why each deadline of a case is when it is, and what falls due soon."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.exceptions import RequestValidationError

from complaintflow.api.auth import Acting
from complaintflow.api.deps import CF, Reference
from complaintflow.api.errors import ERRORS, field_errors, ok
from complaints.errors import InvalidInput
from escalation.explain import clocks_view, due_within, parse_within

router = APIRouter(tags=["sla"], responses=ERRORS)  # type: ignore[arg-type]


@router.get("/complaints/{reference}/sla")
def explain(cf: CF, actor: Acting, reference: Reference) -> Response:
    """The case's SLA and regulatory clocks, each deadline explained."""
    return ok(clocks_view(cf.engine, reference))


@router.get("/sla/due")
def due(cf: CF, actor: Acting,
        within: Annotated[str, Query(min_length=1, max_length=20, description="8h, 90m, 2d or PT8H")] = "1d") -> Response:
    """Deadlines due within that much business time, by queue, then due time."""
    try:
        span = parse_within(within)
    except InvalidInput as exc:  # its problem is worded for the CLI's --within: named here as the parameter
        raise RequestValidationError(field_errors([f"within: {p}" for p in exc.problems], ("query",))) from exc
    return ok(due_within(cf.engine, span))
