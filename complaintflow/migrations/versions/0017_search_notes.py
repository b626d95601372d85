"""search: full-text index over descriptions, notes and customers' messages

``complaint_search`` holds one document per complaint's description and one per note, comment
or customer's message, each keyed by ``complaint id * 2**24 + event seq`` (seq 0: the
description), so a search groups its matches by complaint without reading a column (on
SQLite, reading one is a lookup per match); kept in step by triggers on ``complaint`` and ``complaint_event``: every path that writes them (intake
in bulk, a step, erasure's masking) updates the index in its own transaction, and none can
forget to. SQLite: an FTS5 table (porter stemming over the unicode61 tokenizer, accents
removed), ranked by bm25. PostgreSQL: a table with a ``tsvector`` per document and a GIN index,
``english`` for complaints in English and ``simple`` for every other language (LV, EL, TR:
PostgreSQL has no stemmer for them; ``simple`` still finds a word as it is written).

The table is no model (``complaintflow.tables.UNMODELLED``): neither SQLAlchemy nor Alembic
can declare an FTS5 table or a trigger, so this migration owns it. On SQLite a later migration
that rebuilds ``complaint`` or ``complaint_event`` in batch mode drops their triggers: it must
create them again (``TRIGGERS_SQLITE``).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 22:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0017'
down_revision: str | Sequence[str] | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The events whose text is searched: a handler's note, a comment for the customer, a
#: customer's message (``complaintflow.replies``).
_SEARCHED = "('note', 'comment', 'customer_message')"

#: A document's key: its complaint's id times this, plus its event's seq (0: the description).
DOC = 16_777_216
_SQLITE_TABLE = """CREATE VIRTUAL TABLE complaint_search USING fts5(
    body, tokenize = 'porter unicode61 remove_diacritics 2')"""
_SQLITE_EVENT_TEXT = ("trim(coalesce(json_extract(NEW.payload, '$.subject'), '') || char(10) || "
                      "coalesce(json_extract(NEW.payload, '$.text'), ''))")
TRIGGERS_SQLITE = (
    f"""CREATE TRIGGER complaint_search_add AFTER INSERT ON complaint BEGIN
        INSERT INTO complaint_search(rowid, body) VALUES (NEW.id * {DOC}, NEW.description);
    END""",
    f"""CREATE TRIGGER complaint_search_change AFTER UPDATE OF description ON complaint BEGIN
        DELETE FROM complaint_search WHERE rowid = OLD.id * {DOC};
        INSERT INTO complaint_search(rowid, body) VALUES (NEW.id * {DOC}, NEW.description);
    END""",
    f"""CREATE TRIGGER complaint_search_remove AFTER DELETE ON complaint BEGIN
        DELETE FROM complaint_search WHERE rowid >= OLD.id * {DOC} AND rowid < (OLD.id + 1) * {DOC};
    END""",
    f"""CREATE TRIGGER complaint_search_event_add AFTER INSERT ON complaint_event
        WHEN NEW.action IN {_SEARCHED} BEGIN
        INSERT INTO complaint_search(rowid, body) VALUES (NEW.complaint_id * {DOC} + NEW.seq, {_SQLITE_EVENT_TEXT});
    END""",
    f"""CREATE TRIGGER complaint_search_event_change AFTER UPDATE OF payload ON complaint_event
        WHEN NEW.action IN {_SEARCHED} BEGIN
        DELETE FROM complaint_search WHERE rowid = OLD.complaint_id * {DOC} + OLD.seq;
        INSERT INTO complaint_search(rowid, body) VALUES (NEW.complaint_id * {DOC} + NEW.seq, {_SQLITE_EVENT_TEXT});
    END""",
)
_SQLITE_NAMES = ("complaint_search_add", "complaint_search_change", "complaint_search_remove",
                 "complaint_search_event_add", "complaint_search_event_change")

_POSTGRES = (
    """CREATE TABLE complaint_search (
        doc_id bigint PRIMARY KEY,
        complaint_id integer NOT NULL REFERENCES complaint (id) ON DELETE CASCADE,
        source varchar(20) NOT NULL,
        config regconfig NOT NULL,
        body text NOT NULL,
        tsv tsvector NOT NULL)""",
    "CREATE INDEX ix_complaint_search_tsv ON complaint_search USING gin (tsv)",
    "CREATE INDEX ix_complaint_search_complaint ON complaint_search (complaint_id)",
    # English is stemmed; every other language is matched word for word.
    """CREATE FUNCTION complaint_search_config(language text) RETURNS regconfig AS $$
        SELECT CASE WHEN lower(language) = 'en' THEN 'english'::regconfig ELSE 'simple'::regconfig END
    $$ LANGUAGE sql IMMUTABLE""",
    f"""CREATE FUNCTION complaint_search_complaint() RETURNS trigger AS $$
    DECLARE cfg regconfig := complaint_search_config(NEW.language);
    BEGIN
        INSERT INTO complaint_search (doc_id, complaint_id, source, config, body, tsv)
        VALUES (NEW.id::bigint * {DOC}, NEW.id, 'description', cfg, NEW.description, to_tsvector(cfg, NEW.description))
        ON CONFLICT (doc_id) DO UPDATE SET config = EXCLUDED.config, body = EXCLUDED.body, tsv = EXCLUDED.tsv;
        IF TG_OP = 'UPDATE' AND NEW.language IS DISTINCT FROM OLD.language THEN
            UPDATE complaint_search SET config = cfg, tsv = to_tsvector(cfg, body) WHERE complaint_id = NEW.id;
        END IF;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER complaint_search_complaint AFTER INSERT OR UPDATE OF description, language ON complaint
        FOR EACH ROW EXECUTE FUNCTION complaint_search_complaint()""",
    f"""CREATE FUNCTION complaint_search_event() RETURNS trigger AS $$
    DECLARE
        cfg regconfig := (SELECT complaint_search_config(language) FROM complaint WHERE id = NEW.complaint_id);
        words text := trim(concat_ws(E'\\n', NEW.payload ->> 'subject', NEW.payload ->> 'text'));
    BEGIN
        INSERT INTO complaint_search (doc_id, complaint_id, source, config, body, tsv)
        VALUES (NEW.complaint_id::bigint * {DOC} + NEW.seq, NEW.complaint_id, NEW.action, cfg, words,
                to_tsvector(cfg, words))
        ON CONFLICT (doc_id) DO UPDATE SET body = EXCLUDED.body, tsv = EXCLUDED.tsv;
        RETURN NULL;
    END $$ LANGUAGE plpgsql""",
    f"""CREATE TRIGGER complaint_search_event AFTER INSERT OR UPDATE OF payload ON complaint_event
        FOR EACH ROW WHEN (NEW.action IN {_SEARCHED}) EXECUTE FUNCTION complaint_search_event()""",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _POSTGRES:
            op.execute(statement)
        op.execute(f"""INSERT INTO complaint_search (doc_id, complaint_id, source, config, body, tsv)
            SELECT id::bigint * {DOC}, id, 'description', complaint_search_config(language), description,
                   to_tsvector(complaint_search_config(language), description) FROM complaint""")
        op.execute(f"""INSERT INTO complaint_search (doc_id, complaint_id, source, config, body, tsv)
            SELECT e.complaint_id::bigint * {DOC} + e.seq, e.complaint_id, e.action, complaint_search_config(c.language), t.words,
                   to_tsvector(complaint_search_config(c.language), t.words)
            FROM complaint_event e JOIN complaint c ON c.id = e.complaint_id,
                 LATERAL (SELECT trim(concat_ws(E'\\n', e.payload ->> 'subject', e.payload ->> 'text')) AS words) t
            WHERE e.action IN {_SEARCHED}""")
        return
    op.execute(_SQLITE_TABLE)
    for statement in TRIGGERS_SQLITE:
        op.execute(statement)
    op.execute(f"INSERT INTO complaint_search (rowid, body) SELECT id * {DOC}, description FROM complaint")
    text = _SQLITE_EVENT_TEXT.replace("NEW.", "")
    op.execute(f"""INSERT INTO complaint_search (rowid, body)
        SELECT complaint_id * {DOC} + seq, {text} FROM complaint_event WHERE action IN {_SEARCHED}""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER complaint_search_event ON complaint_event")
        op.execute("DROP TRIGGER complaint_search_complaint ON complaint")
        op.execute("DROP FUNCTION complaint_search_event()")
        op.execute("DROP FUNCTION complaint_search_complaint()")
        op.execute("DROP TABLE complaint_search")
        op.execute("DROP FUNCTION complaint_search_config(text)")
        return
    for name in _SQLITE_NAMES:
        op.execute(f"DROP TRIGGER {name}")
    op.execute("DROP TABLE complaint_search")
