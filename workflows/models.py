"""The workflow definitions a database has seen, by name and version, with their fingerprints."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from complaints.types import UTCDateTime


class WorkflowVersion(SQLModel, table=True):
    """A (name, version) once used with this database, and the fingerprint of its definition:
    a version is immutable, so a definition changed under the same version is refused."""

    __tablename__ = "workflow_version"

    name: str = Field(primary_key=True, max_length=60)
    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    fingerprint: str = Field(max_length=64)
    source: str = Field(max_length=500)
    stored_at: datetime = Field(sa_type=UTCDateTime)
