"""The sweeps: every due timer (each minute), follow-ups and commitments (each quarter hour),
auto-close of complaints the customer never answered (hourly).

Each timer is claimed ``pending -> fired`` in the transaction that acts on it, so a retried
or overlapping run fires it once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow, task

from complaintflow.flows import FLOW_RETRIES, FLOW_RETRY_DELAY, TASK_RETRIES, TASK_RETRY_DELAYS, Attempts, log_outcome
from complaintflow.ops import flow_app, merge
from complaintflow.settings import load_settings
from complaints.repository import WORKFLOW_TIMER
from escalation import sweep
from escalation.clocks import COMMITMENT
from workflows import timers

#: Workflow timer actions that start a follow-up or close one nobody answered.
FOLLOW_UP_ACTIONS = ("start_follow_up", "no_response")
AUTO_CLOSE_ACTIONS = ("auto_close",)


def _batch_size(given: int | None) -> int:
    return given or load_settings().sweep_batch_size


def _logged(report: dict[str, Any]) -> dict[str, Any]:
    fired, skipped, failed = (len(report[key]) for key in ("fired", "skipped", "failed"))
    log_outcome("%s timer(s) fired, %s skipped, %s failed", fired, skipped, failed, failed=failed)
    return report


@task(retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS)
def sweep_due_timers(batch_size: int, now: datetime | None = None) -> dict[str, Any]:
    attempts = Attempts()
    with attempts.attempt(), flow_app(now) as app:
        report = sweep.sweep(app.engine, now=now, batch_size=batch_size, on_batch=attempts.batch)
    return attempts.summary(report.as_dict())


@flow(name="sla-sweep", retries=FLOW_RETRIES, retry_delay_seconds=FLOW_RETRY_DELAY)
def sla_sweep(batch_size: int | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Fire every due timer: SLA warnings and breaches, escalations, regulatory letters,
    commitments and workflow deadlines. One task; the service works through the batches."""
    return _logged(sweep_due_timers(_batch_size(batch_size), now))


@task(retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS)
def sweep_follow_ups_and_commitments(batch_size: int, now: datetime | None = None) -> dict[str, Any]:
    attempts = Attempts()
    with attempts.attempt(), flow_app(now) as app:
        follow_ups = sweep.sweep(app.engine, now=now, batch_size=batch_size, kinds=(WORKFLOW_TIMER,),
                                 actions=FOLLOW_UP_ACTIONS, on_batch=attempts.batch)
        commitments = sweep.sweep(app.engine, now=now, batch_size=batch_size, kinds=(COMMITMENT,),
                                  on_batch=attempts.batch)
    return attempts.summary(merge([follow_ups.as_dict(), commitments.as_dict()]))


@flow(name="follow-ups", retries=FLOW_RETRIES, retry_delay_seconds=FLOW_RETRY_DELAY)
def follow_ups_due(batch_size: int | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Start the follow-ups that are due, count unanswered ones as declined, and act on
    overdue commitments. The minute sweep fires these too; this flow is the narrower one."""
    return _logged(sweep_follow_ups_and_commitments(_batch_size(batch_size), now))


@task(retries=TASK_RETRIES, retry_delay_seconds=TASK_RETRY_DELAYS)
def fire_auto_close_timers(batch_size: int, max_batches: int, now: datetime | None = None) -> dict[str, Any]:
    attempts = Attempts()
    with attempts.attempt(), flow_app(now) as app:
        report = timers.sweep(app.engine, now=now, batch_size=batch_size, actions=AUTO_CLOSE_ACTIONS,
                              max_batches=max_batches, on_batch=attempts.batch)
    return attempts.summary(report.as_dict())


@flow(name="auto-close", retries=FLOW_RETRIES, retry_delay_seconds=FLOW_RETRY_DELAY)
def auto_close(batch_size: int | None = None, max_batches: int = 10, now: datetime | None = None) -> dict[str, Any]:
    """Close the complaints left awaiting the customer past their deadline: one task, at most
    ``max_batches`` transactions of ``batch_size`` timers (what is left waits for the next run)."""
    return _logged(fire_auto_close_timers(_batch_size(batch_size), max_batches, now))
