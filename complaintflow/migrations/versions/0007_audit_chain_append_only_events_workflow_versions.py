"""hash chain on audit events, append-only events, stored workflow versions

``complaint_event`` gets ``content_hash`` and ``chain_hash`` (complaints.audit), filled in
for the events already stored; triggers on both databases refuse UPDATE and DELETE of events
unless ``audit_unlock`` holds a row (erasure's own transaction). ``workflow_version`` keeps
the fingerprint of each (name, version) a database has used. (On SQLite a later migration
that rebuilds ``complaint_event`` in batch mode drops its triggers: it must create them again.)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from complaints.audit import hash_events

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REFUSED = "complaint_event is append-only: events are never changed or deleted (erasure masks them in its own way)"
_EVENTS = sa.table(
    "complaint_event", sa.column("id"), sa.column("complaint_id"), sa.column("seq"), sa.column("actor"),
    sa.column("role"), sa.column("action"), sa.column("from_state"), sa.column("to_state"), sa.column("tier"),
    sa.column("queue"), sa.column("payload", sa.JSON), sa.column("changes", sa.JSON), sa.column("at", sa.DateTime),
    sa.column("content_hash"), sa.column("chain_hash"),
)
_COMPLAINTS = sa.table("complaint", sa.column("id"), sa.column("reference"))


def upgrade() -> None:
    op.create_table(
        'audit_unlock',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'workflow_version',
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('source', sa.String(length=500), nullable=False),
        sa.Column('stored_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name', 'version'),
    )
    with op.batch_alter_table('complaint_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('chain_hash', sa.String(length=64), nullable=True))
    _hash_stored_events()
    with op.batch_alter_table('complaint_event', schema=None) as batch_op:
        batch_op.alter_column('content_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('chain_hash', existing_type=sa.String(length=64), nullable=False)
    _create_triggers()


def _hash_stored_events(batch: int = 2000) -> None:
    """Hash every stored event, a batch of complaints at a time, each complaint's in order."""
    conn = op.get_bind()
    after = 0
    while True:
        complaints = conn.execute(sa.select(_COMPLAINTS.c.id, _COMPLAINTS.c.reference)
                                  .where(_COMPLAINTS.c.id > after).order_by(_COMPLAINTS.c.id).limit(batch)).all()
        if not complaints:
            return
        references: dict[int, str] = {row.id: row.reference for row in complaints}
        rows = conn.execute(sa.select(_EVENTS).where(_EVENTS.c.complaint_id.between(complaints[0].id, complaints[-1].id))
                            .order_by(_EVENTS.c.complaint_id, _EVENTS.c.seq)).mappings().all()
        by_complaint: dict[int, list[dict]] = {}
        for row in rows:
            by_complaint.setdefault(row["complaint_id"], []).append(dict(row))
        updates = []
        for cid, events in by_complaint.items():
            for event, (content, chain) in zip(events, hash_events(references[cid], None, events), strict=True):
                updates.append({"eid": event["id"], "c": content, "h": chain})
        if updates:
            conn.execute(_EVENTS.update().where(_EVENTS.c.id == sa.bindparam("eid"))
                         .values(content_hash=sa.bindparam("c"), chain_hash=sa.bindparam("h")), updates)
        after = complaints[-1].id


def _create_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION complaint_event_append_only() RETURNS trigger AS $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM audit_unlock) THEN
                    RAISE EXCEPTION '{REFUSED}';
                END IF;
                RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
            END $$ LANGUAGE plpgsql""")
        op.execute("""CREATE TRIGGER complaint_event_append_only BEFORE UPDATE OR DELETE ON complaint_event
                      FOR EACH ROW EXECUTE FUNCTION complaint_event_append_only()""")
        return
    for what in ("UPDATE", "DELETE"):
        op.execute(f"""CREATE TRIGGER complaint_event_no_{what.lower()} BEFORE {what} ON complaint_event
                       WHEN NOT EXISTS (SELECT 1 FROM audit_unlock)
                       BEGIN SELECT RAISE(ABORT, '{REFUSED}'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER complaint_event_append_only ON complaint_event")
        op.execute("DROP FUNCTION complaint_event_append_only()")
    else:
        op.execute("DROP TRIGGER complaint_event_no_update")
        op.execute("DROP TRIGGER complaint_event_no_delete")
    with op.batch_alter_table('complaint_event', schema=None) as batch_op:
        batch_op.drop_column('chain_hash')
        batch_op.drop_column('content_hash')
    op.drop_table('workflow_version')
    op.drop_table('audit_unlock')
