"""How errors reach an HTTP client: one JSON shape, the status that says what to do.

Domain errors (``complaints.errors``) become ``{"error": {"type", "message", ...}}`` with the
attributes they carry (``reference``, ``allowed``, ``current_version`` ...); invalid input,
whether pydantic's or the domain's, is 422 in FastAPI's shape, each problem naming its field.
Request bodies larger than the limit are refused with 413 before they are read whole.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from complaints.errors import (
    ActionNotAllowed,
    ComplaintflowError,
    ConflictError,
    GuardFailed,
    InvalidInput,
    LetterNotChangeable,
    NotFound,
    NotPermitted,
)
from complaints.problems import value_hint

#: Statuses documented on every endpoint, with the shape of their body.
ERROR_SCHEMA = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["type", "message"], "additionalProperties": True,
    "properties": {"type": {"type": "string"}, "message": {"type": "string"}}}}}
_ERROR = {"content": {"application/json": {"schema": ERROR_SCHEMA}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "not signed in: no token or session, or an invalid one", **_ERROR},
    403: {"description": "signed in, but not in a role that may do this", **_ERROR},
    404: {"description": "no such complaint, link or CAPA", **_ERROR},
    409: {"description": "not possible now: the case's state, a guard, or a stale expected version", **_ERROR},
    413: {"description": "the request body is larger than the server accepts", **_ERROR},
}


def json_bytes(value: Any) -> bytes:
    """JSON of a service's result: times as ISO 8601, sets as lists, anything else as text."""
    return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS)


def _default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def ok(value: Any, status_code: int = 200) -> Response:
    """A JSON response, serialised once by orjson (not field by field by FastAPI's encoder)."""
    return Response(json_bytes(value), status_code=status_code, media_type="application/json")


def error_body(kind: str, message: str, **details: Any) -> bytes:
    return json_bytes({"error": {"type": kind, "message": message, **details}})


def _error(code: int, kind: str, message: str, headers: dict[str, str] | None = None, **details: Any) -> Response:
    return Response(error_body(kind, message, **details), status_code=code, media_type="application/json",
                    headers=headers)


def _status(exc: ComplaintflowError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, NotPermitted) or (isinstance(exc, ActionNotAllowed) and exc.by_role):
        return 403
    if isinstance(exc, ActionNotAllowed | GuardFailed | ConflictError | LetterNotChangeable):
        return 409
    return 400


def field_errors(problems: list[str], where: tuple[str | int, ...] = ("body",)) -> list[dict[str, Any]]:
    """Problems written ``field: what is wrong`` as FastAPI's validation errors, one per field
    (``where``: the part of the request the fields are in)."""
    out = []
    for problem in problems:
        field, sep, message = problem.partition(": ")
        named = bool(sep) and " " not in field
        loc = [*where, *field.split(".")] if named else list(where)
        out.append({"loc": loc, "msg": message if named else problem, "type": "value_error"})
    return out


#: Logs a refusal (``auth.refuse``): request, status, reason, who.
Refused = Callable[[Request, int, str, str | None], object]


def install(app: FastAPI, refused: Refused) -> None:
    """Register the handlers that turn every error into its status and JSON body; a 403 for
    the role is logged through ``refused`` like every other refusal."""

    @app.exception_handler(ComplaintflowError)
    def domain_error(request: Request, exc: ComplaintflowError) -> Response:
        if isinstance(exc, InvalidInput):
            where = ("query",) if request.method == "GET" else ("body",)  # a GET's fields are its parameters
            return JSONResponse({"detail": field_errors(exc.problems or [str(exc)], where)}, status_code=422)
        code = _status(exc)
        details = {k: v for k, v in vars(exc).items() if not k.startswith("_")}
        if isinstance(exc, ConflictError):
            details["current_version"] = exc.actual
        if code == 403:  # refused for the role: logged like any other refusal
            refused(request, 403, str(exc), getattr(getattr(request.state, "user", None), "name", None))
        return _error(code, type(exc).__name__, str(exc), **details)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        kinds = {401: "NotSignedIn", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed", 413: "TooLarge",
                 429: "TooManySignIns"}
        return _error(exc.status_code, kinds.get(exc.status_code, "HTTPError"), str(exc.detail),
                      headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        errors = [{"loc": list(e.get("loc", ())), "msg": _said(e), "type": str(e.get("type", ""))}
                  for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=422)


def _said(error: dict[str, Any]) -> str:
    """pydantic's message, but what a value should look like instead of the regular expression
    it failed (as the CLI says it: ``not an email address (name@example.com), got 'x'``)."""
    return value_hint(error) or str(error.get("msg", ""))


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413: at once by their Content-Length, or as
    soon as a body sent in chunks passes the limit (the rest is never read)."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._too_large(send, int(length) if length.isdigit() else None)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, detail=self._message(None))
            return message

        await self.app(scope, limited, send)

    def _message(self, length: int | None) -> str:
        size = f" ({length:,} bytes)" if length is not None else ""
        return f"the request body{size} is larger than the {self.max_bytes:,} bytes this server accepts"

    async def _too_large(self, send: Send, length: int | None) -> None:
        body = error_body("TooLarge", self._message(length))
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
