"""Many moves in one transaction (``WorkflowEngine.advance_many``): the same result as moving
each case in turn, all or nothing, and a number of statements that does not grow with the
batch."""

from __future__ import annotations

from typing import Any

import pytest
from casework import PAYLOADS, TO_INVESTIGATING, stored, take_in, walk
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from test_intake_statements import statements

from complaintflow.bootstrap import App
from complaints.errors import ActionNotAllowed, ConflictError, GuardFailed, NotFound
from complaints.repository import complaint_t
from complaints.steps import Actor, Move
from complaints.uow import UnitOfWork
from escalation.repository import clock_t, ledger_t

#: Several cases, one of them moved three times, with a tier change and a data change.
SCRIPT = [(0, "pause"), (1, "assign"), (0, "resume"), (2, "escalate"), (1, "pause"), (0, "pause")]


def investigating(app: App, prefix: str, count: int) -> list[str]:
    references = [take_in(app, external_id=f"{prefix}{i}") for i in range(count)]
    for reference in references:
        walk(app, reference, TO_INVESTIGATING)
    return references


def history(app: App, reference: str) -> dict[str, Any]:
    """What the moves wrote for one case, without row ids and with its reference and external
    id blanked (and so without its events' hashes, which cover the reference)."""
    with UnitOfWork(app.db) as uow:
        case = uow.cases.get(reference)
        cid, external_id = case.id, str(case.fields["external_id"])

    def clean(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: str(v).replace(reference, "REF").replace(f"'{external_id}'", "EXT") for k, v in r.items()
                 if k not in ("id", "complaint_id", "content_hash", "chain_hash")} for r in rows]

    found = stored(app, reference)
    with UnitOfWork(app.db) as uow:
        clocks = [dict(r._mapping) for r in uow.conn.execute(select(clock_t).where(clock_t.c.complaint_id == cid)
                                                             .order_by(clock_t.c.name))]
        ledger = [dict(r._mapping) for r in uow.conn.execute(select(ledger_t).where(ledger_t.c.complaint_id == cid)
                                                             .order_by(ledger_t.c.id))]
    return {**{k: found[k] for k in ("state", "tier", "queue", "version", "data")},
            **{k: clean(found[k]) for k in ("events", "notifications")},
            "timers": sorted(clean(found["timers"]), key=lambda t: sorted(t.items())),  # ties on due_at
            "clocks": clean(clocks), "ledger": clean(ledger)}


def versions(app: App) -> dict[str, int]:
    with app.db.read() as conn:
        return dict(conn.execute(select(complaint_t.c.reference, complaint_t.c.version)).all())  # type: ignore[arg-type]


def test_a_batch_leaves_every_case_as_moving_each_in_turn_would(app: App, handler: Actor) -> None:
    alone, together = investigating(app, "A", 3), investigating(app, "B", 3)
    for n, action in SCRIPT:
        app.engine.advance(alone[n], action, handler, PAYLOADS.get(action, {}))
    steps = app.engine.advance_many([Move(together[n], action, PAYLOADS.get(action, {})) for n, action in SCRIPT],
                                    handler)
    assert [s.action for s in steps] == [action for _, action in SCRIPT]
    assert stored(app, together[0])["state"] == "on_hold" and stored(app, together[2])["tier"] != "frontline"
    for a, b in zip(alone, together, strict=True):
        assert history(app, b) == history(app, a)


def test_a_refused_move_rolls_back_the_whole_batch_and_names_its_case(app: App, handler: Actor) -> None:
    cases = investigating(app, "A", 3)
    before = versions(app)
    moves = [Move(cases[0], "pause", PAYLOADS["pause"]), Move(cases[1], "assign", PAYLOADS["assign"]),
             Move(cases[2], "satisfied", PAYLOADS["satisfied"])]
    with pytest.raises(ActionNotAllowed, match=cases[2]):
        app.engine.advance_many(moves, handler)
    assert versions(app) == before


def test_a_move_failing_its_guard_in_a_later_round_rolls_back_the_earlier_rounds(app: App, handler: Actor) -> None:
    (case,) = investigating(app, "A", 1)
    before = versions(app)
    with pytest.raises((ActionNotAllowed, GuardFailed), match=case):
        app.engine.advance_many([Move(case, "pause", PAYLOADS["pause"]), Move(case, "pause", PAYLOADS["pause"])],
                                handler)
    assert versions(app) == before


def test_a_stale_expected_version_or_an_unknown_case_writes_nothing(app: App, handler: Actor) -> None:
    cases = investigating(app, "A", 2)
    before = versions(app)
    with pytest.raises(ConflictError, match=cases[1]):
        app.engine.advance_many([Move(cases[0], "assign", PAYLOADS["assign"], before[cases[0]]),
                                 Move(cases[1], "assign", PAYLOADS["assign"], before[cases[1]] - 1)], handler)
    with pytest.raises(NotFound, match="C-1999-000001") as unknown:
        app.engine.advance_many([Move(cases[0], "assign", PAYLOADS["assign"]),
                                 Move("C-1999-000001", "assign", PAYLOADS["assign"])], handler)
    assert unknown.value.__notes__ == ["nothing was done"]
    assert versions(app) == before


def test_a_batch_costs_the_same_number_of_statements_whatever_its_size(app: App, handler: Actor) -> None:
    cases = investigating(app, "A", 24)
    with statements(app) as small:
        app.engine.advance_many([Move(c, "pause", PAYLOADS["pause"]) for c in cases[:4]], handler)
    with statements(app) as large:
        app.engine.advance_many([Move(c, "pause", PAYLOADS["pause"]) for c in cases[4:]], handler)
    assert len(large) == len(small)
    assert {stored(app, c)["state"] for c in cases} == {"on_hold"}


def test_a_batch_joined_to_a_larger_transaction_undoes_only_itself_when_refused(app: App, handler: Actor) -> None:
    first, second = investigating(app, "A", 2)
    with UnitOfWork(app.db) as uow:
        app.engine.advance(first, "assign", handler, PAYLOADS["assign"], uow=uow)
        with pytest.raises(ActionNotAllowed):
            app.engine.advance_many([Move(second, "pause", PAYLOADS["pause"]), Move(second, "close")], handler, uow)
        uow.commit()
    assert stored(app, first)["data"]["assignee"] == "ines"
    assert stored(app, second)["state"] == "investigating"


def test_cases_read_for_a_batch_stay_locked_on_postgresql_until_it_ends(app: App) -> None:
    if app.db.dialect != "postgresql":
        pytest.skip("SQLite takes the whole database's write lock at BEGIN IMMEDIATE instead")
    refs = [take_in(app, external_id=f"L{i}") for i in range(3)]
    grab = text("SELECT id FROM complaint WHERE reference = :ref FOR UPDATE NOWAIT")
    with UnitOfWork(app.db) as uow:
        assert set(uow.cases.get_many(refs[:2], for_update=True)) == set(refs[:2])
        with app.db.engine.connect() as other:
            for ref in refs[:2]:
                with pytest.raises(OperationalError, match="lock"), other.begin():
                    other.execute(grab, {"ref": ref})
            with other.begin():
                assert other.execute(grab, {"ref": refs[2]}).scalar() is not None  # not read: not locked
    with app.db.engine.connect() as other, other.begin():
        assert other.execute(grab, {"ref": refs[0]}).scalar() is not None  # released with the transaction
