"""A person with several roles picks the one they act in from the console's header: the pages
shown and the steps recorded follow it, and a role that is not theirs is refused and logged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from casework import take_in
from consolework import TestClient, signed_in

from complaintflow.bootstrap import App
from complaintflow.users.repository import UserRepository


@pytest.fixture
def browser(sqlite_app: App, tmp_path: Path) -> Iterator[TestClient]:
    """Mira, a handler and a quality analyst, signed in to the console."""
    with signed_in(sqlite_app, tmp_path, "mira", ["handler", "quality"]) as client:
        yield client


def test_a_person_acts_in_their_first_role_until_they_switch(browser: TestClient) -> None:
    queue = browser.get("/console/queue").text
    assert 'id="acting-role"' in queue and '<option value="handler" selected>' in queue
    assert "/console/quality/pareto" not in queue and browser.get("/console/quality/pareto").status_code == 403

    switched = browser.post("/console/role", data={"role": "quality"})
    assert switched.status_code == 303 and switched.headers["location"].startswith("/console/queue")
    queue = browser.get("/console/queue").text
    assert '<option value="quality" selected>' in queue and "/console/quality/pareto" in queue
    assert browser.get("/console/quality/pareto").status_code == 200


def test_a_step_taken_after_switching_is_recorded_in_the_role_chosen(browser: TestClient, sqlite_app: App) -> None:
    reference = take_in(sqlite_app)
    browser.post("/console/role", data={"role": "quality"})
    browser.post(f"/console/cases/{reference}/act", data={"action": "assess"})
    browser.post("/console/role", data={"role": "handler"})
    browser.post(f"/console/cases/{reference}/act", data={"action": "assess"})
    with sqlite_app.db.read() as conn:
        roles = conn.exec_driver_sql("SELECT role FROM complaint_event WHERE action = 'assess'").scalars().all()
    assert roles == ["handler"]  # the quality role may not assess; the handler could


def test_a_role_that_is_not_ones_own_is_refused_and_logged(browser: TestClient, sqlite_app: App) -> None:
    refused = browser.post("/console/role", data={"role": "executive"})
    assert refused.status_code == 403 and "You may act as handler, quality, not &#39;executive&#39;." in refused.text
    assert "cf_console_role" not in refused.headers.get("set-cookie", "")
    with sqlite_app.db.read() as conn:
        [logged] = UserRepository(conn).access_events(kinds=["refused"])
    assert logged["actor"] == "mira" and logged["details"]["path"] == "/console/role"
    assert '<option value="handler" selected>' in browser.get("/console/queue").text


def test_signing_out_forgets_the_role_chosen(browser: TestClient) -> None:
    browser.post("/console/role", data={"role": "quality"})
    signed_out = browser.post("/console/sign-out")
    assert 'cf_console_role=""' in signed_out.headers.get("set-cookie", "")


def test_only_a_role_shown_personal_data_is_offered_to_write_to_the_customer(browser: TestClient, sqlite_app: App) -> None:
    reference = take_in(sqlite_app)
    version = sqlite_app.engine.get(reference).version
    offer = "A comment for the customer: send it to them as a letter"
    assert offer in browser.get(f"/console/cases/{reference}").text
    browser.post("/console/role", data={"role": "quality"})
    assert offer not in browser.get(f"/console/cases/{reference}").text
    sent = browser.post(f"/console/cases/{reference}/notes", data={"text": "We will refund you", "public": "1"})
    assert sent.status_code == 422 and "write an internal note instead" in sent.text
    assert sqlite_app.engine.get(reference).version == version, "no comment, no letter"
