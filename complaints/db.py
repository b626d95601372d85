"""The database: one engine per URL, SQLite tuned for safe concurrent use, transactions.

SQLite runs in WAL mode with foreign keys on, a busy timeout, checkpoints and a page cache
sized for bulk writes (``SQLITE_PRAGMAS``), and ``BEGIN IMMEDIATE`` so that two writers
queue instead of failing half-way. On PostgreSQL a pooled connection is pinged before use only
when it has lain idle (``IDLE_PING_SECONDS``): a ping on every checkout is one more round trip
on every request, and a connection lost while in use is run again (``complaints.retry``). No
engine is created at import time.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, cast

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from complaints.bulk import execute
from complaints.errors import ConfigurationError
from complaints.writelock import WaitingRoom, bulk_work

SQLITE_BUSY_TIMEOUT_MS = 60_000
#: Every SQLite connection's settings, in order. WAL lets readers run beside the one writer,
#: and with synchronous=NORMAL a commit waits for no fsync (a power cut can lose the last
#: commits, never corrupt the file). The WAL is copied back every 10,000 pages (about 40 MB)
#: rather than every 1,000, so an intake batch (about 4 MB) does not pay for a checkpoint
#: each time, with a 16 MiB page cache. The page size stays SQLite's 4 KiB: larger pages
#: speed bulk intake a little but make every small transaction log more bytes.
#: (benchmarks/README.md has the measurements.)
SQLITE_PRAGMAS = (
    "journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "wal_autocheckpoint=10000", "cache_size=-16384",
)
READ_ONLY = "complaintflow_read_only"
#: Connections a PostgreSQL pool keeps open (``default_pool_size``).
PG_POOL_SIZE = 16
#: A pooled PostgreSQL connection idle longer than this is pinged before it is used again.
IDLE_PING_SECONDS = 2.0


def _bind_none_directly() -> None:
    """Let ``sqlite3`` bind ``None`` without its adaptation protocol.

    The driver passes every parameter that is not an exact str, int or float through
    ``PrepareProtocol``, whose failed ``__adapt__`` lookup builds and discards an
    AttributeError message each time, and an intake batch binds some twenty NULLs a
    complaint. An adapter registered for ``NoneType`` is found by the first lookup
    instead; ``{}.get`` returns ``None`` from C, so NULL is still bound as NULL.
    Process-wide, as every ``sqlite3`` adapter is, and the same for any other user of the
    module.
    """
    none_as_null = cast(Callable[[None], None], {}.get)
    sqlite3.register_adapter(type(None), none_as_null)


def _configure_sqlite(engine: Engine, room: WaitingRoom | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN itself
        cur = dbapi_conn.cursor()
        for pragma in SQLITE_PRAGMAS:
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Take the write lock up front: a deferred transaction that later tries to write
        # can fail with "database is locked" without the busy handler ever retrying.
        # Read-only connections (Database.read) begin deferred and never block writers.
        # At the driver (``bulk.execute``): SQLAlchemy's execution context costs more than the BEGIN.
        # A file database's writers queue fairly behind each other (``complaints.writelock``).
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        if room is None or read_only:
            execute(conn, "BEGIN" if read_only else "BEGIN IMMEDIATE", [()])
        else:
            room.begin_immediate(conn.connection.driver_connection)  # type: ignore[arg-type]


def _ping_idle_connections(engine: Engine) -> None:
    """Before a connection that lay idle in the pool is used, check it still reaches the
    server; a dead one is replaced (the pool retries on ``DisconnectionError``)."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"a pooled connection no longer answers: {exc}") from exc
        if not alive:
            raise DisconnectionError("a pooled connection no longer answers")


def default_pool_size(backend: str) -> int:
    """On SQLite, one connection per core and one for the API's event loop: its queries run in
    this process, so a thread beyond the cores only waits for the interpreter's lock, and slows
    the rest. Elsewhere a request mostly waits for the server, and more at once keep the cores busy."""
    return (os.cpu_count() or 2) + 1 if backend == "sqlite" else PG_POOL_SIZE


def make_engine(url: str, pool_size: int | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and immediate transactions.
    ``pool_size`` connections stay open once used: as many as the process works with at once,
    since each one beyond them is opened and closed for one use (``default_pool_size``)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(
            f"Database URL {url!r} is not a valid SQLAlchemy URL; "
            "use e.g. sqlite:///complaintflow.db or postgresql+psycopg://user@host/db"
        ) from exc
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    options: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        else:
            options.update(connect_args={"check_same_thread": False, "timeout": 60})
    if options.get("poolclass") is not StaticPool:
        options.update(pool_size=pool_size or default_pool_size(parsed.get_backend_name()))
    options.update(kwargs)
    try:
        engine = create_engine(parsed, **options)
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigurationError(f"No database driver for {url!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _bind_none_directly()
        _configure_sqlite(engine, waiting_room(engine))
    else:
        _ping_idle_connections(engine)
    return engine


def waiting_room(engine: Engine) -> WaitingRoom | None:
    """The waiting room of a SQLite file database (none in memory or on other databases)."""
    path = engine.url.database
    if engine.dialect.name != "sqlite" or path in (None, "", ":memory:"):
        return None
    return WaitingRoom(str(path), SQLITE_BUSY_TIMEOUT_MS)


class Database:
    """Owns the engine; ``transaction()`` is the unit of work's boundary."""

    def __init__(self, url: str, **engine_kwargs: Any):
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._room = waiting_room(self.engine)

    def someone_waiting(self) -> bool:
        """Whether another writer waits for SQLite's write lock: bulk work should commit and
        ``step_aside``. Always False on PostgreSQL, whose writers lock rows, not the database."""
        return self._room is not None and self._room.occupied()

    def step_aside(self) -> None:
        """Let the writers waiting for SQLite's write lock go first (a moment at most)."""
        if self._room is not None:
            self._room.step_aside()

    @staticmethod
    def bulk_work() -> AbstractContextManager[None]:
        """Mark this thread's writes within as bulk work, which no other bulk work waits for."""
        return bulk_work()

    @property
    def in_process(self) -> bool:
        """Whether queries run in this process (SQLite): a short read then costs less than a
        hop to another thread and back, and never waits for a server."""
        return self.dialect == "sqlite"

    @property
    def pool_size(self) -> int:
        """Connections kept open: as many as this process should work with at once."""
        size = getattr(self.engine.pool, "size", None)
        return int(size()) if callable(size) else 1

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Commit if the block succeeds, roll back everything if it raises."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for queries only; on SQLite it does not take the write lock."""
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            yield conn

    @contextmanager
    def lookup(self) -> Iterator[Connection]:
        """A connection for one read statement (a token's user, a session's): on PostgreSQL
        outside any transaction, the statement being its own, which spares a request the
        BEGIN and ROLLBACK round trips; ``read()`` elsewhere."""
        if self.dialect != "postgresql":
            with self.read() as conn:
                yield conn
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn

    def checkpoint(self) -> None:
        """Copy SQLite's write-ahead log back into the database file now, beside any writer
        (PASSIVE: it neither waits for a writer nor blocks one); nothing on other databases.

        A bulk writer calls this on a thread of its own after each commit: the log is then
        copied back while the next batch is written, instead of by SQLite's automatic
        checkpoint inside a commit every ``wal_autocheckpoint`` pages, which stops the writer
        each time. Once the whole log is copied back, the next write starts it again from the top.
        """
        if self.dialect != "sqlite" or self.engine.url.database in (None, "", ":memory:"):
            return
        conn = self.engine.raw_connection()  # outside any transaction: the driver's autocommit
        try:
            conn.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()

    def dispose(self) -> None:
        self.engine.dispose()

    @property
    def shown_url(self) -> str:
        """The URL to show a person: any password masked."""
        return self.engine.url.render_as_string(hide_password=True)

    def __repr__(self) -> str:
        return f"Database({self.shown_url!r})"
