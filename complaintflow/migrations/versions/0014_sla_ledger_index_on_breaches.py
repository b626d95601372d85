"""sla ledger index on breaches

The indicators count the SLA breaches the sweep recorded (a clock restarted after a breach no
longer shows it on its row); breaches are a small part of the ledger, and a partial index
finds them without reading the rest of it.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 21:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | Sequence[str] | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_sla_ledger_breach', 'sla_ledger', ['complaint_id', 'clock', 'at'], unique=False,
                    sqlite_where=sa.text("entry = 'breach'"), postgresql_where=sa.text("entry = 'breach'"))


def downgrade() -> None:
    op.drop_index('ix_sla_ledger_breach', table_name='sla_ledger', sqlite_where=sa.text("entry = 'breach'"),
                  postgresql_where=sa.text("entry = 'breach'"))
