"""The case domain: customers, complaints, the audit event log, timers and the outbox.

Storage: ``models`` (SQLModel tables), ``db`` (engine, SQLite pragmas), ``uow`` (unit of work),
``repository`` (Core statements for the hot paths), ``migrations`` (Alembic). Input: ``schemas``,
``importers``, ``intake``, ``problems`` (what is wrong in an input, and where).
Reads: ``queries``, ``integrity``, ``metrics``. Edges: ``cli`` and ``bootstrap`` (the
composition root), ``demo``, ``flows`` (Prefect, imported only by ops commands).
"""
