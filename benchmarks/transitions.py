"""Figure 1: durable transitions per second through the engine, against the raw driver limit.

Each transition is a complaint paused or resumed: read the case, update it with a version
check, append the audit event, cancel the state's timers, schedule the new one and queue the
notification (pause), all committed. The step observers ``bootstrap`` wires add the SLA clock
writes to the same transaction: read the clocks the move may change, update the clock that
pauses or resumes, cancel its pending SLA timers, append a ledger entry and, on resume,
schedule its new warning and breach timers. The raw baseline issues the same statements,
SLA writes included, through ``sqlite3`` / ``psycopg`` with the same pragmas, on the same
database, in the same run, and batches them as the engine does (a batch reads its cases with
one query and writes each statement with one ``executemany``: on PostgreSQL that is the
difference between a round trip per statement and a pipeline), so the ratio is what the
engine's planning, guards, templates, clock arithmetic and SQLAlchemy cost.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

from benchmarks.databases import HANDLER, fresh_app, investigating_cases, raw_pg, raw_sqlite, sql_time
from benchmarks.harness import Context, Figure, Measure, NotAvailable, Profile, Round, Target, interleaved
from benchmarks.peers import spiff_transitions, statemachine_transitions
from complaintflow.bootstrap import App, build
from complaintflow.settings import Settings
from complaints.audit import hash_events
from complaints.clock import FixedClock
from complaints.errors import ConflictError
from complaints.steps import Move
from escalation.clocks import TIMER_KINDS
from escalation.policy import Role
from escalation.tiers import policy_for

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
RESUME_ON = date(2026, 12, 7)
OBSERVERS_NOTE = "diagnostic: the same engine with bootstrap's step observers (SLA clocks, root cause) removed"
PAYLOADS: dict[str, dict[str, Any]] = {
    "pause": {"reason": "waiting for the lender's statement", "resume_on": RESUME_ON.isoformat()},
    "resume": {},
}
#: The states each action moves a case between (the rotation only pauses and resumes).
MOVES: dict[str, tuple[str, str]] = {"pause": ("investigating", "on_hold"), "resume": ("on_hold", "investigating")}


@dataclass(frozen=True)
class Sizes:
    cases: int  # complaints the transitions rotate over
    transitions: int  # per timed round
    batch: int
    repeat: int
    warmup: int


SIZES: dict[Profile, Sizes] = {
    "tiny": Sizes(cases=6, transitions=24, batch=6, repeat=1, warmup=0),
    "quick": Sizes(cases=100, transitions=300, batch=100, repeat=2, warmup=1),
    "full": Sizes(cases=500, transitions=3_000, batch=100, repeat=3, warmup=1),
}


class Rotation:
    """Which case and action come next: cases in turn, each alternating pause and resume."""

    def __init__(self, references: list[str]):
        self.references = references
        self.paused = dict.fromkeys(references, False)
        self.position = 0

    def take(self, count: int) -> list[tuple[str, str]]:
        steps = []
        for _ in range(count):
            ref = self.references[self.position % len(self.references)]
            self.position += 1
            steps.append((ref, "resume" if self.paused[ref] else "pause"))
            self.paused[ref] = not self.paused[ref]
        return steps


def engine_round(app: App, rotation: Rotation, count: int, batch: int) -> Round:
    """``count`` transitions through the engine: ``advance`` one per transaction, or
    ``advance_many`` with ``batch`` per transaction."""

    def prepare() -> Callable[[], object]:
        steps = rotation.take(count)

        def work() -> None:
            if batch == 1:
                for ref, action in steps:
                    app.engine.advance(ref, action, HANDLER, PAYLOADS[action])
                return
            for first in range(0, len(steps), batch):
                moves = [Move(ref, action, PAYLOADS[action]) for ref, action in steps[first : first + batch]]
                app.engine.advance_many(moves, HANDLER)

        return work

    return prepare


class ClockRow(NamedTuple):
    """The ``sla_clock`` columns the raw baseline reads to pause or resume a clock."""

    id: int
    name: str
    status: str
    run: int
    running_since: Any  # datetime (psycopg) or SQLAlchemy's text (sqlite3)
    consumed: float
    target: str | None
    calendar: str | None
    tier: str | None
    severity: str | None
    warned_at: Any
    breached_at: Any
    detail: Any  # dict (psycopg) or JSON text (sqlite3)

    def details(self) -> dict[str, Any]:
        return dict(self.detail) if isinstance(self.detail, dict) else json.loads(self.detail)


@dataclass(frozen=True)
class ClockMoves:
    """What ``SlaObserver`` does to a case's clocks on a pause and a resume, looked up once in
    the workflow's SLA policy (setup, not timed): the raw baseline then reads and writes the
    same clock rows without planning anything per step.

    Only pausing and resuming are modelled; a clock the move would start or stop is left
    alone: a pause or resume of a case in ``investigating`` does neither, which
    ``tests/test_benchmark_baseline.py`` checks.
    """

    reads: dict[str, tuple[str, ...]]  # action -> clocks the step reads (``SlaPolicy.affected``)
    roles: dict[str, dict[str, Role]]  # action -> SLA clock -> its role in the state entered
    warning: dict[str, float]  # SLA clock -> share of its budget at which it warns

    @classmethod
    def of(cls, app: App) -> ClockMoves:
        policy = policy_for(app.registry.get(app.settings.default_workflow))
        reads = {action: tuple(sorted(policy.affected(*move))) for action, move in MOVES.items()}
        roles = {action: {name: policy.role(name, to_state) for name in reads[action] if name in policy.clocks}
                 for action, (_, to_state) in MOVES.items()}
        return cls(reads, roles, {name: policy.warning(name) for name in policy.clocks})


class RawTransitions:
    """The same reads and writes as ``CaseRepository.write_steps`` and the SLA observer's
    ``ClockChanges.flush``, straight through the driver: statement by statement for one
    transition per transaction, set-based (one read per table, one ``executemany`` per
    statement) for a batch, as the engine's ``advance`` and ``advance_many`` do."""

    def __init__(self, conn: Any, dialect: str, clocks: ClockMoves):
        self.conn = conn
        self.postgres = dialect == "postgresql"
        self.clocks = clocks
        self.json: Callable[[Any], Any] = json.dumps
        if self.postgres:
            from psycopg.types.json import Jsonb

            self.json = Jsonb
        self.at: Any = self.stamp(NOW)
        self.resume_on: Any = self.stamp(datetime(2026, 12, 7, tzinfo=UTC))
        self.actor = str(HANDLER)
        # The engine reads a step's clocks by name with plain bind parameters (``_clocks_named``).
        self.read_clocks = {
            action: self.sql(f"SELECT {', '.join(ClockRow._fields)} FROM sla_clock WHERE complaint_id = ? AND "
                             f"({' OR '.join(['name = ?'] * len(names))}) ORDER BY id")
            for action, names in clocks.reads.items() if names
        }
        self.ledger_reason = {action: self.describe(action) for action in MOVES}
        kinds = " OR ".join(f"kind = '{kind}'" for kind in TIMER_KINDS)
        self.cancel_clock_timers = self.sql(
            "UPDATE timer SET status = 'cancelled', cancelled_at = ? "
            f"WHERE complaint_id = ? AND status = 'pending' AND ({kinds}) AND (name = ? OR (name > ? AND name < ?))")
        self.update_clock = self.sql(
            "UPDATE sla_clock SET status = ?, running_since = ?, consumed = ?, due_at = ?, warn_at = ?, "
            "detail = ?, updated_at = ? WHERE id = ?")
        self.insert_ledger = self.sql(
            "INSERT INTO sla_ledger (complaint_id, clock, entry, at, actor, reason, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)")
        self.insert_clock_timer = self.sql(
            "INSERT INTO timer (complaint_id, kind, name, due_at, status, payload, created_at) "
            "VALUES (?, ?, ?, ?, 'pending', ?, ?)")
        set_case = "UPDATE complaint SET state = ?, tier = ?, queue = ?, version = ?, updated_at = ?{} " \
                   "WHERE id = ? AND version = ?"
        self.update_case = (self.sql(set_case.format("")), self.sql(set_case.format(", data = ?")))
        self.insert_event = self.sql(
            "INSERT INTO complaint_event (complaint_id, seq, actor, role, action, from_state, to_state, "
            "tier, queue, payload, changes, at, content_hash, chain_hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        self.read_head = self.sql("SELECT chain_hash FROM complaint_event WHERE complaint_id = ? AND seq = ?")
        self.cancel_workflow_timers = self.sql(
            "UPDATE timer SET status = 'cancelled', cancelled_at = ? "
            "WHERE complaint_id = ? AND status = 'pending' AND kind = 'workflow'")
        self.insert_workflow_timer = self.sql(
            "INSERT INTO timer (complaint_id, kind, name, action, state, due_at, status, payload, "
            "created_at) VALUES (?, 'workflow', 'resume_on_date', 'resume', 'on_hold', ?, 'pending', ?, ?)")
        self.insert_note = self.sql(
            "INSERT INTO notification (complaint_id, event_seq, template, language, channel, subject, body, "
            "status, attempts, next_attempt_at, created_at) VALUES (?, ?, 'paused', 'en', 'web', ?, ?, 'queued', 0, ?, ?)")
        #: A batch's writes in the engine's order: ``write_steps``, then ``ClockChanges.flush``.
        self.write_order = (*self.update_case, self.insert_event, self.cancel_workflow_timers,
                            self.insert_workflow_timer, self.insert_note, self.update_clock,
                            self.cancel_clock_timers, self.insert_ledger, self.insert_clock_timer)
        self.pending: dict[str, list[tuple[Any, ...]]] | None = None

    @staticmethod
    def describe(action: str) -> str:
        """``escalation.observer.describe_step`` of a pause or resume: the ledger entry's reason."""
        from_state, to_state = MOVES[action]
        why = PAYLOADS[action].get("reason")
        return f"'{action}' by {HANDLER}: {from_state} → {to_state}" + (f" — {why}" if why else "")

    def sql(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    def stamp(self, value: datetime) -> Any:
        """A UTC time as the column takes it: naive for psycopg, SQLAlchemy's text for SQLite."""
        return value.replace(tzinfo=None) if self.postgres else sql_time(value)

    def begin(self) -> None:
        if not self.postgres:  # psycopg opens its transaction on the first statement
            self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        if self.postgres:
            self.conn.commit()
        else:
            self.conn.execute("COMMIT")

    # -- one round of transitions -------------------------------------------------------------
    def run(self, steps: list[tuple[str, str]]) -> None:
        """One transaction. One per transaction, statement by statement; batched, set-based
        as ``advance_many`` is: cases and clocks read with one query each, then one
        ``executemany`` per statement (a case moved twice goes in a second round)."""
        self.begin()
        if len(steps) == 1:
            self.pending = None
            self.transition(*steps[0])
        else:
            for round_ in rounds(steps):
                self.pending = {}
                self.prefetch(round_)
                for ref, action in round_:
                    self.transition(ref, action)
                self.flush()
        self.commit()

    def write(self, statement: str, params: tuple[Any, ...]) -> None:
        if self.pending is None:
            self.conn.execute(statement, params)
        else:
            self.pending.setdefault(statement, []).append(params)

    def flush(self) -> None:
        """The round's writes, one ``executemany`` each, in the order the engine writes them."""
        assert self.pending is not None
        for statement in self.write_order:
            rows = self.pending.pop(statement, [])
            if not rows:
                continue
            cursor = self.conn.cursor()
            cursor.executemany(statement, rows)
            if statement in self.update_case and cursor.rowcount != len(rows):
                raise AssertionError(f"{len(rows) - cursor.rowcount} cases of the batch changed meanwhile")
        assert not self.pending, f"statements missing from write_order: {list(self.pending)}"

    def prefetch(self, steps: list[tuple[str, str]]) -> None:
        """A round's reads: its cases, then the clocks each move reads (``clocks_wanted``)."""
        lock = " FOR UPDATE" if self.postgres else ""
        references = [ref for ref, _ in steps]
        cases = self.conn.execute(
            self.sql(f"SELECT id, state, tier, queue, version, data, reference FROM complaint "
                     f"WHERE reference IN ({', '.join('?' * len(references))}){lock}"), references).fetchall()
        self.cases = {row[-1]: row[:-1] for row in cases}
        heads = self.conn.execute(
            self.sql(f"SELECT complaint_id, chain_hash FROM complaint_event WHERE (complaint_id, seq) "
                     f"IN (VALUES {', '.join(['(?, ?)'] * len(cases))})"),
            [value for row in cases for value in (row[0], row[4])]).fetchall()
        self.heads = dict(heads)
        pairs = [(self.cases[ref][0], name) for ref, action in steps for name in self.clocks.reads[action]]
        self.clock_rows: dict[int, list[tuple[Any, ...]]] = {}
        if not pairs:
            return
        clocks = self.conn.execute(
            self.sql(f"SELECT complaint_id, {', '.join(ClockRow._fields)} FROM sla_clock WHERE (complaint_id, name) "
                     f"IN (VALUES {', '.join(['(?, ?)'] * len(pairs))}) ORDER BY id"),
            [value for pair in pairs for value in pair]).fetchall()
        for row in clocks:
            self.clock_rows.setdefault(row[0], []).append(row[1:])

    def case(self, reference: str) -> tuple[Any, ...]:
        if self.pending is not None:
            return self.cases[reference]
        lock = " FOR UPDATE" if self.postgres else ""
        return self.conn.execute(  # type: ignore[no-any-return]
            self.sql(f"SELECT id, state, tier, queue, version, data FROM complaint WHERE reference = ?{lock}"),
            (reference,),
        ).fetchone()

    def clocks_of(self, cid: int, action: str) -> list[ClockRow]:
        names = self.clocks.reads[action]
        if self.pending is not None:
            return [ClockRow._make(r) for r in self.clock_rows.get(cid, []) if r[1] in names]
        return [ClockRow._make(r) for r in self.conn.execute(self.read_clocks[action], (cid, *names)).fetchall()]

    def transition(self, reference: str, action: str) -> None:
        cid, state, tier, queue, version, data = self.case(reference)
        payload = PAYLOADS[action]
        to_state = MOVES[action][1]
        values: list[Any] = [to_state, tier, queue, version + 1, self.at]
        if payload:
            current = data if isinstance(data, dict) else json.loads(data)
            statement, values = self.update_case[1], [*values, self.json({**current, **payload})]
        else:
            statement = self.update_case[0]
        if self.pending is None:
            if self.conn.execute(statement, (*values, cid, version)).rowcount != 1:
                raise ConflictError(reference, version, None)
        else:
            self.write(statement, (*values, cid, version))
        event = {"seq": version + 1, "actor": HANDLER.name, "role": HANDLER.role, "action": action,
                 "from_state": state, "to_state": to_state, "tier": tier, "queue": queue, "payload": payload,
                 "changes": payload, "at": NOW}
        previous = self.heads[cid] if self.pending is not None else \
            self.conn.execute(self.read_head, (cid, version)).fetchone()[0]
        ((content, chain),) = hash_events(reference, previous, [event])
        self.write(self.insert_event, (cid, version + 1, HANDLER.name, HANDLER.role, action, state, to_state, tier,
                                       queue, self.json(payload), self.json(payload), self.at, content, chain))
        self.write(self.cancel_workflow_timers, (self.at, cid))
        if action == "pause":
            self.write(self.insert_workflow_timer, (cid, self.resume_on, self.json({}), self.at))
            body = (f"Dear customer,\n\nWe have had to pause our work on your complaint {reference} until "
                    f"{RESUME_ON:%d %B %Y}. The reason: {payload['reason']}.\n\nWe will pick it up again by that date.")
            self.write(self.insert_note, (cid, version + 1, f"Your complaint {reference}", body, self.at, self.at))
        self.move_clocks(cid, action)

    def move_clocks(self, cid: int, action: str) -> None:
        """The SLA observer's part of the step: read the clocks the move may change, then pause
        the running ones the new state pauses, or resume the paused ones it runs."""
        if action not in self.read_clocks:
            return
        roles = self.clocks.roles[action]
        for clock in self.clocks_of(cid, action):
            role = roles.get(clock.name)  # None: a regulatory clock, which a pause or resume never stops
            if action == "pause" and role == "pause" and clock.status == "running":
                self.pause_clock(cid, clock)
            elif action == "resume" and role in ("start", "other") and clock.status == "paused":
                self.resume_clock(cid, clock)

    @staticmethod
    def elapsed(since: Any) -> float:
        """Seconds since ``since`` in wall time: the engine counts business time, but the
        baseline measures the writes, not the calendar (at the benchmark's fixed NOW both are 0)."""
        since = datetime.fromisoformat(since) if isinstance(since, str) else since
        return (NOW - since.replace(tzinfo=UTC)).total_seconds()

    def pause_clock(self, cid: int, clock: ClockRow) -> None:
        """``SlaClocks.pause``: time used folded into ``consumed``, no deadline while paused."""
        used = clock.consumed + self.elapsed(clock.running_since)
        detail = {**clock.details(), "paused_at": NOW.isoformat()}
        self.write(self.update_clock, ("paused", None, used, None, None, self.json(detail), self.at, clock.id))
        self.cancel_timers(cid, clock.name)
        self.ledger(cid, clock.name, "pause", {"consumed": used})

    def resume_clock(self, cid: int, clock: ClockRow) -> None:
        """``SlaClocks.resume``: deadlines from now for the budget left (wall time standing in
        for the business calendar), a breach timer unless breached, a warning unless warned."""
        detail = clock.details()
        paused_since = detail.pop("paused_at", None)
        budget, used = float(detail.get("budget", 0.0)), clock.consumed
        due_at = NOW + timedelta(seconds=budget - used)
        warn_budget = budget * self.clocks.warning[clock.name]
        warn_at = (NOW + timedelta(seconds=warn_budget - used)
                   if clock.warned_at is None and warn_budget > used else None)
        self.write(self.update_clock, (
            "running", self.at, used, self.stamp(due_at), self.stamp(warn_at) if warn_at else None,
            self.json(detail), self.at, clock.id,
        ))
        self.cancel_timers(cid, clock.name)
        self.ledger(cid, clock.name, "resume", {
            "target": clock.target, "calendar": clock.calendar, "tier": clock.tier, "severity": clock.severity,
            "consumed": used, "due_at": due_at.isoformat(), "warn_at": warn_at.isoformat() if warn_at else None,
            "paused_since": paused_since,
        })
        payload = self.json({"clock": clock.name, "run": clock.run})
        if clock.breached_at is None:
            self.write(self.insert_clock_timer, (cid, "sla_breach", clock.name, self.stamp(due_at), payload, self.at))
        if warn_at is not None:
            self.write(self.insert_clock_timer, (cid, "sla_warning", clock.name, self.stamp(warn_at), payload, self.at))

    def cancel_timers(self, cid: int, clock: str) -> None:
        """``_CANCEL``: the clock's pending timers, named after it or ``clock.<milestone>...``."""
        self.write(self.cancel_clock_timers, (self.at, cid, clock, f"{clock}.", f"{clock}/"))

    def ledger(self, cid: int, clock: str, entry: str, detail: dict[str, Any]) -> None:
        self.write(self.insert_ledger, (cid, clock, entry, self.at, self.actor, self.ledger_reason[entry],
                                        self.json(detail)))

    def round(self, rotation: Rotation, count: int, batch: int) -> Round:
        def prepare() -> Callable[[], object]:
            steps = rotation.take(count)

            def work() -> None:
                for first in range(0, len(steps), batch):
                    self.run(steps[first : first + batch])

            return work

        return prepare


def rounds(steps: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    """``steps`` in rounds that hold each case at most once, as ``advance_many`` splits them."""
    found: list[list[tuple[str, str]]] = []
    seen: dict[str, int] = {}
    for ref, action in steps:
        n = seen[ref] = seen.get(ref, -1) + 1
        if n == len(found):
            found.append([])
        found[n].append((ref, action))
    return found


def measure_backend(url: str, label: str, sizes: Sizes) -> tuple[list[Measure], float]:
    """Engine and raw driver, one per transaction and batched, interleaved on one database.

    The application's engine carries the observers ``bootstrap`` wires (SLA clocks, root
    cause); a second engine on the same database without them shows what they cost.
    """
    app = fresh_app(url, FixedClock(NOW))
    core = build(Settings(database_url=url), clock=FixedClock(NOW))
    core.engine.observers.clear()
    raw_conn = raw_pg(url) if app.db.dialect == "postgresql" else raw_sqlite(url)
    try:
        raw = RawTransitions(raw_conn, app.db.dialect, ClockMoves.of(app))
        sets = {name: Rotation(investigating_cases(app, sizes.cases, name))
                for name in ("es", "eb", "cs", "cb", "rs", "rb")}
        n = sizes.transitions
        best = interleaved(
            {
                "engine_single": engine_round(app, sets["es"], n, 1),
                "core_single": engine_round(core, sets["cs"], n, 1),
                "raw_single": raw.round(sets["rs"], n, 1),
                "engine_batch": engine_round(app, sets["eb"], n, sizes.batch),
                "core_batch": engine_round(core, sets["cb"], n, sizes.batch),
                "raw_batch": raw.round(sets["rb"], n, sizes.batch),
            },
            sizes.repeat, sizes.warmup,
        )
    finally:
        raw_conn.close()
        app.db.dispose()
        core.db.dispose()
    rate = {name: n / seconds for name, seconds in best.items()}
    unit = "transitions/s"
    driver = "psycopg" if app.db.dialect == "postgresql" else "sqlite3"
    return [
        Measure(f"{label}: engine, one per transaction", rate["engine_single"], unit, rate["raw_single"],
                f"raw {driver}, one per transaction", Target(">=", 0.25)),
        Measure(f"{label}: engine, {sizes.batch} per transaction", rate["engine_batch"], unit, rate["raw_batch"],
                f"raw {driver}, {sizes.batch} per transaction", Target(">=", 0.5)),
        Measure(f"{label}: engine core without observers, one per transaction", rate["core_single"], unit,
                rate["raw_single"], f"raw {driver}, one per transaction", note=OBSERVERS_NOTE),
        Measure(f"{label}: engine core without observers, {sizes.batch} per transaction", rate["core_batch"], unit,
                rate["raw_batch"], f"raw {driver}, {sizes.batch} per transaction", note=OBSERVERS_NOTE),
    ], rate["raw_single"]


def measure_peers(sizes: Sizes, raw_single: float) -> list[Measure]:
    measures = []
    for label, factory in (("python-statemachine", statemachine_transitions), ("SpiffWorkflow", spiff_transitions)):
        try:
            transition = factory(sizes.cases)
        except NotAvailable as exc:
            measures.append(Measure(f"in memory: {label}", None, "transitions/s", note=f"not available: {exc}"))
            continue
        n = sizes.transitions

        def prepare(step: Callable[[], object] = transition, count: int = n) -> Callable[[], object]:
            return lambda: [step() for _ in range(count)]

        seconds = interleaved({label: prepare}, sizes.repeat, sizes.warmup)[label]
        measures.append(Measure(
            f"in memory: {label}, rebuilt per transition", n / seconds, "transitions/s", raw_single,
            "raw sqlite3, one per transaction", note="context only: no log, timers or outbox",
        ))
    return measures


def run(ctx: Context) -> list[Measure]:
    sizes = SIZES[ctx.profile]
    measures, raw_single = measure_backend(ctx.sqlite_url("transitions"), "SQLite", sizes)
    if ctx.pg_url:
        measures += measure_backend(ctx.pg_url, "PostgreSQL", sizes)[0]
    else:
        measures.append(Measure("PostgreSQL", None, "transitions/s",
                                note="skipped: no PostgreSQL URL (--pg-url or COMPLAINTS_BENCH_POSTGRES_URL)"))
    return measures + measure_peers(sizes, raw_single)


def estimate(profile: Profile) -> float:
    sizes = SIZES[profile]
    rounds = sizes.repeat + sizes.warmup
    return 3 + rounds * sizes.transitions * 2 * (1 / 1100 + 1 / 2500 + 1 / 7000) * 2 + sizes.cases * 0.1


FIGURE = Figure("transitions", "Durable transitions per second", run, estimate)
