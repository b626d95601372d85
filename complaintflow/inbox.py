"""Batch import of complaint files dropped in a folder (the inbox), trusting nothing about them.

A file is taken once it is complete: its name does not start with a dot (upload as
``.name.csv``, then rename: the convention any uploader can keep) and it has not changed for
the settle interval. Only regular files inside the folder are read: a symbolic link, a device
or a pipe is moved to ``failed/`` unread. A file is claimed by moving it into ``.working/``
(atomic: two runs never take the same file), read there, and moved with its report to
``processed/`` (every row stored or already known) or ``failed/`` (unreadable, or bad rows:
the good ones are kept, as ``complaints import`` does). Each file on its own: one that fails
for any reason of its own never stops the others. A database that fails leaves the file in
``.working/`` for the next run, which resumes it: intake is idempotent on the external id, and
a row without one gets an id from its content. Reports name rows and fields and quote a cell
only as a short excerpt, personal data masked.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from complaintflow.bootstrap import App
from complaints import pii
from complaints.errors import ComplaintflowError
from complaints.importers import read_file
from complaints.safe_text import json_text, visible
from complaints.steps import Actor

SUPPORTED = (".csv", ".json", ".jsonl", ".ndjson", ".xlsx")
PROCESSED, FAILED, WORKING = "processed", "failed", ".working"
IMPORT_ACTOR = Actor.system("import")
#: Longest file name most file systems take (bytes); a report's name must fit too.
NAME_MAX = 255
#: A quoted value longer than this is cut in a report.
EXCERPT = 24
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")


@dataclass
class FileOutcome:
    file: str
    moved_to: str
    created: int = 0
    duplicates: int = 0
    errors: list[str] = field(default_factory=list)
    read_as: str = ""


@dataclass
class InboxReport:
    folder: str
    files: list[FileOutcome] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # not settled yet: taken by a later run

    @property
    def created(self) -> int:
        return sum(f.created for f in self.files)


def pending_files(folder: Path, settle: float = 0.0) -> list[Path]:
    """Entries waiting in the inbox, oldest name first, that a run may take now: settled
    regular files, and anything that is not a regular file (to move aside unread); hidden
    names (uploads in progress) and folders wait."""
    return sorted(path for path, ready in _entries(folder, settle) if ready)


def _entries(folder: Path, settle: float) -> Iterator[tuple[Path, bool]]:
    """(entry, ready) for every visible entry that is not a folder."""
    if not folder.is_dir():
        return
    now = time.time()
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.startswith(".") or entry.is_dir(follow_symlinks=False):
                continue
            info = entry.stat(follow_symlinks=False)
            yield Path(entry.path), not stat.S_ISREG(info.st_mode) or now - info.st_mtime >= settle


def import_inbox(app: App, folder: Path, actor: Actor = IMPORT_ACTOR, settle: float | None = None) -> InboxReport:
    """Import every complete file in ``folder`` (and any a crashed run left in ``.working/``)."""
    settle = app.settings.import_settle_seconds if settle is None else settle
    report = InboxReport(str(folder))
    working = folder / WORKING
    for path in leftover_files(folder):  # a run that stopped half-way: resume its file
        report.files.append(import_claimed(app, path, folder, actor))
    for path, ready in sorted(_entries(folder, settle)):
        if not ready:
            report.waiting.append(path.name)
            continue
        claimed = claim(path, working)
        if claimed is not None:
            report.files.append(import_claimed(app, claimed, folder, actor))
    return report


def leftover_files(folder: Path) -> list[Path]:
    """Files a run claimed and did not finish (it stopped, or the database failed)."""
    working = folder / WORKING
    return sorted(p for p in working.iterdir() if not p.is_dir()) if working.is_dir() else []


def import_file(app: App, path: Path, actor: Actor = IMPORT_ACTOR) -> FileOutcome:
    """Claim and import one file of the inbox it is in (a file another run took is skipped),
    or resume a leftover one (``leftover_files``)."""
    if path.parent.name == WORKING:
        return import_claimed(app, path, path.parent.parent, actor)
    claimed = claim(path, path.parent / WORKING)
    if claimed is None:
        return FileOutcome(file=path.name, moved_to="")
    return import_claimed(app, claimed, path.parent, actor)


def claim(path: Path, working: Path) -> Path | None:
    """``path`` moved into ``working`` (None if another run took it first)."""
    working.mkdir(exist_ok=True)
    target = working / path.name
    try:
        path.rename(target)
    except FileNotFoundError:
        return None
    return target


def import_claimed(app: App, path: Path, folder: Path, actor: Actor) -> FileOutcome:
    """Store one claimed file's complaints, then move it with its report to processed/ or
    failed/. A failure of the file is its outcome; a failure of the database is raised, the
    file left claimed for the next run."""
    outcome = FileOutcome(file=path.name, moved_to="")
    try:
        _read_into(app, path, actor, outcome)
    except (DBAPIError, ConnectionError):
        raise  # not the file's fault: the next run resumes it
    except Exception as exc:  # noqa: BLE001 - whatever is wrong with this file stays with this file
        outcome.errors.append(_excerpted(f"{type(exc).__name__}: {exc}" if not isinstance(exc, ComplaintflowError)
                                         else str(exc)))
    target = folder / (FAILED if outcome.errors else PROCESSED)
    outcome.moved_to = str(_move_with_report(path, target, outcome, app.clock.now().strftime("%Y%m%dT%H%M%S")))
    return outcome


def _read_into(app: App, path: Path, actor: Actor, outcome: FileOutcome) -> None:
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode):
        kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "a device, pipe or socket"
        outcome.errors.append(f"not a regular file ({kind}): not read")
        return
    if path.suffix.lower() not in SUPPORTED:
        outcome.errors.append(f"unsupported file type {path.suffix or '(none)'!r}; use {', '.join(SUPPORTED)}")
        return
    rows = read_file(path)
    result = app.intake.take_in(rows, actor, historical=rows.historical)
    outcome.read_as = rows.described()  # after the rows: how each date column was read is known only then
    outcome.created, outcome.duplicates = len(result.created), len(result.duplicates)
    outcome.errors += [_excerpted(why if why.startswith("row") else f"row {row}: {why}") for row, why in result.errors]


def _excerpted(message: str) -> str:
    """A report line: quoted values cut to a short excerpt, personal data masked, shown safely."""
    def cut(match: re.Match[str]) -> str:
        value = match.group(1) if match.group(1) is not None else match.group(2) or ""
        short = value if len(value) <= EXCERPT else value[:EXCERPT] + "…"
        return repr(pii.mask(short))
    return visible(_QUOTED.sub(cut, message))


def _move_with_report(path: Path, target: Path, outcome: FileOutcome, stamp: str) -> Path:
    """Move ``path`` into ``target`` (never overwriting an earlier file of the same name) with
    ``<name>.report.json`` beside it, or a report named by a hash of a name too long for that."""
    target.mkdir(parents=True, exist_ok=True)
    dest = target / path.name
    again = 0
    while os.path.lexists(dest):
        again += 1
        dest = target / _fitting(f"{path.stem}.{stamp}{'' if again == 1 else f'-{again}'}{path.suffix}", path.suffix)
    report = dest.with_name(_fitting(dest.name + ".report.json", ".report.json"))
    report.write_text(json_text(asdict(outcome) | {"moved_to": str(dest)}, indent=2), encoding="utf-8")
    path.rename(dest)
    return dest


def _fitting(name: str, suffix: str) -> str:
    """``name``, or a short one made of its hash when it is too long for the file system."""
    if len(name.encode()) <= NAME_MAX:
        return name
    return hashlib.sha256(name.encode()).hexdigest()[:32] + suffix
