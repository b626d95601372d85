"""Rich renderings of results; commands choose between these and ``--json``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from copy import copy
from dataclasses import replace
from datetime import datetime
from typing import Any, NamedTuple

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, ConsoleRenderable, Group, RenderHook, RenderResult
from rich.measure import Measurement
from rich.panel import Panel
from rich.segment import Segment
from rich.table import Column, Table
from rich.text import Text

from complaints.safe_text import visible

STATE_STYLE = {
    "received": "cyan", "acknowledged": "cyan", "assessing": "yellow", "awaiting_customer": "magenta",
    "investigating": "yellow", "on_hold": "magenta", "resolution_proposed": "blue", "resolved": "green",
    "follow_up": "blue", "recurrence_review": "yellow", "closed": "green", "archived": "dim",
}


#: The longest word a wrapping column keeps whole when the console is narrow: a longer one
#: (a URL, a list written out) folds rather than push out a column of identifiers.
LONG_WORD = 20


class Listing(Table):
    """A table that fits a narrow terminal without cutting identifiers or headers mid-word.

    Columns hold whole values (references, states, times, names) unless named in ``wrap``:
    free text, wrapped between words, and as narrow as its longest word (at most
    ``LONG_WORD``) or a width given in a ``wrap`` mapping, whichever is wider. Headers wrap
    between their words, in two lines at most. A narrow console costs the headers lines
    first, then the free text; when even the narrowest of each column does not fit, the
    columns named in ``spare`` are left out, in that order, then the last ones (never the
    first, the row's key), and a line under the table says which: ``--json`` and a wider
    terminal show them. A table without rows shows its title and ``empty`` (why there is
    nothing to list) rather than a grid of headers alone.
    """

    def __init__(self, names: Iterable[str], wrap: Iterable[str] | Mapping[str, int | None] = (),
                 spare: Iterable[str] = (), empty: str | None = None, **options: Any):
        super().__init__(**{"header_style": "bold", **options})
        self.empty = empty
        self.names = tuple(names)
        self.least: dict[str, int | None] = dict(wrap) if isinstance(wrap, Mapping) else dict.fromkeys(wrap)
        self.spare = tuple(spare)
        assert set(self.least) | set(self.spare) <= set(self.names), "wrap or spare name a column the table lacks"
        for name in self.names:
            wraps = name in self.least
            # the header wraps between its words even over a column of whole values
            self.add_column(Text(name, no_wrap=False, overflow="ellipsis"), overflow="fold" if wraps else "ellipsis",
                            no_wrap=not wraps)

    def add_row(self, *cells: Any, **options: Any) -> None:
        """A row whose text cells are shown as written: a customer's "[sic]" or "[/]" is not
        rich markup (it vanished, or stopped the command)."""
        super().add_row(*(literal(c) for c in cells), **options)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.rows and self.empty is not None:
            if self.title:
                yield Text(str(self.title), style="table.title")
            yield Text(self.empty, style="dim")
            return
        ranges = [self._range(console, options, c) for c in self.columns]
        kept, hidden = self._kept(ranges, options)
        widths: Sequence[int | None] = _widths([ranges[k] for k in kept], self._room(len(kept), options)) \
            or [None] * len(kept)  # not even the first column fits: rich cuts it, ending in '…'
        shown = copy(self)
        shown.columns = [replace(self.columns[k], _index=i, width=w) for i, (k, w) in enumerate(zip(kept, widths,
                                                                                                     strict=True))]
        yield from Table.__rich_console__(shown, console, options)
        if hidden := [name for name in hidden if name]:  # a column without a name (a bar) goes unmentioned
            yield Text(f"{', '.join(hidden)} left out at this width: widen the terminal, or use --json", style="dim")

    def _kept(self, ranges: list[_Range], options: ConsoleOptions) -> tuple[list[int], list[str]]:
        """The columns shown, and the names of those left out in the order they went: while
        the narrowest of each does not fit, the spare ones go, then the last ones."""
        kept, hidden = list(range(len(self.names))), []
        for i in [self.names.index(n) for n in self.spare] + [i for i in reversed(kept[1:])
                                                              if self.names[i] not in self.spare]:
            if self._room(len(kept), options) >= sum(ranges[k].least for k in kept):
                break
            kept.remove(i)
            hidden.append(self.names[i])
        return kept, hidden

    def _room(self, count: int, options: ConsoleOptions) -> int:
        """The width left for ``count`` columns' values: the console's, less their padding and
        the borders between and around them."""
        _, right, _, left = self.padding
        padding = count * (left + right) - (0 if self.pad_edge or not count else left + right)
        borders = count - 1 + (2 if self.show_edge else 0) if self.box else 0
        return options.max_width - padding - borders

    def _range(self, console: Console, options: ConsoleOptions, column: Column) -> _Range:
        name = self.names[column._index]
        header = _header_width(console, name)
        cells = [Measurement.get(console, options, cell) for cell in column.cells]
        whole = max([header, *(m.maximum for m in cells)])
        widest = max(cell_len(name), whole)
        if name not in self.least:
            return _Range(whole, whole, widest)
        words = max([0, *(m.minimum for m in cells)])
        least = min(whole, max(header, self.least[name] or 0, min(LONG_WORD, words)))
        return _Range(least, whole, widest)


class _Range(NamedTuple):
    """How wide a column may be, in characters of its values (without padding)."""

    least: int  #: narrowest: identifiers whole, the header in two lines, text wrapped to its longest word
    whole: int  #: every value on one line; the header may still wrap
    widest: int  #: the header on one line too


def _header_width(console: Console, name: str) -> int:
    """The narrowest a header reads in: two lines at most, split between words only."""
    header = Text(name)
    width = Measurement.get(console, console.options, header).minimum
    while len(header.wrap(console, width)) > 2:
        width += 1
    return width


def _widths(ranges: list[_Range], room: int) -> list[int] | None:
    """Each column's width within ``room``: narrowing the headers first (a line more at the
    top), then the wrapping values (a line more in each row they wrap in); ``None`` if even
    the narrowest do not fit."""
    return _fit([(r.whole, r.widest) for r in ranges], room) or _fit([(r.least, r.whole) for r in ranges], room)


def _fit(ranges: list[tuple[int, int]], room: int) -> list[int] | None:
    """Each column's width: its widest if all fit, else the widest ones narrowed first, down
    to a common width (a short product name stays on its line, a long reason wraps);
    ``None`` if even the narrowest are too wide."""
    if sum(least for least, _ in ranges) > room:
        return None
    cap = max((widest for _, widest in ranges), default=0)
    while sum(max(least, min(widest, cap)) for least, widest in ranges) > room:
        cap -= 1
    widths = [max(least, min(widest, cap)) for least, widest in ranges]
    left = room - sum(widths)
    for i, (_, widest) in enumerate(ranges):
        if left and widths[i] == cap < widest:
            widths[i], left = cap + 1, left - 1  # what the common width left over
    return widths


class _Visible:
    """A renderable whose text is shown with its control characters visible (``safe_text``)."""

    def __init__(self, renderable: Any):
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for segment in console.render(self.renderable, options):
            yield segment if segment.control or not segment.text else Segment(visible(segment.text), segment.style)


class VisibleText(RenderHook):
    """Everything a console prints goes out with the control and bidirectional characters of
    its text made visible: one place for every table, panel, message and progress line, so
    text from outside (a customer's, a file's) can never clear the screen, retitle the window
    or reorder what a handler reads. Rich's own styling is left to work."""

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        return [_Visible(r) for r in renderables]  # type: ignore[misc]


def terminal(stderr: bool = False) -> Console:
    """A console for the CLI: ``VisibleText`` on everything it prints."""
    console = Console(stderr=stderr)
    console.push_render_hook(VisibleText())
    return console


def literal(value: Any) -> Any:
    """``value`` as text shown as written (a ``str`` would be read as rich markup); other
    renderables as they are."""
    return Text(value) if isinstance(value, str) else value


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


def cases_table(rows: list[dict[str, Any]], title: str = "Complaints", empty: str = "No complaints.") -> Table:
    table = Listing(("Reference", "State", "Tier", "Queue", "Severity", "Product", "Next deadline"), title=title,
                    wrap={"Product": None, "Next deadline": len("2026-12-01 09:00")},
                    spare=("Queue", "Tier"), empty=empty)
    for r in rows:
        table.add_row(r["reference"], state_text(r["state"]), r["tier"], r["queue"], r["severity"],
                      clip(r["product"] or "", 40), _deadline(r))
    return table


def moves_table(rows: list[tuple[str, Any]]) -> Table:
    """(reference, step) of each action a batch performed."""
    table = Listing(("Reference", "Action", "Move", "Tier", "Version"), wrap=("Move",), spare=("Tier",),
                    title=f"{len(rows)} actions done in one transaction")
    for reference, step in rows:
        move = Text.assemble(step.from_state, " → ", state_text(step.to_state)) if step.state_changed \
            else Text.assemble("stays ", state_text(step.to_state))
        table.add_row(reference, step.action, move, step.tier, str(step.seq))
    return table


def _value(value: Any) -> str:
    """A payload value as a handler reads it: a list as its items, not Python's brackets."""
    if isinstance(value, list | tuple):
        return ", ".join(map(_value, value))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value(v)}" for k, v in value.items())
    return str(value)


def _deadline(row: dict[str, Any]) -> Text:
    """The next deadline (in words too, where the row has them: ``escalation.due_words``; in red
    once passed), or (in red) the refused timer that left the case waiting for a person."""
    if row.get("attention"):
        return Text(f"needs attention since {when(row.get('next_due'))}: {row['attention']}", style="bold red")
    due = when(row.get("next_due")) or "-"
    if not row.get("next_due") or not row.get("due_words"):
        return Text(due)
    return Text(f"{due} ({row['due_words']})", style="red" if row.get("overdue") else "")


def case_panel(view: dict[str, Any]) -> Group:
    c = view["complaint"]
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    head.add_row("State", state_text(view["state"]))
    head.add_row("Tier / queue", literal(f"{view['tier']} / {view['queue']}"))
    head.add_row("Version", str(view["version"]))
    for key in ("channel", "product", "company", "category", "severity", "language", "external_id"):
        if c.get(key):
            head.add_row(key.replace("_", " ").capitalize(), literal(str(c[key])))
    if view.get("customer"):
        customer = view["customer"]
        shown = customer.get("name") or customer["pseudonym"][:12]
        head.add_row("Customer", Text.assemble(shown, (f" ({customer['withheld']})", "dim")) if customer.get("withheld")
                     else literal(shown))
    head.add_row("Received", when(c["received_at"]))
    description = clip(c.get("description") or "", 600)

    actions = Listing(("Action", "Goes to", "Needs", "Blocked by"), wrap=("Needs", "Blocked by"),
                      title="Actions you can take", title_justify="left",
                      empty=f"None you can take in '{view['state']}'.")
    for a in view["actions"]:
        needs = ", ".join(f"{k}: {v}" for k, v in a["fields"].items()) or "-"
        actions.add_row(Text(a["action"], style="green" if a["allowed"] else "red"), a["to_state"], needs,
                        "; ".join(a["blocked_by"]) or "-")

    events = Listing(("#", "When", "Who", "Action", "From → to", "Tier", "Details"),
                     wrap=("Who", "From → to", "Details"), spare=("Tier", "#", "From → to"), title="Timeline", title_justify="left")
    for e in view["events"]:
        details = clip("; ".join(f"{k}={_value(v)}" for k, v in e["payload"].items() if k != "description"), 120)
        events.add_row(str(e["seq"]), when(e["at"]), f"{e['actor']} ({e['role']})", e["action"],
                       f"{e['from_state'] or '∅'} → {e['to_state']}", e["tier"], details)

    timers = Listing(("Kind", "Name", "Due", "Status", "Result"), wrap=("Result",), spare=("Result",),
                     title="Timers", title_justify="left", empty="None.")
    for t in view["timers"]:
        timers.add_row(t["kind"], t["name"], when(t["due_at"]), t["status"], t["result"] or "")

    notes = Listing(("#", "Template", "Lang", "Status", "Text"), wrap=("Text",), title="Notifications",
                    title_justify="left")
    for n in view["notifications"]:
        notes.add_row(str(n["event_seq"]), n["template"], n["language"], n["status"], clip(n["body"], 200))

    parts: list[Any] = [Panel(Group(head, Text(""), Text(description, style="italic")), title=view["reference"])]
    parts += [actions, events, timers]
    if view["notifications"]:
        parts.append(notes)
    for extra in view.get("extra_panels", []):
        parts.append(extra)
    return Group(*parts)
