"""The console's view data, without a browser: deadlines in business words, the queue's
filters and counts, action forms' payloads, what a quality analyst is shown, the map's limits."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from casework import PAYLOADS, take_in, walk
from conftest import T0
from consolework import signed_in
from markupsafe import Markup

from complaintflow.bootstrap import App
from complaintflow.web import problem_map, quality, views
from complaintflow.web.deps import counted
from complaintflow.web.quality import MAX_CAPAS, MAX_CAUSES, MAX_CLUSTERS, Subject
from complaints.errors import InvalidInput
from complaints.steps import Actor
from escalation.due_words import calendar_of, relative
from root_cause.capa_service import create_capa
from root_cause.schemas import CapaIn

HANDLER = Actor("hana", "handler")
ANALYST = Actor("quinn", "quality")


def _calendar(app: App):  # type: ignore[no-untyped-def]
    workflow = app.registry.get("complaint", max(w.version for w in app.registry if w.name == "complaint"))
    calendar = calendar_of(workflow, "frontline")
    assert calendar is not None
    return calendar


def test_a_deadline_three_business_hours_ahead_reads_due_in_3_business_hours(sqlite_app: App) -> None:
    calendar = _calendar(sqlite_app)
    due = calendar.add_time(T0, 3 * 3600)
    assert relative(due, T0, calendar) == ("due in 3 business hours", False)


def test_a_deadline_over_the_weekend_counts_only_business_time(sqlite_app: App) -> None:
    calendar = _calendar(sqlite_app)
    friday_afternoon = T0 + timedelta(days=4, hours=6)  # Monday 09:00 UTC -> Friday 15:00 UTC
    due = calendar.add_time(friday_afternoon, 4 * 3600)  # lands on Monday
    words, overdue = relative(due, friday_afternoon, calendar)
    assert (words, overdue) == ("due in 4 business hours", False)
    assert due - friday_afternoon > timedelta(days=2)


def test_a_passed_deadline_is_overdue_by_business_time(sqlite_app: App) -> None:
    calendar = _calendar(sqlite_app)
    due = T0 + timedelta(hours=1)
    assert relative(due, T0 + timedelta(hours=3), calendar) == ("overdue by 2 business hours", True)
    assert relative(None, T0, calendar) == ("no deadline", False)


def test_a_deadline_passed_outside_business_hours_says_so(sqlite_app: App) -> None:
    calendar = _calendar(sqlite_app)
    saturday = T0 + timedelta(days=5)  # Monday 09:00 UTC -> Saturday 09:00 UTC
    assert relative(saturday + timedelta(hours=1), saturday + timedelta(hours=5), calendar) == (
        "overdue, outside business hours", True)


def test_the_queue_filters_by_product_and_counts_by_state(sqlite_app: App) -> None:
    loans = [take_in(sqlite_app, product="Payday loan") for _ in range(2)]
    other = take_in(sqlite_app, product="Current account")
    walk(sqlite_app, loans[0], ["assess"])
    data = views.queue_view(sqlite_app, views.QueueFilters(product="Payday loan"), HANDLER)
    assert {r["reference"] for r in data["rows"]} == set(loans)
    assert other not in {r["reference"] for r in data["rows"]}
    assert data["counts"] == {"acknowledged": 1, "assessing": 1}
    assert all(r["due_words"].startswith("due in ") for r in data["rows"])


def test_the_queue_marks_overdue_cases_once_their_deadline_passed(sqlite_app: App) -> None:
    reference = take_in(sqlite_app)
    sqlite_app.clock.now = lambda: T0 + timedelta(days=30)  # type: ignore[method-assign]
    row = views.queue_view(sqlite_app, views.QueueFilters(), HANDLER)["rows"][0]
    assert row["reference"] == reference
    assert row["overdue"] and row["due_words"].startswith("overdue by ")


def test_an_overdue_deadline_is_one_red_badge_that_says_by_how_much(sqlite_app: App, tmp_path: Path) -> None:
    reference = take_in(sqlite_app)
    sqlite_app.clock.now = lambda: T0 + timedelta(days=30)  # type: ignore[method-assign]
    with signed_in(sqlite_app, tmp_path, "hana", ["handler"]) as browser:
        for page in (browser.get("/console/queue").text, browser.get(f"/console/cases/{reference}").text):
            assert '<span class="badge overdue"' in page and ">overdue by " in page
            assert ">Overdue<" not in page, "the words are not said twice"


def test_a_state_no_workflow_has_is_refused_by_the_queue(sqlite_app: App) -> None:
    with pytest.raises(InvalidInput, match="state: 'investigation' is in no workflow"):
        views.queue_view(sqlite_app, views.QueueFilters(state="investigation"), HANDLER)


@pytest.mark.parametrize("role", ["handler", "quality"])
def test_the_queue_searches_the_words_of_descriptions_for_every_role(
        sqlite_app: App, tmp_path: Path, role: str) -> None:
    charged = take_in(sqlite_app, description="I was charged twice for one payment")
    other = take_in(sqlite_app, description="The branch was closed when I came")
    with signed_in(sqlite_app, tmp_path, "sam", [role]) as browser:
        found = browser.get("/console/queue?q=charged")
    assert found.status_code == 200
    assert charged in found.text and other not in found.text
    assert "was charged twice" in found.text


def test_a_search_for_personal_data_by_a_role_not_shown_it_is_refused_on_the_queue(
        sqlite_app: App, tmp_path: Path) -> None:
    take_in(sqlite_app, description="Write to anna@example.lv please")
    with signed_in(sqlite_app, tmp_path, "quinn", ["quality"]) as browser:
        refused = browser.get("/console/queue?q=anna%40example.lv")
    assert refused.status_code == 200 and '<h1>Work queue</h1>' in refused.text
    assert "Searching for personal data" in refused.text and 'class="error" role="alert"' in refused.text


def test_form_values_become_the_engines_payload(sqlite_app: App) -> None:
    reference = take_in(sqlite_app)
    workflow = sqlite_app.engine.workflow_of(sqlite_app.engine.get(reference))
    payload = views.payload_of(workflow, "valid", {"f_criteria": "in time, our product", "f_rationale": "charged twice"})
    assert payload == {"criteria": ["in time", "our product"], "rationale": "charged twice"}
    assert views.payload_of(workflow, "info_received", {"f_summary": "  "}) == {}


def test_the_engines_problems_are_put_beside_the_fields_they_name(sqlite_app: App) -> None:
    reference = take_in(sqlite_app)
    walk(sqlite_app, reference, ["assess", "valid"])
    workflow = sqlite_app.engine.workflow_of(sqlite_app.engine.get(reference))
    payload = views.payload_of(workflow, "pause", {"f_reason": "waiting", "f_resume_on": "not a date"})
    with pytest.raises(InvalidInput) as caught:
        sqlite_app.engine.advance(reference, "pause", HANDLER, payload)
    by_field, general = views.problems_by_field(caught.value, ["reason", "resume_on"])
    assert list(by_field) == ["resume_on"] and "date" in by_field["resume_on"][0]
    assert general == []


@pytest.mark.parametrize(("action", "fields", "field", "message"), [
    ("pause", {"f_reason": "waiting for the bank", "f_resume_on": "2020-01-01"}, "resume_on",
     "the resume date must be today or later"),
    ("propose", {"f_resolution": "refund", "f_reasons": "charged twice", "f_redress": "-5"}, "redress",
     "the redress is an amount paid or credited, 0 or more"),
])
def test_a_failed_guard_is_put_beside_the_field_its_condition_tests(
        sqlite_app: App, tmp_path: Path, action: str, fields: dict[str, str], field: str, message: str) -> None:
    reference = take_in(sqlite_app)
    walk(sqlite_app, reference, ["assess", "valid"])
    with signed_in(sqlite_app, tmp_path, "hana", ["handler"]) as browser:
        refused = browser.post(f"/console/cases/{reference}/act", data={"action": action, **fields})
    assert refused.status_code == 422
    assert f'<p class="field-error" id="f-{action}-{field}-e">{message}</p>' in refused.text
    assert f"Can&#39;t &#39;{action}&#39; complaint {reference} in state &#39;investigating&#39;</p>" in refused.text
    assert sqlite_app.engine.get(reference).state == "investigating"


def test_action_forms_take_their_input_types_from_the_workflow(sqlite_app: App) -> None:
    reference = take_in(sqlite_app)
    walk(sqlite_app, reference, ["assess", "valid"])
    page = views.case_page(sqlite_app, reference, HANDLER)
    pause = next(f for f in page["forms"] if f["action"] == "pause")
    assert {f.name: f.input for f in pause["form_fields"]} == {"reason": "textarea", "resume_on": "date"}


def test_recorded_values_read_as_words_not_as_python(sqlite_app: App, tmp_path: Path) -> None:
    reference = take_in(sqlite_app)
    walk(sqlite_app, reference, ["assess", "valid", "propose"])
    with signed_in(sqlite_app, tmp_path, "hana", ["handler"]) as browser:
        page = browser.get(f"/console/cases/{reference}").text
    assert "<dt>Outcome communicated</dt><dd>yes</dd>" in page
    assert "<dd>within 6 years, our product</dd>" in page  # the criteria, a list, in the timeline
    assert "rationale: the fee was charged twice;" in page  # the assessment record, a mapping
    for python in ("True", "False", "[&#39;", "{&#39;", "+00:00"):
        assert python not in page.split('<div class="columns">')[1]


def test_a_quality_analyst_sees_a_case_and_its_customer_without_names(sqlite_app: App) -> None:
    reference = take_in(sqlite_app, customer={"name": "Anna Bērziņa", "email": "anna@example.lv"},
                        description="Anna Bērziņa was charged twice")
    page = views.case_page(sqlite_app, reference, ANALYST)
    assert not page["sees_personal_data"]
    assert page["view"]["customer"]["name"] is None
    assert "Bērziņa" not in repr(page["view"])
    customer = views.customer_page(sqlite_app, page["view"]["customer"]["pseudonym"], ANALYST)
    assert customer is not None and "Bērziņa" not in repr(customer) and "anna@" not in repr(customer)
    handler_view = views.customer_page(sqlite_app, page["view"]["customer"]["pseudonym"], HANDLER)
    assert handler_view is not None and handler_view["customer"]["name"] == "Anna Bērziņa"


def test_a_customers_page_shows_their_complaints_a_page_at_a_time_and_counts_them_all(
        app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "CUSTOMER_PAGE_SIZE", 5)
    anna = {"name": "Anna Bērziņa", "email": "anna@example.lv"}
    references = [take_in(app, customer=anna) for _ in range(12)]
    walk(app, references[0], ["assess", "invalid"])
    pseudonym = views.case_page(app, references[0], HANDLER)["view"]["customer"]["pseudonym"]
    pages = [views.customer_page(app, pseudonym, HANDLER, n) for n in (1, 2, 3, 4)]
    assert [[c["reference"] for c in p["complaints"]] for p in pages if p] == [
        references[:6:-1], references[6:1:-1], references[1::-1], []]
    assert all(p and p["total"] == 12 for p in pages)
    assert [p["more"] for p in pages if p] == [True, True, False, False]
    assert [p["first"] for p in pages if p] == [1, 6, 11, 0]
    closed = app.engine.get(references[0]).state in views.DONE_STATES
    assert pages[3] and pages[3]["open"] == 12 - closed
    with signed_in(app, tmp_path, "hana", ["handler"]) as browser:
        second = browser.get(f"/console/customers/{pseudonym}?page=2").text
        assert "12 complaints, " in second and "Showing 6–10, newest first." in second
        assert '<a href="?page=1">Newer complaints</a>' in second and '<a href="?page=3">Older complaints</a>' in second
        assert references[6] in second and references[7] not in second
        assert "Showing 1–5" in browser.get(f"/console/customers/{pseudonym}?page=nonsense").text


def test_the_pareto_counts_only_the_period_asked_for(sqlite_app: App) -> None:
    reference = take_in(sqlite_app)
    walk(sqlite_app, reference, ["assess", "valid", "propose", "accept", "start_follow_up", "satisfied", "close"])
    assert quality.pareto(sqlite_app, "30d")["rows"][0]["code"] == PAYLOADS["close"]["root_cause_code"]
    sqlite_app.clock.now = lambda: T0 + timedelta(days=60)  # type: ignore[method-assign]
    assert quality.pareto(sqlite_app, "30d")["rows"] == []
    assert quality.pareto(sqlite_app, "90d")["total"] == 1
    with pytest.raises(InvalidInput, match="period"):
        quality.pareto(sqlite_app, "fortnight")


def _many_subjects(causes: int, clusters: int, capas: int) -> dict[str, object]:
    return {
        "root_causes": [Subject(f"CAUSE.{i}", "root_cause", f"CAUSE.{i}", 100 - i) for i in range(causes)],
        "clusters": [Subject(f"cluster:C-{i}", "cluster", f"<b>term{i}</b>, fee, charge", 2 + i % 50,
                             f"CAUSE.{i % (causes or 1)}" if causes else None) for i in range(clusters)],
        "capas": [Subject(str(i), "capa", f"CAPA {i}", 1, f"CAUSE.{i % (causes or 1)}" if causes else None, "t")
                  for i in range(capas)],
    }


@pytest.mark.parametrize(("move", "said"), [("implement", "CAPA 1 implemented"), ("cancel", "CAPA 1 cancelled")])
def test_moving_a_capa_says_the_status_it_reached(sqlite_app: App, tmp_path: Path, move: str, said: str) -> None:
    now = sqlite_app.clock.now()
    create_capa(sqlite_app.db, sqlite_app.taxonomy, now, CapaIn(title="Fix the double-capture job", owner="ops",
                due_at=now + timedelta(days=30), root_causes=["BILLING.DUPLICATE"]), ANALYST)
    with signed_in(sqlite_app, tmp_path, "quinn", ["quality"]) as browser:
        moved = browser.post("/console/quality/capas/1", data={"do": move})
        assert moved.status_code == 303
        board = browser.get(moved.headers["location"]).text
    assert f'<p class="done" role="status">{said}</p>' in board


def test_the_map_draws_every_subject_it_is_given_once_each() -> None:
    data = _many_subjects(MAX_CAUSES, MAX_CLUSTERS, MAX_CAPAS)
    _, placed, _ = problem_map.layout(data)
    assert len(placed) == MAX_CAUSES + MAX_CLUSTERS + MAX_CAPAS <= 300
    picture = problem_map.svg(data, "/console")
    assert isinstance(picture, Markup)
    assert picture.count("<a ") == len(placed)
    assert "<b>" not in picture and "&lt;b&gt;term1&lt;/b&gt;" in picture  # labels are text, never markup


def test_the_map_keeps_labels_in_cells_that_do_not_overlap() -> None:
    _, placed, _ = problem_map.layout(_many_subjects(5, 120, 5))
    spots = [(round(p.x), round(p.y)) for p in placed]
    assert len(spots) == len(set(spots))
    assert all(p.x + problem_map.CELL / 2 <= problem_map.WIDTH for p in placed)


def test_problem_subjects_cap_the_clusters_drawn_and_say_how_many_are_left_out(sqlite_app: App) -> None:
    data = quality.problem_subjects(sqlite_app)
    assert data["clusters"] == [] and data["hidden_clusters"] == 0
    assert len(data["root_causes"]) <= MAX_CAUSES


def test_the_consoles_queue_reads_the_same_rows_in_the_same_order_as_list_cases(app: App) -> None:
    from workflows.queries import list_cases, work_queue

    references = [take_in(app, product="Payday loan" if i % 2 else "Current account") for i in range(12)]
    walk(app, references[0], ["assess", "invalid"])  # its final letter waits for review: attention
    walk(app, references[1], ["assess", "valid", "propose"])
    walk(app, references[2], ["assess", "need_info"])
    walk(app, references[3], ["assess"])
    app.clock.now = lambda: T0 + timedelta(days=3)  # type: ignore[method-assign]
    for filters in ({}, {"product": "Payday loan"}, {"state": "acknowledged"}, {"state": "closed"},
                    {"references": references[:5]}):
        for limit, offset in ((50, 0), (3, 0), (3, 3), (5, 10)):
            expected = list_cases(app.engine, limit=limit, offset=offset, **filters)  # type: ignore[arg-type]
            assert work_queue(app.engine, limit=limit, offset=offset, **filters) == expected  # type: ignore[arg-type]
    assert work_queue(app.engine)[0]["attention"] == "letter 'assessment_invalid' held for review"


def test_a_console_address_that_is_wrong_gets_a_page_and_the_apis_keep_their_json(
        sqlite_app: App, tmp_path: Path) -> None:
    with signed_in(sqlite_app, tmp_path, "quinn", ["quality"]) as browser:
        incomplete = browser.get("/console/quality/map/cluster")
        missing = browser.get("/console/no-such-page")
        api_missing = browser.get("/no-such-endpoint")
        api_invalid = browser.get("/complaints", params={"per_page": 0})
    assert incomplete.status_code == 422 and incomplete.headers["content-type"].startswith("text/html")
    assert "This address is not complete" in incomplete.text and "key: Field required" in incomplete.text
    assert missing.status_code == 404 and "There is no such page in the console." in missing.text
    assert api_missing.status_code == 404 and api_missing.json()["error"]["type"] == "NotFound"
    assert api_invalid.status_code == 422 and api_invalid.json()["detail"][0]["loc"] == ["query", "per_page"]


@pytest.mark.parametrize(("n", "words"), [(0, "0 complaints"), (1, "1 complaint"), (1204, "1,204 complaints")])
def test_counts_read_as_words_not_as_complaint_s(n: int, words: str) -> None:
    assert counted(n, "complaint") == words


def test_times_are_time_elements_that_never_break_at_their_hyphens(sqlite_app: App, tmp_path: Path) -> None:
    reference = take_in(sqlite_app)
    with signed_in(sqlite_app, tmp_path, "hana", ["handler"]) as browser:
        case = browser.get(f"/console/cases/{reference}").text
        queue = browser.get("/console/queue").text
        css = browser.get("/console/static/console.css").text
    assert f'<time datetime="{T0:%Y-%m-%dT%H:%M:%S}Z">{T0:%Y-%m-%d %H:%M} UTC</time>' in case
    assert "time { white-space: nowrap; }" in css
    assert 'title="<time' not in queue and " UTC\">" in queue, "an attribute holds the time as text"


def test_a_product_filter_that_finds_nothing_offers_the_products_named_like_it(
        sqlite_app: App, tmp_path: Path) -> None:
    payday = "Payday loan, title loan, or personal loan"
    reference = take_in(sqlite_app, product=payday)
    take_in(sqlite_app, product="Current account")
    with signed_in(sqlite_app, tmp_path, "hana", ["handler"]) as browser:
        page = browser.get("/console/queue", params={"product": "payday"}).text
        assert "No complaints match these filters." in page and reference not in page
        assert "did you mean" in page and f">{payday}</a>" in page and "Current account</a>" not in page
        assert reference in browser.get("/console/queue", params={"product": payday}).text
    assert views.products_like(sqlite_app, "%") == [] and views.products_like(sqlite_app, "_") == []


def test_a_likely_duplicate_says_which_of_the_two_came_first(sqlite_app: App, tmp_path: Path) -> None:
    words = "The overdraft fee was charged twice on my current account this month"
    first = take_in(sqlite_app, description=words, external_id="D-1")
    second = take_in(sqlite_app, description=words + ".", external_id="D-2")
    with signed_in(sqlite_app, tmp_path, "hana", ["handler"]) as browser:
        seen_from_later = browser.get(f"/console/cases/{second}/related", headers={"HX-Request": "true"}).text
        seen_from_first = browser.get(f"/console/cases/{first}/related", headers={"HX-Request": "true"}).text
    assert first in seen_from_later and "duplicate of (received earlier: the original)" in seen_from_later
    assert second in seen_from_first and "duplicate of (received later)" in seen_from_first
