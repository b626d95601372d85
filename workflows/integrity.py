"""Integrity check: is every complaint's audit trail intact, and does the complaint equal its replay?

The event log is the record; the complaint row and its workflow timers are derived from it.
First each complaint's events are checked against their hash chain (``complaints.audit``):
an edited, deleted, inserted or reordered event is named by its sequence number.
For every complaint this replays the events (``workflows.machine.replay``) and compares the
result with the stored state, tier, queue, version and data, and checks that the pending
workflow timers are exactly those the current state declares, scheduled by the event that
entered it (none for a final state). A timer whose action was refused (status ``failed``) on a
complaint nobody has acted on since is reported too: the complaint may wait with nothing
scheduled until a person acts. Complaints are read in batches by id, each batch with
three queries (complaints, their events, their timers) in one snapshot, so the cost grows
with the size of the database, never with round trips per complaint.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, and_, func, or_, select

from complaints import audit
from complaints.db import Database
from complaints.errors import ComplaintflowError
from complaints.repository import (
    TIMER_FAILED,
    TIMER_FIRED,
    TIMER_PENDING,
    WORKFLOW_TIMER,
    attends,
    complaint_t,
    event_t,
    timer_t,
)
from workflows.compiled import CompiledWorkflow
from workflows.machine import replay
from workflows.registry import WorkflowRegistry

DEFAULT_BATCH_SIZE = 1000
FOLDED_FIELDS = ("state", "tier", "queue", "version", "data")


@dataclass(frozen=True)
class Discrepancy:
    """One difference between a complaint and its event log."""

    reference: str
    aspect: str  # audit, state, tier, queue, version, data, events, timers, workflow, failed timer
    message: str

    def __str__(self) -> str:
        return f"{self.reference} {self.aspect}: {self.message}"


@dataclass
class IntegrityReport:
    checked: int = 0
    problems: list[Discrepancy] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def references(self) -> list[str]:
        """Complaints with at least one problem, each once, in the order found."""
        return list(dict.fromkeys(p.reference for p in self.problems))


def count_complaints(db: Database) -> int:
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(complaint_t)).scalar_one())


def check_integrity(
    db: Database,
    registry: WorkflowRegistry,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
) -> IntegrityReport:
    """Check every complaint; ``on_batch(n)`` is told after each batch of ``n`` complaints."""
    report = IntegrityReport()
    after = 0
    while True:
        with db.read() as conn:
            batch = _read_batch(_snapshot(conn), after, batch_size)
        if batch is None:
            return report
        complaints, events, timers = batch
        for row in complaints:
            report.problems += check_complaint(row, events[row["id"]], timers[row["id"]], registry)
        report.checked += len(complaints)
        after = complaints[-1]["id"]
        if on_batch:
            on_batch(len(complaints))


def _snapshot(conn: Connection) -> Connection:
    """All three queries of a batch see the same moment (SQLite's read transaction already does)."""
    if conn.dialect.name == "postgresql":
        return conn.execution_options(isolation_level="REPEATABLE READ")
    return conn


Rows = list[dict[str, Any]]


def _read_batch(conn: Connection, after: int, size: int) -> tuple[Rows, dict[int, Rows], dict[int, Rows]] | None:
    complaints = [dict(r._mapping) for r in conn.execute(
        select(complaint_t.c.id, complaint_t.c.reference, complaint_t.c.state, complaint_t.c.tier,
               complaint_t.c.queue, complaint_t.c.version, complaint_t.c.data, complaint_t.c.assignee,
               complaint_t.c.workflow_name, complaint_t.c.workflow_version)
        .where(complaint_t.c.id > after).order_by(complaint_t.c.id).limit(size)
    )]
    if not complaints:
        return None
    low, high = complaints[0]["id"], complaints[-1]["id"]
    events: dict[int, Rows] = defaultdict(list)
    for r in conn.execute(
        select(event_t.c.complaint_id, event_t.c.seq, event_t.c.actor, event_t.c.role, event_t.c.action,
               event_t.c.from_state, event_t.c.to_state, event_t.c.tier, event_t.c.queue, event_t.c.payload,
               event_t.c.changes, event_t.c.at, event_t.c.origin, event_t.c.content_hash, event_t.c.chain_hash)
        .where(event_t.c.complaint_id.between(low, high))
        .order_by(event_t.c.complaint_id, event_t.c.seq)
    ):
        events[r.complaint_id].append(dict(r._mapping))
    timers: dict[int, Rows] = defaultdict(list)
    for r in conn.execute(
        select(timer_t.c.complaint_id, timer_t.c.kind, timer_t.c.name, timer_t.c.state, timer_t.c.status,
               timer_t.c.created_at, timer_t.c.fired_at, timer_t.c.result)
        .where(and_(timer_t.c.complaint_id.between(low, high), or_(
            and_(timer_t.c.kind == WORKFLOW_TIMER, timer_t.c.status.in_((TIMER_PENDING, TIMER_FIRED))),
            timer_t.c.status == TIMER_FAILED)))
    ):
        timers[r.complaint_id].append(dict(r._mapping))
    return complaints, events, timers


def check_complaint(
    complaint: Mapping[str, Any], events: Sequence[Mapping[str, Any]], timers: Sequence[Mapping[str, Any]],
    registry: WorkflowRegistry,
) -> list[Discrepancy]:
    """The differences between one stored complaint, the replay of its events and its timers,
    and the refused timers nobody has acted on since."""
    ref = str(complaint["reference"])
    problems = [Discrepancy(ref, "audit", f.message) for f in audit.verify(ref, events)]
    if events and complaint["version"] > events[-1]["seq"]:
        first, last = events[-1]["seq"] + 1, complaint["version"]
        gone = f"{first}" if first == last else f"{first} to {last}"
        problems.append(Discrepancy(ref, "audit", f"event {gone} deleted (the complaint is at version {last})"))
    problems += [Discrepancy(ref, "events", m) for m in _chain_problems(events)]
    problems += [Discrepancy(ref, "failed timer", m) for m in _unattended_failures(events, timers)]
    timers = [t for t in timers if t["kind"] == WORKFLOW_TIMER]
    try:
        folded = replay(events)
    except ValueError:  # a gap in the sequence numbers: the audit check has named it
        return problems
    if folded is None:
        return problems + [Discrepancy(ref, "events", "has no events at all")]
    for name in FOLDED_FIELDS:
        stored, replayed = complaint[name], getattr(folded, name)
        if name == "data":
            problems += [Discrepancy(ref, name, m) for m in _data_differences(stored or {}, replayed)]
        elif stored != replayed:
            problems.append(Discrepancy(ref, name, f"stored {_show(stored)}, the event log gives {_show(replayed)}"))
    assignee = folded.data.get("assignee")
    if complaint.get("assignee") != assignee:  # the column mirrors data.assignee for the work queue
        problems.append(Discrepancy(ref, "assignee", f"stored {_show(complaint.get('assignee'))}, "
                                                     f"the event log gives {_show(assignee)}"))
    try:
        workflow = registry.get(str(complaint["workflow_name"]), int(complaint["workflow_version"]))
    except ComplaintflowError as exc:
        return problems + [Discrepancy(ref, "workflow", str(exc))]
    missing = _unknown_to(workflow, events)
    if missing:  # the definition changed under the case: its timers can't be judged
        return problems + [Discrepancy(ref, "workflow", m) for m in missing]
    return problems + [Discrepancy(ref, "timers", m) for m in _timer_problems(workflow, events, timers)]


def _unknown_to(workflow: CompiledWorkflow, events: Sequence[Mapping[str, Any]]) -> list[str]:
    """States and actions of the log that its workflow does not define."""
    spec = workflow.spec
    states = sorted({s for e in events for s in (e["from_state"], e["to_state"]) if s and s not in spec.states})
    moves = {e["action"] for e in events if e["from_state"] is not None and e["from_state"] != e["to_state"]}
    actions = sorted(moves - set(spec.transitions))
    found = [f"state '{s}' is not in workflow '{workflow.name}' v{workflow.version}" for s in states]
    return found + [f"action '{a}' is not in workflow '{workflow.name}' v{workflow.version}" for a in actions]


def _chain_problems(events: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    for before, ev in pairwise(events):
        if ev["from_state"] != before["to_state"]:
            yield (f"event {ev['seq']} ('{ev['action']}') starts from '{ev['from_state']}' "
                   f"but event {before['seq']} ended in '{before['to_state']}'")


def _unattended_failures(events: Sequence[Mapping[str, Any]], timers: Sequence[Mapping[str, Any]]) -> Iterator[str]:
    """Failed timers with no event that ``attends`` to them after (``repository.unattended_failed_timers``)."""
    last = max((ev["at"] for ev in events if attends(ev)), default=None)
    for t in timers:
        if t["status"] == TIMER_FAILED and (last is None or last <= t["fired_at"]):
            yield (f"{t['kind']} timer '{t['name']}' was refused at {t['fired_at']:%Y-%m-%d %H:%M} UTC "
                   f"({t['result']}) and nobody has acted on the complaint since: act on it by hand")


def _timer_problems(
    workflow: CompiledWorkflow, events: Sequence[Mapping[str, Any]], timers: Sequence[Mapping[str, Any]]
) -> Iterator[str]:
    state = events[-1]["to_state"]
    pending = [t for t in timers if t["status"] == TIMER_PENDING]
    if workflow.spec.states[state].final:
        for t in pending:
            yield f"timer '{t['name']}' is pending but '{state}' is a final state"
        return
    entered = _entering_event(events)
    for t in pending:
        if t["state"] != state:
            yield f"timer '{t['name']}' of state '{t['state']}' is pending but the complaint is in '{state}'"
        elif t["created_at"] != entered["at"]:
            yield (f"timer '{t['name']}' is pending but was not scheduled by event {entered['seq']} "
                   f"('{entered['action']}'), which entered '{state}'")
    current = [t for t in timers if t["state"] == state and t["created_at"] == entered["at"]]
    used = {t["name"] for t in current if t["status"] != TIMER_PENDING}  # fired or refused, the state stayed
    expected = Counter(n for n in _declared(workflow, state, _data_at(events, entered["seq"])) if n not in used)
    actual = Counter(t["name"] for t in pending if t["state"] == state and t["created_at"] == entered["at"])
    for name in sorted((expected - actual).elements()):
        yield f"timer '{name}' of state '{state}' should be pending but is not"
    for name in sorted((actual - expected).elements()):
        yield f"timer '{name}' is pending but '{state}' declares no such timer (or has it once)"


def _entering_event(events: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The event that moved the complaint into its current state (timers are set on entry)."""
    for ev in reversed(events):
        if ev["from_state"] != ev["to_state"]:
            return ev
    return events[0]


def _data_at(events: Sequence[Mapping[str, Any]], seq: int) -> dict[str, Any]:
    folded = replay(e for e in events if e["seq"] <= seq)
    return folded.data if folded else {}


def _declared(workflow: CompiledWorkflow, state: str, data: Mapping[str, Any]) -> list[str]:
    """Timer names the state sets on entry; an ``at: data.x`` timer only if ``x`` was given."""
    names = []
    for spec in workflow.spec.states[state].timers:
        if spec.at is not None and data.get(spec.at.split(".", 1)[1]) in (None, ""):
            continue
        names.append(spec.label)
    return names


def _data_differences(stored: Mapping[str, Any], replayed: Mapping[str, Any]) -> Iterator[str]:
    for key in sorted(set(stored) | set(replayed)):
        if key not in replayed:
            yield f"stored key '{key}' = {_show(stored[key])} was never set by an event"
        elif key not in stored:
            yield f"key '{key}' is missing; the event log gives {_show(replayed[key])}"
        elif stored[key] != replayed[key]:
            yield f"key '{key}' stored {_show(stored[key])}, the event log gives {_show(replayed[key])}"


def _show(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."
