"""Rich renderings of results; commands choose between these and ``--json``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

STATE_STYLE = {
    "received": "cyan", "acknowledged": "cyan", "assessing": "yellow", "awaiting_customer": "magenta",
    "investigating": "yellow", "on_hold": "magenta", "resolution_proposed": "blue", "resolved": "green",
    "follow_up": "blue", "recurrence_review": "yellow", "closed": "green", "archived": "dim",
}


#: Columns holding complaint references: never folded, so a reference reads (and copies)
#: whole on a narrow terminal, and the other columns wrap instead.
WHOLE = frozenset({"Reference", "Complaint", "Related"})


def columns(table: Table, names: Iterable[str]) -> Table:
    """``names`` added to ``table``: a value too long for its column folds onto the next
    line, a reference's never does."""
    for name in names:
        table.add_column(name, overflow="fold", no_wrap=name in WHOLE)
    return table


def when(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return "" if value is None else str(value)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in '…' when something was cut: a reader
    must be able to tell a shortened value (a product, a description) from the whole one."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def state_text(state: str) -> Text:
    return Text(state, style=STATE_STYLE.get(state, "white"))


def cases_table(rows: list[dict[str, Any]], title: str = "Complaints") -> Table:
    table = Table(title=title, header_style="bold")
    columns(table, ("Reference", "State", "Tier", "Queue", "Severity", "Product", "Next deadline"))
    for r in rows:
        table.add_row(r["reference"], state_text(r["state"]), r["tier"], r["queue"], r["severity"],
                      clip(r["product"] or "", 40), _deadline(r))
    return table


def moves_table(rows: list[tuple[str, Any]]) -> Table:
    """(reference, step) of each action a batch performed."""
    table = Table(title=f"{len(rows)} actions done in one transaction", header_style="bold")
    columns(table, ("Reference", "Action", "Move", "Tier", "Version"))
    for reference, step in rows:
        move = Text.assemble(step.from_state, " → ", state_text(step.to_state)) if step.state_changed \
            else Text.assemble("stays ", state_text(step.to_state))
        table.add_row(reference, step.action, move, step.tier, str(step.seq))
    return table


def _deadline(row: dict[str, Any]) -> Text:
    """The next deadline, or (in red) the refused timer that left the case waiting for a person."""
    if row.get("attention"):
        return Text(f"needs attention since {when(row.get('next_due'))}: {row['attention']}", style="bold red")
    return Text(when(row.get("next_due")) or "-")


def case_panel(view: dict[str, Any]) -> Group:
    c = view["complaint"]
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("State", state_text(view["state"]))
    head.add_row("Tier / queue", f"{view['tier']} / {view['queue']}")
    head.add_row("Version", str(view["version"]))
    for key in ("channel", "product", "company", "category", "severity", "language", "external_id"):
        if c.get(key):
            head.add_row(key.replace("_", " ").capitalize(), str(c[key]))
    if view.get("customer"):
        head.add_row("Customer", view["customer"].get("name") or view["customer"]["pseudonym"][:12])
    head.add_row("Received", when(c["received_at"]))
    description = clip(c.get("description") or "", 600)

    actions = Table(title="Actions you can take", header_style="bold", title_justify="left")
    columns(actions, ("Action", "Goes to", "Needs", "Blocked by"))
    for a in view["actions"]:
        needs = ", ".join(f"{k}: {v}" for k, v in a["fields"].items()) or "-"
        actions.add_row(Text(a["action"], style="green" if a["allowed"] else "red"), a["to_state"], needs,
                        "; ".join(a["blocked_by"]) or "-")

    events = Table(title="Timeline", header_style="bold", title_justify="left")
    columns(events, ("#", "When", "Who", "Action", "From → to", "Tier", "Details"))
    for e in view["events"]:
        details = clip("; ".join(f"{k}={v}" for k, v in e["payload"].items() if k != "description"), 120)
        events.add_row(str(e["seq"]), when(e["at"]), f"{e['actor']} ({e['role']})", e["action"],
                       f"{e['from_state'] or '∅'} → {e['to_state']}", e["tier"], details)

    timers = Table(title="Timers", header_style="bold", title_justify="left")
    columns(timers, ("Kind", "Name", "Due", "Status", "Result"))
    for t in view["timers"]:
        timers.add_row(t["kind"], t["name"], when(t["due_at"]), t["status"], t["result"] or "")

    notes = Table(title="Notifications", header_style="bold", title_justify="left")
    columns(notes, ("#", "Template", "Lang", "Status", "Text"))
    for n in view["notifications"]:
        notes.add_row(str(n["event_seq"]), n["template"], n["language"], n["status"], clip(n["body"], 200))

    parts: list[Any] = [Panel(Group(head, Text(""), Text(description, style="italic")), title=view["reference"])]
    parts += [actions, events, timers]
    if view["notifications"]:
        parts.append(notes)
    for extra in view.get("extra_panels", []):
        parts.append(extra)
    return Group(*parts)
