"""Prefect flow of the workflow engine: auto-closing complaints the customer never answered.

The ``auto_close`` timers of ``awaiting_customer`` are fired by the timer sweep
(``workflows.timers``, workflow timers only), which claims each timer in the transaction that
acts on it, so a retried or overlapping run closes each complaint once.
"""

from __future__ import annotations

from complaints.ops import quiet_prefect_env

quiet_prefect_env()  # before Prefect reads its settings on import

from datetime import datetime  # noqa: E402
from typing import Any  # noqa: E402

from prefect import flow, task  # noqa: E402

from complaints.flows import FLOW_RETRIES, FLOW_RETRY_DELAY, TASK_RETRIES, TASK_RETRY_DELAYS  # noqa: E402
from complaints.ops import flow_app  # noqa: E402
from complaints.settings import load_settings  # noqa: E402
from workflows import timers  # noqa: E402

AUTO_CLOSE_ACTIONS = ("auto_close",)


@task(retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS)
def fire_auto_close_timers(batch_size: int, max_batches: int, now: datetime | None = None) -> dict[str, Any]:
    with flow_app(now) as app:
        report = timers.sweep(app, now=now, batch_size=batch_size, actions=AUTO_CLOSE_ACTIONS, max_batches=max_batches)
        return report.as_dict()


@flow(name="auto-close", retries=FLOW_RETRIES, retry_delay_seconds=FLOW_RETRY_DELAY)
def auto_close(batch_size: int | None = None, max_batches: int = 10, now: datetime | None = None) -> dict[str, Any]:
    """Close the complaints left awaiting the customer past their deadline: one task, at most
    ``max_batches`` transactions of ``batch_size`` timers (what is left waits for the next run)."""
    return fire_auto_close_timers(batch_size or load_settings().sweep_batch_size, max_batches, now)
