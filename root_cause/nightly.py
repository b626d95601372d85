"""The night's run: linking, recurrence analysis and CAPA verification, in that order."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from complaints.db import Database
from root_cause.analysis import analyse_recurrence
from root_cause.capa_service import verify_capas
from root_cause.services import run_linking
from root_cause.taxonomy import Taxonomy


def nightly(db: Database, taxonomy: Taxonomy, now: datetime) -> dict[str, Any]:
    """Link every complaint, then look for recurrence in the links just made, then check the
    CAPAs against the complaints of their root causes."""
    linking = run_linking(db, now)
    alerts = analyse_recurrence(db, now)
    checks = verify_capas(db, taxonomy, now)
    return {"linking": asdict(linking), "alerts": alerts, "capas": checks}
