"""alert lifecycle: owner, CAPA link, reason and evidence on rc_alert; alert events; notices

``rc_alert`` gets an owner (and the address their notices go to), a linked CAPA, the reason
of a dismissal, the evidence of the finding, a version for optimistic concurrency and the
time of the last change. ``rc_alert_event`` audits every change of an alert; ``rc_notice``
is root_cause's own outbox of messages to alert owners (alerts are no complaints, so the
case ``notification`` table can't carry them).

Revision ID: 0010
Revises: 0007
Create Date: 2026-12-05 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0010'
down_revision: str | Sequence[str] | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('rc_alert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('owner_address', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('capa_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column('evidence', _JSON, nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(), nullable=True))
        batch_op.create_foreign_key('fk_rc_alert_capa_id_capa', 'capa', ['capa_id'], ['id'])
    with op.batch_alter_table('rc_alert', schema=None) as batch_op:  # defaults served the rows already there
        batch_op.alter_column('evidence', server_default=None)
        batch_op.alter_column('version', server_default=None)

    op.create_table('rc_alert_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_status', sa.String(length=12), nullable=True),
    sa.Column('to_status', sa.String(length=12), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('details', _JSON, nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['rc_alert.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('alert_id', 'seq', name='uq_rc_alert_event_seq')
    )
    with op.batch_alter_table('rc_alert_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rc_alert_event_alert_id'), ['alert_id'], unique=False)

    op.create_table('rc_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['rc_alert.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rc_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rc_notice_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index('ix_rc_notice_status_created', ['status', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rc_notice', schema=None) as batch_op:
        batch_op.drop_index('ix_rc_notice_status_created')
        batch_op.drop_index(batch_op.f('ix_rc_notice_alert_id'))
    op.drop_table('rc_notice')
    with op.batch_alter_table('rc_alert_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rc_alert_event_alert_id'))
    op.drop_table('rc_alert_event')
    with op.batch_alter_table('rc_alert', schema=None) as batch_op:
        batch_op.drop_constraint('fk_rc_alert_capa_id_capa', type_='foreignkey')
        for column in ('updated_at', 'version', 'evidence', 'reason', 'capa_id', 'owner_address', 'owner'):
            batch_op.drop_column(column)
