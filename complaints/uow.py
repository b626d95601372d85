"""Unit of work: one transaction; rolled back unless ``commit()`` is called."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection

from complaints.db import Database
from complaints.repository import CaseRepository, OutboxRepository


class UnitOfWork:
    """``with UnitOfWork(db) as uow: ...; uow.commit()``: everything or nothing."""

    conn: Connection
    cases: CaseRepository
    outbox: OutboxRepository

    def __init__(self, db: Database):
        self.db = db

    def __enter__(self) -> UnitOfWork:
        self.conn = self.db.engine.connect()
        self._tx = self.conn.begin()
        self.cases = CaseRepository(self.conn)
        self.outbox = OutboxRepository(self.conn)
        return self

    def commit(self) -> None:
        """Commit; if that fails, the connection is discarded and the transaction lost.

        A connection whose commit failed may still be inside its transaction (SQLite keeps
        it open after a failed COMMIT), and SQLAlchemy's pool skips its rollback on return
        once the transaction object has ended: the next unit of work would then begin inside
        the failed one ("cannot start a transaction within a transaction") and could commit
        its leftovers. Closing the driver connection ends the transaction for certain.
        """
        try:
            self._tx.commit()
        except BaseException:
            self.conn.invalidate()
            raise

    def rollback(self) -> None:
        if self._tx.is_active:
            self._tx.rollback()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self.rollback()
        finally:
            self.conn.close()
