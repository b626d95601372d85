"""The quality team's pages: Pareto of causes, recurrence alerts, the problem map, the CAPA board.

Shown to the roles in ``QUALITY_ROLES``; a CAPA is moved only by ``CAPA_ROLES``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from complaintflow.web import problem_map, quality
from complaintflow.web.deps import PREFIX, Viewer, Who, app_of, page
from complaints.errors import ComplaintflowError, InvalidInput
from root_cause.capa_service import change_capa

router = APIRouter(prefix=f"{PREFIX}/quality", include_in_schema=False)


def _refused(request: Request, who: Viewer) -> Response:
    return page(request, "refused.html", who, status_code=403,
                message=f"The quality pages are not shown to role '{who.role}'.")


@router.get("/pareto", response_model=None)
def pareto(request: Request, who: Who, period: str = "90d") -> Response:
    if not who.sees_quality:
        return _refused(request, who)
    try:
        data = quality.pareto(app_of(request), period)
    except InvalidInput as exc:
        return page(request, "pareto.html", who, status_code=422, data=quality.pareto(app_of(request)), error=str(exc))
    return page(request, "pareto.html", who, data=data, error=None)


@router.get("/alerts", response_model=None)
def alerts(request: Request, who: Who, status: str = "active") -> Response:
    if not who.sees_quality:
        return _refused(request, who)
    try:
        rows, error = quality.alerts(app_of(request), status), None
    except InvalidInput as exc:
        rows, error = [], str(exc)
    return page(request, "alerts.html", who, rows=rows, status=status, error=error)


@router.get("/map", response_model=None)
def problem_map_page(request: Request, who: Who) -> Response:
    if not who.sees_quality:
        return _refused(request, who)
    data = quality.problem_subjects(app_of(request))
    return page(request, "map.html", who, data=data, svg=problem_map.svg(data, PREFIX))


@router.get("/map/{kind}", response_model=None)
def drill_down(request: Request, who: Who, kind: str, key: str) -> Response:
    if not who.sees_quality:
        return _refused(request, who)
    try:
        data = quality.subject_complaints(app_of(request), kind, key)
    except InvalidInput as exc:
        return page(request, "not_found.html", who, status_code=404, message=str(exc))
    return page(request, "subject.html", who, data=data)


@router.get("/capas", response_model=None)
def capas(request: Request, who: Who, done: str = "") -> Response:
    if not who.sees_quality:
        return _refused(request, who)
    return page(request, "capas.html", who, columns=quality.capa_board(app_of(request)), done=done, error=None)


@router.post("/capas/{capa_id}", response_model=None)
async def move_capa(request: Request, who: Who, capa_id: int) -> Response:
    if not who.moves_capas:
        return _refused(request, who)
    app = app_of(request)
    form = await request.form()
    action = str(form.get("do") or "")
    try:
        moved = change_capa(app.db, app.clock.now(), capa_id, action, who.actor, str(form.get("reason") or "") or None)
    except ComplaintflowError as exc:
        return page(request, "capas.html", who, status_code=422, columns=quality.capa_board(app), done="",
                    error=str(exc))
    return RedirectResponse(f"{PREFIX}/quality/capas?done=CAPA+{capa_id}+{moved['status']}", status_code=303)
