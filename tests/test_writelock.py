"""SQLite's writers take turns fairly: a person's step waits for one unit of bulk work, not all of it."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

from casework import take_in, walk

from complaintflow.bootstrap import App
from complaints.db import Database
from workflows import timers


def hold_write_lock(path: str) -> sqlite3.Connection:
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def locked(tmp_path: Path) -> tuple[Database, sqlite3.Connection]:
    """A database with a table, and another connection holding its write lock."""
    db = Database(f"sqlite:///{tmp_path / 'w.db'}")
    with db.transaction() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    return db, hold_write_lock(str(tmp_path / "w.db"))


def insert_in_background(db: Database, bulk: bool = False) -> tuple[threading.Thread, threading.Event]:
    done = threading.Event()

    def write() -> None:
        with db.bulk_work() if bulk else nullcontext(), db.transaction() as conn:
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    return writer, done


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.001)


def test_a_writer_that_finds_the_lock_taken_waits_in_the_room_and_goes_in_when_it_is_free(tmp_path: Path) -> None:
    db, holder = locked(tmp_path)
    writer, done = insert_in_background(db)
    wait_until(db.someone_waiting)
    assert db.someone_waiting() and not done.is_set()
    holder.execute("COMMIT")
    assert done.wait(10) and not db.someone_waiting()
    writer.join()
    holder.close()
    with db.read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1


def test_a_bulk_writer_waiting_for_the_lock_is_not_waited_for_by_other_bulk_work(tmp_path: Path) -> None:
    """Sweepers that stepped aside for each other would take turns doing nothing."""
    db, holder = locked(tmp_path)
    writer, done = insert_in_background(db, bulk=True)
    room = tmp_path / "w.db-waiting"
    wait_until(lambda: room.exists() and any(room.iterdir()))
    assert any(room.iterdir()) and not db.someone_waiting() and not done.is_set()
    holder.execute("COMMIT")
    assert done.wait(10)
    writer.join()
    holder.close()


def test_a_sweep_steps_aside_for_a_waiting_writer_and_still_fires_every_timer_once(sqlite_app: App) -> None:
    references = [take_in(sqlite_app, external_id=f"W-{n}") for n in range(6)]
    for reference in references:
        walk(sqlite_app, reference, ["assess", "need_info"])
    waiting = iter([False, False, True] + [False] * 100)  # someone waits before the third timer
    stepped: list[bool] = []
    db = sqlite_app.engine.db
    db.someone_waiting = lambda: next(waiting)  # type: ignore[method-assign]
    db.step_aside = lambda: stepped.append(True)  # type: ignore[method-assign]
    sqlite_app.clock.advance(days=15)  # type: ignore[attr-defined]
    report = timers.sweep(sqlite_app.engine, batch_size=500)
    assert stepped == [True] and report.batches >= 2
    assert sorted(report.fired) == sorted(f"{ref} workflow auto_close" for ref in references)
    assert {sqlite_app.engine.get(ref).state for ref in references} == {"closed"}
