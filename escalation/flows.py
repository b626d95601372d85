"""Prefect flows of escalation: the SLA sweep (every minute) and the follow-ups and
commitments sweep (every 15 minutes).

Thin wrappers over the sweep services. Exactly-once comes from the database (each timer is
claimed ``pending -> fired`` in the transaction that acts on it), not from Prefect, so retries
and overlapping runs are safe.
"""

from __future__ import annotations

from complaints.ops import quiet_prefect_env

quiet_prefect_env()  # before Prefect reads its settings on import

from datetime import datetime  # noqa: E402
from typing import Any  # noqa: E402

from prefect import flow, task  # noqa: E402

from complaints.flows import FLOW_RETRIES, FLOW_RETRY_DELAY, TASK_RETRIES, TASK_RETRY_DELAYS  # noqa: E402
from complaints.ops import flow_app, merge  # noqa: E402
from complaints.repository import WORKFLOW_TIMER  # noqa: E402
from complaints.settings import load_settings  # noqa: E402
from escalation import sweep  # noqa: E402
from escalation.clocks import COMMITMENT  # noqa: E402

#: Workflow timer actions that start a follow-up or close one nobody answered.
FOLLOW_UP_ACTIONS = ("start_follow_up", "no_response")


@task(retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS)
def sweep_due_timers(batch_size: int, now: datetime | None = None) -> dict[str, Any]:
    with flow_app(now) as app:
        return sweep.sweep(app, now=now, batch_size=batch_size).as_dict()


@flow(name="sla-sweep", retries=FLOW_RETRIES, retry_delay_seconds=FLOW_RETRY_DELAY)
def sla_sweep(batch_size: int | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Fire every due timer: SLA warnings and breaches, escalations, regulatory letters,
    commitments and workflow deadlines. One task; the service works through the batches."""
    return sweep_due_timers(batch_size or load_settings().sweep_batch_size, now)


@task(retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS)
def sweep_follow_ups_and_commitments(batch_size: int, now: datetime | None = None) -> dict[str, Any]:
    with flow_app(now) as app:
        follow_ups = sweep.sweep(app, now=now, batch_size=batch_size, kinds=(WORKFLOW_TIMER,), actions=FOLLOW_UP_ACTIONS)
        commitments = sweep.sweep(app, now=now, batch_size=batch_size, kinds=(COMMITMENT,))
        return merge([follow_ups.as_dict(), commitments.as_dict()])


@flow(name="follow-ups", retries=FLOW_RETRIES, retry_delay_seconds=FLOW_RETRY_DELAY)
def follow_ups_due(batch_size: int | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Start the follow-ups that are due, count unanswered ones as declined, and act on
    overdue commitments. The minute sweep fires these too; this flow is the narrower one."""
    return sweep_follow_ups_and_commitments(batch_size or load_settings().sweep_batch_size, now)
