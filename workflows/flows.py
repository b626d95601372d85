"""Prefect flow of the workflow engine: auto-closing complaints the customer never answered.

The ``auto_close`` timers of ``awaiting_customer`` are fired by the engine's claim-then-act
sweep, so a retried or overlapping run closes each complaint once.
"""

from __future__ import annotations

from complaints.ops import quiet_prefect_env

quiet_prefect_env()  # before Prefect reads its settings on import

from collections.abc import Callable  # noqa: E402
from datetime import datetime  # noqa: E402
from typing import Any  # noqa: E402

from prefect import flow, task  # noqa: E402

from complaints.flows import FLOW_RETRIES, FLOW_RETRY_DELAY, TASK_RETRIES, TASK_RETRY_DELAYS  # noqa: E402
from complaints.ops import flow_app, handled, merge, summarise  # noqa: E402
from complaints.settings import load_settings  # noqa: E402

AUTO_CLOSE_ACTIONS = ("auto_close",)


def in_batches(batch: Callable[..., dict[str, Any]], batch_size: int, max_batches: int, **kwargs: Any) -> dict[str, Any]:
    """Call the ``batch`` task until a batch comes back less than full, at most ``max_batches``
    times (what is left waits for the next run), and merge what the batches report."""
    results: list[dict[str, Any]] = []
    for _ in range(max_batches):
        results.append(batch(batch_size=batch_size, **kwargs))
        if handled(results[-1]) < batch_size:
            break
    return merge(results)


@task(retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS)
def fire_auto_close_timers(batch_size: int, now: datetime | None = None) -> dict[str, Any]:
    with flow_app(now) as app:
        return summarise(app.engine.fire_due_timers(batch_size, actions=AUTO_CLOSE_ACTIONS))


@flow(name="auto-close", retries=FLOW_RETRIES, retry_delay_seconds=FLOW_RETRY_DELAY)
def auto_close(batch_size: int | None = None, max_batches: int = 10, now: datetime | None = None) -> dict[str, Any]:
    """Close the complaints left awaiting the customer past their deadline."""
    size = batch_size or load_settings().sweep_batch_size
    return in_batches(fire_auto_close_timers, size, max_batches, now=now)
