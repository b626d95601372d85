"""`complaints sla whatif`: a period's history replayed under another policy, beside the record."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from casework import stored, take_in, walk
from conftest import T0
from terminal import terminal

from complaintflow.bootstrap import App
from complaints.clock import FixedClock
from complaints.errors import InvalidInput
from complaints.uow import UnitOfWork
from escalation.replay import Figures
from escalation.sweep import sweep
from escalation.whatif import WhatIf, read_policy

FRONTLINE = ("frontline", "frontline", "Current account")
SUPERVISORS = ("supervisors", "supervisor", "Current account")
#: Wednesday noon, two days and three hours after T0 (Monday 09:00 UTC, London is on UTC).
END = T0 + timedelta(days=2, hours=3)
ONE_DAY_FIRST_RESPONSE = {"sla": {"clocks": {"first_response": {"targets": {"frontline": {"medium": "P1D"}}}}}}


def small_history(app: App) -> tuple[str, str]:
    """Two medium complaints taken in on Monday 09:00 at the frontline: A is found valid on
    Tuesday 13:00, B is left alone; the sweep runs on Wednesday 09:00."""
    clock = app.clock
    assert isinstance(clock, FixedClock)
    a, b = take_in(app), take_in(app)
    clock.advance(days=1, hours=4)
    walk(app, a, ["assess", "valid"])
    clock.advance(hours=20)
    sweep(app.engine)
    clock.advance(hours=3)
    return a, b


def figures(met: int = 0, breaches: int = 0, escalations: int = 0, letters: int = 0) -> Figures:
    return Figures(met, breaches, escalations, letters)


def test_the_record_of_a_small_history_is_counted_as_worked_out_by_hand(app: App) -> None:
    """By hand, on the shipped rules (frontline, medium: first response P2D, calendar gb):

    - Both acknowledgement clocks stop at intake, in time: 2 met.
    - A's first response runs Mon 09:00 → its decision Tue 13:00, due Wed 09:00 (two business
      days later, same time): 1 met.
    - B's first response is due Wed 09:00 too; the sweep then records the breach (1), and the
      shipped rules escalate on it (1 escalation) with the 'escalated' letter (1 letter).
    - Nothing else falls due by Wednesday noon (resolution P10D, the summary resolution
      lapses on Thursday, the FCA letter comes at 54 days). All of it at the frontline.
    """
    small_history(app)
    report = WhatIf(app.engine, {"escalation": {}}, "same.yaml").run(end=END)
    assert report.cases == 2
    assert report.recorded == {FRONTLINE: figures(met=3, breaches=1, escalations=1, letters=1)}


def test_replayed_under_its_own_rules_the_history_gives_what_was_recorded(app: App) -> None:
    small_history(app)
    report = WhatIf(app.engine, {"escalation": {}}, "same.yaml").run(end=END)
    assert report.what_if == report.recorded


def test_a_shorter_first_response_target_breaches_and_escalates_both_cases_as_worked_out_by_hand(app: App) -> None:
    """By hand, with the frontline medium first response at P1D instead of P2D:

    - Both first responses are now due Tue 09:00 and both breach then, at the frontline:
      2 breaches, 2 escalations to the supervisor, 2 letters.
    - The breached clocks start a new run at the supervisor (P2D from Tue 09:00: Thu 09:00).
      A's decision on Tue 13:00 stops that run in time: 1 met, counted at the supervisors.
    - B's new run is not due by Wednesday noon.
    - The acknowledgement clocks: 2 met at the frontline, as recorded.
    So the frontline shows met 3 → 2, breaches 1 → 2, escalations 1 → 2, letters 1 → 2, and
    the supervisors met 0 → 1. Nothing in the database changes.
    """
    a, b = small_history(app)
    before = {ref: stored(app, ref) for ref in (a, b)}
    report = WhatIf(app.engine, ONE_DAY_FIRST_RESPONSE, "p1d.yaml").run(end=END)
    assert report.what_if == {FRONTLINE: figures(met=2, breaches=2, escalations=2, letters=2),
                              SUPERVISORS: figures(met=1)}
    assert report.recorded == {FRONTLINE: figures(met=3, breaches=1, escalations=1, letters=1)}
    rows = {group: (rec, wif) for group, rec, wif in report.rows()}
    assert rows[SUPERVISORS] == (figures(), figures(met=1))
    assert {ref: stored(app, ref) for ref in (a, b)} == before


def test_a_policy_without_escalation_on_breach_keeps_the_cases_at_the_frontline(app: App) -> None:
    """By hand: the same P1D target, but no escalation on any breach: the two breaches stay
    (Tue 09:00), nobody is escalated and no letter goes; A's first response stops after its
    deadline, so it is not met: met 2 (the acknowledgements)."""
    small_history(app)
    policy = {**ONE_DAY_FIRST_RESPONSE, "escalation": {"on_breach": []}}
    report = WhatIf(app.engine, policy, "quiet.yaml").run(end=END)
    assert report.what_if == {FRONTLINE: figures(met=2, breaches=2)}


def test_an_earlier_regulatory_letter_is_counted_where_it_would_have_gone_as_worked_out_by_hand(app: App) -> None:
    """By hand: FCA's final response is due 56 calendar days after receipt; the shipped delay
    letter goes 2 days before it, long after Wednesday. With a lead of 55 days it would go one
    day after receipt, Tue 09:00, while both cases are open at the frontline (A's FCA clock
    stops only at a proposal): 2 more letters. The rest is as recorded: met 3, B's breach,
    escalation and its letter. Frontline letters 1 → 3."""
    small_history(app)
    early = {"regulatory": {"clocks": {"fca": {"milestones": {"final_response": {
        "label": "final response within 8 weeks of receipt", "calendar_days": 56, "letter": "fca_delay_letter",
        "letter_lead": "P55D"}}}}}}
    report = WhatIf(app.engine, early, "early.yaml").run(end=END)
    assert report.what_if == {FRONTLINE: figures(met=3, breaches=1, escalations=1, letters=3)}
    assert report.recorded == {FRONTLINE: figures(met=3, breaches=1, escalations=1, letters=1)}


def test_figures_are_grouped_by_product_too(app: App) -> None:
    """By hand: two complaints taken in on Monday 09:00, one about a current account and one
    about a mortgage; an hour later only their acknowledgement clocks have stopped (in time),
    one met in each product's group, recorded and replayed alike."""
    take_in(app)
    take_in(app, product="Mortgage")
    report = WhatIf(app.engine, {"escalation": {}}, "same.yaml").run(end=T0 + timedelta(hours=1))
    expected = {FRONTLINE: figures(met=1), ("frontline", "frontline", "Mortgage"): figures(met=1)}
    assert report.recorded == expected and report.what_if == expected


def test_the_period_takes_only_the_cases_received_in_it(app: App) -> None:
    small_history(app)
    report = WhatIf(app.engine, {"escalation": {}}, "same.yaml").run(start=T0 + timedelta(hours=1), end=END)
    assert report.cases == 0 and report.rows() == []
    with pytest.raises(InvalidInput, match="Invalid period"):
        WhatIf(app.engine, {"escalation": {}}, "same.yaml").run(start=END, end=T0)


def test_a_policy_that_does_not_fit_the_workflow_is_refused_naming_what_is_wrong(app: App, tmp_path: Path) -> None:
    small_history(app)
    bad = {"sla": {"clocks": {"first_response": {"stop": ["nowhere"]}}}}
    with pytest.raises(InvalidInput, match="does not fit 'complaint' v2") as caught:
        WhatIf(app.engine, bad, "bad.yaml").run(end=END)
    assert any("nowhere" in p for p in caught.value.problems)
    path = tmp_path / "p.yaml"
    path.write_text("sla: {}\nstates: {}\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="Invalid policy file") as caught:
        read_policy(path)
    assert caught.value.problems == ["states: a policy file holds only sla, regulatory, escalation"]


def test_the_cli_shows_recorded_beside_what_if_and_writes_nothing(app: App, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    a, _ = small_history(app)
    path = tmp_path / "p1d.yaml"
    path.write_text(yaml.safe_dump(ONE_DAY_FIRST_RESPONSE), encoding="utf-8")
    with UnitOfWork(app.db) as uow:
        events = len(uow.cases.events(uow.cases.get(a).id))  # type: ignore[arg-type]

    run = terminal(monkeypatch, capsys, "--db", app.db.engine.url.render_as_string(False), "--now", END.isoformat(),
                   colour=False)

    code, out, _ = run("sla", "whatif", str(path))
    assert code == 0 and "What if: p1d.yaml" in out and "3 → 2" in out and "1 → 2" in out and "supervisors" in out
    code, out, _ = run("--json", "sla", "whatif", str(path), "--from", "2026-11-23", "--to", "2026-11-25T12:00:00")
    found: dict[str, Any] = json.loads(out)
    assert code == 0 and found["cases"] == 2
    assert found["totals"]["what_if"] == {"met": 3, "breaches": 2, "escalations": 2, "letters": 2}
    code, _, err = run("sla", "whatif", str(path), "--from", "yesterday")
    assert code != 0 and "--from" in err
    with UnitOfWork(app.db) as uow:
        assert len(uow.cases.events(uow.cases.get(a).id)) == events  # type: ignore[arg-type]


def test_a_policy_file_that_does_not_fit_is_refused_at_its_own_lines_not_the_merged_workflows(
        app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    small_history(app)
    path = tmp_path / "review.yaml"
    path.write_text("# a review\nsla:\n  clocks:\n    first_response: {stop: [nowhere]}\n", encoding="utf-8")
    run = terminal(monkeypatch, capsys, "--db", app.db.engine.url.render_as_string(False), "--now", END.isoformat(),
                   colour=False)

    code, _, err = run("sla", "whatif", str(path))

    assert code != 0 and "review.yaml" in err
    assert "line 4, sla.clocks.first_response.stop" in err


def test_a_problem_the_policy_makes_in_a_section_it_does_not_hold_is_told_by_its_path_alone(app: App) -> None:
    small_history(app)
    text = "sla:\n  clocks:\n    first_response: null\n"
    with pytest.raises(InvalidInput) as caught:
        WhatIf(app.engine, yaml.safe_load(text), "review.yaml", text).run(end=END)
    assert any(p.startswith("escalation.on_breach: unknown SLA clock 'first_response'")
               for p in caught.value.problems)
