"""Databases for the figures: fresh application databases and raw driver connections.

The raw connections are the baselines' side of the comparison: the same file or server, the
same pragmas as ``complaints.db`` sets (``SQLITE_PRAGMAS``: WAL, synchronous=NORMAL, foreign
keys, checkpoints, page cache) and immediate transactions, no SQLAlchemy in between.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from complaintflow.bootstrap import App, build, init_database
from complaintflow.settings import Settings
from complaints.clock import Clock
from complaints.db import SQLITE_PRAGMAS
from complaints.schemas import ComplaintIn
from complaints.steps import Actor
from complaints.uow import UnitOfWork

HANDLER = Actor("bench", "handler")
COMPLAINT_COLUMNS = (
    "reference", "external_id", "channel", "product", "sub_product", "company", "category",
    "sub_category", "description", "severity", "language", "region", "state", "tier", "queue",
    "workflow_name", "workflow_version", "version", "data", "received_at", "created_at", "updated_at",
)
TIMER_COLUMNS = ("complaint_id", "kind", "name", "action", "state", "due_at", "status", "payload", "created_at")


#: Scratch databases pseudonymise their customers with a throwaway key of their own.
BENCH_KEY = "benchmark-scratch-pseudonym-key-" + "b" * 32


def fresh_app(url: str, clock: Clock) -> App:
    """The application on an empty database (PostgreSQL: schema ``public`` dropped and recreated)."""
    app = build(Settings(database_url=url, pseudonym_key=BENCH_KEY), clock=clock)
    if app.db.dialect == "postgresql":
        with app.db.transaction() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    init_database(app.db)
    return app


def sqlite_path(url: str) -> str:
    database = make_url(url).database
    assert database, f"{url} names no SQLite file"
    return database


def raw_sqlite(url: str) -> sqlite3.Connection:
    """A plain ``sqlite3`` connection with the pragmas the application uses; BEGIN is explicit."""
    conn = sqlite3.connect(sqlite_path(url), isolation_level=None, check_same_thread=False)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(f"PRAGMA {pragma}")
    return conn


def pg_conninfo(url: str) -> str:
    """A libpq URL for psycopg from the SQLAlchemy URL (``postgresql+psycopg://`` -> ``postgresql://``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def raw_pg(url: str) -> Any:
    import psycopg

    return psycopg.connect(pg_conninfo(url))


def sql_time(value: datetime) -> str:
    """A UTC time as SQLAlchemy stores it in SQLite, so raw and engine rows look alike."""
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def investigating_cases(app: App, count: int, prefix: str) -> list[str]:
    """``count`` complaints taken in and moved on to ``investigating`` (valid, being worked)."""
    records = [
        (i, ComplaintIn(product="Payday loan", description=f"Charged twice ({prefix} {i})",
                        external_id=f"{prefix}-{i}", company="Lender A"))
        for i in range(count)
    ]
    report = app.intake.take_in(records, HANDLER)
    references = [ref for _, ref in report.created]
    with UnitOfWork(app.db) as uow:
        for ref in references:
            app.engine.advance(ref, "assess", HANDLER, uow=uow)
            app.engine.advance(ref, "valid", HANDLER, {"criteria": "eligible", "rationale": "fees"}, uow=uow)
        uow.commit()
    return references


def bulk_complaints(
    conn: sqlite3.Connection,
    count: int,
    start: int,
    rows: Sequence[dict[str, str]],
    state: str,
    timer_action: str | None,
    due_at: datetime,
    now: datetime,
    batch: int = 20_000,
) -> None:
    """Insert ``count`` complaints in ``state``, each with a pending ``timer_action`` timer due at ``due_at``.

    Setup only: raw ``executemany`` is orders of magnitude faster than intake, and the
    figures that use it measure what happens after the complaints exist.
    """
    stamp = sql_time(now)
    for first in range(start, start + count, batch):
        numbers = range(first, min(first + batch, start + count))
        complaints = [_complaint_row(n, rows[n % len(rows)], state, stamp) for n in numbers]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(
            f"INSERT INTO complaint ({', '.join(COMPLAINT_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(COMPLAINT_COLUMNS))})",
            complaints,
        )
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM complaint WHERE reference >= ? AND reference <= ? ORDER BY id",
            (_reference(numbers[0]), _reference(numbers[-1])),
        )]
        if timer_action is None:
            conn.execute("COMMIT")
            continue
        conn.executemany(
            f"INSERT INTO timer ({', '.join(TIMER_COLUMNS)}) VALUES ({', '.join('?' * len(TIMER_COLUMNS))})",
            ((cid, "workflow", timer_action, timer_action, state, sql_time(due_at), "pending", "{}", stamp)
             for cid in ids),
        )
        conn.execute("COMMIT")


def _reference(number: int) -> str:
    return f"C-2026-B{number:08d}"


def _complaint_row(number: int, row: dict[str, str], state: str, stamp: str) -> tuple[Any, ...]:
    def clean(key: str) -> str | None:
        value = row.get(key)
        return None if value in (None, "", "None") else value

    narrative = clean("Consumer complaint narrative") or f"{row.get('Issue')} / {row.get('Sub-issue')}"
    return (
        _reference(number), f"B{number:08d}", "web", clean("Product") or "Payday loan", clean("Sub-product"),
        clean("Company"), clean("Issue"), clean("Sub-issue"), narrative, "medium", "en", clean("State"),
        state, "frontline", "frontline", "complaint", 1, 4, json.dumps({}), stamp, stamp, stamp,
    )


def due_and_later(now: datetime) -> tuple[datetime, datetime]:
    """A due time just past and one far ahead, for timers that are due and timers that are not."""
    return now - timedelta(minutes=1), now + timedelta(days=30)


def count_rows(conn: sqlite3.Connection, table: str, where: str = "1=1", params: Iterable[Any] = ()) -> int:
    return int(conn.execute(f"SELECT count(*) FROM {table} WHERE {where}", tuple(params)).fetchone()[0])
