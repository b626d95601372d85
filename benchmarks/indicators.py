"""Figure: the indicators of a year, against the one SQL query that counts the same events.

A year of complaints (100,000 at full size) with their events, SLA and regulatory clocks and
ledger. Twelve histories are walked through the engine first, each a path of the shipped
lifecycle (found invalid at once; resolved and closed after the follow-up; a question to the
customer; escalated and rejected; left unanswered until the sweep escalates it; paused; reopened
by a dissatisfied customer; critical; promises kept and broken; reopened after closing; closed
for want of a reply; assigned and open), with sweeps among their steps. Their rows are then
copied with plain ``sqlite3``, each copy moved to its own receipt across the year (whole weeks,
so that business hours fall on the same weekdays), with channels and products taken in turn:
setup only, the figure measures what happens after the complaints exist.

Timed, in alternating rounds: ``escalation.indicators.indicators`` for the year (every
indicator, read from the event log and the clocks and computed) against the database alone
running the one query that counts the same events, those of the same complaints before the
same end, by action and state. Both are reported as complaints per second; the target is a
ratio of at least 0.25.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import cycle
from typing import Any

from benchmarks.databases import fresh_app, raw_pg, raw_sqlite, sql_time
from benchmarks.harness import Context, Figure, Measure, Profile, Target, interleaved
from complaintflow.bootstrap import App, build
from complaintflow.settings import Settings
from complaints.clock import FixedClock
from complaints.schemas import ComplaintIn
from complaints.steps import Actor
from escalation.indicators import indicators
from escalation.services import keep_promises, promise
from escalation.sweep import sweep

HANDLER = Actor("bench", "handler")
#: The template histories' receipt (a Monday morning) and the year the copies are spread over.
BASE = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
YEAR_START = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)  # a Monday
FIRST_DAY, LAST_DAY = date(2025, 12, 1), date(2026, 11, 30)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
#: Copies are received in the year's first 48 weeks: their histories (a month at most) end within it.
WEEKS = 48
CHANNELS = ("web", "email", "phone", "letter", "chat")
PRODUCTS = ("Current account", "Credit card", "Mortgage", "Personal loan", "Savings", "Home insurance")
COUNT_SQL = (
    "SELECT e.action, e.to_state, count(*) FROM complaint_event e JOIN complaint c ON c.id = e.complaint_id "
    "WHERE c.received_at >= ? AND c.received_at < ? AND e.at < ? GROUP BY e.action, e.to_state"
)


@dataclass(frozen=True)
class Sizes:
    complaints: int
    repeat: int


SIZES: dict[Profile, Sizes] = {
    "tiny": Sizes(complaints=600, repeat=1),
    "quick": Sizes(complaints=10_000, repeat=5),
    "full": Sizes(complaints=100_000, repeat=3),
}


def t(days: int, hours: float = 0) -> timedelta:
    """A step's time after the templates' receipt (Monday 09:00)."""
    return timedelta(days=days, hours=hours)


V = {"criteria": "ours, in time", "rationale": "the fee was charged twice"}
PROPOSE = {"resolution": "refund of the fee", "reasons": "charged twice by a batch error"}
CLOSE = {"root_cause_code": "BILLING.DUPLICATE", "finding": "batch ran twice"}
#: Each history: (severity, [(when, action, payload)]); 'promise' and 'keep' record and keep promises.
HISTORIES: list[tuple[str, list[tuple[timedelta, str, dict[str, Any]]]]] = [
    ("medium", [(t(0, 1), "assess", {}), (t(0, 2), "invalid", {"criteria": "ours", "rationale": "another lender"})]),
    ("medium", [(t(0, 2), "assess", {}), (t(0, 3), "valid", V), (t(1, 2), "propose", PROPOSE), (t(2), "accept", {}),
                (t(9), "start_follow_up", {}), (t(9, 2), "satisfied", {}), (t(9, 4), "close", CLOSE)]),
    ("medium", [(t(0, 3), "assess", {}), (t(0, 4), "need_info", {"question": "which account?"}),
                (t(3, 1), "info_received", {}), (t(3, 2), "valid", V), (t(7, 1), "propose", PROPOSE),
                (t(8, 1), "accept", {})]),
    ("high", [(t(0, 1), "assess", {}), (t(0, 2), "valid", V), (t(1, 1), "escalate", {"reason": "a senior decision"}),
              (t(2, 1), "propose", PROPOSE), (t(3, 1), "reject", {"reason": "too little"}),
              (t(5, 1), "propose", PROPOSE), (t(6, 1), "accept", {})]),
    ("medium", []),
    ("low", [(t(0, 1), "assess", {}), (t(0, 2), "valid", V),
             (t(1, 1), "pause", {"reason": "the lender's statement", "resume_on": (BASE + t(8)).date().isoformat()}),
             (t(7, 1), "resume", {}), (t(9, 1), "propose", PROPOSE)]),
    ("medium", [(t(0, 1), "assess", {}), (t(0, 2), "valid", V), (t(1, 1), "propose", PROPOSE), (t(1, 2), "accept", {}),
                (t(8), "start_follow_up", {}), (t(8, 1), "dissatisfied", {"reason": "the fee came back"}),
                (t(10, 1), "propose", PROPOSE), (t(10, 2), "accept", {})]),
    ("critical", [(t(1, 1), "assess", {}), (t(1, 2), "valid", V), (t(4, 1), "propose", PROPOSE)]),
    ("medium", [(t(0, 1), "assess", {}), (t(0, 2), "valid", V), (t(0, 3), "promise", {"due": t(2)}),
                (t(1, 5), "keep", {}), (t(1, 6), "promise", {"due": t(5)}), (t(12, 1), "propose", PROPOSE)]),
    ("medium", [(t(0, 1), "assess", {}), (t(0, 2), "invalid", {"criteria": "ours", "rationale": "Another lender"}),
                (t(2, 1), "reopen", {"reason": "a third charge"}), (t(4, 1), "propose", PROPOSE)]),
    ("medium", [(t(0, 1), "assess", {}), (t(0, 2), "need_info", {"question": "the date"})]),
    ("medium", [(t(0, 1), "assign", {"assignee": "ines"}), (t(0, 2), "assess", {}), (t(0, 3), "valid", V)]),
]
SWEEPS = (t(3), t(10), t(20), t(30))


def walk_templates(app: App, clock: FixedClock) -> list[int]:
    """The histories through the engine, every step at its time, sweeps among them; their ids."""
    report = app.intake.take_in(
        [(i, ComplaintIn(product="Current account", description=f"history {i}", severity=severity, external_id=f"T{i}"))
         for i, (severity, _) in enumerate(HISTORIES)], HANDLER)
    refs = [ref for _, ref in sorted(report.created)]
    steps = sorted([(when, 1, i, action, payload) for i, (_, history) in enumerate(HISTORIES)
                    for when, action, payload in history] + [(when, 0, -1, "sweep", {}) for when in SWEEPS])
    for when, _, i, action, payload in steps:
        clock.at = BASE + when
        if action == "sweep":
            sweep(app.engine)
        elif action == "promise":
            promise(app.engine, refs[i], BASE + payload["due"], "call back", HANDLER)
        elif action == "keep":
            keep_promises(app.engine, refs[i], HANDLER)
        else:
            app.engine.advance(refs[i], action, HANDLER, payload)
    with app.db.read() as conn:
        return [conn.exec_driver_sql("SELECT id FROM complaint WHERE reference = ?", (ref,)).scalar_one() for ref in refs]


class Template:
    """One walked history's rows, every time in them kept as its distance from the receipt."""

    TABLES = ("complaint", "complaint_event", "sla_clock", "sla_ledger")

    def __init__(self, conn: sqlite3.Connection, cid: int):
        conn.row_factory = sqlite3.Row
        self.rows = {table: [dict(r) for r in conn.execute(f"SELECT * FROM {table} WHERE "  # noqa: S608 - our names
                                                         f"{'id' if table == 'complaint' else 'complaint_id'} = ? "
                                                         "ORDER BY id", (cid,))]
                     for table in self.TABLES}
        self.received = datetime.fromisoformat(self.rows["complaint"][0]["received_at"]).replace(tzinfo=UTC)

    def copies(self, cid: int, received: datetime, channel: str, product: str) -> dict[str, list[tuple[Any, ...]]]:
        """The rows of a copy received at ``received``, as tuples in ``columns`` order."""
        shift = received - self.received
        out: dict[str, list[tuple[Any, ...]]] = {}
        for table, rows in self.rows.items():
            copied = []
            for row in rows:
                new = {k: _moved(k, v, shift) for k, v in row.items() if k != "id"}
                if table == "complaint":
                    new = {"id": cid, **new, "reference": f"C-B{cid:08d}", "external_id": f"B{cid:08d}",
                           "channel": channel, "product": product}
                else:
                    new["complaint_id"] = cid
                copied.append(tuple(new.values()))
            out[table] = copied
        return out

    def columns(self, table: str) -> list[str]:
        names = [k for k in self.rows[table][0] if k != "id"]
        return ["id", *names] if table == "complaint" else names


_TIMES = {"received_at", "created_at", "updated_at", "at", "started_at", "running_since", "due_at", "warn_at",
          "warned_at", "breached_at", "stopped_at"}


def _moved(column: str, value: Any, shift: timedelta) -> Any:
    if value is None:
        return None
    if column in _TIMES:
        return sql_time(datetime.fromisoformat(value) + shift)
    if column == "detail" and "milestones" in value:  # a regulatory clock's deadlines
        detail = json.loads(value)
        for milestone in detail["milestones"].values():
            milestone["deadline"] = (datetime.fromisoformat(milestone["deadline"]) + shift).isoformat()
        return json.dumps(detail)
    return value


def walk(ctx: Context) -> list[Template]:
    """The template histories, walked on a scratch SQLite database."""
    scratch = ctx.sqlite_url("indicators_templates")
    clock = FixedClock(BASE)
    app = fresh_app(scratch, clock)
    try:
        ids = walk_templates(app, clock)
    finally:
        app.db.dispose()
    with closing(raw_sqlite(scratch)) as conn:
        return [Template(conn, cid) for cid in ids]


def build_year(url: str, templates: list[Template], count: int) -> None:
    """``count`` complaints received across the year, in the (empty) database at ``url``."""
    fresh_app(url, FixedClock(NOW)).db.dispose()
    columns = {table: templates[0].columns(table) for table in Template.TABLES}
    if url.startswith("sqlite"):
        with closing(raw_sqlite(url)) as conn:
            for chunk in _chunks(templates, count, 2_000):
                conn.execute("BEGIN IMMEDIATE")
                for table, rows in chunk.items():
                    conn.executemany(f"INSERT INTO {table} ({', '.join(columns[table])}) "  # noqa: S608 - our names
                                     f"VALUES ({', '.join('?' * len(columns[table]))})", rows)
                conn.execute("COMMIT")
            conn.execute("ANALYZE")
        return
    with raw_pg(url) as conn:
        for chunk in _chunks(templates, count, 10_000):
            with conn.cursor() as cur:
                for table, rows in chunk.items():
                    with cur.copy(f"COPY {table} ({', '.join(columns[table])}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            conn.commit()
        conn.execute("SELECT setval(pg_get_serial_sequence('complaint', 'id'), max(id)) FROM complaint")
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


def _chunks(templates: list[Template], count: int, size: int) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    channels, products = cycle(CHANNELS), cycle(PRODUCTS)
    for first in range(0, count, size):
        chunk: dict[str, list[tuple[Any, ...]]] = {table: [] for table in Template.TABLES}
        for n in range(first, min(first + size, count)):
            week, minute = n % WEEKS, (n // WEEKS) % 400
            received = YEAR_START + timedelta(weeks=week, minutes=minute)
            for table, rows in templates[n % len(templates)].copies(n + 1, received, next(channels),
                                                                    next(products)).items():
                chunk[table] += rows
        yield chunk


def measure(url: str, backend: str, templates: list[Template], sizes: Sizes) -> Measure:
    """The indicators of the year beside the counting query, on one database."""
    build_year(url, templates, sizes.complaints)
    app = build(Settings(database_url=url), clock=FixedClock(NOW))
    pg = app.db.dialect == "postgresql"
    raw = raw_pg(url) if pg else raw_sqlite(url)
    sql = COUNT_SQL.replace("?", "%s") if pg else COUNT_SQL
    bounds = (YEAR_START.replace(hour=0), NOW.replace(hour=0), NOW.replace(hour=0))
    params = bounds if pg else tuple(sql_time(b) for b in bounds)

    def count() -> list[Any]:
        return raw.execute(sql, params).fetchall()  # type: ignore[no-any-return]

    try:
        events = raw.execute("SELECT count(*) FROM complaint_event").fetchone()[0]
        counted = sum(row[-1] for row in count())
        if counted != events:
            raise AssertionError(f"{backend}: the counting query saw {counted:,} of {events:,} events")
        received = indicators(app.engine, FIRST_DAY, LAST_DAY)["overall"]["received"]
        if received != sizes.complaints:
            raise AssertionError(f"{backend}: the indicators saw {received:,} of {sizes.complaints:,} complaints")
        seconds = interleaved({
            "indicators": lambda: lambda: indicators(app.engine, FIRST_DAY, LAST_DAY),
            "sql": lambda: count,
        }, sizes.repeat, warmup=1)
    finally:
        raw.close()
        app.db.dispose()
    n = sizes.complaints
    return Measure(
        f"{backend}: every indicator of a year, {n:,} complaints", n / seconds["indicators"], "complaints/s",
        n / seconds["sql"], "one SQL query counting the same events (raw driver)", Target(">=", 0.25),
        note=f"{events:,} events; escalation.indicators.indicators {seconds['indicators']:.2f} s, "
             f"the counting query {seconds['sql']:.2f} s",
    )


def run(ctx: Context) -> list[Measure]:
    sizes = SIZES[ctx.profile]
    templates = walk(ctx)
    measures = [measure(ctx.sqlite_url("indicators_year"), "SQLite", templates, sizes)]
    if ctx.pg_url:
        measures.append(measure(ctx.pg_url, "PostgreSQL", templates, sizes))
    else:
        measures.append(Measure("PostgreSQL", None, "complaints/s",
                                note="skipped: no PostgreSQL URL (--pg-url or COMPLAINTS_BENCH_POSTGRES_URL)"))
    return measures


def estimate(profile: Profile) -> float:
    sizes = SIZES[profile]
    return 10 + sizes.complaints / 1_000 + (sizes.repeat + 1) * sizes.complaints / 10_000  # PostgreSQL's share included


FIGURE = Figure("indicators", "Indicators: a year of complaints beside the SQL that counts its events", run, estimate)
