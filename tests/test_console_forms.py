"""The console's forms carry their session's token: a form another site makes the browser send
(with the session cookie, but without the token it cannot read) is refused, logged, and
changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from casework import stored, take_in, walk
from consolework import PASSWORD, TestClient, browsing, form_token, sign_in_form, signed_in

from complaintflow.api.auth import SESSION_COOKIE
from complaintflow.bootstrap import App
from complaintflow.users import services
from complaintflow.users.repository import UserRepository
from complaintflow.web.deps import FORM_TOKEN_HEADER, SIGN_IN_COOKIE
from complaints.steps import Actor


@pytest.fixture
def browser(sqlite_app: App, tmp_path: Path) -> Iterator[TestClient]:
    with signed_in(sqlite_app, tmp_path, "hana", ["handler"]) as client:
        yield client


def forged(browser: TestClient) -> TestClient:
    """The same browser (its session cookie) without the token: what a forged form sends."""
    del browser.headers[FORM_TOKEN_HEADER]
    return browser


def test_every_form_of_a_page_carries_the_sessions_token(browser: TestClient, sqlite_app: App) -> None:
    page = browser.get(f"/console/cases/{take_in(sqlite_app)}").text
    token = form_token(page)
    assert page.count('method="post"') == page.count(f'name="form_token" value="{token}"') > 1


def test_a_step_sent_without_the_token_is_refused_logged_and_changes_nothing(
        browser: TestClient, sqlite_app: App) -> None:
    reference = take_in(sqlite_app)
    before = stored(sqlite_app, reference)
    refused = forged(browser).post(f"/console/cases/{reference}/act", data={"action": "assess"})
    assert refused.status_code == 403 and "Form not accepted" in refused.text
    assert stored(sqlite_app, reference) == before
    with sqlite_app.db.read() as conn:
        [logged] = UserRepository(conn).access_events(kinds=["refused"])
    assert logged["actor"] == "hana" and logged["details"]["path"] == f"/console/cases/{reference}/act"


def test_the_token_of_another_session_is_refused(browser: TestClient, sqlite_app: App, tmp_path: Path) -> None:
    reference = take_in(sqlite_app)
    with signed_in(sqlite_app, tmp_path, "ines", ["handler"]) as other:
        theirs = other.headers[FORM_TOKEN_HEADER]
    assert theirs != browser.headers[FORM_TOKEN_HEADER]
    refused = browser.post(f"/console/cases/{reference}/act", headers={FORM_TOKEN_HEADER: theirs},
                           data={"action": "assess"})
    assert refused.status_code == 403
    taken = browser.post(f"/console/cases/{reference}/act", headers={FORM_TOKEN_HEADER: ""},
                         data={"action": "assess", "form_token": form_token(browser.get("/console/queue").text)})
    assert taken.status_code == 303 and stored(sqlite_app, reference)["events"][-1]["action"] == "assess"


def test_signing_out_needs_the_token_too(browser: TestClient) -> None:
    assert forged(browser).post("/console/sign-out").status_code == 403
    assert browser.get("/console/queue").status_code == 200  # still signed in


def test_a_sign_in_form_another_site_sends_is_refused_and_signs_nobody_in(sqlite_app: App, tmp_path: Path) -> None:
    services.add_user(sqlite_app.db, sqlite_app.clock.now(), "mal", "Mal", ["handler"], {"handler"}, PASSWORD, by="admin")
    with browsing(sqlite_app, tmp_path) as victim, browsing(sqlite_app, tmp_path) as attacker:
        # the attacker's own form, token and all, sent from the victim's browser (without its cookie)
        refused = victim.post("/console/sign-in", data=sign_in_form(attacker, "mal", PASSWORD))
        assert refused.status_code == 403 and "came from another site" in refused.text
        assert SESSION_COOKIE not in refused.cookies
        bare = victim.post("/console/sign-in", data={"name": "mal", "password": PASSWORD})
        assert bare.status_code == 403 and victim.get("/console/queue").status_code == 303
    with sqlite_app.db.read() as conn:
        logged = [e for e in UserRepository(conn).access_events(kinds=["refused"])
                  if e["details"]["path"] == "/console/sign-in"]
    assert [(e["actor"], e["status"]) for e in logged] == [("mal", 403)] * 2


def test_signing_in_from_the_form_as_loaded_works_and_ends_the_forms_token(sqlite_app: App, tmp_path: Path) -> None:
    services.add_user(sqlite_app.db, sqlite_app.clock.now(), "nia", "Nia", ["handler"], {"handler"}, PASSWORD, by="admin")
    with browsing(sqlite_app, tmp_path) as browser:
        signed = browser.post("/console/sign-in", data=sign_in_form(browser, "nia", PASSWORD))
        assert signed.status_code == 303 and SESSION_COOKIE in signed.cookies
        assert SIGN_IN_COOKIE not in browser.cookies
        assert browser.get("/console/queue").status_code == 200


def test_a_refused_bulk_action_says_why_beside_its_fields_and_keeps_the_selection(
        browser: TestClient, sqlite_app: App) -> None:
    reference = take_in(sqlite_app)
    refused = browser.post("/console/queue/bulk", data={"refs": [reference], "bulk_action": "assign", "assignee": ""})
    page = refused.text
    assert refused.status_code == 422
    assert '<a href="#bulk-actions">' in page, "the top of the page points to the reasons"
    reasons = page.index("assignee: say who works the selected complaints")
    assert page.index('id="bulk-actions"') < reasons < page.index('id="bulk-action"'), "beside the bulk fields"
    assert re.search(f'value="{reference}"[^>]*checked', page), "the selection is kept"



def test_a_bulk_action_keeps_the_queues_filters_refused_or_done(browser: TestClient, sqlite_app: App) -> None:
    wanted = take_in(sqlite_app, product="Overdraft")
    take_in(sqlite_app, product="Mortgage")
    page = browser.get("/console/queue", params={"product": "Overdraft"}).text
    bulk = re.search(r'<form method="post" action="(/console/queue/bulk[^"]*)"', page)
    assert bulk and bulk.group(1) == "/console/queue/bulk?product=Overdraft"
    refused = browser.post(bulk.group(1), data={"refs": [wanted], "bulk_action": "assign", "assignee": ""})
    assert refused.status_code == 422 and 'id="f-product" name="product" value="Overdraft"' in refused.text
    assert "Mortgage" not in refused.text.split('<div id="results">')[1], "the rows the selection was made on"
    done = browser.post(bulk.group(1), data={"refs": [wanted], "bulk_action": "assign", "assignee": "hugo"})
    assert done.status_code == 303 and "product=Overdraft" in done.headers["location"]

def test_a_held_final_response_is_not_offered_for_release_to_its_author_but_to_a_second_reader(
        browser: TestClient, sqlite_app: App, tmp_path: Path) -> None:
    reference = take_in(sqlite_app)
    walk(sqlite_app, reference, ["assess", "invalid"], Actor("hana", "handler"))
    [held] = [n for n in stored(sqlite_app, reference)["notifications"] if n["status"] == "held"]
    page = browser.get(f"/console/cases/{reference}").text
    assert f"Release letter {held['id']}" not in page
    assert "waits for a second reader: hana wrote it, so another person reads it and releases it" in page
    refused = browser.post(f"/console/cases/{reference}/letters/{held['id']}", data={"do": "release"})
    assert refused.status_code == 422 and "waits for a second reader" in refused.text
    with signed_in(sqlite_app, tmp_path, "hugo", ["handler"]) as second:
        assert f"Release letter {held['id']}" in second.get(f"/console/cases/{reference}").text
        released = second.post(f"/console/cases/{reference}/letters/{held['id']}", data={"do": "release"})
    assert released.status_code == 303
    assert [n["status"] for n in stored(sqlite_app, reference)["notifications"] if n["id"] == held["id"]] == ["queued"]
