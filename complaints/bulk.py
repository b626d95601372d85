"""Statements run close to the driver, their values converted once per column.

Why: SQLAlchemy converts every parameter of every row in Python (the UTC type decorator,
then SQLite's datetime formatting, JSON serialisation, ``construct_params``). On the hot
write paths (intake batches, transitions, clock changes) that was over half of the time
(cProfile, ``benchmarks``). Here SQLAlchemy still compiles the statement, once per dialect
and column set, and ``complaints/sa_compiled.py`` reads its bound parameters (the one place
that looks inside the compiler; without it the statement goes through ``Connection.execute``);
only the per-row conversion is ours, a column at a time, chosen from each bound column's type,
and it produces exactly what SQLAlchemy would store (``tests/test_bulk.py`` compares both
on SQLite and PostgreSQL). The statement runs on the connection of the caller's unit of
work, in its transaction, so the unit of work still commits or rolls back everything.
Reads of many rows work alike: ``select_matching`` takes the driver's values and
``decoder`` converts them a column at a time.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import repeat
from operator import itemgetter
from typing import Any, TypeVar

import orjson
from sqlalchemy import JSON, Connection, Integer, Table, bindparam, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.sql.dml import Insert, UpdateBase
from sqlalchemy.types import TypeEngine

from complaints import sa_compiled
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
    """JSON text through orjson (an order of magnitude faster than ``json.dumps``; the same
    values, written without spaces); what orjson refuses (integers beyond 64 bits, say) goes
    to ``json.dumps``."""
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
    rows_parameters: Callable[[Sequence[Any]], list[Any]]  # rows -> the driver's parameters of each

    def parameters(self, row: Any) -> Any:
        """The driver's parameters of one row."""
        return self.rows_parameters((row,))[0]
    slots: Mapping[str, tuple[int | str, Convert]]  # row key -> (its place in the parameters, convert)
    width: int  # how many parameters

    def stamper(self, key: str) -> Callable[[Any, Any], Any]:
        """``(parameters, value) -> the parameters with key's value replaced``."""
        slot, convert = self.slots[key]
        if isinstance(slot, int):
            return lambda params, value: (*params[:slot], convert(value), *params[slot + 1 :])
        return lambda params, value: {**params, slot: convert(value)}


Source = tuple[str | int | None, Any, Convert]  # (row key or position, or None: the constant; convert)


def _rows_function(positional: bool, names: Sequence[str], sources: Sequence[Source]) \
        -> Callable[[Sequence[Any]], list[Any]]:
    """``rows -> [(f(row['a']), row['b'], constant, ...), ...]``, or dicts of ``names`` to them.

    Built once per statement. The values are picked and converted a column at a time with
    ``map`` and ``itemgetter`` and joined into rows by ``zip``, so no Python code runs per
    row or per unconverted value: converting value by value in a loop was the largest cost
    of a batch (cProfile)."""

    def rows_parameters(rows: Sequence[Any]) -> list[Any]:
        if not sources:  # a statement without parameters
            return [() if positional else {} for _ in rows]
        columns: list[Iterator[Any]] = []
        for key, constant, convert in sources:
            if key is None:
                columns.append(repeat(constant, len(rows)))
            elif convert is _same:
                columns.append(map(itemgetter(key), rows))
            else:
                columns.append(map(convert, map(itemgetter(key), rows)))
        values = zip(*columns, strict=True)
        if positional:
            return list(values)
        return list(map(dict, map(zip, repeat(names), values)))

    return rows_parameters


class Bulk:
    """An INSERT/UPDATE for many rows at once: ``Bulk(table.insert()).run(conn, rows)``.

    Every row must have the same keys: the columns to write and the statement's named bind
    parameters. Returns the number of rows the database reports as changed.
    """

    def __init__(self, statement: UpdateBase):
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], _Compiled | None] = {}
        self._spread: dict[tuple[str, tuple[str, ...], str], _Compiled | None] = {}

    def run(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        if not rows:
            return 0
        compiled = self._compile(conn.dialect, tuple(rows[0]))
        if compiled is None:
            return _public(conn, self.statement, rows)
        return execute(conn, compiled.sql, compiled.rows_parameters(rows))

    def _compile(self, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled | None:
        """The statement for the driver, once per dialect and column set; None: use SQLAlchemy's
        public path."""
        cache_key = (dialect.name, keys)
        if cache_key in self._compiled:
            return self._compiled[cache_key]
        found = self._compiled[cache_key] = _for_driver(
            self.statement.compile(dialect=dialect, column_keys=list(keys), for_executemany=True), dialect, keys)
        return found

    def _compile_spread(self, dialect: Dialect, keys: tuple[str, ...], key: str) -> _Compiled | None:
        """``INSERT ... SELECT <the row's values>, w.value FROM <a list of key values> AS w``:
        one statement for rows alike but for ``key`` (its row takes the list as ``key``'s value).
        None where that cannot be said the same way as the plain insert: not an insert, a
        column the rows leave to a default, or a database other than SQLite and PostgreSQL."""
        cache_key = (dialect.name, keys, key)
        if cache_key in self._spread:
            return self._spread[cache_key]
        found = None
        plain = self._compile(dialect, keys)
        if plain is not None and isinstance(self.statement, Insert) and dialect.name in ("sqlite", "postgresql") \
                and set(plain.slots) == set(keys) and len(plain.slots) == plain.width:
            table = self.statement.table
            if dialect.name == "sqlite":  # the list as JSON text: json_each(?) yields its items in order
                source = func.json_each(bindparam(key, type_=JSON)).table_valued("value")
            else:
                source = func.unnest(bindparam(key, type_=ARRAY(table.c[key].type))).table_valued("value")
                source = source.render_derived()
            values = [source.c.value if k == key else bindparam(k, type_=table.c[k].type) for k in keys]
            statement = insert(table).from_select(list(keys), select(*values).select_from(source))
            found = _for_driver(statement.compile(dialect=dialect), dialect, keys)
        self._spread[cache_key] = found
        return found


def _for_driver(compiled: Any, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled | None:
    """A compiled statement as the driver takes it: its text and a row -> parameters
    function; None where SQLAlchemy does not expose its bound parameters as expected
    (``complaints/sa_compiled.py``)."""
    binds = sa_compiled.driver_binds(compiled)
    if binds is None:
        return None
    names = tuple(b.name for b in binds)
    sources: list[Source] = []
    for driver_bind in binds:
        bind = driver_bind.bind
        convert = converter(bind.type, dialect, driver_bind.process)
        if bind.required or bind.callable is not None:
            if bind.key not in keys:
                raise KeyError(f"{compiled.statement}: the rows have no value for {bind.key!r}")
            sources.append((bind.key, None, convert))
        else:
            sources.append((None, convert(bind.effective_value), convert))
    slots = {key: (i if compiled.positional else names[i], convert)
             for i, (key, _, convert) in enumerate(sources) if isinstance(key, str)}
    return _Compiled(compiled.string, _rows_function(compiled.positional, names, sources), slots, len(sources))


#: A template shared by at least this many rows of a round is written with one
#: ``INSERT ... SELECT`` over their values; fewer go into the round's executemany.
SPREAD_FROM = 8


class Stamps:
    """Rows for one ``Bulk`` insert that share all their values but one: ``key``'s.

    ``add(template, value)`` queues ``template`` with ``key`` set to ``value``. An intake
    batch writes the same clock, ledger and timer rows for hundreds of complaints but their
    ids, so ``run`` writes a template shared by many rows with one ``INSERT ... SELECT``
    over the list of their values (``json_each`` on SQLite, ``unnest`` on PostgreSQL): the
    driver binds the row once instead of once per complaint, and Python builds no row per
    complaint. For an intake batch's clock, ledger and timer rows that cut the database's
    time by about two thirds (scratch measurement at 100,000 complaints). Rows whose
    template few others share are stamped into one executemany, converting each distinct
    template once.

    The rows of one ``key`` value keep the order they were added in (ids ascend with it: a
    complaint's ledger reads in that order). Rows are written in rounds: a value's first row
    in the first round, its second in the second, and so on. Templates must not change once
    added; they all have the same keys.
    """

    def __init__(self, bulk: Bulk, key: str):
        self.bulk = bulk
        self.key = key
        self._rows: list[tuple[Mapping[str, Any], Any]] = []

    def add(self, template: Mapping[str, Any], value: Any) -> None:
        self._rows.append((template, value))

    def __iter__(self) -> Iterator[tuple[Mapping[str, Any], Any]]:
        """(template, value) in the order added."""
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)

    def run(self, conn: Connection) -> int:
        """Write every row queued; the rows changed."""
        if not self._rows:
            return 0
        keys = tuple(self._rows[0][0])
        compiled = self.bulk._compile(conn.dialect, keys)
        if compiled is None:
            return _public(conn, self.bulk.statement, [{**template, self.key: value} for template, value in self._rows])
        # counted at C speed: a batch of transitions shares few rows, and pays nothing more
        shared = max(Counter(map(id, map(itemgetter(0), self._rows))).values()) >= SPREAD_FROM
        spread = self.bulk._compile_spread(conn.dialect, keys, self.key) if shared else None
        if spread is None:
            return execute(conn, compiled.sql, self._stamped(compiled, self._rows))
        changed = 0
        for groups in self._rounds():
            alone: list[tuple[Mapping[str, Any], Any]] = []
            for template, values in groups.values():
                if len(values) >= SPREAD_FROM:
                    changed += execute(conn, spread.sql, [spread.parameters({**template, self.key: values})])
                else:
                    alone += [(template, value) for value in values]
            if alone:
                changed += execute(conn, compiled.sql, self._stamped(compiled, alone))
        return changed

    def _rounds(self) -> list[dict[int, tuple[Mapping[str, Any], list[Any]]]]:
        """Round n holds each value's n-th row, grouped by template (id -> template, values)."""
        rounds: list[dict[int, tuple[Mapping[str, Any], list[Any]]]] = []
        seen: dict[Any, int] = {}
        for template, value in self._rows:
            n = seen[value] = seen.get(value, -1) + 1
            if n == len(rounds):
                rounds.append({})
            group = rounds[n].get(id(template))
            if group is None:
                rounds[n][id(template)] = (template, [value])
            else:
                group[1].append(value)
        return rounds

    def _stamped(self, compiled: _Compiled, rows: list[tuple[Mapping[str, Any], Any]]) -> list[Any]:
        """The driver's parameters of ``rows``, each distinct template converted once."""
        stamp = compiled.stamper(self.key)
        places: dict[int, int] = {}  # id(template) -> its place in templates; they outlive this call
        templates: list[Mapping[str, Any]] = []
        for template, _ in rows:
            if id(template) not in places:
                places[id(template)] = len(templates)
                templates.append(template)
        bases = compiled.rows_parameters(templates)
        return [stamp(bases[places[id(template)]], value) for template, value in rows]


def _public(conn: Connection, statement: UpdateBase, rows: Sequence[Mapping[str, Any]]) -> int:
    """``rows`` written through ``Connection.execute``: the same rows, at SQLAlchemy's speed."""
    changed = int(conn.execute(statement, [dict(row) for row in rows]).rowcount)
    # SQLAlchemy's batched INSERT on PostgreSQL reports no count; an insert writes every row or raises
    return len(rows) if changed < 0 and isinstance(statement, Insert) else changed


# -- parameter lists ---------------------------------------------------------------------------
T = TypeVar("T")

#: Values in one ``IN (...)`` list: well below SQLite's oldest limit of 999 bound parameters.
CHUNK = 500


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``, for ``IN`` lists of bounded length."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


# -- the driver ----------------------------------------------------------------------------------
def execute(conn: Connection, sql: str, rows: list[Any]) -> int:
    """Run ``sql`` once per parameter row on ``conn``'s driver connection, in its transaction;
    the number of rows changed.

    Straight on the driver's cursor: SQLAlchemy's execution context (events, result set-up)
    costs more than the statement itself for a one-row write on SQLite (cProfile). Where a
    ``before_cursor_execute`` listener is registered (statement-counting tests, tracing) the
    statement goes through SQLAlchemy so the listener sees it. Driver errors are raised as
    SQLAlchemy's (``IntegrityError`` ...), as callers expect.
    """
    if conn.dispatch.before_cursor_execute:
        return int(conn.exec_driver_sql(sql, rows if len(rows) > 1 else rows[0]).rowcount)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        if len(rows) > 1:
            cursor.executemany(sql, rows)
        else:
            cursor.execute(sql, rows[0])
        return int(cursor.rowcount)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(conn, sql, rows, exc, cursor) from exc
    finally:
        cursor.close()


def query(conn: Connection, sql: str, params: Any) -> list[Any]:
    """The rows of one query on ``conn``'s driver connection (see :func:`execute`)."""
    if conn.dispatch.before_cursor_execute:
        return list(conn.exec_driver_sql(sql, params))
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, params)
        return cursor.fetchall()  # type: ignore[no-any-return]
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(conn, sql, params, exc, cursor) from exc
    finally:
        cursor.close()


def stream(conn: Connection, sql: str, params: Any, size: int = 2_000) -> Iterator[Any]:
    """The rows of one query as they come, ``size`` at a time (see :func:`query`): on PostgreSQL
    the server computes the next rows while these are used; elsewhere they are all read at once."""
    if conn.dialect.name != "postgresql" or conn.dispatch.before_cursor_execute:
        yield from query(conn, sql, params)
        return
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        yield from cursor.stream(sql, params, size=size)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(conn, sql, params, exc, cursor) from exc
    finally:
        cursor.close()


def _wrapped(conn: Connection, sql: str, params: Any, exc: Any, cursor: Any) -> StatementError:
    """The driver's error as SQLAlchemy raises it; a lost connection is invalidated, as
    SQLAlchemy would, so the pool drops it and a retry takes a fresh one."""
    lost = conn.dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
    if lost:
        conn.invalidate(exc)
    return DBAPIError.instance(sql, params, exc, conn.dialect.loaded_dbapi.Error, connection_invalidated=lost)


# -- reads ---------------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def _aware(value: Any) -> Any:
    """A stored UTC time (SQLite's text, PostgreSQL's naive datetime) as an aware datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _json_text_value(value: Any) -> Any:
    """SQLite's JSON text parsed (psycopg hands JSONB over parsed already)."""
    return None if value is None else orjson.loads(value)


@lru_cache(maxsize=64)
def decoder(table: Table, dialect: str) -> Callable[[Sequence[Sequence[Any]]], list[dict[str, Any]]]:
    """``rows -> [{column: value}, ...]`` for rows of all ``table``'s columns as the driver returns
    them on ``dialect``: the values SQLAlchemy would have returned (aware UTC datetimes,
    parsed JSON), with one call per row instead of one processor per value."""
    json_value = _json_text_value if dialect == "sqlite" else _same
    converts = [_aware if isinstance(c.type, UTCDateTime) else json_value if isinstance(c.type, JSON) else _same
                for c in table.c]
    return _rows_function(False, [c.key for c in table.c], [(i, None, f) for i, f in enumerate(converts)])


def select_matching(conn: Connection, table: Table, columns: Sequence[str], keys: Sequence[Sequence[Any]],
                    order_by: str = "id", for_update: bool = False) -> list[dict[str, Any]]:
    """The rows of ``table`` whose ``columns`` equal one of ``keys`` (tuples of values),
    decoded, in ``order_by`` order; ``for_update`` locks them on PostgreSQL (in that order).

    One statement of constant text whatever the number of keys: the keys travel as one
    parameter (arrays joined with ``unnest`` on PostgreSQL, a JSON array read by
    ``json_each`` on SQLite). An expanding ``IN`` list is re-rendered for every execution
    and, on PostgreSQL, never prepared; for a batch of steps that was most of its read. One
    key is compared directly (a statement of its own): a case view's reads are all of one key,
    and the join costs SQLite half as much again as the lookup.
    """
    if not keys:
        return []
    dialect, one = conn.dialect.name, len(keys) == 1
    sql = _matching_sql(table, tuple(columns), order_by, dialect, for_update and dialect == "postgresql", one)
    if one:
        params: Any = tuple(keys[0]) if dialect == "sqlite" else {f"k{i}": v for i, v in enumerate(keys[0])}
    elif dialect == "postgresql":
        params = {f"k{i}": [key[i] for key in keys] for i in range(len(columns))}
    else:
        params = (orjson.dumps([list(key) for key in keys]).decode(),)
    return decoder(table, dialect)(query(conn, sql, params))


@lru_cache(maxsize=64)
def _matching_sql(table: Table, columns: tuple[str, ...], order_by: str, dialect: str, lock: bool, one: bool) -> str:
    names = ", ".join(f't."{c.name}"' for c in table.c)  # quoted: a column may be named "key"
    if one:
        marks = ["?"] * len(columns) if dialect == "sqlite" else [f"%(k{i})s" for i in range(len(columns))]
        match = " AND ".join(f't."{c}" = {mark}' for c, mark in zip(columns, marks, strict=True))
        return (f'SELECT {names} FROM "{table.name}" AS t WHERE {match} ORDER BY t."{order_by}"'
                + (" FOR UPDATE OF t" if lock else ""))
    if dialect == "postgresql":
        arrays = ", ".join(f"%(k{i})s::{'integer' if isinstance(table.c[c].type, Integer) else 'text'}[]"
                           for i, c in enumerate(columns))
        keys = ", ".join(f"k{i}" for i in range(len(columns)))
        source = f"unnest({arrays}) AS w({keys})"
        match = " AND ".join(f't."{c}" = w.k{i}' for i, c in enumerate(columns))
    else:
        source = "json_each(?) AS w"
        match = " AND ".join(f't."{c}" = w.value ->> {i}' for i, c in enumerate(columns))
    return (f'SELECT {names} FROM "{table.name}" AS t JOIN {source} ON {match} ORDER BY t."{order_by}"'
            + (" FOR UPDATE OF t" if lock else ""))
