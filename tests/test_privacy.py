"""Erasing a customer's personal data keeps every case and its audit trail replayable."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from complaintflow.bootstrap import App
from complaints.errors import InvalidInput, NotFound
from complaints.privacy import ERASED_NAME, WITHHELD_NAME, erase_customer
from complaints.repository import customer_t, note_t
from complaints.schemas import ComplaintIn
from complaints.steps import Actor
from complaints.uow import UnitOfWork
from workflows.machine import replay
from workflows.queries import case_view


def _take_in(app: App, handler: Actor, external_id: str) -> str:
    record = ComplaintIn.model_validate({
        "external_id": external_id, "product": "Current account", "description": "Charged twice",
        "customer": {"name": "Anna Bērziņa", "email": "Anna@Example.lv", "phone": "+371 2000 0000"},
    })
    return app.intake.take_in_one(record, handler)[0]


def test_erasure_blanks_the_person_and_keeps_the_cases_and_their_logs(app: App, handler: Actor) -> None:
    first, second = _take_in(app, handler, "P-1"), _take_in(app, handler, "P-2")
    result = erase_customer(app.db, app.clock.now(), email="anna@example.lv")
    assert result["erased"] and result["complaints_kept"] == [first, second]
    with app.db.read() as conn:
        row = conn.execute(select(customer_t)).one()
    assert (row.name, row.email, row.phone) == (None, None, None)
    assert row.erased_at is not None and row.pseudonym  # repeat detection still works
    with UnitOfWork(app.db) as uow:
        case = uow.cases.get(first)
        folded = replay(uow.cases.events(case.id))  # type: ignore[arg-type]
    assert folded is not None and (folded.state, folded.version) == (case.state, case.version)


def test_a_role_not_shown_personal_data_sees_the_pseudonym_and_letters_without_the_name(
    app: App, handler: Actor
) -> None:
    reference = _take_in(app, handler, "P-9")
    seen = case_view(app.engine, reference, handler)
    assert seen["customer"]["name"] == "Anna Bērziņa" and "Dear Anna Bērziņa," in seen["notifications"][0]["body"]
    quality = case_view(app.engine, reference, Actor("qa", "quality"))  # the shipped workflow names who may
    assert quality["customer"] == {"pseudonym": seen["customer"]["pseudonym"], "name": None, "email": None,
                                   "phone": None, "withheld": "personal data is not shown to role 'quality'"}
    assert quality["notifications"][0]["body"].startswith(f"Dear {WITHHELD_NAME}, we received your complaint")
    assert "Bērziņa" not in str(quality) and "example.lv" not in str(quality)
    assert case_view(app.engine, reference, handler)["customer"]["name"] == "Anna Bērziņa"  # nothing stored changed


def test_erasing_twice_says_it_was_already_done(app: App, handler: Actor) -> None:
    reference = _take_in(app, handler, "P-3")
    erase_customer(app.db, app.clock.now(), reference=reference)
    assert erase_customer(app.db, app.clock.now(), reference=reference)["already_erased"]


def test_erasure_needs_exactly_one_way_to_find_the_customer(app: App) -> None:
    with pytest.raises(InvalidInput, match="exactly one of --email or --reference"):
        erase_customer(app.db, app.clock.now())
    with pytest.raises(NotFound, match="No customer with email 'nobody@example.com'"):
        erase_customer(app.db, app.clock.now(), email="nobody@example.com")


def _texts(app: App) -> list[str]:
    with app.db.read() as conn:
        return [body for (body,) in conn.execute(select(note_t.c.body).order_by(note_t.c.id))]


def test_erasure_removes_the_name_from_the_notifications_already_written(app: App, handler: Actor) -> None:
    first, second = _take_in(app, handler, "P-4"), _take_in(app, handler, "P-5")
    other = app.intake.take_in_one(ComplaintIn.model_validate({
        "product": "Loan", "description": "Late fee", "customer": {"name": "Annas Bērziņš", "email": "o@example.lv"},
    }), handler)[0]
    before = _texts(app)
    assert sum("Anna Bērziņa" in text for text in before) == 2
    result = erase_customer(app.db, app.clock.now(), email="anna@example.lv")
    assert result["notifications_redacted"] == 2 and result["complaints_kept"] == [first, second]
    after = _texts(app)
    assert after == [text.replace("Anna Bērziņa", ERASED_NAME) for text in before]
    assert any("Dear Annas Bērziņš" in text for text in after)  # another customer's name, a letter apart
    assert erase_customer(app.db, app.clock.now(), reference=first)["notifications_redacted"] == 0
    assert erase_customer(app.db, app.clock.now(), reference=other)["notifications_redacted"] == 1
    assert not any("Bērziņ" in text for text in _texts(app))
