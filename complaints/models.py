"""The case database: customers, complaints, the audit event log, timers and the outbox.

SQLModel classes define the schema and the typed read models. The hot write paths
(advance, intake, sweep) use SQLAlchemy Core on ``Model.__table__`` for speed; see
``complaints/repository.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from complaints.types import JSONType, UTCDateTime


def _utc(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


class Customer(SQLModel, table=True):
    """A person who complained. Personal data lives only here, so erasure is one row."""

    id: int | None = Field(default=None, primary_key=True)
    pseudonym: str = Field(max_length=32, unique=True, index=True)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320, index=True)
    phone: str | None = Field(default=None, max_length=40)
    created_at: datetime = _utc()
    erased_at: datetime | None = _utc(default=None)


class ReferenceCounter(SQLModel, table=True):
    """Next number for human references (``C-2026-000123``), one row per year."""

    __tablename__ = "reference_counter"
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    next_number: int = 1


class Complaint(SQLModel, table=True):
    """One case. ``state``/``tier``/``queue``/``data``/``version`` are a fold of its events."""

    __table_args__ = (Index("ix_complaint_state_tier", "state", "tier"),)

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=20, unique=True, index=True)
    external_id: str | None = Field(default=None, max_length=100, unique=True)
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    channel: str = Field(max_length=20)
    product: str = Field(max_length=200, index=True)
    sub_product: str | None = Field(default=None, max_length=200)
    company: str | None = Field(default=None, max_length=200)
    category: str | None = Field(default=None, max_length=300)
    sub_category: str | None = Field(default=None, max_length=300)
    description: str = Field(default="", sa_type=Text)
    severity: str = Field(default="medium", max_length=10)
    language: str = Field(default="en", max_length=8)
    region: str | None = Field(default=None, max_length=20)
    state: str = Field(max_length=40)  # indexed by ix_complaint_state_tier, which starts with it
    tier: str = Field(max_length=40)
    queue: str = Field(max_length=60, index=True)
    assignee: str | None = Field(default=None, max_length=100)
    workflow_name: str = Field(max_length=60)
    workflow_version: int
    version: int = 0
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    received_at: datetime = _utc()
    created_at: datetime = _utc()
    updated_at: datetime = _utc()


class ComplaintEvent(SQLModel, table=True):
    """Append-only audit log. Replaying a complaint's events rebuilds its state, tier, queue
    and data exactly; ``seq`` equals the complaint version the event produced."""

    __tablename__ = "complaint_event"
    __table_args__ = (
        UniqueConstraint("complaint_id", "seq", name="uq_event_complaint_seq"),
        # Customers' messages are few among the events: finding the unread ones reads only them.
        Index("ix_event_customer_message", "complaint_id",
              sqlite_where=text("action = 'customer_message'"), postgresql_where=text("action = 'customer_message'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id")  # indexed by uq_event_complaint_seq, which starts with it
    seq: int
    actor: str = Field(max_length=100)
    role: str = Field(max_length=40)
    action: str = Field(max_length=60)
    from_state: str | None = Field(default=None, max_length=40)
    to_state: str = Field(max_length=40)
    tier: str = Field(max_length=40)
    queue: str = Field(max_length=60)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    at: datetime = _utc(index=True)
    origin: str | None = Field(default=None, max_length=20)  # cli, api, web, system; none before it was kept
    content_hash: str = Field(max_length=64)  # complaints.audit: the hash chain
    chain_hash: str = Field(max_length=64)


class Timer(SQLModel, table=True):
    """A durable timer: a row with a due time, fired by a sweep, never an in-process timer.

    ``status`` is pending, fired, failed (its action was refused; ``result`` says why) or
    cancelled. The partial index on pending ``due_at`` keeps the sweep's cost proportional to
    what is due, not to what is open; the one on failed timers keeps finding them cheap."""

    __table_args__ = (
        Index(
            "ix_timer_pending_due",
            "due_at",
            "complaint_id",  # the queue's order: equal due times (one import's) are not sorted
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_timer_complaint_status", "complaint_id", "status"),
        Index(
            "ix_timer_failed",
            "complaint_id",
            sqlite_where=text("status = 'failed'"),
            postgresql_where=text("status = 'failed'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id")
    kind: str = Field(max_length=40)  # "workflow" for state timers; other packages add kinds
    name: str = Field(max_length=80)
    action: str | None = Field(default=None, max_length=60)
    state: str | None = Field(default=None, max_length=40)  # the state that set it
    due_at: datetime = _utc()  # indexed where pending only (ix_timer_pending_due): every due query asks for those
    status: str = Field(default="pending", max_length=10)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    created_at: datetime = _utc()
    fired_at: datetime | None = _utc(default=None)
    cancelled_at: datetime | None = _utc(default=None)
    result: str | None = Field(default=None, max_length=300)


class Notification(SQLModel, table=True):
    """Outbox: letters queued in the same transaction as the event that caused them, and sent
    from here (``complaints.delivery``).

    ``status``: queued (due from ``next_attempt_at``), held (waits for a handler's review),
    sending (claimed by a sender until ``next_attempt_at``: found so later, its sender died and
    it is sent again with the same ``message_id``), sent, failed (refused for good, or out of
    attempts: the case needs attention), cancelled. ``recipient`` is the address it went to,
    read from the customer row when it was sent. The partial index keeps finding what is due
    proportional to what is due."""

    __table_args__ = (
        Index(
            "ix_notification_due",
            "next_attempt_at",
            sqlite_where=text("status IN ('queued', 'sending')"),
            postgresql_where=text("status IN ('queued', 'sending')"),
        ),
        Index("ix_notification_message_id", "message_id", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    complaint_id: int = Field(foreign_key="complaint.id", index=True)
    event_seq: int
    template: str = Field(max_length=80)
    language: str = Field(max_length=8)
    channel: str = Field(max_length=20)
    subject: str | None = Field(default=None, max_length=300)
    body: str = Field(sa_type=Text)
    status: str = Field(default="queued", max_length=10, index=True)
    attempts: int = 0
    next_attempt_at: datetime | None = _utc(default=None)  # indexed while queued or sending (ix_notification_due)
    message_id: str | None = Field(default=None, max_length=250)  # unique (ix_notification_message_id)
    recipient: str | None = Field(default=None, max_length=320)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _utc()
    sent_at: datetime | None = _utc(default=None)


class MetricsSnapshot(SQLModel, table=True):
    """The numbers of one day (UTC), taken by the daily metrics flow; a rerun the same day
    replaces that day's row rather than adding one."""

    __tablename__ = "metrics_snapshot"

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=10, unique=True)  # the UTC date, "2026-11-23"
    taken_at: datetime = _utc()
    open_total: int = 0
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))


class AuditUnlock(SQLModel, table=True):
    """While a row is here, the audit events may be changed: erasure inserts one in its own
    transaction, masks the events, and deletes it before it commits. Triggers refuse every
    other UPDATE or DELETE of ``complaint_event`` (the row is seen only inside its transaction)."""

    __tablename__ = "audit_unlock"

    id: int | None = Field(default=None, primary_key=True)
    reason: str = Field(max_length=200)


TABLES = (Customer, ReferenceCounter, Complaint, ComplaintEvent, Timer, Notification, MetricsSnapshot, AuditUnlock)
