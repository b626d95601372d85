"""The letters' flows: send what is due (every minute), read the replies (every minute).

Both are safe to retry and to overlap: a letter is claimed before it is sent (a second sender
skips it), and a reply already on its case is not stored twice (``complaintflow.replies``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, task

from complaintflow import replies
from complaintflow.delivery import send_due
from complaintflow.flows import FLOW_RETRIES, FLOW_RETRY_DELAY, TASK_RETRIES, TASK_RETRY_DELAYS, log_outcome
from complaintflow.ops import flow_app


@task(retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS)
def send_letters(batch_size: int | None, max_batches: int | None, now: datetime | None = None) -> dict[str, Any]:
    with flow_app(now) as app:
        return send_due(app, batch_size, max_batches).as_dict()


@flow(name="deliver-outbox", retries=FLOW_RETRIES, retry_delay_seconds=FLOW_RETRY_DELAY)
def deliver_outbox(batch_size: int | None = None, max_batches: int | None = 50,
                   now: datetime | None = None) -> dict[str, Any]:
    """Send the letters due: e-mail over SMTP, others to the webhook (COMPLAINTS_LETTER_ROUTES);
    then the root-cause notices due (COMPLAINTS_RC_NOTICE_CHANNEL)."""
    report = send_letters(batch_size, max_batches, now)
    log_outcome("%s letter(s) sent, %s to retry, %s failed", len(report["sent"]), len(report["retried"]),
                len(report["failed"]), failed=len(report["failed"]))
    notices = report.get("notices") or {"sent": [], "retried": [], "failed": []}
    log_outcome("%s root-cause notice(s) sent, %s to retry, %s failed", len(notices["sent"]),
                len(notices["retried"]), len(notices["failed"]), failed=len(notices["failed"]))
    return report


@task(retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS)
def read_reply_folder(folder: str | None, now: datetime | None = None) -> dict[str, Any]:
    with flow_app(now) as app:
        return replies.read_replies(app, Path(folder) if folder else None).as_dict()


@flow(name="read-replies", retries=FLOW_RETRIES, retry_delay_seconds=FLOW_RETRY_DELAY)
def read_replies(folder: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Take in the customers' replies waiting as .eml files (default COMPLAINTS_REPLY_DIR)."""
    report = read_reply_folder(folder, now)
    failed = [f["file"] for f in report["files"] if f["outcome"] == "failed"]
    log_outcome("%s repl(ies) read from %s, %s failed", len(report["files"]), Path(report["folder"]).resolve(),
                len(failed), failed=len(failed))
    return report | {"failed": failed}
