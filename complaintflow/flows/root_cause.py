"""The nightly root-cause flow: linking, recurrence analysis and CAPA verification.

One task over the whole night's batch; the services are idempotent, so a retry redoes
nothing that was already stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow, task

from complaintflow.flows import FLOW_RETRIES, FLOW_RETRY_DELAY, TASK_RETRIES, TASK_RETRY_DELAYS, log_outcome
from complaintflow.ops import flow_app
from root_cause.nightly import nightly


@task(retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS)
def link_and_analyse(now: datetime | None = None) -> dict[str, Any]:
    with flow_app(now) as app:
        return nightly(app.db, app.taxonomy, now or app.clock.now())


@flow(name="root-cause-nightly", retries=FLOW_RETRIES, retry_delay_seconds=FLOW_RETRY_DELAY)
def nightly_root_cause(now: datetime | None = None) -> dict[str, Any]:
    """Link related complaints and analyse recurrence, once a night; what it found, in the log."""
    result = link_and_analyse(now)
    linking = result["linking"]
    log_outcome("%s complaint(s) linked: %s link(s) created, %s updated; %s recurrence alert(s); %s CAPA(s) checked",
                linking["complaints"], linking["created"], linking["updated"], len(result["alerts"]),
                len(result["capas"]))
    return result
