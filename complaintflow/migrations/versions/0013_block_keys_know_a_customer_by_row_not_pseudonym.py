"""rebuild the root-cause blocking keys: a customer is known by their row, not their pseudonym

A customer's block key was a hash of their pseudonym, itself a keyed hash of their email:
with the key, an erased customer's complaints could be found again through it. Keys now name
the customer's row (``root_cause.repository.customer_token``); the stored keys are derived
data, so they are computed again for every complaint.

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-04 22:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from root_cause.blocking import LinkRecord, all_keys
from root_cause.repository import customer_token

revision: str = '0013'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COMPLAINTS = sa.table("complaint", sa.column("id"), sa.column("description"), sa.column("product"),
                       sa.column("company"), sa.column("category"), sa.column("customer_id"), sa.column("language"))
_KEYS = sa.table("rc_block_key", sa.column("key"), sa.column("complaint_id"))


def upgrade(batch: int = 2000) -> None:
    conn = op.get_bind()
    conn.execute(_KEYS.delete())
    after = 0
    while True:
        rows = conn.execute(sa.select(_COMPLAINTS).where(_COMPLAINTS.c.id > after)
                            .order_by(_COMPLAINTS.c.id).limit(batch)).all()
        if not rows:
            return
        keys = {(key, row.id) for row in rows for key in all_keys(LinkRecord(
            row.id, row.description or "", row.product, row.company, row.category, customer_token(row.customer_id),
            row.language or "en"))}
        if keys:
            conn.execute(_KEYS.insert(), [{"key": key, "complaint_id": cid} for key, cid in sorted(keys)])
        after = rows[-1].id


def downgrade() -> None:
    """The keys stay as they are: linking only needs a customer's keys to agree with each other."""
