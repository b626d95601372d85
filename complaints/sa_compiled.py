"""What bulk writes read from SQLAlchemy's compiled statement: the one place that looks inside it.

Why: bulk inserts and updates (``complaints/bulk.py``) are the hot write path of intake,
transitions and clock changes, and they run their statement on the driver's ``executemany``
with each value converted once per column, which is over half of a batch's time saved
against ``Connection.execute``. For that they need what only the compiler knows: the
bound parameters in the order the driver takes them and the name each has in the SQL text.
SQLAlchemy documents ``SQLCompiler.bind_names`` and ``SQLCompiler.positiontup`` as
attributes of its compiler, not as part of the stable ``Compiled`` interface, so an upgrade
may change them. ``tests/test_bulk.py`` checks them against the SQL text on every dialect
we run and fails loudly if they change; where they are missing, :func:`driver_binds`
returns None and ``Bulk`` runs its statement through ``Connection.execute`` (slower, same
rows). How each value is converted comes from the public
``TypeEngine.dialect_impl(dialect).bind_processor(dialect)``, the same function SQLAlchemy
caches for its own executions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Compiled, Dialect
from sqlalchemy.sql.elements import BindParameter


@dataclass(frozen=True)
class DriverBind:
    """One bound parameter as the driver sees it."""

    name: str  # its name in the SQL text (the key of a named parameter)
    bind: BindParameter[Any]
    process: Callable[[Any], Any] | None  # SQLAlchemy's conversion for this dialect, if any


def driver_binds(compiled: Compiled) -> Sequence[DriverBind] | None:
    """The statement's bound parameters in the driver's order; None where the compiler does
    not expose them as expected (the caller then takes SQLAlchemy's public path)."""
    bind_names = getattr(compiled, "bind_names", None)
    positional = getattr(compiled, "positional", None)
    if not isinstance(bind_names, dict) or not isinstance(positional, bool):
        return None
    if getattr(compiled, "escaped_bind_names", None):  # text names differ from bind names
        return None
    by_name = {name: bind for bind, name in bind_names.items()}
    order = getattr(compiled, "positiontup", None) if positional else list(bind_names.values())
    if order is None or not set(order) <= set(by_name):  # a name may repeat in positiontup
        return None
    dialect = compiled.dialect
    return [DriverBind(name, by_name[name], processor(by_name[name], dialect)) for name in order]


def processor(bind: BindParameter[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """SQLAlchemy's own conversion of ``bind``'s values on ``dialect`` (public API)."""
    return bind.type.dialect_impl(dialect).bind_processor(dialect)
