"""Property: whatever sequence of actions, bad payloads, stale writes and timer firings a case
goes through, its stored state is exactly the replay of its event log, it only ever takes
transitions the definition declares into states the definition can reach, and a refused
attempt changes nothing."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import networkx as nx
from casework import stored
from conftest import T0
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from complaintflow.bootstrap import App, build, init_database
from complaintflow.settings import Settings
from complaints.clock import FixedClock
from complaints.errors import ActionNotAllowed, ComplaintflowError, ConflictError, InvalidInput
from complaints.repository import WORKFLOW_TIMER
from complaints.schemas import ComplaintIn

#: Values some fields must come from to be accepted downstream (the root-cause taxonomy).
from complaints.steps import Actor
from workflows import timers
from workflows.checks import sources, state_graph
from workflows.compiled import CompiledWorkflow
from workflows.definition import FieldSpec
from workflows.machine import allowed_for, replay

KNOWN_VALUES = {"root_cause_code": ["BILLING.DUPLICATE", "SYSTEM.DEFECT", "PRODUCT.FEES", "NOT.A.CODE"]}
WORDS = st.from_regex(r"[A-Za-z][A-Za-z .]{0,11}", fullmatch=True)
MOVES = ["act"] * 8 + ["bad_payload", "wrong_action", "stale", "timers", "timers"]
CLOCK_STEPS = [timedelta(hours=1), timedelta(days=1), timedelta(days=8), timedelta(days=15), timedelta(days=91)]


@cache
def migrated_database() -> Path:
    """A database migrated once per test run; every example starts from a copy of it."""
    path = Path(tempfile.mkdtemp(prefix="cf-replay-")) / "template.db"
    app = build(Settings(database_url=f"sqlite:///{path}"))
    init_database(app.db)
    app.db.dispose()
    return path


@cache
def reachable_states(workflow: CompiledWorkflow) -> frozenset[str]:
    graph = state_graph(workflow.spec)
    return frozenset(nx.descendants(graph, workflow.initial_state) | {workflow.initial_state})


# -- payloads from the field specs -------------------------------------------------------------


def value_for(name: str, spec: FieldSpec) -> st.SearchStrategy[Any]:
    if name in KNOWN_VALUES:
        return st.sampled_from(KNOWN_VALUES[name])
    match spec.type:
        case "str" | "text":
            return WORDS
        case "int":
            return st.integers(-1000, 1000)
        case "float":
            return st.floats(-1e6, 1e6, allow_nan=False)
        case "bool":
            return st.booleans()
        case "date":
            return st.dates(T0.date() - timedelta(days=5), T0.date() + timedelta(days=120)).map(date.isoformat)
        case "datetime":
            return st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31), timezones=st.just(UTC))
        case "list":
            return st.one_of(st.lists(WORDS, min_size=1, max_size=3), st.lists(WORDS, min_size=1, max_size=3).map(", ".join))
        case "choice":
            return st.sampled_from(spec.choices or [])
    raise AssertionError(spec.type)


@st.composite
def valid_payload(draw: st.DrawFn, workflow: CompiledWorkflow, action: str) -> dict[str, Any]:
    payload = {}
    for name, spec in workflow.transition(action).fields.items():
        if spec.required or draw(st.booleans()):
            payload[name] = draw(value_for(name, spec))
    return payload


WRONG_TYPES = {"str": 123, "text": ["a", "list"], "int": "many", "float": "much", "bool": "perhaps",
               "date": "next week", "datetime": "soon", "list": 5, "choice": "none of them"}


@st.composite
def invalid_payload(draw: st.DrawFn, workflow: CompiledWorkflow, action: str) -> dict[str, Any]:
    payload = draw(valid_payload(workflow, action))
    fields = workflow.transition(action).fields
    required = [n for n, s in fields.items() if s.required]
    ways = ["unknown"] + (["missing"] if required else []) + (["wrong_type"] if fields else [])
    match draw(st.sampled_from(ways)):
        case "unknown":
            payload["zz_not_a_field"] = draw(WORDS)
        case "missing":
            payload.pop(draw(st.sampled_from(required)))
        case "wrong_type":
            name = draw(st.sampled_from(sorted(fields)))
            payload[name] = WRONG_TYPES[fields[name].type]
    return payload


# -- what must hold after every step -----------------------------------------------------------


def check_consistent(app: App, workflow: CompiledWorkflow, reference: str) -> dict[str, Any]:
    now = stored(app, reference)
    folded = replay(now["events"])
    assert folded is not None
    assert (now["state"], now["tier"], now["queue"], now["version"], now["data"]) == (
        folded.state, folded.tier, folded.queue, folded.version, folded.data,
    )
    for ev in now["events"]:
        assert ev["to_state"] in reachable_states(workflow), ev
        assert ev["queue"] == workflow.queue_of(ev["tier"]), ev
        if ev["seq"] == 1:
            assert (ev["action"], ev["from_state"], ev["to_state"]) == ("receive", None, workflow.initial_state)
            continue
        transition = workflow.transition(ev["action"])  # KeyError: an undeclared action was taken
        assert ev["from_state"] in sources(workflow.spec, transition.from_), ev
        assert ev["to_state"] == (transition.to or ev["from_state"]), ev
    workflow_timers = [t for t in now["timers"] if t["kind"] == WORKFLOW_TIMER and t["status"] == "pending"]
    assert all(t["state"] == now["state"] for t in workflow_timers), workflow_timers
    return now


def refused(app: App, reference: str, before: dict[str, Any], attempt: Any, *errors: type[Exception]) -> None:
    """``attempt`` must raise one of ``errors`` and leave every row as it was."""
    try:
        attempt()
    except errors:
        pass
    else:
        raise AssertionError(f"expected one of {[e.__name__ for e in errors]}")
    assert stored(app, reference) == before


# -- the property ------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_stored_cases_always_equal_the_replay_of_their_events_and_follow_the_definition(data: st.DataObject) -> None:
    folder = Path(tempfile.mkdtemp(prefix="cf-replay-example-"))
    try:
        shutil.copyfile(migrated_database(), folder / "cases.db")
        clock = FixedClock(T0)
        app = build(Settings(database_url=f"sqlite:///{folder / 'cases.db'}"), clock=clock)
        try:
            run_example(data, app, clock)
        finally:
            app.db.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_example(data: st.DataObject, app: App, clock: FixedClock) -> None:
    record = ComplaintIn(
        product="Current account", description="Charged twice",
        severity=data.draw(st.sampled_from(["low", "medium", "high", "critical"]), label="severity"),
        language=data.draw(st.sampled_from(["en", "lv", "el"]), label="language"),
    )
    reference, _ = app.intake.take_in_one(record, Actor("hana", "handler"))
    workflow = app.registry.get(app.intake.workflow_name)
    roles = ["handler"] * 4 + list(workflow.spec.roles)  # mostly the handler, who can walk the whole lifecycle
    now = check_consistent(app, workflow, reference)

    for _ in range(data.draw(st.integers(3, 24), label="steps")):
        move = data.draw(st.sampled_from(MOVES), label="move")
        actor = Actor("hana", data.draw(st.sampled_from(roles), label="role"))
        options = [o.action for o in app.engine.available_actions(reference, actor) if o.allowed]
        if move == "act" and options:
            action = data.draw(st.sampled_from(options), label="action")
            payload = data.draw(valid_payload(workflow, action), label="payload")
            try:
                app.engine.advance(reference, action, actor, payload, expected_version=now["version"])
            except ComplaintflowError:  # an entry gate or an observer (e.g. an unknown root cause) refused it
                assert stored(app, reference) == now
            else:
                after = stored(app, reference)
                assert after["version"] > now["version"]
                taken = after["events"][len(now["events"])]
                assert (taken["action"], taken["from_state"]) == (action, now["state"])
        elif move == "bad_payload" and options:
            action = data.draw(st.sampled_from(options), label="action")
            payload = data.draw(invalid_payload(workflow, action), label="bad payload")
            refused(app, reference, now, lambda: app.engine.advance(reference, action, actor, payload), InvalidInput)
        elif move == "stale" and options:
            action = data.draw(st.sampled_from(options), label="action")
            payload = data.draw(valid_payload(workflow, action), label="payload")
            refused(app, reference, now, lambda: app.engine.advance(
                reference, action, actor, payload, expected_version=now["version"] - 1), ConflictError)
        elif move == "timers":
            clock.advance(seconds=data.draw(st.sampled_from(CLOCK_STEPS), label="clock").total_seconds())
            report = timers.sweep(app.engine)
            assert report.failed == [], report.failed
        else:
            case = app.engine.get(reference)
            impossible = sorted(set(workflow.spec.transitions) - set(allowed_for(workflow, case, actor)))
            action = data.draw(st.sampled_from([*impossible, "no_such_action"]), label="impossible action")
            refused(app, reference, now, lambda: app.engine.advance(reference, action, actor, {}), ActionNotAllowed)
        now = check_consistent(app, workflow, reference)
        event(f"reached {now['state']}")
