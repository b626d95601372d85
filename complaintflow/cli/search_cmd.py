"""``complaints search``, ``complaints note`` and ``complaints customer show``.

Each reads through its service (``complaints.search``, ``complaints.notes``,
``complaints.history``) as the ``--role`` given may see, and prints text as data: markup is
shown as written and control characters as visible stand-ins (``complaints.safe_text``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Group
from rich.panel import Panel
from rich.text import Text

from complaintflow.cli.context import ctx_of
from complaintflow.cli.render import Listing, clip, state_text, when
from complaints.history import PER_PAGE, PER_PAGE_MAX, CustomerHistory
from complaints.notes import add_note
from complaints.safe_text import visible
from complaints.search import SearchPage, SearchQuery
from workflows import access

customer_app = typer.Typer(help="A customer's complaints, letters and messages.", no_args_is_help=True)


def search(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help='words to find; "a phrase", -word leaves out (none: filters only)')] = "",
    product: Annotated[str | None, typer.Option(help="only this product")] = None,
    company: Annotated[str | None, typer.Option(help="only this company")] = None,
    state: Annotated[str | None, typer.Option(help="only this state")] = None,
    tier: Annotated[str | None, typer.Option(help="only this tier")] = None,
    queue: Annotated[str | None, typer.Option(help="only this queue")] = None,
    assignee: Annotated[str | None, typer.Option(help="only cases assigned to this handler")] = None,
    customer: Annotated[str | None, typer.Option(help="only this customer: email, id or pseudonym")] = None,
    received_from: Annotated[str | None, typer.Option("--from", help="received on or after this day (2026-11-01)")] = None,
    received_to: Annotated[str | None, typer.Option("--to", help="received on or before this day")] = None,
    page: Annotated[int, typer.Option(min=1, help="which page")] = 1,
    per_page: Annotated[int, typer.Option("--per-page", min=1, max=100, help="results on a page")] = 20,
) -> None:
    """Find complaints by the words of their descriptions, notes and customers' messages, best first."""
    cli = ctx_of(ctx)
    raw: dict[str, Any] = {"text": text, "product": product, "company": company, "state": state, "tier": tier,
                           "queue": queue, "assignee": assignee, "customer": customer,
                           "received_from": received_from, "received_to": received_to, "page": page,
                           "per_page": per_page}
    query = SearchQuery.parse({k: v for k, v in raw.items() if v is not None})
    result = access.search(cli.app().engine, query, [cli.role])
    if cli.json:
        cli.emit_json(result.model_dump(mode="json") | {"pages": result.pages})
        return
    cli.console.print(search_table(result))


def highlighted(snippet: str, spans: list[tuple[int, int]]) -> Text:
    """The snippet as text (never markup), each found word in bold, controls made visible."""
    out, at = Text(), 0
    for start, end in spans:
        out.append(visible(snippet[at:start]))
        out.append(visible(snippet[start:end]), style="bold yellow")
        at = end
    out.append(visible(snippet[at:]))
    return out


def search_table(result: SearchPage) -> Listing:
    shown = f"{(result.page - 1) * result.per_page + 1}-{(result.page - 1) * result.per_page + len(result.hits)}"
    title = (f"{result.total} complaint(s) found, {shown} shown (page {result.page} of {result.pages})"
             if result.hits else f"{result.total} complaint(s) found")
    empty = "Nothing on this page." if result.total else "No complaint matches."
    table = Listing(("Reference", "State", "Tier", "Product", "Received", "Found in", "Snippet"), title=title,
                    wrap={"Product": None, "Snippet": 30}, spare=("Tier", "Found in"), empty=empty)
    for hit in result.hits:
        table.add_row(hit.reference, state_text(hit.state), hit.tier, clip(visible(hit.product), 40),
                      when(hit.received_at), hit.source.replace("_", " "), highlighted(hit.snippet, hit.highlights))
    return table


def note(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="complaint reference")],
    text: Annotated[str, typer.Argument(help="the note")],
    public: Annotated[bool, typer.Option("--public", help="a comment the customer may read, not an internal note")] = False,
    expected_version: Annotated[int | None, typer.Option("--expected-version", help="fail if the case moved on")] = None,
) -> None:
    """Write an internal note (or, with --public, a comment for the customer) on a complaint."""
    cli = ctx_of(ctx)
    app_ = cli.app()
    written = add_note(app_.db, app_.clock.now(), reference, cli.actor, text, public, expected_version,
                       app_.engine.comment_letter)
    if cli.json:
        cli.emit_json(written.model_dump(mode="json"))
        return
    kind = "comment for the customer" if public else "internal note"
    cli.console.print(Text.assemble(("✓ ", "green"), f"{reference}: {kind} written (event {written.seq}, "
                                    f"version {written.seq})"))


@customer_app.command("show")
def customer_show(
    ctx: typer.Context,
    customer: Annotated[str, typer.Argument(help="email address, id (42) or pseudonym")],
    page: Annotated[int, typer.Option(min=1, help="which page of complaints (the newest first)")] = 1,
    per_page: Annotated[int, typer.Option("--per-page", min=1, max=PER_PAGE_MAX, help="complaints on a page")] = PER_PAGE,
) -> None:
    """A customer's complaints (newest first, a page at a time) with their letters and
    messages, as your role may see them."""
    cli = ctx_of(ctx)
    history = access.customer(cli.app().engine, customer, [cli.role], page, per_page)
    if cli.json:
        cli.emit_json(history.model_dump(mode="json") | {"pages": history.pages})
        return
    cli.console.print(history_view(history))


def history_view(history: CustomerHistory) -> Group:
    c = history.customer
    who = Text.assemble(("Customer ", "bold"), f"#{c.id} ", (c.pseudonym, "dim"))
    if c.name or c.email or c.phone:
        who.append("\n" + " · ".join(visible(v) for v in (c.name, c.email, c.phone) if v))
    if c.withheld:
        who.append(f"\n{c.withheld}", style="italic")
    if c.erased_at:
        who.append(f"\npersonal data erased {when(c.erased_at)}", style="italic")
    complaints = Listing(("Reference", "State", "Product", "Received", "Description"),
                         wrap={"Product": None, "Description": 30}, title=_complaints_title(history),
                         empty="Nothing on this page." if history.total else "No complaints.")
    for k in history.complaints:
        complaints.add_row(k.reference, state_text(k.state), clip(visible(k.product), 40), when(k.received_at),
                           clip(visible(" ".join(k.description.split())), 200))
    letters = Listing(("Letter", "Reference", "Template", "Status", "Written", "Subject"), wrap={"Subject": 20},
                      title="Letters" + _of_these(history), empty="No letters.")
    for n in history.letters:
        letters.add_row(str(n.id), n.reference, n.template, n.status, when(n.created_at), visible(n.subject or ""))
    messages = Listing(("When", "Reference", "Who", "Text"), wrap={"Text": 30}, title="Messages" + _of_these(history),
                       empty="No messages.")
    for m in history.messages:
        author = "customer" if m.direction == "from_customer" else f"to customer ({m.author})"
        words = " ".join(f"{m.subject or ''} {m.text}".split())
        attached = f" [+{m.attachments} attachment(s)]" if m.attachments else ""
        messages.add_row(when(m.at), m.reference, author, clip(visible(words), 300) + attached)
    return Group(Panel(who, expand=False), complaints, letters, messages)


def _of_these(history: CustomerHistory) -> str:
    return " (of the complaints above)" if history.pages > 1 else ""


def _complaints_title(history: CustomerHistory) -> str:
    """Which of the customer's complaints the page shows, and how to see the rest."""
    if history.total <= history.per_page and history.page == 1:
        return f"Complaints ({history.total})"
    first = (history.page - 1) * history.per_page + 1
    shown = f"{first}-{first + len(history.complaints) - 1}" if history.complaints else "none"
    more = f"; --page {history.page + 1} for older ones" if history.page < history.pages else ""
    return f"Complaints {shown} of {history.total} (page {history.page} of {history.pages}{more})"
