"""A seal over the whole audit trail: one digest over every complaint's chain head.

Kept somewhere else (a ticket, a signed mail, a printout), a seal gives away a wholesale
rewrite of the log that each chain alone would not: whoever recomputes every hash after an
edit cannot recompute the seal taken before it. A seal names the newest event it covers, so it
can be checked later however many events came after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from complaints import audit
from complaints.db import Database
from complaints.repository import CaseRepository


@dataclass(frozen=True)
class Seal:
    digest: str
    up_to: int  # the newest event id covered
    complaints: int
    taken_at: datetime


def take_seal(db: Database, now: datetime) -> Seal:
    """Seal every event stored so far (on PostgreSQL, after every write under way has committed)."""
    with db.transaction() as conn:
        up_to = CaseRepository(conn).sealed_event_id()
    heads = _heads(db, up_to)
    return Seal(audit.seal(heads), up_to, len(heads), now)


def check_seal(db: Database, digest: str, up_to: int) -> bool:
    """Whether the events up to ``up_to`` still give ``digest``."""
    return audit.seal(_heads(db, up_to)) == digest


def _heads(db: Database, up_to: int) -> list[tuple[str, int, str]]:
    with db.read() as conn:
        return CaseRepository(conn).chain_heads_up_to(up_to)
