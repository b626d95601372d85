"""Alembic's entry point: migrate the connection handed over by ``complaintflow.migrations``.

The models of every package (``complaintflow.tables.metadata()``) are the target, so
autogenerate sees all tables. SQLite gets batch mode (it can't ALTER most things in place)
and runs the whole upgrade in one transaction with foreign keys off, as batch table
rebuilds require; they are switched on again afterwards.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from alembic.autogenerate.render import _repr_type
from sqlalchemy import Connection
from sqlalchemy.types import TypeDecorator

from complaintflow.tables import metadata, modelled
from complaints.db import make_engine

#: A bare ``Text()`` in rendered code: Alembic writes PostgreSQL's JSONB inside a variant as
#: ``JSONB(astext_type=Text())`` when autogenerating on SQLite, which fails with NameError.
_BARE_TEXT = re.compile(r"(?<![\w.])Text\(\)")


#: Key of the PostgreSQL advisory lock held while migrating ("cflo" in ASCII).
MIGRATION_LOCK = 0x63666C6F

_rendering: set[int] = set()  # types being rendered by Alembic on our behalf (no recursion)


def render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write column types as plain SQLAlchemy types, so old migrations never import today's code."""
    if kind != "type" or id(obj) in _rendering:
        return False
    if isinstance(obj, TypeDecorator):
        return _default_render(obj.impl_instance, autogen_context)
    if getattr(obj, "_variant_mapping", None):
        return _BARE_TEXT.sub("sa.Text()", _default_render(obj, autogen_context))
    return False


def _default_render(type_: Any, autogen_context: AutogenContext) -> str:
    _rendering.add(id(type_))
    try:
        return _repr_type(type_, autogen_context)
    finally:
        _rendering.discard(id(type_))


def _options(sqlite: bool) -> dict[str, Any]:
    return {
        "target_metadata": metadata(),
        "render_as_batch": sqlite,
        "compare_type": True,
        "include_name": modelled,
        "render_item": render_item,
        "transactional_ddl": True,
        "process_revision_directives": context.config.attributes.get("process_revision_directives"),
    }


def _set_sqlite_foreign_keys(conn: Connection, on: bool) -> None:
    # Must run outside a transaction, so it goes to the driver, past SQLAlchemy's autobegin.
    conn.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")  # type: ignore[union-attr]


def _migrate(conn: Connection) -> None:
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        _set_sqlite_foreign_keys(conn, on=False)
    try:
        context.configure(connection=conn, **_options(sqlite))
        with context.begin_transaction():
            if conn.dialect.name == "postgresql":
                # Several workers starting at once upgrade one after the other: the later ones
                # find the schema at head and do nothing. (SQLite's BEGIN IMMEDIATE does this.)
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            context.run_migrations()
    finally:
        if sqlite:
            _set_sqlite_foreign_keys(conn, on=True)


def run_online() -> None:
    conn = context.config.attributes.get("connection")
    if conn is not None:
        _migrate(conn)
        return
    engine = make_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as own:
            _migrate(own)
    finally:
        engine.dispose()


def run_offline() -> None:
    """``--sql`` mode: print the DDL instead of running it."""
    url = context.config.get_main_option("sqlalchemy.url") or ""
    context.configure(url=url, literal_binds=True, **_options(url.startswith("sqlite")))
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
