"""Who is looking and what they may do: the signed-in user (the api's session), the role
they act in, and the application the pages read from."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from complaintflow.api import auth
from complaintflow.api.auth import User, current_user
from complaintflow.bootstrap import App
from complaints.steps import SYSTEM_ROLE, Actor

HERE = Path(__file__).parent
PREFIX = "/console"
#: Roles shown the quality pages (Pareto, alerts, problem map, CAPA board).
QUALITY_ROLES = frozenset({"quality", "supervisor", "specialist", "executive"})
#: Roles that may move a CAPA along its board.
CAPA_ROLES = frozenset({"quality"})
#: Which of their own roles a person acts in, chosen in the page header (checked on every page).
ROLE_COOKIE = "cf_console_role"
#: The sign-in form's own token, before there is a session (the form carries it as ``FORM_TOKEN``).
SIGN_IN_COOKIE = "cf_console_sign_in"
#: The form field (or header, for scripts) that carries ``auth.form_token`` on every form sent.
FORM_TOKEN, FORM_TOKEN_HEADER = "form_token", "X-Form-Token"
_READS = frozenset({"GET", "HEAD", "OPTIONS"})

templates = Jinja2Templates(directory=str(HERE / "templates"))
#: Templates ship with the package: compiled once, never checked for edits on each page.
templates.env.auto_reload = False


def _moment(value: Any) -> datetime | str:
    """A stored time as a datetime, or what to show instead of one."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value if isinstance(value, datetime) else str(value)


def _when_text(value: Any) -> str:
    """A stored time as the pages show it (UTC, to the minute), as plain text (for attributes)."""
    moment = _moment(value)
    return f"{moment:%Y-%m-%d %H:%M} UTC" if isinstance(moment, datetime) else moment


def _when(value: Any) -> Markup | str:
    """A stored time in a ``<time>`` element, which the page never breaks at its hyphens (a
    phone's narrow column wrapped "2026-12-" from "05")."""
    moment = _moment(value)
    if not isinstance(moment, datetime):
        return moment
    stamp = moment.astimezone(UTC) if moment.tzinfo else moment  # stored times are UTC
    return Markup('<time datetime="{}Z">{}</time>').format(f"{stamp:%Y-%m-%dT%H:%M:%S}", _when_text(moment))


def _shown(value: Any) -> str:
    """A recorded value as a person reads it, never as Python writes it: yes or no, a list
    joined by commas, a mapping as its pairs, a stored time as the pages show times."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_shown(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{str(k).replace('_', ' ')}: {_shown(v)}" for k, v in value.items())
    if isinstance(value, str) and len(value) > 10 and value[10] == "T":
        return _when_text(value)
    return str(value)


def counted(n: int, word: str) -> str:
    """``n`` of a thing in words: "1 complaint", "1,204 complaints" (the console's nouns take an s)."""
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _combine_query(chosen: dict[str, Any], **changes: Any) -> str:
    """The queue's query string with some parameters changed (a state picked, the next page)."""
    return urlencode({k: v for k, v in {**chosen, **changes}.items() if v not in (None, "")})


templates.env.filters["when"] = _when
templates.env.filters["when_text"] = _when_text
templates.env.filters["shown"] = _shown
templates.env.filters["combine_query"] = _combine_query
templates.env.filters["counted"] = counted


def app_of(request: Request) -> App:
    """The application the api built (one per server process)."""
    app: App = request.app.state.complaintflow
    return app


@dataclass(frozen=True)
class Viewer:
    """A signed-in person, the role they act in and the others they may switch to."""

    user: User
    role: str
    roles: tuple[str, ...] = ()

    @property
    def actor(self) -> Actor:
        return Actor(self.user.name, self.role)

    @property
    def sees_quality(self) -> bool:
        return self.role in QUALITY_ROLES

    @property
    def moves_capas(self) -> bool:
        return self.role in CAPA_ROLES


class SignInNeeded(Exception):
    """The request has no valid session: the page sends the browser to sign in."""


class FormRefused(Exception):
    """A form sent without this session's token (``auth.form_token``): answered 403, logged."""


async def viewer(request: Request, user: Annotated[User, Depends(current_user)]) -> Viewer:
    """The signed-in person, acting in the role they chose if it is still theirs, else in their
    first (the api's default too); a form they send must carry the session's token. ``async``:
    it only reads, and spares each page a hop to the thread pool."""
    roles = tuple(r for r in user.roles if r != SYSTEM_ROLE)
    if not roles:
        raise SignInNeeded(request.url.path)
    if request.method not in _READS:
        await _check_form_token(request, user.name)
    chosen = request.cookies.get(ROLE_COOKIE)
    return Viewer(user, chosen if chosen in roles else roles[0], roles)


async def _check_form_token(request: Request, name: str) -> None:
    form = await request.form()  # parsed once: the route reads the same form
    given = str(form.get(FORM_TOKEN) or request.headers.get(FORM_TOKEN_HEADER) or "")
    expected = auth.form_token(request)
    if not (expected and hmac.compare_digest(given.encode(), expected.encode())):
        reason = "This form did not come from a page of this console session: reload the page and send it again."
        await run_in_threadpool(auth.refuse, request, 403, reason, actor=name)  # into the access log
        raise FormRefused(reason)


def page(request: Request, template: str, who: Viewer | None, status_code: int = 200, **context: Any) -> Any:
    """Render a page with what every page needs (the viewer, the prefix, the forms' token)."""
    return templates.TemplateResponse(request, template, {"who": who, "prefix": PREFIX,
                                                          "form_token": auth.form_token(request), **context},
                                      status_code=status_code)


#: A page's signed-in viewer, as a parameter type.
Who = Annotated[Viewer, Depends(viewer)]
