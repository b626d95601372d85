"""Schema migrations: Alembic builds exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, String, Table, inspect
from sqlmodel import SQLModel

from complaints.bootstrap import App, init_database, metadata
from complaints.db import Database
from complaints.errors import ConfigurationError
from complaints.migrations import (
    MIGRATIONS_DIR,
    current,
    downgrade,
    heads,
    new_revision,
    schema_differences,
    upgrade,
)


def test_migrations_build_exactly_the_schema_the_models_declare(app: App) -> None:
    with app.db.read() as conn:
        assert schema_differences(conn) == []


def test_the_migration_history_has_a_single_head() -> None:
    assert len(heads()) == 1, f"several heads {heads()}: add a merge revision"


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
