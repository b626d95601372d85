"""A PostgreSQL connection lost in the pool (the server restarted, a proxy dropped it) never
reaches a handler as an error: an idle one is checked before use, and a step whose connection
died under it runs again on a fresh one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from casework import stored, take_in
from conftest import _empty_postgres, make_app
from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError

from complaintflow.bootstrap import App
from complaints import db as database
from complaints.clock import FixedClock
from complaints.db import Database
from complaints.retry import is_retryable
from complaints.steps import Actor

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_app(postgres_url: str, clock: FixedClock) -> Iterator[App]:
    _empty_postgres(postgres_url)
    application = make_app(postgres_url, clock)
    yield application
    application.db.dispose()


def backend_of(db: Database) -> int:
    with db.lookup() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def terminate(db: Database, pid: int) -> None:
    """End one server process, as a restart would, from a connection of its own."""
    other = Database(db.url)
    with other.lookup() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    other.dispose()


def test_a_connection_that_lay_idle_is_checked_and_replaced_if_the_server_dropped_it(
    pg_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "IDLE_PING_SECONDS", 0.0)
    pid = backend_of(pg_app.db)
    terminate(pg_app.db, pid)
    assert backend_of(pg_app.db) != pid  # a new connection, and no error


def test_a_step_whose_connection_died_in_use_runs_again_on_a_fresh_one(pg_app: App, handler: Actor,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "IDLE_PING_SECONDS", 3600.0)  # no check: the step finds it dead
    reference = take_in(pg_app)
    terminate(pg_app.db, backend_of(pg_app.db))
    step = pg_app.engine.advance(reference, "assess", handler)
    assert step.to_state == "assessing"
    assert stored(pg_app, reference)["state"] == "assessing"


def test_a_lookup_runs_outside_any_transaction_on_postgresql(pg_app: App) -> None:
    """One statement needs no BEGIN and ROLLBACK around it: two round trips a request saved."""
    def transaction_starts(conn: Connection) -> set[object]:
        return {conn.execute(text("SELECT transaction_timestamp(), pg_sleep(0.01)")).first()[0]  # type: ignore[index]
                for _ in range(2)}

    with pg_app.db.lookup() as conn:
        assert len(transaction_starts(conn)) == 2  # each statement its own transaction
    with pg_app.db.read() as conn:
        assert len(transaction_starts(conn)) == 1
    with pg_app.db.transaction() as conn:
        assert len(transaction_starts(conn)) == 1  # and the pool's next user is in one again


def test_a_connection_lost_at_commit_is_not_run_again_as_the_commit_may_have_happened() -> None:
    lost = OperationalError("SELECT 1", {}, Exception("server closed the connection"), connection_invalidated=True)
    at_commit = OperationalError(None, None, Exception("server closed the connection"),  # type: ignore[arg-type]
                                 connection_invalidated=True)
    assert is_retryable(lost) and not is_retryable(at_commit)
