"""The workflow engine on a real database (SQLite and PostgreSQL): what may happen from each
state, what a step writes, and that a refused step writes nothing."""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from casework import (
    PAYLOADS,
    TO_CLOSED,
    TO_FOLLOW_UP,
    TO_INVESTIGATING,
    event_rows,
    first_version_document,
    pending_timers,
    register_variant,
    stored,
    take_in,
    walk,
    workflow_timers,
)
from conftest import T0

from complaintflow.bootstrap import App
from complaints.clock import FixedClock
from complaints.errors import ActionNotAllowed, ConflictError, GuardFailed, InvalidInput
from complaints.repository import WORKFLOW_TIMER, timer_t
from complaints.steps import Actor, Case, Step
from complaints.uow import UnitOfWork
from workflows import machine, timers
from workflows.compiled import CompiledWorkflow
from workflows.queries import list_cases

SYSTEM = Actor.system()


def allowed(app: App, reference: str, actor: Actor) -> list[str]:
    return [o.action for o in app.engine.available_actions(reference, actor) if o.allowed]


# -- what may happen, and who may do it --------------------------------------------------------


def test_available_actions_follow_the_state(app: App, handler: Actor) -> None:
    reference = take_in(app)
    assert allowed(app, reference, handler) == ["assess", "escalate", "assign"]
    walk(app, reference, ["assess"])
    assert allowed(app, reference, handler) == ["valid", "invalid", "need_info", "escalate", "assign"]
    walk(app, reference, ["valid"])
    assert allowed(app, reference, handler) == ["escalate", "assign", "pause", "propose"]


def test_assigning_a_case_stays_in_its_state_and_puts_it_in_the_handlers_work_list(app: App, handler: Actor) -> None:
    reference = take_in(app)
    walk(app, reference, ["assess"])
    step = app.engine.advance(reference, "assign", handler, {"assignee": "ines"})
    assert (step.from_state, step.to_state) == ("assessing", "assessing")
    assert app.engine.get(reference).data["assignee"] == "ines"
    assert [r["reference"] for r in list_cases(app.engine, assignee="ines")] == [reference]
    assert list_cases(app.engine, assignee="nobody") == []


def test_a_work_list_filtered_by_a_state_tier_or_queue_no_workflow_has_is_refused(app: App) -> None:
    take_in(app)
    assert list_cases(app.engine, state="acknowledged", tier="frontline", queue="frontline")
    with pytest.raises(InvalidInput) as refused:  # a typo would otherwise list nothing, as if the queue were empty
        list_cases(app.engine, state="investigation", queue="frontline", tier="specialists")
    assert refused.value.problems[0].startswith("state: 'investigation' is in no workflow (known: acknowledged, ")
    assert "investigating" in refused.value.problems[0]
    assert refused.value.problems[1].startswith("tier: 'specialists' is in no workflow (known: executive, frontline")
    assert len(refused.value.problems) == 2  # the queue is known


def test_available_actions_follow_the_role(app: App, handler: Actor) -> None:
    reference = take_in(app)
    walk(app, reference, ["assess", "need_info"])
    assert allowed(app, reference, handler) == ["info_received", "escalate", "assign"]
    assert allowed(app, reference, SYSTEM) == ["info_received", "auto_close", "escalate"]
    assert allowed(app, reference, Actor("quinn", "quality")) == []


def test_each_available_action_says_where_it_goes_and_what_it_needs(app: App, handler: Actor) -> None:
    reference = take_in(app)
    walk(app, reference, TO_INVESTIGATING)
    pause = next(o for o in app.engine.available_actions(reference, handler) if o.action == "pause")
    assert (pause.to_state, pause.fields, pause.blocked_by) == ("on_hold", {"reason": "text", "resume_on": "date"}, [])


def test_an_action_not_possible_from_the_state_names_the_state_and_the_allowed_actions(app: App, handler: Actor) -> None:
    reference = take_in(app)
    with pytest.raises(ActionNotAllowed, match=(
        rf"^Can't 'close' complaint {reference} in state 'acknowledged'\. Allowed: assess, escalate, assign\.$"
    )) as caught:
        app.engine.advance(reference, "close", handler, PAYLOADS["close"])
    assert (caught.value.state, caught.value.allowed) == ("acknowledged", ["assess", "escalate", "assign"])


def test_an_action_the_role_may_not_take_says_which_roles_may(app: App) -> None:
    reference = take_in(app)
    with pytest.raises(ActionNotAllowed, match=(
        rf"^Can't 'assess' complaint {reference} in state 'acknowledged' \(role 'quality' may not; it needs one "
        r"of handler, supervisor, specialist, executive\)\. Allowed: none\.$"
    )):
        app.engine.advance(reference, "assess", Actor("quinn", "quality"))


def test_an_unknown_action_is_named_as_unknown(app: App, handler: Actor) -> None:
    reference = take_in(app)
    with pytest.raises(ActionNotAllowed, match=r"\(no action 'fly' in workflow 'complaint'\)\. Allowed: assess, escalate, assign\."):
        app.engine.advance(reference, "fly", handler)


# -- payloads ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "problems"),
    [
        pytest.param({}, ["criteria: Field required", "rationale: Field required"], id="missing"),
        pytest.param(
            {"criteria": 5, "rationale": ["a list"]},
            ["criteria: Input should be a valid list", "rationale: Input should be a valid string"],
            id="wrong-type",
        ),
        pytest.param(
            {**PAYLOADS["valid"], "colour": "red"},
            ["colour: unknown field; 'valid' takes criteria, rationale"],
            id="unknown-field",
        ),
        pytest.param(
            {"criteria": " , ", "rationale": "   ", "colour": "red"},
            [
                "criteria: Value should have at least 1 item after validation, not 0",
                "rationale: String should have at least 1 character",
                "colour: unknown field; 'valid' takes criteria, rationale",
            ],
            id="blank-and-unknown",
        ),
        pytest.param(
            {"criteria": PAYLOADS["valid"]["criteria"], "rational": "Fee charged twice"},
            ["rationale: Field required",
             "rational: unknown field; did you mean 'rationale'? 'valid' takes criteria, rationale"],
            id="misspelt-field",
        ),
    ],
)
def test_a_bad_payload_is_refused_with_one_problem_per_field_and_nothing_written(
    app: App, handler: Actor, payload: dict[str, Any], problems: list[str]
) -> None:
    reference = take_in(app)
    walk(app, reference, ["assess"])
    before = stored(app, reference)
    with pytest.raises(InvalidInput, match=rf"^Invalid input for 'valid' on {reference}: ") as caught:
        app.engine.advance(reference, "valid", handler, payload)
    assert caught.value.problems == problems
    assert stored(app, reference) == before


def test_a_date_field_must_hold_a_date_and_is_told_the_form_expected(app: App, handler: Actor) -> None:
    reference = take_in(app)
    walk(app, reference, TO_INVESTIGATING)
    with pytest.raises(InvalidInput) as caught:
        app.engine.advance(reference, "pause", handler, {"reason": "waiting", "resume_on": "14/12/2026"})
    assert caught.value.problems == ["resume_on: not a date written YYYY-MM-DD, got '14/12/2026'"]


@pytest.mark.parametrize("days", [-1, -365])
def test_a_pause_until_a_day_already_past_is_refused_and_nothing_is_stored(app: App, handler: Actor, days: int) -> None:
    reference = take_in(app)
    walk(app, reference, TO_INVESTIGATING)
    before = stored(app, reference)
    past = (app.clock.now() + timedelta(days=days)).date().isoformat()
    with pytest.raises(GuardFailed, match=rf"^Can't 'pause' complaint {reference} in state 'investigating': "
                                          r"the resume date must be today or later$"):
        app.engine.advance(reference, "pause", handler, {"reason": "waiting", "resume_on": past})
    assert stored(app, reference) == before
    today = app.clock.now().date().isoformat()
    assert app.engine.advance(reference, "pause", handler, {"reason": "waiting", "resume_on": today}).to_state == "on_hold"


def test_payload_values_are_stored_in_their_declared_types(app: App, handler: Actor) -> None:
    reference = take_in(app)
    walk(app, reference, TO_INVESTIGATING)
    app.engine.advance(reference, "pause", handler, {"reason": "  statement  ", "resume_on": "2026-12-01"})
    data = stored(app, reference)["data"]
    assert (data["reason"], data["resume_on"]) == ("statement", "2026-12-01")
    assert data["assessment"]["criteria"] == ["within 6 years", "our product"]


# -- guards and the quality gate on closing ----------------------------------------------------


def test_a_transition_guard_blocks_with_its_message_and_shows_in_the_available_actions(app: App, handler: Actor) -> None:
    def supervisors_propose_for_critical(doc: dict[str, Any]) -> None:
        doc["transitions"]["propose"]["guards"] = [
            {"field": "complaint.severity", "not_equals": "critical",
             "message": "a supervisor proposes resolutions for critical complaints"},
            {"field": "payload.resolution", "not_equals": "nothing"},
        ]

    register_variant(app, supervisors_propose_for_critical)
    reference = take_in(app, severity="critical")
    walk(app, reference, TO_INVESTIGATING)
    propose = next(o for o in app.engine.available_actions(reference, handler) if o.action == "propose")
    assert propose.blocked_by == ["a supervisor proposes resolutions for critical complaints"]
    before = stored(app, reference)
    with pytest.raises(GuardFailed, match=(
        rf"^Can't 'propose' complaint {reference} in state 'investigating': "
        r"a supervisor proposes resolutions for critical complaints; payload\.resolution must be not equals 'nothing'$"
    )):
        app.engine.advance(reference, "propose", handler, {"resolution": "nothing", "reasons": "none"})
    assert stored(app, reference) == before


def test_closing_needs_the_customer_told_the_outcome(app: App, handler: Actor) -> None:
    register_variant(app, lambda doc: doc["transitions"]["propose"].pop("set"))
    reference = take_in(app)
    walk(app, reference, [*TO_FOLLOW_UP, "satisfied"])
    before = stored(app, reference)
    with pytest.raises(GuardFailed, match=(
        rf"^Can't 'close' complaint {reference} in state 'recurrence_review': "
        r"'closed' requires: the customer must have been told the outcome and its reasons$"
    )):
        app.engine.advance(reference, "close", handler, PAYLOADS["close"])
    assert stored(app, reference) == before


def test_closing_a_valid_complaint_needs_a_root_cause_code(app: App, handler: Actor) -> None:
    register_variant(app, lambda doc: doc["transitions"]["close"]["fields"]["root_cause_code"].update(required=False))
    reference = take_in(app)
    walk(app, reference, [*TO_FOLLOW_UP, "satisfied"])
    with pytest.raises(GuardFailed, match=r"'closed' requires: a valid complaint needs a root-cause code$"):
        app.engine.advance(reference, "close", handler, {"finding": "not found yet"})
    app.engine.advance(reference, "close", handler, PAYLOADS["close"])
    assert stored(app, reference)["state"] == "closed"


def test_closing_needs_the_follow_up_done_or_declined(app: App, handler: Actor) -> None:
    def allow_skipping_follow_up(doc: dict[str, Any]) -> None:
        doc["transitions"]["skip_follow_up"] = {"from": "resolved", "to": "recurrence_review", "roles": ["handler"]}

    register_variant(app, allow_skipping_follow_up)
    skipped, declined = take_in(app), take_in(app)
    walk(app, skipped, [*TO_INVESTIGATING, "propose", "accept", "skip_follow_up"])
    with pytest.raises(GuardFailed, match=r"'closed' requires: the follow-up must have taken place, or the customer declined it$"):
        app.engine.advance(skipped, "close", handler, PAYLOADS["close"])
    walk(app, declined, [*TO_FOLLOW_UP, "declined", "close"])
    assert stored(app, declined)["data"]["follow_up"] == "declined"
    assert stored(app, declined)["state"] == "closed"


def test_an_invalid_complaint_closes_without_a_root_cause(app: App, handler: Actor) -> None:
    reference = take_in(app)
    walk(app, reference, ["assess", "invalid"])
    assert stored(app, reference)["state"] == "closed"


# -- optimistic concurrency --------------------------------------------------------------------


def test_a_stale_expected_version_raises_conflict_and_writes_nothing(app: App, handler: Actor) -> None:
    reference = take_in(app)
    seen = stored(app, reference)["version"]
    app.engine.advance(reference, "assess", handler, expected_version=seen)
    before = stored(app, reference)
    with pytest.raises(ConflictError, match=(
        rf"^Complaint {reference} was changed by someone else: expected version {seen}, it is now at version "
        rf"{seen + 1}\. Reload it and try again\.$"
    )):
        app.engine.advance(reference, "need_info", handler, PAYLOADS["need_info"], expected_version=seen)
    assert stored(app, reference) == before


def test_every_step_adds_one_to_the_version_and_appends_one_event(app: App, handler: Actor) -> None:
    reference = take_in(app)
    walk(app, reference, TO_CLOSED)
    after = stored(app, reference)
    assert after["version"] == 2 + len(TO_CLOSED)
    assert [e["seq"] for e in after["events"]] == list(range(1, after["version"] + 1))
    assert event_rows(after["events"])[:3] == [
        ("receive", None, "received"), ("acknowledge", "received", "acknowledged"), ("assess", "acknowledged", "assessing"),
    ]


# -- timers ------------------------------------------------------------------------------------


def test_entering_a_state_schedules_its_timers_and_leaving_it_cancels_them(app: App, handler: Actor, clock: FixedClock) -> None:
    reference = take_in(app)
    walk(app, reference, ["assess", "need_info"])
    [auto_close] = pending_timers(app, reference)
    assert (auto_close["kind"], auto_close["action"], auto_close["state"]) == (WORKFLOW_TIMER, "auto_close", "awaiting_customer")
    assert auto_close["due_at"] == T0 + timedelta(days=14)
    clock.advance(days=2)
    walk(app, reference, ["info_received"])
    assert pending_timers(app, reference) == []
    [timer] = workflow_timers(app, reference)
    assert (timer["status"], timer["cancelled_at"]) == ("cancelled", T0 + timedelta(days=2))


def test_a_timer_at_a_date_field_is_due_at_that_date(app: App, handler: Actor) -> None:
    reference = take_in(app)
    walk(app, reference, [*TO_INVESTIGATING, "pause"])
    [resume] = pending_timers(app, reference)
    assert (resume["name"], resume["action"], resume["due_at"]) == ("resume_on_date", "resume", datetime(2027, 3, 1, tzinfo=UTC))


def test_a_step_that_stays_in_the_state_keeps_its_timers(app: App, handler: Actor) -> None:
    reference = take_in(app)
    walk(app, reference, ["assess", "need_info"])
    before = pending_timers(app, reference)
    walk(app, reference, ["escalate"])
    assert pending_timers(app, reference) == before


def test_due_timers_fire_exactly_once(app: App, handler: Actor, clock: FixedClock) -> None:
    reference = take_in(app)
    walk(app, reference, ["assess", "need_info"])
    clock.advance(days=13, hours=23)
    assert timers.sweep(app.engine).fired == []
    clock.advance(hours=1)
    first = timers.sweep(app.engine)
    second = timers.sweep(app.engine)
    assert (first.fired, first.skipped, first.failed) == ([f"{reference} workflow auto_close"], [], [])
    assert (second.fired, second.skipped, second.failed) == ([], [], [])
    after = stored(app, reference)
    assert after["state"] == "closed"
    assert [e["action"] for e in after["events"]].count("auto_close") == 1
    assert after["events"][-1]["actor"] == "timer" and after["events"][-1]["role"] == "system"
    fired = [t for t in workflow_timers(app, reference) if t["action"] == "auto_close"]
    assert [(t["status"], t["result"]) for t in fired] == [("fired", "fired")]
    assert after["data"]["validity"] == "lapsed"
    assert [t["action"] for t in pending_timers(app, reference)] == ["archive"]


def test_a_timer_whose_state_was_left_never_fires(app: App, handler: Actor, clock: FixedClock) -> None:
    reference = take_in(app)
    walk(app, reference, ["assess", "need_info", "info_received"])
    clock.advance(days=30)
    assert timers.sweep(app.engine).fired == []
    assert stored(app, reference)["state"] == "assessing"


def test_a_pending_timer_set_by_a_state_the_case_has_left_is_skipped_with_the_reason(
    app: App, handler: Actor, clock: FixedClock
) -> None:
    reference = take_in(app)
    walk(app, reference, ["assess"])
    case = app.engine.get(reference)
    with UnitOfWork(app.db) as uow:
        uow.conn.execute(timer_t.insert().values(
            complaint_id=case.id, kind=WORKFLOW_TIMER, name="auto_close", action="auto_close",
            state="awaiting_customer", due_at=T0, status="pending", payload={}, created_at=T0,
        ))
        uow.commit()
    report = timers.sweep(app.engine)
    assert (report.fired, report.skipped) == ([], [f"{reference} workflow auto_close"])
    [timer] = workflow_timers(app, reference)
    assert (timer["status"], timer["result"]) == ("fired", "skipped: case is now in 'assessing'")
    assert stored(app, reference)["state"] == "assessing"


# -- notifications and records -----------------------------------------------------------------


def test_notifications_are_rendered_in_the_customers_language(app: App, handler: Actor) -> None:
    reference = take_in(app, language="lv", customer={"name": "Anna Ozola", "email": "anna@example.lv"})
    walk(app, reference, ["assess", "invalid"])
    notes = {n["template"]: n for n in stored(app, reference)["notifications"]}
    assert (notes["acknowledgement"]["language"], notes["acknowledgement"]["subject"]) == ("lv", f"Jūsu sūdzība {reference}")
    assert notes["acknowledgement"]["body"].startswith(f"Cien. Anna Ozola!\n\nPaldies, ka sazinājāties ar mums. Jūsu "
                                                       f"sūdzību saņēmām 23.11.2026. Tās numurs ir {reference} —")
    assert notes["assessment_invalid"]["language"] == "lv"
    assert "Mūsu pamatojums: the loan is with another lender." in notes["assessment_invalid"]["body"]
    assert "our product" not in notes["assessment_invalid"]["body"]  # the criteria are the team's


@pytest.mark.parametrize("text", [
    "Dear $customer_name, ${reference}: $$5 {braces} }{ $ 1 $1 $nobody ${nobody}x $$$reference$",
    "$reference$reference ${ $ {0} {reference} %s",
])
def test_a_template_is_filled_as_python_fills_one_placeholders_it_cannot_fill_stay_as_written(
    text: str, sqlite_app: App
) -> None:
    workflow = sqlite_app.engine.registry.get(sqlite_app.intake.workflow_name)
    spec = workflow.spec.model_copy(update={"templates": {**workflow.spec.templates, "probe": {"en": text}}})
    case = Case(reference="C-2026-000001", state="received", tier="frontline", queue="frontline", version=1,
                fields={"reference": "C-2026-000001", "channel": "web"}, customer_name="Ana {x}")
    step = machine.plan(workflow, case, "acknowledge", Actor.system("intake"), {}, T0)
    body = machine.render(CompiledWorkflow(spec, source="probe"), "probe", case, step).body
    assert body == string.Template(text).safe_substitute(customer_name="Ana {x}", reference="C-2026-000001")


@pytest.mark.parametrize(("value", "body"), [
    ("Refund of the second charge.", "Proposed: Refund of the second charge. Next: Refund of the second charge."),
    ("Can you confirm?", "Proposed: Can you confirm? Next: Can you confirm?"),
    ("Refund", "Proposed: Refund. Next: Refund"),
])
def test_a_value_that_ends_its_own_sentence_is_not_given_a_second_full_stop(
    value: str, body: str, sqlite_app: App
) -> None:
    workflow = sqlite_app.engine.registry.get(sqlite_app.intake.workflow_name)
    spec = workflow.spec.model_copy(update={"templates": {**workflow.spec.templates,
                                                          "probe": {"en": "Proposed: $resolution. Next: ${resolution}"}}})
    case = Case(reference="C-2026-000001", state="received", tier="frontline", queue="frontline", version=1,
                fields={"reference": "C-2026-000001", "channel": "web"}, data={"resolution": value})
    step = machine.plan(workflow, case, "acknowledge", Actor.system("intake"), {}, T0)
    assert machine.render(CompiledWorkflow(spec, source="probe"), "probe", case, step).body == body


def test_a_workflow_without_letters_falls_back_to_english_and_writes_as_it_always_did(
    app: App, handler: Actor,
) -> None:
    register_variant(app, lambda doc: None, base=first_version_document())
    reference = take_in(app, language="lv")
    walk(app, reference, TO_INVESTIGATING)
    [ack, note] = stored(app, reference)["notifications"]
    assert (note["language"], note["subject"], note["body"]) == (
        "en", reference, f"Your complaint {reference} is being investigated. Why: the fee was charged twice")
    assert ack["body"].startswith(f"Cien. customer, mēs saņēmām jūsu sūdzību 2026-11-23. Atsauces numurs: {reference}.")


def test_an_unknown_language_gets_english(app: App, handler: Actor) -> None:
    reference = take_in(app, language="fr")
    [ack] = stored(app, reference)["notifications"]
    assert ack["language"] == "en"
    assert ack["body"].startswith("Dear customer,\n\nThank you for contacting us. We received your complaint on "
                                  "23 November 2026.")


def test_the_validity_assessment_is_kept_as_a_decision_record(app: App, clock: FixedClock) -> None:
    reference = take_in(app)
    walk(app, reference, ["assess"])
    clock.advance(hours=3)
    app.engine.advance(reference, "valid", Actor("sam", "supervisor"), PAYLOADS["valid"])
    data = stored(app, reference)["data"]
    assert data["assessment"] == {
        "outcome": "valid",
        "criteria": ["within 6 years", "our product"],
        "rationale": "the fee was charged twice",
        "by": "sam",
        "role": "supervisor",
        "at": (T0 + timedelta(hours=3)).isoformat(),
    }
    assert data["validity"] == "valid"


def test_escalation_moves_tier_and_queue_and_stops_at_the_highest_tier(app: App, handler: Actor) -> None:
    reference = take_in(app)
    walk(app, reference, TO_INVESTIGATING)
    seen = []
    for _ in range(3):
        step = app.engine.advance(reference, "escalate", handler, PAYLOADS["escalate"])
        seen.append((step.to_state, step.tier, step.queue))
    assert seen == [
        ("investigating", "supervisor", "supervisors"),
        ("investigating", "specialist", "specialists"),
        ("investigating", "executive", "executive-ombudsman"),
    ]
    escalate = next(o for o in app.engine.available_actions(reference, handler) if o.action == "escalate")
    assert escalate.blocked_by == ["already at the highest tier 'executive'"]
    before = stored(app, reference)
    with pytest.raises(GuardFailed, match=(
        rf"^Can't 'escalate' complaint {reference} in state 'investigating': already at the highest tier 'executive'$"
    )):
        app.engine.advance(reference, "escalate", handler, PAYLOADS["escalate"])
    assert stored(app, reference) == before
    last = [n for n in before["notifications"] if n["template"] == "escalated"][-1]
    assert last["body"] == (f"Dear customer,\n\nYour complaint {reference} is now being handled by a more senior "
                            "team, who will continue the investigation. You do not need to do anything.")
    assert PAYLOADS["escalate"]["reason"] not in str(before["notifications"])  # the reason is the team's


# -- transactions ------------------------------------------------------------------------------


class _Refuses:
    """An observer whose write fails, as an SLA clock with a broken calendar would."""

    def after_steps(self, uow: UnitOfWork, workflow: CompiledWorkflow, items: Sequence[tuple[Case, Step]]) -> None:
        raise RuntimeError(f"observer refused {items[0][1].action}")


def test_a_failing_observer_rolls_the_whole_step_back(app: App, handler: Actor) -> None:
    reference = take_in(app)
    walk(app, reference, ["assess"])
    before = stored(app, reference)
    app.engine.observers.append(_Refuses())
    with pytest.raises(RuntimeError, match="observer refused need_info"):
        app.engine.advance(reference, "need_info", handler, PAYLOADS["need_info"])
    assert stored(app, reference) == before


def test_steps_joined_to_a_larger_transaction_are_written_only_when_it_commits(app: App, handler: Actor) -> None:
    reference = take_in(app)
    before = stored(app, reference)
    with UnitOfWork(app.db) as uow:
        app.engine.advance(reference, "assess", handler, uow=uow)
        app.engine.advance(reference, "need_info", handler, PAYLOADS["need_info"], uow=uow)
    assert stored(app, reference) == before
    with UnitOfWork(app.db) as uow:
        app.engine.advance(reference, "assess", handler, uow=uow)
        app.engine.advance(reference, "need_info", handler, PAYLOADS["need_info"], uow=uow)
        uow.commit()
    assert stored(app, reference)["state"] == "awaiting_customer"


def test_applying_a_step_changes_what_the_step_says_and_keeps_every_other_field_of_the_case() -> None:
    case = Case("C-2026-000001", "assessing", "frontline", "frontline", 3, {"assignee": "hana"},
                {"product": "Current account", "state": "assessing"}, id=7, customer_name="Ada")
    step = Step(action="escalate", actor=Actor("hana"), from_state="assessing", to_state="investigating",
                tier="specialist", queue="specialist", seq=4, at=T0, payload={}, changes={"reason": "x"},
                timers=[], notifications=[])
    after = step.apply(case)
    changed = {"state": "investigating", "tier": "specialist", "queue": "specialist", "version": 4,
               "data": {"assignee": "hana", "reason": "x"},
               "fields": {"product": "Current account", "state": "investigating", "tier": "specialist",
                          "queue": "specialist"}}
    for f in fields(Case):  # a field added to Case and forgotten by apply fails here
        assert getattr(after, f.name) == changed.get(f.name, getattr(case, f.name)), f.name


def test_instants_are_written_with_their_own_zone_and_offset() -> None:
    # equal instants (and the two readings of a repeated hour) are equal keys to a cache
    london, paris = ZoneInfo("Europe/London"), ZoneInfo("Europe/Paris")
    noon = datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert [machine.iso(noon), machine.iso(noon.astimezone(paris))] == [
        "2026-06-01T12:00:00+00:00", "2026-06-01T14:00:00+02:00",
    ]
    repeated = datetime(2026, 10, 25, 1, 30, tzinfo=london)
    assert [machine.iso(repeated), machine.iso(repeated.replace(fold=1))] == [
        "2026-10-25T01:30:00+01:00", "2026-10-25T01:30:00+00:00",
    ]
    assert machine.iso(noon.date()) == "2026-06-01"
