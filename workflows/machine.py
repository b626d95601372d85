"""The pure core of the engine: given a case and an action, plan the step. No I/O.

A :class:`Step` is everything one transition writes: the new state, tier and queue, the
data it changes, the audit event's payload, the timers to schedule and the notifications to
queue. The engine persists a step in one transaction; :func:`replay` folds the recorded
steps back into the case, which is how the log rebuilds any complaint.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from pydantic import ValidationError

from complaints.errors import ActionNotAllowed, GuardFailed, InvalidInput
from complaints.problems import did_you_mean, value_hint
from complaints.steps import Actor, Case, NotificationPlan, Step, TimerPlan
from workflows.compiled import CompiledWorkflow
from workflows.definition import NEXT_TIER
from workflows.guards import CLOCK, as_instant, failures
from workflows.letter_spec import DEFAULT_SUBJECT
from workflows.letters import DAY_FIELDS, REFERRAL_FIELDS, LetterStyle, Referral, parse_instant

#: Adds a duration to a time; escalation swaps in business calendars.
DeadlineFn = Callable[[datetime, timedelta], datetime]


def plain_deadline(start: datetime, duration: timedelta) -> datetime:
    return start + duration


@dataclass(frozen=True)
class ActionOption:
    """An action offered to an actor, with what blocks it (if anything) and what it needs."""

    action: str
    label: str
    to_state: str
    fields: dict[str, str]
    blocked_by: list[str]

    @property
    def allowed(self) -> bool:
        return not self.blocked_by

    def as_dict(self) -> dict[str, Any]:
        """As plain data with ``allowed``: by hand, because ``dataclasses.asdict`` deep-copies
        every value and was a third of a case view's time."""
        return {"action": self.action, "label": self.label, "to_state": self.to_state, "fields": dict(self.fields),
                "blocked_by": list(self.blocked_by), "allowed": not self.blocked_by}


# -- planning ----------------------------------------------------------------------------------


def allowed_for(workflow: CompiledWorkflow, case: Case, actor: Actor) -> list[str]:
    """Actions possible from the case's state for the actor's role (guards not yet checked)."""
    return [a for a in workflow.actions_from(case.state) if actor.role in workflow.transition(a).roles]


def available_actions(workflow: CompiledWorkflow, case: Case, actor: Actor, now: datetime) -> list[ActionOption]:
    options = []
    for action in allowed_for(workflow, case, actor):
        tr = workflow.transition(action)
        blocked = failures(
            [g for g in tr.guards if not _reads_payload(g.model_dump(by_alias=True))], _context(case, {}, now)
        )
        if tr.tier == NEXT_TIER and workflow.next_tier(case.tier) is None:
            blocked.append(f"already at the highest tier '{case.tier}'")
        fields = {
            name: f"{spec.type}{'' if spec.required else ' (optional)'}" for name, spec in tr.fields.items()
        }
        options.append(
            ActionOption(action, tr.label or action, workflow.target(action, case.state), fields, blocked)
        )
    return options


def _reads_payload(dumped: Any) -> bool:
    if isinstance(dumped, dict):
        field_ = dumped.get("field")
        return (isinstance(field_, str) and field_.startswith("payload.")) or any(
            _reads_payload(v) for v in dumped.values()
        )
    if isinstance(dumped, list):
        return any(_reads_payload(v) for v in dumped)
    return False


def validate_payload(workflow: CompiledWorkflow, action: str, payload: Mapping[str, Any], reference: str) -> dict[str, Any]:
    """The payload coerced to the declared types, JSON-ready; one problem line per field."""
    if not payload and not workflow.transition(action).fields:
        return {}  # nothing given, nothing taken: what the model would say, without building it
    model = workflow.payload_model(action)
    try:
        parsed = model.model_validate(dict(payload))
    except ValidationError as exc:
        problems = []
        declared = list(workflow.transition(action).fields)
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "payload"
            if err["type"] == "extra_forbidden":
                takes = ", ".join(declared) if declared else "no fields"
                guess = did_you_mean(model, err["loc"])
                problems.append(f"{name}: unknown field; " + (f"{guess} " if guess else "") + f"'{action}' takes {takes}")
            else:
                problems.append(f"{name}: {value_hint(err) or err['msg']}")
        raise InvalidInput(f"Invalid input for '{action}' on {reference}", problems) from exc
    return {k: v for k, v in parsed.model_dump(mode="json").items() if v is not None}


def plan(
    workflow: CompiledWorkflow,
    case: Case,
    action: str,
    actor: Actor,
    payload: Mapping[str, Any],
    now: datetime,
    deadline: DeadlineFn = plain_deadline,
) -> Step:
    """Check and plan ``action`` on ``case``; raises without side effects if it can't happen."""
    possible = workflow.actions_from(case.state)
    if action not in possible:
        unknown = action not in workflow.spec.transitions
        why = f"no action '{action}' in workflow '{workflow.name}'" if unknown else ""
        raise ActionNotAllowed(case.reference, action, case.state, allowed_for(workflow, case, actor), why)
    tr = workflow.transition(action)
    if actor.role not in tr.roles:
        raise ActionNotAllowed(
            case.reference, action, case.state, allowed_for(workflow, case, actor),
            f"role '{actor.role}' may not; it needs one of {', '.join(tr.roles)}", by_role=True,
        )
    clean = validate_payload(workflow, action, payload, case.reference)
    if tr.tier == NEXT_TIER and workflow.next_tier(case.tier) is None:
        raise GuardFailed(case.reference, action, case.state, [f"already at the highest tier '{case.tier}'"])
    failed = failures(tr.guards, _context(case, clean, now))
    if failed:
        raise GuardFailed(case.reference, action, case.state, failed)

    to_state = workflow.target(action, case.state)
    changes = _changes(tr.record, tr.set_, clean, actor, action, now)
    tier = workflow.tier_after(action, case.tier)
    # The case as guards and templates see it after the step; every other field is kept
    # (its __dict__: dataclasses.replace's generic copy costs twice as much).
    after = Case(**{**case.__dict__, "data": {**case.data, **changes},
                    "fields": {**case.fields, "state": to_state, "tier": tier}})
    entry_failed = failures(workflow.spec.states[to_state].entry_guards, _context(after, clean, now)) if to_state != case.state else []
    if entry_failed:
        raise GuardFailed(case.reference, action, case.state, [f"'{to_state}' requires: " + f for f in entry_failed])

    timers = entry_timers(workflow, to_state, after, now, deadline) if to_state != case.state else []
    step = Step(
        action=action, actor=actor, from_state=case.state, to_state=to_state, tier=tier,
        queue=workflow.queue_of(tier), seq=case.version + 1, at=now, payload=clean,
        changes=changes, timers=timers, notifications=[],
    )
    step.notifications.extend(render(workflow, t, after, step, deadline) for t in tr.notify)  # they quote the step
    return step


def start(
    workflow: CompiledWorkflow,
    reference: str,
    fields: Mapping[str, Any],
    actor: Actor,
    now: datetime,
    tier: str | None = None,
    intake: Mapping[str, Any] | None = None,
) -> tuple[Case, Step]:
    """The first step of every case: it is received into the initial state at a tier."""
    tier = tier or workflow.first_tier
    state = workflow.initial_state
    step = Step(
        action="receive", actor=actor, from_state=None, to_state=state, tier=tier,
        queue=workflow.queue_of(tier), seq=1, at=now, payload=dict(intake or {}), changes={},
        timers=[], notifications=[],
    )
    case = Case(
        reference=reference, state=state, tier=tier, queue=step.queue, version=1,
        fields={**fields, "reference": reference, "state": state, "tier": tier, "queue": step.queue},
    )
    return case, step


def _changes(record: str | None, set_: Mapping[str, Any], payload: dict[str, Any], actor: Actor, action: str, now: datetime) -> dict[str, Any]:
    changes = dict(set_)
    if record:
        changes[record] = {**payload, "outcome": action, "by": actor.name, "role": actor.role, "at": iso(now)}
    else:
        changes.update(payload)
    return changes


@lru_cache(maxsize=1024)
def _iso(value: date, tz: object, fold: int) -> str:
    return value.isoformat()


def iso(value: date) -> str:
    """``value.isoformat()`` (a date or a datetime), memoised: a batch of steps writes the same
    few instants and dates for every complaint, and formatting them is not free. Keyed on
    the time zone and fold too: equal instants in two zones, and the two readings of an hour
    the clocks repeat, are equal keys but read differently."""
    return _iso(value, getattr(value, "tzinfo", None), getattr(value, "fold", 0))


def _context(case: Case, payload: Mapping[str, Any], now: datetime) -> dict[str, Mapping[str, Any]]:
    return {"complaint": case.fields, "data": case.data, "payload": payload, CLOCK: {"now": now}}


def entry_timers(workflow: CompiledWorkflow, state: str, case: Case, now: datetime,
                 deadline: DeadlineFn) -> list[TimerPlan]:
    """The timers a case entering ``state`` at ``now`` sets."""
    plans = []
    for spec in workflow.spec.states[state].timers:
        due: datetime | None
        if spec.after is not None:
            due = deadline(now, spec.after)
        else:
            due = as_instant(case.data.get(spec.at.split(".", 1)[1]))  # type: ignore[union-attr]
            if due is None:
                continue  # the field is optional and absent: other timers of the state still apply
        plans.append(TimerPlan(spec.label, spec.action, state, due))
    return plans


# -- notifications ---------------------------------------------------------------------------


def render(workflow: CompiledWorkflow, template: str, case: Case, step: Step, deadline: DeadlineFn = plain_deadline) -> NotificationPlan:
    """The template's text (and subject) in the case's language, its placeholders filled as
    ``string.Template.safe_substitute`` fills them (one it cannot fill stays as written),
    except that a value ending a sentence of its own takes no second full stop, and a field
    the action declares but was not given reads as nothing. A workflow with a ``letters``
    section writes dates in the customer's language and time zone; its ``review`` templates'
    letters are held for a handler."""
    spec = workflow.spec
    texts = spec.templates[template]
    language = case.language if case.language in texts else spec.default_language
    style = workflow.letter_style(language)
    body = _fill(texts[language], workflow, case, step, deadline, style)
    if style is not None:  # an optional field left out leaves no blank paragraph at the end
        body = body.rstrip()
    return NotificationPlan(template, language, str(case.fields.get("channel") or "email"), body,
                            _subject(workflow, language, case, step, deadline), held=template in workflow.held_templates)


#: The template name a comment for the customer is sent under (its text is the comment's own).
COMMENT_LETTER = "comment"


def comment_letter(workflow: CompiledWorkflow, case: Case, step: Step, deadline: DeadlineFn = plain_deadline,
                   ) -> NotificationPlan:
    """The letter that carries a comment written for the customer: the words a person wrote
    for them, under the workflow's subject line in the customer's language (so a reply finds
    the case), sent as written; a workflow needs no template of its own for it."""
    languages = _languages(workflow)
    language = case.language if case.language in languages else workflow.spec.default_language
    return NotificationPlan(COMMENT_LETTER, language, str(case.fields.get("channel") or "email"),
                            str(step.payload["text"]), _subject(workflow, language, case, step, deadline))


def _languages(workflow: CompiledWorkflow) -> set[str]:
    """The languages the workflow writes letters in."""
    spec = workflow.spec
    if spec.letters is not None:
        return set(spec.letters.languages)
    return {lang for texts in spec.templates.values() for lang in texts} | {spec.default_language}


def _subject(workflow: CompiledWorkflow, language: str, case: Case, step: Step, deadline: DeadlineFn) -> str:
    spec = workflow.spec
    subjects = spec.letters.subject if spec.letters else {}
    return _fill(subjects.get(language) or subjects.get(spec.default_language) or DEFAULT_SUBJECT,
                 workflow, case, step, deadline, workflow.letter_style(language))


def _fill(text: str, workflow: CompiledWorkflow, case: Case, step: Step, deadline: DeadlineFn,
          style: LetterStyle | None) -> str:
    form, fields = _template(text)
    # Only the placeholders the text uses are computed: an intake batch renders one
    # acknowledgement per complaint, and formatting every field of the case was most of it.
    values = {name: _placeholder(name, workflow, case, step, deadline, style) for name, _, _ in fields}
    return form.format(*[
        as_written + period if (v := values[name]) is _ABSENT else "" if v is _NOT_GIVEN
        else _end_sentence(str(v)) if period else v
        for name, as_written, period in fields
    ])


_ABSENT = object()
_NOT_GIVEN = object()  # a field the action declares, left out: nothing, and no full stop after it
_SENTENCE_ENDS = (".", "!", "?", "…")


def _end_sentence(value: str) -> str:
    """``value`` and the template's full stop after it, unless the value ends a sentence of
    its own: a handler's "Refund of the second charge." is not followed by a second one."""
    return value if value.rstrip().endswith(_SENTENCE_ENDS) else value + "."


@lru_cache(maxsize=256)
def _template(text: str) -> tuple[str, tuple[tuple[str, str, str], ...]]:
    """``text`` as a ``str.format`` form with a positional field for each placeholder
    (``$name`` or ``${name}``, found as ``string.Template`` finds them; ``$$`` is a '$'),
    and each placeholder's name, text as written, and the full stop right after it if any
    (``_end_sentence``). Filling it is ``safe_substitute`` at C speed: its callback for
    every placeholder was half of rendering an acknowledgement."""
    def literal(part: str) -> str:
        return part.replace("{", "{{").replace("}", "}}")

    form: list[str] = []
    fields: list[tuple[str, str, str]] = []
    end = 0
    for match in string.Template.pattern.finditer(text):
        form.append(literal(text[end:match.start()]))
        end = match.end()
        name = match.group("named") or match.group("braced")
        if name is not None:
            form.append(f"{{{len(fields)}}}")
            period = "." if text.startswith(".", end) else ""
            fields.append((name, match.group(), period))
            end += len(period)
        else:  # "$$" is a dollar sign; any other "$" stays as it is
            form.append("$" if match.group("escaped") is not None else literal(match.group()))
    form.append(literal(text[end:]))
    return "".join(form), tuple(fields)


def _placeholder(name: str, workflow: CompiledWorkflow, case: Case, step: Step, deadline: DeadlineFn,
                 style: LetterStyle | None) -> Any:
    """A placeholder's text: the built-ins first, then the step's payload, the case's data
    (except nested records) and its columns; ``_ABSENT`` leaves the placeholder as written."""
    if name == "customer_name":
        return case.customer_name or (style.unnamed if style is not None else "customer")
    if name == "received_date":
        received = case.fields.get("received_at")
        if style is not None and isinstance(received, datetime):
            return style.day(received)
        return _text(received.date() if isinstance(received, datetime) else received or step.at.date(), style)
    if name == "today":
        return style.day(step.at) if style is not None else iso(step.at.date())
    if name in ("actor", "action", "queue"):
        return {"actor": step.actor.name, "action": step.action, "queue": step.queue}[name]
    if name == "tier_label":
        return workflow.tier(step.tier).label or step.tier
    if name.startswith("timeline_") and name[9:] in workflow.spec.timeline:
        due = deadline(step.at, workflow.spec.timeline[name[9:]])
        return style.day(due) if style is not None else iso(due.date())
    if name in step.payload:
        value = step.payload[name]
        if name in DAY_FIELDS and isinstance(value, datetime):  # a regulatory letter's deadline: a day
            return style.day(value) if style is not None else iso(value.date())
        return _text(_instant(workflow, name, value, style), style)
    if (tr := workflow.spec.transitions.get(step.action)) is not None and name in tr.fields:
        return _NOT_GIVEN
    if name in case.data and not isinstance(case.data[name], dict):
        return _text(_instant(workflow, name, case.data[name], style), style)
    if name in case.fields:
        return _text(case.fields[name], style)
    if name in REFERRAL_FIELDS and (referral := workflow.referral) is not None:
        return _referral(name, referral, step.at, style)
    return _ABSENT


def _instant(workflow: CompiledWorkflow, name: str, value: Any, style: LetterStyle | None) -> Any:
    """A date field's value (ISO text in the payload) as a date, to write in the customer's
    language; without a letter style the text is written as it is stored."""
    kind = workflow.instant_fields.get(name) if style is not None else None
    return parse_instant(value, kind) if kind else value


def _referral(name: str, referral: Referral, at: datetime, style: LetterStyle | None) -> Any:
    if name == "referral_body":
        return referral.body
    if name == "refer_within_months":
        return referral.months if referral.months else _ABSENT
    until = referral.refer_by(at)
    if until is None:
        return _ABSENT
    return style.day(until) if style is not None else iso(until.date())


def _text(value: Any, style: LetterStyle | None = None) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, date):  # a datetime too
        written = style.text(value) if style is not None else None
        return written if written is not None else iso(value)
    return "" if value is None else str(value)


# -- replay ----------------------------------------------------------------------------------


#: The action of the event that moves an open case to another version of its workflow
#: (``workflows.migration``); its payload names the versions, so the log rebuilds that too.
MIGRATED = "migrated"


@dataclass(frozen=True)
class Folded:
    """The part of a complaint its event log determines; ``workflow_version`` only once a
    ``migrated`` event moved it (before that, the version it started in, kept on its row)."""

    state: str
    tier: str
    queue: str
    version: int
    data: dict[str, Any]
    workflow_version: int | None = None


def replay(events: Iterable[Mapping[str, Any]]) -> Folded | None:
    """Fold events (dicts with seq, to_state, tier, queue, changes, and payload for
    ``migrated`` events) in order into the case state."""
    folded: Folded | None = None
    for expected, ev in enumerate(events, start=1):
        if ev["seq"] != expected:
            raise ValueError(f"event log has a gap: expected seq {expected}, found {ev['seq']}")
        data = {**(folded.data if folded else {}), **(ev.get("changes") or {})}
        version = folded.workflow_version if folded else None
        if ev.get("action") == MIGRATED:
            version = int(ev["payload"]["to_version"])
        folded = Folded(ev["to_state"], ev["tier"], ev["queue"], ev["seq"], data, version)
    return folded
