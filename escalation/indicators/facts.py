"""What the indicators need to know of each complaint, read from the event log and the clocks.

Set-based queries, whatever the number of complaints: one folds each complaint's events
(before the period's end) into a row (when it was first acknowledged, answered, given its
final response; whether it was escalated or reopened; its latest validity decision and
follow-up answer ...), one folds its clock rows into one (each SLA clock met, missed or
running as of the evaluation instant; its promises; its regulatory clocks' stop and
deadlines), and one lists the SLA breaches the sweep recorded (a clock restarted after a
breach no longer shows it on its row). A clock row holds its latest run only; where that run
began after the evaluation instant, the run under way then is replayed from the ledger (one
more query, for those clocks alone). No counter kept by hand is read, and nothing after the
period's end, so a past period's figures do not change when they are asked for again.

Which complaints are read is a condition on the complaint table (``received_between``,
``open_at``, ``fca_population``); ``meaning`` says which states and actions count as what.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, literal_column, or_, select

from complaints.bulk import select_matching
from complaints.repository import complaint_t, event_t
from complaints.types import UTCDateTime
from escalation.clocks import COMMITMENT
from escalation.indicators.meaning import Meaning
from escalation.repository import clock_t, ledger_t

MET, MISSED, RUNNING = "met", "missed", "running"
_CODES = {1: MET, 2: MISSED, 0: RUNNING}
#: A rating of the complaint handling, when the follow-up records one (``rating``: 1 to 5).
RATINGS = range(1, 6)


@dataclass(frozen=True, slots=True)
class Promises:
    """A complaint's promises as of the evaluation instant."""

    kept: int = 0
    late: int = 0  # kept after the time promised
    broken: int = 0  # overdue and not kept
    open: int = 0  # not yet due


@dataclass(frozen=True, slots=True)
class Regulatory:
    """One regulatory clock of a complaint: when it stopped (its response given) and its deadlines."""

    stopped_at: datetime | None
    deadlines: dict[str, datetime]


@dataclass(slots=True)
class CaseFacts:
    """One complaint as the indicators see it at the end of a period."""

    id: int
    reference: str
    channel: str
    product: str
    received_at: datetime
    state: str  # as of the period's end, as are tier, queue and handler
    tier: str
    queue: str
    handler: str | None
    acknowledged_at: datetime | None = None
    first_response_at: datetime | None = None
    final_response_at: datetime | None = None
    escalated: bool = False
    top_tier: str | None = None
    reopened: bool = False
    validity: str | None = None
    rationale: str | None = None  # why it was found invalid, when it was
    asked_follow_up: bool = False
    follow_up: str | None = None  # the latest answer to the follow-up (an action's name)
    rating: int | None = None
    proposed: bool = False  # a resolution was proposed
    relief: str | None = None  # of the latest proposal: monetary, non_monetary or none
    redress: float | None = None
    sla: dict[str, str] = field(default_factory=dict)  # clock -> met | missed | running
    promises: Promises = Promises()
    regulatory: dict[str, Regulatory] = field(default_factory=dict)


# -- which complaints ---------------------------------------------------------------------------------
def received_between(start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(complaint_t.c.received_at >= start, complaint_t.c.received_at < end)


def open_at(at: datetime, meaning: Meaning) -> ColumnElement[bool]:
    """Complaints that may be open at ``at``: received before it, and not done now or changed
    since (a case done before ``at`` and untouched since was done at ``at``)."""
    return and_(complaint_t.c.received_at < at,
                or_(complaint_t.c.state.not_in(meaning.done), complaint_t.c.updated_at >= at))


def fca_population(start: datetime, end: datetime, meaning: Meaning) -> ColumnElement[bool]:
    """What a half-year return counts: opened in it, or open at its start (not done now, or
    changed since the start: a final response in the half changed the case)."""
    return and_(complaint_t.c.received_at < end, or_(
        complaint_t.c.received_at >= start, complaint_t.c.updated_at >= start,
        complaint_t.c.state.not_in(meaning.done)))


# -- reading ------------------------------------------------------------------------------------------
def read_facts(conn: Connection, meaning: Meaning, population: ColumnElement[bool], end: datetime,
               as_of: datetime) -> list[CaseFacts]:
    """The facts of every complaint matching ``population`` (oldest first), from the events before ``end``
    and the clocks as they stood at ``as_of`` (the period's last instant, or now if earlier:
    whatever happened at it counts)."""
    facts = {row.id: _case(row, meaning) for row in conn.execute(_events_query(meaning, population, end))}
    breaches = set(conn.execute(_breaches_query(meaning, population, as_of)).tuples())
    for row in conn.execute(_clocks_query(meaning, population, as_of)):
        found = facts.get(row.complaint_id)
        if found is not None:
            _add_clocks(found, row, meaning, breaches)
    # A clock restarted after ``as_of`` keeps only its new run on its row: the run that was
    # under way at ``as_of`` is replayed from its ledger (few rows: only such clocks').
    restarted = [tuple(pair) for pair in conn.execute(_restarted_query(population, as_of))]
    runs: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for entry in select_matching(conn, ledger_t, ("complaint_id", "clock"), restarted):
        if entry["at"] <= as_of:
            runs.setdefault((entry["complaint_id"], entry["clock"]), []).append(entry)
    for (cid, clock), entries in runs.items():
        outcome = replay_run(entries, as_of)
        if cid in facts and outcome is not None:
            facts[cid].sla[clock] = MISSED if (cid, clock) in breaches else outcome
    return sorted(facts.values(), key=lambda f: f.id)  # the same order on every database


def _first(condition: ColumnElement[bool], name: str) -> Any:
    return func.min(case((condition, event_t.c.at))).label(name)


def _last_seq(condition: ColumnElement[bool], name: str) -> Any:
    return func.max(case((condition, event_t.c.seq))).label(name)


def _events_query(meaning: Meaning, population: ColumnElement[bool], end: datetime) -> Any:
    e = event_t
    action, to_state = e.c.action, e.c.to_state
    validity = [_last_seq(action.in_(meaning.actions_recording(v)), f"validity_{i}")
                for i, v in enumerate(meaning.validity_values())]
    folded = (
        select(
            e.c.complaint_id, func.max(e.c.seq).label("last_seq"),
            _first(to_state.in_(meaning.acknowledged), "acknowledged_at"),
            _first(to_state.in_(meaning.first_response), "first_response_at"),
            _first(to_state.in_(meaning.final_response), "final_response_at"),
            func.max(case((action.in_(meaning.escalations), 1), else_=0)).label("escalated"),
            func.max(case(meaning.tiers, value=e.c.tier, else_=-1) if meaning.tiers else literal_column("-1"))
            .label("top_rank"),
            func.max(case((action.in_(meaning.reopens), 1), else_=0)).label("reopened"),
            func.max(case((to_state == (meaning.follow_up_state or ""), 1), else_=0)).label("asked"),
            _last_seq(action.in_(meaning.actions_recording("invalid")), "invalid_seq"),
            _last_seq(action.in_(tuple(meaning.follow_up)), "follow_up_seq"),
            _last_seq(action.in_(meaning.proposals), "proposal_seq"),
            _last_seq(action.in_(meaning.assigns), "assign_seq"),
            *validity,
        )
        .select_from(e.join(complaint_t, complaint_t.c.id == e.c.complaint_id))
        .where(population, e.c.at < end)
        .group_by(e.c.complaint_id)
        .subquery("folded")
    )
    c = complaint_t
    last, invalid, answer, proposal, assign = (e.alias(n) for n in ("last_e", "invalid_e", "answer_e", "proposal_e",
                                                                      "assign_e"))

    def at_seq(alias: Any, seq: Any, *more: ColumnElement[bool]) -> ColumnElement[bool]:
        return and_(alias.c.complaint_id == c.c.id, alias.c.seq == seq, *more)

    return (
        select(
            c.c.id, c.c.reference, c.c.channel, c.c.product, c.c.received_at, c.c.state, c.c.tier, c.c.queue,
            c.c.assignee, c.c.version, folded,
            last.c.to_state.label("state_then"), last.c.tier.label("tier_then"), last.c.queue.label("queue_then"),
            invalid.c.payload["rationale"].as_string().label("rationale"),
            answer.c.action.label("answer"), answer.c.payload["rating"].as_string().label("rating"),
            proposal.c.payload["relief"].as_string().label("relief"),
            proposal.c.payload["redress"].as_string().label("redress"),
            assign.c.changes["assignee"].as_string().label("assignee_then"),
        )
        .select_from(
            c.join(folded, folded.c.complaint_id == c.c.id)
            # the case as it stood at the end, where it has moved on since (else its row says it)
            .outerjoin(last, at_seq(last, folded.c.last_seq, folded.c.last_seq < c.c.version))
            .outerjoin(invalid, at_seq(invalid, folded.c.invalid_seq))
            .outerjoin(answer, at_seq(answer, folded.c.follow_up_seq))
            .outerjoin(proposal, at_seq(proposal, folded.c.proposal_seq))
            .outerjoin(assign, at_seq(assign, folded.c.assign_seq, folded.c.last_seq < c.c.version))
        )
    )


def _case(row: Any, meaning: Meaning) -> CaseFacts:
    moved_on = row.last_seq < row.version
    seqs = {v: getattr(row, f"validity_{i}") for i, v in enumerate(meaning.validity_values())}
    decided = [(seq, value) for value, seq in seqs.items() if seq is not None]
    validity = max(decided)[1] if decided else None
    ranks = {rank: tier for tier, rank in meaning.tiers.items()}
    return CaseFacts(
        id=row.id, reference=row.reference, channel=row.channel, product=row.product,
        received_at=row.received_at,
        state=row.state_then if moved_on else row.state, tier=row.tier_then if moved_on else row.tier,
        queue=row.queue_then if moved_on else row.queue,
        handler=row.assignee_then if moved_on else row.assignee,
        acknowledged_at=_utc(row.acknowledged_at), first_response_at=_utc(row.first_response_at),
        final_response_at=_utc(row.final_response_at),
        escalated=bool(row.escalated), top_tier=ranks.get(row.top_rank), reopened=bool(row.reopened),
        validity=validity, rationale=row.rationale if validity == "invalid" else None,
        asked_follow_up=bool(row.asked), follow_up=row.answer, rating=_rating(row.rating),
        proposed=row.proposal_seq is not None, relief=None if row.relief is None else str(row.relief),
        redress=_number(row.redress),
    )


_AS_UTC = UTCDateTime().process_result_value


def _utc(value: Any) -> datetime | None:
    """A time out of ``min(case(...))``: SQLite hands it back as text."""
    return _AS_UTC(value, None)


def _rating(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number.is_integer() and int(number) in RATINGS else None


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None and not isinstance(value, bool) else None
    except ValueError:
        return None


def _breaches_query(meaning: Meaning, population: ColumnElement[bool], as_of: datetime) -> Any:
    """(complaint, SLA clock) of every breach the sweep recorded by ``as_of``."""
    return (
        select(ledger_t.c.complaint_id, ledger_t.c.clock).distinct()
        .select_from(ledger_t.join(complaint_t, complaint_t.c.id == ledger_t.c.complaint_id))
        .where(population, ledger_t.c.entry == "breach", ledger_t.c.at <= as_of,
               ledger_t.c.clock.in_(meaning.sla_clocks))
    )


def _clocks_query(meaning: Meaning, population: ColumnElement[bool], as_of: datetime) -> Any:
    k = clock_t.c
    # an SLA clock's latest run as of ``as_of``: 2 missed (breach recorded, stopped after its
    # deadline, or overdue), 1 met (stopped in time), 0 running or paused; NULL: not started
    outcome = case(
        (k.started_at > as_of, None),
        (k.breached_at <= as_of, 2),
        (and_(k.stopped_at <= as_of, k.stopped_at > k.due_at), 2),
        (k.stopped_at <= as_of, 1),
        (k.due_at < as_of, 2),
        else_=0,
    )
    promise = and_(k.kind == COMMITMENT, k.started_at <= as_of)
    stopped, not_stopped = k.stopped_at <= as_of, or_(k.stopped_at.is_(None), k.stopped_at > as_of)

    def count(condition: ColumnElement[bool], name: str) -> Any:
        return func.sum(case((condition, 1), else_=0)).label(name)

    columns = [
        k.complaint_id,
        *(func.max(case((and_(k.name == name, k.kind == "sla"), outcome))).label(f"sla_{i}")
          for i, name in enumerate(meaning.sla_clocks)),
        count(and_(promise, stopped, k.stopped_at <= k.due_at), "kept"),
        count(and_(promise, stopped, k.stopped_at > k.due_at), "late"),
        count(and_(promise, not_stopped, k.due_at < as_of), "broken"),
        count(and_(promise, not_stopped, k.due_at >= as_of), "open"),
    ]
    for i, (name, milestones) in enumerate(meaning.milestones.items()):
        columns.append(func.max(case((and_(k.name == name, stopped), k.stopped_at))).label(f"reg_{i}"))
        columns += [func.max(case((k.name == name, k.detail[("milestones", m, "deadline")].as_string())))
                    .label(f"reg_{i}_{j}") for j, m in enumerate(milestones)]
    return (
        select(*columns)
        .select_from(clock_t.join(complaint_t, complaint_t.c.id == k.complaint_id))
        .where(population)
        .group_by(k.complaint_id)
    )


def _restarted_query(population: ColumnElement[bool], as_of: datetime) -> Any:
    k = clock_t.c
    return (select(k.complaint_id, k.name).select_from(clock_t.join(complaint_t, complaint_t.c.id == k.complaint_id))
            .where(population, k.kind == "sla", k.started_at > as_of, k.run > 1))


def replay_run(entries: Sequence[dict[str, Any]], as_of: datetime) -> str | None:
    """An SLA clock's outcome at ``as_of`` from its ledger entries up to then, in order: the
    deadline each start, restart, resume or retarget set, a pause (no deadline), a breach, a stop."""
    due: datetime | None = None
    started = stopped = breached = False
    stopped_at: datetime | None = None
    for e in entries:
        kind, detail = e["entry"], e["detail"] or {}
        if kind in ("start", "restart"):
            started, stopped, breached, stopped_at = True, False, False, None
        if kind in ("start", "restart", "resume", "retarget") and detail.get("due_at"):
            due = datetime.fromisoformat(detail["due_at"])
        elif kind == "pause":
            due = None
        elif kind == "breach":
            breached = True
        elif kind == "stop":
            stopped, stopped_at = True, e["at"]
    if not started:
        return None
    if breached or (stopped_at is not None and due is not None and stopped_at > due):
        return MISSED
    if stopped:
        return MET
    return MISSED if due is not None and due < as_of else RUNNING


def _add_clocks(facts: CaseFacts, row: Any, meaning: Meaning, breaches: set[tuple[int, str]]) -> None:
    for i, name in enumerate(meaning.sla_clocks):
        code = getattr(row, f"sla_{i}")
        if code is not None:
            facts.sla[name] = MISSED if (facts.id, name) in breaches else _CODES[code]
    facts.promises = Promises(row.kept or 0, row.late or 0, row.broken or 0, row.open or 0)
    for i, (name, milestones) in enumerate(meaning.milestones.items()):
        deadlines = {m: datetime.fromisoformat(text) for j, m in enumerate(milestones)
                     if (text := getattr(row, f"reg_{i}_{j}")) is not None}
        if deadlines:
            facts.regulatory[name] = Regulatory(_utc(getattr(row, f"reg_{i}")), deadlines)


def read_openings(conn: Connection, meaning: Meaning, end: datetime) -> tuple[Sequence[Any], Sequence[Any]]:
    """For the backlog over time: (complaint, receipt) of every complaint received before
    ``end``, and (complaint, time, 1 closed / 0 reopened) of each move into or out of a done
    state before it, in time order."""
    done, e = meaning.done, event_t
    into = and_(e.c.to_state.in_(done), or_(e.c.from_state.is_(None), e.c.from_state.not_in(done)))
    out_of = and_(e.c.from_state.in_(done), e.c.to_state.not_in(done))
    received = conn.execute(select(complaint_t.c.id, complaint_t.c.received_at)
                            .where(complaint_t.c.received_at < end)).all()
    crossings = conn.execute(select(e.c.complaint_id, e.c.at, case((into, 1), else_=0))
                             .where(e.c.at < end, or_(into, out_of)).order_by(e.c.at, e.c.id)).all()
    return received, crossings
