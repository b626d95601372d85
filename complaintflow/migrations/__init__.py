"""Schema migrations (Alembic), configured from Python so they ship inside the package.

``upgrade(db)`` brings SQLite or PostgreSQL to the newest schema; ``complaints init`` and
``complaints db upgrade`` call it. Developers add a migration for new or changed models with
``python -m complaintflow.migrations revision "what changed"`` (see ``__main__``).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations.ops import MigrationScript
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from complaintflow.schema import MARKER_TABLE
from complaintflow.tables import UNMODELLED_BY, metadata, modelled
from complaints.db import Database
from complaints.errors import ConfigurationError

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(url: str, script_location: Path = MIGRATIONS_DIR, connection: Connection | None = None) -> Config:
    """An Alembic config without an ini file; ``connection`` is migrated in place when given."""
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    cfg.set_main_option("truncate_slug_length", "60")
    cfg.attributes["connection"] = connection
    return cfg


def heads(script_location: Path = MIGRATIONS_DIR) -> list[str]:
    """The newest revision(s) shipped with the code (one, unless two branches need merging)."""
    return list(ScriptDirectory.from_config(alembic_config("", script_location)).get_heads())


def current(db: Database) -> list[str]:
    """The revision(s) the database is at; empty for a database never migrated."""
    with db.read() as conn:
        return list(MigrationContext.configure(conn).get_current_heads())


def schema_differences(conn: Connection) -> list[Any]:
    """What Alembic would change to make the database match the models (empty: they match)."""
    ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": modelled})
    return list(compare_metadata(ctx, metadata()))


def upgrade(db: Database, revision: str = "heads", script_location: Path = MIGRATIONS_DIR) -> None:
    """Create or upgrade the schema; a database made by ``create_all`` before migrations is adopted."""
    with db.engine.connect() as conn:
        _adopt_unversioned(conn, db, script_location)
        command.upgrade(alembic_config(db.url, script_location, conn), revision)


def downgrade(db: Database, revision: str, script_location: Path = MIGRATIONS_DIR) -> None:
    with db.engine.connect() as conn:
        command.downgrade(alembic_config(db.url, script_location, conn), revision)


def _adopt_unversioned(conn: Connection, db: Database, script_location: Path) -> None:
    """Adopt a pre-migration database that already matches the models (making what no model
    declares, ``UNMODELLED_BY``'s migrations); refuse one that doesn't."""
    versioned = bool(MigrationContext.configure(conn).get_current_heads())
    has_tables = inspect(conn).has_table(MARKER_TABLE)
    conn.rollback()
    if versioned or not has_tables:
        return
    differences = schema_differences(conn)
    conn.rollback()
    if differences:
        raise ConfigurationError(
            f"{db} has complaintflow tables but no migration history, and they differ from the "
            f"models in {len(differences)} way(s), first: {differences[0]}. Back it up and start "
            "from an empty database, or stamp it with Alembic once you have aligned it by hand."
        )
    # Tables matching today's models hold every modelled migration already; only what no model
    # declares is missing: stamp before each migration that makes it, run that one, stamp the rest.
    config = alembic_config(db.url, script_location, conn)
    scripts = ScriptDirectory.from_config(alembic_config("", script_location))
    for name in UNMODELLED_BY:
        before = scripts.get_revision(name)
        if before is not None and before.down_revision:
            command.stamp(config, before.down_revision)
            command.upgrade(config, name)
    command.stamp(config, "heads")


@dataclass
class RevisionResult:
    path: Path | None  # None: the models already match the migrations
    revision: str | None


def new_revision(message: str, script_location: Path = MIGRATIONS_DIR) -> RevisionResult:
    """Autogenerate a migration from the difference between the models and the newest migration.

    It compares against a temporary SQLite database upgraded to head, so no server is needed;
    batch mode makes the generated operations work on SQLite and PostgreSQL alike.
    """
    if not message.strip():
        raise ConfigurationError("A migration needs a message saying what changed, e.g. 'add sla_clock table'")
    written: list[Any] = []

    def keep_if_not_empty(context: Any, revision: Any, directives: list[MigrationScript]) -> None:
        if all(ops.is_empty() for ops in directives[0].upgrade_ops_list):
            directives[:] = []

    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'head.db'}")
        try:
            upgrade(db, script_location=script_location)
            with db.engine.connect() as conn:
                cfg = alembic_config(db.url, script_location, conn)
                cfg.attributes["process_revision_directives"] = keep_if_not_empty
                result = command.revision(cfg, message=message, autogenerate=True,
                                          rev_id=_next_id(script_location))
                written.extend(result if isinstance(result, list) else [result])
        finally:
            db.dispose()
    script = next((s for s in written if s is not None), None)
    return RevisionResult(Path(script.path) if script else None, script.revision if script else None)


def _next_id(script_location: Path) -> str:
    """Sequential ids (0001, 0002, ...) sort like the history and make a clash visible at once."""
    known: Iterable[str] = (s.revision for s in ScriptDirectory.from_config(alembic_config("", script_location)).walk_revisions())
    numbers = [int(r) for r in known if r.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"
