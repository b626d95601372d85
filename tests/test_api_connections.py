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
from apiserver import Api, serving
from casework import take_in
from sqlalchemy import event

from complaintflow.api.app import create_app
from complaintflow.bootstrap import App
from complaintflow.settings import Settings

POOL = 3
CLIENTS = 12


@pytest.fixture
def served(app: App, tmp_path: Path) -> Iterator[tuple[Api, list[Any]]]:
    """A server keeping ``POOL`` connections, and the connections its engine opened."""
    web = create_app(Settings(database_url=app.settings.database_url, data_dir=tmp_path / "data",
                              session_secret="s" * 48, database_pool_size=POOL))
    opened: list[Any] = []
    event.listen(web.state.complaintflow.db.engine, "connect", lambda connection, _: opened.append(connection))
    with serving(web) as url:
        api = Api(app, url)
        try:
            yield api, opened
        finally:
            api.close()


def test_many_requests_at_once_are_served_on_the_kept_connections_alone(served: tuple[Api, list[Any]]) -> None:
    api, opened = served
    token = api.user("hana", "handler")
    references = [take_in(api.app) for _ in range(CLIENTS)]

    def views(reference: str) -> list[int]:
        with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            return [client.get(f"/complaints/{reference}").status_code for _ in range(5)]

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = [status for statuses in pool.map(views, references) for status in statuses]
    assert answers == [200] * CLIENTS * 5
    assert 1 <= len(opened) <= POOL
