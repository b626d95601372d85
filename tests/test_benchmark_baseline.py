"""The raw baseline of the transitions figure writes what the engine writes.

``benchmarks/transitions.py`` compares the engine with "the raw driver limit for the same
writes with the same pragmas". That comparison only holds while ``RawTransitions`` leaves
the same rows as ``WorkflowEngine.advance`` with bootstrap's observers, SLA clock writes
included. So the same rotation of pauses and resumes runs through the engine on one fresh
database and through the raw driver on another, and both must end with the same rows.

Runs on SQLite, and on PostgreSQL where ``COMPLAINTS_TEST_POSTGRES_URL`` is set. No timing
is asserted: the benchmark compares speeds, this only checks that it compares like with like.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from benchmarks.databases import fresh_app, investigating_cases, raw_pg, raw_sqlite
from benchmarks.transitions import NOW, ClockMoves, RawTransitions, Rotation, engine_round
from complaintflow.bootstrap import App
from complaints.clock import FixedClock
from complaints.db import SQLITE_PRAGMAS

#: Per table, the columns that say which row it is and what happened to it (no ids, no times).
IDENTITY: dict[str, tuple[str, ...]] = {
    "complaint": ("reference", "state", "version"),
    "complaint_event": ("complaint_id", "seq", "action", "from_state", "to_state"),
    "timer": ("complaint_id", "kind", "name", "status"),
    "notification": ("complaint_id", "event_seq", "template", "status"),
    "sla_clock": ("complaint_id", "name", "status"),
    "sla_ledger": ("complaint_id", "clock", "entry"),
}
CASES = 2
#: Each case paused, resumed and paused again, the cases taking turns as in the benchmark.
TRANSITIONS = 3 * CASES

Rows = dict[str, list[tuple[Any, ...]]]


def rows(app: App) -> Rows:
    """Every row of the tables a transition writes, in insertion order, by ``IDENTITY``."""
    with app.db.engine.connect() as conn:
        return {table: [tuple(r) for r in conn.execute(text(f"SELECT {', '.join(cols)} FROM {table} ORDER BY id"))]
                for table, cols in IDENTITY.items()}


def after_engine(url: str, batch: int) -> Rows:
    app = fresh_app(url, FixedClock(NOW))
    try:
        rotation = Rotation(investigating_cases(app, CASES, "case"))
        engine_round(app, rotation, TRANSITIONS, batch)()()
        return rows(app)
    finally:
        app.db.dispose()


def after_raw(url: str, batch: int) -> Rows:
    app = fresh_app(url, FixedClock(NOW))
    conn = raw_pg(url) if app.db.dialect == "postgresql" else raw_sqlite(url)
    try:
        rotation = Rotation(investigating_cases(app, CASES, "case"))
        RawTransitions(conn, app.db.dialect, ClockMoves.of(app)).round(rotation, TRANSITIONS, batch)()()
        return rows(app)
    finally:
        conn.close()
        app.db.dispose()


@pytest.fixture(params=[1, TRANSITIONS], ids=["one per transaction", "all in one transaction"])
def batch(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture
def engine_and_raw(database_url: str, tmp_path: Path, batch: int) -> tuple[Rows, Rows]:
    """The rows after the rotation: engine first, then raw on a fresh database (a second
    SQLite file; on PostgreSQL the same database, its schema dropped and recreated)."""
    engine_rows = after_engine(database_url, batch)
    raw_url = f"sqlite:///{tmp_path / 'raw.db'}" if database_url.startswith("sqlite") else database_url
    return engine_rows, after_raw(raw_url, batch)


def test_the_rotation_pauses_and_resumes_an_sla_clock(engine_and_raw: tuple[Rows, Rows]) -> None:
    """Guards the comparison below against passing vacuously: the engine's observers do write
    SLA clock changes for these transitions, so the baseline has them to match."""
    engine, _ = engine_and_raw
    entries = Counter((clock, entry) for _, clock, entry in engine["sla_ledger"])
    assert entries[("next_update", "pause")] == 2 * CASES
    assert entries[("next_update", "resume")] == CASES
    timers = Counter((kind, name) for _, kind, name, _ in engine["timer"])
    # one of each started with the clock when the case was taken in, one more per resume
    assert timers[("sla_breach", "next_update")] == timers[("sla_warning", "next_update")] == 2 * CASES


def test_the_raw_baseline_leaves_the_same_rows_as_the_engine(engine_and_raw: tuple[Rows, Rows]) -> None:
    engine, raw = engine_and_raw
    assert {table: len(r) for table, r in raw.items()} == {table: len(r) for table, r in engine.items()}
    for table, columns in IDENTITY.items():
        assert raw[table] == engine[table], f"{table}: {columns}"


def test_the_raw_sqlite_connections_run_with_the_application_s_settings(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'settings.db'}"
    app = fresh_app(url, FixedClock(NOW))
    raw = raw_sqlite(url)
    names = [pragma.split("=")[0] for pragma in SQLITE_PRAGMAS]
    try:
        with app.db.engine.connect() as conn:
            application = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in names}
        baseline = {name: raw.execute(f"PRAGMA {name}").fetchone()[0] for name in names}
    finally:
        raw.close()
        app.db.dispose()
    assert application == baseline
    assert application == {"journal_mode": "wal", "synchronous": 1, "foreign_keys": 1, "busy_timeout": 60_000,
                           "wal_autocheckpoint": 10_000, "cache_size": -16_384}
