"""Figure 3: CFPB rows imported per second through the real importer and IntakeService.

The engine's side reads the export with ``complaints.importers.read_file`` (validation into
``ComplaintIn``) and stores it with ``IntakeService.take_in`` (idempotence check, references,
the complaint, its 'receive' and 'acknowledge' events, the acknowledgement in the outbox).
The baseline parses the same file with ``csv`` and inserts the same rows (complaint, two
events, one notification) with plain ``sqlite3`` in batches of the same size.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import data
from benchmarks.databases import COMPLAINT_COLUMNS, HANDLER, fresh_app, raw_sqlite, sql_time
from benchmarks.harness import Context, Figure, Measure, Profile, Round, Target, interleaved
from complaints.clock import FixedClock
from complaints.importers import read_file

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
EVENT_COLUMNS = ("complaint_id", "seq", "actor", "role", "action", "from_state", "to_state", "tier", "queue",
                 "payload", "changes", "at")
NOTE_COLUMNS = ("complaint_id", "event_seq", "template", "language", "channel", "body", "status", "created_at")


@dataclass(frozen=True)
class Sizes:
    rows: int
    repeat: int


SIZES: dict[Profile, Sizes] = {
    "tiny": Sizes(rows=200, repeat=1),
    "quick": Sizes(rows=10_000, repeat=1),
    "full": Sizes(rows=100_000, repeat=1),
}


def engine_round(ctx: Context, csv_path: Path, expected: int, observers: bool = True) -> Round:
    """The application's intake; ``observers=False`` drops bootstrap's step observers (diagnostic)."""

    def prepare() -> Callable[[], object]:
        app = fresh_app(ctx.sqlite_url("intake_engine"), FixedClock(NOW))
        if not observers:
            app.engine.observers.clear()

        def work() -> None:
            report = app.intake.take_in(read_file(csv_path, "cfpb"), HANDLER)
            app.db.dispose()
            if len(report.created) != expected:
                raise AssertionError(f"intake stored {len(report.created)} of {expected} rows: {report.errors[:3]}")

        return work

    return prepare


def raw_round(ctx: Context, csv_path: Path, batch: int) -> Round:
    def prepare() -> Callable[[], object]:
        url = ctx.sqlite_url("intake_raw")
        fresh_app(url, FixedClock(NOW)).db.dispose()  # the same schema and indexes
        return lambda: raw_import(url, csv_path, batch)

    return prepare


def raw_import(url: str, csv_path: Path, batch: int) -> int:
    """Parse with ``csv``, insert complaint + events + acknowledgement with ``sqlite3``."""
    conn = raw_sqlite(url)
    stamp = sql_time(NOW)
    stored = 0
    with csv_path.open(newline="", encoding="utf-8-sig") as fh:
        pending: list[dict[str, str]] = []
        for row in csv.DictReader(fh):
            pending.append(row)
            if len(pending) == batch:
                stored += _insert(conn, pending, stored, stamp)
                pending = []
        if pending:
            stored += _insert(conn, pending, stored, stamp)
    conn.close()
    return stored


def _insert(conn: sqlite3.Connection, rows: list[dict[str, str]], offset: int, stamp: str) -> int:
    def clean(value: str | None) -> str | None:
        return None if value in (None, "", "None") else value.strip()

    complaints = []
    for n, row in enumerate(rows, start=offset + 1):
        received = sql_time(datetime.strptime(row["Date received"], "%m/%d/%y"))
        issue, sub = clean(row["Issue"]), clean(row["Sub-issue"])
        complaints.append((
            f"C-2023-{n:06d}", row["Complaint ID"], "web", clean(row["Product"]), clean(row["Sub-product"]),
            clean(row["Company"]), issue, sub, clean(row["Consumer complaint narrative"]) or f"{issue} / {sub}",
            "medium", "en", clean(row["State"]), "acknowledged", "frontline", "frontline", "complaint", 1, 2,
            "{}", received, stamp, stamp,
        ))
    sql = conn.execute
    sql("BEGIN IMMEDIATE")
    conn.executemany(
        f"INSERT INTO complaint ({', '.join(COMPLAINT_COLUMNS)}) VALUES ({', '.join('?' * len(COMPLAINT_COLUMNS))})",
        complaints,
    )
    ids = [r[0] for r in sql("SELECT id FROM complaint WHERE reference >= ? AND reference <= ? ORDER BY id",
                             (complaints[0][0], complaints[-1][0]))]
    events, notes = [], []
    for cid, c in zip(ids, complaints, strict=True):
        intake = json.dumps({"external_id": c[1], "product": c[3], "description": c[8]})
        events.append((cid, 1, HANDLER.name, HANDLER.role, "receive", None, "received", "frontline", "frontline",
                       intake, "{}", stamp))
        events.append((cid, 2, "intake", "system", "acknowledge", "received", "acknowledged", "frontline",
                       "frontline", "{}", "{}", stamp))
        notes.append((cid, 2, "acknowledgement", "en", "web",
                       f"Dear customer, we received your complaint on {c[19][:10]}. Your reference is {c[0]}.",
                       "queued", stamp))
    conn.executemany(
        f"INSERT INTO complaint_event ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * len(EVENT_COLUMNS))})",
        events,
    )
    conn.executemany(
        f"INSERT INTO notification ({', '.join(NOTE_COLUMNS)}) VALUES ({', '.join('?' * len(NOTE_COLUMNS))})",
        notes,
    )
    sql("COMMIT")
    return len(rows)


def run(ctx: Context) -> list[Measure]:
    sizes = SIZES[ctx.profile]
    csv_path = data.write_cfpb_csv(ctx.workdir / "intake.csv", sizes.rows)
    batch = fresh_app(ctx.sqlite_url("intake_probe"), FixedClock(NOW)).intake.batch_size
    best = interleaved(
        {"engine": engine_round(ctx, csv_path, sizes.rows), "raw": raw_round(ctx, csv_path, batch),
         "core": engine_round(ctx, csv_path, sizes.rows, observers=False)},
        sizes.repeat, warmup=0,
    )
    raw_rate = sizes.rows / best["raw"]
    return [
        Measure(f"SQLite: {sizes.rows:,} CFPB rows, importer + IntakeService (batches of {batch})",
                sizes.rows / best["engine"], "rows/s", raw_rate, "csv + plain sqlite3 inserts",
                Target(">=", 5_000, on="value"), note=f"source: {data.source_name()}"),
        Measure("the same without bootstrap's step observers", sizes.rows / best["core"], "rows/s", raw_rate,
                "csv + plain sqlite3 inserts", note="diagnostic: SLA clocks and root-cause blocking keys not written"),
    ]


def estimate(profile: Profile) -> float:
    sizes = SIZES[profile]
    return 2 + sizes.repeat * sizes.rows * (1 / 750 + 1 / 5_000 + 1 / 20_000) + sizes.rows / 50_000


FIGURE = Figure("intake", "Intake: CFPB rows per second", run, estimate)
