"""Bulk writes store exactly what SQLAlchemy would, on both databases, inside the caller's
transaction; matching reads return what SQLAlchemy would."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy
from casework import take_in
from sqlalchemy import and_, bindparam, event, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import psycopg
from sqlalchemy.exc import DBAPIError, IntegrityError

from complaintflow.bootstrap import App
from complaints import sa_compiled
from complaints.bulk import CHUNK, SPREAD_FROM, Bulk, Stamps, chunks, query, select_matching, stream
from complaints.repository import timer_t
from complaints.uow import UnitOfWork

AT = datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=UTC)


def timer_rows(complaint_id: int, names: list[str]) -> list[dict[str, Any]]:
    return [
        {"complaint_id": complaint_id, "kind": "workflow", "name": name, "action": "resume", "state": "on_hold",
         # aware in another zone, and naive UTC: both must be stored as the same UTC instant
         "due_at": AT.astimezone(timezone(timedelta(hours=-5))) if i % 2 else AT.replace(tzinfo=None),
         "status": "pending", "payload": {"n": i, "text": "café ✓", "nested": [1, None]}, "created_at": AT}
        for i, name in enumerate(names)
    ]


def stored(app: App, complaint_id: int) -> list[dict[str, Any]]:
    """The test's timers as read back through SQLAlchemy, without their ids and case."""
    query = (select(timer_t).where(timer_t.c.complaint_id == complaint_id, timer_t.c.kind == "workflow",
                                   timer_t.c.name.in_(["a", "b", "c"])).order_by(timer_t.c.name))
    with app.db.read() as conn:
        return [{k: v for k, v in r._mapping.items() if k not in ("id", "complaint_id")} for r in conn.execute(query)]


def test_bulk_inserts_store_the_same_values_as_sqlalchemy(app: App, handler: Any) -> None:
    first, second = take_in(app, handler, external_id="A-1"), take_in(app, handler, external_id="A-2")

    with UnitOfWork(app.db) as uow:
        ids = {ref: uow.cases.get(ref).id for ref in (first, second)}
        uow.conn.execute(timer_t.insert(), timer_rows(ids[first], ["a", "b", "c"]))
        assert Bulk(timer_t.insert()).run(uow.conn, timer_rows(ids[second], ["a", "b", "c"])) == 3
        uow.commit()
    via_sqlalchemy, via_bulk = stored(app, ids[first]), stored(app, ids[second])
    assert via_bulk == via_sqlalchemy and len(via_bulk) == 3
    assert [t["due_at"] for t in via_bulk] == [AT] * 3  # aware UTC again, to the microsecond
    assert via_bulk[2]["payload"] == {"n": 2, "text": "café ✓", "nested": [1, None]}


def test_stamped_rows_store_what_each_row_written_alone_stores(app: App, handler: Any) -> None:
    refs = [take_in(app, handler, external_id=f"S-{i}") for i in range(3)]
    with UnitOfWork(app.db) as uow:
        ids = [uow.cases.get(ref).id for ref in refs]
        uow.conn.execute(timer_t.insert(), timer_rows(ids[0], ["a", "b", "c"]))
        stamps = Stamps(Bulk(timer_t.insert()), "complaint_id")
        templates = timer_rows(0, ["a", "b", "c"])  # each template serves two complaints
        for cid in ids[1:]:
            for template in templates:
                stamps.add(template, cid)
        assert [cid for _, cid in stamps] == [ids[1]] * 3 + [ids[2]] * 3
        assert stamps.run(uow.conn) == 6
        uow.commit()
    assert stored(app, ids[1]) == stored(app, ids[2]) == stored(app, ids[0]) and len(stored(app, ids[0])) == 3


def test_rows_many_complaints_share_are_written_in_one_statement_each_and_keep_each_complaints_order(
    app: App, handler: Any
) -> None:
    refs = [take_in(app, handler, external_id=f"S-{i}") for i in range(SPREAD_FROM + 3)]
    seen: list[str] = []
    with UnitOfWork(app.db) as uow:
        ids = [uow.cases.get(ref).id for ref in refs]
        uow.conn.execute(timer_t.insert(), timer_rows(ids[0], ["a", "b", "c"]))
        shared = timer_rows(0, ["a", "b", "c"])  # shared by all the other complaints
        own = dict(shared[0])  # the same values in a template of its own, for the last complaint's first row
        stamps = Stamps(Bulk(timer_t.insert()), "complaint_id")
        for cid in ids[1:]:
            for template in [own if cid == ids[-1] else shared[0], *shared[1:]]:
                stamps.add(template, cid)

        def listen(*args: Any) -> None:  # (conn, cursor, statement, ...)
            seen.append(args[2])

        event.listen(app.db.engine, "before_cursor_execute", listen)
        try:
            assert stamps.run(uow.conn) == 3 * (len(ids) - 1)
        finally:
            event.remove(app.db.engine, "before_cursor_execute", listen)
        uow.commit()
    assert all(stored(app, cid) == stored(app, ids[0]) for cid in ids[1:]) and len(stored(app, ids[0])) == 3
    # one statement per shared row; rows shared by too few go into one executemany per round
    assert ["SELECT" in s for s in seen] == [True, False, True, True]
    with app.db.read() as conn:
        for cid in ids[1:]:
            names = conn.execute(select(timer_t.c.name).where(timer_t.c.complaint_id == cid, timer_t.c.kind == "workflow")
                                 .order_by(timer_t.c.id)).scalars().all()
            assert names == ["a", "b", "c"], "a complaint's rows are stored in the order they were added"


def test_a_bulk_update_takes_its_constants_from_the_statement_and_counts_the_rows_it_changed(
    app: App, handler: Any
) -> None:
    ref = take_in(app, handler, external_id="A-1")
    cancel = Bulk(
        update(timer_t)
        .where(and_(timer_t.c.complaint_id == bindparam("b_id"), timer_t.c.status == "pending",
                    timer_t.c.name == bindparam("b_name")))
        .values(status="cancelled", cancelled_at=bindparam("b_at"))
    )
    with UnitOfWork(app.db) as uow:
        cid = uow.cases.get(ref).id
        Bulk(timer_t.insert()).run(uow.conn, timer_rows(cid, ["a", "b", "c"]))
        changed = cancel.run(uow.conn, [{"b_id": cid, "b_name": n, "b_at": AT} for n in ("a", "c", "zzz")])
        uow.commit()
    assert changed == 2
    with app.db.read() as conn:
        rows = conn.execute(select(timer_t.c.name, timer_t.c.status, timer_t.c.cancelled_at)
                            .where(timer_t.c.complaint_id == cid, timer_t.c.kind == "workflow",
                                   timer_t.c.name.in_(["a", "b", "c"]))
                            .order_by(timer_t.c.name)).all()
    assert [tuple(r) for r in rows] == [("a", "cancelled", AT), ("b", "pending", None), ("c", "cancelled", AT)]


def test_bulk_writes_roll_back_with_their_unit_of_work(app: App, handler: Any) -> None:
    ref = take_in(app, handler, external_id="A-1")
    with UnitOfWork(app.db) as uow:
        cid = uow.cases.get(ref).id
        Bulk(timer_t.insert()).run(uow.conn, timer_rows(cid, ["a", "b"]))
        # no commit: leaving the block rolls back
    with app.db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM timer WHERE name IN ('a', 'b')")).scalar() == 0


def test_rows_missing_a_bound_value_are_refused_before_anything_is_written(app: App, handler: Any) -> None:
    with UnitOfWork(app.db) as uow, pytest.raises(KeyError, match="b_id"):
        Bulk(update(timer_t).where(timer_t.c.id == bindparam("b_id"))).run(uow.conn, [{"status": "fired"}])


def test_a_refused_write_raises_sqlalchemys_error_and_the_unit_of_work_rolls_back(app: App, handler: Any) -> None:
    ref = take_in(app, handler, external_id="A-1")
    with pytest.raises(IntegrityError), UnitOfWork(app.db) as uow:
        cid = uow.cases.get(ref).id
        Bulk(timer_t.insert()).run(uow.conn, timer_rows(cid, ["a"]))
        Bulk(timer_t.insert()).run(uow.conn, timer_rows(10_000_000, ["b", "c"]))  # no such complaint
    with app.db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM timer WHERE name IN ('a', 'b', 'c')")).scalar() == 0


def test_rows_matching_keys_are_read_in_one_statement_with_sqlalchemys_values(app: App, handler: Any) -> None:
    refs = [take_in(app, handler, external_id=f"A-{i}") for i in range(3)]
    with UnitOfWork(app.db) as uow:
        ids = [uow.cases.get(ref).id for ref in refs]
        Bulk(timer_t.insert()).run(uow.conn, [*timer_rows(ids[0], ["a", "b"]), *timer_rows(ids[2], ["a"])])
        uow.commit()
    keys = [(ids[0], "a"), (ids[0], "b"), (ids[1], "a"), (ids[2], "a"), (ids[2], "zzz")]
    with app.db.read() as conn:
        expected = [dict(r._mapping) for r in conn.execute(
            select(timer_t).where(timer_t.c.kind == "workflow", timer_t.c.name.in_(["a", "b"])).order_by(timer_t.c.id))]
        assert select_matching(conn, timer_t, ("complaint_id", "name"), keys) == expected
        assert select_matching(conn, timer_t, ("complaint_id", "name"), []) == []
        for key in keys:  # one key is compared directly, in a statement of its own: the same rows
            assert select_matching(conn, timer_t, ("complaint_id", "name"), [key]) == [
                row for row in expected if (row["complaint_id"], row["name"]) == key]


def test_streamed_rows_are_the_rows_of_the_query_in_order_whatever_the_chunk(app: App, handler: Any) -> None:
    for i in range(5):
        take_in(app, handler, external_id=f"S-{i}")
    sql = "SELECT id, reference, received_at FROM complaint ORDER BY id"
    with app.db.read() as conn:
        rows = query(conn, sql, ())
        assert len(rows) == 5
        assert [tuple(r) for r in stream(conn, sql, (), size=2)] == [tuple(r) for r in rows]
        with pytest.raises(DBAPIError, match="no_such_column"):  # the driver's error, as SQLAlchemy raises it
            list(stream(conn, "SELECT no_such_column FROM complaint", (), size=2))


def test_in_lists_are_cut_into_consecutive_slices_of_bounded_length() -> None:
    assert list(chunks(list(range(7)), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunks([], 3)) == []
    assert [len(part) for part in chunks(list(range(CHUNK + 1)))] == [CHUNK, 1]


# -- what bulk writes read from SQLAlchemy's compiler (complaints/sa_compiled.py) ----------------
def _statements() -> list[Any]:
    insert_all = timer_t.insert()
    cancel = (update(timer_t).where(and_(timer_t.c.complaint_id == bindparam("b_id"), timer_t.c.status == "pending"))
              .values(status="cancelled", cancelled_at=bindparam("b_at")))
    return [insert_all, cancel]


@pytest.mark.parametrize("dialect", [sqlite.dialect(), psycopg.dialect()], ids=["sqlite", "postgresql"])
def test_sqlalchemys_compiler_still_names_the_bound_parameters_in_the_drivers_order(dialect: Any) -> None:
    """Fails loudly when a SQLAlchemy upgrade changes ``bind_names`` or ``positiontup``: bulk
    writes would then fall back to ``Connection.execute`` at a fraction of their speed."""
    keys = ["complaint_id", "kind", "name", "action", "state", "due_at", "status", "payload", "created_at"]
    for statement in _statements():
        column_keys = keys if statement.is_insert else ["b_id", "b_at"]
        compiled = statement.compile(dialect=dialect, column_keys=column_keys, for_executemany=True)
        binds = sa_compiled.driver_binds(compiled)
        assert binds is not None, (
            f"SQLAlchemy {sqlalchemy.__version__} no longer exposes SQLCompiler.bind_names/positiontup as "
            "complaints/sa_compiled.py reads them: bulk writes now take the slow public path")
        names = [b.name for b in binds]
        # the order as SQLAlchemy itself renders it: the same statement with named placeholders
        named = statement.compile(dialect=type(dialect)(paramstyle="named"), column_keys=column_keys,
                                  for_executemany=True)
        assert names == re.findall(r"(?<!:):(\w+)", named.string)
        if not compiled.positional:
            assert names == re.findall(r"%\((\w+)\)s", compiled.string)
        for b in binds:  # SQLAlchemy's own conversion of each value, through its public API
            expected = b.bind.type.dialect_impl(dialect).bind_processor(dialect)
            assert (b.process is None) == (expected is None)


def test_without_the_compilers_attributes_bulk_writes_take_the_public_path_and_store_the_same_rows(
    app: App, handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs = [take_in(app, handler, external_id=f"P-{i}") for i in range(SPREAD_FROM + 2)]
    # what an upgrade that drops the attributes looks like to complaints.bulk
    monkeypatch.setattr(sa_compiled, "driver_binds", lambda compiled: None)
    with UnitOfWork(app.db) as uow:
        ids = [uow.cases.get(ref).id for ref in refs]
        uow.conn.execute(timer_t.insert(), timer_rows(ids[0], ["a", "b", "c"]))
        assert Bulk(timer_t.insert()).run(uow.conn, timer_rows(ids[1], ["a", "b", "c"])) == 3
        stamps = Stamps(Bulk(timer_t.insert()), "complaint_id")
        for cid in ids[2:]:
            for template in timer_rows(0, ["a", "b", "c"]):
                stamps.add(template, cid)
        assert stamps.run(uow.conn) == 3 * len(ids[2:])
        uow.commit()
    assert all(stored(app, cid) == stored(app, ids[0]) for cid in ids[1:]) and len(stored(app, ids[0])) == 3
