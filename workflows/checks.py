"""Static checks of a workflow definition, one small function per rule.

Each check yields ``(path, message)``; the loader turns paths into file lines. The state
graph is a networkx DiGraph, so reachability questions are one library call each.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterable, Iterator

import networkx as nx

from complaints.schemas import SEVERITIES
from complaints.steps import COMPLAINT_FIELDS
from workflows.definition import ANY_OPEN_STATE, NEXT_TIER, Condition, WorkflowSpec
from workflows.letters import (
    CUSTOMER_COMPLAINT_FIELDS,
    CUSTOMER_EXTRAS,
    CUSTOMER_LETTER_FIELDS,
    REGULATORY_LETTER_FIELDS,
    referral_fields,
)
from workflows.regulatory_presets import PRESETS, resolved
from workflows.sla_spec import ANY

Problem = tuple[tuple[str | int, ...], str]

#: Values the engine offers every template beside complaint columns and payload fields.
TEMPLATE_EXTRAS = frozenset({"customer_name", "received_date", "today", "actor", "action"})
#: Values a regulatory letter offers its template beside the usual ones.
LETTER_FIELDS = REGULATORY_LETTER_FIELDS


def state_graph(spec: WorkflowSpec) -> nx.MultiDiGraph:
    """States as nodes, one edge per (action, from, to); ``*`` expands to every open state."""
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(spec.states)
    for action, tr in spec.transitions.items():
        for source in sources(spec, tr.from_):
            graph.add_edge(source, tr.to or source, action=action)
    return graph


def sources(spec: WorkflowSpec, names: list[str]) -> list[str]:
    if ANY_OPEN_STATE in names:
        return [s for s, st in spec.states.items() if not st.final]
    return [n for n in names if n in spec.states]


def _one_initial(spec: WorkflowSpec) -> Iterator[Problem]:
    initial = [s for s, st in spec.states.items() if st.initial]
    if len(initial) != 1:
        found = ", ".join(initial) if initial else "none"
        yield ("states",), f"needs exactly one state with 'initial: true'; found {found}"
    if not any(st.final for st in spec.states.values()):
        yield ("states",), "needs at least one state with 'final: true'"


def _names_exist(spec: WorkflowSpec) -> Iterator[Problem]:
    states, roles, tiers = set(spec.states), set(spec.roles), set(spec.tier_names())
    for role in spec.personal_data_roles or ():
        if role not in roles:
            yield ("personal_data_roles",), f"unknown role '{role}'; declare it under 'roles' ({_list(roles)})"
    for action, tr in spec.transitions.items():
        base = ("transitions", action)
        for src in tr.from_:
            if src != ANY_OPEN_STATE and src not in states:
                yield (*base, "from"), f"unknown state '{src}'; states are {_list(states)}"
        if tr.to is not None and tr.to not in states:
            yield (*base, "to"), f"unknown state '{tr.to}'; states are {_list(states)}"
        for role in tr.roles:
            if role not in roles:
                yield (*base, "roles"), f"unknown role '{role}'; declare it under 'roles' ({_list(roles)})"
        for template in tr.notify:
            if template not in spec.templates:
                yield (*base, "notify"), f"unknown template '{template}'; templates are {_list(spec.templates)}"
        if tr.tier is not None and tr.tier != NEXT_TIER and tr.tier not in tiers:
            yield (*base, "tier"), f"unknown tier '{tr.tier}'; use 'next' or one of {_list(tiers)}"


def _timers_name_valid_actions(spec: WorkflowSpec) -> Iterator[Problem]:
    for state, st in spec.states.items():
        for i, timer in enumerate(st.timers):
            path = ("states", state, "timers", i, "action")
            tr = spec.transitions.get(timer.action)
            if tr is None:
                yield path, f"timer fires unknown action '{timer.action}' in state '{state}'"
            elif state not in sources(spec, tr.from_):
                yield path, (
                    f"timer in state '{state}' fires '{timer.action}', which is not allowed from "
                    f"'{state}' (it starts from {_list(tr.from_)})"
                )
            elif "system" not in tr.roles:
                yield path, f"timer action '{timer.action}' must allow role 'system' (timers act as system)"
            if timer.at is not None:
                key = timer.at.split(".", 1)[1]
                feeders = [
                    a for a, t in spec.transitions.items()
                    if t.to == state and (key in t.fields or key in t.set_)
                ]
                if not feeders:
                    yield ("states", state, "timers", i, "at"), (
                        f"no transition into '{state}' sets '{key}'; add it to that action's fields"
                    )


def _final_states_are_final(spec: WorkflowSpec) -> Iterator[Problem]:
    for action, tr in spec.transitions.items():
        for src in tr.from_:
            if src in spec.states and spec.states[src].final:
                yield ("transitions", action, "from"), (
                    f"'{action}' leaves final state '{src}'; nothing may leave a final state "
                    "(make the state non-final, or add a later final state)"
                )
    for state, st in spec.states.items():
        if st.final and st.timers:
            yield ("states", state, "timers"), f"final state '{state}' can't have timers"


def _graph_shape(spec: WorkflowSpec) -> Iterator[Problem]:
    graph = state_graph(spec)
    initial = [s for s, st in spec.states.items() if st.initial]
    finals = {s for s, st in spec.states.items() if st.final}
    if len(initial) == 1:
        reachable = nx.descendants(graph, initial[0]) | {initial[0]}
        for state in spec.states:
            if state not in reachable:
                yield ("states", state), f"state '{state}' can't be reached from '{initial[0]}'"
    for state, st in spec.states.items():
        if st.final:
            continue
        if not any(target != state for _, target in graph.out_edges(state)):
            yield ("states", state), f"state '{state}' has no way out (a dead end); add a transition from it"
        elif finals and not (nx.descendants(graph, state) & finals):
            yield ("states", state), (
                f"no final state ({_list(finals)}) can be reached from '{state}'; cases there could never finish"
            )


def _waiting_states_have_timers(spec: WorkflowSpec) -> Iterator[Problem]:
    for state, st in spec.states.items():
        if st.waiting and not st.timers:
            yield ("states", state), (
                f"waiting state '{state}' has no timer, so a case could wait there forever; "
                "add 'timers: [{after: P14D, action: ...}]'"
            )


def _guards_read_known_fields(spec: WorkflowSpec) -> Iterator[Problem]:
    for action, tr in spec.transitions.items():
        for i, guard in enumerate(tr.guards):
            yield from _check_condition(guard, ("transitions", action, "guards", i), set(tr.fields))
    for state, st in spec.states.items():
        payload_fields = {f for t in spec.transitions.values() if t.to == state for f in t.fields}
        for i, guard in enumerate(st.entry_guards):
            yield from _check_condition(guard, ("states", state, "entry_guards", i), payload_fields)


def _check_condition(cond: Condition, path: tuple[str | int, ...], payload: set[str]) -> Iterator[Problem]:
    if cond.field is not None:
        root, _, name = cond.field.partition(".")
        head = name.split(".")[0]
        if root == "complaint" and head not in COMPLAINT_FIELDS:
            yield (*path, "field"), f"unknown complaint field '{head}'; known: {_list(COMPLAINT_FIELDS)}"
        if root == "payload" and head not in payload:
            yield (*path, "field"), f"'{cond.field}' is not a declared field of this action ({_list(payload)})"
    for key, children in (("all", cond.all), ("any", cond.any)):
        for i, child in enumerate(children or []):
            yield from _check_condition(child, (*path, key, i), payload)
    if cond.not_ is not None:
        yield from _check_condition(cond.not_, (*path, "not"), payload)


def _templates_are_complete(spec: WorkflowSpec) -> Iterator[Problem]:
    known = set(COMPLAINT_FIELDS) | TEMPLATE_EXTRAS | {f"timeline_{k}" for k in spec.timeline}
    for tr in spec.transitions.values():
        known |= set(tr.fields) | set(tr.set_) | ({tr.record} if tr.record else set())
    known |= {"tier_label", "queue"} | (LETTER_FIELDS if spec.regulatory else set()) | referral_fields(spec)
    for name, languages in spec.templates.items():
        if spec.default_language not in languages:
            yield ("templates", name), (
                f"template '{name}' has no text in the default language '{spec.default_language}'"
            )
        for lang, text in languages.items():
            matches = list(string.Template.pattern.finditer(text))
            placeholders = {m.group("named") or m.group("braced") for m in matches} - {None}
            if any(m.group("invalid") is not None for m in matches):
                yield ("templates", name, lang), "a '$' that starts no placeholder; write '$$' for a dollar sign"
            for placeholder in sorted(placeholders - known):
                yield ("templates", name, lang), (
                    f"unknown placeholder '${placeholder}'; known: complaint fields, action fields, "
                    "customer_name, received_date, today, timeline_<name>"
                    + (", referral_body, refer_within_months, refer_by (from a regulatory preset that names "
                       "a referral body)" if placeholder in ("referral_body", "refer_within_months") else "")
                )


def _unused_templates(spec: WorkflowSpec) -> Iterator[Problem]:
    used = {t for tr in spec.transitions.values() for t in tr.notify} | set(_letters(spec))
    for name in spec.templates:
        if name not in used:
            yield ("templates", name), f"template '{name}' is never sent; add it to an action's 'notify'"


# -- letters: every declared language, and only what the customer may read --------------------


def _placeholders(text: str) -> set[str]:
    matches = string.Template.pattern.finditer(text)
    return {m.group("named") or m.group("braced") for m in matches} - {None}  # type: ignore[misc]


def _letters_in_every_language(spec: WorkflowSpec) -> Iterator[Problem]:
    letters = spec.letters
    if letters is None:
        return
    declared = list(letters.languages)
    if spec.default_language not in letters.languages:
        yield ("letters", "languages"), (
            f"the default language '{spec.default_language}' is not declared; declare it or set "
            f"'default_language' to one of {_list(declared)}")
    for name, texts in spec.templates.items():
        for lang in declared:
            if lang not in texts and lang != spec.default_language:  # that one is _templates_are_complete's
                yield ("templates", name), (
                    f"template '{name}' has no text in '{lang}', a declared language of the letters "
                    f"({', '.join(declared)}); write one")
        for lang in texts:
            if lang not in letters.languages:
                yield ("templates", name, lang), (
                    f"language '{lang}' is not declared under letters.languages ({', '.join(declared)}); "
                    "declare it with its time zone, or remove the text")
    for lang in declared:
        if letters.subject and lang not in letters.subject:
            yield ("letters", "subject"), f"no subject in '{lang}', a declared language; write one"
    for lang in letters.subject:
        if lang not in letters.languages:
            yield ("letters", "subject", lang), f"language '{lang}' is not declared under letters.languages"
    for name in letters.review:
        if name not in spec.templates:
            yield ("letters", "review"), f"unknown template '{name}'; templates are {_list(spec.templates)}"


def _letters_read_only_customer_facing_fields(spec: WorkflowSpec) -> Iterator[Problem]:
    """Each placeholder of each template, for each action that sends it, must be something the
    customer may read: a customer-facing complaint field or built-in, a field the sending
    action declares ``customer_facing``, or case data only customer-facing fields write."""
    if spec.letters is None:
        return
    safe = (CUSTOMER_COMPLAINT_FIELDS | CUSTOMER_EXTRAS | {f"timeline_{k}" for k in spec.timeline}
            | referral_fields(spec))
    senders: dict[str, list[str]] = {}
    for action, tr in spec.transitions.items():
        for template in tr.notify:
            senders.setdefault(template, []).append(action)
    letters = set(_letters(spec))
    for name, texts in spec.templates.items():
        for lang, text in texts.items():
            for placeholder in sorted(_placeholders(text)):
                for why in _internal(spec, placeholder, senders.get(name, []), name in letters, safe):
                    yield ("templates", name, lang), f"'${placeholder}' is not for the customer: {why}"
    for lang, text in (spec.letters.subject or {}).items():
        for placeholder in sorted(_placeholders(text) - safe):
            yield ("letters", "subject", lang), (
                f"'${placeholder}' is not for the customer: a subject may read {_list(CUSTOMER_COMPLAINT_FIELDS)}")


def _internal(spec: WorkflowSpec, name: str, actions: list[str], regulatory: bool, safe: frozenset[str]) -> Iterator[str]:
    """Why ``name`` is internal in a letter sent by ``actions`` (and by a regulatory clock)."""
    if name in safe or (regulatory and name in CUSTOMER_LETTER_FIELDS):
        return
    if name in COMPLAINT_FIELDS or name in ("actor", "action", "queue", "milestone"):
        yield (f"it is how the team works the case; a letter may read the complaint's "
               f"{_list(CUSTOMER_COMPLAINT_FIELDS)}, and the customer_name, dates and timelines")
        return
    for action in actions:
        declared = spec.transitions[action].fields.get(name)
        if declared is not None and not declared.customer_facing:
            yield (f"'{action}' takes '{name}' for the team (the audit trail); mark it 'customer_facing: true' "
                   f"if the customer should read it, or give '{action}' a customer-facing field for the letter")
    if all(name in spec.transitions[a].fields for a in actions) and actions:
        return
    setters = [action for action, tr in spec.transitions.items() if name in tr.set_]
    if setters:
        yield (f"{_either(setters)} sets data.{name} to a code for the team; write in the letter what "
               "the code means for the customer")
    takers = [action for action, tr in spec.transitions.items()
              if tr.record is None and name in tr.fields and not tr.fields[name].customer_facing]
    if takers:
        yield (f"the case's data.{name} may hold what {_either(takers)} took for the team; mark that field "
               "'customer_facing: true' where the customer should read it")


def _either(actions: list[str]) -> str:
    quoted = [f"'{a}'" for a in actions]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


# -- sla / regulatory / escalation sections --------------------------------------------------


def _letters(spec: WorkflowSpec) -> dict[str, tuple[str | int, ...]]:
    """Templates the regulatory clocks send, with the path that names each."""
    found: dict[str, tuple[str | int, ...]] = {}
    for name, clock in (spec.regulatory.clocks.items() if spec.regulatory else []):
        if clock.preset is not None and clock.preset not in PRESETS:
            continue
        for milestone, ms in resolved(clock).milestones.items():
            if ms.letter:
                where = "letters" if milestone in clock.letters else "milestones" if milestone in clock.milestones else "preset"
                found.setdefault(ms.letter, ("regulatory", "clocks", name, where))
    return found


def _states_named(spec: WorkflowSpec, names: list[str], path: tuple[str | int, ...]) -> Iterator[Problem]:
    for state in names:
        if state != ANY and state not in spec.states:
            yield path, f"unknown state '{state}'; states are {_list(spec.states)}"


def _sla_names_exist(spec: WorkflowSpec) -> Iterator[Problem]:
    sla = spec.sla
    if sla is None:
        return
    calendars, tiers, queues = set(sla.calendars), set(spec.tier_names()), {t.queue for t in spec.tiers}
    if sla.calendar not in calendars:
        yield ("sla", "calendar"), f"unknown calendar '{sla.calendar}'; calendars are {_list(calendars)}"
    for queue, cal in sla.queue_calendars.items():
        if queue not in queues:
            yield ("sla", "queue_calendars", queue), f"unknown queue '{queue}'; queues are {_list(queues)}"
        if cal not in calendars:
            yield ("sla", "queue_calendars", queue), f"unknown calendar '{cal}'; calendars are {_list(calendars)}"
    for name, cal_spec in sla.calendars.items():
        if cal_spec.country is not None:
            yield from _country_known(cal_spec.country, cal_spec.subdivision, ("sla", "calendars", name, "country"))
    for name, clock in sla.clocks.items():
        base = ("sla", "clocks", name)
        for key in ("start", "pause", "stop"):
            yield from _states_named(spec, getattr(clock, key), (*base, key))
        for action in clock.restart_on:
            if action not in spec.transitions:
                yield (*base, "restart_on"), f"unknown action '{action}'; actions are {_list(spec.transitions)}"
        if clock.calendar is not None and clock.calendar not in calendars:
            yield (*base, "calendar"), f"unknown calendar '{clock.calendar}'; calendars are {_list(calendars)}"
        for tier, by_severity in clock.targets.items():
            if tier != ANY and tier not in tiers:
                yield (*base, "targets", tier), f"unknown tier '{tier}'; use '*' or one of {_list(tiers)}"
            for severity in by_severity:
                if severity != ANY and severity not in SEVERITIES:
                    yield (*base, "targets", tier, severity), (
                        f"unknown severity '{severity}'; use '*' or one of {_list(SEVERITIES)}"
                    )
        for tier in spec.tier_names():
            row = {**clock.targets.get(ANY, {}), **clock.targets.get(tier, {})}
            missing = [s for s in SEVERITIES if s not in row and ANY not in row]
            if missing:
                yield (*base, "targets"), f"no target for tier '{tier}' and severity {', '.join(missing)}; add it or a '*' entry"


def _country_known(country: str, subdivision: str | None, path: tuple[str | int, ...]) -> Iterator[Problem]:
    import holidays

    supported = holidays.list_supported_countries()
    if country not in supported:
        yield path, f"no public holidays known for country '{country}' (use an ISO 3166 code such as GB, LV, GR, US)"
    elif subdivision is not None and subdivision not in supported[country]:
        yield path, f"unknown subdivision '{subdivision}' of {country}; known: {_list(supported[country])}"


def _regulatory_names_exist(spec: WorkflowSpec) -> Iterator[Problem]:
    if spec.regulatory is None:
        return
    calendars = set(spec.sla.calendars) if spec.sla else set()
    for name, clock in spec.regulatory.clocks.items():
        base = ("regulatory", "clocks", name)
        if clock.preset is not None and clock.preset not in PRESETS:
            yield (*base, "preset"), f"unknown preset '{clock.preset}'; presets are {_list(PRESETS)}"
            continue
        yield from _states_named(spec, clock.stop, (*base, "stop"))
        preset = resolved(clock)
        if not preset.milestones:
            yield base, "a regulatory clock needs a 'preset' or at least one milestone"
        for milestone in clock.letters:
            if milestone not in preset.milestones:
                yield (*base, "letters", milestone), f"unknown milestone '{milestone}'; milestones are {_list(preset.milestones)}"
        needs_calendar = any(m.business_days for m in preset.milestones.values())
        calendar = clock.calendar or (spec.sla.calendar if spec.sla else None)
        if needs_calendar and calendar is None:
            yield (*base, "calendar"), "business-day milestones need a calendar; add an 'sla' section with calendars"
        elif clock.calendar is not None and clock.calendar not in calendars:
            yield (*base, "calendar"), f"unknown calendar '{clock.calendar}'; calendars are {_list(calendars)}"
    for template, path in _letters(spec).items():
        if template not in spec.templates:
            yield path, f"letter template '{template}' does not exist; add it under 'templates'"


def _escalation_names_exist(spec: WorkflowSpec) -> Iterator[Problem]:
    esc = spec.escalation
    if esc is None:
        return
    clocks = set(spec.sla.clocks) if spec.sla else set()
    tr = spec.transitions.get(esc.action)
    if tr is None:
        yield ("escalation", "action"), f"unknown action '{esc.action}'; actions are {_list(spec.transitions)}"
    elif tr.tier != NEXT_TIER or "reason" not in tr.fields or "system" not in tr.roles:
        yield ("escalation", "action"), (
            f"'{esc.action}' must move to 'tier: next', take a 'reason' field and allow role 'system'"
        )
    for key in ("on_warning", "on_breach"):
        for clock in getattr(esc, key):
            if clock not in clocks:
                yield ("escalation", key), f"unknown SLA clock '{clock}'; clocks are {_list(clocks)}"
    for action in esc.after_actions:
        if action == esc.action:
            yield ("escalation", "after_actions"), f"'{action}' would escalate after itself, forever; remove it"
        elif action not in spec.transitions:
            yield ("escalation", "after_actions"), f"unknown action '{action}'; actions are {_list(spec.transitions)}"
    for severity, tier in esc.severity.items():
        if severity not in SEVERITIES:
            yield ("escalation", "severity", severity), f"unknown severity '{severity}'; use one of {_list(SEVERITIES)}"
        if tier not in spec.tier_names():
            yield ("escalation", "severity", severity), f"unknown tier '{tier}'; tiers are {_list(spec.tier_names())}"
    for role in esc.promise_roles:
        if role not in spec.roles:
            yield ("escalation", "promise_roles"), f"unknown role '{role}'; roles are {_list(spec.roles)}"


CHECKS: list[Callable[[WorkflowSpec], Iterator[Problem]]] = [
    _one_initial,
    _names_exist,
    _timers_name_valid_actions,
    _final_states_are_final,
    _graph_shape,
    _waiting_states_have_timers,
    _guards_read_known_fields,
    _templates_are_complete,
    _unused_templates,
    _letters_in_every_language,
    _letters_read_only_customer_facing_fields,
    _sla_names_exist,
    _regulatory_names_exist,
    _escalation_names_exist,
]



def check_workflow(spec: WorkflowSpec) -> list[Problem]:
    """Every problem every check finds, in check order.

    When a state name is misspelt, the graph checks would add a dozen follow-on complaints
    (unreachable, dead end, ...) that all go away with the fix; they are left out until the
    names are right, so the one real mistake is not buried."""
    problems: list[Problem] = []
    for check in CHECKS:
        if check is _graph_shape and any(path[-1] in ("from", "to") for path, _ in problems):
            continue
        problems.extend(check(spec))
    return problems


def _list(names: Iterable[object]) -> str:
    return ", ".join(sorted(str(n) for n in names))
