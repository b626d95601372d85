"""``/links``, ``/rootcause``, ``/capas``: deciding suggested links, the root-cause report, and
corrective actions. Reading is open to every signed-in role; deciding a link needs a quality,
supervisor or specialist role, and opening or moving a CAPA the quality role."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from complaintflow.api.auth import Acting, require_roles
from complaintflow.api.deps import CF, Gate, Text
from complaintflow.api.errors import ERRORS, ok
from complaints.limits import check_date, check_text
from complaints.steps import Actor

router = APIRouter(tags=["root causes"], responses=ERRORS)  # type: ignore[arg-type]

LINK_DECIDERS = ("quality", "supervisor", "specialist")
CAPA_OWNERS = ("quality",)
Decider = Annotated[Actor, Depends(require_roles(LINK_DECIDERS, "deciding a link"))]
CapaActor = Annotated[Actor, Depends(require_roles(CAPA_OWNERS, "changing a CAPA"))]
#: A row id: PostgreSQL's integer holds no larger one, so a larger one can name nothing (404, not 500).
ID_MAX = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=ID_MAX)]
Code = Annotated[str, Field(min_length=1, max_length=60), AfterValidator(check_text)]
Ref = Annotated[str, Field(min_length=1, max_length=20), AfterValidator(check_text)]


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text | None = None


class CapaCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, Field(min_length=3, max_length=200), AfterValidator(check_text)]
    description: Annotated[str, Field(max_length=20_000), AfterValidator(check_text)] = ""
    owner: Annotated[str, Field(min_length=1, max_length=100), AfterValidator(check_text)]
    due_at: Annotated[datetime, AfterValidator(check_date)]
    root_causes: list[Code] = Field(min_length=1, max_length=50)
    window_days: int = Field(90, ge=7, le=730)
    complaints: list[Ref] = Field(default_factory=list, max_length=1000)


def _decide(cf: CF, actor: Actor, gate: Gate, link_id: int, decision: str, reason: str | None) -> Response:
    from root_cause.services import decide_link

    with gate:
        return ok(decide_link(cf.db, cf.clock.now(), link_id, decision, actor, reason))


@router.post("/links/{link_id}/confirm")
def confirm(cf: CF, actor: Decider, gate: Gate, link_id: Id, body: Decision) -> Response:
    """Confirm a suggested link between two complaints."""
    return _decide(cf, actor, gate, link_id, "confirmed", body.reason)


@router.post("/links/{link_id}/reject")
def reject(cf: CF, actor: Decider, gate: Gate, link_id: Id, body: Decision) -> Response:
    """Reject a link: the linker never suggests that pair again."""
    return _decide(cf, actor, gate, link_id, "rejected", body.reason)


@router.get("/rootcause/report")
def report(cf: CF, actor: Acting) -> Response:
    """Pareto of root causes, recurring problems ranked, open and overdue CAPAs."""
    from root_cause.analysis import report as build_report

    return ok(build_report(cf.db, cf.taxonomy, cf.clock.now()))


@router.get("/capas")
def capas(cf: CF, actor: Acting,
          status: Annotated[list[Literal["open", "implemented", "effective", "cancelled", "reopened"]] | None,
                            Query()] = None) -> Response:
    """CAPAs by due date."""
    from root_cause.capa_service import list_capas

    return ok(list_capas(cf.db, cf.clock.now(), list(status) if status else None))


@router.post("/capas", status_code=201)
def create(cf: CF, actor: CapaActor, gate: Gate, body: CapaCreate) -> Response:
    """Open a corrective action for one or more root causes."""
    from root_cause.capa_service import create_capa
    from root_cause.schemas import parse_capa

    data = parse_capa(body.model_dump())
    with gate:
        return ok(create_capa(cf.db, cf.taxonomy, cf.clock.now(), data, actor), 201)


@router.get("/capas/{capa_id}")
def capa(cf: CF, actor: Acting, capa_id: Id) -> Response:
    """One CAPA with its audit trail and last verification."""
    from root_cause.capa_service import capa_view

    return ok(capa_view(cf.db, capa_id))


@router.post("/capas/{capa_id}/{action}")
def move(cf: CF, actor: CapaActor, gate: Gate, capa_id: Id, action: Literal["implement", "cancel", "reopen"],
         body: Decision) -> Response:
    """Implement, cancel or reopen a CAPA (audited)."""
    from root_cause.capa_service import change_capa

    with gate:
        return ok(change_capa(cf.db, cf.clock.now(), capa_id, action, actor, body.reason))


@router.post("/capas/verify")
def verify(cf: CF, actor: CapaActor, gate: Gate, capa_id: Annotated[int | None, Query(ge=1, le=ID_MAX)] = None) -> Response:
    """Compare the complaint rate before and after each implemented CAPA; reopen one whose problem came back."""
    from root_cause.capa_service import verify_capas

    with gate:
        return ok(verify_capas(cf.db, cf.taxonomy, cf.clock.now(), capa_id=capa_id))
