"""The case domain: customers, complaints, the audit event log, timers and the outbox.

Storage: ``models`` (SQLModel tables), ``db`` (engine, SQLite pragmas), ``uow`` (unit of work),
``repository`` (Core statements; the only writer of these tables), ``bulk`` (driver-level
writes). The records of a step: ``steps``. Input: ``schemas``, ``importers``, ``moves``,
``problems`` (what is wrong in an input, and where). Also ``privacy`` (erasure), ``metrics``
(the daily snapshot), ``errors``, ``clock``; ``search`` (full text), ``notes`` (notes and
comments on a case), ``history`` (a customer's complaints, letters and messages). Nothing here imports the packages above it
(docs/architecture.md).
"""
