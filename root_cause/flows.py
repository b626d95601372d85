"""Prefect flow of root-cause analysis: the nightly linking and recurrence run.

One task over the whole night's batch; the service is idempotent, so a retry redoes
nothing that was already stored.
"""

from __future__ import annotations

from complaints.ops import quiet_prefect_env

quiet_prefect_env()  # before Prefect reads its settings on import

from datetime import datetime  # noqa: E402
from typing import Any  # noqa: E402

from prefect import flow, task  # noqa: E402

from complaints.flows import FLOW_RETRIES, FLOW_RETRY_DELAY, TASK_RETRIES, TASK_RETRY_DELAYS  # noqa: E402
from complaints.ops import flow_app, summarise  # noqa: E402
from root_cause import services  # noqa: E402


@task(retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS)
def link_and_analyse(now: datetime | None = None) -> dict[str, Any]:
    with flow_app(now) as app:
        return summarise(services.nightly(app, now=now))


@flow(name="root-cause-nightly", retries=FLOW_RETRIES, retry_delay_seconds=FLOW_RETRY_DELAY)
def nightly_root_cause(now: datetime | None = None) -> dict[str, Any]:
    """Link related complaints and analyse recurrence, once a night."""
    return link_and_analyse(now)
