"""Tables of the escalation package: SLA/regulatory/commitment clocks and their ledger.

Due times live in the shared ``timer`` table (kinds ``sla_warning``, ``sla_breach``,
``regulatory``, ``commitment``) so one index serves every sweep and ``complaints list``.
A clock row holds what the next deadline is computed from; the ledger holds why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from complaints.types import JSONType, UTCDateTime


def _utc(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


class SlaClock(SQLModel, table=True):
    """One clock of one complaint. Business time used before ``running_since`` is ``consumed``."""

    __tablename__ = "sla_clock"
    __table_args__ = (UniqueConstraint("complaint_id", "name", name="uq_sla_clock_complaint_name"),)

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id")  # the unique (complaint_id, name) indexes it
    name: str = Field(max_length=80)
    kind: str = Field(max_length=20)  # sla | regulatory | commitment
    status: str = Field(max_length=10)  # running | paused | stopped
    run: int = 1  # a restart (after a breach-escalation, or restart_on) begins a new run
    started_at: datetime = _utc()
    running_since: datetime | None = _utc(default=None)
    consumed: float = 0.0  # business seconds used before running_since
    target: str | None = Field(default=None, max_length=40)
    calendar: str | None = Field(default=None, max_length=40)
    tier: str | None = Field(default=None, max_length=40)
    severity: str | None = Field(default=None, max_length=10)
    due_at: datetime | None = _utc(default=None)
    warn_at: datetime | None = _utc(default=None)
    warned_at: datetime | None = _utc(default=None)
    breached_at: datetime | None = _utc(default=None)
    stopped_at: datetime | None = _utc(default=None)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    updated_at: datetime = _utc()


class SlaLedgerEntry(SQLModel, table=True):
    """Append-only: every start, pause, resume, retarget, warning, breach, letter and stop."""

    __tablename__ = "sla_ledger"
    __table_args__ = (
        Index("ix_sla_ledger_complaint", "complaint_id", "id"),
        # the breaches alone, for the indicators (escalation/indicators/facts.py)
        Index("ix_sla_ledger_breach", "complaint_id", "clock", "at",
              sqlite_where=text("entry = 'breach'"), postgresql_where=text("entry = 'breach'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id")
    clock: str = Field(max_length=80)
    entry: str = Field(max_length=20)
    at: datetime = _utc()
    actor: str = Field(max_length=100)
    reason: str = Field(default="", max_length=500)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))


TABLES = (SlaClock, SlaLedgerEntry)
