"""The handlers' and quality team's web console, served beside the REST API (``complaints serve``).

Pages rendered on the server from Jinja2 templates, plain HTML forms (htmx, shipped in
``static/``, only narrows the queue without a reload), no script from anywhere else.
"""

from __future__ import annotations

import inspect
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
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

    async def signed_out(request: Request, exc: Exception) -> Response:
        is_page = request.url.path.startswith(PREFIX + "/") and not request.url.path.startswith(f"{PREFIX}/static")
        if isinstance(exc, SignInNeeded) or (is_page and isinstance(exc, StarletteHTTPException) and exc.status_code == 401):
            return RedirectResponse(f"{PREFIX}/sign-in?next={quote(request.url.path)}", status_code=303)
        assert isinstance(exc, StarletteHTTPException)
        if earlier is not None:  # the api's own answer to its errors stays as it was
            answer = earlier(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        return await http_exception_handler(request, exc)

    async def form_refused(request: Request, exc: Exception) -> Response:
        return page(request, "refused.html", None, status_code=403, heading="Form not accepted", message=str(exc))  # type: ignore[no-any-return]

    app.add_exception_handler(SignInNeeded, signed_out)
    app.add_exception_handler(FormRefused, form_refused)
    app.add_exception_handler(StarletteHTTPException, signed_out)
    return app
