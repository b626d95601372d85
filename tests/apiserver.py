"""A real HTTP server for the API tests: ``complaints serve``'s app under uvicorn, on a free
port of 127.0.0.1, in a thread of the test process; users made through the services."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from complaintflow.api.app import create_app
from complaintflow.bootstrap import App
from complaintflow.settings import Settings
from complaintflow.users import services

ROLES = {"handler", "supervisor", "specialist", "executive", "quality"}
PASSWORD = "correct horse battery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(settings: Settings | FastAPI) -> Iterator[str]:
    """The base URL of a server running ``create_app(settings)`` (or the app given) until the block ends."""
    web = settings if isinstance(settings, FastAPI) else create_app(settings)
    server = uvicorn.Server(uvicorn.Config(web, host="127.0.0.1", port=free_port(), log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(10)


@dataclass
class Api:
    """A running server over ``app``'s database, and a way to make users and clients for it."""

    app: App
    url: str
    web: FastAPI
    clients: list[httpx.Client] = field(default_factory=list)

    def user(self, name: str, *roles: str, password: str | None = PASSWORD) -> str:
        """A new user with a token; the token."""
        now = datetime.now(UTC)
        services.add_user(self.app.db, now, name, name.title(), list(roles), ROLES, password, by="test")
        return services.create_token(self.app.db, now, name, "tests", by="test").secret

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)
        self.clients.append(client)
        return client

    def as_new_user(self, name: str, *roles: str) -> httpx.Client:
        return self.client(self.user(name, *roles))

    def close(self) -> None:
        for client in self.clients:
            client.close()


@contextmanager
def api_over(app: App, tmp_path: Path, **overrides: Any) -> Iterator[Api]:
    settings = Settings(database_url=app.settings.database_url, data_dir=tmp_path / "data",
                        session_secret="s" * 48, **overrides)  # type: ignore[arg-type]
    web = create_app(settings)
    with serving(web) as url:
        api = Api(app, url, web)
        try:
            yield api
        finally:
            api.close()


def refusals(app: App, kinds: Sequence[str] = ("refused",)) -> list[dict[str, Any]]:
    """The access log's events of those kinds, oldest first."""
    from complaintflow.users.repository import UserRepository

    with app.db.read() as conn:
        return UserRepository(conn).access_events(kinds=kinds)
