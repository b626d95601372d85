"""Prefect flows of the case domain: the daily metrics snapshot and the inbox import.

Thin wrappers: each task opens the application from the environment (``COMPLAINTS_*``),
calls one service, and returns its summary. A run handles a batch (one day's metrics, the
files waiting in the inbox); tasks are per batch or per file, never per complaint.
"""

from __future__ import annotations

from complaints.ops import quiet_prefect_env

quiet_prefect_env()  # before Prefect reads its settings on import

from datetime import datetime  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from prefect import flow, get_run_logger, task  # noqa: E402

from complaints import inbox, metrics  # noqa: E402
from complaints.ops import flow_app, summarise  # noqa: E402
from complaints.settings import load_settings  # noqa: E402

#: Retries for tasks: the services are idempotent (claimed timers, upserts, external ids),
#: so repeating a task after a crash finishes the work without doing any of it twice.
TASK_RETRIES, TASK_RETRY_DELAYS = 2, [1.0, 10.0]
FLOW_RETRIES, FLOW_RETRY_DELAY = 1, 30


@task(retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS)
def take_metrics_snapshot(now: datetime | None = None) -> dict[str, Any]:
    with flow_app(now) as app:
        return metrics.take_snapshot(app, now)


@flow(name="metrics-snapshot", retries=FLOW_RETRIES, retry_delay_seconds=FLOW_RETRY_DELAY)
def metrics_snapshot(now: datetime | None = None) -> dict[str, Any]:
    """Store today's counts by state/tier/queue, SLA breaches and median time to resolve."""
    snapshot = take_metrics_snapshot(now)
    get_run_logger().info("snapshot %s: %s open", snapshot["period"], snapshot["open_total"])
    return snapshot


@task(retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS, task_run_name="import {path.name}")
def import_one_file(path: Path, now: datetime | None = None) -> dict[str, Any]:
    if not path.exists():  # an overlapping run already took it
        return {"file": path.name, "moved_to": "", "created": 0, "duplicates": 0, "errors": []}
    with flow_app(now) as app:
        return summarise(inbox.import_file(app, path, inbox.IMPORT_ACTOR))


@flow(name="import-folder", retries=FLOW_RETRIES, retry_delay_seconds=FLOW_RETRY_DELAY)
def import_folder(folder: str | None = None, max_files: int = 20, now: datetime | None = None) -> dict[str, Any]:
    """Import the files waiting in the inbox (default COMPLAINTS_IMPORT_DIR), one task per file."""
    where = Path(folder) if folder else load_settings().inbox
    files = [import_one_file(path, now) for path in inbox.pending_files(where)[:max_files]]
    created = sum(f["created"] for f in files)
    get_run_logger().info("%s file(s) imported from %s, %s complaint(s) created", len(files), where, created)
    return {"folder": str(where), "files": files, "created": created,
            "failed": [f["file"] for f in files if f["errors"]]}
