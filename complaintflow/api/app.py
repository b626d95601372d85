"""The HTTP API: ``create_app`` builds it on the same services as the CLI.

``complaints serve`` runs it under uvicorn (``factory=True``: each worker process calls
``create_app`` and builds its own engine and connection pool). Every endpoint but sign-in
needs a signed-in user (``complaintflow.api.auth``); answers are JSON, so text a customer or
handler typed (markup, scripts) comes back as data, never interpreted.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from importlib.metadata import version as package_version

import anyio.to_thread
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.datastructures import MutableHeaders, State
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from complaintflow.api import auth, complaints, customers, erasure, errors, notes, rootcause, sla
from complaintflow.bootstrap import build
from complaintflow.keys import session_secret
from complaintflow.schema import check_schema
from complaintflow.settings import Settings, load_settings
from complaintflow.web import mount_console

__all__ = ["create_app"]

ROUTERS = (auth.router, complaints.router, notes.router, customers.router, sla.router, rootcause.router,
           erasure.router)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application over the database ``settings`` name (default: from the environment),
    refused at once, saying what to run, if its schema is not the current one."""
    settings = settings or load_settings()
    cf = build(settings)
    try:
        check_schema(cf.db)
        secret = session_secret(settings)
    except BaseException:
        cf.db.dispose()
        raise

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # No more requests in threads at once than pooled connections: a further one would
        # open a connection for one request and close it again (on PostgreSQL, a new server
        # process). In process, the event loop holds one itself, for quick reads (deps.quick_read).
        threads = cf.db.pool_size - cf.db.in_process
        anyio.to_thread.current_default_thread_limiter().total_tokens = max(1, threads)
        yield
        cf.db.dispose()

    # /docs and /redoc load their scripts from this server (a CDN may be out of reach)
    app = FastAPIOffline(title="complaintflow", version=package_version("complaintflow"), lifespan=lifespan,
                         description="Complaints, their lifecycle, SLA clocks and root causes (docs/api.md).")
    app.state.complaintflow = cf
    app.state.signer = auth.signer(secret)
    # writers of this process queue here on SQLite (deps.write_gate); PostgreSQL locks rows
    app.state.write_gate = threading.Lock() if cf.db.dialect == "sqlite" else nullcontext()
    errors.install(app, auth.refuse)

    app.add_middleware(_Headers, state=app.state)
    app.add_middleware(errors.BodyLimit, max_bytes=settings.api_max_body_bytes)
    for router in ROUTERS:
        app.include_router(router)
    mount_console(app)  # the web console's pages under /console (docs/console.md)
    return app


class _Headers:
    """Binds the app's state for ``auth.start_session`` and adds the headers every answer
    carries: JSON is never sniffed as HTML, and no page of ours is framed by another site."""

    def __init__(self, app: ASGIApp, state: State):
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        auth.bind_state(self.state)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
            await send(message)

        await self.app(scope, receive, send_with_headers)
