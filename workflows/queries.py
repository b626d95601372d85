"""Read-side use cases: a case with its history, and the work queue by nearest deadline."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import String, and_, bindparam, cast, func, literal, null, select, true, union_all

from complaints.errors import InvalidInput
from complaints.privacy import withheld_view
from complaints.repository import (
    IS_PENDING,
    CaseRepository,
    case_from_mapping,
    complaint_t,
    letters_needing_attention,
    timer_t,
    unattended_failed_timers,
    unread_customer_messages,
)
from complaints.steps import Actor
from complaints.types import UTCDateTime
from workflows.engine import WorkflowEngine

LIST_COLUMNS = ("reference", "state", "tier", "queue", "assignee", "severity", "product", "channel", "version", "received_at",
                "workflow_name", "workflow_version")


def case_view(engine: WorkflowEngine, reference: str, actor: Actor) -> dict[str, Any]:
    """Everything a handler needs to act on one case, as plain data (JSON-ready after dumping).

    A role the workflow does not show personal data (``personal_data_roles``) gets the
    customer's pseudonym only, and the letters to them without their name. Read on a read-only
    connection: on SQLite, viewing a case never waits for (or holds up) a writer."""
    with engine.db.read() as conn:
        cases = CaseRepository(conn)
        m, c = cases.row(reference)
        case = case_from_mapping(m, c["name"] if c else None)
        events = cases.events(case.id)  # type: ignore[arg-type]
        timers = cases.timers(case.id)  # type: ignore[arg-type]
        notes = cases.notifications(case.id)  # type: ignore[arg-type]
    customer = {k: c[k] for k in ("pseudonym", "name", "email", "phone")} if c else None
    options = engine.available_actions(case, actor)
    view = {
        "reference": case.reference,
        "state": case.state,
        "tier": case.tier,
        "queue": case.queue,
        "version": case.version,
        "complaint": {k: m[k] for k in (
            "external_id", "channel", "product", "sub_product", "company", "category", "sub_category",
            "severity", "language", "region", "assignee", "workflow_name", "workflow_version",
            "received_at", "created_at", "updated_at", "description")},
        "customer": customer,
        "data": case.data,
        "actions": [o.as_dict() for o in options],
        "events": [
            {k: e[k] for k in ("seq", "at", "actor", "role", "origin", "action", "from_state", "to_state", "tier",
                                  "payload")}
            for e in events
        ],
        "timers": [
            {k: t[k] for k in ("kind", "name", "action", "state", "due_at", "status", "fired_at", "cancelled_at", "result")}
            for t in timers
        ],
        "notifications": [
            {k: n[k] for k in ("id", "event_seq", "template", "language", "channel", "status", "subject", "body",
                               "attempts", "next_attempt_at", "last_error", "created_at", "sent_at")}
            for n in notes
        ],
    }
    return view if engine.workflow_of(case).shows_personal_data_to(actor.role) else withheld_view(view, actor.role)


def check_filters(engine: WorkflowEngine, **wanted: str | None) -> None:
    """Raise ``InvalidInput`` naming each filter whose value no registered workflow knows."""
    workflows = list(engine.registry)
    known = {
        "state": {s for w in workflows for s in w.spec.states},
        "tier": {t.name for w in workflows for t in w.tiers},
        "queue": {t.queue for w in workflows for t in w.tiers},
    }
    problems = [f"{name}: '{value}' is in no workflow (known: {', '.join(sorted(known[name]))})"
                for name, value in wanted.items() if value is not None and value not in known[name]]
    if problems:
        raise InvalidInput("Unknown value to filter by", problems)


def list_cases(
    engine: WorkflowEngine,
    state: str | None = None,
    tier: str | None = None,
    queue: str | None = None,
    assignee: str | None = None,
    limit: int = 50,
    product: str | None = None,
    references: Collection[str] | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Open work: first the cases that need a person (``attention`` says which and why; overdue
    since then): a timer's action was refused, a letter failed or waits for review, the
    customer wrote; then by the nearest pending deadline (cases without one come last). A
    state, tier or queue no workflow has is refused (a mistyped filter would otherwise show
    an empty, reassuring list). ``references`` narrows the list to those cases (a search's hits);
    each row names its workflow, whose calendar says how far its deadline is."""
    check_filters(engine, state=state, tier=tier, queue=queue)
    failed = unattended_failed_timers().subquery()
    letters = letters_needing_attention().subquery()
    messages = unread_customer_messages().subquery()
    deadlines = union_all(
        select(timer_t.c.complaint_id, timer_t.c.due_at.label("due"), cast(null(), String).label("attention"))
        .where(IS_PENDING),
        select(failed.c.complaint_id, failed.c.fired_at,
               literal("timer '") + failed.c.name + literal("' ") + failed.c.result),
        select(letters.c.complaint_id, letters.c.since, letters.c.why),
        select(messages.c.complaint_id, messages.c.since, messages.c.why),
    ).subquery()
    nearest = (
        select(deadlines.c.complaint_id, func.min(deadlines.c.due).label("next_due"),
               func.max(deadlines.c.attention).label("attention"))
        .group_by(deadlines.c.complaint_id)
        .subquery()
    )
    query = select(*[complaint_t.c[c] for c in LIST_COLUMNS], nearest.c.next_due, nearest.c.attention).select_from(
        complaint_t.outerjoin(nearest, nearest.c.complaint_id == complaint_t.c.id)
    )
    filters = Filters.of(state, tier, queue, assignee, product, references)
    if filters.shape:
        query = query.where(and_(*_conditions(filters.shape)))
    query = query.order_by(nearest.c.attention.is_(None), nearest.c.next_due.is_(None), nearest.c.next_due,
                           complaint_t.c.id).limit(limit).offset(offset)
    with engine.db.read() as conn:
        rows = conn.execute(query, filters.params).all()
    fix = UTCDateTime().process_result_value
    return [dict(r._mapping) | {"next_due": fix(r.next_due, None)} for r in rows]


def work_queue(
    engine: WorkflowEngine,
    state: str | None = None,
    tier: str | None = None,
    queue: str | None = None,
    assignee: str | None = None,
    limit: int = 50,
    product: str | None = None,
    references: Collection[str] | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """The rows ``list_cases`` gives, in its order, read without aggregating every timer: the
    few cases that need a person first, then pending timers in due order (the partial index on
    their due times and complaints) until enough cases are found, then the cases with no
    deadline. Its cost grows with the page, not with the number of open complaints (the
    console's queue)."""
    check_filters(engine, state=state, tier=tier, queue=queue)
    wanted = limit + offset
    filters = Filters.of(state, tier, queue, assignee, product, references)
    statements = _queue_statements(filters.shape)
    chosen: dict[int, tuple[Any, str | None]] = {}  # id -> (next due, attention), in queue order
    with engine.db.read() as conn:
        attention = _attention(conn, statements, filters.params)
        for cid, (due, why) in sorted(attention.items(), key=lambda kv: (kv[1][0] is None, kv[1][0], kv[0])):
            chosen[cid] = (due, why)
        if len(chosen) < wanted:
            # fetched a page at a time: the first rows are all a first page needs
            stream = conn.execute(statements.stream.execution_options(yield_per=wanted + len(attention)),
                                  filters.params)
            for cid, due in stream:
                if cid not in chosen:
                    chosen[cid] = (due, None)
                    if len(chosen) >= wanted:
                        break
            stream.close()
        if len(chosen) < wanted:
            rest = conn.execute(statements.rest, filters.params | {"rest": wanted - len(chosen) + len(attention)})
            for (cid,) in rest:
                chosen.setdefault(cid, (None, None))
        page = list(chosen.items())[offset:wanted]
        rows = {r[0]: r for r in conn.execute(statements.rows, {"ids": [cid for cid, _ in page]})} if page else {}
    fix = UTCDateTime().process_result_value
    return [dict(zip(LIST_COLUMNS, rows[cid][1:], strict=True)) | {"next_due": fix(due, None), "attention": why}
            for cid, (due, why) in page]


@dataclass(frozen=True)
class Filters:
    """The filters given, as the shape of a statement (which are set) and its parameters: the
    queue's statements are built once per shape, as building one costs more than running it."""

    shape: tuple[str, ...]
    params: dict[str, Any]

    @classmethod
    def of(cls, state: str | None, tier: str | None, queue: str | None, assignee: str | None, product: str | None,
           references: Collection[str] | None) -> Filters:
        given = {"state": state, "tier": tier, "queue": queue, "assignee": assignee, "product": product}
        params: dict[str, Any] = {f"f_{name}": value for name, value in given.items() if value}
        if references is not None:
            params["f_reference"] = list(references)
        return cls(tuple(name[2:] for name in params), params)


@cache
def _conditions(shape: tuple[str, ...]) -> tuple[Any, ...]:
    """The filters of ``shape`` as conditions on the complaint, each value a bound parameter."""
    return tuple(complaint_t.c.reference.in_(bindparam("f_reference", expanding=True)) if name == "reference"
                 else complaint_t.c[name] == bindparam(f"f_{name}") for name in shape)


@dataclass(frozen=True)
class _QueueStatements:
    attention: Any  # the cases needing a person, with the time since and the reason
    pending: Any  # their nearest pending timers
    stream: Any  # pending timers in (due, complaint) order
    rest: Any  # cases with no pending timer, by id
    rows: Any  # the page's complaints by id


@cache
def _queue_statements(shape: tuple[str, ...]) -> _QueueStatements:
    conditions = _conditions(shape)
    reasons = _reasons()
    has_timer = select(timer_t.c.id).where(and_(timer_t.c.complaint_id == complaint_t.c.id, IS_PENDING))
    return _QueueStatements(
        attention=(select(reasons.c.complaint_id, func.min(reasons.c.since), func.max(reasons.c.why))
                   .select_from(reasons.join(complaint_t, complaint_t.c.id == reasons.c.complaint_id))
                   .where(and_(true(), *conditions)).group_by(reasons.c.complaint_id)),
        pending=(select(timer_t.c.complaint_id, func.min(timer_t.c.due_at))
                 .where(and_(IS_PENDING, timer_t.c.complaint_id.in_(bindparam("ids", expanding=True))))
                 .group_by(timer_t.c.complaint_id)),
        stream=(select(timer_t.c.complaint_id, timer_t.c.due_at)
                .select_from(timer_t.join(complaint_t, complaint_t.c.id == timer_t.c.complaint_id))
                .where(and_(IS_PENDING, *conditions)).order_by(timer_t.c.due_at, timer_t.c.complaint_id)),
        rest=(select(complaint_t.c.id).where(and_(~has_timer.exists(), *conditions))
              .order_by(complaint_t.c.id).limit(bindparam("rest"))),
        rows=(select(complaint_t.c.id, *[complaint_t.c[c] for c in LIST_COLUMNS])
              .where(complaint_t.c.id.in_(bindparam("ids", expanding=True)))),
    )


@cache
def _reasons() -> Any:
    """(complaint_id, since, why) of every reason a case needs a person; built once, since a
    statement is a value and building this one costs more than running it."""
    failed = unattended_failed_timers().subquery()
    letters = letters_needing_attention().subquery()
    messages = unread_customer_messages().subquery()
    return union_all(
        select(failed.c.complaint_id, failed.c.fired_at.label("since"),
               (literal("timer '") + failed.c.name + literal("' ") + failed.c.result).label("why")),
        select(letters.c.complaint_id, letters.c.since, letters.c.why),
        select(messages.c.complaint_id, messages.c.since, messages.c.why),
    ).subquery("reasons")


def _attention(conn: Any, statements: _QueueStatements, params: dict[str, Any]) -> dict[int, tuple[Any, str | None]]:
    """The cases that need a person (under the filters), each with its nearest deadline or
    attention time and the (greatest) reason, as ``list_cases`` computes them."""
    found = {cid: (since, why) for cid, since, why in conn.execute(statements.attention, params)}
    if found:
        for cid, due in conn.execute(statements.pending, {"ids": list(found)}):
            since, why = found[cid]
            found[cid] = (min(due, since) if since is not None else due, why)
    return found


def count_by_state(
    engine: WorkflowEngine,
    tier: str | None = None,
    queue: str | None = None,
    assignee: str | None = None,
    product: str | None = None,
    references: Collection[str] | None = None,
) -> dict[str, int]:
    """Complaints per state, under the same filters as ``list_cases`` (the state aside: the
    counts are what a person picks a state by)."""
    filters = Filters.of(None, tier, queue, assignee, product, references)
    with engine.db.read() as conn:
        return {state: n for state, n in conn.execute(_counts_statement(filters.shape), filters.params)}


@cache
def _counts_statement(shape: tuple[str, ...]) -> Any:
    return select(complaint_t.c.state, func.count()).where(and_(true(), *_conditions(shape))).group_by(complaint_t.c.state)


