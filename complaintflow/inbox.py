"""Batch import of complaint files dropped in a folder (the inbox).

Each CSV/JSON file is read by the importers and stored by the intake service, then moved to
``processed/`` (every row stored or already known) or ``failed/`` (unreadable file or bad
rows; the good rows are kept, as ``complaints import`` does), with ``<file>.report.json``
beside it. Rerunning is safe: intake is idempotent on the external id, and a row that has
none gets one derived from the file name, row number and content, so a run that crashed
half-way stores on its rerun exactly the rows it had not stored yet.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from complaintflow.bootstrap import App
from complaints.errors import ComplaintflowError
from complaints.importers import Rows, read_file
from complaints.schemas import ComplaintIn
from complaints.steps import Actor

SUPPORTED = (".csv", ".json", ".jsonl", ".ndjson")
PROCESSED, FAILED = "processed", "failed"
IMPORT_ACTOR = Actor.system("import")


@dataclass
class FileOutcome:
    file: str
    moved_to: str
    created: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class InboxReport:
    folder: str
    files: list[FileOutcome] = field(default_factory=list)

    @property
    def created(self) -> int:
        return sum(f.created for f in self.files)


def pending_files(folder: Path) -> list[Path]:
    """Files waiting in the inbox, oldest name first; hidden files (uploads in progress) wait."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def import_inbox(app: App, folder: Path, actor: Actor = IMPORT_ACTOR) -> InboxReport:
    """Import every file waiting in ``folder``; one file's failure never stops the others."""
    report = InboxReport(str(folder))
    for path in pending_files(folder):
        report.files.append(import_file(app, path, actor))
    return report


def import_file(app: App, path: Path, actor: Actor) -> FileOutcome:
    """Store one file's complaints, then move it with its report to processed/ or failed/."""
    outcome = FileOutcome(file=path.name, moved_to="")
    if path.suffix.lower() not in SUPPORTED:
        outcome.errors.append(f"unsupported file type {path.suffix or '(none)'!r}; use {', '.join(SUPPORTED)}")
    else:
        try:
            result = app.intake.take_in(_with_row_ids(path, read_file(path)), actor)
        except ComplaintflowError as exc:  # the file as a whole is unreadable (header, JSON)
            outcome.errors.append(str(exc))
        else:
            outcome.created, outcome.duplicates = len(result.created), len(result.duplicates)
            outcome.errors += [why if why.startswith("row") else f"row {row}: {why}" for row, why in result.errors]
    target = path.parent / (FAILED if outcome.errors else PROCESSED)
    outcome.moved_to = str(_move_with_report(path, target, outcome, app.clock.now().strftime("%Y%m%dT%H%M%S")))
    return outcome


def _with_row_ids(path: Path, rows: Rows) -> Iterator[tuple[int, ComplaintIn | ComplaintflowError]]:
    """Give rows without an external id a stable one, so a rerun recognises them."""
    for number, item in rows:
        if isinstance(item, ComplaintIn) and item.external_id is None:
            content = json.dumps([path.name, number, item.model_dump(mode="json")], sort_keys=True)
            item = item.model_copy(update={"external_id": "file:" + hashlib.sha256(content.encode()).hexdigest()[:32]})
        yield number, item


def _move_with_report(path: Path, target: Path, outcome: FileOutcome, stamp: str) -> Path:
    """Move ``path`` into ``target`` (never overwriting an earlier file of the same name)."""
    target.mkdir(parents=True, exist_ok=True)
    dest = target / path.name
    if dest.exists():
        dest = target / f"{path.stem}.{stamp}{path.suffix}"
    report = dest.with_name(dest.name + ".report.json")
    report.write_text(json.dumps(asdict(outcome) | {"moved_to": str(dest)}, indent=2), encoding="utf-8")
    try:
        path.replace(dest)
    except FileNotFoundError:  # an overlapping run got there first; its report stands
        report.unlink(missing_ok=True)
        return target / path.name
    return dest
