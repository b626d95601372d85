"""A workflow definition is checked when it is loaded: every broken shape is refused with
an error that names the file, the line, the path inside it and the states at fault."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from complaints.errors import InvalidWorkflow
from workflows.compiled import CompiledWorkflow
from workflows.loader import load_workflow, parse_workflow, shipped_workflow_files

SHIPPED = next(p for p in shipped_workflow_files() if p.name == "complaint.yaml")
SOURCE = "broken.yaml"
Doc = dict[str, Any]


def shipped_doc() -> Doc:
    return yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


def dump(doc: Doc) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def mutated(change: Callable[[Doc], object]) -> str:
    """The shipped workflow with one small change, as YAML text."""
    doc = copy.deepcopy(shipped_doc())
    change(doc)
    return dump(doc)


def problems_of(text: str) -> list[str]:
    """The problems the loader reports for ``text``; fails the test if it loads."""
    with pytest.raises(InvalidWorkflow) as caught:
        parse_workflow(text, source=SOURCE)
    assert str(caught.value).startswith(f"{SOURCE}: ")
    assert caught.value.source == SOURCE
    return caught.value.problems


def line_of(text: str, pattern: str, after: str | None = None) -> int:
    """1-based number of the first line matching ``pattern`` (after the line matching ``after``)."""
    lines = text.splitlines()
    start = 0
    if after is not None:
        start = next(i for i, line in enumerate(lines) if re.search(after, line)) + 1
    return next(i + 1 for i, line in enumerate(lines[start:], start) if re.search(pattern, line))


def the_one_problem(text: str) -> str:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


# -- the shipped definition --------------------------------------------------------------------


def test_the_shipped_workflow_loads_and_passes_every_check() -> None:
    wf = load_workflow(SHIPPED)
    assert isinstance(wf, CompiledWorkflow)
    assert wf.initial_state == "received"
    assert wf.final_states == {"archived"}
    assert [t.name for t in wf.tiers] == ["frontline", "supervisor", "specialist", "executive"]


def test_a_definition_dumped_and_reloaded_is_still_valid() -> None:
    assert parse_workflow(dump(shipped_doc()), SOURCE).spec == load_workflow(SHIPPED).spec


# -- the shape of the state graph --------------------------------------------------------------


def test_a_workflow_without_an_initial_state_is_refused() -> None:
    text = mutated(lambda d: d["states"]["received"].pop("initial"))
    problem = the_one_problem(text)
    assert problem == (
        f"line {line_of(text, r'^states:')}, states: needs exactly one state with 'initial: true'; found none"
    )


def test_a_workflow_with_two_initial_states_names_both() -> None:
    text = mutated(lambda d: d["states"]["acknowledged"].update(initial=True))
    with pytest.raises(InvalidWorkflow, match=r"line \d+, states: needs exactly one state with 'initial: true'; "
                                              r"found received, acknowledged"):
        parse_workflow(text, SOURCE)


def test_a_workflow_without_a_final_state_is_refused() -> None:
    text = mutated(lambda d: d["states"]["archived"].pop("final"))
    assert "states: needs at least one state with 'final: true'" in "\n".join(problems_of(text))


def test_a_state_no_transition_leads_to_is_unreachable() -> None:
    def add_limbo(doc: Doc) -> None:
        doc["states"]["limbo"] = {"final": True, "description": "nothing leads here"}

    text = mutated(add_limbo)
    assert the_one_problem(text) == (
        f"line {line_of(text, r'^  limbo:')}, states.limbo: state 'limbo' can't be reached from 'received'"
    )


def test_a_non_final_state_without_a_way_out_is_a_dead_end() -> None:
    def add_dead_end(doc: Doc) -> None:
        doc["states"]["stuck"] = {"description": "no way out"}
        doc["transitions"]["get_stuck"] = {"from": "investigating", "to": "stuck", "roles": ["handler"]}

    text = mutated(add_dead_end)
    assert the_one_problem(text) == (
        f"line {line_of(text, r'^  stuck:')}, states.stuck: state 'stuck' has no way out (a dead end); "
        "add a transition from it"
    )


def test_a_cycle_with_no_exit_is_refused_for_every_state_in_it() -> None:
    def add_cycle(doc: Doc) -> None:
        doc["states"]["ping"] = {}
        doc["states"]["pong"] = {}
        doc["transitions"]["to_ping"] = {"from": "investigating", "to": "ping", "roles": ["handler"]}
        doc["transitions"]["ping_pong"] = {"from": "ping", "to": "pong", "roles": ["handler"]}
        doc["transitions"]["pong_ping"] = {"from": "pong", "to": "ping", "roles": ["handler"]}

    text = mutated(add_cycle)
    assert problems_of(text) == [
        f"line {line_of(text, r'^  ping:')}, states.ping: no final state (archived) can be reached from 'ping'; "
        "cases there could never finish",
        f"line {line_of(text, r'^  pong:')}, states.pong: no final state (archived) can be reached from 'pong'; "
        "cases there could never finish",
    ]


def test_a_transition_leaving_a_final_state_is_refused() -> None:
    def unarchive(doc: Doc) -> None:
        doc["transitions"]["unarchive"] = {"from": "archived", "to": "investigating", "roles": ["supervisor"]}

    text = mutated(unarchive)
    line = line_of(text, r"^    from: archived", after=r"^  unarchive:")
    assert the_one_problem(text) == (
        f"line {line}, transitions.unarchive.from: 'unarchive' leaves final state 'archived'; nothing may leave "
        "a final state (make the state non-final, or add a later final state)"
    )


def test_a_final_state_cannot_have_timers() -> None:
    text = mutated(lambda d: d["states"]["archived"].update(timers=[{"action": "archive", "after": "P1D"}]))
    assert "states.archived.timers: final state 'archived' can't have timers" in "\n".join(problems_of(text))


def test_a_waiting_state_without_a_timer_could_wait_forever() -> None:
    text = mutated(lambda d: d["states"]["on_hold"].pop("timers"))
    assert the_one_problem(text) == (
        f"line {line_of(text, r'^  on_hold:')}, states.on_hold: waiting state 'on_hold' has no timer, so a case "
        "could wait there forever; add 'timers: [{after: P14D, action: ...}]'"
    )


# -- names that must exist ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path", "where", "message"),
    [
        pytest.param(
            lambda d: d["transitions"]["assess"].update(roles=["handler", "clerk"]),
            "transitions.assess.roles",
            (r"^    roles:", r"^  assess:"),
            "unknown role 'clerk'; declare it under 'roles' (executive, handler, quality, specialist, supervisor, system)",
            id="role",
        ),
        pytest.param(
            lambda d: d.update(personal_data_roles=["handler", "auditor"]),
            "personal_data_roles",
            (r"^personal_data_roles:", r"^roles:"),
            "unknown role 'auditor'; declare it under 'roles' (executive, handler, quality, specialist, supervisor, system)",
            id="personal-data-role",
        ),
        pytest.param(
            lambda d: d["transitions"]["assess"].update(tier="boardroom"),
            "transitions.assess.tier",
            (r"^    tier:", r"^  assess:"),
            "unknown tier 'boardroom'; use 'next' or one of executive, frontline, specialist, supervisor",
            id="tier",
        ),
        pytest.param(
            lambda d: d["transitions"]["assess"].update(notify=["welcome"]),
            "transitions.assess.notify",
            (r"^    notify:", r"^  assess:"),
            "unknown template 'welcome'; templates are acknowledgement, ",
            id="template",
        ),
        pytest.param(
            lambda d: d["states"]["follow_up"]["timers"][0].update(action="nudge"),
            "states.follow_up.timers.0.action",
            (r"^    - action: nudge", r"^  follow_up:"),
            "timer fires unknown action 'nudge' in state 'follow_up'",
            id="timer-action",
        ),
    ],
)
def test_an_unknown_name_is_reported_where_it_is_used(
    change: Callable[[Doc], object], path: str, where: tuple[str, str], message: str
) -> None:
    text = mutated(change)
    line = line_of(text, where[0], after=where[1])
    assert the_one_problem(text).startswith(f"line {line}, {path}: {message}")


@pytest.mark.parametrize("key", ["from", "to"])
def test_an_unknown_state_in_from_or_to_is_named_with_the_states_that_exist(key: str) -> None:
    text = mutated(lambda d: d["transitions"]["assess"].update({key: "asessing"}))
    line = line_of(text, rf"^    {key}: asessing")
    assert problems_of(text)[0] == (
        f"line {line}, transitions.assess.{key}: unknown state 'asessing'; states are acknowledged, archived, "
        "assessing, awaiting_customer, closed, follow_up, investigating, on_hold, received, recurrence_review, "
        "resolution_proposed, resolved"
    )


def test_a_misspelt_state_is_the_only_problem_reported_not_the_graph_damage_it_causes() -> None:
    text = mutated(lambda d: d["transitions"]["assess"].update({"to": "asessing"}))
    problem = the_one_problem(text)
    assert "unknown state 'asessing'" in problem


def test_a_timer_whose_action_does_not_start_from_its_state_is_refused() -> None:
    text = mutated(lambda d: d["states"]["follow_up"]["timers"][0].update(action="archive"))
    assert the_one_problem(text).endswith(
        "states.follow_up.timers.0.action: timer in state 'follow_up' fires 'archive', which is not allowed "
        "from 'follow_up' (it starts from closed)"
    )


def test_a_timer_action_the_system_role_may_not_perform_is_refused() -> None:
    text = mutated(lambda d: d["transitions"]["auto_close"].update(roles=["supervisor"]))
    assert the_one_problem(text).endswith(
        "states.awaiting_customer.timers.0.action: timer action 'auto_close' must allow role 'system' "
        "(timers act as system)"
    )


def test_a_timer_at_a_field_no_transition_sets_is_refused() -> None:
    text = mutated(lambda d: d["states"]["on_hold"]["timers"][0].update(at="data.wake_up"))
    assert the_one_problem(text).endswith(
        "states.on_hold.timers.0.at: no transition into 'on_hold' sets 'wake_up'; add it to that action's fields"
    )


# -- unknown keys ------------------------------------------------------------------------------


def test_unknown_keys_are_refused_at_every_level_each_with_its_line_and_the_likely_key() -> None:
    def misspell(doc: Doc) -> None:
        doc["colour"] = "blue"
        doc["states"]["received"]["intial"] = True
        doc["transitions"]["assess"]["role"] = ["handler"]
        doc["transitions"]["valid"]["fields"]["rationale"]["requried"] = False
        doc["states"]["closed"]["entry_guards"][0]["mesage"] = "typo"

    text = mutated(misspell)
    found = problems_of(text)
    expected = {  # path: (line, the key meant, or None where nothing is close)
        "colour": (line_of(text, r"^colour:"), None),
        "states.received.intial": (line_of(text, r"intial:"), "initial"),
        "transitions.assess.role": (line_of(text, r"^    role:"), "roles"),
        "transitions.valid.fields.rationale.requried": (line_of(text, r"requried:"), "required"),
        "states.closed.entry_guards.0.mesage": (line_of(text, r"mesage:"), "message"),
    }
    assert sorted(p.split(" (keys here: ")[0] for p in found) == sorted(
        f"line {line}, {path}: unknown key '{path.split('.')[-1]}'" + (f": did you mean '{meant}'?" if meant else "")
        for path, (line, meant) in expected.items()
    )


def test_an_unknown_key_names_the_keys_allowed_where_it_stands() -> None:
    text = mutated(lambda d: d["transitions"]["valid"]["fields"]["rationale"].update(requried=False))
    assert the_one_problem(text).endswith(
        "unknown key 'requried': did you mean 'required'? (keys here: type, required, choices, min_length, "
        "description, customer_facing)"
    )
    text = mutated(lambda d: d.update(initial="received"))
    assert the_one_problem(text).endswith(
        "initial: unknown key 'initial' (keys here: name, version, title, description, default_language, roles, "
        "personal_data_roles, tiers, states, transitions, templates, timeline, sla, regulatory, escalation, "
        "letters)"
    )


@pytest.mark.parametrize("key", ["on", "yes", "off"])
def test_a_key_yaml_reads_as_a_boolean_is_explained_with_its_line(key: str) -> None:
    text = SHIPPED.read_text(encoding="utf-8").replace("  awaiting_customer:\n", f"  awaiting_customer:\n    {key}: x\n", 1)
    reading = "false" if key == "off" else "true"
    assert the_one_problem(text) == (
        f"line {line_of(text, r'^  awaiting_customer:')}, states.awaiting_customer: a key here was read as "
        f"{reading}: YAML takes an unquoted on, off, yes, no, true or false for a boolean; quote the key ('on':)"
    )


# -- guards ------------------------------------------------------------------------------------


def test_a_guard_with_two_operators_is_refused() -> None:
    text = mutated(lambda d: d["states"]["closed"]["entry_guards"][0].update(not_equals=False))
    with pytest.raises(InvalidWorkflow, match=(
        r"line \d+, states\.closed\.entry_guards\.0: .*a condition on 'data\.outcome_communicated' needs exactly "
        r"one operator of equals, not_equals, .*; got \['equals', 'not_equals'\]"
    )):
        parse_workflow(text, SOURCE)


def test_a_guard_without_an_operator_is_refused() -> None:
    text = mutated(lambda d: d["states"]["closed"]["entry_guards"][0].pop("equals"))
    line = line_of(text, r"field: data.outcome_communicated")
    assert the_one_problem(text).startswith(f"line {line}, states.closed.entry_guards.0: ")
    assert the_one_problem(text).endswith("needs exactly one operator of equals, not_equals, in, not_in, "
                                          "exists, gt, gte, lt, lte; got none")


@pytest.mark.parametrize(("guard", "problem"), [
    ({"field": "payload.resume_on", "gte": "$tomorrow"}, "unknown operand '$tomorrow': the step's time is $today or $now"),
    ({"field": "payload.resume_on", "equals": "$today"}, "$today compares with gt, gte, lt, lte, not 'equals'"),
])
def test_a_guard_on_the_steps_time_names_what_it_may_say(guard: dict[str, Any], problem: str) -> None:
    text = mutated(lambda d: d["transitions"]["pause"].update(guards=[guard]))
    line = line_of(text, r"field: payload.resume_on")
    assert the_one_problem(text) == f"line {line}, transitions.pause.guards.0: Value error, {problem}"


def test_a_guard_reading_an_unknown_complaint_field_is_refused() -> None:
    text = mutated(lambda d: d["transitions"]["close"].update(guards=[{"field": "complaint.mood", "equals": "x"}]))
    with pytest.raises(InvalidWorkflow, match=(
        r"line \d+, transitions\.close\.guards\.0\.field: unknown complaint field 'mood'; known: assignee, "
    )):
        parse_workflow(text, SOURCE)


def test_a_guard_reading_an_undeclared_payload_field_is_refused() -> None:
    text = mutated(lambda d: d["transitions"]["close"].update(guards=[{"field": "payload.colour", "equals": "x"}]))
    assert the_one_problem(text).endswith(
        "transitions.close.guards.0.field: 'payload.colour' is not a declared field of this action "
        "(finding, root_cause_code)"
    )


def test_a_guard_nested_in_any_is_checked_too() -> None:
    text = mutated(lambda d: d["states"]["closed"]["entry_guards"][1]["any"][1].update(field="complaint.mood"))
    assert "states.closed.entry_guards.1.any.1.field: unknown complaint field 'mood'" in the_one_problem(text)


# -- templates ---------------------------------------------------------------------------------


def test_a_template_placeholder_that_does_not_exist_is_refused() -> None:
    text = mutated(lambda d: d["templates"]["closure"].update(en="Complaint $reference closed by $nobody."))
    line = line_of(text, r"^    en:", after=r"^  closure:")
    assert the_one_problem(text) == (
        f"line {line}, templates.closure.en: unknown placeholder '$nobody'; known: complaint fields, action "
        "fields, customer_name, received_date, today, timeline_<name>"
    )


def test_a_stray_dollar_sign_in_a_template_is_refused() -> None:
    text = mutated(lambda d: d["templates"]["closure"].update(en="We refunded $ 5 on $reference."))
    assert "templates.closure.en: a '$' that starts no placeholder; write '$$' for a dollar sign" in the_one_problem(text)


def test_a_template_without_the_default_language_is_refused() -> None:
    text = mutated(lambda d: d["templates"].update(closure={"lv": "Sūdzība $reference ir slēgta.",
                                                            "el": "Το παράπονο $reference έκλεισε."}))
    line = line_of(text, r"^  closure:")
    assert the_one_problem(text) == (
        f"line {line}, templates.closure: template 'closure' has no text in the default language 'en'"
    )


def test_a_template_no_action_sends_is_refused() -> None:
    text = mutated(lambda d: d["templates"].update(unused={"en": "Hello $reference", "lv": "Labdien!", "el": "Γεια σας!"}))
    assert the_one_problem(text).endswith("templates.unused: template 'unused' is never sent; add it to an action's 'notify'")


# -- YAML and the report as a whole ------------------------------------------------------------


def test_invalid_yaml_is_reported_with_its_line_and_column() -> None:
    text = "name: complaint\nversion: 1\nstates:\n  received: {initial: true\n  closed: {}\n"
    with pytest.raises(InvalidWorkflow, match=r"^broken\.yaml: 1 problem:\n  - line \d+, column \d+: not valid YAML: "):
        parse_workflow(text, SOURCE)


def test_a_document_that_is_not_a_mapping_is_refused() -> None:
    assert the_one_problem("- just\n- a list\n") == "the file must hold a mapping with name, version, states, ..."


def test_missing_sections_are_each_reported() -> None:
    assert problems_of("name: tiny\nversion: 1\nroles: [handler]\n") == [
        "line 1, tiers: Field required",
        "line 1, states: Field required",
        "line 1, transitions: Field required",
    ]


def test_a_small_inline_workflow_reports_every_problem_at_once_with_exact_lines() -> None:
    text = """\
name: tiny
version: 1
roles: [handler, system]
tiers:
  - {name: frontline, queue: front}
states:
  new: {initial: true}
  waiting: {waiting: true}
  done: {final: true}
  orphan: {}
transitions:
  start: {from: new, to: waiting, roles: [handler]}
  finish: {from: waiting, to: done, roles: [handler, clerk], notify: [bye]}
"""
    assert problems_of(text) == [
        "line 13, transitions.finish.roles: unknown role 'clerk'; declare it under 'roles' (handler, system)",
        "line 13, transitions.finish.notify: unknown template 'bye'; templates are ",
        "line 10, states.orphan: state 'orphan' can't be reached from 'new'",
        "line 10, states.orphan: state 'orphan' has no way out (a dead end); add a transition from it",
        "line 8, states.waiting: waiting state 'waiting' has no timer, so a case could wait there forever; "
        "add 'timers: [{after: P14D, action: ...}]'",
    ]
    with pytest.raises(InvalidWorkflow, match=r"^broken\.yaml: 5 problems:\n  - line 13, "):
        parse_workflow(text, SOURCE)


def test_a_missing_file_is_not_found_and_an_unreadable_one_is_invalid(tmp_path: Path) -> None:
    from complaints.errors import NotFound

    with pytest.raises(NotFound, match=r"Workflow file '.*nope\.yaml' does not exist"):
        load_workflow(tmp_path / "nope.yaml")
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InvalidWorkflow, match=r"binary\.yaml: 1 problem:\n  - can't read the file: "):
        load_workflow(binary)
