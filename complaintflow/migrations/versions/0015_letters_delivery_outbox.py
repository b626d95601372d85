"""letters delivery: the outbox's subject, attempts, due time, message id, recipient, error

``notification`` becomes an outbox that is sent from (``complaints.delivery``), and the
customers' messages among the events get an index of their own (only an index: the table
and its append-only triggers stay as they are). Letters still
queued from before any could be sent are held for review rather than sent late: they may
quote what the customer should never have read, so a person releases or cancels them
(``complaints outbox``). Every letter gets ``attempts`` 0.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | Sequence[str] | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DUE = "status IN ('queued', 'sending')"
_MESSAGE = "action = 'customer_message'"
_NOTES = sa.table("notification", sa.column("status"), sa.column("attempts"), sa.column("next_attempt_at"),
                  sa.column("created_at"))


def upgrade() -> None:
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('message_id', sa.String(length=250), nullable=True))
        batch_op.add_column(sa.Column('recipient', sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.String(length=500), nullable=True))
    op.execute(_NOTES.update().values(attempts=0))
    op.execute(_NOTES.update().where(_NOTES.c.status == "queued")
               .values(status="held", next_attempt_at=_NOTES.c.created_at))
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.alter_column('attempts', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index('ix_notification_due', ['next_attempt_at'], unique=False,
                              sqlite_where=sa.text(_DUE), postgresql_where=sa.text(_DUE))
        batch_op.create_index('ix_notification_message_id', ['message_id'], unique=True)
    op.create_index('ix_event_customer_message', 'complaint_event', ['complaint_id'], unique=False,
                    sqlite_where=sa.text(_MESSAGE), postgresql_where=sa.text(_MESSAGE))


def downgrade() -> None:
    op.drop_index('ix_event_customer_message', table_name='complaint_event')
    op.execute(_NOTES.update().where(_NOTES.c.status.in_(["held", "sending", "failed"])).values(status="queued"))
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_message_id')
        batch_op.drop_index('ix_notification_due', sqlite_where=sa.text(_DUE), postgresql_where=sa.text(_DUE))
        batch_op.drop_column('last_error')
        batch_op.drop_column('recipient')
        batch_op.drop_column('message_id')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
        batch_op.drop_column('subject')
