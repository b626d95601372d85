"""What the handlers' pages show, as plain data: the work queue with its counts and deadlines
in words, one case with its timeline, action forms and clocks, a customer's complaints.

The templates only lay this out; every rule (who may see a name, what an action takes) is
the engine's or the workflow's, read here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import func, select

from complaintflow.bootstrap import App
from complaints import outbox
from complaints.errors import GuardFailed, InvalidInput
from complaints.notes import COMMENT, NOTE
from complaints.privacy import withheld_text
from complaints.repository import CUSTOMER_MESSAGE, complaint_t, customer_t
from complaints.search import SearchQuery, search_complaints
from complaints.steps import Actor
from escalation.due_words import calendar_of, relative, with_due_words
from escalation.explain import clocks_view
from workflows.access import personal_data_rule
from workflows.compiled import CompiledWorkflow
from workflows.definition import Condition, FieldSpec
from workflows.queries import case_view, count_by_state, work_queue

PAGE_SIZE = 50
#: The most search matches the queue narrows itself to.
SEARCH_HITS = 100
QUEUE_FILTERS = ("state", "tier", "queue", "assignee", "product")


@dataclass
class QueueFilters:
    """The queue's filters as the page's form sends them; empty values mean "any"."""

    state: str | None = None
    tier: str | None = None
    queue: str | None = None
    assignee: str | None = None
    product: str | None = None
    q: str | None = None
    page: int = 1

    @classmethod
    def of(cls, params: dict[str, str]) -> QueueFilters:
        values = {k: (params.get(k) or "").strip() or None for k in (*QUEUE_FILTERS, "q")}
        return cls(**values, page=page_number(params.get("page")))

    def chosen(self) -> dict[str, str]:
        return {k: v for k in (*QUEUE_FILTERS, "q") if (v := getattr(self, k))}


def page_number(given: str | None) -> int:
    """A page asked for in a link: a number from 1 (anything else is the first page)."""
    try:
        return max(1, min(int(given or 1), 10**6))
    except ValueError:
        return 1


@dataclass
class Choices:
    """What the filter menus offer: every state, tier and queue the workflows know."""

    states: list[str] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)


def choices(app: App) -> Choices:
    workflows = list(app.registry)
    return Choices(
        states=sorted({s for w in workflows for s in w.spec.states}),
        tiers=list(dict.fromkeys(t.name for w in workflows for t in w.tiers)),
        queues=list(dict.fromkeys(t.queue for w in workflows for t in w.tiers)),
    )


def search_hits(app: App, filters: QueueFilters, actor: Actor) -> dict[str, dict[str, Any]]:
    """The best ``SEARCH_HITS`` complaints matching the search words under the same filters,
    by reference, each with its snippet (personal data masked for a role not shown it)."""
    wanted = {k: getattr(filters, k) for k in QUEUE_FILTERS}
    query = SearchQuery.parse({"text": filters.q or "", **{k: v for k, v in wanted.items() if v},
                               "per_page": SEARCH_HITS})
    found = search_complaints(app.db, query, personal_data_rule(app.registry, [actor.role]))
    return {h.reference: {"snippet": h.snippet, "source": h.source, "score": h.score} for h in found.hits}


def queue_view(app: App, filters: QueueFilters, actor: Actor) -> dict[str, Any]:
    """One page of the work queue, nearest deadline first, each deadline in business time;
    with search words, only the best matches (each with the words in context)."""
    engine = app.engine
    now = app.clock.now()
    wanted = {k: getattr(filters, k) for k in QUEUE_FILTERS}
    hits = search_hits(app, filters, actor) if filters.q else None
    references = list(hits) if hits is not None else None
    rows = work_queue(engine, **wanted, references=references, limit=PAGE_SIZE + 1,
                      offset=(filters.page - 1) * PAGE_SIZE)
    counts = count_by_state(engine, **{k: v for k, v in wanted.items() if k != "state"}, references=references)
    shown = [r | {"hit": (hits or {}).get(r["reference"])} for r in with_due_words(rows[:PAGE_SIZE], app.registry, now)]
    return {"rows": shown, "counts": counts, "total": sum(counts.values()),
            "in_state": counts.get(filters.state, 0) if filters.state else sum(counts.values()),
            "overdue": sum(1 for r in shown if r["overdue"]), "more": len(rows) > PAGE_SIZE, "now": now,
            "products_like": products_like(app, filters.product) if filters.product and not rows else []}


#: Products offered when a product filter found nothing.
PRODUCTS_OFFERED = 5


def products_like(app: App, typed: str) -> list[str]:
    """The products whose names hold what was typed, whatever its case: the filter wants a
    name as stored ("Payday loan, title loan, or personal loan"), and a person types "payday".
    Asked only when the filter found nothing."""
    pattern = "%" + typed.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    with app.db.read() as conn:
        found = conn.execute(select(complaint_t.c.product).distinct()
                             .where(func.lower(complaint_t.c.product).like(pattern, escape="\\"))
                             .order_by(complaint_t.c.product).limit(PRODUCTS_OFFERED)).scalars()
        return [p for p in found if p and p != typed]


# -- one case -----------------------------------------------------------------------------------


@dataclass
class FormField:
    """An action's field as an input: its HTML type follows the field's declared type."""

    name: str
    type: str
    required: bool
    description: str
    choices: list[str] | None
    input: str  # text, textarea, number, checkbox, date, datetime-local, select
    step: str | None = None

    @classmethod
    def of(cls, name: str, spec: FieldSpec) -> FormField:
        kind = {"text": "textarea", "int": "number", "float": "number", "bool": "checkbox", "date": "date",
                "datetime": "datetime-local", "choice": "select"}.get(spec.type, "text")
        return cls(name, spec.type, spec.required, spec.description, spec.choices, kind,
                   "1" if spec.type == "int" else "any" if spec.type == "float" else None)


def action_forms(workflow: CompiledWorkflow, options: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The actions offered, each with its typed fields (from the workflow definition)."""
    forms = []
    for option in options:
        spec = workflow.spec.transitions[option["action"]]
        forms.append(option | {"form_fields": [FormField.of(n, f) for n, f in spec.fields.items()]})
    return forms


def payload_of(workflow: CompiledWorkflow, action: str, form: dict[str, str]) -> dict[str, Any]:
    """The form's values as the engine's payload: empty optional fields left out, a list split
    at commas, a time without a zone read as UTC. The engine validates the rest itself."""
    spec = workflow.spec.transitions.get(action)
    if spec is None:
        return {}
    payload: dict[str, Any] = {}
    for name, f in spec.fields.items():
        raw = form.get(f"f_{name}")
        if f.type == "bool":
            payload[name] = raw is not None and raw not in ("", "false", "off")
            continue
        if raw is None or not raw.strip():
            continue
        value: Any = raw.strip() if f.type != "text" else raw
        if f.type == "list":
            value = [part.strip() for part in raw.split(",") if part.strip()]
        elif f.type == "datetime" and "+" not in raw and not raw.endswith("Z"):
            value = raw.strip() + "+00:00"
        payload[name] = value
    return payload


def problems_by_field(exc: InvalidInput, names: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """The engine's problems, those naming a field put beside it, the rest at the top."""
    by_field: dict[str, list[str]] = {}
    general = []
    for line in exc.problems:
        name, sep, message = line.partition(": ")
        if sep and name in names:
            by_field.setdefault(name, []).append(message)
        else:
            general.append(line)
    return by_field, general


def guard_problems(workflow: CompiledWorkflow, exc: GuardFailed) -> tuple[dict[str, list[str]], list[str]]:
    """A failed guard's reasons beside the one form field its condition tests (its message
    names no field, its condition does), the rest at the top."""
    spec = workflow.spec.transitions.get(exc.action)
    fields = set(spec.fields) if spec else set()
    tested = {g.message: _payload_fields(g) & fields for g in (spec.guards if spec else []) if g.message}
    by_field: dict[str, list[str]] = {}
    general = []
    for reason in exc.reasons:
        named = tested.get(reason, set())
        if len(named) == 1:
            by_field.setdefault(named.pop(), []).append(reason)
        else:
            general.append(reason)
    return by_field, general


def _payload_fields(condition: Condition) -> set[str]:
    parts = [*(condition.all or []), *(condition.any or []), *([condition.not_] if condition.not_ else [])]
    path = condition.field or ""
    own = {path.removeprefix("payload.")} if path.startswith("payload.") else set()
    return own.union(*(_payload_fields(p) for p in parts))


def timeline(view: dict[str, Any]) -> list[dict[str, Any]]:
    """Events, customer messages, notes and letters in the order they happened (a note and a
    customer's message are events of their own)."""
    kinds = {CUSTOMER_MESSAGE: "message", NOTE: "note", COMMENT: "note"}
    items: list[dict[str, Any]] = []
    for e in view["events"]:
        items.append({"kind": kinds.get(e["action"], "event"), "at": e["at"], "who": e["actor"], "role": e["role"],
                      "event": e})
    for n in view["notifications"]:
        items.append({"kind": "letter", "at": n["created_at"], "who": "system", "role": "", "letter": n})
    return sorted(items, key=lambda i: (_aware(i["at"]), i["kind"] == "letter"))


def notes_of(view: dict[str, Any]) -> list[dict[str, Any]]:
    """The team's notes and the comments for the customer, newest first."""
    return [{"text": (e["payload"] or {}).get("text", ""), "author": e["actor"], "role": e["role"], "at": e["at"],
             "public": e["action"] == COMMENT}
            for e in reversed(view["events"]) if e["action"] in (NOTE, COMMENT)]


def _aware(at: Any) -> datetime:
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    if isinstance(at, date) and not isinstance(at, datetime):
        at = datetime.combine(at, time())
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def case_page(app: App, reference: str, actor: Actor) -> dict[str, Any]:
    """The case as ``actor`` may see it, with its clocks explained and its action forms."""
    view = case_view(app.engine, reference, actor)
    workflow = app.registry.get(view["complaint"]["workflow_name"], view["complaint"]["workflow_version"])
    clocks = clocks_view(app.engine, reference)
    calendar = calendar_of(workflow, view["queue"])
    now = app.clock.now()
    for clock in clocks["clocks"]:
        due = clock["due_at"]
        # a regulatory deadline counts calendar days, never paused: told in plain time
        counted_on = calendar if clock["kind"] == "sla" else None
        clock["due_words"], clock["overdue"] = relative(due, now, counted_on) if due and clock["status"] == "running" \
            else ("", False)
    return {"view": view, "workflow": workflow, "forms": action_forms(workflow, view["actions"]),
            "clocks": clocks["clocks"], "held": [n for n in view["notifications"] if n["status"] == "held"],
            "sees_personal_data": workflow.shows_personal_data_to(actor.role),
            "not_releasable": {n["id"]: why for n in view["notifications"]
                               if (why := outbox.second_reader_refusal(n, view["events"], actor))}}


# -- a customer ---------------------------------------------------------------------------------


#: A customer's complaints shown a page at a time, newest first.
CUSTOMER_PAGE_SIZE = 50
#: States in which a customer's complaint counts as no longer open.
DONE_STATES = ("closed", "archived")


def customer_page(app: App, pseudonym: str, actor: Actor, page: int = 1) -> dict[str, Any] | None:
    """A page of a customer's complaints, newest first, with the counts of all of them; their
    name and contacts only for roles every workflow of theirs (on any page) shows personal data to."""
    theirs = complaint_t.c.customer_id
    with app.db.read() as conn:
        person = conn.execute(select(customer_t).where(customer_t.c.pseudonym == pseudonym)).first()
        if person is None:
            return None
        versions = conn.execute(
            select(complaint_t.c.workflow_name, complaint_t.c.workflow_version, func.count(),
                   func.count().filter(complaint_t.c.state.not_in(DONE_STATES)))
            .where(theirs == person.id).group_by(complaint_t.c.workflow_name, complaint_t.c.workflow_version)
        ).all()
        rows = conn.execute(
            select(complaint_t.c.reference, complaint_t.c.state, complaint_t.c.tier, complaint_t.c.product,
                   complaint_t.c.severity, complaint_t.c.received_at, complaint_t.c.description)
            .where(theirs == person.id).order_by(complaint_t.c.received_at.desc(), complaint_t.c.id.desc())
            .limit(CUSTOMER_PAGE_SIZE).offset((page - 1) * CUSTOMER_PAGE_SIZE)
        ).all()
    shows = all(app.registry.get(name, version).shows_personal_data_to(actor.role) for name, version, _, _ in versions)
    complaints = [{"reference": r.reference, "state": r.state, "tier": r.tier, "product": r.product,
                   "severity": r.severity, "received_at": r.received_at,
                   "summary": _summary(r.description if shows else withheld_text(r.description or "", person.name))}
                  for r in rows]
    who = {"pseudonym": person.pseudonym, "name": person.name, "email": person.email, "phone": person.phone} \
        if shows else {"pseudonym": person.pseudonym, "withheld": f"personal data is not shown to role '{actor.role}'"}
    total = sum(n for _, _, n, _ in versions)
    return {"customer": who, "complaints": complaints, "total": total, "open": sum(n for *_, n in versions),
            "page": page, "first": (page - 1) * CUSTOMER_PAGE_SIZE + 1 if complaints else 0,
            "more": page * CUSTOMER_PAGE_SIZE < total}


def _summary(text: str | None, most: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= most else text[: most - 1] + "…"
