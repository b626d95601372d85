"""``/complaints``: intake (one, or a batch), the work queue, one case with the actions its
reader may take, advancing it (one action, or many in one transaction), related complaints."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from complaintflow.api.auth import Acting
from complaintflow.api.deps import CF, Gate, Reference, quick_read
from complaintflow.api.errors import ERRORS, field_errors, ok
from complaints.errors import InvalidInput, NotPermitted
from complaints.history import find_customer
from complaints.limits import COMPANY_MAX, MAX_NUMBER, PRODUCT_MAX, check_text
from complaints.moves import MoveIn
from complaints.schemas import ComplaintIn
from complaints.search import PER_PAGE_MAX, QUERY_MAX, SearchQuery, search_complaints
from complaints.steps import Move
from escalation.explain import clocks_view
from workflows.access import personal_data_rule
from workflows.queries import case_view, check_filters, list_cases

router = APIRouter(tags=["complaints"], responses=ERRORS)  # type: ignore[arg-type]

Filter = Annotated[str | None, Query(min_length=1, max_length=60), AfterValidator(check_text)]
Words = Annotated[str | None, AfterValidator(check_text)]


class Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    complaints: list[ComplaintIn] = Field(min_length=1, max_length=1000)


class Advance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(min_length=1, max_length=60)
    payload: dict[str, Any] = Field(default_factory=dict, description="the action's fields (see the case's actions)")
    expected_version: int | None = Field(None, ge=1, le=MAX_NUMBER,
                                         description="the version you read: a stale one is refused with 409")


class Moves(BaseModel):
    model_config = ConfigDict(extra="forbid")

    moves: list[MoveIn] = Field(min_length=1, max_length=1000)


def _step(reference: str, step: Any) -> dict[str, Any]:
    return {"reference": reference, "action": step.action, "from": step.from_state, "to": step.to_state,
            "tier": step.tier, "queue": step.queue, "version": step.seq,
            "letters": [{"template": n.template, "language": n.language} for n in step.notifications],
            "timers": [{"action": t.action, "due_at": t.due_at} for t in step.timers]}


@router.post("/complaints", status_code=201)
def take_in(cf: CF, actor: Acting, gate: Gate, complaint: ComplaintIn) -> Response:
    """Take in one complaint and acknowledge it; a known ``external_id`` returns the complaint
    already stored (200, ``created`` false) and stores nothing new."""
    with gate:
        reference, created = cf.intake.take_in_one(complaint, actor)
    return ok(case_view(cf.engine, reference, actor) | {"created": created}, 201 if created else 200)


@router.post("/complaints/batch")
def take_in_batch(cf: CF, actor: Acting, gate: Gate, batch: Batch) -> Response:
    """Take in many complaints at once (each acknowledged); rows are numbered from 1."""
    with gate:
        report = cf.intake.take_in(list(enumerate(batch.complaints, start=1)), actor)
    return ok({"created": [{"row": r, "reference": ref} for r, ref in report.created],
               "duplicates": [{"row": r, "external_id": e, "reference": ref} for r, e, ref in report.duplicates],
               "errors": report.refusals()})


@router.get("/complaints")
def work_queue(
    cf: CF, actor: Acting, state: Filter = None, tier: Filter = None, queue: Filter = None,
    assignee: Annotated[Words, Query(min_length=1, max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="work queue: cases listed at most")] = 50,
    q: Annotated[Words, Query(max_length=QUERY_MAX, description='search: words to find; "a phrase", -word '
                                   "leaves out")] = None,
    product: Annotated[Words, Query(min_length=1, max_length=PRODUCT_MAX)] = None,
    company: Annotated[Words, Query(min_length=1, max_length=COMPANY_MAX)] = None,
    customer: Annotated[Words, Query(min_length=1, max_length=320,
                                          description="search: email, id or pseudonym of the customer")] = None,
    received_from: Annotated[date | None, Query(description="search: received on or after this day")] = None,
    received_to: Annotated[date | None, Query(description="search: received on or before this day")] = None,
    page: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    per_page: Annotated[int | None, Query(ge=1, le=PER_PAGE_MAX)] = None,
) -> Response:
    """The work queue (cases that need a person first, then by nearest deadline), or, with
    ``q`` or any search-only filter (product, company, customer, dates, page), a search: the
    complaints whose descriptions, notes and customers' messages hold the words, best first,
    a page at a time, as the acting role may see them."""
    searching = any(v is not None for v in (q, product, company, customer, received_from, received_to, page, per_page))
    if not searching:
        return ok(list_cases(cf.engine, state=state, tier=tier, queue=queue, assignee=assignee, limit=limit))
    check_filters(cf.engine, state=state, tier=tier, queue=queue)
    shows = personal_data_rule(cf.engine.registry, [actor.role])
    customer_id = None
    if customer is not None:
        with cf.db.read() as conn:
            customer_id, by_email = find_customer(conn, customer)
        if by_email and not shows("", 0):
            raise NotPermitted("Searching by a customer's email address needs a role shown personal data; "
                               "give their pseudonym or id", [actor.role])
    raw: dict[str, Any] = {"text": q or "", "product": product, "company": company, "state": state, "tier": tier,
                           "queue": queue, "assignee": assignee, "customer_id": customer_id,
                           "received_from": received_from, "received_to": received_to, "page": page,
                           "per_page": per_page}
    result = search_complaints(cf.db, SearchQuery.parse({k: v for k, v in raw.items() if v is not None}), shows)
    return ok(result.model_dump(mode="json") | {"pages": result.pages})


@router.get("/complaints/{reference}")
async def show(cf: CF, actor: Acting, reference: Reference,
         clocks: Annotated[bool, Query(description="add the SLA clocks, each deadline explained")] = False) -> Response:
    """One case: details, the actions the caller's role may take now, timeline, timers and
    letters (with ``clocks``, its SLA clocks too). A role not shown personal data reads the
    customer's pseudonym only."""
    view = await quick_read(cf, case_view, cf.engine, reference, actor)
    if clocks:
        view |= {"clocks": (await run_in_threadpool(clocks_view, cf.engine, reference))["clocks"]}
    return ok(view)


@router.post("/complaints/{reference}/advance")
def advance(cf: CF, actor: Acting, gate: Gate, reference: Reference, body: Advance) -> Response:
    """Take one action on a case, as the signed-in user in their acting role: the step taken
    (states, version, letters queued, timers set). With ``expected_version``, a case changed
    meanwhile is refused (409, ``current_version``)."""
    try:
        with gate:
            step = cf.engine.advance(reference, body.action, actor, body.payload, body.expected_version)
    except InvalidInput as exc:  # the payload's fields: named where they are in the body
        raise RequestValidationError(field_errors(exc.problems or [str(exc)], ("body", "payload"))) from exc
    return ok(_step(reference, step))


@router.post("/advance-many")
def advance_many(cf: CF, actor: Acting, gate: Gate, body: Moves) -> Response:
    """Many actions in one transaction: all of them, or none if any is refused."""
    moves = [Move(m.reference, m.action, m.payload, m.expected_version) for m in body.moves]
    try:
        with gate:
            steps = cf.engine.advance_many(moves, actor)
    except InvalidInput as exc:  # a move's payload: named where it is in the body
        where = ("body", "moves", exc.move - 1, "payload") if exc.move else ("body",)
        raise RequestValidationError(field_errors(exc.problems or [str(exc)], where)) from exc
    return ok([_step(m.reference, s) for m, s in zip(moves, steps, strict=True)])


@router.get("/complaints/{reference}/related")
def related(cf: CF, actor: Acting, reference: Reference, k: Annotated[int, Query(ge=1, le=50)] = 5) -> Response:
    """Likely duplicates and related open complaints, with scores, evidence and link ids."""
    from root_cause.services import candidates  # the text-similarity code loads on first use

    return ok(candidates(cf.db, reference, k=k))
