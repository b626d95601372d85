"""Contention is no failure: a transaction the database aborted to break a deadlock, or for a
serialisation failure, rolled back whole, so it is run again (a bounded number of times,
after a short random pause, and logged) instead of reaching the user as an error. So is a
transaction whose connection was lost in one of its statements (the server restarted): it
never committed, and runs again on a fresh connection.

Locks are taken in one order to begin with (a case's row before anything of the case); this
is the net under it, for the rarer cycles through rows two cases share (a link between them).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

T = TypeVar("T")
log = logging.getLogger("complaintflow.retry")

#: PostgreSQL's deadlock_detected and serialization_failure.
CONTENTION_STATES = frozenset({"40P01", "40001"})
ATTEMPTS = 5


def is_contention(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in CONTENTION_STATES


def is_retryable(exc: DBAPIError) -> bool:
    """Contention, or a connection lost while running a statement (SQLAlchemy has dropped it
    from the pool, and the server rolls back a transaction whose connection went). A
    connection lost at COMMIT (no statement) is not: the commit may have happened."""
    return is_contention(exc) or (exc.connection_invalidated and exc.statement is not None)


def retrying(work: Callable[[], T], what: str, attempts: int = ATTEMPTS) -> T:
    """``work()``, run again while the database aborts it for contention; the last failure is raised."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as exc:
            if not is_retryable(exc) or attempt == attempts:
                raise
            log.warning("%s: %s, running it again (%d of %d)", what, type(exc.orig).__name__, attempt, attempts - 1)
            time.sleep(random.uniform(0, 0.02 * 2**attempt))
    raise AssertionError("unreachable")  # pragma: no cover
