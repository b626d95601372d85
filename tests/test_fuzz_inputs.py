"""Fuzzing what comes from outside: random and hostile workflow files, intake payloads and
action payloads are taken or refused with the project's own errors (never a Python exception
escaping), a refusal writes nothing, and no input takes more than bounded memory.

A deadline of a few seconds per example is a safety net against an input that would run on,
not a measure: examples finish in milliseconds."""

from __future__ import annotations

import copy
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
import yaml
from casework import register_variant, stored, take_in
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from complaintflow.bootstrap import App
from complaintflow.tables import metadata
from complaints.errors import ComplaintflowError, InvalidWorkflow
from complaints.schemas import CHANNELS, SEVERITIES, ComplaintIn, CustomerIn, parse_complaint
from complaints.steps import Actor
from workflows.loader import parse_workflow, shipped_workflow_files

SHIPPED_TEXT = next(p for p in shipped_workflow_files() if p.name == "complaint.yaml").read_text(encoding="utf-8")
SHIPPED_DOC = yaml.load(SHIPPED_TEXT, Loader=yaml.CSafeLoader)
MEMORY_PER_INPUT = 64 * 1024**2
SAFETY = timedelta(seconds=10)  # a net against a runaway input; examples take milliseconds
WITH_APP = settings(max_examples=30, deadline=SAFETY, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

#: Text an attacker or a broken source sends: terminal escapes, bidirectional overrides,
#: formula starts, NUL, a lone surrogate, absurd numbers, dates and durations, much text.
HOSTILE = [
    "Card\x1b[2J", "\x1b[31mEve\x1b[0m", "it broke \x1b]0;pwned\x07", "Card\u202egnp.exe", "a\x00b", "\ud800",
    "=cmd|' /C calc'!A0", "", " ", "\t\n", "x" * 301, "x" * 100_001, "9" * 5000, "NaN", "-inf", "1e999",
    "P99999Y", "0001-01-01", "9999-12-31T23:59:59", "2026-02-30", "1899-12-31T23:00:00Z", "{", "[[[[",
    "\U000e0041", "\u2028", "C-2026-000001", "email:", "@", "+44 (0) 20 7946 0958",
]
TEXT = st.one_of(st.text(max_size=40), st.sampled_from(HOSTILE))
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-(2**80), 2**80), st.floats(), TEXT,
    st.dates(date(1, 1, 1)).map(date.isoformat),
    st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30),
                 timezones=st.none() | st.timedeltas(timedelta(hours=-23), timedelta(hours=23)).map(timezone)),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                      max_leaves=6)


def _keys(fields: list[str]) -> st.SearchStrategy[str]:
    """Mostly the model's own keys, now and then a misspelt or a hostile one."""
    return st.one_of(st.sampled_from(fields), st.sampled_from(fields).map(lambda k: k[:-1]), TEXT)


def field_value(name: str) -> st.SearchStrategy[Any]:
    known = {"channel": st.sampled_from(CHANNELS), "severity": st.sampled_from(SEVERITIES),
             "language": st.sampled_from(["en", "lv", "EL", "english"])}
    return st.one_of(known.get(name, TEXT), VALUES)


@st.composite
def intake_payloads(draw: st.DrawFn) -> dict[str, Any]:
    raw: dict[str, Any] = {"product": draw(field_value("product")), "description": draw(field_value("description"))}
    for key in draw(st.lists(_keys(list(ComplaintIn.model_fields)), max_size=6)):
        if key == "customer":
            raw[key] = draw(st.one_of(VALUES, st.dictionaries(_keys(list(CustomerIn.model_fields)), TEXT, max_size=3)))
        else:
            raw[key] = draw(field_value(key))
    if draw(st.booleans()):  # often a plain, mostly valid record, so intake itself is reached
        raw = {k: v for k, v in raw.items() if k in ComplaintIn.model_fields and k != "customer"} | {
            "product": draw(TEXT.filter(lambda s: 0 < len(s.strip()) <= 200)),
            "description": draw(TEXT.filter(lambda s: 0 < len(s.strip()) <= 1000))}
    return raw


def row_counts(app: App) -> dict[str, int]:
    with app.db.transaction() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in metadata().sorted_tables}


# -- intake ---------------------------------------------------------------------------------------


@WITH_APP
@given(raw=intake_payloads())
def test_any_intake_payload_is_taken_in_or_refused_with_nothing_written(app: App, raw: dict[str, Any]) -> None:
    before = row_counts(app)
    try:
        record = parse_complaint(raw)
    except ComplaintflowError:
        event("refused when parsed")
        return
    try:
        app.intake.take_in_one(record, Actor("hana", "handler"))
    except ComplaintflowError:
        event("refused by intake")
        assert row_counts(app) == before
    else:
        event("taken in")


# -- action payloads ------------------------------------------------------------------------------

FIGURES = {name: {"type": kind, "required": False} for name, kind in [
    ("title", "str"), ("body", "text"), ("amount", "int"), ("rate", "float"), ("due", "date"),
    ("at", "datetime"), ("tags", "list"), ("flag", "bool")]}


def _with_figures(doc: dict[str, Any]) -> None:
    doc["transitions"]["note_figures"] = {"from": "*", "roles": ["handler"], "fields": FIGURES}


@pytest.fixture
def figures_case(app: App) -> str:
    workflow = register_variant(app, _with_figures)
    assert "note_figures" in workflow.spec.transitions
    return take_in(app)


#: Values of each field's own type, the edges of its bounds among them.
TYPED = {
    "title": TEXT, "body": TEXT, "amount": st.integers(), "rate": st.floats(), "flag": st.booleans(),
    "due": st.dates(date(1, 1, 1)).map(date.isoformat), "tags": st.one_of(st.lists(TEXT, max_size=4), TEXT),
    "at": st.datetimes(datetime(1, 1, 2), timezones=st.just(UTC)).map(datetime.isoformat),
}


@st.composite
def action_payloads(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    if draw(st.booleans()):
        return "note_figures", draw(st.fixed_dictionaries({}, optional=TYPED))
    actions = sorted(SHIPPED_DOC["transitions"]) + ["note_figures"]
    action = draw(st.one_of(st.sampled_from(actions), TEXT))
    fields = sorted(FIGURES) + ["assignee", "reason", "resume_on", "criteria", "rationale", "question"]
    return action, draw(st.dictionaries(_keys(fields), VALUES, max_size=5))


@WITH_APP
@given(move=action_payloads())
def test_any_action_payload_is_taken_or_refused_with_nothing_written(
        app: App, figures_case: str, handler: Actor, move: tuple[str, dict[str, Any]]) -> None:
    action, payload = move
    before, counts = stored(app, figures_case), row_counts(app)
    try:
        app.engine.advance(figures_case, action, handler, payload)
    except ComplaintflowError as exc:
        event(f"refused: {type(exc).__name__}")
        assert stored(app, figures_case) == before and row_counts(app) == counts
    else:
        event("taken")


# -- workflow files -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def traced() -> Iterator[None]:
    tracemalloc.start()
    yield
    tracemalloc.stop()


def parsed_within_bounds(text: str) -> None:
    """``text`` loads or is refused as InvalidWorkflow, with bounded memory."""
    tracemalloc.reset_peak()
    start = tracemalloc.get_traced_memory()[0]
    try:
        parse_workflow(text, source="fuzz.yaml")
    except InvalidWorkflow as exc:
        assert exc.problems and all(isinstance(p, str) for p in exc.problems)
    assert tracemalloc.get_traced_memory()[1] - start < MEMORY_PER_INPUT


SNIPPETS = [
    "&a [*a]", "*undefined", "!!python/object/apply:os.system ['true']", "? [a]\n: b", "<<: *x", "\t", "%YAML 1.1",
    "---\n---", "\x1b[2J", "P99999Y", "1e999", ".nan", "~", "0001-01-01", "2026-02-30", "{", "[" * 70, "9" * 5000,
    "!!binary aGVsbG8=", "!!set {a, b}", "\ufeff", "yes", "on", '"\\0"', "- - -", "&x {a: *x}", "!!timestamp soon",
    "!!bool maybe", "!!float x", "!!int 0x", "!!seq x", "!!str [1]",
]
LINES = SHIPPED_TEXT.splitlines(keepends=True)


@st.composite
def mutated_workflows(draw: st.DrawFn) -> str:
    """The shipped workflow with a few lines replaced, dropped, duplicated or spliced with
    hostile snippets."""
    lines = list(LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        match draw(st.sampled_from(["replace", "drop", "duplicate", "splice", "value"])):
            case "replace":
                lines[i] = draw(st.one_of(TEXT, st.sampled_from(SNIPPETS))) + "\n"
            case "drop":
                del lines[i]
            case "duplicate":
                lines.insert(i, lines[i])
            case "splice":
                at = draw(st.integers(0, len(lines[i])))
                lines[i] = lines[i][:at] + draw(st.sampled_from(SNIPPETS)) + lines[i][at:]
            case "value":
                key, colon, _ = lines[i].partition(":")
                if colon:
                    lines[i] = f"{key}: {draw(st.sampled_from(SNIPPETS + HOSTILE[:20])).replace(chr(10), ' ')}\n"
    return "".join(lines)


@st.composite
def restructured_workflows(draw: st.DrawFn) -> str:
    """The shipped workflow with a value somewhere in its tree replaced by a random one."""
    doc = copy.deepcopy(SHIPPED_DOC)
    node: Any = doc
    while isinstance(node, dict | list) and node and draw(st.integers(0, 3)):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = draw(st.sampled_from(keys))
        if not isinstance(node[key], dict | list) or not node[key]:
            node[key] = draw(VALUES)
            break
        node = node[key]
    else:
        if isinstance(node, dict):
            node[draw(TEXT)] = draw(VALUES)
    try:
        return yaml.dump(doc, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True)
    except UnicodeEncodeError:  # a value YAML can't write (a lone surrogate): the file as it was
        return SHIPPED_TEXT


@st.composite
def alias_bombs(draw: st.DrawFn) -> str:
    """Nested aliases of random fan-out and depth, of lists or of mappings."""
    fan, levels = draw(st.integers(2, 12)), draw(st.integers(2, 12))
    mapping = draw(st.booleans())
    rows = []
    for level in range(levels):
        item = f"*l{level - 1}" if level else '"lol"'
        items = [f"k{i}: {item}" for i in range(fan)] if mapping else [item] * fan
        rows.append(f"l{level}: &l{level} " + ("{" if mapping else "[") + ", ".join(items) + ("}" if mapping else "]"))
    return "\n".join(rows) + "\n"


#: A failing mutated workflow is the shipped one, ~35 kB: Hypothesis warns that its repr is
#: large, and the warning (an error here) would stand in for the failure found.
LARGE_REPR = "ignore:Generating overly large repr:hypothesis.errors.HypothesisWarning"


@pytest.mark.filterwarnings(LARGE_REPR)
@settings(max_examples=60, deadline=SAFETY, database=None)
@given(text=st.one_of(st.text(), st.binary().map(lambda b: b.decode("latin-1")), mutated_workflows(),
                      restructured_workflows(), alias_bombs()))
@example(text=SHIPPED_TEXT + "'[': null\n")  # a key like pydantic's markers of union members: was an IndexError
@example(text="name: \ud800\n")  # a lone surrogate: was a UnicodeEncodeError from libyaml
@example(text="version: !!timestamp soon\n")  # an explicit tag over no such value: was an AttributeError
@example(text="letters:\n  languages:\n    en: {timezone: " + "x" * 256 + "}\n")  # too long a file name: was an OSError
@example(text="letters:\n  languages:\n    en: {timezone: Europe}\n")  # a folder of zones: was an IsADirectoryError
@example(text="\n".join(f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}" if n else "lol"] * 12) + "]" for n in range(5)))
def test_any_workflow_text_loads_or_is_refused_as_an_invalid_workflow_in_bounded_memory(
        traced: None, text: str) -> None:
    parsed_within_bounds(text)


@pytest.mark.slow
@pytest.mark.filterwarnings(LARGE_REPR)
@settings(max_examples=200, deadline=SAFETY, database=None)
@given(text=st.one_of(mutated_workflows(), restructured_workflows(), alias_bombs()))
def test_many_more_mutated_workflows_load_or_are_refused_in_bounded_memory(traced: None, text: str) -> None:
    parsed_within_bounds(text)

