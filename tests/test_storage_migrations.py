"""Schema migrations: Alembic builds exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from casework import take_in
from conftest import POSTGRES_URL, make_app
from sqlalchemy import Column, Integer, String, Table, create_engine, inspect
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel
from storage_workers import init_worker, run_workers
from typer.testing import CliRunner

from complaintflow.bootstrap import App, init_database
from complaintflow.cli.app import app as cli
from complaintflow.migrations import (
    MIGRATIONS_DIR,
    current,
    downgrade,
    heads,
    new_revision,
    schema_differences,
    upgrade,
)
from complaintflow.schema import HEAD, check_schema
from complaintflow.tables import metadata
from complaints.clock import FixedClock
from complaints.db import Database
from complaints.errors import ConfigurationError
from complaints.search import SearchQuery, search_complaints

ADMIN_URL = os.environ.get("COMPLAINTS_TEST_POSTGRES_ADMIN_URL")


def test_migrations_build_exactly_the_schema_the_models_declare(app: App) -> None:
    with app.db.read() as conn:
        assert schema_differences(conn) == []


def test_the_migration_history_has_a_single_head() -> None:
    assert len(heads()) == 1, f"several heads {heads()}: add a merge revision"


def test_the_schema_check_knows_the_newest_migration() -> None:
    assert heads() == [HEAD], "set complaintflow.schema.HEAD to the new migration's revision"


def test_upgrading_an_up_to_date_database_changes_nothing(app: App) -> None:
    init_database(app.db)
    assert current(app.db) == heads()
    with app.db.read() as conn:
        assert schema_differences(conn) == []


def test_downgrade_to_base_drops_every_table_and_upgrade_builds_them_again(sqlite_app: App) -> None:
    downgrade(sqlite_app.db, "base")
    with sqlite_app.db.read() as conn:
        assert inspect(conn).get_table_names() == ["alembic_version"]
    upgrade(sqlite_app.db)
    with sqlite_app.db.read() as conn:
        assert schema_differences(conn) == []


def test_a_database_created_before_migrations_is_adopted_when_it_matches_the_models(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    metadata().create_all(db.engine)
    init_database(db)
    assert current(db) == heads()
    db.dispose()


def test_a_database_created_before_migrations_that_differs_is_refused_and_left_alone(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    tables = metadata().tables
    metadata().create_all(db.engine, tables=[tables["customer"], tables["complaint"]])
    with pytest.raises(ConfigurationError, match=r"has complaintflow tables but no migration history"):
        init_database(db)
    assert current(db) == []
    db.dispose()


@pytest.fixture
def scratch_migrations(tmp_path: Path) -> Path:
    """A copy of the shipped migrations, so a generated revision never lands in the package."""
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_the_revision_command_writes_nothing_when_the_models_match(scratch_migrations: Path) -> None:
    result = new_revision("no change", script_location=scratch_migrations)
    assert result.path is None and result.revision is None


def test_the_revision_command_autogenerates_a_migration_for_a_new_table(
    scratch_migrations: Path, tmp_path: Path
) -> None:
    probe = Table("migration_probe", SQLModel.metadata, Column("id", Integer, primary_key=True),
                  Column("label", String(40), nullable=False))
    try:
        result = new_revision("add migration probe", script_location=scratch_migrations)
        assert result.path is not None and result.revision == f"{int(heads()[0]) + 1:04d}"
        assert "op.create_table('migration_probe'" in result.path.read_text()
        db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
        upgrade(db, script_location=scratch_migrations)
        with db.read() as conn:
            assert "migration_probe" in inspect(conn).get_table_names()
            assert schema_differences(conn) == []
        db.dispose()
    finally:
        SQLModel.metadata.remove(probe)


def test_a_revision_needs_a_message(scratch_migrations: Path) -> None:
    with pytest.raises(ConfigurationError, match="needs a message"):
        new_revision("  ", script_location=scratch_migrations)


def test_db_upgrade_and_current_on_the_command_line_pick_the_driver_from_the_url(database_url: str) -> None:
    url = database_url.replace("postgresql+psycopg://", "postgresql://")  # the plain URL is enough
    runner = CliRunner()
    upgraded = runner.invoke(cli, ["--db", url, "--json", "db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    assert json.loads(upgraded.output)["to"] == heads()
    shown = runner.invoke(cli, ["--db", url, "--json", "db", "current"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output) | {"database": None} == {
        "database": None, "current": heads(), "head": heads(), "up_to_date": True}


@pytest.fixture
def empty_postgres_database() -> Iterator[str]:
    """A database of its own, created empty and dropped afterwards (needs the admin URL)."""
    if not POSTGRES_URL or not ADMIN_URL:
        pytest.skip("needs COMPLAINTS_TEST_POSTGRES_URL and COMPLAINTS_TEST_POSTGRES_ADMIN_URL (.ci/run sets both)")
    url = make_url(POSTGRES_URL)
    name = f"{url.database}_init_race"
    admin = create_engine(make_url(ADMIN_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.mark.postgres
def test_workers_initialising_an_empty_postgres_database_at_once_all_succeed(
    empty_postgres_database: str, tmp_path: Path
) -> None:
    results = run_workers(init_worker, [(empty_postgres_database,)] * 3, tmp_path)
    assert results == [heads()] * 3
    db = Database(empty_postgres_database)
    with db.read() as conn:
        assert schema_differences(conn) == []
    db.dispose()


@pytest.mark.postgres
def test_an_empty_postgres_database_is_refused_until_initialised(empty_postgres_database: str) -> None:
    db = Database(empty_postgres_database)
    with pytest.raises(ConfigurationError, match="has no complaintflow schema yet: run `complaints init`"):
        check_schema(db)
    init_database(db)
    check_schema(db)
    db.dispose()


@pytest.mark.postgres
def test_a_postgres_database_made_before_migrations_is_adopted_with_search_ignoring_accents(
    empty_postgres_database: str, clock: FixedClock
) -> None:
    db = Database(empty_postgres_database)
    metadata().create_all(db.engine)
    init_database(db)
    db.dispose()
    app = make_app(empty_postgres_database, clock, init=False)
    reference = take_in(app, description="Karte bloķēta bez iemesla", language="lv")
    found = search_complaints(app.db, SearchQuery(text="bloketa"), lambda name, version: True)
    at = current(app.db)
    app.db.dispose()
    assert at == heads() and [hit.reference for hit in found.hits] == [reference]


def test_a_none_is_stored_as_null_on_sqlite(tmp_path: Path) -> None:
    # make_engine registers a faster adapter for None with the sqlite3 module
    db = Database(f"sqlite:///{tmp_path / 'nulls.db'}")
    with db.engine.connect() as conn:
        row = conn.exec_driver_sql("SELECT ? IS NULL, typeof(?)", (None, None)).one()
    db.dispose()
    assert tuple(row) == (1, "null")
