"""``complaints sla sweep | due | explain | promise | whatif``: SLA clocks, deadlines and promises."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Group
from rich.padding import Padding
from rich.text import Text

from complaintflow.cli.context import ctx_of
from complaintflow.cli.render import Listing, when
from complaints.errors import InvalidInput
from escalation.explain import clocks_view, due_within, parse_within
from escalation.services import keep_promises
from escalation.services import promise as record_promise
from escalation.sweep import SweepReport
from escalation.sweep import sweep as run_sweep
from escalation.whatif import WhatIf, read_policy
from workflows.engine import WorkflowEngine

app = typer.Typer(help="SLA clocks: sweep due timers, see what breaches soon, explain deadlines, record promises.",
                  no_args_is_help=True)


@app.command()
def sweep(
    ctx: typer.Context,
    batch_size: Annotated[int | None, typer.Option(min=1, max=100_000, help="timers per transaction")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="also list each case escalated, letter and failure")] = False,
) -> None:
    """Fire every due timer once: workflow timers, SLA warnings and breaches, regulatory letters, promises."""
    cli = ctx_of(ctx)
    app_ = cli.app()
    report = run_sweep(app_.engine, now=None, batch_size=batch_size or app_.settings.sweep_batch_size)
    if cli.json:
        cli.emit_json(report.as_dict())
        return
    cli.console.print(sweep_summary(report))
    if verbose:
        for line in report.escalated + report.letters + report.failed:
            cli.console.print(Text(f"  {line}"))


def sweep_summary(report: SweepReport) -> Group:
    """What a sweep did, counted by timer kind and name, escalations by the tier reached."""
    rows: dict[tuple[str, str], dict[str, int]] = {}
    for key, n in sorted(report.tally.items()):
        kind, name, outcome = key.rsplit(" ", 2)
        rows.setdefault((kind, name), {})[outcome] = n
    table = Listing(("Kind", "Timer", "Fired", "No longer applied", "Failed"), title="Timers swept",
                    title_justify="left", empty="Nothing was due.")
    for (kind, name), counts in rows.items():
        table.add_row(kind, name, str(counts.get("fired", 0)), str(counts.get("skipped", 0)), str(counts.get("failed", 0)))
    tiers = Counter(label.rsplit(" → ", 1)[-1] for label in report.escalated)
    reached = ", ".join(f"{n} to {tier}" for tier, n in sorted(tiers.items())) or "none"
    return Group(table, Text(f"Escalated: {len(report.escalated)} ({reached}). Letters queued: {report.letters_queued}."
                             + (f" Failed: {len(report.failed)} (see `complaints list`: they need a person)."
                                if report.failed else "")))


@app.command()
def due(
    ctx: typer.Context,
    within: Annotated[str, typer.Option(help="business time ahead: 8h, 90m, 2d or PT8H")] = "8h",
) -> None:
    """Deadlines that fall within the next business hours (each case on its own calendar), by queue."""
    cli = ctx_of(ctx)
    rows = due_within(cli.app().engine, parse_within(within))
    if cli.json:
        cli.emit_json(rows)
        return
    table = Listing(("Queue", "Reference", "Clock", "Kind", "Due", "Tier", "Severity", "State"),
                    spare=("Tier", "Kind", "Queue"), title=f"Due within {within} of business time",
                    empty=f"Nothing falls due within {within}.")
    for r in rows:
        due_text = Text(when(r["due_at"]), style="red" if r["overdue"] else "yellow")
        table.add_row(r["queue"], r["reference"], r["clock"], r["kind"], due_text, r["tier"], r["severity"], r["state"])
    cli.console.print(table)


@app.command()
def explain(ctx: typer.Context, reference: Annotated[str, typer.Argument(help="e.g. C-2026-000123")]) -> None:
    """Why each deadline of a complaint is when it is: targets, calendar, pauses, and the ledger."""
    cli = ctx_of(ctx)
    view = clocks_view(cli.app().engine, reference)
    if cli.json:
        cli.emit_json(view)
        return
    cli.console.print(f"[bold]{view['reference']}[/] — {view['state']}, tier {view['tier']} (queue {view['queue']})")
    for clock in view["clocks"]:
        cli.console.print(f"\n[bold]{clock['name']}[/] [dim]({clock['kind']}, {clock['status']})[/]")
        for line in clock["explanation"]:  # a long line wraps under itself, not under the clock's name
            cli.console.print(Padding(Text(line), (0, 0, 0, 2)))
        ledger = Listing(("When", "Entry", "Why", "Who"), wrap=("Why", "Who"), spare=("Who",), box=box.SIMPLE,
                         show_edge=False)
        for e in clock["ledger"]:
            ledger.add_row(when(e["at"]), e["entry"], e["reason"], e["actor"])
        cli.console.print(Padding(ledger, (0, 0, 0, 2)))


@app.command()
def promise(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="complaint reference")],
    due: Annotated[str | None, typer.Option(help="when the promise falls due (ISO time, e.g. 2026-11-27T12:00:00+00:00)")] = None,
    text: Annotated[str | None, typer.Option(help="what was promised, e.g. 'call back by Friday 12:00'")] = None,
    kept: Annotated[bool, typer.Option("--kept", help="mark the open promises kept instead")] = False,
    note: Annotated[str, typer.Option(help="with --kept: how it was kept")] = "",
) -> None:
    """Record a promise to the customer (it becomes a clock; overdue promises escalate), or mark it kept."""
    cli = ctx_of(ctx)
    if kept and (due is not None or text is not None):  # either half would be dropped without a word
        raise InvalidInput("Invalid promise", ["--kept marks the open promises kept; record a new one without it"])
    if note and not kept:
        raise InvalidInput("Invalid promise", ["--note says how a promise was kept: give it with --kept"])
    engine = cli.app().engine
    if kept:
        names = keep_promises(engine, reference, cli.actor, note)
        result: dict[str, Any] = {"reference": reference, "kept": names}
        message = f"[green]✓[/] {reference}: {', '.join(names)} kept"
    else:
        if due is None or text is None:
            raise InvalidInput("Invalid promise", ["give --due and --text (or --kept)"])
        try:
            due_at = datetime.fromisoformat(due)
        except ValueError as exc:
            raise InvalidInput("Invalid promise", [f"due: {due!r} is not an ISO time such as 2026-11-27T12:00:00Z"]) from exc
        clock = record_promise(engine, reference, due_at, text, cli.actor)
        result = {"reference": reference, "clock": clock.name, "due_at": clock.due_at, "text": text}
        message = f"[green]✓[/] {reference}: promise {clock.name} recorded, due {when(clock.due_at)}"
    if cli.json:
        cli.emit_json(result)
    else:
        cli.console.print(message)


def with_clocks(view: dict[str, Any], engine: WorkflowEngine, as_json: bool) -> dict[str, Any]:
    """``complaints show``: the case view plus its clocks (data for --json, a panel otherwise)."""
    clocks = clocks_view(engine, view["reference"])
    if as_json:
        return view | {"clocks": [{k: v for k, v in c.items() if k != "ledger"} for c in clocks["clocks"]]}
    return view | {"extra_panels": [*view.get("extra_panels", []), clocks_panel(clocks)]}


def clocks_panel(view: dict[str, Any]) -> Group:
    reference = view["reference"]
    table = Listing(("Clock", "Kind", "Status", "Target", "Used", "Due"), wrap=("Status",),
                    title="SLA and regulatory clocks", title_justify="left")
    for c in view["clocks"]:
        style = "red" if "breached" in c["status"] else "green" if c["status"] == "stopped" else "yellow"
        table.add_row(c["name"], c["kind"], Text(c["status"], style=style), c["target"] or "-", c["used"],
                      when(c["due_at"]) or "-")
    return Group(table, Text(f"`complaints sla explain {reference}` says why each is due when it is.", style="dim"))


def _instant(value: str | None, option: str, end: bool = False) -> datetime | None:
    """A day (``--to`` includes it: its end) or an ISO time, in UTC."""
    if value is None:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            day = datetime.combine(date.fromisoformat(text), time(), tzinfo=UTC)
            return day + timedelta(days=1) if end else day
        at = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"Invalid {option}", [f"{value!r} is not a day such as 2026-11-01 or an ISO time"]) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@app.command()
def whatif(
    ctx: typer.Context,
    policy: Annotated[Path, typer.Argument(help="YAML with any of sla, regulatory, escalation (or the parts "
                                                "that change), merged over each workflow's own")],
    from_: Annotated[str | None, typer.Option("--from", help="cases received from this day or time "
                                                             "(default: the first)")] = None,
    to: Annotated[str | None, typer.Option("--to", help="to this day (included) or time; history is replayed "
                                                        "up to it (default: now)")] = None,
) -> None:
    """Replay every case received in the period under another SLA, regulatory and escalation
    policy, and show it beside what was recorded, by queue, tier and product. Writes nothing."""
    cli = ctx_of(ctx)
    sections, text = read_policy(policy)
    report = WhatIf(cli.app().engine, sections, policy.name, text).run(
        _instant(from_, "--from"), _instant(to, "--to", end=True))
    if cli.json:
        cli.emit_json(report.as_dict())
        return
    names = ("met", "breaches", "escalations", "letters")
    table = Listing(("Queue", "Tier", "Product", *(n.title() for n in names)), wrap=("Product",), spare=("Tier",),
                    title=f"What if: {policy.name} (each count recorded → what-if)", title_justify="left",
                    empty="No case was received in the period.")

    def cell(recorded: int, what_if: int) -> Text:
        style = "" if recorded == what_if else ("red" if what_if > recorded else "green")
        return Text(f"{recorded} → {what_if}", style=style)

    for (queue, tier, product), rec, wif in report.rows():
        table.add_row(queue, tier, product, *(cell(getattr(rec, n), getattr(wif, n)) for n in names))
    rec, wif = report.totals()
    table.add_row("all", "", "", *(cell(getattr(rec, n), getattr(wif, n)) for n in names), style="bold")
    cli.console.print(table)
    since = f"{report.start:%Y-%m-%d %H:%M}" if report.start else "the first"
    cli.console.print(Text(f"{report.cases} case(s) received from {since} to {report.end:%Y-%m-%d %H:%M} UTC, "
                           "replayed; nothing was written."))
