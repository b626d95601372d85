"""The audit trail cannot be changed unnoticed: a hash chain per complaint, events the database
itself keeps append-only, and a seal over every chain to keep elsewhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from casework import TO_INVESTIGATING, take_in, walk
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from complaintflow.bootstrap import App
from complaintflow.cli.app import app as cli
from complaints import audit
from complaints.repository import audit_unlock_t, complaint_t, event_t, note_t
from complaints.sealing import check_seal, take_seal
from workflows.integrity import check_integrity


@contextmanager
def unguarded(app: App) -> Iterator[Connection]:
    """A transaction of someone with the rights to lift the append-only guard, as erasure does."""
    with app.db.transaction() as conn:
        conn.execute(insert(audit_unlock_t).values(reason="tampering, for the test"))
        yield conn
        conn.execute(delete(audit_unlock_t))


def cid(app: App, reference: str) -> int:
    found = app.engine.get(reference).id
    assert found is not None
    return found


def audit_problems(app: App, reference: str) -> list[str]:
    report = check_integrity(app.db, app.registry)
    return [p.message for p in report.problems if p.reference == reference and p.aspect == "audit"]


def edit_event(app: App, reference: str, seq: int, **values: Any) -> None:
    complaint_id = cid(app, reference)
    with unguarded(app) as conn:
        conn.execute(update(event_t).where(event_t.c.complaint_id == complaint_id, event_t.c.seq == seq)
                     .values(**values))


@pytest.mark.parametrize("change", [
    {"actor": "mallory"}, {"role": "executive"}, {"payload": {"reason": "changed later"}},
])
def test_an_edited_event_is_named_by_reference_and_sequence(app: App, change: dict[str, Any]) -> None:
    reference = take_in(app)
    walk(app, reference, ["assess", "escalate"])
    edit_event(app, reference, 4, **change)
    assert audit_problems(app, reference) == ["event 4 ('escalate') edited: its content no longer matches its hash"]


def test_an_event_moved_in_time_is_named(app: App) -> None:
    reference = take_in(app)
    (event,) = [e for e in app_events(app, reference) if e["seq"] == 2]
    edit_event(app, reference, 2, at=event["at"] - timedelta(hours=3))
    assert audit_problems(app, reference) == ["event 2 ('acknowledge') edited: its content no longer matches its hash"]


def app_events(app: App, reference: str) -> list[dict[str, Any]]:
    with app.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(event_t).where(event_t.c.complaint_id == cid(app, reference)).order_by(event_t.c.seq))]


def test_a_decision_rewritten_consistently_everywhere_is_still_found(app: App) -> None:
    """Event, case data and letter all say 'valid' where the handler had decided 'invalid'."""
    reference = take_in(app)
    walk(app, reference, ["assess", "invalid"])
    events = app_events(app, reference)
    invalid = events[-1]
    payload = {**invalid["payload"], "rationale": "Fee charged correctly"}
    with app.db.read() as conn:
        case = conn.execute(select(complaint_t.c.data).where(complaint_t.c.reference == reference)).scalar_one()
    with unguarded(app) as conn:
        conn.execute(update(event_t).where(event_t.c.id == invalid["id"]).values(payload=payload))
        data = {**case, "assessment": {**case["assessment"], "rationale": "Fee charged correctly"}}
        conn.execute(update(complaint_t).where(complaint_t.c.reference == reference).values(data=data))
        conn.execute(update(note_t).where(note_t.c.complaint_id == invalid["complaint_id"])
                     .values(body="We found the fee was charged correctly."))
    assert audit_problems(app, reference) == [
        f"event {invalid['seq']} ('invalid') edited: its content no longer matches its hash"]


def test_deleted_inserted_and_reordered_events_are_each_named(app: App) -> None:
    first, second, third = take_in(app), take_in(app), take_in(app)
    for reference in (first, second, third):
        walk(app, reference, TO_INVESTIGATING)
    gone = cid(app, first)
    forged = {**app_events(app, second)[-1], "seq": 5, "actor": "mallory"}  # its own hash, but no place in the chain
    forged.pop("id")
    forged["content_hash"] = audit.content_hash(second, forged)
    forged["chain_hash"] = audit.chained(None, forged["content_hash"])
    events = {e["seq"]: e for e in app_events(app, third)}
    with unguarded(app) as conn:
        conn.execute(delete(event_t).where(event_t.c.complaint_id == gone, event_t.c.seq == 3))
        conn.execute(insert(event_t).values(**forged))
        conn.execute(update(complaint_t).where(complaint_t.c.reference == second).values(version=5))
        conn.execute(update(event_t).where(event_t.c.id == events[3]["id"]).values(seq=99))
        conn.execute(update(event_t).where(event_t.c.id == events[4]["id"]).values(seq=3))
        conn.execute(update(event_t).where(event_t.c.id == events[3]["id"]).values(seq=4))
    assert audit_problems(app, first) == ["event 3 deleted (the sequence jumps from 2 to 4)"]
    assert audit_problems(app, second) == [
        "event 5 ('valid') inserted, or its hashes rewritten: it does not follow the event before it in the chain"]
    assert audit_problems(app, third) == ["event 3 ('valid') reordered: it was event 4",
                                          "event 4 ('assess') reordered: it was event 3"]


def test_the_database_itself_refuses_to_change_or_delete_an_event(app: App) -> None:
    reference = take_in(app)
    complaint_id = cid(app, reference)
    for statement in (update(event_t).values(actor="mallory"), delete(event_t)):
        with pytest.raises(DBAPIError, match="append-only"), app.db.transaction() as conn:
            conn.execute(statement.where(event_t.c.complaint_id == complaint_id))
    assert audit_problems(app, reference) == [] and len(app_events(app, reference)) == 2


def test_a_seal_checks_out_until_a_chain_is_rewritten_even_with_every_hash_recomputed(app: App) -> None:
    references = [take_in(app) for _ in range(3)]
    sealed = take_seal(app.db, app.clock.now())
    walk(app, references[0], ["assess"])  # a new event later does not break the seal
    assert sealed.complaints == 3 and check_seal(app.db, sealed.digest, sealed.up_to)
    events = app_events(app, references[1])
    rewritten = [{**events[0], "actor": "mallory"}, events[1]]
    hashes = list(audit.hash_events(references[1], None, rewritten))
    with unguarded(app) as conn:
        for event, (content, chain) in zip(rewritten, hashes, strict=True):
            conn.execute(update(event_t).where(event_t.c.id == event["id"])
                         .values(actor=event["actor"], content_hash=content, chain_hash=chain))
    assert audit_problems(app, references[1]) == []  # the chain alone verifies again
    assert not check_seal(app.db, sealed.digest, sealed.up_to)


def test_the_seal_command_prints_a_digest_and_checks_it(app: App, database_url: str) -> None:
    take_in(app)
    runner = CliRunner()
    taken = runner.invoke(cli, ["--db", database_url, "--json", "audit", "seal"])
    assert taken.exit_code == 0, taken.output
    sealed = json.loads(taken.output)
    args = ["--db", database_url, "audit", "seal", "--check", sealed["digest"], "--up-to", str(sealed["up_to"])]
    assert runner.invoke(cli, args).exit_code == 0
    wrong = runner.invoke(cli, [*args[:-3], "0" * 64, "--up-to", str(sealed["up_to"])])
    assert wrong.exit_code == 1 and "no longer gives this seal" in wrong.output
