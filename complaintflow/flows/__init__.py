"""The Prefect flows, one module per service area; thin wrappers over the services.

Each task opens the application from the environment (``COMPLAINTS_*``), calls one service
and returns its summary. A run handles a batch (the timers due, the files waiting, one
day's numbers); tasks are per batch or per file, never per complaint. Exactly-once comes
from the database (claimed timers, upserts, external ids), so retries and overlapping runs
are safe.

Importing this package sets our Prefect defaults (``quiet_prefect_env``) before any flow
module imports Prefect, which reads its settings at import time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from complaintflow.ops import quiet_prefect_env

quiet_prefect_env()

#: Retries for tasks: the services are idempotent, so repeating a task after a crash
#: finishes the work without doing any of it twice.
TASK_RETRIES, TASK_RETRY_DELAYS = 2, [1.0, 10.0]
FLOW_RETRIES, FLOW_RETRY_DELAY = 1, 30


def log_outcome(message: str, *args: object, failed: int = 0) -> None:
    """One line per run in the worker's log; a warning when something failed, since a run that
    completes with refused files, letters or timers is still 'Completed' to Prefect."""
    from prefect import get_run_logger

    get_run_logger().log(logging.WARNING if failed else logging.INFO, message, *args)


class Attempts:
    """What each attempt of a task run did, for its result: a retried sweep reports the
    timers its failed first attempt fired, not only the retry's. Retries of a task run call
    the task again in the same process, so the record lives here, keyed by task run."""

    _runs: dict[str, list[dict[str, Any]]] = {}

    def __init__(self) -> None:
        from prefect.runtime import task_run

        self.log = self._runs.setdefault(str(task_run.id), [])
        self.current: dict[str, Any] = {"attempt": len(self.log) + 1, "fired": 0, "skipped": 0, "failed": 0,
                                        "batches": 0, "error": None}
        self.log.append(self.current)

    def batch(self, report: Any) -> None:
        """``on_batch`` of a sweep: add a committed batch's counts to this attempt."""
        for key in ("fired", "skipped", "failed"):
            self.current[key] += len(getattr(report, key))
        self.current["batches"] += 1

    @contextmanager
    def attempt(self) -> Iterator[None]:
        try:
            yield
        except BaseException as exc:
            self.current["error"] = f"{type(exc).__name__}: {exc}"[:300]
            raise

    def summary(self, result: dict[str, Any]) -> dict[str, Any]:
        """The last attempt's result with every attempt's counts."""
        return {**result, "attempts": list(self.log)}
