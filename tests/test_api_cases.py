"""The HTTP API over the CLI's services: intake, the queue, a case and its actions, advancing
(stale versions and concurrent writers on both databases), SLA, related complaints and links,
CAPAs, erasure, search, notes and customer history, and input it refuses."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from apiserver import Api
from casework import PAYLOADS, take_in, walk

from complaints.steps import Actor
from workflows.integrity import check_integrity

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)> [bold]Ünïcode[/bold]'


def _complaint(**extra: Any) -> dict[str, Any]:
    return {"product": "Current account", "description": "I was charged twice for one transfer.", **extra}


def test_a_malformed_email_or_language_is_refused_saying_what_it_should_look_like(sqlite_api: Api) -> None:
    client = sqlite_api.as_new_user("hana", "handler")
    bad = client.post("/complaints", json=_complaint(language="english", customer={"email": "anna"}))
    assert bad.status_code == 422
    assert {(tuple(e["loc"]), e["msg"]) for e in bad.json()["detail"]} == {
        (("body", "language"), "not a language code (ISO 639: en, lv, el), got 'english'"),
        (("body", "customer", "email"), "not an email address (name@example.com), got 'anna'")}
    assert client.get("/complaints").json() == []


def test_a_date_written_otherwise_is_refused_saying_the_form_expected(sqlite_api: Api) -> None:
    client = sqlite_api.as_new_user("hana", "handler")
    bad = client.post("/complaints", json=_complaint(received_at="14/12/2026"))
    assert bad.status_code == 422
    assert [(e["loc"], e["msg"]) for e in bad.json()["detail"]] == [
        (["body", "received_at"], "not a date written YYYY-MM-DD or as an ISO 8601 time (2026-12-14T09:30:00Z), "
                                  "got '14/12/2026'")]


def test_a_search_whose_dates_are_the_wrong_way_round_names_the_later_parameter(sqlite_api: Api) -> None:
    client = sqlite_api.as_new_user("hana", "handler")
    backwards = client.get("/complaints", params={"received_from": "2026-02-01", "received_to": "2026-01-01"})
    assert (backwards.status_code, backwards.json()["detail"]) == (422, [
        {"loc": ["query", "received_to"], "msg": "2026-01-01 is before received_from (2026-02-01)",
         "type": "value_error"}])


def test_intake_takes_in_and_acknowledges_and_a_known_external_id_stores_nothing_new(api: Api) -> None:
    client = api.as_new_user("hana", "handler")
    made = client.post("/complaints", json=_complaint(external_id="CRM-1", customer={"email": "a@example.lv"}))
    assert made.status_code == 201, made.text
    assert (made.json()["state"], made.json()["created"]) == ("acknowledged", True)
    again = client.post("/complaints", json=_complaint(external_id="CRM-1"))
    assert again.status_code == 200
    assert (again.json()["reference"], again.json()["created"]) == (made.json()["reference"], False)
    assert made.json()["events"][0]["actor"] == "hana"


def test_a_role_not_shown_personal_data_may_not_take_complaints_in(api: Api) -> None:
    quality = api.as_new_user("quinn", "quality")
    refused = quality.post("/complaints", json=_complaint(external_id="Q-1"))
    assert refused.status_code == 403 and "may not take complaints in" in refused.text
    assert quality.post("/complaints/batch", json={"complaints": [_complaint()]}).status_code == 403


def test_batch_intake_takes_in_every_complaint_and_a_bad_row_is_named_with_nothing_stored(api: Api) -> None:
    client = api.as_new_user("hana", "handler")
    bad = client.post("/complaints/batch", json={"complaints": [_complaint(), _complaint(product="")]})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "complaints", 1, "product"]
    assert client.get("/complaints").json() == []
    good = client.post("/complaints/batch", json={"complaints": [_complaint(), _complaint(external_id="X-1")]})
    assert [c["row"] for c in good.json()["created"]] == [1, 2]
    assert len(client.get("/complaints").json()) == 2


def test_the_work_queue_filters_and_refuses_an_unknown_state_naming_it(api: Api) -> None:
    client = api.as_new_user("hana", "handler")
    first, second = take_in(api.app), take_in(api.app)
    walk(api.app, first, ["assess"])
    assert [r["reference"] for r in client.get("/complaints", params={"state": "assessing"}).json()] == [first]
    assert {r["reference"] for r in client.get("/complaints").json()} == {first, second}
    unknown = client.get("/complaints", params={"state": "asessing"})
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["query", "state"]


def test_a_case_comes_with_the_actions_the_callers_role_may_take_and_markup_as_data(api: Api) -> None:
    handler = api.as_new_user("hana", "handler")
    reference = handler.post("/complaints", json=_complaint(description=SCRIPT)).json()["reference"]
    view = handler.get(f"/complaints/{reference}")
    assert view.headers["content-type"] == "application/json"
    assert view.json()["complaint"]["description"] == SCRIPT
    assert {a["action"] for a in view.json()["actions"] if a["allowed"]} >= {"assess"}
    quality = api.as_new_user("quinn", "quality")
    assert not [a for a in quality.get(f"/complaints/{reference}").json()["actions"] if a["allowed"]]
    assert handler.get("/complaints/C-2026-999999").status_code == 404


def test_advancing_with_a_stale_version_is_409_with_the_current_version_and_writes_nothing(api: Api) -> None:
    client = api.as_new_user("hana", "handler")
    reference = take_in(api.app)
    version = client.get(f"/complaints/{reference}").json()["version"]
    moved = client.post(f"/complaints/{reference}/advance", json={"action": "assess", "expected_version": version})
    assert moved.status_code == 200
    assert (moved.json()["from"], moved.json()["to"], moved.json()["version"]) == ("acknowledged", "assessing",
                                                                                  version + 1)
    stale = client.post(f"/complaints/{reference}/advance",
                        json={"action": "valid", "payload": PAYLOADS["valid"], "expected_version": version})
    assert stale.status_code == 409
    assert stale.json()["error"]["current_version"] == version + 1
    assert api.app.engine.get(reference).state == "assessing"


def test_two_clients_advancing_the_same_version_at_once_one_wins_and_one_gets_409(api: Api) -> None:
    tokens = [api.user(name, "handler") for name in ("ana", "ben")]
    reference = take_in(api.app)
    walk(api.app, reference, ["assess"])
    version = api.app.engine.get(reference).version
    barrier, codes = threading.Barrier(2), []

    def advance(token: str) -> None:
        with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
            barrier.wait()
            codes.append(c.post(f"/complaints/{reference}/advance", json={
                "action": "valid", "payload": PAYLOADS["valid"], "expected_version": version}).status_code)

    threads = [threading.Thread(target=advance, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(codes) == [200, 409]
    assert api.app.engine.get(reference).version == version + 1
    assert check_integrity(api.app.db, api.app.registry).ok


def test_a_bad_payload_is_422_naming_the_field_inside_the_payload(api: Api) -> None:
    client = api.as_new_user("hana", "handler")
    reference = take_in(api.app)
    walk(api.app, reference, ["assess"])
    bad = client.post(f"/complaints/{reference}/advance", json={"action": "valid", "payload": {"criteria": 3}})
    assert bad.status_code == 422
    assert ["body", "payload", "rationale"] in [e["loc"] for e in bad.json()["detail"]]


def test_advance_many_is_all_or_nothing(api: Api) -> None:
    client = api.as_new_user("hana", "handler")
    a, b = take_in(api.app), take_in(api.app)
    refused = client.post("/advance-many", json={"moves": [{"reference": a, "action": "assess"},
                                                           {"reference": b, "action": "accept"}]})
    assert refused.status_code == 409
    assert api.app.engine.get(a).state == "acknowledged"
    done = client.post("/advance-many", json={"moves": [{"reference": a, "action": "assess"},
                                                        {"reference": b, "action": "assess"}]})
    assert [m["to"] for m in done.json()] == ["assessing", "assessing"]


def test_advance_many_names_the_move_refused_and_where_its_bad_payload_field_is(api: Api) -> None:
    client = api.as_new_user("hana", "handler")
    a = take_in(api.app)
    refused = client.post("/advance-many", json={"moves": [{"reference": a, "action": "assess"},
                                                           {"reference": a, "action": "accept"}]})
    assert (refused.status_code, refused.json()["error"]["move"]) == (409, 2)
    bad = client.post("/advance-many", json={"moves": [{"reference": a, "action": "assess"},
                                                       {"reference": a, "action": "assign",
                                                        "payload": {"asignee": "ines"}}]})
    assert bad.status_code == 422
    assert [e["loc"] for e in bad.json()["detail"]] == [["body", "moves", 1, "payload", "assignee"],
                                                        ["body", "moves", 1, "payload", "asignee"]]
    assert api.app.engine.get(a).state == "acknowledged"


def test_sla_explain_and_due_and_a_bad_within_is_named_as_the_parameter(sqlite_api: Api) -> None:
    client = sqlite_api.as_new_user("hana", "handler")
    reference = take_in(sqlite_api.app)
    clocks = client.get(f"/complaints/{reference}/sla").json()
    with_clocks = client.get(f"/complaints/{reference}", params={"clocks": True}).json()["clocks"]
    assert [c["name"] for c in with_clocks] == [c["name"] for c in clocks["clocks"]]
    assert "clocks" not in client.get(f"/complaints/{reference}").json()
    assert clocks["reference"] == reference and clocks["clocks"]
    assert all(c["explanation"] for c in clocks["clocks"])
    due = client.get("/sla/due", params={"within": "30d"})
    assert due.status_code == 200 and reference in {r["reference"] for r in due.json()}
    soon = client.get("/sla/due", params={"within": "soon"})
    assert soon.status_code == 422
    assert soon.json()["detail"] == [{"loc": ["query", "within"], "msg": "'soon': use 8h, 90m, 2d or PT8H",
                                      "type": "value_error"}]


def test_related_complaints_can_be_confirmed_or_rejected_by_quality_but_not_by_a_handler(sqlite_api: Api) -> None:
    from root_cause.services import run_linking

    words = "The monthly account fee was charged twice on my current account this month."
    first, second = (take_in(sqlite_api.app, description=words) for _ in range(2))
    run_linking(sqlite_api.app.db, sqlite_api.app.clock.now())
    handler = sqlite_api.as_new_user("hana", "handler")
    related = handler.get(f"/complaints/{second}/related").json()
    link = next(r for r in related if r["reference"] == first)
    assert link["link_id"] is not None
    assert handler.post(f"/links/{link['link_id']}/confirm", json={}).status_code == 403
    quality = sqlite_api.as_new_user("quinn", "quality")
    rejected = quality.post(f"/links/{link['link_id']}/reject", json={"reason": "different months"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert first not in {r["reference"] for r in handler.get(f"/complaints/{second}/related").json()}


def test_capas_are_opened_and_moved_by_quality_and_the_report_is_read_by_anyone(sqlite_api: Api) -> None:
    quality = sqlite_api.as_new_user("quinn", "quality")
    handler = sqlite_api.as_new_user("hana", "handler")
    body = {"title": "Fix the double-capture job", "owner": "ops", "due_at": "2027-01-31T00:00:00Z",
            "root_causes": ["BILLING.DUPLICATE"]}
    assert handler.post("/capas", json=body).status_code == 403
    made = quality.post("/capas", json=body)
    assert made.status_code == 201, made.text
    capa = made.json()["id"]
    assert quality.post(f"/capas/{capa}/implement", json={}).json()["status"] == "implemented"
    assert quality.post(f"/capas/{capa}/implement", json={}).status_code == 422  # not from implemented
    assert [c["id"] for c in handler.get("/capas").json()] == [capa]
    assert handler.get(f"/capas/{capa}").json()["id"] == capa
    assert "pareto" in handler.get("/rootcause/report").json()
    assert quality.post("/capas", json=body | {"root_causes": ["NO.SUCH.CODE"]}).status_code == 422


def test_erasure_is_for_a_supervisor_names_the_customer_once_and_keeps_the_audit_trail_valid(api: Api) -> None:
    handler = api.as_new_user("hana", "handler")
    made = handler.post("/complaints", json=_complaint(customer={"name": "Anna Bērziņa", "email": "anna@example.lv"},
                                                       description="Anna Bērziņa was charged twice."))
    reference = made.json()["reference"]
    body = {"email": "anna@example.lv", "reason": "request of 2 Dec"}
    assert handler.post("/erasures", json=body).status_code == 403
    supervisor = api.as_new_user("sam", "supervisor")
    both = supervisor.post("/erasures", json=body | {"reference": reference})
    assert (both.status_code, both.json()["detail"]) == (422, [
        {"loc": ["body"], "msg": "give exactly one of email or reference", "type": "value_error"}])
    erased = supervisor.post("/erasures", json=body)
    assert erased.status_code == 200 and erased.json()["complaints_kept"] == [reference]
    assert "Bērziņa" not in handler.get(f"/complaints/{reference}").text
    assert check_integrity(api.app.db, api.app.registry).ok


def test_search_notes_and_customer_history_as_the_role_may_see_them(api: Api) -> None:
    handler = api.as_new_user("hana", "handler")
    reference = handler.post("/complaints", json=_complaint(
        customer={"name": "Anna Bērziņa", "email": "anna@example.lv"},
        description="The overdraft fee appeared twice.")).json()["reference"]
    other = take_in(api.app, description="The app crashes on login.")
    note = handler.post(f"/complaints/{reference}/notes", json={"text": "Called the customer about the refund"})
    assert note.status_code == 201 and note.json()["actor"] == "hana"
    found = handler.get("/complaints", params={"q": "refund"}).json()
    assert [h["reference"] for h in found["hits"]] == [reference] and found["hits"][0]["source"] == "note"
    assert [h["reference"] for h in handler.get("/complaints", params={"q": "crashes"}).json()["hits"]] == [other]
    assert handler.get("/complaints", params={"q": "fee", "received_from": "2030-01-01"}).json()["total"] == 0
    history = handler.get("/customers/anna@example.lv").json()
    assert [c["reference"] for c in history["complaints"]] == [reference]
    assert (history["total"], history["page"], history["pages"]) == (1, 1, 1)
    assert handler.get("/customers/anna@example.lv", params={"page": 2}).json()["complaints"] == []
    too_many = handler.get("/customers/anna@example.lv", params={"per_page": 501})
    assert too_many.status_code == 422 and "per_page" in too_many.text
    assert history["customer"]["name"] == "Anna Bērziņa"
    quality = api.as_new_user("quinn", "quality")
    assert quality.get("/customers/anna@example.lv").status_code in (403, 404)
    customer_id = history["customer"]["id"]
    seen = quality.get(f"/customers/{customer_id}").json()
    assert seen["customer"]["name"] is None and "Bērziņa" not in str(seen)
    events = handler.get(f"/complaints/{reference}").json()["events"]
    assert (events[-1]["action"], events[-1]["origin"]) == ("note", "api")
    comment = handler.post(f"/complaints/{reference}/notes", json={"text": "Your refund is on its way", "public": True})
    assert comment.status_code == 201
    letters = handler.get(f"/complaints/{reference}").json()["notifications"]
    assert [(n["template"], n["body"], n["status"]) for n in letters][-1] == (
        "comment", "Your refund is on its way", "queued"), "a comment for the customer is sent to them"
    assert check_integrity(api.app.db, api.app.registry).ok


def test_an_oversized_body_is_413_whether_its_length_is_given_or_not(sqlite_api: Api, tmp_path: Path) -> None:
    client = sqlite_api.as_new_user("hana", "handler")
    limit = sqlite_api.app.settings.api_max_body_bytes
    big = b'{"product": "x", "description": "' + b"a" * (3 * 1_000_000) + b'"}'
    assert len(big) > limit
    sized = client.post("/complaints", content=big, headers={"content-type": "application/json"})
    assert sized.status_code == 413 and sized.json()["error"]["type"] == "TooLarge"

    def chunks() -> Iterator[bytes]:
        for at in range(0, len(big), 65536):
            yield big[at:at + 65536]

    streamed = client.post("/complaints", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert client.get("/complaints").json() == []


def test_malformed_json_and_unknown_fields_are_422_naming_where(sqlite_api: Api) -> None:
    client = sqlite_api.as_new_user("hana", "handler")
    broken = client.post("/complaints", content=b'{"product": ', headers={"content-type": "application/json"})
    assert broken.status_code == 422
    unknown = client.post("/complaints", json=_complaint(colour="red"))
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "colour"]
    nul = client.post("/complaints", json=_complaint(description="a\x00b"))
    assert nul.status_code == 422 and nul.json()["detail"][0]["loc"][-1] == "description"


def test_the_step_actor_is_never_taken_from_the_payload(sqlite_api: Api) -> None:
    client = sqlite_api.as_new_user("hana", "handler")
    reference = take_in(sqlite_api.app, Actor("someone", "handler"))
    client.post(f"/complaints/{reference}/advance", json={"action": "assess", "payload": {}})
    response = client.post(f"/complaints/{reference}/advance",
                           json={"action": "valid", "payload": PAYLOADS["valid"], "actor": "mallory"})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", "actor"]
    assert [e["actor"] for e in client.get(f"/complaints/{reference}").json()["events"]][-1] == "hana"


@pytest.mark.parametrize("params", [{"assignee": "a\x00b"}, {"q": "fee\x00"}, {"product": "\x00"},
                                    {"customer": "x\x00@example.lv"}])
def test_a_nul_character_in_a_query_is_422_naming_the_parameter_on_both_databases(
        api: Api, params: dict[str, str]) -> None:
    response = api.as_new_user("hana", "handler").get("/complaints", params=params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", next(iter(params))]
