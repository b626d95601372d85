"""The sla/regulatory/escalation sections are typed and checked at load, with file lines."""

from __future__ import annotations

import copy
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from complaints.errors import InvalidWorkflow
from escalation.policy import SlaPolicy
from workflows.loader import parse_workflow, shipped_workflow_files


def shipped() -> dict[str, Any]:
    path = next(p for p in shipped_workflow_files() if p.name == "complaint.yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load(doc: dict[str, Any]) -> SlaPolicy:
    return SlaPolicy(parse_workflow(yaml.safe_dump(doc, sort_keys=False), source="test.yaml"))


def problems(doc: dict[str, Any]) -> str:
    with pytest.raises(InvalidWorkflow) as info:
        load(doc)
    return str(info.value)


def test_the_shipped_workflow_declares_every_clock_a_preset_and_the_escalation_matrix() -> None:
    policy = load(shipped())
    assert list(policy.clocks) == ["acknowledge", "first_response", "next_update", "resolution", "follow_up"]
    assert list(policy.regulatory) == ["fca"] and policy.escalation is not None
    assert str(policy.target("resolution", "supervisor", "high")) == "P4D"
    assert str(policy.target("acknowledge", "executive", "critical")) == "PT1H"
    assert policy.calendar_for("resolution", "frontline").name == "gb"


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: d["sla"]["clocks"]["resolution"].update(pause=["waiting"]),
     r"line \d+, sla\.clocks\.resolution\.pause: unknown state 'waiting'"),
    (lambda d: d["sla"]["clocks"]["resolution"]["targets"].update(director={"*": "P1D"}),
     r"sla\.clocks\.resolution\.targets\.director: unknown tier 'director'"),
    (lambda d: d["sla"]["clocks"]["resolution"]["targets"]["frontline"].update(urgent="P1D"),
     r"targets\.frontline\.urgent: unknown severity 'urgent'"),
    (lambda d: d["sla"]["clocks"]["resolution"]["targets"].pop("executive"),
     r"sla\.clocks\.resolution\.targets: no target for tier 'executive' and severity low, medium, high, critical"),
    (lambda d: d["sla"]["queue_calendars"].update(supervisors="fr"),
     r"sla\.queue_calendars\.supervisors: unknown calendar 'fr'; calendars are gb, gr, lv, us"),
    (lambda d: d["sla"]["calendars"]["lv"].update(country="XX"),
     r"sla\.calendars\.lv\.country: no public holidays known for country 'XX'"),
    (lambda d: d["sla"]["clocks"]["resolution"].update(warn_at=0.5),
     r"sla\.clocks\.resolution\.warn_at: unknown key 'warn_at'"),
    (lambda d: d["sla"]["clocks"]["resolution"]["targets"]["frontline"].update(low="P2W"),
     r"targets\.frontline\.low: Value error, 'P2W' is not a business duration"),
    (lambda d: d["regulatory"]["clocks"]["fca"].update(preset="mifid"),
     r"regulatory\.clocks\.fca\.preset: unknown preset 'mifid'; presets are cfpb, fca_disp, psd2"),
    (lambda d: d["templates"].pop("fca_delay_letter"),
     r"regulatory\.clocks\.fca\.preset: letter template 'fca_delay_letter' does not exist"),
    (lambda d: d["escalation"].update(on_breach=["resolution", "reply"]),
     r"escalation\.on_breach: unknown SLA clock 'reply'"),
    (lambda d: d["escalation"]["severity"].update(critical="board"),
     r"escalation\.severity\.critical: unknown tier 'board'"),
    (lambda d: d["escalation"].update(after_actions=["reject", "escalate"]),
     r"escalation\.after_actions: 'escalate' would escalate after itself"),
    (lambda d: d["escalation"].update(action="pause"),
     r"escalation\.action: 'pause' must move to 'tier: next'"),
])
def test_names_the_sections_use_must_exist(mutate: Any, expected: str) -> None:
    doc = copy.deepcopy(shipped())
    mutate(doc)
    assert re.search(expected, problems(doc)), problems(doc)


RECEIVED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def with_preset(preset: str, templates: dict[str, str]) -> SlaPolicy:
    """Version 1 of the shipped workflow (whose letters name no referral body) on ``preset``."""
    path = next(p for p in shipped_workflow_files() if p.name == "complaint-v1.yaml")
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["regulatory"]["clocks"] = {"reg": {"preset": preset, "stop": ["resolution_proposed", "closed"]}}
    doc["templates"].pop("fca_delay_letter")
    doc["templates"].update({name: {"en": text} for name, text in templates.items()})
    return load(doc)


def test_psd2_wants_a_reply_in_15_business_days_and_a_holding_reply_before_it() -> None:
    policy = with_preset("psd2", {"psd2_holding_reply": "Holding reply for $reference; final reply by $deadline."})
    reply, final = policy.milestones("reg", RECEIVED)
    assert reply.deadline == datetime(2026, 12, 14, 17, 30, tzinfo=UTC)  # 15 business days after 23 Nov
    assert reply.letter == "psd2_holding_reply" and reply.letter_at == reply.deadline - timedelta(days=2)
    assert final.deadline == datetime(2027, 1, 14, 17, 30, tzinfo=UTC)  # Christmas, Boxing Day, New Year skipped


def test_cfpb_counts_calendar_days() -> None:
    policy = with_preset("cfpb", {"cfpb_response": "Our response to $reference is due by $deadline."})
    response, closure = policy.milestones("reg", RECEIVED)
    assert (response.deadline, closure.deadline) == (RECEIVED + timedelta(days=15), RECEIVED + timedelta(days=60))


def test_fca_disp_summary_resolution_ends_at_close_of_the_third_business_day_and_is_no_breach() -> None:
    summary, final = load(shipped()).milestones("fca", RECEIVED)
    assert summary.deadline == datetime(2026, 11, 26, 17, 30, tzinfo=UTC) and not summary.breach
    assert final.deadline == RECEIVED + timedelta(weeks=8) and final.letter == "fca_delay_letter"
