"""Write statements run straight on the driver, their values converted once per column.

Why: SQLAlchemy converts every parameter of every row in Python (the UTC type decorator,
then SQLite's datetime formatting, JSON serialisation, ``construct_params``). On the hot
write paths (intake batches, transitions, clock changes) that was over half of the time
(cProfile, ``benchmarks``). Here SQLAlchemy still compiles the statement, once per dialect
and column set; only the per-row conversion is ours, chosen from each bound column's type,
and it produces exactly what SQLAlchemy would store (``tests/test_bulk.py`` compares both
on SQLite and PostgreSQL). The statement runs through ``Connection.exec_driver_sql`` inside
the caller's transaction, so the unit of work still commits or rolls back everything.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import JSON, Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.types import TypeEngine

from complaints.types import UTCDateTime

Convert = Callable[[Any], Any]


def _same(value: Any) -> Any:
    return value


# Memoised: a batch stamps most of its rows with the same few instants.
@lru_cache(maxsize=4096)
def _naive_utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


@lru_cache(maxsize=4096)
def _sqlite_time(value: Any) -> Any:
    """SQLAlchemy's SQLite storage format ('2026-11-23 09:00:00.000000'), UTC."""
    if isinstance(value, datetime):
        return _naive_utc(value).isoformat(" ", "microseconds")
    return value


def json_text(value: Any) -> str:
    """JSON as ``json.dumps`` would write it, through orjson (an order of magnitude faster);
    what orjson refuses (integers beyond 64 bits, say) goes to ``json.dumps``."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


def _pg_json() -> Convert:
    from psycopg.types.json import Jsonb

    return lambda value: Jsonb(value, dumps=json_text)


def converter(type_: TypeEngine[Any], dialect: Dialect, fallback: Convert | None) -> Convert:
    """How one bound value reaches the driver: fast paths for the UTC and JSON columns,
    SQLAlchemy's own processor (or nothing) for every other type."""
    sqlite = dialect.name == "sqlite"
    if isinstance(type_, UTCDateTime):
        return _sqlite_time if sqlite else _naive_utc
    if isinstance(type_, JSON):  # JSONType: JSON, JSONB on PostgreSQL
        if sqlite:
            return json_text
        if dialect.driver == "psycopg":
            return _pg_json()
    return fallback or _same


@dataclass(frozen=True)
class _Compiled:
    sql: str
    parameters: Callable[[Mapping[str, Any]], Any]  # a row -> the driver's parameters


def _row_function(positional: bool, names: Sequence[str], sources: Sequence[tuple[str | None, Any, Convert]]) -> Callable[[Mapping[str, Any]], Any]:
    """``row -> (f(row['a']), row['b'], constant, ...)`` (a dict for named parameters).

    Generated once per statement, so a row costs one call and no per-value loop: with a
    generic loop the conversion itself was the largest cost of a batch (cProfile)."""
    scope: dict[str, Any] = {}
    parts = []
    for i, (key, constant, convert) in enumerate(sources):
        if key is None:
            scope[f"c{i}"] = constant
            part = f"c{i}"
        elif convert is _same:
            part = f"row[{key!r}]"
        else:
            scope[f"f{i}"] = convert
            part = f"f{i}(row[{key!r}])"
        parts.append(part if positional else f"{names[i]!r}: {part}")
    body = f"({', '.join(parts)},)" if positional else f"{{{', '.join(parts)}}}"
    return eval(f"lambda row: {body}", scope)  # noqa: S307 - built from the statement's own bind names


class Bulk:
    """An INSERT/UPDATE for many rows at once: ``Bulk(table.insert()).run(conn, rows)``.

    Every row must have the same keys: the columns to write and the statement's named bind
    parameters. Returns the number of rows the database reports as changed.
    """

    def __init__(self, statement: UpdateBase):
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], _Compiled] = {}

    def run(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        if not rows:
            return 0
        compiled = self._compile(conn.dialect, tuple(rows[0]))
        params = list(map(compiled.parameters, rows))
        result = conn.exec_driver_sql(compiled.sql, params if len(params) > 1 else params[0])
        return int(result.rowcount)

    def _compile(self, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
        cache_key = (dialect.name, keys)
        found = self._compiled.get(cache_key)
        if found is not None:
            return found
        compiled = self.statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=True)
        processors = compiled._bind_processors
        by_name = {name: bind for bind, name in compiled.bind_names.items()}
        names = tuple(compiled.positiontup or ()) if compiled.positional else tuple(compiled.bind_names.values())
        sources: list[tuple[str | None, Any, Convert]] = []
        for name in names:
            bind = by_name[name]
            convert = converter(bind.type, dialect, processors.get(name))
            if bind.required or bind.callable is not None:
                if bind.key not in keys:
                    raise KeyError(f"{self.statement}: the rows have no value for {bind.key!r}")
                sources.append((bind.key, None, convert))
            else:
                sources.append((None, convert(bind.effective_value), convert))
        found = self._compiled[cache_key] = _Compiled(
            compiled.string, _row_function(compiled.positional, names, sources)
        )
        return found
