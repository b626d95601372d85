"""root-cause notices delivery: each notice's due time and Message-ID

``rc_notice`` rows are now sent by the delivery run (``root_cause.notice_delivery``) like
letters: a temporary failure makes a notice due again later (``next_attempt_at``; None is
due at once, as every notice queued before this revision is) and each keeps its Message-ID
across attempts.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-09 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | Sequence[str] | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('rc_notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('message_id', sa.String(length=250), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('rc_notice', schema=None) as batch_op:
        batch_op.drop_column('message_id')
        batch_op.drop_column('next_attempt_at')
