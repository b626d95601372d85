"""The inbox flow: import the files dropped in the import folder, one task per file."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, task

from complaintflow import inbox
from complaintflow.flows import FLOW_RETRIES, FLOW_RETRY_DELAY, TASK_RETRIES, TASK_RETRY_DELAYS, log_outcome
from complaintflow.ops import flow_app, summarise
from complaintflow.settings import load_settings


@task(retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS, task_run_name="import {path.name}")
def import_one_file(path: Path, now: datetime | None = None) -> dict[str, Any]:
    if not os.path.lexists(path):  # an overlapping run already took it
        return {"file": path.name, "moved_to": "", "created": 0, "duplicates": 0, "errors": []}
    with flow_app(now) as app:
        return summarise(inbox.import_file(app, path, inbox.IMPORT_ACTOR))


@flow(name="import-folder", retries=FLOW_RETRIES, retry_delay_seconds=FLOW_RETRY_DELAY)
def import_folder(folder: str | None = None, max_files: int = 20, now: datetime | None = None) -> dict[str, Any]:
    """Import the files waiting in the inbox (default COMPLAINTS_IMPORT_DIR), one task per file."""
    settings = load_settings()
    where = Path(folder) if folder else settings.inbox
    waiting = inbox.leftover_files(where) + inbox.pending_files(where, settings.import_settle_seconds)
    files = [import_one_file(path, now) for path in waiting[:max_files]]
    created, failed = sum(f["created"] for f in files), [f["file"] for f in files if f["errors"]]
    why = f": {', '.join(failed)} (failed/<file>.report.json says why)" if failed else ""
    log_outcome("%s file(s) imported from %s, %s complaint(s) created, %s failed%s", len(files), where.resolve(),
                created, len(failed), why, failed=len(failed))
    return {"folder": str(where), "files": files, "created": created, "failed": failed}
