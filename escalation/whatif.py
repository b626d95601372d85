"""What another SLA, regulatory or escalation policy would have done to the cases of a period.

A policy file holds any of a workflow's ``sla``, ``regulatory`` and ``escalation`` sections,
or only the parts that change (``sla: {clocks: {resolution: {targets: ...}}}``, a calendar's
holidays): it is merged over each workflow the cases ran on and checked like a workflow file.
Every case received in the period is then replayed (``escalation.replay``) under it, and the
figures its clocks recorded are read beside: deadlines met, breaches, escalations the rules
made and letters, by queue, tier and product. Nothing is written.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from complaints.errors import InvalidInput, InvalidWorkflow
from complaints.uow import UnitOfWork
from escalation.clocks import SlaClocks
from escalation.policy import SlaPolicy
from escalation.replay import SWEEPER, TRIGGERS, Figures, Group, History, Tallies, replay_case
from escalation.repository import ClockRepository
from escalation.tiers import policy_for
from workflows.compiled import CompiledWorkflow
from workflows.engine import WorkflowEngine
from workflows.loader import load_yaml, parse_workflow

#: The sections a policy file may hold.
POLICY_SECTIONS = ("sla", "regulatory", "escalation")
DEFAULT_BATCH = 2000


@dataclass
class WhatIfReport:
    policy: str
    start: datetime | None
    end: datetime
    cases: int = 0
    recorded: Tallies = field(default_factory=dict)
    what_if: Tallies = field(default_factory=dict)

    def rows(self) -> list[tuple[Group, Figures, Figures]]:
        """(group, recorded, what-if) for every group either side counts, sorted."""
        return [(g, self.recorded.get(g, Figures()), self.what_if.get(g, Figures()))
                for g in sorted(set(self.recorded) | set(self.what_if))]

    def totals(self) -> tuple[Figures, Figures]:
        recorded, what_if = Figures(), Figures()
        for f in self.recorded.values():
            recorded.add(f)
        for f in self.what_if.values():
            what_if.add(f)
        return recorded, what_if

    def as_dict(self) -> dict[str, Any]:
        recorded, what_if = self.totals()
        return {"policy": self.policy, "from": self.start, "to": self.end, "cases": self.cases,
                "totals": {"recorded": vars(recorded), "what_if": vars(what_if)},
                "groups": [{"queue": q, "tier": t, "product": p, "recorded": vars(r), "what_if": vars(w)}
                           for (q, t, p), r, w in self.rows()]}


def read_policy(path: Path) -> tuple[dict[str, Any], str]:
    """The policy file's sections, and its text (where a problem's line is found); anything
    else in it is refused, naming the key."""
    try:
        text = path.read_text(encoding="utf-8")
        raw = load_yaml(text)
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"Can't read the policy file {path}", [str(exc)]) from exc
    if not isinstance(raw, dict) or not raw:
        raise InvalidInput(f"Invalid policy file {path}", [f"it must hold a mapping of {', '.join(POLICY_SECTIONS)}"])
    wrong = [f"{key}: a policy file holds only {', '.join(POLICY_SECTIONS)}" for key in raw if key not in POLICY_SECTIONS]
    if wrong:
        raise InvalidInput(f"Invalid policy file {path}", wrong)
    return raw, text


def under_policy(workflow: CompiledWorkflow, policy: Mapping[str, Any], source: str, text: str = "") -> CompiledWorkflow:
    """``workflow`` with ``policy`` merged over its sections, checked as a workflow file is.

    A problem is told at its line of ``text``, the policy file, which is what its reader can
    mend (the merged document is nobody's file); without it, by its path alone."""
    doc = workflow.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    for section, value in policy.items():
        doc[section] = _merged(doc.get(section), value)
    merged = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    try:
        return parse_workflow(merged, f"{source} over '{workflow.name}' v{workflow.version}", lines_in=text)
    except InvalidWorkflow as exc:
        raise InvalidInput(f"The policy {source} does not fit '{workflow.name}' v{workflow.version}",
                           exc.problems) from exc


def _merged(base: Any, over: Any) -> Any:
    """Mappings merged key by key; anything else (lists too) replaced; ``null`` removes."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = _merged(base.get(key), value)
        return out
    return over


class WhatIf:
    """Replays the period's cases under a policy, beside what their clocks recorded."""

    def __init__(self, engine: WorkflowEngine, policy: Mapping[str, Any], source: str, text: str = ""):
        self.engine, self.policy, self.source, self.text = engine, dict(policy), source, text
        self._replayed: dict[tuple[str, int], tuple[CompiledWorkflow, SlaPolicy, SlaClocks]] = {}

    def _under(self, name: str, version: int) -> tuple[CompiledWorkflow, SlaPolicy, SlaClocks]:
        found = self._replayed.get((name, version))
        if found is None:
            workflow = under_policy(self.engine.registry.get(name, version), self.policy, self.source, self.text)
            policy = policy_for(workflow)
            found = self._replayed[(name, version)] = (workflow, policy, SlaClocks(policy, explain=False))
        return found

    def run(self, start: datetime | None = None, end: datetime | None = None, batch_size: int = DEFAULT_BATCH,
            on_batch: Callable[[int], None] | None = None) -> WhatIfReport:
        end = end or self.engine.clock.now()
        if start is not None and start >= end:
            raise InvalidInput("Invalid period", [f"--from {start:%Y-%m-%d} is not before --to {end:%Y-%m-%d}"])
        report = WhatIfReport(self.source, start, end)
        after = 0
        while True:
            with UnitOfWork(self.engine.db) as uow:
                cases = uow.cases.received_between(start, end, after, batch_size)
                if not cases:
                    return report
                ids = [c.id for c in cases]
                events = uow.cases.history_events(ids, end)
                ledger, clocks = ClockRepository(uow.conn).outcomes_of(ids, end)
            for case in cases:
                history = History(case.product or "", case.severity or "medium", case.received_at,
                                  [r._mapping for r in events[case.id]])
                if not history.events:
                    continue
                recorded = self.engine.registry.get(case.workflow_name, case.workflow_version)
                workflow, policy, ops = self._under(case.workflow_name, case.workflow_version)
                replay_case(workflow, policy, ops, history, end, report.what_if)
                tally_recorded(recorded, history, ledger[case.id], clocks[case.id], report.recorded)
                report.cases += 1
            after = ids[-1]
            if on_batch:
                on_batch(len(cases))


def tally_recorded(workflow: CompiledWorkflow, history: History, ledger: Sequence[Any],
                   clocks: Mapping[str, tuple[str, dict[str, Any]]], tally: Tallies) -> None:
    """What the case's clocks recorded, counted as ``escalation.replay`` counts its figures;
    each where the case was just before it happened."""
    events = history.events
    times = [e["at"] for e in events]

    def figures(at: datetime) -> Figures:
        ev = events[max(0, bisect_left(times, at) - 1)]
        key = (ev["queue"], ev["tier"], history.product)
        found = tally.get(key)
        if found is None:
            found = tally[key] = Figures()
        return found

    for entry in ledger:
        kind, detail = clocks.get(entry.clock, ("", {}))
        if entry.entry == "letter":
            figures(entry.at).letters += 1
        elif entry.entry == "breach" and kind in ("sla", "regulatory"):
            figures(entry.at).breaches += 1
        elif entry.entry == "stop" and kind == "sla" and entry.met in ("1", "true"):
            figures(entry.at).met += 1
        elif entry.entry == "stop" and kind == "regulatory":
            milestones = detail.get("milestones", {})
            late = json.loads(entry.late_for) if entry.late_for else ()
            if not any(milestones.get(n, {}).get("breach", True) for n in late):
                figures(entry.at).met += 1
    spec = workflow.spec.escalation
    action = spec.action if spec else "escalate"
    letters = len(workflow.spec.transitions[action].notify) if action in workflow.spec.transitions else 0
    for i, ev in enumerate(events):
        if i and ev["action"] == action and ev["actor"] in (SWEEPER, TRIGGERS):
            before = events[i - 1]
            key = (before["queue"], before["tier"], history.product)
            found = tally.setdefault(key, Figures())
            found.escalations += 1
            found.letters += letters
