"""The indicators page: the numbers of ``complaints metrics`` for a period, whole and by one
dimension, and the same as a CSV file. Shown to the roles that see the quality pages; the
indicators are counts and times, never a person's data."""

from __future__ import annotations

import io
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from complaintflow.web.deps import PREFIX, Viewer, Who, app_of, page
from complaints.errors import InvalidInput
from escalation.indicators import indicators
from escalation.indicators.export import write_csv
from escalation.indicators.measures import DIMENSIONS
from escalation.indicators.rows import BREAKDOWN_COLUMNS, breakdown_row, overall_rows, title

router = APIRouter(prefix=PREFIX, include_in_schema=False)
#: ``?from=``: a keyword in Python.
From = Annotated[str, Query(alias="from", max_length=40)]


def _day(value: str, field: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"Invalid {field}", [f"{field}: {value!r} is not a date such as 2026-11-01"]) from None


def _result(request: Request, first: str, last: str, by: str) -> dict[str, Any]:
    """The indicators asked for; ``InvalidInput`` naming the field for a bad date or dimension."""
    if by and by not in DIMENSIONS:
        raise InvalidInput("Invalid breakdown", [f"by: {by!r} is not one of {', '.join(DIMENSIONS)}"])
    app = app_of(request)
    return indicators(app.engine, _day(first, "from"), _day(last, "to"), [by] if by else [],
                      workflow=app.settings.default_workflow)


def _refused(request: Request, who: Viewer) -> Response:
    return page(request, "refused.html", who, status_code=403,
                message=f"The indicators are not shown to role '{who.role}'.")


@router.get("/indicators", response_model=None)
def indicators_page(request: Request, who: Who, first: From = "", to: str = "", by: str = "") -> Response:
    if not who.sees_quality:
        return _refused(request, who)
    asked = {"from": first, "to": to, "by": by}
    try:
        result = _result(request, first, to, by)
    except InvalidInput as exc:
        return page(request, "indicators.html", who, status_code=422, asked=asked, error=exc,
                    dimensions=DIMENSIONS, result=None)
    breakdown = [(r["key"], breakdown_row(r)) for r in result["by"].get(by, [])] if by else []
    return page(request, "indicators.html", who, asked=asked, error=None, dimensions=DIMENSIONS, result=result,
                heading=title("Indicators", result["period"]), rows=overall_rows(result),
                columns=BREAKDOWN_COLUMNS, breakdown=breakdown)


@router.get("/indicators.csv", response_model=None)
def indicators_csv(request: Request, who: Who, first: From = "", to: str = "", by: str = "") -> Response:
    """The page's numbers as ``complaints metrics export`` writes them."""
    if not who.sees_quality:
        return _refused(request, who)
    try:
        result = _result(request, first, to, by)
    except InvalidInput as exc:
        return Response(f"{exc}\n", status_code=422, media_type="text/plain; charset=utf-8")
    out = io.StringIO()
    write_csv(result, out)
    period = result["period"]
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="indicators-{period["from"]}-{period["to"]}.csv"'})
