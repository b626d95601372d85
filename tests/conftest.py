"""Shared fixtures: a real database per test (SQLite file, and PostgreSQL when configured).

``app`` runs a test on both databases; ``sqlite_app`` on SQLite only. PostgreSQL tests read
their URL from ``COMPLAINTS_TEST_POSTGRES_URL`` (set by ``.ci/run``) and are skipped, with
that reason, where it is unset.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

from complaintflow.bootstrap import App, build, init_database
from complaintflow.settings import Settings
from complaintflow.tables import metadata
from complaints.clock import FixedClock
from complaints.steps import Actor

POSTGRES_ADMIN_URL = os.environ.get("COMPLAINTS_TEST_POSTGRES_ADMIN_URL")
#: pytest-xdist's worker ("gw0", "gw1", ...), None when the tests run in one process.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def _worker_database(url: str | None) -> str | None:
    """Each xdist worker empties tables before every test, so each gets a database of its own
    (``<name>_gw0``, made with the admin URL); one process uses the database as given."""
    if not url or not XDIST_WORKER:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{XDIST_WORKER}").render_as_string(hide_password=False)


POSTGRES_URL = _worker_database(os.environ.get("COMPLAINTS_TEST_POSTGRES_URL"))
# No test starts Prefect by accident: a flow called outside the harness of tests/test_flows.py
# fails at once ("No Prefect API URL") instead of starting a temporary server.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_ENABLED", "false")
# Every installation has a secret pseudonym key (`complaints init` makes one); the tests share one.
os.environ.setdefault("COMPLAINTS_PSEUDONYM_KEY", "test-pseudonym-key-" + "k" * 32)
NO_POSTGRES = "COMPLAINTS_TEST_POSTGRES_URL is not set (.ci/run sets it); PostgreSQL tests skipped"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CFPB_SAMPLE = SHARED_DATA / "cfpb_payday_loans_2023.csv"

#: A Monday morning, so business-time tests start from a plain working day.
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def handler() -> Actor:
    return Actor("hana", "handler")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'complaints.db'}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The CI database, schema created once per session; tables emptied before each test."""
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    if XDIST_WORKER:
        _create_worker_database(POSTGRES_URL)
    app = build(Settings(database_url=POSTGRES_URL))
    with app.db.transaction() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    init_database(app.db)
    app.db.dispose()
    yield POSTGRES_URL


def _create_worker_database(url: str) -> None:
    if not POSTGRES_ADMIN_URL:
        pytest.skip("tests run in several processes need COMPLAINTS_TEST_POSTGRES_ADMIN_URL (.ci/run sets it) "
                    "to give each its own PostgreSQL database")
    name = make_url(url).database
    admin = create_engine(make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).first():
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()


def _empty_postgres(url: str) -> None:
    app = build(Settings(database_url=url))
    names = ", ".join(f'"{t.name}"' for t in metadata().sorted_tables)
    with app.db.transaction() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    app.db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'complaints.db'}"
    url = request.getfixturevalue("postgres_url")
    _empty_postgres(url)
    return url


_SQLITE_TEMPLATE: dict[str, Path] = {}


def _migrated_sqlite_template() -> Path:
    """One database migrated to head per test session; each test gets a copy (80 ms -> 6 ms)."""
    if "path" not in _SQLITE_TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="complaintflow-template-"))
        atexit.register(shutil.rmtree, folder, True)
        template = build(Settings(database_url=f"sqlite:///{folder / 'template.db'}"))
        init_database(template.db)
        template.db.dispose()  # the last connection checkpoints the WAL into the file
        _SQLITE_TEMPLATE["path"] = folder / "template.db"
    return _SQLITE_TEMPLATE["path"]


def make_app(url: str, clock: FixedClock, init: bool = True) -> App:
    """The app on ``url``; a new SQLite file starts as a copy of the migrated template."""
    prefix = "sqlite:///"
    if init and url.startswith(prefix) and url != prefix and not Path(url[len(prefix):]).exists():
        shutil.copyfile(_migrated_sqlite_template(), url[len(prefix):])
        init = False
    app = build(Settings(database_url=url), clock=clock)
    if init and url.startswith("sqlite"):
        init_database(app.db)
    return app


@pytest.fixture
def app(database_url: str, clock: FixedClock) -> Iterator[App]:
    """The application on a fresh database: runs once on SQLite and once on PostgreSQL."""
    application = make_app(database_url, clock)
    yield application
    application.db.dispose()


@pytest.fixture
def sqlite_app(sqlite_url: str, clock: FixedClock) -> Iterator[App]:
    application = make_app(sqlite_url, clock)
    yield application
    application.db.dispose()


@pytest.fixture
def api(app: App, tmp_path: Path) -> Iterator[Any]:
    """``complaints serve`` over ``app`` on a free port (``apiserver.Api``), on both databases."""
    from apiserver import api_over

    with api_over(app, tmp_path) as running:
        yield running


@pytest.fixture
def sqlite_api(sqlite_app: App, tmp_path: Path) -> Iterator[Any]:
    from apiserver import api_over

    with api_over(sqlite_app, tmp_path) as running:
        yield running
