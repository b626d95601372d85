"""What the routers share: the application built once per server process, and input types.

Dependencies that only read the app's state are ``async``: FastAPI runs a plain ``def``
dependency on its thread pool, a hop to another thread and back on every request.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Annotated, Any, ParamSpec, TypeVar

from fastapi import Depends, Path, Request
from pydantic import AfterValidator, StringConstraints
from starlette.concurrency import run_in_threadpool

from complaintflow.bootstrap import App
from complaints.limits import check_text


async def get_cf(request: Request) -> App:
    """The complaintflow application (database, engine, intake) this server was built with."""
    app: App = request.app.state.complaintflow
    return app


CF = Annotated[App, Depends(get_cf)]

P = ParamSpec("P")
T = TypeVar("T")


async def quick_read(cf: App, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``read(*args)``, a read of a few keyed rows: where the database runs in this process
    (SQLite) it takes less time than a hop to the thread pool and back, so it runs here, on
    the event loop; a database server is waited for on the pool."""
    if cf.db.in_process:
        return read(*args, **kwargs)
    return await run_in_threadpool(read, *args, **kwargs)


async def write_gate(request: Request) -> AbstractContextManager[Any]:
    """Held around a write: on SQLite, one of this process's threads at a time. SQLite lets one
    writer in anyway, and threads that queue on a lock wait without polling the database
    file (``complaints.writelock``) and taking turns at the interpreter with the writer."""
    gate: AbstractContextManager[Any] = request.app.state.write_gate
    return gate


Gate = Annotated[AbstractContextManager[Any], Depends(write_gate)]
#: A complaint reference in a path, e.g. C-2026-000123.
Reference = Annotated[str, Path(min_length=1, max_length=20, pattern=r"^[A-Za-z0-9-]+$",
                                description="complaint reference, e.g. C-2026-000123")]
#: Free text a person writes (a reason): bounded, never a NUL character.
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000), AfterValidator(check_text)]
