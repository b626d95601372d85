"""CAPA: owned, due, linked to root causes; every status change audited; verified by the
complaint rate before and after; reopened with an alert when the problem comes back."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from casework import take_in

from complaintflow.bootstrap import App
from complaints.clock import FixedClock
from complaints.errors import InvalidInput
from complaints.steps import Actor
from complaints.uow import UnitOfWork
from root_cause import capa as rules
from root_cause import capa_service
from root_cause.repository import RootCauseRepository
from root_cause.schemas import parse_capa

QUALITY = Actor("quinn", "quality")


def _capa(app: App, **overrides: object) -> dict:
    raw = {"title": "Stop the double posting job", "owner": "ops-lead", "due_at": "2026-12-15T00:00:00Z",
           "root_causes": ["BILLING"], "window_days": 30} | overrides
    return capa_service.create_capa(app.db, app.taxonomy, app.clock.now(), parse_capa(raw), QUALITY)


def _complaints(app: App, code: str, when: list[datetime]) -> None:
    for i, at in enumerate(when):
        ref = take_in(app, product="Card", description=f"charged twice {i}", received_at=at)
        with UnitOfWork(app.db) as uow:
            repo = RootCauseRepository(uow.conn)
            repo.record_cause(repo.complaint_id(ref), 3, code, "", "quinn", at)
            uow.commit()


def test_a_capa_needs_known_root_causes_and_a_valid_shape(app: App) -> None:
    with pytest.raises(InvalidInput, match=r"root_causes: 'BILING' is not in the taxonomy"):
        _capa(app, root_causes=["BILING"])
    with pytest.raises(InvalidInput, match=r"Invalid CAPA: owner: Field required"):
        parse_capa({"title": "x fix", "due_at": "2026-12-01", "root_causes": ["BILLING"]})


def test_a_capa_due_before_today_is_refused_and_nothing_is_stored(app: App, clock: FixedClock) -> None:
    yesterday = (clock.now() - timedelta(days=1)).date().isoformat()
    with pytest.raises(InvalidInput, match=rf"^Invalid CAPA: due_at: {yesterday} is already past "
                                           rf"\(today is {clock.now():%Y-%m-%d}, UTC\)$"):
        _capa(app, due_at=yesterday)
    assert capa_service.list_capas(app.db, app.clock.now(), None) == []
    assert _capa(app, due_at=clock.now().date().isoformat())["status"] == "open"  # due today


def test_every_status_change_is_audited_and_wrong_moves_are_refused(app: App, clock: FixedClock) -> None:
    capa = _capa(app)
    with pytest.raises(InvalidInput, match=r"Can't 'reopen' CAPA 1 in status 'open': allowed: implement, cancel"):
        capa_service.change_capa(app.db, app.clock.now(), capa["id"], "reopen", QUALITY)
    clock.advance(days=2)
    capa_service.change_capa(app.db, app.clock.now(), capa["id"], "implement", QUALITY, reason="job fixed")
    view = capa_service.capa_view(app.db, capa["id"])
    assert view["status"] == "implemented" and view["implemented_at"] == clock.now()
    assert [(e["seq"], e["action"], e["from_status"], e["to_status"]) for e in view["events"]] == [
        (1, "create", None, "open"), (2, "implement", "open", "implemented")]


def test_a_capa_is_reopened_with_an_alert_when_the_problem_comes_back(app: App, clock: FixedClock) -> None:
    t0 = clock.now()
    _complaints(app, "BILLING.DUPLICATE", [t0 - timedelta(days=d) for d in (3, 9, 15, 22, 27)])
    capa = _capa(app)
    capa_service.change_capa(app.db, app.clock.now(), capa["id"], "implement", QUALITY)
    clock.advance(days=10)
    _complaints(app, "BILLING.DUPLICATE", [t0 + timedelta(days=d) for d in (2, 5, 8)])
    [result] = capa_service.verify_capas(app.db, app.taxonomy, app.clock.now())
    assert result["outcome"] == "reopened"
    assert "came back inside the effectiveness window: 3 complaints in 10 days" in result["explanation"]
    view = capa_service.capa_view(app.db, capa["id"])
    assert view["status"] == "reopened" and view["events"][-1]["action"] == "verify"
    with UnitOfWork(app.db) as uow:
        [alert] = RootCauseRepository(uow.conn).alerts()
    assert alert["kind"] == "capa_recurred" and alert["subject"] == f"capa:{capa['id']}"


def test_a_capa_is_effective_when_the_window_passes_without_recurrence(app: App, clock: FixedClock) -> None:
    t0 = clock.now()
    _complaints(app, "BILLING.DUPLICATE", [t0 - timedelta(days=d) for d in (3, 9, 15, 22, 27)])
    capa = _capa(app)
    capa_service.change_capa(app.db, app.clock.now(), capa["id"], "implement", QUALITY)
    clock.advance(days=12)
    _complaints(app, "BILLING.DUPLICATE", [t0 + timedelta(days=4)])  # one straggler is not a recurrence
    assert capa_service.verify_capas(app.db, app.taxonomy, app.clock.now())[0]["outcome"] == "implemented"
    clock.advance(days=20)
    [result] = capa_service.verify_capas(app.db, app.taxonomy, app.clock.now())
    assert result["outcome"] == "effective" and "no recurrence over the whole window" in result["explanation"]


def test_open_capas_past_their_due_date_are_overdue(app: App, clock: FixedClock) -> None:
    _capa(app, due_at="2026-11-30T00:00:00Z")
    assert [c["overdue"] for c in capa_service.list_capas(app.db, app.clock.now())] == [False]
    clock.advance(days=8)
    assert [c["overdue"] for c in capa_service.list_capas(app.db, app.clock.now())] == [True]
    assert not rules.is_overdue("implemented", datetime(2020, 1, 1), clock.now())


def test_listing_capas_by_a_status_that_does_not_exist_is_refused(app: App) -> None:
    _capa(app, due_at="2026-11-30T00:00:00Z")
    assert [c["status"] for c in capa_service.list_capas(app.db, app.clock.now(), ["open"])] == ["open"]
    with pytest.raises(InvalidInput, match=r"status: 'opened' is no CAPA status \(known: open, implemented"):
        capa_service.list_capas(app.db, app.clock.now(), ["open", "opened"])
