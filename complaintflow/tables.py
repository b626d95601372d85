"""Every package's tables on one SQLModel metadata: what migrations and tests create and compare."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import MetaData
from sqlmodel import SQLModel

import complaintflow.users.models  # noqa: F401  (each import registers its package's tables)
import complaints.models  # noqa: F401
import escalation.models  # noqa: F401
import root_cause.models  # noqa: F401
import workflows.models  # noqa: F401

#: Tables no model declares, owned by their migration: the full-text index (``complaint_search``,
#: with FTS5's own ``complaint_search_*`` tables on SQLite), which only triggers write.
UNMODELLED = "complaint_search"
#: The migrations that make them (0020: their text search configurations on PostgreSQL):
#: adopting a database made by ``create_all`` runs these alone (``complaintflow.migrations.upgrade``).
UNMODELLED_BY = ("0017", "0020")


def metadata() -> MetaData:
    return SQLModel.metadata


def modelled(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    """Whether Alembic compares ``name`` with the models (its ``include_name`` hook): every
    table but the ``UNMODELLED`` ones, which it could only propose to drop."""
    return not (type_ == "table" and name is not None and name.startswith(UNMODELLED))
