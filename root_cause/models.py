"""Tables of the root-cause package: recorded causes, blocking keys, links, CAPAs, alerts.

Imported by ``complaintflow.tables`` so migrations and tests see them. The
hot paths (linking, candidate search) use SQLAlchemy Core on ``Model.__table__``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from complaints.types import JSONType, UTCDateTime


def _utc(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


def _json() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))


class ComplaintRootCause(SQLModel, table=True):
    """A root cause recorded by a recurrence review, in the transaction of the ``close`` step.

    A reopened and re-closed complaint gets a second row; the newest one is its cause."""

    __tablename__ = "rc_complaint_cause"
    __table_args__ = (
        UniqueConstraint("complaint_id", "event_seq", name="uq_rc_cause_complaint_seq"),
        Index("ix_rc_cause_code_recorded", "code", "recorded_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    event_seq: int
    code: str = Field(max_length=60)
    finding: str = Field(default="", sa_type=Text)
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = _utc()


class BlockKey(SQLModel, table=True):
    """Which blocks a complaint falls in; the primary key is the index candidate search scans
    (``key = ? ORDER BY complaint_id DESC LIMIT cap``)."""

    __tablename__ = "rc_block_key"

    key: str = Field(max_length=20, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", primary_key=True, index=True)


class ComplaintLink(SQLModel, table=True):
    """A typed, explained link from a complaint to an earlier complaint or to a CAPA.

    ``pair_key`` is unique, so a pair is linked once whatever its kind, and a rejected link
    stays in place (status ``rejected``) to stop the linker from creating it again."""

    __tablename__ = "rc_link"
    __table_args__ = (Index("ix_rc_link_status_score", "status", "score"),)

    id: int | None = Field(default=None, primary_key=True)
    pair_key: str = Field(max_length=40, unique=True)
    source_id: int = Field(foreign_key="complaint.id", index=True)
    target_id: int | None = Field(default=None, foreign_key="complaint.id", index=True)
    capa_id: int | None = Field(default=None, foreign_key="capa.id", index=True)
    kind: str = Field(max_length=20)  # duplicate_of | related | same_root_cause | fixed_by
    score: float = 1.0
    evidence: dict[str, Any] = _json()
    origin: str = Field(default="auto", max_length=10)  # auto | manual | review
    status: str = Field(default="suggested", max_length=10)  # suggested | confirmed | rejected
    created_at: datetime = _utc()
    updated_at: datetime = _utc(index=True)
    decided_by: str | None = Field(default=None, max_length=100)
    decided_at: datetime | None = _utc(default=None)
    reason: str | None = Field(default=None, max_length=500)


class Capa(SQLModel, table=True):
    """A corrective or preventive action with an owner, a due date and an effectiveness window."""

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=Text)
    owner: str = Field(max_length=100)
    due_at: datetime = _utc(index=True)
    status: str = Field(default="open", max_length=12, index=True)
    window_days: int = 90
    version: int = 1
    created_by: str = Field(max_length=100)
    created_at: datetime = _utc()
    implemented_at: datetime | None = _utc(default=None)
    closed_at: datetime | None = _utc(default=None)
    last_check: dict[str, Any] = _json()


class CapaCause(SQLModel, table=True):
    """The root-cause codes a CAPA addresses (descendant codes in the taxonomy count too)."""

    __tablename__ = "capa_cause"

    capa_id: int = Field(foreign_key="capa.id", primary_key=True)
    code: str = Field(max_length=60, primary_key=True, index=True)


class CapaEvent(SQLModel, table=True):
    """Audit of every CAPA state change, written in the transaction of the change."""

    __tablename__ = "capa_event"
    __table_args__ = (UniqueConstraint("capa_id", "seq", name="uq_capa_event_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    capa_id: int = Field(foreign_key="capa.id", index=True)
    seq: int
    action: str = Field(max_length=30)
    from_status: str | None = Field(default=None, max_length=12)
    to_status: str = Field(max_length=12)
    actor: str = Field(max_length=100)
    role: str = Field(max_length=40)
    at: datetime = _utc()
    details: dict[str, Any] = _json()


class RecurrenceAlert(SQLModel, table=True):
    """A problem that came back: a cluster or root cause above its baseline, or a CAPA that failed.

    One row per (kind, subject, period), so nightly runs are idempotent. It has an owner and
    a lifecycle (``root_cause.alerts``): open, acknowledged, linked to a CAPA, dismissed with
    a reason, resolved; ``evidence`` is the finding as it was when last raised."""

    __tablename__ = "rc_alert"
    __table_args__ = (UniqueConstraint("kind", "subject", "period", name="uq_rc_alert"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # recurrence | capa_recurred
    subject: str = Field(max_length=120)  # root_cause:SYSTEM.OUTAGE | cluster:C-2026-000001 | capa:3
    period: str = Field(max_length=20)
    strength: float
    p_value: float
    observed: int
    expected: float
    explanation: str = Field(sa_type=Text)
    status: str = Field(default="open", max_length=12, index=True)
    created_at: datetime = _utc()
    owner: str | None = Field(default=None, max_length=100)
    owner_address: str | None = Field(default=None, max_length=254)
    capa_id: int | None = Field(default=None, foreign_key="capa.id")
    reason: str | None = Field(default=None, max_length=500)
    evidence: dict[str, Any] = _json()
    version: int = 1
    updated_at: datetime | None = _utc(default=None)


class AlertEvent(SQLModel, table=True):
    """Audit of every alert change (raised, assigned, acknowledged, linked, dismissed, ...),
    written in the transaction of the change."""

    __tablename__ = "rc_alert_event"
    __table_args__ = (UniqueConstraint("alert_id", "seq", name="uq_rc_alert_event_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="rc_alert.id", index=True)
    seq: int
    action: str = Field(max_length=20)
    from_status: str | None = Field(default=None, max_length=12)
    to_status: str = Field(max_length=12)
    actor: str = Field(max_length=100)
    role: str = Field(max_length=40)
    at: datetime = _utc()
    details: dict[str, Any] = _json()


class RootCauseNotice(SQLModel, table=True):
    """The root-cause outbox: a message to an alert's owner, queued in the transaction that
    gave them reason to read it. Alerts are not complaints, so the case ``notification``
    outbox (tied to a complaint) can't carry them. ``root_cause.notice_delivery`` sends the
    due ones (``queued``, or ``sending`` past their claim) and marks them ``sent``, ``queued``
    again after a temporary failure (due at ``next_attempt_at``) or ``failed``."""

    __tablename__ = "rc_notice"
    __table_args__ = (Index("ix_rc_notice_status_created", "status", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="rc_alert.id", index=True)
    recipient: str = Field(max_length=254)
    subject: str = Field(max_length=200)
    body: str = Field(sa_type=Text)
    status: str = Field(default="queued", max_length=10)
    created_at: datetime = _utc()
    sent_at: datetime | None = _utc(default=None)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    next_attempt_at: datetime | None = _utc(default=None)  # None: due at once
    message_id: str | None = Field(default=None, max_length=250)  # kept across attempts


TABLES = (ComplaintRootCause, BlockKey, ComplaintLink, Capa, CapaCause, CapaEvent, RecurrenceAlert, AlertEvent,
          RootCauseNotice)
