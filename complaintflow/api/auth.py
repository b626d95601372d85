"""Who is asking: a bearer token (integrations) or a signed session cookie (the console).

``current_user`` is the dependency every endpoint but sign-in takes; ``acting`` turns the
user into the ``Actor`` of a step, in one of the user's own roles (``as_role`` picks one;
a role the user does not have is refused). Every refusal, 401 or 403, is appended to the
access log before it is answered. Session cookies are signed (itsdangerous), HttpOnly and
SameSite=Lax; the user is looked up on each request, so one disabled since signing in is
refused at once.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from itsdangerous import BadSignature, URLSafeTimedSerializer
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import State

from complaintflow.api.deps import quick_read
from complaintflow.api.errors import ERRORS
from complaintflow.users.services import TooManySignIns, User, record_access, sign_in, user_named, user_of_token
from complaints.steps import Actor

__all__ = ["User", "current_user", "acting", "require_roles", "start_session", "end_session", "refuse", "router",
           "form_token", "SESSION_COOKIE", "ORIGIN_API", "ORIGIN_WEB"]

SESSION_COOKIE = "complaintflow_session"
ORIGIN_API, ORIGIN_WEB = "api", "web"
_SALT = "complaintflow.session"
#: The application state of the request being served, for ``start_session`` called without one.
_STATE: ContextVar[State] = ContextVar("complaintflow_api_state")


def signer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


def form_token(request: Request) -> str:
    """What the console's forms carry beside the session cookie ("" without a session): the
    cookie's own HMAC. A page of another site can make the browser send the cookie, never read
    a page of ours, so it cannot know the token (SameSite=Lax alone leaves older browsers and
    same-site hosts open)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return ""
    key = request.app.state.signer.secret_key
    return hmac.new(key, b"form:" + cookie.encode(), hashlib.sha256).hexdigest()


def bind_state(state: State) -> None:
    """Remember the app's state for this request (set by the app's middleware)."""
    _STATE.set(state)


def _state(request: Request | None) -> State:
    return request.app.state if request is not None else _STATE.get()


def refuse(request: Request, code: int, reason: str, actor: str | None = None,
           details: dict[str, Any] | None = None) -> HTTPException:
    """Log the refusal in the access log, and the exception that answers it."""
    state = request.app.state
    record_access(state.complaintflow.db, state.complaintflow.clock.now(), "refused",
                  getattr(request.state, "origin", None) or _origin_asked(request), actor=actor, status=code,
                  details={"method": request.method, "path": request.url.path, "reason": reason, **(details or {})})
    headers = {"WWW-Authenticate": "Bearer"} if code == status.HTTP_401_UNAUTHORIZED else None
    return HTTPException(code, detail=reason, headers=headers)


def _origin_asked(request: Request) -> str:
    return ORIGIN_API if request.headers.get("authorization") else ORIGIN_WEB


class _Refusal(NamedTuple):
    reason: str
    actor: str | None = None


async def current_user(request: Request) -> User:
    """The signed-in user; 401 (logged) without valid credentials. ``async``: the lookup is a
    quick read (``deps.quick_read``); a refusal's log entry is written on the pool."""
    cached = getattr(request.state, "user", None)
    if isinstance(cached, User):
        return cached
    found = await quick_read(request.app.state.complaintflow, _identify, request)
    if isinstance(found, _Refusal):
        raise await run_in_threadpool(refuse, request, status.HTTP_401_UNAUTHORIZED, found.reason, actor=found.actor)
    request.state.user = found
    return found


def _identify(request: Request) -> User | _Refusal:
    """The user the request's token or session cookie names, or why there is none."""
    state = request.app.state
    db = state.complaintflow.db
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, secret = header.partition(" ")
        request.state.origin = ORIGIN_API
        user = user_of_token(db, secret.strip()) if scheme.lower() == "bearer" else None
        return user or _Refusal("the token is unknown, revoked, or its user disabled")
    request.state.origin = ORIGIN_WEB
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:
        return _Refusal("sign in: send 'Authorization: Bearer <token>' or sign in at POST /session")
    try:
        name = state.signer.loads(cookie, max_age=state.complaintflow.settings.session_max_age)["u"]
    except (BadSignature, KeyError, TypeError):
        return _Refusal("the session is invalid or has expired: sign in again")
    return user_named(db, name) or _Refusal("the session's user is disabled or gone", name)


CurrentUser = Annotated[User, Depends(current_user)]
AsRole = Annotated[str | None, Query(max_length=40, description="act in this one of your roles (default: your first)")]


async def acting(request: Request, user: CurrentUser, as_role: AsRole = None) -> Actor:
    """The actor of a step: the signed-in user, in one of their own roles. ``async``, as it
    only compares (a plain ``def`` costs every request a hop to the thread pool and back);
    a refusal's log entry is written on the pool, never on the event loop."""
    role = as_role or user.roles[0]
    if not user.may_act_as(role):
        raise await run_in_threadpool(refuse, request, status.HTTP_403_FORBIDDEN,
                                      f"you may act as {', '.join(user.roles)}, not '{role}'", actor=user.name)
    return Actor(user.name, role, request.state.origin)


Acting = Annotated[Actor, Depends(acting)]


def require_roles(roles: Iterable[str], what: str) -> Callable[..., Awaitable[Actor]]:
    """A dependency: the actor, if acting in one of ``roles`` (else 403, logged)."""
    allowed = tuple(roles)

    async def dependency(request: Request, actor: Acting) -> Actor:
        if actor.role not in allowed:
            raise await run_in_threadpool(
                refuse, request, status.HTTP_403_FORBIDDEN,
                f"{what} needs one of the roles {', '.join(allowed)}; you act as '{actor.role}'", actor=actor.name)
        return actor

    return dependency


def start_session(response: Response, user: User, request: Request | None = None) -> None:
    """Sign ``user`` in on this browser: a signed, HttpOnly, SameSite=Lax cookie."""
    state = _state(request)
    settings = state.complaintflow.settings
    response.set_cookie(SESSION_COOKIE, state.signer.dumps({"u": user.name}), max_age=settings.session_max_age,
                        httponly=True, samesite="lax", secure=settings.session_cookie_secure, path="/")


def end_session(response: Response, request: Request | None = None) -> None:
    """Sign out on this browser (the cookie removed)."""
    settings = _state(request).complaintflow.settings
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="lax", secure=settings.session_cookie_secure, path="/")


# -- the session endpoints --------------------------------------------------------------------------

router = APIRouter(tags=["session"], responses={401: ERRORS[401], 413: ERRORS[413]})


class SignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(BaseModel):
    name: str
    display_name: str
    roles: list[str]


def _out(user: User) -> UserOut:
    return UserOut(name=user.name, display_name=user.display_name, roles=list(user.roles))


@router.post("/session", response_model=UserOut)
def create_session(request: Request, response: Response, body: SignIn) -> UserOut:
    """Sign in with a name and password: the session cookie is set."""
    cf = request.app.state.complaintflow
    request.state.origin = ORIGIN_WEB
    try:
        user = sign_in(cf.db, cf.clock.now(), body.name, body.password, ORIGIN_WEB)
    except TooManySignIns as exc:  # logged by sign_in, as is a wrong password
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail=str(exc),
                            headers={"Retry-After": str(exc.retry_after)}) from exc
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong name or password")
    start_session(response, user, request)
    return _out(user)


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT)
def delete_session(request: Request) -> Response:
    """Sign out: the session cookie is removed (signing out twice is fine)."""
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    end_session(response, request)
    return response


@router.get("/session", response_model=UserOut)
def who_am_i(user: CurrentUser) -> UserOut:
    """The signed-in user and the roles they may act in."""
    return _out(user)
