"""Figure: full-text search at 100,000 complaints, against the bare full-text query.

Setup (not timed): one complaint taken in through the engine, then copied with plain SQL into
as many rows as the size asks, each with a description of words drawn from the CFPB
sample's narratives (or a fixed vocabulary without it); the index's triggers index each copy
as it is written, as they do for intake.

Timed, in alternating rounds, a set of searches (a rare word, a common one, two words, a
phrase): ``complaints.search.search_complaints`` (the best page of 20 with its total, the
complaints' rows and the snippets) against the database alone running the bare query of the
index for the same words (SQLite: FTS5 ``MATCH ... ORDER BY rank LIMIT 20``; PostgreSQL: the
GIN match in the engine's English configuration, ordered by ``ts_rank``, ``LIMIT 20``). Both are reported as searches a second;
the target is a ratio of at least 0.5.
"""

from __future__ import annotations

import random
import re
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from benchmarks import data
from benchmarks.databases import fresh_app, raw_pg, raw_sqlite
from benchmarks.harness import Context, Figure, Measure, Profile, Target, interleaved
from complaintflow.bootstrap import App
from complaints.clock import FixedClock
from complaints.schemas import ComplaintIn
from complaints.search import PG_ENGLISH, SearchQuery, parse_terms, search_complaints
from complaints.steps import Actor

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SEARCHES = ("harassment", "loan", "payment fee", '"bank account"')
WORDS_PER_COMPLAINT = 60
FALLBACK = ("loan payday fee charged twice refund account card lender interest late payment bank transfer "
            "collection debt harassment call letter branch manager").split()


@dataclass(frozen=True)
class Sizes:
    complaints: int
    repeat: int


SIZES: dict[Profile, Sizes] = {
    "tiny": Sizes(complaints=500, repeat=1),
    "quick": Sizes(complaints=10_000, repeat=3),
    "full": Sizes(complaints=100_000, repeat=3),
}


def vocabulary(limit: int = 200_000) -> list[str]:
    """Words of the CFPB narratives, as often as they are used there: a real mix of rare and
    common words (synthetic rows of the same shape without the sample)."""
    words: list[str] = []
    for row in data.cfpb_rows():
        words += re.findall(r"[a-z]{3,}", (row.get("Consumer complaint narrative") or "").lower())
        if len(words) >= limit:
            break
    return words or FALLBACK


def populate(app: App, count: int, words: list[str]) -> None:
    """``count`` complaints: one through the engine, the rest copies of its row."""
    app.intake.take_in_one(ComplaintIn(product="Payday loan", description="seed"), Actor("bench", "handler"))
    rng = random.Random(7)
    with app.db.transaction() as conn:
        row = dict(conn.execute(text("SELECT * FROM complaint")).mappings().one())
        columns = [c for c in row if c not in ("id", "reference", "external_id", "description")]
        copy = text(f"INSERT INTO complaint (reference, description, {', '.join(columns)}) "
                    f"SELECT :reference, :description, {', '.join(columns)} FROM complaint WHERE id = :seed")
        conn.execute(copy, [{"reference": f"C-2025-{n:06d}", "seed": row["id"],
                             "description": " ".join(rng.choices(words, k=WORDS_PER_COMPLAINT))}
                            for n in range(1, count)])
        if app.db.dialect == "postgresql":
            conn.execute(text("ANALYZE complaint_search"))


def _everything(name: str, version: int) -> bool:
    return True


def _bare(app: App, url: str) -> Any:
    """The bare query of the index for each search, on a plain driver connection."""
    if app.db.dialect == "sqlite":
        conn = raw_sqlite(url)
        fts = {q: " ".join('"' + " ".join(t.words) + '"' for t in parse_terms(q)) for q in SEARCHES}

        def sqlite_run() -> None:
            for q in SEARCHES:
                conn.execute("SELECT rowid FROM complaint_search WHERE complaint_search MATCH ? ORDER BY rank "
                             "LIMIT 20", (fts[q],)).fetchall()
        return conn, sqlite_run
    pg = raw_pg(url)

    def pg_run() -> None:
        with pg.cursor() as cur:
            for q in SEARCHES:
                cur.execute(f"SELECT doc_id FROM complaint_search WHERE tsv @@ websearch_to_tsquery('{PG_ENGLISH}', %s) "
                            f"ORDER BY ts_rank(tsv, websearch_to_tsquery('{PG_ENGLISH}', %s)) DESC LIMIT 20", (q, q))
                cur.fetchall()
        pg.rollback()
    return pg, pg_run


def measure(name: str, url: str, sizes: Sizes, words: list[str]) -> Measure:
    app = fresh_app(url, FixedClock(NOW))
    try:
        populate(app, sizes.complaints, words)
        conn, bare = _bare(app, url)
        with closing(conn):
            def engine_run() -> None:
                for q in SEARCHES:
                    search_complaints(app.db, SearchQuery(text=q), _everything)
            best = interleaved({"engine": lambda: engine_run, "bare": lambda: bare}, sizes.repeat)
    finally:
        app.db.dispose()
    return Measure(f"{name}: search at {sizes.complaints:,} complaints", len(SEARCHES) / best["engine"],
                   "searches/s", baseline=len(SEARCHES) / best["bare"], baseline_name="the bare full-text query",
                   target=Target(">=", 0.5),
                   note=f"searches {', '.join(SEARCHES)}; a page of 20 with its total, rows and snippets")


def run(ctx: Context) -> list[Measure]:
    sizes, words = SIZES[ctx.profile], vocabulary()
    measures = [measure("SQLite", ctx.sqlite_url("search"), sizes, words)]
    if ctx.pg_url:
        measures.append(measure("PostgreSQL", ctx.pg_url, sizes, words))
    else:
        measures.append(Measure("PostgreSQL", None, "searches/s", note="skipped: no PostgreSQL URL given"))
    return measures


def estimate(profile: Profile) -> float:
    return {"tiny": 5.0, "quick": 30.0, "full": 240.0}[profile]


FIGURE = Figure("search", "Full-text search beside the bare index query", run, estimate)
