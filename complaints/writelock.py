"""Fair turns at SQLite's write lock: a step a person waits for goes before bulk work.

SQLite lets one writer in at a time, and its busy handler lets a waiting writer try again only
now and then (after 1, 2, 5 ... 100 ms). A sweep that commits a batch and begins the next at
once takes the lock again before the waiting writer's next try, so a handler's step could wait
out the whole sweep. So a writer that finds the lock taken leaves a marker in a waiting room
(a folder beside the database file) and tries again every fraction of a millisecond, and bulk
writers look into the room between units of their work: when someone waits, they commit what
they have done and step aside until the room is empty. Bulk writers waiting for the lock
leave markers of their own kind, which other bulk writers ignore: sweepers that stepped aside
for each other would take turns doing nothing. An uncontended BEGIN pays for one pragma either
side of it, nothing more.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

#: How often a waiting writer tries again, and how long a bulk writer steps aside at most.
POLL, STEP_ASIDE = 0.00005, 1.0

#: Whether this thread's writes are bulk work (a sweep), which steps aside rather than being waited for.
_BULK: ContextVar[bool] = ContextVar("complaints_bulk_writer", default=False)
BULK_PREFIX = "bulk-"


@contextmanager
def bulk_work() -> Iterator[None]:
    """Mark the writes within as bulk work: while they wait for the lock, nobody steps aside."""
    token = _BULK.set(True)
    try:
        yield
    finally:
        _BULK.reset(token)


class WaitingRoom:
    """Who is waiting for the write lock of one SQLite database file, across processes."""

    def __init__(self, database: str, busy_timeout_ms: int):
        self.folder = Path(f"{database}-waiting")
        self.busy_timeout_ms = busy_timeout_ms

    def occupied(self) -> bool:
        """Whether a writer other than bulk work waits for the lock."""
        try:
            with os.scandir(self.folder) as entries:
                return any(not entry.name.startswith(BULK_PREFIX) for entry in entries)
        except FileNotFoundError:
            return False

    @contextmanager
    def waiting(self) -> Iterator[None]:
        self.folder.mkdir(exist_ok=True)
        kind = BULK_PREFIX if _BULK.get() else ""
        marker = self.folder / f"{kind}{os.getpid()}-{uuid.uuid4().hex}"
        marker.touch()
        try:
            yield
        finally:
            marker.unlink(missing_ok=True)

    def step_aside(self) -> None:
        """Wait (at most ``STEP_ASIDE``) until nobody waits for the lock."""
        until = time.monotonic() + STEP_ASIDE
        while self.occupied() and time.monotonic() < until:
            time.sleep(POLL)

    def begin_immediate(self, conn: sqlite3.Connection) -> None:
        """``BEGIN IMMEDIATE`` at once if the lock is free, else in the waiting room, trying
        again every ``POLL`` seconds up to the busy timeout."""
        cursor = conn.cursor()
        try:
            cursor.execute("PRAGMA busy_timeout = 0")
            if _began(cursor):
                return
            deadline = time.monotonic() + self.busy_timeout_ms / 1000
            with self.waiting():
                while True:
                    time.sleep(POLL)
                    if _began(cursor, last=time.monotonic() >= deadline):
                        return
        finally:
            cursor.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            cursor.close()


def _began(cursor: sqlite3.Cursor, last: bool = False) -> bool:
    """Whether BEGIN IMMEDIATE took the lock; a busy database raises on the ``last`` try only."""
    try:
        cursor.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if last or getattr(exc, "sqlite_errorname", "") != "SQLITE_BUSY":
            raise
        return False
    return True
