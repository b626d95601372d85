"""The API's database connections: a server busy with more requests than it keeps connections
works on the connections it keeps, opening none for a single request (on PostgreSQL each one
is a new server process)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from apiserver import Api, api_over
from casework import take_in
from sqlalchemy import event

from complaintflow.bootstrap import App

POOL = 3
CLIENTS = 12
VIEWS = 10  # each client's, one after another


@pytest.fixture
def served(app: App, tmp_path: Path) -> Iterator[tuple[Api, list[Any]]]:
    """A server keeping ``POOL`` connections, and the connections its engine opens once it is up."""
    with api_over(app, tmp_path, database_pool_size=POOL) as api:
        opened: list[Any] = []
        event.listen(api.web.state.complaintflow.db.engine, "connect", lambda connection, _: opened.append(connection))
        yield api, opened


def test_many_requests_at_once_are_served_on_the_kept_connections_alone(served: tuple[Api, list[Any]]) -> None:
    api, opened = served
    token = api.user("hana", "handler")
    references = [take_in(api.app) for _ in range(CLIENTS)]

    def views(reference: str) -> list[int]:
        with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            # with its clocks: on SQLite a bare case view is read on the event loop, its clocks on the pool
            return [client.get(f"/complaints/{reference}", params={"clocks": True}).status_code for _ in range(VIEWS)]

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = [status for statuses in pool.map(views, references) for status in statuses]
    assert answers == [200] * CLIENTS * VIEWS
    assert 1 <= len(opened) <= POOL
