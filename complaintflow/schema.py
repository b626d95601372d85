"""Whether a database holds the schema this code works with, checked before a command uses it.

Without the check, a mistyped ``--db`` path left a new empty SQLite file behind, and every
command on a database never initialised (or migrated by another version) failed with the
driver's "no such table". Checked without Alembic: importing it takes about half a second,
longer than most commands run. ``HEAD`` names the newest migration; a test keeps it equal
to Alembic's head.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import inspect, text

from complaints.db import Database
from complaints.errors import ConfigurationError

#: The newest migration in ``complaintflow/migrations/versions`` (revisions are zero-padded numbers).
HEAD = "0020"
_VERSIONS = "alembic_version"
#: A table every complaintflow schema has; without migration history it was made by ``create_all``.
MARKER_TABLE = "complaint"


def revisions(db: Database) -> tuple[list[str], bool]:
    """The revisions the database is at (empty if never migrated), and whether it has
    complaintflow's tables at all."""
    with db.read() as conn:
        found = inspect(conn)
        if not found.has_table(_VERSIONS):
            return [], found.has_table(MARKER_TABLE)
        return [r for (r,) in conn.execute(text(f"SELECT version_num FROM {_VERSIONS}"))], True


def complaints_command(name: str) -> str:
    """How a message tells the user to run ``complaints <name>``."""
    return f"complaints {name}"


def check_exists(db: Database, command: Callable[[str], str] = complaints_command) -> None:
    """Raise a ``ConfigurationError`` if ``db`` is a SQLite file that does not exist, rather
    than let the driver create an empty one; ``command``: how the user runs a command on it."""
    path = db.engine.url.database
    if db.dialect == "sqlite" and path not in (None, "", ":memory:") and not Path(path).exists():  # type: ignore[arg-type]
        raise ConfigurationError(f"No database at {path}: run `{command('init')}` to create it there, or point --db "
                                 "(or COMPLAINTS_DATABASE_URL) at an existing one")


def check_schema(db: Database, command: Callable[[str], str] = complaints_command) -> None:
    """Raise a ``ConfigurationError`` saying what to run unless ``db`` is at ``HEAD``: a SQLite
    file that does not exist (and is not created here), a database never initialised, or one
    migrated to an older or a newer revision. ``command``: how the user runs a command on it."""
    check_exists(db, command)
    name = db.shown_url
    at, has_tables = revisions(db)
    if at == [HEAD]:
        return
    init, upgrade = command("init"), command("db upgrade")
    if not at and has_tables:
        raise ConfigurationError(f"{name} has complaintflow tables but no migration history: "
                                 f"run `{upgrade}` to adopt it")
    if not at:
        raise ConfigurationError(f"{name} has no complaintflow schema yet: run `{init}` to create it")
    if all(revision < HEAD for revision in at):
        raise ConfigurationError(f"{name} is at schema revision {', '.join(at)}, and this version of "
                                 f"complaintflow needs {HEAD}: run `{upgrade}` (back it up first)")
    raise ConfigurationError(f"{name} is at schema revision {', '.join(at)}, newer than this version of "
                             f"complaintflow knows ({HEAD}): upgrade complaintflow to use it")

