"""The handlers' pages: sign-in, the work queue, a case, a customer.

Every change is a POST of a plain HTML form, answered by a redirect to the page it changed
(so reloading never repeats it), or, when the engine refuses, by the same page again with
the engine's own message beside the field it names and what the user typed kept.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from complaintflow.api import auth
from complaintflow.users.services import TooManySignIns, sign_in
from complaintflow.web import views
from complaintflow.web.deps import FORM_TOKEN, PREFIX, ROLE_COOKIE, SIGN_IN_COOKIE, Viewer, Who, app_of, counted, page
from complaints import outbox
from complaints.errors import (
    ActionNotAllowed,
    ComplaintflowError,
    ConflictError,
    GuardFailed,
    InvalidInput,
    NotFound,
    NotPermitted,
)
from complaints.notes import add_note
from complaints.steps import Move

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _see(path: str, **params: str) -> RedirectResponse:
    query = urlencode({k: v for k, v in params.items() if v})
    return RedirectResponse(f"{PREFIX}{path}{'?' + query if query else ''}", status_code=303)


async def _form(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {k: form.getlist(k) if k == "refs" else form.get(k) for k in form}


# -- signing in and out ---------------------------------------------------------------------------


@router.get("/", response_model=None)
def home() -> RedirectResponse:
    return _see("/queue")


def _sign_in_page(request: Request, status_code: int = 200, next: Any = "", name: str = "",
                  error: str | None = None) -> Response:
    """The sign-in form, with the token its browser's cookie must match when it is sent."""
    token = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(32)
    response: Response = page(request, "sign_in.html", None, status_code=status_code, next=next or "", name=name,
                              error=error, form_token=token)
    settings = app_of(request).settings
    response.set_cookie(SIGN_IN_COOKIE, token, httponly=True, samesite="lax", secure=settings.session_cookie_secure,
                        path=PREFIX)
    return response


@router.get("/sign-in", response_model=None)
def sign_in_page(request: Request, next: str = "") -> Response:
    return _sign_in_page(request, next=next)


@router.post("/sign-in", response_model=None)
async def sign_in_form(request: Request) -> Response:
    """Sign in from the form; a form whose token is not its browser's sign-in cookie (another
    site signing the browser in to an account of its own) is refused and logged."""
    form = await _form(request)
    name, password = str(form.get("name") or ""), str(form.get("password") or "")
    expected, given = request.cookies.get(SIGN_IN_COOKIE) or "", str(form.get(FORM_TOKEN) or "")
    if not (expected and hmac.compare_digest(given.encode(), expected.encode())):
        reason = "This sign-in form has expired or came from another site: sign in again here."
        await run_in_threadpool(auth.refuse, request, 403, reason, actor=name or None)  # into the access log
        return _sign_in_page(request, status_code=403, next=form.get("next"), name=name, error=reason)
    app = app_of(request)
    try:
        user = sign_in(app.db, app.clock.now(), name, password, auth.ORIGIN_WEB) if name and password else None
    except TooManySignIns as exc:
        refused = _sign_in_page(request, status_code=429, next=form.get("next"), name=name, error=str(exc))
        refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    if user is None:
        return _sign_in_page(request, status_code=401, next=form.get("next"), name=name,
                             error="That name and password do not match a user.")
    target = str(form.get("next") or "")
    response = RedirectResponse(target if target.startswith(PREFIX + "/") else f"{PREFIX}/queue", status_code=303)
    auth.start_session(response, user, request)
    response.delete_cookie(SIGN_IN_COOKIE, path=PREFIX, httponly=True, samesite="lax")
    return response


@router.post("/sign-out", response_model=None)
def sign_out(request: Request, _: Who) -> Response:
    response = _see("/sign-in", done="signed out")
    auth.end_session(response, request)
    response.delete_cookie(ROLE_COOKIE, path=PREFIX, httponly=True, samesite="lax")
    return response


@router.post("/role", response_model=None)
async def switch_role(request: Request, who: Who) -> Response:
    """Act in another of one's own roles from now on; any other role is refused (and logged)."""
    role = str((await _form(request)).get("role") or "")
    if role not in who.roles:
        reason = f"You may act as {', '.join(who.roles)}, not '{role}'."
        auth.refuse(request, 403, reason, actor=who.user.name)  # into the access log
        return page(request, "refused.html", who, status_code=403, message=reason)
    response = _see("/queue", done=f"acting as {role}")
    settings = app_of(request).settings
    response.set_cookie(ROLE_COOKIE, role, max_age=settings.session_max_age, httponly=True, samesite="lax",
                        secure=settings.session_cookie_secure, path=PREFIX)
    return response


# -- the work queue --------------------------------------------------------------------------------


def _queue(request: Request, who: Viewer, status_code: int = 200, **extra: Any) -> Response:
    app = app_of(request)
    filters = views.QueueFilters.of(dict(request.query_params))
    error = None
    try:
        data = views.queue_view(app, filters, who.actor)
    except (InvalidInput, NotPermitted) as exc:  # a mistyped filter, or words a role may not search for
        error, data = str(exc), {"rows": [], "counts": {}, "total": 0, "in_state": 0, "overdue": 0, "more": False}
    return page(request, "queue.html", who, status_code=status_code, filters=filters, data=data, error=error,
                choices=views.choices(app), **extra)


@router.get("/queue", response_model=None)
def queue(request: Request, who: Who, done: str = "") -> Response:
    return _queue(request, who, done=done)


@router.post("/queue/bulk", response_model=None)
async def bulk(request: Request, who: Who) -> Response:
    """Assign or escalate the selected cases in one transaction: all of them, or none."""
    form = await _form(request)
    refs = [str(r) for r in form.get("refs") or []]
    action = str(form.get("bulk_action") or "")
    problems = []
    if not refs:
        problems.append("select at least one complaint")
    if action == "assign":
        payload = {"assignee": str(form.get("assignee") or "").strip()}
        if not payload["assignee"]:
            problems.append("assignee: say who works the selected complaints")
    elif action == "escalate":
        payload = {"reason": str(form.get("reason") or "").strip()}
        if not payload["reason"]:
            problems.append("reason: say why the selected complaints go up a tier")
    else:
        problems.append("choose assign or escalate")
    if not problems:
        try:
            app_of(request).engine.advance_many([Move(r, action, payload) for r in refs], who.actor)
        except ComplaintflowError as exc:
            problems.append("; ".join([str(exc), *getattr(exc, "__notes__", [])]))
    if problems:
        return _queue(request, who, status_code=422, bulk_problems=problems, selected=set(refs))
    verb = "assigned to " + payload.get("assignee", "") if action == "assign" else "escalated"
    return _see("/queue", done=f"{counted(len(refs), 'complaint')} {verb}",
                **views.QueueFilters.of(dict(request.query_params)).chosen())


# -- one case ------------------------------------------------------------------------------------------


def _case(request: Request, who: Viewer, reference: str, status_code: int = 200, **extra: Any) -> Response:
    """The case page; its related complaints come in a second request (``related``) unless
    given, as the search over other complaints costs most of the page's time."""
    app = app_of(request)
    try:
        data = views.case_page(app, reference, who.actor)
    except NotFound as exc:
        return page(request, "not_found.html", who, status_code=404, message=str(exc))
    if "link_error" in extra:  # a refused link decision shows the list it was made on at once
        extra.setdefault("related", _related(app, reference))
    codes = sorted((code, spec.name) for code, spec in app.taxonomy.codes.items())
    return page(request, "case.html", who, status_code=status_code, data=data, notes=views.notes_of(data["view"]),
                timeline=views.timeline(data["view"]), taxonomy_codes=codes, **{"related": None, **extra})


def _related(app: Any, reference: str) -> list[dict[str, Any]]:
    from root_cause.services import candidates

    return candidates(app.db, reference, k=5)


@router.get("/cases/{reference}/related", response_model=None)
def related(request: Request, who: Who, reference: str) -> Response:
    """The case's likely duplicates and related open complaints: the list alone for htmx, the
    whole case page with the list for a browser without script."""
    try:
        found = _related(app_of(request), reference)
    except NotFound as exc:
        return page(request, "not_found.html", who, status_code=404, message=str(exc))
    if request.headers.get("hx-request") != "true":
        return _case(request, who, reference, related=found)
    return page(request, "related.html", who, reference=reference, related=found)


@router.get("/cases/{reference}", response_model=None)
def case(request: Request, who: Who, reference: str, done: str = "") -> Response:
    return _case(request, who, reference, done=done)


@router.post("/cases/{reference}/act", response_model=None)
async def act(request: Request, who: Who, reference: str) -> Response:
    """Take an action (or preview its letters); a refusal shows the engine's reasons."""
    app = app_of(request)
    form = await _form(request)
    action = str(form.get("action") or "")
    try:
        workflow = app.engine.workflow_of(app.engine.get(reference))
    except NotFound as exc:
        return page(request, "not_found.html", who, status_code=404, message=str(exc))
    payload = views.payload_of(workflow, action, {k: v for k, v in form.items() if isinstance(v, str)})
    failed: dict[str, Any] = {"action": action, "typed": form}
    try:
        expected = int(str(form.get("expected_version") or ""))
    except ValueError:
        expected = None
    try:
        if form.get("preview"):
            step = app.engine.preview(reference, action, who.actor, payload)
            return _case(request, who, reference, preview={"action": action, "step": step, "typed": form})
        app.engine.advance(reference, action, who.actor, payload, expected)
    except ConflictError as exc:
        return _case(request, who, reference, status_code=409, conflict=exc, failed=failed)
    except InvalidInput as exc:
        names = list(workflow.spec.transitions[action].fields) if action in workflow.spec.transitions else []
        by_field, general = views.problems_by_field(exc, names)
        return _case(request, who, reference, status_code=422,
                     failed=failed | {"message": str(exc).split(":")[0], "by_field": by_field, "general": general})
    except GuardFailed as exc:
        by_field, general = views.guard_problems(workflow, exc)
        message = str(exc).split(": ")[0] if by_field else str(exc)
        return _case(request, who, reference, status_code=422,
                     failed=failed | {"message": message, "by_field": by_field, "general": general if by_field else []})
    except ActionNotAllowed as exc:
        return _case(request, who, reference, status_code=422, failed=failed | {"message": str(exc)})
    return _see(f"/cases/{reference}", done=f"'{workflow.spec.transitions[action].label or action}' done")


def _change(request: Request, who: Viewer, reference: str, work: Callable[[], object], done: str, error_field: str,
            also: tuple[type[Exception], ...] = (), **kept: Any) -> Response:
    """Make one change to the case and see it; refused, the case page again with the refusal
    beside ``error_field`` (and what the user typed, ``kept``)."""
    refused: tuple[type[Exception], ...] = (ComplaintflowError, *also)
    try:
        work()
    except refused as exc:
        return _case(request, who, reference, status_code=422, **{error_field: str(exc)}, **kept)
    return _see(f"/cases/{reference}", done=done)


@router.post("/cases/{reference}/letters/{letter_id}", response_model=None)
async def letter(request: Request, who: Who, reference: str, letter_id: int) -> Response:
    """Release a held letter (or hold a queued one) after reading it."""
    app = app_of(request)
    form = await _form(request)
    verb = str(form.get("do") or "")
    data = views.case_page(app, reference, who.actor)
    if not data["sees_personal_data"]:
        return _case(request, who, reference, status_code=403,
                     letter_error=f"role '{who.role}' is not shown the personal data the letter holds")
    if letter_id not in {n["id"] for n in data["view"]["notifications"]}:
        return page(request, "not_found.html", who, status_code=404, message=f"No letter {letter_id} on {reference}")
    change = {"release": outbox.release, "hold": outbox.hold}.get(verb)
    if change is None:
        return _case(request, who, reference, status_code=422, letter_error=f"unknown letter action {verb!r}")
    return _change(request, who, reference, lambda: change(app.db, app.clock.now(), letter_id, who.actor,
                                                             str(form.get("note") or "")),
                   f"letter {letter_id} {'released' if verb == 'release' else 'held'}", "letter_error")


@router.post("/cases/{reference}/links", response_model=None)
async def link(request: Request, who: Who, reference: str) -> Response:
    """Confirm or reject a suggested link to a related complaint (or confirm a candidate)."""
    from root_cause.services import add_link, decide_link

    app = app_of(request)
    form = await _form(request)
    decision, reason = str(form.get("decision") or ""), str(form.get("reason") or "") or None

    def decide() -> None:
        if form.get("link_id"):
            decide_link(app.db, app.clock.now(), int(str(form["link_id"])), decision, who.actor, reason)
        elif decision == "confirmed":
            add_link(app.db, app.clock.now(), reference, str(form.get("target") or ""), str(form.get("kind") or ""),
                     who.actor, reason)
        else:
            raise InvalidInput("Invalid link decision", ["only a stored link can be rejected"])

    return _change(request, who, reference, decide, f"link {decision}", "link_error", also=(ValueError,))


@router.post("/cases/{reference}/notes", response_model=None)
async def note(request: Request, who: Who, reference: str) -> Response:
    """A note for the team, or a comment for the customer (sent to them as a letter): an event
    on the case either way."""
    app = app_of(request)
    form = await _form(request)
    public = bool(form.get("public"))
    return _change(request, who, reference,
                   lambda: add_note(app.db, app.clock.now(), reference, who.actor, str(form.get("text") or ""),
                                    public, letter=app.engine.comment_letter),
                   "comment sent" if public else "note added", "note_error", note_text=form.get("text"),
                   note_public=public)


# -- a customer --------------------------------------------------------------------------------------


@router.get("/customers/{pseudonym}", response_model=None)
def customer(request: Request, who: Who, pseudonym: str) -> Response:
    number = views.page_number(request.query_params.get("page"))
    data = views.customer_page(app_of(request), pseudonym, who.actor, number)
    if data is None:
        return page(request, "not_found.html", who, status_code=404, message="No such customer")
    return page(request, "customer.html", who, data=data)
