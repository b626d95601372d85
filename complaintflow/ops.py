"""What every flow and ops command shares, without importing Prefect.

``quiet_prefect_env`` must run before Prefect is first imported: Prefect reads its settings
from the environment at import time, and these defaults keep it offline and quiet.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import datetime
from typing import Any

from complaintflow.bootstrap import App, build
from complaintflow.schema import check_schema, complaints_command
from complaintflow.settings import load_settings
from complaints.clock import FixedClock
from workflows.versions import check_versions

#: Set unless the user set them: no telemetry, no usage events, and a Prefect database that
#: does not grow forever with old runs (13.5 KB per task run otherwise).
QUIET_PREFECT_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED": "events,flow_runs",
}


def quiet_prefect_env(environ: MutableMapping[str, str] | None = None) -> None:
    """Our Prefect defaults, where the user has not chosen otherwise."""
    target = os.environ if environ is None else environ
    for key, value in QUIET_PREFECT_DEFAULTS.items():
        target.setdefault(key, value)


#: How asyncio reports a connection's task cancelled under Python 3.11's stream server: its
#: callback asks the cancelled task for its exception, which raises CancelledError.
_CANCELLED_CONNECTION = "Exception in callback StreamReaderProtocol.connection_made.<locals>.callback"


class _CancelledConnection(logging.Filter):
    """Drops that one report, and only with a CancelledError: a connection handler that fails
    is still logged (asyncio reports it as an unhandled exception, not as this)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, asyncio.CancelledError) and record.getMessage().startswith(_CANCELLED_CONNECTION))


@contextmanager
def quiet_shutdown() -> Iterator[None]:
    """While serving: when the runner stops (Ctrl-C, ``--stop-after``), ``asyncio.run`` cancels
    the connections of Prefect's control channel, and Python 3.11 prints a traceback for each
    one although the shutdown is orderly; this leaves that out and every other error in."""
    logger, quiet = logging.getLogger("asyncio"), _CancelledConnection()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


@contextmanager
def flow_app(now: datetime | None = None) -> Iterator[App]:
    """The application for one task run: built from the environment (``COMPLAINTS_*``), its
    clock fixed at ``now`` when given (replays), and its connections closed afterwards."""
    app = build(load_settings(), clock=FixedClock(now) if now else None)
    try:
        check_ready(app, lambda name: f"complaints {name} (with the same COMPLAINTS_DATABASE_URL)")
        yield app
    finally:
        app.db.dispose()


def check_ready(app: App, command: Callable[[str], str] = complaints_command) -> None:
    """What every command and flow checks before it works: the schema (``check_schema``),
    then the workflow versions loaded against those the database has used
    (``workflows.versions``: a definition changed under a version is refused)."""
    check_schema(app.db, command)
    check_versions(app.db, app.registry, app.clock.now())


def summarise(report: Any) -> dict[str, Any]:
    """A service's report as JSON-ready data: a flow's return value and ``run``'s output."""
    if isinstance(report, dict):
        return report
    if is_dataclass(report) and not isinstance(report, type):
        return asdict(report)
    if hasattr(report, "model_dump"):
        return dict(report.model_dump(mode="json"))
    raise TypeError(f"cannot summarise a {type(report).__name__}; return a dataclass or a dict")


def merge(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Several batches' summaries as one: lists joined, counts added; ``batches`` counts the
    summaries unless they count their own batches."""
    merged: dict[str, Any] = {}
    for summary in summaries:
        for key, value in summary.items():
            if isinstance(value, list):
                merged[key] = merged.get(key, []) + value
            elif isinstance(value, int) and not isinstance(value, bool):
                merged[key] = merged.get(key, 0) + value
            else:
                merged[key] = value
    merged.setdefault("batches", len(summaries))
    return merged
