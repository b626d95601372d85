"""Erasing a customer's personal data keeps every case and its audit trail replayable, and
reaches the free text of their complaints; a role not shown personal data reads it masked."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from complaintflow.bootstrap import App
from complaints.errors import InvalidInput, NotFound
from complaints.privacy import ERASED_NAME, WITHHELD_NAME, erase_customer, redact, withheld_view
from complaints.repository import complaint_t, customer_t, note_t
from complaints.schemas import ComplaintIn
from complaints.steps import Actor
from complaints.uow import UnitOfWork
from workflows.machine import replay
from workflows.queries import case_view

#: Who erases, in the tests: the erasure event names them.
DPO = Actor("dora", "supervisor")


def _take_in(app: App, handler: Actor, external_id: str) -> str:
    record = ComplaintIn.model_validate({
        "external_id": external_id, "product": "Current account", "description": "Charged twice",
        "customer": {"name": "Anna Bērziņa", "email": "Anna@Example.lv", "phone": "+371 2000 0000"},
    })
    return app.intake.take_in_one(record, handler)[0]


def test_erasure_blanks_the_person_and_keeps_the_cases_and_their_logs(app: App, handler: Actor) -> None:
    first, second = _take_in(app, handler, "P-1"), _take_in(app, handler, "P-2")
    result = erase_customer(app.db, app.clock.now(), DPO, "request of 2026-11-20", email="anna@example.lv")
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
    assert quality["notifications"][0]["body"].startswith(f"Dear {WITHHELD_NAME},\n\nThank you for contacting us.")
    assert "Bērziņa" not in str(quality) and "example.lv" not in str(quality)
    assert case_view(app.engine, reference, handler)["customer"]["name"] == "Anna Bērziņa"  # nothing stored changed


def test_erasing_twice_says_it_was_already_done(app: App, handler: Actor) -> None:
    reference = _take_in(app, handler, "P-3")
    erase_customer(app.db, app.clock.now(), DPO, "request of 2026-11-20", reference=reference)
    assert erase_customer(app.db, app.clock.now(), DPO, "request of 2026-11-20", reference=reference)["already_erased"]


def test_erasure_needs_exactly_one_way_to_find_the_customer(app: App) -> None:
    with pytest.raises(InvalidInput, match="exactly one of --email or --reference"):
        erase_customer(app.db, app.clock.now(), DPO, "request of 2026-11-20")
    with pytest.raises(NotFound, match="No customer with email 'nobody@example.com'"):
        erase_customer(app.db, app.clock.now(), DPO, "request of 2026-11-20", email="nobody@example.com")


def _texts(app: App) -> list[str]:
    with app.db.read() as conn:
        return [body for (body,) in conn.execute(select(note_t.c.body).order_by(note_t.c.id))]


def test_erasure_removes_the_name_from_the_notifications_already_written(app: App, handler: Actor) -> None:
    first, second = _take_in(app, handler, "P-4"), _take_in(app, handler, "P-5")
    other = app.intake.take_in_one(ComplaintIn.model_validate({
        "product": "Loan", "description": "Late fee", "customer": {"name": "Annas Bērziņš", "email": "o@example.lv"},
    }), handler)[0]
    before = _texts(app)
    assert sum("Anna Bērziņa" in text for text in before) == 3  # two acknowledgements, the repeat's escalation
    result = erase_customer(app.db, app.clock.now(), DPO, "request of 2026-11-20", email="anna@example.lv")
    assert result["notifications_redacted"] == 3 and result["complaints_kept"] == [first, second]
    after = _texts(app)
    assert after == [text.replace("Anna Bērziņa", ERASED_NAME) for text in before]
    assert any("Dear Annas Bērziņš" in text for text in after)  # another customer's name, a letter apart
    assert erase_customer(app.db, app.clock.now(), DPO, "request of 2026-11-20", reference=first)["notifications_redacted"] == 0
    assert erase_customer(app.db, app.clock.now(), DPO, "request of 2026-11-20", reference=other)["notifications_redacted"] == 1
    assert not any("Bērziņ" in text for text in _texts(app))


#: A complaint as Anna types it: her name, phone, email, IBAN and personal code, with an
#: amount, a date and an earlier complaint's reference that must survive.
ANNA_WRITES = ("Es, Anna Bērziņa (personas kods 161175-19997), 12.03.2026 samaksāju 49,99 EUR divreiz. Lūdzu "
               "atmaksāt uz LV80BANK0000435195001. Tālrunis +371 2612 3456, e-pasts anna@example.lv. Skat. C-2026-000001.")
ANNA_ERASED = ("Es, [name erased] (personas kods [national id]), 12.03.2026 samaksāju 49,99 EUR divreiz. Lūdzu "
               "atmaksāt uz [iban]. Tālrunis [phone], e-pasts [email]. Skat. C-2026-000001.")


def _take_in_text(app: App, handler: Actor, description: str, name: str = "Anna Bērziņa",
                  email: str = "anna@example.lv") -> str:
    record = ComplaintIn.model_validate({"product": "Current account", "description": description,
                                         "language": "lv", "customer": {"name": name, "email": email}})
    return app.intake.take_in_one(record, handler)[0]


def _descriptions(app: App) -> dict[str, str]:
    with app.db.read() as conn:
        return dict(conn.execute(select(complaint_t.c.reference, complaint_t.c.description)).all())


def test_erasure_masks_personal_data_in_the_descriptions_of_the_customers_complaints(app: App, handler: Actor) -> None:
    mine = _take_in_text(app, handler, ANNA_WRITES)
    plain = _take_in_text(app, handler, "Karte bloķēta bez iemesla.")
    other = _take_in_text(app, handler, ANNA_WRITES.replace("Anna Bērziņa", "Jānis Ozols"), "Jānis Ozols", "j@example.lv")
    result = erase_customer(app.db, app.clock.now(), DPO, "request of 2026-11-20", email="anna@example.lv")
    assert result["descriptions_masked"] == 1 and result["complaints_kept"] == [mine, plain]
    texts = _descriptions(app)
    assert texts[mine] == ANNA_ERASED and texts[plain] == "Karte bloķēta bez iemesla."
    assert texts[other] == ANNA_WRITES.replace("Anna Bērziņa", "Jānis Ozols")  # another customer's is not touched
    assert erase_customer(app.db, app.clock.now(), DPO, "request of 2026-11-20", reference=mine)["descriptions_masked"] == 0


def test_erasure_masks_what_was_recorded_about_the_case_and_redacted_events_still_fold_to_it(
    app: App, handler: Actor
) -> None:
    reference = _take_in_text(app, handler, "Divreiz noņemta maksa.")
    app.engine.advance(reference, "assess", handler, {})
    app.engine.advance(reference, "valid", handler, {"criteria": "within 6 years",
                                                     "rationale": "Anna Bērziņa showed two debits to +371 2612 3456"})
    result = erase_customer(app.db, app.clock.now(), DPO, "request of 2026-11-20", reference=reference)
    assert result["data_masked"] == 1 and result["descriptions_masked"] == 0
    with UnitOfWork(app.db) as uow:
        case = uow.cases.get(reference)
        events = uow.cases.events(case.id)  # type: ignore[arg-type]
    assert case.data["assessment"]["rationale"] == "[name erased] showed two debits to [phone]"
    assert case.data["assessment"]["criteria"] == ["within 6 years"] and case.data["validity"] == "valid"
    # What the owner of the event log does with it: the redacted changes fold to the masked data.
    folded = replay([{**e, "changes": redact(e["changes"], "Anna Bērziņa")} for e in events])
    assert folded is not None and folded.data == case.data


def _statuses(app: App) -> list[tuple[str, str]]:
    with app.db.read() as conn:
        return [(ref, status) for ref, status in conn.execute(
            select(complaint_t.c.reference, note_t.c.status).join(complaint_t, complaint_t.c.id == note_t.c.complaint_id)
            .order_by(note_t.c.id))]


def test_erasure_cancels_the_customers_letters_not_yet_sent_and_masks_those_sent(app: App, handler: Actor) -> None:
    sent = _take_in_text(app, handler, "Pirmā sūdzība.")
    queued = _take_in_text(app, handler, "Otrā sūdzība.")
    other = _take_in_text(app, handler, "Cita sūdzība.", "Jānis Ozols", "j@example.lv")
    with app.db.transaction() as conn:
        conn.execute(update(note_t).where(note_t.c.id == 1).values(status="sent"))
    before, letters = _statuses(app), _texts(app)
    result = erase_customer(app.db, app.clock.now(), DPO, "request of 2026-11-20", email="anna@example.lv")
    after = _statuses(app)
    assert after == [(ref, "queued" if ref == other else "sent" if status == "sent" else "cancelled")
                     for ref, status in before]
    assert result["notifications_cancelled"] == sum(ref == queued for ref, _ in before) >= 1  # a repeat complaint escalates
    assert result["notifications_redacted"] == sum("Anna Bērziņa" in text for text in letters) == 3
    assert sum("Bērziņa" in text for text in _texts(app)) == 0 and sum("Jānis Ozols" in t for t in _texts(app)) == 1
    assert erase_customer(app.db, app.clock.now(), DPO, "request of 2026-11-20", reference=sent)["notifications_cancelled"] == 0


def test_a_role_not_shown_personal_data_reads_the_free_text_masked(app: App, handler: Actor) -> None:
    reference = _take_in_text(app, handler, ANNA_WRITES)
    full = case_view(app.engine, reference, handler)
    seen = withheld_view(full, "quality")
    assert seen["customer"] == case_view(app.engine, reference, Actor("qa", "quality"))["customer"]
    assert seen["complaint"]["description"] == ANNA_ERASED.replace(ERASED_NAME, WITHHELD_NAME)
    assert seen["events"][0]["payload"]["description"] == seen["complaint"]["description"]
    assert seen["notifications"][0]["body"].startswith(f"Cien. {WITHHELD_NAME}!\n\nPaldies, ka sazinājāties")
    for secret in ("Bērziņa", "anna@", "2612", "LV80", "19997"):
        assert secret not in str(seen) and secret in str(full)
    assert (seen["reference"], seen["state"], seen["version"]) == (full["reference"], full["state"], full["version"])


def test_the_quality_roles_case_view_masks_the_free_text(app: App, handler: Actor) -> None:
    reference = _take_in_text(app, handler, ANNA_WRITES)
    assert "2612" not in str(case_view(app.engine, reference, Actor("qa", "quality")))


def test_the_erasure_is_an_event_saying_who_why_and_what_and_the_audit_trail_still_verifies(
    app: App, handler: Actor
) -> None:
    from workflows.integrity import check_integrity

    reference = _take_in_text(app, handler, ANNA_WRITES)
    app.engine.advance(reference, "assess", handler, {})
    erase_customer(app.db, app.clock.now(), DPO, "request of 2026-11-20", email="anna@example.lv")
    with UnitOfWork(app.db) as uow:
        events = uow.cases.events(uow.cases.get(reference).id)  # type: ignore[arg-type]
    erasure = events[-1]
    assert (erasure["action"], erasure["actor"], erasure["role"]) == ("erase", "dora", "supervisor")
    assert erasure["payload"]["reason"] == "request of 2026-11-20" and "email" in erasure["payload"]["erased"]
    assert list(erasure["payload"]["redacted"]) == ["1"]  # the receive event held the description
    assert events[0]["payload"]["description"] == ANNA_ERASED
    assert "Bērziņa" not in str(events) and "anna@example.lv" not in str(events)
    assert check_integrity(app.db, app.registry).problems == []
