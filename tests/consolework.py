"""The console in process (Starlette's test client) for a user signed in with their roles."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from complaintflow.bootstrap import App
from complaintflow.settings import Settings
from complaintflow.users import services
from complaintflow.web.deps import FORM_TOKEN_HEADER

with warnings.catch_warnings():  # Starlette's test client warns that it will want httpx2 one day
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PASSWORD = "a-long-enough-password"


@contextmanager
def signed_in(app: App, tmp_path: Path, name: str, roles: Sequence[str]) -> Iterator[TestClient]:
    """A browser signed in to the console over ``app``'s database as a new user ``name``, its
    forms' token (read from a page, as a browser's form carries it) sent with each request."""
    services.add_user(app.db, app.clock.now(), name, name.capitalize(), roles, set(roles), PASSWORD, by="admin")
    with browsing(app, tmp_path) as client:
        assert client.post("/console/sign-in", data=sign_in_form(client, name, PASSWORD)).status_code == 303
        client.headers[FORM_TOKEN_HEADER] = form_token(client.get("/console/queue").text)
        yield client


@contextmanager
def browsing(app: App, tmp_path: Path) -> Iterator[TestClient]:
    """A browser on the console over ``app``'s database, signed in as nobody yet."""
    from complaintflow.api.app import create_app

    web = create_app(Settings(database_url=app.settings.database_url, data_dir=tmp_path, session_secret="s" * 40))
    with TestClient(web, follow_redirects=False) as client:
        yield client


def form_token(html: str) -> str:
    """The token a page's forms carry."""
    found = re.search(r'name="form_token" value="([0-9a-f]{64})"', html)
    assert found, "the page has no form with the session's token"
    return found.group(1)


def sign_in_form(client: TestClient, name: str, password: str) -> dict[str, str]:
    """What the sign-in form sends: the name, the password and the token of the form as the
    browser loaded it (which sets the cookie the token must match)."""
    page = client.get("/console/sign-in")
    found = re.search(r'name="form_token" value="([A-Za-z0-9_-]{40,})"', page.text)
    assert found, "the sign-in form has no token"
    return {"name": name, "password": password, "form_token": found.group(1)}
