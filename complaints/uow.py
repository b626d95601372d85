"""Unit of work: one transaction; rolled back unless ``commit()`` is called."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Connection

from complaints.db import Database
from complaints.repository import CaseRepository


class UnitOfWork:
    """``with UnitOfWork(db) as uow: ...; uow.commit()``: everything or nothing."""

    conn: Connection
    cases: CaseRepository

    def __init__(self, db: Database):
        self.db = db

    def __enter__(self) -> UnitOfWork:
        self.conn = self.db.engine.connect()
        self._tx = self.conn.begin()
        self.cases = CaseRepository(self.conn)
        return self

    def commit(self) -> None:
        self._tx.commit()

    def rollback(self) -> None:
        if self._tx.is_active:
            self._tx.rollback()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        try:
            self.rollback()
        finally:
            self.conn.close()
