"""Persistence of cases behind one small class, in SQLAlchemy Core for the hot paths.

Only this module writes the case tables (customers, complaints, events, timers, the outbox,
the metrics snapshot), on the connection of the caller's unit of work. Other packages that
keep timers of their own kinds write them through the statements built here
(``INSERT_TIMERS``, ``cancel_named_timers``). Writes of a step are conditional on the
optimistic version, so a stale writer changes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    Select,
    and_,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy import case as sql_case
from sqlalchemy.dialects import postgresql, sqlite

from complaints import audit
from complaints.bulk import Bulk, chunks, query, select_matching
from complaints.errors import ConflictError, NotFound
from complaints.models import (
    AuditUnlock,
    Complaint,
    ComplaintEvent,
    Customer,
    MetricsSnapshot,
    Notification,
    ReferenceCounter,
    Timer,
)
from complaints.steps import COMPLAINT_FIELDS, SYSTEM_ROLE, Case, Step

complaint_t = Complaint.__table__  # type: ignore[attr-defined]
event_t = ComplaintEvent.__table__  # type: ignore[attr-defined]
timer_t = Timer.__table__  # type: ignore[attr-defined]
note_t = Notification.__table__  # type: ignore[attr-defined]
customer_t = Customer.__table__  # type: ignore[attr-defined]
counter_t = ReferenceCounter.__table__  # type: ignore[attr-defined]
snapshot_t = MetricsSnapshot.__table__  # type: ignore[attr-defined]
audit_unlock_t = AuditUnlock.__table__  # type: ignore[attr-defined]

WORKFLOW_TIMER = "workflow"
#: Timer statuses: a sweep claims ``pending`` as ``fired``; ``failed`` when the action it
#: fired was refused (the reason is its result) and a person must act on the case.
TIMER_PENDING, TIMER_FIRED, TIMER_FAILED, TIMER_CANCELLED = "pending", "fired", "failed", "cancelled"
ASSIGNEE = "assignee"
#: A letter's statuses (``Notification``): due to be sent, waiting for a handler's review,
#: claimed by a sender, sent, refused for good, and never to be sent.
NOTE_QUEUED, NOTE_HELD, NOTE_SENDING, NOTE_SENT, NOTE_FAILED, NOTE_CANCELLED = (
    "queued", "held", "sending", "sent", "failed", "cancelled")
#: Letters a sender may take: queued, or claimed by a sender whose claim has run out (it died).
#: Written out, not bound, so that the partial index on their due time applies (``IS_PENDING``).
IS_DUE = note_t.c.status.in_([literal_column(f"'{NOTE_QUEUED}'"), literal_column(f"'{NOTE_SENDING}'")])
#: What a customer's message on the timeline is recorded as (``complaintflow.replies``).
CUSTOMER_MESSAGE = "customer_message"
#: ``timer.status = 'pending'`` with the value written out, not bound: only then can the
#: planner be sure the partial index on pending timers' due times applies (a generic plan
#: for a prepared statement cannot know a bound value), and SQLite knows which rows an
#: update takes out of that index.
IS_PENDING = timer_t.c.status == literal_column(f"'{TIMER_PENDING}'")

# The per-transition statements are built once with bind parameters, so SQLAlchemy reuses their
# compiled SQL instead of rebuilding expressions for every step. SET columns come from the
# parameters. Writes go through ``Bulk``: straight to the driver, values converted per column.
_write_case = Bulk(update(complaint_t).where(
    and_(complaint_t.c.id == bindparam("b_id"), complaint_t.c.version == bindparam("b_version"))
))
_insert_event, _insert_note = Bulk(event_t.insert()), Bulk(note_t.insert())
#: Timer rows, for every kind of timer (``Stamps`` writes rows many complaints share at once).
INSERT_TIMERS = Bulk(timer_t.insert())
_insert_case, _insert_customer = Bulk(complaint_t.insert()), Bulk(customer_t.insert())
# Inserts go without RETURNING and ids are read back by their unique keys: with
# ``RETURNING ... sort_by_parameter_order`` SQLAlchemy inserts SQLite rows one statement each.
_by_external_id = select(complaint_t.c.external_id, complaint_t.c.reference).where(
    complaint_t.c.external_id.in_(bindparam("ids", expanding=True)))
_id_by_reference = select(complaint_t.c.reference, complaint_t.c.id).where(
    complaint_t.c.reference.in_(bindparam("refs", expanding=True)))
_customer_by_pseudonym = select(customer_t.c.pseudonym, customer_t.c.id).where(
    customer_t.c.pseudonym.in_(bindparam("keys", expanding=True)))
_chain_heads = select(event_t.c.complaint_id, event_t.c.chain_hash).where(
    tuple_(event_t.c.complaint_id, event_t.c.seq).in_(bindparam("pairs", expanding=True)))
_CHAIN_HEAD = "SELECT chain_hash FROM complaint_event WHERE complaint_id = ? AND seq = ?"
_claim_timers = (update(timer_t).where(and_(timer_t.c.id.in_(bindparam("ids", expanding=True)), IS_PENDING))
                 .values(status=TIMER_FIRED, fired_at=bindparam("at")).returning(timer_t.c.id))
_record_results = update(timer_t).where(timer_t.c.id == bindparam("tid")).values(
    status=bindparam("st"), result=bindparam("res"))
_release_timer = update(timer_t).where(timer_t.c.id == bindparam("tid")).values(status=TIMER_PENDING, fired_at=None)
_cancel_pending_kind = Bulk(update(timer_t).where(
    and_(timer_t.c.complaint_id == bindparam("b_id"), IS_PENDING, timer_t.c.kind == bindparam("b_kind"))
))


def attends(event: Mapping[str, Any]) -> bool:
    """Whether an event after a refused timer attends to its case: a person acted, or the case
    moved to another state (which schedules its own timers: a customer's reply taken in by
    the inbox); the system acting on the case in place (the sweep escalating it) does not.
    ``unattended_failed_timers`` asks the same in SQL."""
    return bool(event["role"] != SYSTEM_ROLE or event["from_state"] != event["to_state"])


def unattended_failed_timers() -> Select[Any]:
    """Failed timers (their action was refused) on cases nobody has acted on since (no event
    that ``attends`` to it): such a case may wait with nothing scheduled, so it needs a person."""
    acted_since = exists().where(and_(event_t.c.complaint_id == timer_t.c.complaint_id,
                                      event_t.c.at > timer_t.c.fired_at,
                                      or_(event_t.c.role != SYSTEM_ROLE, event_t.c.from_state != event_t.c.to_state)))
    return (select(timer_t.c.id, timer_t.c.complaint_id, timer_t.c.kind, timer_t.c.name, timer_t.c.state,
                   timer_t.c.fired_at, timer_t.c.result)
            .where(and_(timer_t.c.status == TIMER_FAILED, ~acted_since)))


def letters_needing_attention() -> Select[Any]:
    """(complaint_id, since, why) of letters a person must act on: refused for good
    (``failed``) or waiting for review (``held``); the status index finds them."""
    why = sql_case(
        (note_t.c.status == NOTE_FAILED,
         literal("letter '") + note_t.c.template + literal("' failed: ") + func.coalesce(note_t.c.last_error, "")),
        else_=literal("letter '") + note_t.c.template + literal("' held for review"),
    )
    return (select(note_t.c.complaint_id, note_t.c.created_at.label("since"), why.label("why"))
            .where(note_t.c.status.in_([NOTE_FAILED, NOTE_HELD])))


def unread_customer_messages() -> Select[Any]:
    """(complaint_id, since, why) of customers' messages no person has acted on since (the
    engine's own steps, such as taking a reply in, do not count): a handler must read them."""
    later = event_t.alias("later")
    acted_since = exists().where(and_(later.c.complaint_id == event_t.c.complaint_id, later.c.seq > event_t.c.seq,
                                      later.c.role != SYSTEM_ROLE))
    return (select(event_t.c.complaint_id, event_t.c.at.label("since"), literal("the customer wrote").label("why"))
            .where(and_(event_t.c.action == literal_column(f"'{CUSTOMER_MESSAGE}'"), ~acted_since)))


def case_from_row(row: Row[Any]) -> Case:
    return case_from_mapping(row._mapping, row._mapping["customer_name"])


def case_from_mapping(m: Mapping[Any, Any], customer_name: str | None) -> Case:
    return Case(
        id=m["id"],
        reference=m["reference"],
        state=m["state"],
        tier=m["tier"],
        queue=m["queue"],
        version=m["version"],
        data=dict(m["data"] or {}),
        fields={k: m[k] for k in COMPLAINT_FIELDS if k in m},
        customer_name=customer_name,
    )


class CaseRepository:
    """Reads and writes one unit of work's cases through its connection."""

    def __init__(self, conn: Connection):
        self.conn = conn

    # -- reads ----------------------------------------------------------------------------------
    def row(self, reference: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The complaint's row and its customer's (if it has one), read at the driver: a case
        view reads them on every request."""
        rows = select_matching(self.conn, complaint_t, ("reference",), [(reference,)])
        if not rows:
            raise NotFound(f"No complaint with reference {reference!r}")
        customer_id = rows[0]["customer_id"]
        customers = select_matching(self.conn, customer_t, ("id",), [(customer_id,)]) if customer_id is not None else []
        return rows[0], customers[0] if customers else None

    def get(self, reference: str, for_update: bool = False) -> Case:
        """One case (locked on PostgreSQL if ``for_update``), read like ``get_many``'s: at the
        driver, which costs a transition less than SQLAlchemy's execution of ``row``'s query."""
        return self.get_many((reference,), for_update)[reference]

    def get_many(self, references: Iterable[str], for_update: bool = False) -> dict[str, Case]:
        """The cases with these references, read with one statement of constant text (locked
        on PostgreSQL if ``for_update``, in id order), and their customers' names with one
        more; any reference not found raises ``NotFound`` naming it."""
        wanted = sorted(set(references))
        rows = select_matching(self.conn, complaint_t, ("reference",), [(ref,) for ref in wanted],
                               for_update=for_update)
        customers = sorted({row["customer_id"] for row in rows if row["customer_id"] is not None})
        names = {c["id"]: c["name"] for c in select_matching(self.conn, customer_t, ("id",), [(c,) for c in customers])}
        found = {row["reference"]: case_from_mapping(row, names.get(row["customer_id"])) for row in rows}
        missing = [ref for ref in wanted if ref not in found]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise NotFound(f"No complaint with reference {missing[0]!r}{more}")
        return found

    def events(self, complaint_id: int) -> list[dict[str, Any]]:
        # at the driver, decoded as SQLAlchemy would: a case view reads these on every request
        return select_matching(self.conn, event_t, ("complaint_id",), [(complaint_id,)], order_by="seq")

    def timers(self, complaint_id: int, pending_only: bool = False) -> list[dict[str, Any]]:
        if not pending_only:
            return select_matching(self.conn, timer_t, ("complaint_id",), [(complaint_id,)], order_by="due_at")
        query = select(timer_t).where(timer_t.c.complaint_id == complaint_id).where(IS_PENDING)
        return [dict(r._mapping) for r in self.conn.execute(query.order_by(timer_t.c.due_at))]

    def notifications(self, complaint_id: int) -> list[dict[str, Any]]:
        return select_matching(self.conn, note_t, ("complaint_id",), [(complaint_id,)], order_by="id")

    def cases_on_workflow(self, name: str, below: int) -> list[Row[Any]]:
        """(id, reference, state, workflow_version) of every complaint on an older version of
        workflow ``name`` than ``below``, by id: what a migration to ``below`` considers."""
        return list(self.conn.execute(
            select(complaint_t.c.id, complaint_t.c.reference, complaint_t.c.state, complaint_t.c.workflow_version)
            .where(and_(complaint_t.c.workflow_name == name, complaint_t.c.workflow_version < below))
            .order_by(complaint_t.c.id)))

    def entered_at(self, complaint_ids: Sequence[int]) -> dict[int, datetime]:
        """When each complaint last moved into another state (its first event counts): its
        workflow timers run from then."""
        moved = or_(event_t.c.from_state.is_(None), event_t.c.from_state != event_t.c.to_state)
        query = (select(event_t.c.complaint_id, func.max(event_t.c.at))
                 .where(and_(event_t.c.complaint_id.in_(bindparam("ids", expanding=True)), moved))
                 .group_by(event_t.c.complaint_id))
        found: dict[int, datetime] = {}
        for chunk in chunks(list(complaint_ids)):
            found.update((cid, at) for cid, at in self.conn.execute(query, {"ids": list(chunk)}))
        return found

    def pending_workflow_timers(self, complaint_ids: Sequence[int]) -> dict[int, list[str]]:
        """The names of each complaint's pending workflow timers."""
        query = (select(timer_t.c.complaint_id, timer_t.c.name)
                 .where(and_(timer_t.c.complaint_id.in_(bindparam("ids", expanding=True)), IS_PENDING,
                             timer_t.c.kind == WORKFLOW_TIMER)).order_by(timer_t.c.id))
        found: dict[int, list[str]] = {cid: [] for cid in complaint_ids}
        for chunk in chunks(list(complaint_ids)):
            for cid, name in self.conn.execute(query, {"ids": list(chunk)}):
                found[cid].append(name)
        return found

    def received_between(self, start: datetime | None, end: datetime | None, after: int, limit: int) -> list[Row[Any]]:
        """The next ``limit`` complaints by id after ``after`` received in [start, end): what
        their history is replayed from."""
        query = select(complaint_t.c.id, complaint_t.c.product, complaint_t.c.severity, complaint_t.c.received_at,
                       complaint_t.c.workflow_name, complaint_t.c.workflow_version).where(complaint_t.c.id > after)
        if start is not None:
            query = query.where(complaint_t.c.received_at >= start)
        if end is not None:
            query = query.where(complaint_t.c.received_at < end)
        return list(self.conn.execute(query.order_by(complaint_t.c.id).limit(limit)))

    def history_events(self, complaint_ids: Sequence[int], before: datetime | None,
                       changes: bool = False) -> dict[int, list[Row[Any]]]:
        """Each complaint's events before ``before`` in order, with what a replay of its clocks
        reads (no payloads: they are the bulk of an event and a replay of clocks needs none);
        with ``changes``, their changes and payloads too, for ``machine.replay``."""
        columns = [event_t.c.complaint_id, event_t.c.seq, event_t.c.actor, event_t.c.action, event_t.c.from_state,
                   event_t.c.to_state, event_t.c.tier, event_t.c.queue, event_t.c.at]
        if changes:
            columns += [event_t.c.changes, event_t.c.payload]
        query = select(*columns).where(event_t.c.complaint_id.in_(bindparam("ids", expanding=True)))
        if before is not None:
            query = query.where(event_t.c.at < before)
        found: dict[int, list[Row[Any]]] = {cid: [] for cid in complaint_ids}
        for chunk in chunks(list(complaint_ids)):
            for row in self.conn.execute(query.order_by(event_t.c.complaint_id, event_t.c.seq), {"ids": list(chunk)}):
                found[row.complaint_id].append(row)
        return found

    # -- writes ---------------------------------------------------------------------------------
    def move_to_version(self, complaint_ids: Sequence[int], version: int, at: datetime) -> None:
        """Put complaints on another version of their workflow, their pending workflow timers
        cancelled (the new version's are written with the step that records the move)."""
        _cancel_pending_kind.run(self.conn, [{"status": TIMER_CANCELLED, "cancelled_at": at, "b_id": cid,
                                              "b_kind": WORKFLOW_TIMER} for cid in complaint_ids])
        for chunk in chunks([(cid,) for cid in complaint_ids]):
            self.conn.execute(update(complaint_t).where(complaint_t.c.id.in_([c for c, in chunk]))
                              .values(workflow_version=version))

    def allocate_references(self, year: int, count: int) -> list[str]:
        """``count`` new references for ``year``, safe under concurrent writers on both databases."""
        updated = self.conn.execute(
            update(counter_t)
            .where(counter_t.c.year == year)
            .values(next_number=counter_t.c.next_number + count)
            .returning(counter_t.c.next_number)
        ).scalar()
        if updated is None:
            self.conn.execute(counter_t.insert().values(year=year, next_number=1 + count))
            updated = 1 + count
        first = updated - count
        return [f"C-{year}-{n:06d}" for n in range(first, updated)]

    def known_external_ids(self, external_ids: Sequence[str]) -> dict[str, str]:
        """external id -> reference of the stored complaints among ``external_ids``."""
        found: dict[str, str] = {}
        for chunk in chunks(external_ids):
            found.update((r.external_id, r.reference) for r in self.conn.execute(_by_external_id, {"ids": chunk}))
        return found

    def customer_ids(self, pseudonyms: Sequence[str]) -> dict[str, int]:
        """pseudonym -> id of the stored customers among ``pseudonyms``."""
        found: dict[str, int] = {}
        for chunk in chunks(pseudonyms):
            found.update((r.pseudonym, r.id) for r in self.conn.execute(_customer_by_pseudonym, {"keys": chunk}))
        return found

    def add_customers(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
        """Insert customers (each row with its ``pseudonym``); pseudonym -> new id."""
        if not rows:
            return {}
        _insert_customer.run(self.conn, rows)
        return self.customer_ids(sorted(row["pseudonym"] for row in rows))

    def insert_cases(self, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert new complaint rows (all with the same columns); their ids, in order."""
        _insert_case.run(self.conn, rows)
        ids: dict[str, int] = {}
        references = [row["reference"] for row in rows]
        for chunk in chunks(references):
            ids.update((r.reference, r.id) for r in self.conn.execute(_id_by_reference, {"refs": chunk}))
        return [ids[ref] for ref in references]

    def add_steps(self, items: Sequence[tuple[Case, Step]]) -> None:
        """The events, timers and letters of the first steps of new cases, whose rows
        ``insert_cases`` wrote in their state after those steps."""
        self.append_events(items, {})
        pairs: list[tuple[int, Step]] = [(case.id, step) for case, step in items]  # type: ignore[misc]
        self.add_timers(pairs)
        self.add_notifications(pairs)

    def write_step(self, case: Case, step: Step, expected_version: int) -> None:
        """Persist a planned step: state, version, data, event, timers, outbox. All or nothing."""
        self.write_steps([(replace(case, version=expected_version), step)])

    def write_steps(self, items: Sequence[tuple[Case, Step]]) -> None:
        """Persist one planned step for each of several cases with one statement per table.

        Each case is written only if it is still at the version it was planned from; any
        other version raises ``ConflictError`` (the caller's transaction then rolls back).
        """
        rows: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # by the columns they set
        references: dict[int, str] = {}
        for case, step in items:
            assert case.id is not None, "write_steps needs stored cases"
            assert case.id not in references, f"{case.reference} appears twice in one write"
            references[case.id] = case.reference
            values: dict[str, Any] = {"state": step.to_state, "tier": step.tier, "queue": step.queue,
                                          "version": step.seq, "updated_at": step.at}
            if step.changes:
                values["data"] = {**case.data, **step.changes}
                if ASSIGNEE in step.changes:  # mirrored into its column for the work queue
                    values[ASSIGNEE] = step.changes[ASSIGNEE]
            values.update(b_id=case.id, b_version=case.version)
            rows.setdefault(tuple(values), []).append(values)
        for group in rows.values():
            if _write_case.run(self.conn, group) != len(group):
                self._raise_conflict(group, references)
        pairs: list[tuple[int, Step]] = [(case.id, step) for case, step in items]  # type: ignore[misc]
        self.append_events(items, self.chain_heads(case for case, _ in items))
        moved = [{"status": TIMER_CANCELLED, "cancelled_at": step.at, "b_id": cid, "b_kind": WORKFLOW_TIMER}
                 for cid, step in pairs if step.state_changed]
        _cancel_pending_kind.run(self.conn, moved)  # the states left: their timers no longer apply
        self.add_timers(pairs)
        self.add_notifications(pairs)

    def _raise_conflict(self, rows: list[dict[str, Any]], references: dict[int, str]) -> None:
        expected = {row["b_id"]: row["b_version"] for row in rows}
        stored: dict[int, int] = {cid: version for cid, version in self.conn.execute(
            select(complaint_t.c.id, complaint_t.c.version).where(complaint_t.c.id.in_(list(expected))))}
        for cid, version in expected.items():
            if stored.get(cid) != version + 1:  # this write did not happen: someone else's did
                raise ConflictError(references[cid], version, stored.get(cid))
        raise ConflictError(next(iter(references.values())), next(iter(expected.values())), None)

    def append_events(self, items: Iterable[tuple[Case, Step]], heads: Mapping[int, str | None]) -> None:
        """The audit events of ``items`` (a case's steps in order), each hashed and chained to
        the one before it: ``heads`` holds each case's chain hash before the first of them."""
        rows = []
        last = dict(heads)
        for case, s in items:
            assert case.id is not None, "events belong to stored cases"
            row = {
                "complaint_id": case.id, "seq": s.seq, "actor": s.actor.name, "role": s.actor.role,
                "action": s.action, "from_state": s.from_state, "to_state": s.to_state, "tier": s.tier,
                "queue": s.queue, "payload": s.payload, "changes": s.changes, "at": s.at, "origin": s.actor.origin,
            }
            row["content_hash"] = content = audit.content_hash(case.reference, row)
            row["chain_hash"] = last[case.id] = audit.chained(last.get(case.id), content)
            rows.append(row)
        if rows:
            _insert_event.run(self.conn, rows)

    def chain_heads(self, cases: Iterable[Case]) -> dict[int, str | None]:
        """Each stored case's chain hash: that of its event at its current version."""
        pairs = [(case.id, case.version) for case in cases]
        found: dict[int, str | None] = dict.fromkeys((cid for cid, _ in pairs), None)  # type: ignore[misc]
        if len(pairs) == 1:  # a person's step: one indexed lookup at the driver, no expanding IN to render
            sql = _CHAIN_HEAD if self.conn.dialect.name == "sqlite" else _CHAIN_HEAD.replace("?", "%s")
            found.update((pairs[0][0], head) for (head,) in query(self.conn, sql, pairs[0]))  # type: ignore[misc]
            return found
        for chunk in chunks(pairs):
            found.update((cid, head) for cid, head in self.conn.execute(_chain_heads, {"pairs": list(chunk)}))
        return found

    def add_timers(self, steps: Iterable[tuple[int, Step]]) -> None:
        rows = [
            {
                "complaint_id": cid, "kind": WORKFLOW_TIMER, "name": t.name, "action": t.action,
                "state": t.state, "due_at": t.due_at, "status": "pending", "payload": {},
                "created_at": s.at,
            }
            for cid, s in steps
            for t in s.timers
        ]
        if rows:
            INSERT_TIMERS.run(self.conn, rows)

    def add_notifications(self, steps: Iterable[tuple[int, Step]]) -> None:
        rows = [
            {
                "complaint_id": cid, "event_seq": s.seq, "template": n.template, "language": n.language,
                "channel": n.channel, "subject": n.subject or None, "body": n.body,
                "status": NOTE_HELD if n.held else NOTE_QUEUED, "attempts": 0, "next_attempt_at": s.at,
                "created_at": s.at,
            }
            for cid, s in steps
            for n in s.notifications
        ]
        if rows:
            _insert_note.run(self.conn, rows)

    def due_timers(
        self, now: datetime, limit: int, kinds: Sequence[str] = (WORKFLOW_TIMER,),
        actions: Sequence[str] | None = None,
    ) -> list[Row[Any]]:
        """The earliest pending timers due by ``now`` (only ``actions`` if given): an index
        range scan, not a table scan.

        On PostgreSQL their cases' rows are locked, skipping cases another transaction holds
        (another sweeper's batch, a handler's step): whoever holds a case's row is the only
        one to write its timers, clocks and state, so a sweeper never waits on anyone while
        holding rows of its own, and concurrent sweepers take disjoint batches of cases.
        (Locking the timer rows instead let two sweepers each hold a timer of a case the other
        was changing: a deadlock.) SQLite lets one writer in at a time and needs no lock."""
        columns = (timer_t.c.id, timer_t.c.complaint_id, timer_t.c.kind, timer_t.c.name,
                   timer_t.c.action, timer_t.c.state, timer_t.c.due_at, timer_t.c.payload)
        query = (
            select(*columns)
            .where(and_(IS_PENDING, timer_t.c.due_at <= now, timer_t.c.kind.in_(kinds)))
            .order_by(timer_t.c.due_at)
            .limit(limit)
        )
        if actions is not None:
            query = query.where(timer_t.c.action.in_(actions))
        if self.conn.dialect.name == "postgresql":
            query = (query.join_from(timer_t, complaint_t, complaint_t.c.id == timer_t.c.complaint_id)
                     .with_for_update(skip_locked=True, of=complaint_t))
        return list(self.conn.execute(query))

    def claim_timers(self, ids: Sequence[int], now: datetime) -> set[int]:
        """pending -> fired for the timers of ``ids``; those a concurrent sweeper took are left out."""
        if not ids:
            return set()
        return {r.id for r in self.conn.execute(_claim_timers, {"ids": list(ids), "at": now})}

    def record_timer_results(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Each fired timer's final status and result: rows of ``tid``, ``st`` and ``res``."""
        if rows:
            self.conn.execute(_record_results, list(rows))

    def release_timer(self, timer_id: int) -> None:
        """A claimed timer back to pending: its case changed under the sweep, the next one retries it."""
        self.release_timers([timer_id])

    def release_timers(self, timer_ids: Sequence[int]) -> None:
        """Claimed timers back to pending, for a later sweep (or batch) to fire."""
        if timer_ids:
            self.conn.execute(_release_timer, [{"tid": tid} for tid in timer_ids])

    def notification_watermark(self) -> int:
        """The newest notification's id: ``notifications_since`` counts the ones after it."""
        return int(self.conn.execute(select(func.coalesce(func.max(note_t.c.id), 0))).scalar_one())

    def notifications_since(self, watermark: int, complaint_ids: Sequence[int]) -> int:
        """Notifications stored after ``watermark`` for these complaints (in this transaction,
        when the caller holds them)."""
        found = 0
        for chunk in chunks(sorted(complaint_ids)):
            found += int(self.conn.execute(select(func.count()).select_from(note_t).where(
                and_(note_t.c.id > watermark, note_t.c.complaint_id.in_(chunk)))).scalar_one())
        return found

    # -- the audit trail's seal --------------------------------------------------------------
    def sealed_event_id(self) -> int:
        """The newest event id, once no transaction still writing events can commit a lower one
        (PostgreSQL hands out ids before commit: a SHARE lock waits for those writers)."""
        if self.conn.dialect.name == "postgresql":
            self.conn.exec_driver_sql("LOCK TABLE complaint_event IN SHARE MODE")
        return int(self.conn.execute(select(func.coalesce(func.max(event_t.c.id), 0))).scalar_one())

    def chain_heads_up_to(self, event_id: int) -> list[tuple[str, int, str]]:
        """(reference, seq, chain hash) of each complaint's newest event with an id up to ``event_id``."""
        newest = (select(event_t.c.complaint_id, func.max(event_t.c.seq).label("seq"))
                  .where(event_t.c.id <= event_id).group_by(event_t.c.complaint_id).subquery())
        query = (select(complaint_t.c.reference, event_t.c.seq, event_t.c.chain_hash)
                 .join(newest, and_(newest.c.complaint_id == event_t.c.complaint_id, newest.c.seq == event_t.c.seq))
                 .join(complaint_t, complaint_t.c.id == event_t.c.complaint_id))
        return [(ref, seq, head) for ref, seq, head in self.conn.execute(query)]

    # -- erasure ------------------------------------------------------------------------------
    def customer_of(self, email: str | None = None, reference: str | None = None) -> tuple[int | None, str | None]:
        """(id, name) of the customer with this email, or of the complaint with this reference."""
        if email is not None:
            query = select(customer_t.c.id, customer_t.c.name).where(customer_t.c.email == email)
        else:
            query = (select(customer_t.c.id, customer_t.c.name)
                     .join(complaint_t, complaint_t.c.customer_id == customer_t.c.id)
                     .where(complaint_t.c.reference == reference))
        row = self.conn.execute(query).first()
        return (row.id, row.name) if row else (None, None)

    def customer_email(self, reference: str) -> str | None:
        """The e-mail address of the complaint's customer (None if none is known, or erased)."""
        return self.conn.execute(select(customer_t.c.email).join(complaint_t, complaint_t.c.customer_id == customer_t.c.id)
                                 .where(complaint_t.c.reference == reference)).scalar()

    def complaints_of_customer(self, customer_id: int) -> list[tuple[int, str]]:
        """(id, reference) of the customer's complaints, oldest first."""
        return [(cid, ref) for cid, ref in self.conn.execute(
            select(complaint_t.c.id, complaint_t.c.reference)
            .where(complaint_t.c.customer_id == customer_id).order_by(complaint_t.c.id))]

    def case_text(self, complaint_id: int) -> tuple[str, dict[str, Any]]:
        """A complaint's description and recorded data."""
        row = self.conn.execute(select(complaint_t.c.description, complaint_t.c.data)
                                .where(complaint_t.c.id == complaint_id)).one()
        return row.description, dict(row.data or {})

    def set_case_text(self, complaint_id: int, description: str, data: Mapping[str, Any]) -> None:
        """Replace a complaint's description and recorded data (erasure masks them)."""
        self.conn.execute(update(complaint_t).where(complaint_t.c.id == complaint_id)
                          .values(description=description, data=dict(data)))

    def mask_events(self, events: Iterable[Mapping[str, Any]], why: str) -> None:
        """Replace the payload and changes of stored events (each with its ``id``): the one change
        the append-only guard lets through, while ``audit_unlock`` holds a row in this transaction."""
        rows = [{"eid": e["id"], "p": e["payload"], "c": e["changes"]} for e in events]
        if not rows:
            return
        unlock = self.conn.execute(audit_unlock_t.insert().values(reason=why[:200]).returning(audit_unlock_t.c.id)).scalar_one()
        self.conn.execute(update(event_t).where(event_t.c.id == bindparam("eid"))
                          .values(payload=bindparam("p"), changes=bindparam("c")), rows)
        self.conn.execute(audit_unlock_t.delete().where(audit_unlock_t.c.id == unlock))

    def notification_bodies(self, complaint_ids: Sequence[int]) -> list[tuple[int, str]]:
        """(id, body) of every notification of these complaints."""
        found: list[tuple[int, str]] = []
        for chunk in chunks(sorted(complaint_ids)):
            found += [(nid, body) for nid, body in self.conn.execute(
                select(note_t.c.id, note_t.c.body).where(note_t.c.complaint_id.in_(chunk)))]
        return found

    def cancel_queued_notifications(self, complaint_ids: Sequence[int]) -> int:
        """Cancel the letters of these complaints not yet sent (queued, held or failed); how many.
        A letter a sender has claimed (``sending``) is past stopping; the addresses it was
        sent to are forgotten with ``forget_recipients``."""
        cancelled = 0
        for chunk in chunks(sorted(complaint_ids)):
            cancelled += self.conn.execute(update(note_t).where(
                and_(note_t.c.complaint_id.in_(chunk), note_t.c.status.in_([NOTE_QUEUED, NOTE_HELD, NOTE_FAILED])))
                .values(status=NOTE_CANCELLED, next_attempt_at=None)).rowcount
        return cancelled

    def forget_recipients(self, complaint_ids: Sequence[int]) -> None:
        """Blank the addresses these complaints' letters were sent to (erasure)."""
        for chunk in chunks(sorted(complaint_ids)):
            self.conn.execute(update(note_t).where(and_(note_t.c.complaint_id.in_(chunk),
                                                        note_t.c.recipient.is_not(None))).values(recipient=None))

    def erase_customer(self, customer_id: int, now: datetime) -> bool:
        """Blank the customer's personal data and stamp the erasure; False if it was done already."""
        changed = self.conn.execute(
            update(customer_t)
            .where(customer_t.c.id == customer_id)
            .where(or_(customer_t.c.erased_at.is_(None), customer_t.c.name.is_not(None)))
            .values(name=None, email=None, phone=None, erased_at=now, pseudonym=secrets.token_hex(16))
        ).rowcount
        return bool(changed)

    def rewrite_notifications(self, bodies: Mapping[int, str]) -> int:
        """Replace the text of notifications (id -> new body); how many."""
        if bodies:
            self.conn.execute(update(note_t).where(note_t.c.id == bindparam("nid")).values(body=bindparam("text")),
                              [{"nid": nid, "text": text} for nid, text in bodies.items()])
        return len(bodies)


_letter_query = (select(note_t, complaint_t.c.reference, complaint_t.c.workflow_name, complaint_t.c.workflow_version,
                        customer_t.c.name.label("customer_name"))
                 .select_from(note_t.join(complaint_t, complaint_t.c.id == note_t.c.complaint_id)
                              .outerjoin(customer_t, customer_t.c.id == complaint_t.c.customer_id)))
_claim_letters = Bulk(update(note_t).where(note_t.c.id == bindparam("b_id")).values(
    status=NOTE_SENDING, attempts=note_t.c.attempts + 1, message_id=func.coalesce(note_t.c.message_id, bindparam("b_mid"))))
# One letter's outcome, once per letter sent: at the driver (``Bulk``), as the hot paths write.
# Only a letter still ``sending`` is marked: it is this sender's (a person cannot change it).
_mark_letter = Bulk(update(note_t).where(and_(note_t.c.id == bindparam("b_id"), note_t.c.status == bindparam("b_status"))))
_extend_claims = update(note_t).where(and_(note_t.c.id.in_(bindparam("ids", expanding=True)),
                                           note_t.c.status == NOTE_SENDING)).values(next_attempt_at=bindparam("until"))


class OutboxRepository:
    """Reads and writes the letters (``notification``) through one unit of work's connection.

    A sender takes due letters as the sweep takes timers: ``due`` finds them (locking them,
    skipping those another sender holds, on PostgreSQL; SQLite lets one writer in), ``claim``
    marks them ``sending`` until a time with a Message-ID that stays theirs; each is then
    marked ``sent``, ``retry``-ed later or ``failed`` on its own."""

    def __init__(self, conn: Connection):
        self.conn = conn

    # -- reads ----------------------------------------------------------------------------------
    def letter(self, letter_id: int) -> dict[str, Any]:
        """One letter with its complaint's reference."""
        row = self.conn.execute(_letter_query.where(note_t.c.id == letter_id)).first()
        if row is None:
            raise NotFound(f"No letter {letter_id}; `complaints outbox list` shows the letters")
        return dict(row._mapping)

    def letters(self, statuses: Sequence[str] = (), reference: str | None = None, template: str | None = None,
                limit: int = 50) -> list[dict[str, Any]]:
        """Letters, newest first, optionally of some statuses, one complaint or one template."""
        query = _letter_query
        if statuses:
            query = query.where(note_t.c.status.in_(list(statuses)))
        if reference:
            query = query.where(complaint_t.c.reference == reference)
        if template:
            query = query.where(note_t.c.template == template)
        return [dict(r._mapping) for r in self.conn.execute(query.order_by(note_t.c.id.desc()).limit(limit))]

    def due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """The earliest letters due by ``now`` with their complaint's reference and the customer's
        current name, email and phone (an erased customer has none); locked on PostgreSQL,
        skipping letters another sender holds."""
        query = (select(note_t.c.id, note_t.c.complaint_id, note_t.c.template, note_t.c.language, note_t.c.channel,
                        note_t.c.subject, note_t.c.body, note_t.c.status, note_t.c.attempts, note_t.c.message_id,
                        complaint_t.c.reference, customer_t.c.name.label("customer_name"),
                        customer_t.c.email, customer_t.c.phone)
                 .select_from(note_t.join(complaint_t, complaint_t.c.id == note_t.c.complaint_id)
                              .outerjoin(customer_t, customer_t.c.id == complaint_t.c.customer_id))
                 .where(and_(IS_DUE, note_t.c.next_attempt_at <= now))
                 .order_by(note_t.c.next_attempt_at, note_t.c.id).limit(limit))
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=note_t)
        return [dict(r._mapping) for r in self.conn.execute(query)]

    def complaints_by_message_ids(self, message_ids: Sequence[str]) -> dict[str, tuple[int, str]]:
        """Message-ID -> (complaint id, reference) of the letters sent with these ids."""
        found: dict[str, tuple[int, str]] = {}
        for chunk in chunks(sorted(set(message_ids))):
            found.update((mid, (cid, ref)) for mid, cid, ref in self.conn.execute(
                select(note_t.c.message_id, complaint_t.c.id, complaint_t.c.reference)
                .join(complaint_t, complaint_t.c.id == note_t.c.complaint_id)
                .where(note_t.c.message_id.in_(chunk))))
        return found

    # -- a sender's writes ----------------------------------------------------------------------
    def claim(self, claims: Sequence[tuple[int, str]], until: datetime) -> None:
        """Mark letters ``sending`` until ``until``, one attempt more, each keeping the Message-ID
        it has or taking the one given: (letter id, Message-ID) of each."""
        _claim_letters.run(self.conn, [{"next_attempt_at": until, "b_id": nid, "b_mid": mid} for nid, mid in claims])

    def extend_claims(self, letter_ids: Sequence[int], until: datetime) -> None:
        """Keep claimed letters this sender has not sent yet claimed until ``until``."""
        if letter_ids:
            self.conn.execute(_extend_claims, {"ids": list(letter_ids), "until": until})

    def sent(self, letter_id: int, recipient: str, now: datetime) -> None:
        _mark_letter.run(self.conn, [{"status": NOTE_SENT, "sent_at": now, "recipient": recipient[:320], "last_error": None,
                                      "next_attempt_at": None, "b_id": letter_id, "b_status": NOTE_SENDING}])

    def retry(self, letter_id: int, error: str, at: datetime) -> None:
        """Back to ``queued``, due again at ``at``."""
        _mark_letter.run(self.conn, [{"status": NOTE_QUEUED, "sent_at": None, "recipient": None, "last_error": error[:500],
                                      "next_attempt_at": at, "b_id": letter_id, "b_status": NOTE_SENDING}])

    def failed(self, letter_id: int, error: str) -> None:
        _mark_letter.run(self.conn, [{"status": NOTE_FAILED, "sent_at": None, "recipient": None, "last_error": error[:500],
                                      "next_attempt_at": None, "b_id": letter_id, "b_status": NOTE_SENDING}])

    # -- a person's writes ------------------------------------------------------------------------
    def change(self, letter_id: int, statuses: Sequence[str], **values: Any) -> bool:
        """Set ``values`` on the letter if its status is still one of ``statuses``."""
        return bool(self.conn.execute(update(note_t).where(and_(note_t.c.id == letter_id,
                                                                note_t.c.status.in_(list(statuses))))
                                      .values(**values)).rowcount)

    def add_copy(self, letter: Mapping[str, Any], event_seq: int, now: datetime) -> int:
        """A new queued letter with the text of ``letter`` (sent again: a message of its own)."""
        return int(self.conn.execute(note_t.insert().values(
            complaint_id=letter["complaint_id"], event_seq=event_seq, template=letter["template"],
            language=letter["language"], channel=letter["channel"], subject=letter["subject"], body=letter["body"],
            status=NOTE_QUEUED, attempts=0, next_attempt_at=now, created_at=now).returning(note_t.c.id)).scalar_one())


def cancel_named_timers(kinds: Sequence[str]) -> Bulk:
    """A statement cancelling a complaint's pending timers of ``kinds`` named ``clock`` or
    ``clock.<anything>``, for packages whose timers belong to a named thing (an SLA clock).

    Its rows: ``cid``, ``clock``, ``after`` (``clock.``), ``before`` (``clock/``) and ``at``. A
    range on the name, not LIKE: SQLite can't take a bound LIKE pattern from an index, and
    '_' in a name would be a wildcard. No IN for the kinds: executemany can't expand it.
    """
    return Bulk(
        update(timer_t)
        .where(and_(timer_t.c.complaint_id == bindparam("cid"), IS_PENDING,
                    or_(*[timer_t.c.kind == kind for kind in kinds]),
                    or_(timer_t.c.name == bindparam("clock"),
                        and_(timer_t.c.name > bindparam("after"), timer_t.c.name < bindparam("before")))))
        .values(status=TIMER_CANCELLED, cancelled_at=bindparam("at"))
    )


def store_snapshot(conn: Connection, row: Mapping[str, Any]) -> None:
    """Insert the metrics snapshot of ``row['period']``, or replace that period's snapshot."""
    insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(snapshot_t).values(**row)
    conn.execute(insert.on_conflict_do_update(
        index_elements=[snapshot_t.c.period],
        set_={"taken_at": row["taken_at"], "open_total": row["open_total"], "data": row["data"]},
    ))
