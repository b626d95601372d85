"""Every duration, date, number and text a definition or an input holds is within sane bounds:
out of them it is refused naming the field (and the line of a file), and nothing is written."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from casework import register_variant, shipped_document, stored, take_in
from sqlalchemy import text as sql

from complaintflow.bootstrap import App
from complaints.errors import InvalidInput, InvalidWorkflow
from complaints.limits import (
    CATEGORY_MAX,
    COMPANY_MAX,
    DESCRIPTION_MAX,
    EMAIL_MAX,
    EXTERNAL_ID_MAX,
    JSON_LINE_MAX,
    JSON_MAX_DEPTH,
    MAX_NUMBER,
    NAME_MAX,
    PAYLOAD_LIST_MAX,
    PAYLOAD_STR_MAX,
    PAYLOAD_TEXT_MAX,
    PRODUCT_MAX,
    REGION_MAX,
    check_value,
    iso_duration,
    json_depth,
)
from complaints.moves import read_moves
from complaints.schemas import parse_complaint
from complaints.steps import Actor
from workflows.loader import parse_workflow

Doc = dict[str, Any]
TEN_YEARS = "must be at most ten years (P10Y, 3653 days)"
DATES = "must be a date from 1900-01-01 to 2200-12-31"


def problem_at_its_line(change: Callable[[Doc], object], key: str) -> str:
    """The one problem of the shipped workflow with ``change``, checked to name the line that
    holds ``key``; returned without its line number."""
    doc = copy.deepcopy(shipped_document())
    change(doc)
    text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    with pytest.raises(InvalidWorkflow) as caught:
        parse_workflow(text, source="bounds.yaml")
    assert len(caught.value.problems) == 1, caught.value.problems
    line, rest = re.fullmatch(r"line (\d+), (.*)", caught.value.problems[0], re.DOTALL).groups()  # type: ignore[union-attr]
    assert key in text.splitlines()[int(line) - 1], (key, text.splitlines()[int(line) - 1])
    return rest


# -- durations, dates and numbers in a definition -------------------------------------------------

def _timer(doc: Doc) -> None:
    doc["states"]["awaiting_customer"]["timers"][0]["after"] = "P99999Y"


def _fca(doc: Doc, **changes: Any) -> None:
    doc["regulatory"]["clocks"]["fca"].update(changes)


@pytest.mark.parametrize("change, key, expected", [
    (_timer, "after:", f"states.awaiting_customer.timers.0.after: Value error, {TEN_YEARS}; got P99999Y"),
    (lambda d: d["states"]["awaiting_customer"]["timers"][0].update(after="PT0S"), "after:",
     "states.awaiting_customer.timers.0.after: Value error, must be a duration longer than zero; got PT0S"),
    (lambda d: d["timeline"].update(assessment="-P5D"), "assessment:",
     "timeline.assessment: Value error, must be a duration longer than zero; got -P5D"),
    (lambda d: d["timeline"].update(assessment="P11Y"), "assessment:",
     f"timeline.assessment: Value error, {TEN_YEARS}; got P11Y"),
    (lambda d: d["escalation"]["repeat"].update(within="P20Y"), "within:",
     f"escalation.repeat.within: Value error, {TEN_YEARS}; got P20Y"),
    (lambda d: d["sla"]["clocks"]["resolution"]["targets"]["frontline"].update(low="PT99999H"), "low:",
     "sla.clocks.resolution.targets.frontline.low: Value error, 'PT99999H' must be at most ten years (P3653D, "
     "counting every day and hour)"),
    (lambda d: d["sla"]["clocks"]["resolution"]["targets"]["frontline"].update(low="P" + "9" * 5000 + "D"), "low:",
     "sla.clocks.resolution.targets.frontline.low: Value error, 'P" + "9" * 5000 + "D' must be at most ten years (P3653D)"),
    (lambda d: d["sla"]["calendars"]["gb"].update(closures=[date(1800, 1, 1)]), "1800-01-01",
     f"sla.calendars.gb.closures.0: Value error, {DATES}; got 1800-01-01"),
    (lambda d: _fca(d, milestones={"final_response": {"label": "late", "calendar_days": 99999}}), "calendar_days:",
     "regulatory.clocks.fca.milestones.final_response.calendar_days: Input should be less than or equal to 3653"),
    (lambda d: _fca(d, milestones={"final_response": {"label": "late", "calendar_days": 56, "letter_lead": "P11Y"}}),
     "letter_lead:", f"regulatory.clocks.fca.milestones.final_response.letter_lead: Value error, {TEN_YEARS}; got P11Y"),
    (lambda d: _fca(d, refer_within_months=1200), "refer_within_months:",
     "regulatory.clocks.fca.refer_within_months: Input should be less than or equal to 120"),
    (lambda d: d.update(version=10**12), "version:", "version: Input should be less than or equal to 1000000"),
    (lambda d: d["transitions"]["assign"].update(set={"priority": float("inf")}), "priority:",
     f"transitions.assign.set.priority: Value error, must be a finite number from -{MAX_NUMBER} to {MAX_NUMBER}; got inf"),
    (lambda d: d["transitions"]["assign"].update(set={"due": date(1, 1, 1)}), "due:",
     f"transitions.assign.set.due: Value error, {DATES}; got 0001-01-01"),
    (lambda d: d["transitions"]["pause"]["guards"][0].update(gte=date(2500, 1, 1)), "gte:",
     f"transitions.pause.guards.0.gte: Value error, {DATES}; got 2500-01-01"),
    (lambda d: d["transitions"]["assign"]["fields"]["assignee"].update(min_length=5000), "assignee:",
     "transitions.assign.fields.assignee: Value error, min_length 5000 is more than a 'str' field holds (1000)"),
])
def test_a_definition_beyond_the_bounds_is_refused_naming_the_field_and_its_line(
        change: Callable[[Doc], object], key: str, expected: str) -> None:
    assert problem_at_its_line(change, key) == expected


def test_durations_and_dates_at_the_bounds_are_accepted() -> None:
    doc = copy.deepcopy(shipped_document())
    doc["states"]["awaiting_customer"]["timers"][0]["after"] = "P10Y"
    doc["timeline"]["assessment"] = "P3653D"
    doc["sla"]["calendars"]["gb"]["closures"] = [date(1900, 1, 1), date(2200, 12, 31)]
    doc["sla"]["clocks"]["resolution"]["targets"]["frontline"]["low"] = "P3653D"
    workflow = parse_workflow(yaml.safe_dump(doc, sort_keys=False), "edge.yaml")
    assert workflow.spec.states["awaiting_customer"].timers[0].after == timedelta(days=3650)


@pytest.mark.parametrize("value, shown", [
    (timedelta(days=36499635), "P36499635D"), (timedelta(days=1, hours=4, minutes=30), "P1DT4H30M"),
    (timedelta(0), "P0D"), (-timedelta(days=1), "-P1D"), (timedelta(seconds=5), "PT5S"),
])
def test_a_duration_is_named_in_a_message_as_iso_8601_writes_it(value: timedelta, shown: str) -> None:
    assert iso_duration(value) == shown


def test_a_value_a_definition_writes_is_checked_inside_lists_and_mappings_too() -> None:
    assert check_value({"a": [1, "x", date(2026, 1, 1), True]}) == {"a": [1, "x", date(2026, 1, 1), True]}
    with pytest.raises(ValueError, match="got nan"):
        check_value({"a": [1, float("nan")]})


# -- an action's payload -------------------------------------------------------------------------

FIGURES = {
    "title": {"type": "str", "required": False}, "body": {"type": "text", "required": False},
    "amount": {"type": "int", "required": False}, "rate": {"type": "float", "required": False},
    "due": {"type": "date", "required": False}, "at": {"type": "datetime", "required": False},
    "tags": {"type": "list", "required": False},
}


def _with_figures(doc: Doc) -> None:
    doc["transitions"]["note_figures"] = {"from": "*", "roles": ["handler"], "fields": FIGURES}


@pytest.fixture
def figures_case(app: App) -> str:
    register_variant(app, _with_figures)
    return take_in(app)


@pytest.mark.parametrize("payload, problem", [
    ({"title": "x" * (PAYLOAD_STR_MAX + 1)}, "title: String should have at most 1000 characters"),
    ({"body": "x" * (PAYLOAD_TEXT_MAX + 1)}, "body: String should have at most 100000 characters"),
    ({"amount": 2**60}, f"amount: Input should be less than or equal to {MAX_NUMBER}"),
    ({"amount": -(2**60)}, f"amount: Input should be greater than or equal to -{MAX_NUMBER}"),
    ({"rate": float("nan")}, "rate: Input should be a finite number"),
    ({"rate": float("inf")}, "rate: Input should be a finite number"),
    ({"rate": 1e300}, f"rate: Input should be less than or equal to {MAX_NUMBER}"),
    ({"due": "1899-12-31"}, f"due: Value error, {DATES}; got 1899-12-31"),
    ({"due": "2201-01-01"}, f"due: Value error, {DATES}; got 2201-01-01"),
    ({"at": "0001-01-01T00:00:00Z"}, f"at: Value error, {DATES}; got 0001-01-01T00:00:00+00:00"),
    ({"tags": [f"t{i}" for i in range(PAYLOAD_LIST_MAX + 1)]},
     "tags: Value should have at most 100 items after validation, not 101"),
    ({"tags": "x" * (PAYLOAD_STR_MAX + 1)}, "tags.0: String should have at most 1000 characters"),
    ({"tags": "a," * 60_000}, "tags: Value error, a list holds at most 100 items of at most 1000 characters"),
])
def test_a_payload_beyond_the_bounds_is_refused_naming_the_field_and_writes_nothing(
        app: App, figures_case: str, handler: Actor, payload: dict[str, Any], problem: str) -> None:
    before = stored(app, figures_case)
    with pytest.raises(InvalidInput) as caught:
        app.engine.advance(figures_case, "note_figures", handler, payload)
    assert caught.value.problems == [problem]
    assert stored(app, figures_case) == before


def test_a_payload_at_the_bounds_is_taken(app: App, figures_case: str, handler: Actor) -> None:
    payload = {"title": "x" * PAYLOAD_STR_MAX, "amount": -MAX_NUMBER, "rate": 0.5, "due": "2200-12-31",
               "at": "1900-01-01T00:00:00Z", "tags": ",".join(f"t{i}" for i in range(PAYLOAD_LIST_MAX))}
    step = app.engine.advance(figures_case, "note_figures", handler, payload)
    assert step.payload["due"] == "2200-12-31" and len(step.payload["tags"]) == PAYLOAD_LIST_MAX


# -- a complaint taken in ------------------------------------------------------------------------

@pytest.mark.parametrize("field, most", [
    ("external_id", EXTERNAL_ID_MAX), ("product", PRODUCT_MAX), ("sub_product", PRODUCT_MAX),
    ("company", COMPANY_MAX), ("category", CATEGORY_MAX), ("sub_category", CATEGORY_MAX),
    ("region", REGION_MAX), ("description", DESCRIPTION_MAX), ("customer.name", NAME_MAX),
])
def test_every_text_of_a_complaint_has_a_maximum_length_named_when_passed(field: str, most: int) -> None:
    def raw(length: int) -> dict[str, Any]:
        fields: dict[str, Any] = {"product": "Card", "description": "charged twice"}
        head, _, tail = field.partition(".")
        if tail:
            fields[head] = {tail: "x" * length}
        else:
            fields[head] = "x" * length
        return fields

    assert parse_complaint(raw(most))
    with pytest.raises(InvalidInput, match=re.escape(f"{field}: String should have at most {most} characters")):
        parse_complaint(raw(most + 1))


def test_an_email_longer_than_an_address_may_be_is_refused() -> None:
    email = "a" * (EMAIL_MAX - len("@example.com") + 1) + "@example.com"
    with pytest.raises(InvalidInput, match=f"customer.email: String should have at most {EMAIL_MAX} characters"):
        parse_complaint({"product": "Card", "description": "x", "customer": {"email": email}})


@pytest.mark.parametrize("received_at", ["1899-12-31T23:59:00Z", "2201-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00"])
def test_a_receipt_before_1900_or_after_2200_is_refused_naming_the_field(received_at: str) -> None:
    with pytest.raises(InvalidInput, match=f"received_at: Value error, {DATES}; got "):
        parse_complaint({"product": "Card", "description": "x", "received_at": received_at})


def test_text_is_taken_in_as_given_control_characters_and_all(app: App) -> None:
    """Stored as given: making it safe is the business of whatever shows it."""
    reference = take_in(app, product="Card\x1b[2J", description="it broke \x1b]0;pwned\x07 \u202egnp.exe",
                        customer={"name": "\x1b[31mEve\x1b[0m"})
    with app.db.transaction() as conn:
        row = conn.execute(sql("SELECT product, description FROM complaint WHERE reference = :r"),
                           {"r": reference}).one()
    assert tuple(row) == ("Card\x1b[2J", "it broke \x1b]0;pwned\x07 \u202egnp.exe")


# -- a moves file --------------------------------------------------------------------------------

def _moves(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "moves.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps({"reference": "C-2026-000001", "action": "assess"})


def test_a_move_nested_too_deep_is_refused_with_its_line_not_a_recursion_error(tmp_path: Path) -> None:
    deep = '{"reference": "C-1", "action": "x", "payload": {"a": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    with pytest.raises(InvalidInput) as caught:
        read_moves(_moves(tmp_path, GOOD, deep))
    assert caught.value.problems == [f"line 2: nested 100002 deep; a move may nest at most {JSON_MAX_DEPTH} deep"]


def test_a_move_longer_than_a_line_may_be_is_refused_with_its_line(tmp_path: Path) -> None:
    long = json.dumps({"reference": "C-1", "action": "x", "payload": {"text": "x" * JSON_LINE_MAX}})
    with pytest.raises(InvalidInput) as caught:
        read_moves(_moves(tmp_path, GOOD, GOOD, long))
    assert caught.value.problems == [f"line 3: {len(long):,} characters long; a move may be at most 1,000,000"]


def test_a_number_of_more_digits_than_python_reads_is_a_bad_line_not_a_crash(tmp_path: Path) -> None:
    line = '{"reference": "C-1", "action": "x", "expected_version": ' + "9" * 5000 + "}"
    with pytest.raises(InvalidInput, match=r"line 1: not a JSON object \(Exceeds the limit"):
        read_moves(_moves(tmp_path, line))


def test_a_line_separator_inside_a_move_s_text_does_not_split_the_line(tmp_path: Path) -> None:
    move = json.dumps({"reference": "C-2026-000002", "action": "assign", "payload": {"assignee": "i\u2028\x1cnes"}},
                      ensure_ascii=False)
    moves = read_moves(_moves(tmp_path, GOOD, move))
    assert [m.reference for m in moves] == ["C-2026-000001", "C-2026-000002"]
    assert moves[1].payload == {"assignee": "i\u2028\x1cnes"}


@pytest.mark.parametrize("text, depth", [
    ('{"a": [1, {"b": "[[[{{{"}]}', 3), ('"\\"[["', 0), ("[]", 1), ('{"a": "\\\\"}', 1), ("[" * 40, 40),
])
def test_json_nesting_is_counted_without_parsing_and_brackets_in_strings_do_not_count(text: str, depth: int) -> None:
    assert json_depth(text) == depth
