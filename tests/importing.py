"""Helpers the import tests share: files written as bytes, read and stored, and what was stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from complaintflow.bootstrap import App
from complaints.errors import ImportRowError
from complaints.importers import ImportOptions, read_file
from complaints.repository import complaint_t, event_t
from complaints.schemas import ComplaintIn
from complaints.steps import Actor
from workflows.intake import IntakeReport

IMPORT_FILES = Path(__file__).parent / "import_files"


def write(path: Path, data: str | bytes, encoding: str = "utf-8") -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def read(path: Path, **options: Any) -> list[tuple[int, ComplaintIn | ImportRowError]]:
    return list(read_file(path, options=ImportOptions(**options)))


def refused(rows: list[tuple[int, ComplaintIn | ImportRowError]]) -> list[tuple[int, str]]:
    return [(row, str(item)) for row, item in rows if isinstance(item, ImportRowError)]


def good(rows: list[tuple[int, ComplaintIn | ImportRowError]]) -> list[ComplaintIn]:
    return [item for _, item in rows if isinstance(item, ComplaintIn)]


def store(app: App, path: Path, actor: Actor, historical: bool = False, **options: Any) -> IntakeReport:
    rows = read_file(path, options=ImportOptions(**options))
    return app.intake.take_in(rows, actor, historical=historical or rows.historical)


def stored(app: App) -> list[dict[str, Any]]:
    """Every stored complaint's columns and what its 'receive' event recorded, by external id."""
    with app.db.read() as conn:
        rows = conn.execute(
            select(complaint_t, event_t.c.payload)
            .join(event_t, (event_t.c.complaint_id == complaint_t.c.id) & (event_t.c.action == "receive"))
            .order_by(complaint_t.c.external_id)
        ).mappings().all()
    return [dict(row) for row in rows]
