"""The tables of who may sign in: users, their API tokens, and the access log.

``access_event`` is the audit trail of sign-ins, refusals (401, 403) and changes to users
and tokens. It is append-only (triggers, as on ``complaint_event``) and hash-chained
(``complaints.audit``): each row's content hashed, each hash chained to the row before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from complaints.types import JSONType, UTCDateTime


def _utc(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


class AppUser(SQLModel, table=True):
    """A person who signs in: roles are what they may act as, never what a request claims."""

    __tablename__ = "app_user"
    __table_args__ = (UniqueConstraint("name", name="uq_app_user_name"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    display_name: str = Field(max_length=200)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    active: bool = True
    password_hash: str | None = Field(default=None, max_length=200)  # argon2id; none: tokens only
    created_at: datetime = _utc()
    disabled_at: datetime | None = _utc(default=None)


class ApiToken(SQLModel, table=True):
    """A token an integration sends as ``Authorization: Bearer``: only its SHA-256 is stored."""

    __tablename__ = "api_token"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_api_token_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="app_user.id", index=True)
    label: str = Field(max_length=100)
    prefix: str = Field(max_length=16)  # the first characters, to tell tokens apart in a listing
    token_hash: str = Field(max_length=64)
    created_at: datetime = _utc()
    revoked_at: datetime | None = _utc(default=None)


class AccessEvent(SQLModel, table=True):
    """One line of the access log: a refusal, a sign-in, a change to a user or a token."""

    __tablename__ = "access_event"
    __table_args__ = (UniqueConstraint("seq", name="uq_access_event_seq"), Index("ix_access_event_at", "at"))

    id: int | None = Field(default=None, primary_key=True)
    seq: int
    at: datetime = _utc()
    kind: str = Field(max_length=40)  # refused, signed_in, user_added, token_created, ...
    origin: str = Field(max_length=20)  # cli, api, web
    actor: str | None = Field(default=None, max_length=100)  # who acted or was refused (none: unknown)
    subject: str | None = Field(default=None, max_length=100)  # the user acted on
    status: int | None = None  # the HTTP status of a refusal
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    content_hash: str = Field(max_length=64)
    chain_hash: str = Field(max_length=64)
