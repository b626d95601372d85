"""Helpers the engine, intake, CLI and property tests share: complaints taken in, walked along
the shipped lifecycle with plausible payloads, and snapshots that prove nothing was written."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import yaml

from complaintflow.bootstrap import App
from complaints.repository import WORKFLOW_TIMER
from complaints.schemas import ComplaintIn
from complaints.steps import Actor
from complaints.uow import UnitOfWork
from workflows.compiled import CompiledWorkflow
from workflows.loader import parse_workflow, shipped_workflow_files

#: A valid payload for every action of the shipped workflow that takes fields.
PAYLOADS: dict[str, dict[str, Any]] = {
    "valid": {"criteria": "within 6 years, our product", "rationale": "the fee was charged twice"},
    "invalid": {"criteria": "our product", "rationale": "the loan is with another lender"},
    "need_info": {"question": "the date of the second charge"},
    "info_received": {"summary": "statement received"},
    "escalate": {"reason": "needs a senior decision"},
    "pause": {"reason": "waiting for the bank statement", "resume_on": "2027-03-01"},
    "propose": {"resolution": "refund of 40 EUR", "reasons": "the second charge was a system error"},
    "reject": {"reason": "the refund is too small"},
    "satisfied": {"comment": "thanks"},
    "dissatisfied": {"reason": "the fee came back"},
    "close": {"root_cause_code": "BILLING.DUPLICATE", "finding": "batch job ran twice"},
    "reopen": {"reason": "the customer found a third charge"},
    "assign": {"assignee": "ines"},
}

#: Paths along the shipped lifecycle, starting from 'acknowledged' (where intake leaves a case).
TO_INVESTIGATING = ["assess", "valid"]
TO_FOLLOW_UP = [*TO_INVESTIGATING, "propose", "accept", "start_follow_up"]
TO_CLOSED = [*TO_FOLLOW_UP, "satisfied", "close"]


def complaint(**overrides: Any) -> ComplaintIn:
    fields: dict[str, Any] = {"product": "Current account", "description": "I was charged twice for one transfer."}
    fields.update(overrides)
    return ComplaintIn.model_validate(fields)


def take_in(app: App, actor: Actor | None = None, **overrides: Any) -> str:
    """A new, acknowledged complaint's reference."""
    reference, created = app.intake.take_in_one(complaint(**overrides), actor or Actor("hana", "handler"))
    assert created
    return reference


def walk(app: App, reference: str, actions: Iterable[str], actor: Actor | None = None) -> None:
    """Perform ``actions`` in order with the default payloads."""
    for action in actions:
        app.engine.advance(reference, action, actor or Actor("hana", "handler"), PAYLOADS.get(action, {}))


def stored(app: App, reference: str) -> dict[str, Any]:
    """Everything a step may write for one complaint: row, events, timers and outbox."""
    with UnitOfWork(app.db) as uow:
        case = uow.cases.get(reference)
        assert case.id is not None
        return {
            "state": case.state, "tier": case.tier, "queue": case.queue, "version": case.version,
            "data": dict(case.data),
            "events": uow.cases.events(case.id),
            "timers": uow.cases.timers(case.id),
            "notifications": uow.cases.notifications(case.id),
        }


def workflow_timers(app: App, reference: str) -> list[dict[str, Any]]:
    """The timers the workflow's states set (SLA and regulatory clocks keep timers of other kinds)."""
    return [t for t in stored(app, reference)["timers"] if t["kind"] == WORKFLOW_TIMER]


def pending_timers(app: App, reference: str) -> list[dict[str, Any]]:
    return [t for t in workflow_timers(app, reference) if t["status"] == "pending"]


def shipped_document() -> dict[str, Any]:
    """The shipped workflow's newest version (``complaint.yaml``; older ones keep their own files)."""
    path = next(p for p in shipped_workflow_files() if p.name == "complaint.yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


#: The version a test's variant of the shipped workflow takes: newer than every shipped one.
VARIANT_VERSION = shipped_document()["version"] + 1


def first_version_document() -> dict[str, Any]:
    """The shipped workflow's version 1, which writes its letters as it always did (no ``letters``)."""
    path = next(p for p in shipped_workflow_files() if p.name == "complaint-v1.yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def register_variant(app: App, change: Callable[[dict[str, Any]], object],
                     version: int = VARIANT_VERSION, base: dict[str, Any] | None = None) -> CompiledWorkflow:
    """The shipped workflow (or ``base``) with one change, registered as a newer version new
    complaints start in."""
    doc = copy.deepcopy(base or shipped_document())
    change(doc)
    doc["version"] = version
    workflow = parse_workflow(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), f"variant-v{version}.yaml")
    app.registry.add(workflow)
    return workflow


def event_rows(events: Iterable[Mapping[str, Any]]) -> list[tuple[str, str | None, str]]:
    """(action, from, to) of each event: the path a case took."""
    return [(e["action"], e["from_state"], e["to_state"]) for e in events]
