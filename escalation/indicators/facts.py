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

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, literal_column, or_, select

from complaints.bulk import query, select_matching, stream
from complaints.repository import complaint_t, event_t
from escalation.clocks import COMMITMENT
from escalation.indicators.meaning import Meaning
from escalation.repository import clock_t, ledger_t

MET, MISSED, RUNNING = "met", "missed", "running"
#: A rating of the complaint handling, when the follow-up records one (``rating``: 1 to 5).
RATINGS = range(1, 6)


@dataclass(frozen=True, slots=True)
class Promises:
    """A complaint's promises as of the evaluation instant."""

    kept: int = 0
    late: int = 0  # kept after the time promised
    broken: int = 0  # overdue and not kept
    open: int = 0  # not yet due


_NONE_MADE = Promises()  # shared: most complaints have no promise


@dataclass(frozen=True, slots=True)
class Regulatory:
    """One regulatory clock of a complaint: when it stopped (its response given) and its deadlines."""

    stopped_at: datetime | None
    deadlines: dict[str, datetime]


@dataclass(slots=True)
class CaseFacts:
    """One complaint as the indicators see it at the end of a period."""

    id: int
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
    sla: dict[str, str] = field(default_factory=dict)  # clock -> met | missed | running; shared, never changed
    promises: Promises = _NONE_MADE
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
               as_of: datetime, relief: bool = False) -> list[CaseFacts]:
    """The facts of every complaint matching ``population`` (oldest first), from the events before ``end``
    and the clocks as they stood at ``as_of`` (the period's last instant, or now if earlier:
    whatever happened at it counts). ``relief``: read the relief and redress of the latest
    proposal too (the returns need them; the indicators do not)."""
    read = _case_reader(meaning)
    events = _events_query(meaning, population, end, relief)
    if conn.dialect.name == "postgresql":
        # Each statement sees its own snapshot here (read committed) wherever it runs, so the
        # clocks are read and folded on a second connection and thread meanwhile: the server
        # works on both at once, and the events' rows are turned into facts as they arrive.
        _tune(conn)
        with ThreadPoolExecutor(1) as beside:
            found = beside.submit(_read_beside, conn, meaning, population, as_of)
            facts = {f.id: f for f in map(read, stream(conn, _sql(conn, events), ()))}
            clocks = found.result()
    else:
        facts = {f.id: f for f in map(read, _rows(conn, events))}
        clocks = _fold_clocks(meaning, as_of, _clock_rows(conn, meaning, population, as_of))
    for cid, (sla, promises, regulatory) in clocks.outcomes.items():
        if (f := facts.get(cid)) is not None:
            f.sla, f.promises, f.regulatory = sla, promises, regulatory
    for (cid, clock), outcome in clocks.replayed.items():
        if cid in facts:
            facts[cid].sla = {**facts[cid].sla, clock: outcome}
    return sorted(facts.values(), key=lambda f: f.id)  # the same order on every database


@dataclass(frozen=True, slots=True)
class _Clocks:
    """The clocks' part of each complaint's facts: ``outcomes`` (SLA outcomes, promises,
    regulatory clocks), and the outcome of each SLA clock whose run was replayed."""

    outcomes: dict[int, tuple[dict[str, str], Promises, dict[str, Regulatory]]]
    replayed: dict[tuple[int, str], str]


#: Breaches recorded, clock rows, and the ledger entries of the clocks restarted after ``as_of``.
_ClockRows = tuple[list[Any], list[Any], list[dict[str, Any]]]


def _clock_rows(conn: Connection, meaning: Meaning, population: ColumnElement[bool], as_of: datetime) -> _ClockRows:
    breaches = _rows(conn, _breaches_query(meaning, population, as_of))
    clocks = _rows(conn, _clocks_query(meaning, population, as_of))
    restarted = [tuple(pair) for pair in _rows(conn, _restarted_query(population, as_of))]
    return breaches, clocks, select_matching(conn, ledger_t, ("complaint_id", "clock"), restarted)


def _fold_clocks(meaning: Meaning, as_of: datetime, rows: _ClockRows) -> _Clocks:
    breach_rows, clock_rows, ledger = rows
    breaches = set(breach_rows)
    fold = _clock_reader(meaning, breaches)
    outcomes = {row[0]: fold(row) for row in clock_rows}
    # A clock restarted after ``as_of`` keeps only its new run on its row: the run that was
    # under way at ``as_of`` is replayed from its ledger (few rows: only such clocks').
    runs: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for entry in ledger:
        if entry["at"] <= as_of:
            runs.setdefault((entry["complaint_id"], entry["clock"]), []).append(entry)
    replayed = {}
    for (cid, clock), entries in runs.items():
        outcome = replay_run(entries, as_of)
        if outcome is not None:
            replayed[cid, clock] = MISSED if (cid, clock) in breaches else outcome
    return _Clocks(outcomes, replayed)


def _tune(conn: Connection) -> None:
    """For this transaction only: PostgreSQL prices the per-complaint lookups as if made for
    every row, and would spend seconds compiling the query (JIT) to save milliseconds running it."""
    conn.exec_driver_sql("SET LOCAL jit = off")


def _read_beside(conn: Connection, meaning: Meaning, population: ColumnElement[bool], as_of: datetime) -> _Clocks:
    """The clocks' part of the facts, read on another connection of ``conn``'s pool."""
    with conn.engine.connect().execution_options(**conn.get_execution_options()) as other:
        _tune(other)
        return _fold_clocks(meaning, as_of, _clock_rows(other, meaning, population, as_of))


def _rows(conn: Connection, statement: Any) -> list[Any]:
    """The rows of ``statement`` as the driver returns them (times as SQLite's text or
    PostgreSQL's naive datetimes: see ``_time``), its values written into the SQL: SQLAlchemy's
    processing of each value of each row cost as much as the query itself. The values are
    times, numbers and the workflow's names, never text from outside."""
    return query(conn, _sql(conn, statement), ())


def _sql(conn: Connection, statement: Any) -> str:
    return str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))


_NAIVE_EPOCH, _EPOCH = datetime(1970, 1, 1), datetime(1970, 1, 1, tzinfo=UTC)


def _time(value: Any) -> datetime | None:
    """A stored UTC time as the driver returns it (SQLite's text, PostgreSQL's naive datetime),
    as an aware datetime: the epoch's distance added to the aware epoch, because
    ``datetime.replace(tzinfo=...)`` takes several times as long (100,000 complaints have
    400,000 times)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return _EPOCH + (value - _NAIVE_EPOCH)  # type: ignore[no-any-return]
    return value.astimezone(UTC)  # type: ignore[no-any-return]


#: The latest event of a group of actions, and which of them it was, in one aggregate:
#: ``max(seq * TAG + the action's index in the group)``; ``divmod(value, TAG)`` splits it.
TAG = 16


def _first(condition: ColumnElement[bool], name: str) -> Any:
    return func.min(case((condition, event_t.c.at))).label(name)


def _latest(actions: Sequence[str], name: str) -> Any:
    """The latest of ``actions`` (``TAG`` encoded); at most ``TAG`` actions."""
    assert len(actions) <= TAG, f"at most {TAG} actions in a group"
    tagged = case({a: i for i, a in enumerate(actions)}, value=event_t.c.action) if actions else None
    return func.max(event_t.c.seq * TAG + tagged if tagged is not None else None).label(name)


def _entering(states: frozenset[str], every: frozenset[str]) -> ColumnElement[bool]:
    """The event enters one of ``states``: written as the shorter of IN and NOT IN (a clock
    that stops in any state but two is NOT IN those two)."""
    rest = every - states
    return event_t.c.to_state.not_in(sorted(rest)) if len(rest) < len(states) else event_t.c.to_state.in_(sorted(states))


def _events_query(meaning: Meaning, population: ColumnElement[bool], end: datetime, relief: bool) -> Any:
    """One row per complaint: its columns and its events folded. Driven from the complaints (each
    one's events read along its index), so the population is looked up once per complaint, not
    once per event; each aggregate costs every event a comparison, so they are few (``TAG``).
    The few payload values wanted are then read from the one event that holds each (a lookup
    by complaint and sequence number, only where there is such an event)."""
    c, e = complaint_t, event_t
    action, every = e.c.action, meaning.states

    def nothing(name: str) -> Any:
        """A column this query need not read keeps its place in the row."""
        return literal_column("NULL").label(name)

    values, answers = meaning.validity_actions(), tuple(meaning.follow_up)
    folded = (
        select(
            c.c.id, c.c.channel, c.c.product, c.c.received_at, c.c.state, c.c.tier, c.c.queue, c.c.assignee,
            c.c.version, func.max(e.c.seq).label("last_seq"),
            _first(_entering(meaning.acknowledged, every), "acknowledged_at"),
            _first(_entering(meaning.first_response, every), "first_response_at"),
            _first(_entering(meaning.final_response, every), "final_response_at"),
            func.max(case((action.in_(meaning.escalations), 1), else_=0)).label("escalated"),
            # where no action lowers the tier, the highest reached is the tier at the end
            nothing("top_rank") if meaning.tiers_only_rise or not meaning.tiers else
            func.max(case(meaning.tiers, value=e.c.tier, else_=-1)).label("top_rank"),
            func.max(case((action.in_(meaning.reopens), 1), else_=0)).label("reopened"),
            _latest(values, "validity"), _latest(answers, "answer"),
            func.max(case((action.in_(meaning.proposals), e.c.seq))).label("proposal_seq") if relief
            else nothing("proposal_seq"),
            func.max(case((action.in_(meaning.assigns), e.c.seq))).label("assign_seq"),
        )
        .select_from(c.join(e, e.c.complaint_id == c.c.id))
        .where(population, e.c.at < end)
        .group_by(c.c.id)
        .subquery("folded")
    )
    f = folded.c

    def at_seq(value: Any, seq: Any, when: ColumnElement[bool] | None = None) -> Any:
        """``value`` (of an event's columns) of this complaint's event number ``seq``, where ``when``
        holds: a lookup by the unique (complaint, seq) index, made only where wanted (a join
        would have PostgreSQL hash the whole event table for each value)."""
        found = select(value).where(e.c.complaint_id == f.id, e.c.seq == seq).scalar_subquery()
        return case((when, found)) if when is not None else found

    def latest_is(tagged: Any, group: Sequence[str], wanted: Sequence[str]) -> ColumnElement[bool]:
        """The ``TAG``-encoded latest action of ``group`` is one of ``wanted``."""
        return (tagged - tagged // TAG * TAG).in_([i for i, a in enumerate(group) if a in wanted])  # no '%' in the SQL

    moved_on = f.last_seq < f.version  # the case as it stood at the end, where it has moved on since
    rated = [a for a, feeling in meaning.follow_up.items() if feeling is not None]
    offered: list[Any] = [literal_column("NULL").label("relief"), literal_column("NULL").label("redress")]
    if relief:
        offered = [at_seq(e.c.payload["relief"].as_string(), f.proposal_seq, f.proposal_seq.is_not(None)).label("relief"),
                   at_seq(e.c.payload["redress"].as_string(), f.proposal_seq, f.proposal_seq.is_not(None))
                   .label("redress")]
    return select(
        folded,
        at_seq(e.c.to_state, f.last_seq, moved_on).label("state_then"),
        at_seq(e.c.tier, f.last_seq, moved_on).label("tier_then"),
        at_seq(e.c.queue, f.last_seq, moved_on).label("queue_then"),
        at_seq(e.c.payload["rationale"].as_string(), f.validity // TAG,
               latest_is(f.validity, values, ["invalid"])).label("rationale"),
        at_seq(e.c.payload["rating"].as_string(), f.answer // TAG, latest_is(f.answer, answers, rated)).label("rating"),
        *offered,
        at_seq(e.c.changes["assignee"].as_string(), f.assign_seq, and_(moved_on, f.assign_seq.is_not(None)))
        .label("assignee_then"),
    )


def _case_reader(meaning: Meaning) -> Callable[[Any], CaseFacts]:
    """Turns a row of ``_events_query`` into facts; what is the same for every row is worked out once."""
    validity = [meaning.validity[a] for a in meaning.validity_actions()]
    answers = tuple(meaning.follow_up)
    tiers = {rank: tier for tier, rank in meaning.tiers.items()}
    follow_up = meaning.follow_up_state

    def read(row: Any) -> CaseFacts:
        (cid, channel, product, received_at, state, tier, queue, assignee, version, last_seq, acknowledged_at,
         first_response_at, final_response_at, escalated, top_rank, reopened, decided, answered,
         proposal_seq, _, state_then, tier_then, queue_then, rationale, rating, relief, redress, assignee_then) = row
        if last_seq < version:
            state, tier, queue, assignee = state_then, tier_then, queue_then, assignee_then
        answer = None if answered is None else answers[answered % TAG]
        return CaseFacts(
            cid, channel, product, _time(received_at), state, tier, queue, assignee, _time(acknowledged_at),  # type: ignore[arg-type]
            _time(first_response_at), _time(final_response_at), escalated == 1,
            tier if top_rank is None else tiers.get(top_rank), reopened == 1,
            None if decided is None else validity[decided % TAG], rationale,
            # a case leaves the follow-up only by an answer: asked, if answered or still there
            answer is not None or state == follow_up, answer, None if rating is None else _rating(rating),
            proposal_seq is not None, None if relief is None else str(relief),
            None if redress is None else _number(redress),
        )

    return read


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


#: Packed sums: each SLA clock's outcome in two bits of one number (0 not started, then
#: ``_OUTCOMES``), each count of promises in 16 bits of another. One aggregate instead of one
#: per clock and per count: each costs every clock row a comparison.
_OUTCOMES = (None, RUNNING, MET, MISSED)
_PROMISE_BITS = 16


def _clocks_query(meaning: Meaning, population: ColumnElement[bool], as_of: datetime) -> Any:
    k = clock_t.c
    assert len(meaning.sla_clocks) <= 30, "two bits a clock in a 64-bit sum"
    # an SLA clock's latest run as of ``as_of``: missed (a breach recorded, stopped after its
    # deadline, or overdue), met (stopped in time), running (or paused), or not started
    outcome = case(
        (k.started_at > as_of, 0),
        (k.breached_at <= as_of, 3),
        (and_(k.stopped_at <= as_of, k.stopped_at > k.due_at), 3),
        (k.stopped_at <= as_of, 2),
        (k.due_at < as_of, 3),
        else_=1,
    )
    sla = case({name: outcome * 4 ** i for i, name in enumerate(meaning.sla_clocks)}, value=k.name, else_=0) \
        if meaning.sla_clocks else literal_column("0")
    kept, late, broken, still = (2 ** (_PROMISE_BITS * i) for i in range(4))
    promise = case((and_(k.kind == COMMITMENT, k.started_at <= as_of), case(
        (k.stopped_at <= as_of, case((k.stopped_at <= k.due_at, kept), else_=late)),
        (k.due_at < as_of, broken),
        else_=still,
    )), else_=0)
    columns = [complaint_t.c.id, func.sum(case((k.kind == "sla", sla), else_=0)).label("sla"),
               func.sum(promise).label("promises")]
    for i, (name, milestones) in enumerate(meaning.milestones.items()):
        # only the deadlines, not the whole detail: its text cost the server a comparison of
        # hundreds of bytes a row, and Python a JSON parse
        columns += [func.max(case((and_(k.name == name, k.stopped_at <= as_of), k.stopped_at))).label(f"reg_{i}")]
        columns += [func.max(case((k.name == name, k.detail[("milestones", m, "deadline")].as_string())))
                    .label(f"reg_{i}_{j}") for j, m in enumerate(milestones)]
    return (
        select(*columns)
        .select_from(complaint_t.join(clock_t, k.complaint_id == complaint_t.c.id))
        .where(population)
        .group_by(complaint_t.c.id)
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


def _clock_reader(meaning: Meaning, breaches: set[tuple[int, str]]) \
        -> Callable[[Any], tuple[dict[str, str], Promises, dict[str, Regulatory]]]:
    """A row of ``_clocks_query`` as a complaint's SLA outcomes, promises and regulatory clocks."""
    clocks = meaning.sla_clocks
    unpacked: dict[int, dict[str, str]] = {}  # complaints share a few combinations of outcomes
    mask = 2 ** _PROMISE_BITS - 1
    index = {name: i for i, name in enumerate(clocks)}
    breached: dict[int, list[int]] = {}
    for cid, name in breaches:
        breached.setdefault(cid, []).append(index[name])
    regulatory, column = [], 3  # (clock, its stop's column, [(milestone, its deadline's column)])
    for name, milestones in meaning.milestones.items():
        regulatory.append((name, column, [(m, column + 1 + j) for j, m in enumerate(milestones)]))
        column += 1 + len(milestones)

    def outcomes(packed: int) -> dict[str, str]:
        found = unpacked.get(packed)
        if found is None:
            pairs = ((name, _OUTCOMES[packed >> 2 * i & 3]) for i, name in enumerate(clocks))
            found = unpacked[packed] = {name: outcome for name, outcome in pairs if outcome is not None}
        return found

    def fold(row: Any) -> tuple[dict[str, str], Promises, dict[str, Regulatory]]:
        sla, promises = int(row[1] or 0), int(row[2] or 0)
        for i in breached.get(row[0], ()):  # a breach recorded makes a started clock missed
            if sla >> 2 * i & 3:
                sla |= 3 << 2 * i
        kept = Promises(*(promises >> _PROMISE_BITS * i & mask for i in range(4))) if promises else _NONE_MADE
        found: dict[str, Regulatory] = {}
        for name, stopped, deadlines in regulatory:
            due = {m: _time(row[c]) for m, c in deadlines if row[c] is not None}
            if due:
                found[name] = Regulatory(_time(row[stopped]), due)  # type: ignore[arg-type]
        # the outcomes are shared by the complaints with the same ones: replaced, never changed
        return outcomes(sla), kept, found

    return fold


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
