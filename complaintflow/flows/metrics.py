"""The daily metrics snapshot flow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task

from complaintflow.flows import FLOW_RETRIES, FLOW_RETRY_DELAY, TASK_RETRIES, TASK_RETRY_DELAYS
from complaintflow.ops import flow_app
from complaints import metrics


@task(retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS)
def take_metrics_snapshot(now: datetime | None = None) -> dict[str, Any]:
    with flow_app(now) as app:
        return metrics.take_snapshot(app.db, now or app.clock.now())


@flow(name="metrics-snapshot", retries=FLOW_RETRIES, retry_delay_seconds=FLOW_RETRY_DELAY)
def metrics_snapshot(now: datetime | None = None) -> dict[str, Any]:
    """Store today's counts by state/tier/queue, SLA breaches and median time to resolve."""
    snapshot = take_metrics_snapshot(now)
    get_run_logger().info("snapshot %s: %s open", snapshot["period"], snapshot["open_total"])
    return snapshot
