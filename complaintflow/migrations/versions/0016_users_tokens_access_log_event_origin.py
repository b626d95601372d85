"""users, API tokens, the access log, and the origin of each event

``app_user`` (name, display name, roles, active, argon2 password hash) and ``api_token``
(stored as its SHA-256, revocable) are who may use the HTTP API; ``access_event`` is the
hash-chained, append-only log of sign-ins, refusals and changes to users and tokens.
``complaint_event`` gets ``origin`` (cli, api, web, system): left empty on the events stored
before, whose content hashes do not include it (``complaints.audit``), so they still verify.
The column is added in place (no batch rebuild), so the events' append-only triggers stay.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 22:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0016'
down_revision: str | Sequence[str] | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
REFUSED = "access_event is append-only: its rows are never changed or deleted"


def upgrade() -> None:
    op.create_table('app_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('roles', _JSON, nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('disabled_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name', name='uq_app_user_name')
    )
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash', name='uq_api_token_hash')
    )
    op.create_index('ix_api_token_user_id', 'api_token', ['user_id'], unique=False)
    op.create_table('access_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('origin', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=True),
    sa.Column('subject', sa.String(length=100), nullable=True),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('details', _JSON, nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('chain_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('seq', name='uq_access_event_seq')
    )
    op.create_index('ix_access_event_at', 'access_event', ['at'], unique=False)
    op.add_column('complaint_event', sa.Column('origin', sa.String(length=20), nullable=True))
    _create_triggers()


def _create_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION access_event_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{REFUSED}';
            END $$ LANGUAGE plpgsql""")
        op.execute("""CREATE TRIGGER access_event_append_only BEFORE UPDATE OR DELETE ON access_event
                      FOR EACH ROW EXECUTE FUNCTION access_event_append_only()""")
        return
    for what in ("UPDATE", "DELETE"):
        op.execute(f"""CREATE TRIGGER access_event_no_{what.lower()} BEFORE {what} ON access_event
                       BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END""")


def downgrade() -> None:
    # dropped in place on both databases (SQLite 3.35+), so the events' triggers stay
    op.execute("ALTER TABLE complaint_event DROP COLUMN origin")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER access_event_append_only ON access_event")
        op.execute("DROP FUNCTION access_event_append_only()")
    op.drop_index('ix_access_event_at', table_name='access_event')
    op.drop_table('access_event')
    op.drop_index('ix_api_token_user_id', table_name='api_token')
    op.drop_table('api_token')
    op.drop_table('app_user')
