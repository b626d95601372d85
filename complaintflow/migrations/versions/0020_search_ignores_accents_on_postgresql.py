"""search: PostgreSQL ignores accents, as SQLite's tokenizer does

``complaint_english`` and ``complaint_simple`` are ``english`` and ``simple`` with the
``unaccent`` dictionary before the stemmer (or the lower-casing), so ``bloketa`` finds
*bloķēta* and ``islem`` finds *İşlem*; every stored text is indexed again with them.
SQLite's FTS5 table removes accents already (``remove_diacritics 2``): nothing to do there.

``unaccent`` is a trusted extension: a database owner may create it. A role that may not is
stopped with the statement to run as a superuser. The downgrade keeps the extension: it may
have been there before, and other objects may use it.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-11 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy.exc import DBAPIError

from complaints.errors import ConfigurationError

revision: str = '0020'
down_revision: str | Sequence[str] | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The SQLSTATE of insufficient_privilege.
_NOT_ALLOWED = "42501"


def _config_function(english: str, simple: str) -> str:
    return f"""CREATE OR REPLACE FUNCTION complaint_search_config(language text) RETURNS regconfig AS $$
        SELECT CASE WHEN lower(language) = 'en' THEN '{english}'::regconfig ELSE '{simple}'::regconfig END
    $$ LANGUAGE sql IMMUTABLE"""


#: Every stored text again, in the configuration of its complaint's language.
_REINDEX = """UPDATE complaint_search s
    SET config = complaint_search_config(c.language), tsv = to_tsvector(complaint_search_config(c.language), s.body)
    FROM complaint c WHERE c.id = s.complaint_id"""


def _create_unaccent() -> None:
    try:
        op.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != _NOT_ALLOWED:
            raise
        database = op.get_bind().engine.url.database
        raise ConfigurationError(
            f"Search needs PostgreSQL's unaccent extension, and this role may not create it: run "
            f"`CREATE EXTENSION unaccent` in database {database} as a superuser, then upgrade again") from exc


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _create_unaccent()
    for name, source, last in (("complaint_english", "english", "english_stem"),
                               ("complaint_simple", "simple", "simple")):
        op.execute(f"CREATE TEXT SEARCH CONFIGURATION {name} (COPY = {source})")
        # only words with letters beyond ASCII can carry an accent
        op.execute(f"ALTER TEXT SEARCH CONFIGURATION {name} ALTER MAPPING FOR hword, hword_part, word "
                   f"WITH unaccent, {last}")
    op.execute(_config_function("complaint_english", "complaint_simple"))
    op.execute(_REINDEX)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_config_function("english", "simple"))
    # before the configurations go: a regconfig column holds their oid, not a dependency
    op.execute(_REINDEX)
    op.execute("DROP TEXT SEARCH CONFIGURATION complaint_english")
    op.execute("DROP TEXT SEARCH CONFIGURATION complaint_simple")
