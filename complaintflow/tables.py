"""Every package's tables on one SQLModel metadata: what migrations and tests create and compare."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlmodel import SQLModel

import complaintflow.users.models  # noqa: F401  (each import registers its package's tables)
import complaints.models  # noqa: F401
import escalation.models  # noqa: F401
import root_cause.models  # noqa: F401
import workflows.models  # noqa: F401


def metadata() -> MetaData:
    return SQLModel.metadata
