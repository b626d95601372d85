"""Intake with the step observers wired in (SLA clocks, escalation, root-cause blocking keys)
costs a constant number of statements per batch, not per complaint, and a batch leaves each
complaint with exactly the clocks, ledger and timers it would have had alone."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from casework import complaint
from sqlalchemy import event, select

from complaintflow.bootstrap import App
from complaints.repository import complaint_t, timer_t
from complaints.steps import Actor
from complaints.uow import UnitOfWork
from escalation.repository import clock_t, ledger_t
from root_cause.repository import block_t


@contextmanager
def statements(app: App) -> Iterator[list[str]]:
    """The SQL statements sent to the database while the block runs."""
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(app.db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(app.db.engine, "before_cursor_execute", count)


#: Receipts, which regulatory clocks count from: complaint i gets ``RECEIVED[i % 4]``. The
#: first two have milestones still ahead of the tests' clock (``conftest.T0``), the others
#: only passed ones.
RECEIVED = ("2026-11-20", "2026-10-01", "2023-03-22", "2023-03-22")


def batch(first: int, size: int, received: tuple[str, ...] | None = None) -> list[tuple[int, Any]]:
    """``size`` complaints of distinct customers, a quarter of them critical (they start
    higher), received now or on the dates of ``received`` in turn."""
    return [
        (i, complaint(external_id=f"E{i}", severity="critical" if i % 4 == 0 else "medium",
                      received_at=received[i % len(received)] if received else None,
                      customer={"name": f"Customer {i}", "email": f"c{i}@example.com"}))
        for i in range(first, first + size)
    ]


def test_an_intake_batch_costs_the_same_number_of_statements_whatever_its_size(app: App, handler: Actor) -> None:
    app.intake.batch_size = 500
    app.intake.take_in(batch(1000, 1), handler)  # the year's reference counter exists from now on
    with statements(app) as small:
        report = app.intake.take_in(batch(1, 10), handler)
    assert len(report.created) == 10
    with statements(app) as large:
        report = app.intake.take_in(batch(100, 200), handler)
    assert len(report.created) == 200
    assert len(large) == len(small), "statements per batch must not grow with the number of complaints"
    assert any("sla_clock" in s for s in large) and any("rc_block_key" in s for s in large)


def _history(app: App, reference: str) -> dict[str, list[tuple[Any, ...]]]:
    """A complaint's clocks, ledger and observer timers without row ids, in the order stored,
    and how many blocking keys it has (their values hash the customer's pseudonym, which differs)."""
    with UnitOfWork(app.db) as uow:
        cid = uow.conn.execute(select(complaint_t.c.id).where(complaint_t.c.reference == reference)).scalar_one()

        def rows(table: Any, *skip: str) -> list[tuple[Any, ...]]:
            cols = [c for c in table.c if c.name not in ("id", "complaint_id", *skip)]
            found = uow.conn.execute(select(*cols).where(table.c.complaint_id == cid).order_by(table.c.id))
            return [tuple(repr(v) for v in r) for r in found]

        keys = uow.conn.execute(select(block_t.c.key).where(block_t.c.complaint_id == cid)).scalars().all()
        return {"clocks": rows(clock_t), "ledger": rows(ledger_t), "keys": [len(keys)],
                "timers": [t for t in rows(timer_t) if "'workflow'" not in t]}


def test_complaints_taken_in_together_get_the_clocks_ledger_and_timers_each_gets_alone(
    app: App, handler: Actor
) -> None:
    together = app.intake.take_in(batch(1, 8, RECEIVED), handler).created
    alone = [app.intake.take_in(batch(i, 1, RECEIVED), handler).created[0] for i in range(9, 17)]  # same severities, receipts
    for (_, a), (_, b) in zip(together, alone, strict=True):
        history = _history(app, a)
        assert history["clocks"] and history["ledger"] and history["timers"]
        assert history == _history(app, b)
    ahead, passed = _history(app, together[0][1]), _history(app, together[1][1])  # complaints 1 and 2
    assert [e[:2] for e in passed["ledger"]] == [  # in the order of the steps: received, then acknowledged
        ("'acknowledge'", "'start'"), ("'first_response'", "'start'"), ("'resolution'", "'start'"),
        ("'fca'", "'start'"), ("'acknowledge'", "'stop'")]
    assert any("'regulatory'" in t for t in ahead["timers"]) and not any("'regulatory'" in t for t in passed["timers"])
