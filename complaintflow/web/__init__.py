"""The handlers' and quality team's web console, served beside the REST API (``complaints serve``).

Pages rendered on the server from Jinja2 templates, plain HTML forms (htmx, shipped in
``static/``, only narrows the queue without a reload), no script from anywhere else.
"""

from __future__ import annotations

import inspect
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = ["mount_console"]


def mount_console(app: FastAPI) -> FastAPI:
    """Add the console's pages and files to the api's app; a page asked for without a valid
    session sends the browser to sign in (the api's own routes keep answering 401)."""
    from complaintflow.web import indicators, quality_routes, routes
    from complaintflow.web.deps import HERE, PREFIX, FormRefused, SignInNeeded, page

    app.include_router(routes.router)
    app.include_router(quality_routes.router)
    app.include_router(indicators.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=str(HERE / "static")), name="console-static")

    earlier = app.exception_handlers.get(StarletteHTTPException)
    earlier_invalid = app.exception_handlers.get(RequestValidationError)

    def is_page(request: Request) -> bool:
        return request.url.path.startswith(PREFIX + "/") and not request.url.path.startswith(f"{PREFIX}/static")

    async def the_apis_answer(handler: Any, fallback: Any, request: Request, exc: Exception) -> Response:
        """The api's own answer to an error outside the console, as it was."""
        answer = (handler or fallback)(request, exc)
        return await answer if inspect.isawaitable(answer) else answer  # type: ignore[no-any-return]

    async def signed_out(request: Request, exc: Exception) -> Response:
        if isinstance(exc, SignInNeeded) or (is_page(request) and isinstance(exc, StarletteHTTPException)
                                             and exc.status_code == 401):
            return RedirectResponse(f"{PREFIX}/sign-in?next={quote(request.url.path)}", status_code=303)
        assert isinstance(exc, StarletteHTTPException)
        if is_page(request):  # a person reads a page, not the api's JSON
            heading = "Not found" if exc.status_code == 404 else HTTPStatus(exc.status_code).phrase
            return page(request, "refused.html", None, status_code=exc.status_code, heading=heading,  # type: ignore[no-any-return]
                        message="There is no such page in the console." if exc.status_code == 404 else str(exc.detail))
        return await the_apis_answer(earlier, http_exception_handler, request, exc)

    async def invalid_address(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if not is_page(request):
            return await the_apis_answer(earlier_invalid, request_validation_exception_handler, request, exc)
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'address'}: {e.get('msg', '')}"
                             for e in exc.errors())
        return page(request, "refused.html", None, status_code=422, heading="This address is not complete",  # type: ignore[no-any-return]
                    message=problems)

    async def form_refused(request: Request, exc: Exception) -> Response:
        return page(request, "refused.html", None, status_code=403, heading="Form not accepted", message=str(exc))  # type: ignore[no-any-return]

    app.add_exception_handler(SignInNeeded, signed_out)
    app.add_exception_handler(FormRefused, form_refused)
    app.add_exception_handler(StarletteHTTPException, signed_out)
    app.add_exception_handler(RequestValidationError, invalid_address)
    return app
