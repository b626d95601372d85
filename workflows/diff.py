"""What changed between two workflow definitions, item by item. Pure.

Reviewing the code of practice means reading a new version against the one open cases run
on: which states, actions, timers, guards and letters it adds, removes or changes, and how
its SLA, regulatory and escalation rules move. Each item is compared as data (the pydantic
models dumped), so comments and layout never count as a change, as for fingerprints.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from workflows.compiled import CompiledWorkflow
from workflows.regulatory_presets import resolved

#: The sections a diff reports, in the order it lists them.
SECTIONS = ("state", "action", "timer", "guard", "template", "tier", "timeline", "sla", "calendar",
            "regulatory", "escalation", "letters", "roles")
ADDED, REMOVED, CHANGED = "added", "removed", "changed"
_SHOWN = 60  # characters of a value shown in a detail line


@dataclass(frozen=True)
class Change:
    """One item added, removed or changed; ``detail`` says what, in a line."""

    section: str
    name: str
    change: str
    detail: str = ""


@dataclass
class WorkflowDiff:
    old: str
    new: str
    changes: list[Change] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.changes

    def totals(self) -> dict[str, dict[str, int]]:
        """section -> {added, removed, changed} counts (sections without changes left out)."""
        counts = Counter((c.section, c.change) for c in self.changes)
        return {s: {k: counts[(s, k)] for k in (ADDED, REMOVED, CHANGED)} for s in SECTIONS
                if any(counts[(s, k)] for k in (ADDED, REMOVED, CHANGED))}

    def as_dict(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "totals": self.totals(),
                "changes": [asdict(c) for c in self.changes]}


def diff_workflows(old: CompiledWorkflow, new: CompiledWorkflow) -> WorkflowDiff:
    """Every item of ``new`` added, removed or changed against ``old``, section by section."""
    a, b = _dump(old), _dump(new)
    out = WorkflowDiff(f"{old.name} v{old.version}", f"{new.name} v{new.version}")
    out.changes += _keyed("state", _states(a), _states(b))
    out.changes += _keyed("action", _actions(a), _actions(b))
    out.changes += _keyed("timer", _timers(a), _timers(b))
    out.changes += _keyed("guard", _guards(a), _guards(b))
    out.changes += _templates(a.get("templates", {}), b.get("templates", {}))
    out.changes += _keyed("tier", {t["name"]: t for t in a["tiers"]}, {t["name"]: t for t in b["tiers"]})
    out.changes += _order("tier", [t["name"] for t in a["tiers"]], [t["name"] for t in b["tiers"]])
    out.changes += _keyed("timeline", a.get("timeline", {}), b.get("timeline", {}))
    sla_a, sla_b = a.get("sla") or {}, b.get("sla") or {}
    out.changes += _keyed("sla", sla_a.get("clocks", {}), sla_b.get("clocks", {}))
    out.changes += _keyed("sla", _settings(sla_a, "clocks", "calendars"), _settings(sla_b, "clocks", "calendars"))
    out.changes += _keyed("calendar", sla_a.get("calendars", {}), sla_b.get("calendars", {}))
    out.changes += _keyed("regulatory", _regulatory(old), _regulatory(new))
    out.changes += _keyed("escalation", a.get("escalation") or {}, b.get("escalation") or {})
    out.changes += _keyed("letters", a.get("letters") or {}, b.get("letters") or {})
    out.changes += _keyed("roles", _roles(a), _roles(b))
    return out


def _dump(workflow: CompiledWorkflow) -> dict[str, Any]:
    return workflow.spec.model_dump(mode="json", by_alias=True, exclude_none=True)


def _states(spec: Mapping[str, Any]) -> dict[str, Any]:
    """States without their timers and entry guards (reported in sections of their own)."""
    return {n: {k: v for k, v in s.items() if k not in ("timers", "entry_guards")} for n, s in spec["states"].items()}


def _actions(spec: Mapping[str, Any]) -> dict[str, Any]:
    return {n: {k: v for k, v in t.items() if k != "guards"} for n, t in spec["transitions"].items()}


def _timers(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Timers keyed '<state>.<label>' (a timer's label is its name, else its action)."""
    return {f"{s}.{t.get('name') or t['action']}": t for s, st in spec["states"].items() for t in st.get("timers", [])}


def _guards(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Guards as lists: a state's entry guards ('entry to closed'), an action's ('action pause')."""
    out = {f"entry to {s}": st["entry_guards"] for s, st in spec["states"].items() if st.get("entry_guards")}
    out |= {f"action {n}": t["guards"] for n, t in spec["transitions"].items() if t.get("guards")}
    return out


def _settings(section: Mapping[str, Any], *leave_out: str) -> dict[str, Any]:
    return {k: v for k, v in section.items() if k not in leave_out}


def _regulatory(workflow: CompiledWorkflow) -> dict[str, Any]:
    """Each regulatory clock with its preset resolved: a changed preset changes its milestones."""
    reg = workflow.spec.regulatory
    if reg is None:
        return {}
    out = {}
    for name, clock in reg.clocks.items():
        preset = resolved(clock).model_dump(mode="json", exclude_none=True)
        out[name] = {"stop": list(clock.stop), **preset}
    return out


def _roles(spec: Mapping[str, Any]) -> dict[str, Any]:
    out = dict.fromkeys(spec["roles"], "role")
    if spec.get("personal_data_roles") is not None:
        out["personal data"] = spec["personal_data_roles"]
    return out


def _keyed(section: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
    for name in old:
        if name not in new:
            yield Change(section, name, REMOVED)
        elif old[name] != new[name]:
            yield Change(section, name, CHANGED, _detail(old[name], new[name]))
    for name in new:
        if name not in old:
            yield Change(section, name, ADDED, _show(new[name]) if not isinstance(new[name], dict) else "")


def _order(section: str, old: list[str], new: list[str]) -> Iterator[Change]:
    kept = [n for n in old if n in new]
    if kept != [n for n in new if n in old]:
        yield Change(section, "order", CHANGED, f"{' → '.join(old)}  became  {' → '.join(new)}")


def _templates(old: Mapping[str, dict[str, str]], new: Mapping[str, dict[str, str]]) -> Iterator[Change]:
    """Templates by name; a changed one names its languages added, removed or reworded."""
    for name in old:
        if name not in new:
            yield Change("template", name, REMOVED)
        elif old[name] != new[name]:
            a, b = old[name], new[name]
            parts = [f"+{lang}" for lang in b if lang not in a] + [f"-{lang}" for lang in a if lang not in b]
            parts += [f"{lang} reworded" for lang in a if lang in b and a[lang] != b[lang]]
            yield Change("template", name, CHANGED, ", ".join(parts))
    for name in new:
        if name not in old:
            yield Change("template", name, ADDED, "languages " + ", ".join(new[name]))


def _detail(old: Any, new: Any, path: str = "") -> str:
    """'to: assessing → closed; fields +tell_customer' for two dumped items."""
    if isinstance(old, dict) and isinstance(new, dict):
        parts = []
        for key in [*old, *(k for k in new if k not in old)]:
            where = f"{path}{key}"
            if key not in new:
                parts.append(f"-{where}")
            elif key not in old:
                parts.append(f"+{where}")
            elif old[key] != new[key]:
                parts.append(_detail(old[key], new[key], f"{where}."))
        return "; ".join(parts)
    return f"{path.rstrip('.')}{': ' if path else ''}{_show(old)} → {_show(new)}"


def _show(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"
