"""What the customer reads is written for the customer: workflow validate holds a workflow with
a ``letters`` section to every declared language and to customer-facing fields, and renders
its dates in the customer's language and time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from casework import stored, take_in, walk
from test_workflow_definitions import line_of, mutated, problems_of, the_one_problem

from complaintflow.bootstrap import App
from complaints.clock import FixedClock
from complaints.steps import Actor, Case
from escalation.sweep import sweep
from workflows import machine
from workflows.loader import load_workflow, shipped_workflow_files

SHIPPED = next(p for p in shipped_workflow_files() if p.name == "complaint.yaml")


def test_the_shipped_workflow_writes_every_letter_in_english_latvian_and_greek() -> None:
    spec = load_workflow(SHIPPED).spec
    assert spec.letters is not None and list(spec.letters.languages) == ["en", "lv", "el"]
    assert all(set(texts) == {"en", "lv", "el"} for texts in spec.templates.values())
    heard_of = {"accept": "resolution_accepted", "deemed_accepted": "deemed_accepted", "declined": "follow_up_declined",
                "no_response": "follow_up_no_response", "info_received": "information_received"}
    assert {action: spec.transitions[action].notify for action in heard_of} == {a: [t] for a, t in heard_of.items()}


def test_a_template_missing_in_a_declared_language_is_named() -> None:
    text = mutated(lambda d: d["templates"]["paused"].pop("el"))
    assert the_one_problem(text) == (
        f"line {line_of(text, r'^  paused:')}, templates.paused: template 'paused' has no text in 'el', a declared "
        "language of the letters (en, lv, el); write one")


def test_a_template_reading_an_internal_field_is_named_with_the_action_and_what_to_do() -> None:
    text = mutated(lambda d: d["templates"]["escalated"].update(en="Passed to $tier_label. Reason: $reason"))
    assert the_one_problem(text).endswith(
        "templates.escalated.en: '$reason' is not for the customer: 'escalate' takes 'reason' for the team (the audit "
        "trail); mark it 'customer_facing: true' if the customer should read it, or give 'escalate' a "
        "customer-facing field for the letter")


@pytest.mark.parametrize(("placeholder", "why"), [
    ("$queue", "it is how the team works the case"),
    ("$severity", "it is how the team works the case"),
    ("$validity", "'valid', 'invalid', 'auto_close' or 'reopen' sets data.validity to a code for the team"),
    ("$finding", "'close' takes 'finding' for the team (the audit trail)"),
    ("$reason", "the case's data.reason may hold what 'escalate', 'reject', 'dissatisfied' or 'reopen' took for the team"),
])
def test_internal_values_are_refused_in_letters(placeholder: str, why: str) -> None:
    text = mutated(lambda d: d["templates"]["closure"].update(en=f"Closed. {placeholder}"))
    found = problems_of(text)
    assert any(f"'{placeholder}' is not for the customer: {why}" in p for p in found), found


def test_the_letters_section_names_real_templates_zones_and_languages() -> None:
    def change(doc: dict) -> None:
        doc["letters"]["review"].append("farewell")
        doc["letters"]["languages"]["lv"]["timezone"] = "Europe/Atlantis"

    found = problems_of(mutated(change))
    assert any("letters.languages.lv.timezone: Value error, unknown time zone 'Europe/Atlantis'" in p for p in found)
    default = problems_of(mutated(lambda d: d["letters"]["languages"].pop("en")))
    assert any("letters.languages: the default language 'en' is not declared" in p for p in default)
    assert any("language 'en' is not declared under letters.languages (lv, el)" in p for p in default)
    unknown = the_one_problem(mutated(lambda d: d["letters"]["review"].append("farewell")))
    assert unknown.endswith("letters.review: unknown template 'farewell'; templates are acknowledgement, "
                            "assessment_invalid, assessment_valid, closed_no_reply, closure, deemed_accepted, escalated, "
                            "fca_delay_letter, follow_up_declined, follow_up_no_response, follow_up_survey, "
                            "follow_up_thanks, information_received, information_request, paused, reopened, "
                            "resolution_accepted, resolution_proposal, resolution_rejected")
    subject = the_one_problem(mutated(lambda d: d["letters"]["subject"].update(en="$queue: $reference")))
    assert "letters.subject.en: '$queue' is not for the customer" in subject


def test_a_date_is_the_customers_day_in_their_language_not_a_utc_stamp() -> None:
    workflow = load_workflow(SHIPPED)
    late = datetime(2026, 11, 23, 23, 30, tzinfo=UTC)  # already the 24th in Riga and Athens
    for language, day in (("en", "23 November 2026"), ("lv", "24.11.2026."), ("el", "24 Νοεμβρίου 2026")):
        case = Case(reference="C-2026-000001", state="received", tier="frontline", queue="frontline", version=1,
                    fields={"reference": "C-2026-000001", "channel": "web", "language": language, "received_at": late})
        step = machine.plan(workflow, case, "acknowledge", Actor.system("intake"), {}, late)
        [letter] = step.notifications
        assert day in letter.body and "UTC" not in letter.body and "2026-11-2" not in letter.body


def test_a_latvian_customer_reads_every_letter_of_the_lifecycle_in_latvian(app: App) -> None:
    reference = take_in(app, language="lv", customer={"name": "Anna Ozola", "email": "anna@example.lv"})
    walk(app, reference, ["assess", "need_info", "info_received", "valid", "escalate"])
    walk(app, reference, ["pause", "resume", "propose", "reject", "propose", "accept", "start_follow_up", "declined",
                          "close", "reopen"])
    letters = stored(app, reference)["notifications"]
    assert len(letters) >= 12 and {n["language"] for n in letters} == {"lv"}
    assert all(n["body"].startswith("Cien. Anna Ozola!") and "Dear" not in n["body"] for n in letters)


def test_the_sweeps_own_escalation_tells_the_customer_no_reason_clock_or_utc_stamp(app: App, clock: FixedClock) -> None:
    reference = take_in(app, language="el", customer={"name": "Ελένη", "email": "eleni@example.gr"})
    clock.advance(days=4)  # the first response is overdue: the sweep escalates
    report = sweep(app.engine)
    assert report.escalated and report.escalated[0].startswith(reference)
    [letter] = [n for n in stored(app, reference)["notifications"] if n["template"] == "escalated"]
    assert letter["language"] == "el" and letter["body"].startswith("Αγαπητέ/ή Ελένη,")
    for internal in ("SLA", "UTC", "first_response", "breach", "target", "Supervisor"):
        assert internal not in letter["body"]
