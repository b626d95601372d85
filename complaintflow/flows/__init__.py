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

from complaintflow.ops import quiet_prefect_env

quiet_prefect_env()

#: Retries for tasks: the services are idempotent, so repeating a task after a crash
#: finishes the work without doing any of it twice.
TASK_RETRIES, TASK_RETRY_DELAYS = 2, [1.0, 10.0]
FLOW_RETRIES, FLOW_RETRY_DELAY = 1, 30
