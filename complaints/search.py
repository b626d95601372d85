"""Full-text search over complaints' descriptions, notes, comments and customers' messages.

The index (``complaint_search``, migration 0017) is kept by the database's own triggers: a
description, a note or a message is searchable in the transaction that stores it, and what
erasure masks is masked in the index too. On SQLite it is an FTS5 table ranked by bm25; on
PostgreSQL a ``tsvector`` per document under a GIN index, stemmed in English and matched word
for word in every other language (``simple``), accents removed (``unaccent``, migration 0020),
ranked by ``ts_rank``. A complaint matches if any of its documents does, and ranks by its best one.

What a person types is never handed to either query language: it is read as words, "quoted
phrases" and -excluded words (``parse_terms``), each written out quoted, so no input is a
syntax error or an operator by accident. The words to find must all stand in one text; a
word left out leaves out every complaint with a text that holds it. The snippet is cut in Python from the best document,
after masking personal data for a viewer not shown it (``ShowsPersonalData``): text and the
spans of the words found, never markup.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import Connection, and_, bindparam, column, func, literal_column, select, table, text

from complaints import pii
from complaints.db import Database
from complaints.errors import InvalidInput, NotPermitted
from complaints.history import find_customer
from complaints.limits import COMPANY_MAX, EMAIL_MAX, NAME_MAX, PRODUCT_MAX, BoundedDate, check_text
from complaints.privacy import WITHHELD_NAME, ShowsPersonalData
from complaints.repository import complaint_t, customer_t, event_t
from complaints.schemas import field_problems
from complaints.types import UTCDateTime

#: The longest search text, and the most results on one page.
QUERY_MAX = 500
PER_PAGE_MAX = 100
#: How long a snippet is, in characters, at most.
SNIPPET_CHARS = 180
#: Where a document comes from: ``description``, or the action of its event.
SOURCES = ("description", "note", "comment", "customer_message")
#: A document's key in the index: its complaint's id times this, plus its event's seq (0: the
#: description), as migration 0017 writes it.
DOC = 16_777_216


class SearchQuery(BaseModel):
    """What to look for: words (optional: with none, the filters alone list complaints, newest
    first), filters, and which page. ``received_to`` is inclusive (the whole day)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    text: str = Field("", max_length=QUERY_MAX)
    product: str | None = Field(None, min_length=1, max_length=PRODUCT_MAX)
    company: str | None = Field(None, min_length=1, max_length=COMPANY_MAX)
    state: str | None = Field(None, min_length=1, max_length=40)
    tier: str | None = Field(None, min_length=1, max_length=40)
    queue: str | None = Field(None, min_length=1, max_length=60)
    assignee: str | None = Field(None, min_length=1, max_length=NAME_MAX)
    customer: str | None = Field(None, min_length=1, max_length=EMAIL_MAX)  # email, id or pseudonym
    customer_id: int | None = Field(None, ge=1, le=2**31 - 1)  # the customer's row, when known already
    received_from: BoundedDate | None = None
    received_to: BoundedDate | None = None
    page: int = Field(1, ge=1, le=100_000)
    per_page: int = Field(20, ge=1, le=PER_PAGE_MAX)

    @field_validator("*")
    @classmethod
    def _storable(cls, value: object) -> object:
        return check_text(value)

    @model_validator(mode="after")
    def _dates_in_order(self) -> SearchQuery:
        if self.received_from and self.received_to and self.received_from > self.received_to:
            raise ValueError(f"received_to: {self.received_to} is before received_from ({self.received_from})")
        return self

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> SearchQuery:
        """A query from outside (CLI options, URL parameters): one line per bad field."""
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise InvalidInput("Invalid search", field_problems(exc, cls)) from exc


class SearchHit(BaseModel):
    """One complaint found. ``snippet`` is plain text (personal data masked for a viewer not
    shown it); ``highlights`` are (start, end) spans of it where a searched word stands.
    ``score``: higher is better, comparable within one search only (None without words)."""

    reference: str
    state: str
    tier: str
    queue: str
    product: str
    company: str | None
    assignee: str | None
    language: str
    received_at: datetime
    customer_id: int | None
    score: float | None
    source: str
    snippet: str
    highlights: list[tuple[int, int]]


class SearchPage(BaseModel):
    """One page of results; ``total`` counts every complaint that matched."""

    query: SearchQuery
    total: int
    page: int
    per_page: int
    hits: list[SearchHit]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


# -- reading what was typed ----------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """A word or phrase to find (``words``: as typed, each database folds letter case its own
    way, the same for the text and the query), or to exclude."""

    words: tuple[str, ...]
    exclude: bool = False
    typed: str = ""  # as typed (quotes left out): PostgreSQL's parser reads it as it read the text


_TERM = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')
_WORD = re.compile(r"\w+")


def parse_terms(query: str) -> list[Term]:
    """Words, "quoted phrases" and -excluded words or phrases, each reduced to its letters and
    digits (``<script>`` is the word ``script``; what holds none is left out)."""
    terms = []
    for m in _TERM.finditer(query):
        exclude, phrase = bool(m.group(1) or m.group(3)), m.group(2) if m.group(2) is not None else m.group(4)
        words = tuple(_WORD.findall(phrase))
        if words:
            terms.append(Term(words, exclude, " ".join(phrase.split())))
    return terms


def _phrase(t: Term) -> str:
    return '"' + " ".join(t.words) + '"'


def _fts5(terms: Sequence[Term], exclude: bool = False) -> str:
    """An FTS5 query: each term a quoted phrase; the terms to find all in one text, or (with
    ``exclude``) any of the terms to leave out."""
    return (" OR " if exclude else " ").join(_phrase(t) for t in terms if t.exclude == exclude)


def _websearch(terms: Sequence[Term], exclude: bool = False) -> str:
    """The same for PostgreSQL's ``websearch_to_tsquery``: each term as typed (an email address
    is one word to its parser), quoted, so no word is an operator."""
    return (" or " if exclude else " ").join('"' + (t.typed or " ".join(t.words)) + '"'
                                            for t in terms if t.exclude == exclude)


# -- the search ------------------------------------------------------------------------------------


_ROW = (complaint_t.c.id, complaint_t.c.reference, complaint_t.c.state, complaint_t.c.tier, complaint_t.c.queue,
        complaint_t.c.product, complaint_t.c.company, complaint_t.c.assignee, complaint_t.c.language,
        complaint_t.c.received_at, complaint_t.c.customer_id, complaint_t.c.workflow_name,
        complaint_t.c.workflow_version)


def search_complaints(db: Database, query: SearchQuery, shows_personal_data: ShowsPersonalData) -> SearchPage:
    """One page of the complaints that match ``query``, best first (newest first without
    words); ``shows_personal_data`` says, per workflow, whether the viewer reads personal data
    in the snippets (else it is masked as ``complaints.privacy`` masks a case view)."""
    terms = parse_terms(query.text)
    if terms and all(t.exclude for t in terms):
        raise InvalidInput("Invalid search", ["text: give at least one word to find, not only words to leave out"])
    if not shows_personal_data("", 0) and pii.find(query.text):
        # the complaints found would tell who wrote an address, a phone or an id, masked or not
        raise NotPermitted("Searching for personal data (an email address, a phone number, an account or id "
                           "number) needs a role shown personal data")
    with db.read() as conn:
        customer_id = _customer(conn, query.customer, shows_personal_data) if query.customer else None
        rows, total = _page(conn, query, terms, customer_id)
        withheld = [not shows_personal_data(r["workflow_name"], r["workflow_version"]) for r in rows]
        names = _customer_names(conn, [r["customer_id"] for r, hide in zip(rows, withheld, strict=True)
                                       if hide and r["customer_id"] is not None])
    fix = UTCDateTime().process_result_value
    hits = []
    for r, hide in zip(rows, withheld, strict=True):
        body = r["body"] or ""
        if hide:
            name = names.get(r["customer_id"])
            body = pii.mask(body, (name,) if name else (), WITHHELD_NAME)
        snippet, spans = make_snippet(body, terms)
        hits.append(SearchHit(
            **{k: r[k] for k in ("reference", "state", "tier", "queue", "product", "company", "assignee", "language",
                                  "customer_id")},
            received_at=fix(r["received_at"], None), score=r["score"], source=r["action"] or "description",
            snippet=snippet, highlights=spans))
    return SearchPage(query=query, total=total, page=query.page, per_page=query.per_page, hits=hits)


def _customer(conn: Connection, key: str, shows_personal_data: ShowsPersonalData) -> int:
    """The id of the customer ``key`` names; by email only for a viewer shown personal data."""
    if "@" in key and not shows_personal_data("", 0):
        raise NotPermitted("Searching by a customer's email address needs a role shown personal data; "
                           "give their pseudonym or id")
    return find_customer(conn, key)[0]


def _filters(query: SearchQuery, customer_id: int | None) -> list[Any]:
    c = complaint_t.c
    wanted = [(c.product, query.product), (c.company, query.company), (c.state, query.state), (c.tier, query.tier),
              (c.queue, query.queue), (c.assignee, query.assignee), (c.customer_id, customer_id),
              (c.customer_id, query.customer_id)]
    conditions = [column == value for column, value in wanted if value is not None]
    if query.received_from:
        conditions.append(c.received_at >= datetime.combine(query.received_from, time()))
    if query.received_to:
        conditions.append(c.received_at < datetime.combine(query.received_to + timedelta(days=1), time()))
    return conditions


def _page(conn: Connection, query: SearchQuery, terms: Sequence[Term],
          customer_id: int | None) -> tuple[list[dict[str, Any]], int]:
    """The page's rows, each with its best document's text (``body``) and event (``action``,
    None for the description), and how many matched in all: one statement. Best first, then
    the newest taken in (without words: newest received first)."""
    conditions = _filters(query, customer_id)
    c = complaint_t.c
    if not terms:
        ranked = select(c.id.label("cid"), (c.id * DOC).label("doc"), literal_column("NULL").label("score"),
                        c.received_at.label("first")).where(and_(True, *conditions))
    else:
        hits = (_sqlite_hits(terms) if conn.dialect.name == "sqlite" else _postgres_hits(terms)).subquery("hits")
        ranked = select(hits.c.complaint_id.label("cid"), hits.c.doc_id.label("doc"), hits.c.score,
                        hits.c.score.label("first"))
        if conditions:  # without, the matches are ranked alone and only the page's complaints read
            ranked = ranked.join_from(hits, complaint_t, c.id == hits.c.complaint_id).where(and_(*conditions))
    # ordered by (first, cid) inside and out: a row_number() to carry the order costs a second sort
    order: tuple[Any, ...] = (literal_column("first").desc(), literal_column("cid").desc())
    page = (ranked.add_columns(func.count().over().label("total"))
            .order_by(*order).limit(query.per_page).offset((query.page - 1) * query.per_page).cte("page"))
    documents, key = _index(conn)
    rows = [dict(r._mapping) for r in conn.execute(
        select(*_ROW, page.c.doc.label("doc_id"), page.c.score, page.c.total, documents.c.body, event_t.c.action)
        .select_from(page.join(complaint_t, c.id == page.c.cid)
                     .outerjoin(documents, key == page.c.doc)
                     .outerjoin(event_t, and_(event_t.c.complaint_id == page.c.cid, page.c.doc % DOC != 0,
                                              event_t.c.seq == page.c.doc % DOC)))
        .order_by(page.c.first.desc(), page.c.cid.desc()))]
    if rows or query.page == 1:
        return rows, int(rows[0]["total"]) if rows else 0
    return [], int(conn.execute(select(func.count()).select_from(ranked.subquery())).scalar_one())


def _index(conn: Connection) -> tuple[Any, Any]:
    """The index's documents as a table, and the column of their key (``rowid`` in FTS5)."""
    key = "rowid" if conn.dialect.name == "sqlite" else "doc_id"
    documents = table("complaint_search", column(key), column("body"))
    return documents, documents.c[key]


def _sqlite_hits(terms: Sequence[Term]) -> Any:
    # the complaint comes from the key, not a column (reading one is a lookup per match); and
    # FTS5's bare-column rule gives, with min(rank), the key of each complaint's best document
    left_out = any(t.exclude for t in terms)
    unless = f"AND rowid / {DOC} NOT IN (SELECT rowid / {DOC} FROM complaint_search WHERE complaint_search MATCH :nots)"
    query = text(f"""SELECT rowid / {DOC} AS complaint_id, rowid AS doc_id, -min(rank) AS score
                     FROM complaint_search WHERE complaint_search MATCH :fts {unless if left_out else ""}
                     GROUP BY rowid / {DOC}""").bindparams(bindparam("fts", _fts5(terms)))
    if left_out:
        query = query.bindparams(bindparam("nots", _fts5(terms, exclude=True)))
    return query.columns(literal_column("complaint_id"), literal_column("doc_id"), literal_column("score"))


#: PostgreSQL's text search configurations (migration 0020): ``english`` and ``simple`` with
#: accents removed first, so a query and the texts are folded alike, as on SQLite.
PG_ENGLISH, PG_SIMPLE = "complaint_english", "complaint_simple"
#: Documents matching ``:{q}``, each with the query of its own configuration: two GIN scans, OR-ed.
_PG_MATCH = f"""((config = '{PG_ENGLISH}'::regconfig AND tsv @@ websearch_to_tsquery('{PG_ENGLISH}', :{{q}}))
                OR (config <> '{PG_ENGLISH}'::regconfig AND tsv @@ websearch_to_tsquery('{PG_SIMPLE}', :{{q}})))"""


def _postgres_hits(terms: Sequence[Term]) -> Any:
    left_out = any(t.exclude for t in terms)
    unless = f"AND complaint_id NOT IN (SELECT complaint_id FROM complaint_search WHERE {_PG_MATCH.format(q='nots')})"
    query = text(f"""SELECT DISTINCT ON (complaint_id) complaint_id, doc_id,
                            ts_rank(tsv, CASE WHEN config = '{PG_ENGLISH}'::regconfig
                                              THEN websearch_to_tsquery('{PG_ENGLISH}', :q)
                                              ELSE websearch_to_tsquery('{PG_SIMPLE}', :q) END) AS score
                     FROM complaint_search WHERE {_PG_MATCH.format(q='q')} {unless if left_out else ""}
                     ORDER BY complaint_id, score DESC, doc_id""").bindparams(bindparam("q", _websearch(terms)))
    if left_out:
        query = query.bindparams(bindparam("nots", _websearch(terms, exclude=True)))
    return query.columns(literal_column("complaint_id"), literal_column("doc_id"), literal_column("score"))


def _customer_names(conn: Connection, customer_ids: Sequence[int]) -> dict[int, str]:
    if not customer_ids:
        return {}
    rows = conn.execute(select(customer_t.c.id, customer_t.c.name).where(customer_t.c.id.in_(sorted(set(customer_ids)))))
    return {cid: name for cid, name in rows if name}


# -- the snippet -----------------------------------------------------------------------------------


def _fold_char(ch: str) -> str:
    # one character for one: the first of its decomposition, in small letters (Ķ -> k, Ό -> ο);
    # Turkish ı has none, but PostgreSQL's unaccent finds it as i
    return unicodedata.normalize("NFKD", ch)[0].lower()[:1].replace("ı", "i") or ch


def _fold(text: str) -> str:
    """``text`` in small letters without accents, one character for each of its characters
    (so a position in it is the same position in ``text``)."""
    return text.lower() if text.isascii() else "".join(map(_fold_char, text))


def _pattern(terms: Sequence[Term]) -> re.Pattern[str] | None:
    """The searched words in folded text: the word itself, or (four letters or more) any word
    sharing its stem, a crude one: the search itself stems English; this only decides what
    is highlighted."""
    words = sorted({_fold(w) for t in terms if not t.exclude for w in t.words}, key=len, reverse=True)
    if not words:
        return None
    forms = [re.escape(w[:max(4, len(w) - 2)]) + r"\w*" if len(w) >= 4 else re.escape(w) for w in words]
    return re.compile(r"(?<!\w)(?:" + "|".join(forms) + r")(?!\w)")


def make_snippet(body: str, terms: Sequence[Term], size: int = SNIPPET_CHARS) -> tuple[str, list[tuple[int, int]]]:
    """A short excerpt of ``body`` around the first word searched for, white space made single
    spaces, "…" where it is cut; and the (start, end) spans of the searched words in it."""
    flat = " ".join(body.split())
    folded, pattern = _fold(flat), _pattern(terms)
    first = pattern.search(folded) if pattern else None
    spans = [first.span()] if first else []
    # a third of the excerpt before the word, unless the text ends sooner than that leaves room for
    start = max(0, min(spans[0][0] - size // 3, len(flat) - size)) if spans else 0
    if start:
        space = flat.find(" ", start)
        start = space + 1 if 0 <= space < spans[0][0] else start
    end = min(len(flat), start + size)
    if end < len(flat):
        space = flat.rfind(" ", start, end)
        end = space if space > start else end
    prefix, suffix = ("…" if start else ""), ("…" if end < len(flat) else "")
    shift = len(prefix) - start
    inside = [(m.start() + shift, m.end() + shift) for m in pattern.finditer(folded, start, end)] if pattern else []
    return prefix + flat[start:end] + suffix, inside
