"""``/sla``: why each deadline of a case is when it is, and what falls due soon."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from complaintflow.api.auth import Acting
from complaintflow.api.deps import CF, Reference
from complaintflow.api.errors import ERRORS, ok
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
    return ok(due_within(cf.engine, parse_within(within)))
