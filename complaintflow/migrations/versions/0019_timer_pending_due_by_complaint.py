"""pending timers indexed by due time, then complaint

The work queue reads pending timers in (due time, complaint) order until a page is full.
With the index on the due time alone the database sorted every run of equal due times
(an import of 100,000 complaints gives them all one acknowledgement deadline) before
returning the first row; with the complaint as the index's second column it reads the
first rows in order at once. The sweep's range on the due time uses it as before.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-10 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | Sequence[str] | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_index('ix_timer_pending_due', sqlite_where=PENDING, postgresql_where=PENDING)
        batch_op.create_index('ix_timer_pending_due', ['due_at', 'complaint_id'], unique=False,
                              sqlite_where=PENDING, postgresql_where=PENDING)


def downgrade() -> None:
    with op.batch_alter_table('timer', schema=None) as batch_op:
        batch_op.drop_index('ix_timer_pending_due', sqlite_where=PENDING, postgresql_where=PENDING)
        batch_op.create_index('ix_timer_pending_due', ['due_at'], unique=False,
                              sqlite_where=PENDING, postgresql_where=PENDING)
