"""``complaints rootcause ...``: linking, decisions on links, the report, graph, charts, CAPAs.

Also :func:`with_related`, which ``show`` and ``intake`` use to put the likely duplicates and
related open complaints beside a case (an extra panel, and ``related`` in ``--json``).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from complaintflow.cli.context import CliContext, ctx_of
from complaintflow.cli.render import Listing, literal, terminal, when
from complaintflow.settings import load_settings

app = typer.Typer(help="Root causes: link related complaints, find what recurs, track corrective actions.",
                  no_args_is_help=True)
capa_app = typer.Typer(help="Corrective and preventive actions (CAPA).", no_args_is_help=True)
app.add_typer(capa_app, name="capa")
alerts_app = typer.Typer(help="Recurrence alerts: owners, acknowledgement, CAPAs, dismissal.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


# -- beside a case (show / intake) ----------------------------------------------------------------


def with_related(cli: CliContext, view: dict[str, Any], k: int = 5, always: bool = True) -> dict[str, Any]:
    """The view plus ``related`` (JSON) and, for the terminal, an extra panel (when there is
    something to show, unless ``always``)."""
    related = related_of(cli, view["reference"], k)
    view = view | {"related": related}
    if not cli.json and (related or always):
        view["extra_panels"] = [*view.get("extra_panels", []), related_table(related)]
    return view


def related_of(cli: CliContext, reference: str, k: int = 5) -> list[dict[str, Any]]:
    """Likely duplicates and related open complaints (loads the text-similarity libraries)."""
    from root_cause.services import candidates

    return candidates(cli.app().db, reference, k=k)


def related_table(rows: list[dict[str, Any]]) -> Table:
    table = Listing(("Reference", "State", "Kind", "Score", "Status", "Link", "Why"), wrap=("Why",),
                    spare=("Link", "Status"), title="Likely duplicates and related complaints", title_justify="left",
                    empty="No likely duplicates or related open complaints.")
    for r in rows:
        ev = r["evidence"] or {}
        why = "; ".join(p for p in (
            f"text {ev['text_similarity']:.2f}" if "text_similarity" in ev else "",
            "same " + ", ".join(ev.get("shared_fields", [])) if ev.get("shared_fields") else "",
            "terms: " + ", ".join(ev.get("shared_terms", [])[:5]) if ev.get("shared_terms") else "",
            f"root cause {ev['root_cause']}" if ev.get("root_cause") else "",
        ) if p)
        duplicate = r["kind"] == "duplicate_of"
        kind = f"{r['kind']} ({'earlier' if r.get('received_earlier') else 'later'})" if duplicate else r["kind"]
        table.add_row(r["reference"], r["state"], Text(kind, style="red" if duplicate else "yellow"),
                      f"{r['score']:.2f}", r["status"], str(r["link_id"] or "-"), why)
    return table


# -- linking and links ------------------------------------------------------------------------------


@app.command()
def link(
    ctx: typer.Context,
    k: Annotated[int, typer.Option(min=1, max=50, help="links kept per complaint at most")] = 5,
) -> None:
    """Link every complaint to its best matches (blocked, capped, top-k; rejected links stay rejected)."""
    from root_cause.services import run_linking

    cli = ctx_of(ctx)
    with Progress(TextColumn("[bold]linking blocks"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=terminal(stderr=True), disable=cli.json or not sys.stderr.isatty()) as progress:
        task = progress.add_task("link", total=None)
        report = run_linking(cli.app().db, cli.app().clock.now(), k=k, progress=lambda done, total: progress.update(task, completed=done, total=total))
    summary = report.__dict__
    if cli.json:
        cli.emit_json(summary)
        return
    cli.console.print(f"[green]✓[/] {report.complaints} complaints: {report.proposed} links proposed, "
                      f"{report.created} new, {report.updated} updated, {report.kept_rejected} rejected pairs left "
                      f"alone, {report.kept_decided} decided links kept")


@app.command()
def related(ctx: typer.Context, reference: Annotated[str, typer.Argument(help="complaint reference")],
            k: Annotated[int, typer.Option(min=1, max=50)] = 5) -> None:
    """Likely duplicates and related open complaints of one complaint, with scores and evidence."""
    from root_cause.services import candidates

    cli = ctx_of(ctx)
    rows = candidates(cli.app().db, reference, k=k)
    if cli.json:
        cli.emit_json(rows)
    else:
        cli.console.print(related_table(rows))


def _decide(ctx: typer.Context, link_id: int, decision: str, reason: str | None) -> None:
    from root_cause.services import decide_link

    cli = ctx_of(ctx)
    result = decide_link(cli.app().db, cli.app().clock.now(), link_id, decision, cli.actor, reason)
    if cli.json:
        cli.emit_json(result)
    else:
        cli.console.print(f"[green]✓[/] link {link_id} ({result['kind']}) {decision} by {escape(cli.actor.name)}")


@app.command()
def confirm(ctx: typer.Context, link_id: Annotated[int, typer.Argument()],
            reason: Annotated[str | None, typer.Option()] = None) -> None:
    """Confirm a suggested link."""
    _decide(ctx, link_id, "confirmed", reason)


@app.command()
def reject(ctx: typer.Context, link_id: Annotated[int, typer.Argument()],
           reason: Annotated[str | None, typer.Option()] = None) -> None:
    """Reject a link; the linker will never create it again."""
    _decide(ctx, link_id, "rejected", reason)


@app.command("add-link")
def add_link(ctx: typer.Context, source: Annotated[str, typer.Argument(help="the later complaint")],
             target: Annotated[str, typer.Argument(help="the earlier complaint")],
             kind: Annotated[str, typer.Option(help="duplicate_of, related or same_root_cause")] = "related",
             reason: Annotated[str | None, typer.Option()] = None) -> None:
    """Link two complaints by hand (confirmed at once)."""
    from root_cause.services import add_link as add

    cli = ctx_of(ctx)
    result = add(cli.app().db, cli.app().clock.now(), source, target, kind, cli.actor, reason)
    if cli.json:
        cli.emit_json(result)
    else:
        cli.console.print(f"[green]✓[/] {source} {kind} {target} (link {result['id']})")


# -- analysis, report, pictures ----------------------------------------------------------------------


@app.command()
def analyse(ctx: typer.Context, unit: Annotated[str, typer.Option(help="month or week")] = "month") -> None:
    """Test every root cause and cluster for recurrence against its own baseline; store alerts."""
    from root_cause.analysis import analyse_recurrence
    from root_cause.recurrence import RecurrencePolicy

    if unit not in ("month", "week"):
        raise typer.BadParameter(f"{unit!r}; use month or week", param_hint="--unit")
    cli = ctx_of(ctx)
    alerts = analyse_recurrence(cli.app().db, cli.app().clock.now(), policy=RecurrencePolicy(unit=unit))
    if cli.json:
        cli.emit_json(alerts)
    else:
        cli.console.print(_alerts_table(alerts, NOTHING_RECURS))


NOTHING_RECURS = "No root cause or cluster recurs above its baseline share of complaints."


def _alerts_table(alerts: list[dict[str, Any]], empty: str) -> Table:
    table = Listing(("Alert", "Problem", "Period", "Seen", "Expected", "Strength", "Status", "Owner", "Why"),
                    wrap=("Problem", "Why"), spare=("Expected", "Owner"), title="Recurring problems (strongest first)",
                    title_justify="left", empty=empty)
    for a in alerts:
        table.add_row(str(a.get("id", "")), a.get("name") or a["subject"], a["period"], str(a["observed"]),
                      f"{a['expected']:.2f}", f"{a['strength']:.1f}", a.get("status", "open"), a.get("owner") or "-",
                      a["explanation"])
    return table


# -- alerts ---------------------------------------------------------------------------------------------


@alerts_app.command("list")
def alerts_list(ctx: typer.Context, status: Annotated[list[str] | None, typer.Option(
        help="only these statuses (default: open, acknowledged, linked; 'all' for every one)")] = None) -> None:
    """Recurrence alerts, strongest first."""
    from root_cause.alert_service import list_alerts

    cli = ctx_of(ctx)
    found = list_alerts(cli.app().db, status)
    if cli.json:
        cli.emit_json(found)
    else:
        cli.console.print(_alerts_table(found, "No alerts" + (f" with status {', '.join(status)}." if status else " open.")))


@alerts_app.command("show")
def alerts_show(ctx: typer.Context, alert_id: Annotated[int, typer.Argument()]) -> None:
    """One alert with its evidence, audit trail and the notices sent to its owner."""
    from root_cause.alert_service import alert_view

    cli = ctx_of(ctx)
    view = alert_view(cli.app().db, alert_id)
    if cli.json:
        cli.emit_json(view)
        return
    head = Table.grid(padding=(0, 2))
    ev = view["evidence"] or {}
    for key, value in (("problem", view["name"]), ("subject", view["subject"]), ("period", view["period"]),
                       ("status", view["status"]), ("owner", view["owner"] or "-"),
                       ("CAPA", str(view["capa_id"] or "-")), ("reason", view["reason"] or "-"),
                       ("tested against", str(ev.get("exposure", "-"))), ("why", view["explanation"])):
        head.add_row(key, literal(value))
    events = Listing(("#", "When", "Who", "Action", "From → to"), wrap=("Who", "From → to"), title="Audit trail",
                     title_justify="left")
    for e in view["events"]:
        events.add_row(str(e["seq"]), when(e["at"]), f"{e['actor']} ({e['role']})", e["action"],
                       f"{e['from_status'] or '∅'} → {e['to_status']}")
    notices = Listing(("To", "Subject", "Status", "Queued"), wrap=("Subject",), title="Notices to the owner",
                      title_justify="left", empty="None.")
    for n in view["notices"]:
        notices.add_row(n["recipient"], n["subject"], n["status"], when(n["created_at"]))
    cli.console.print(Panel(head, title=f"Alert {alert_id}"))
    cli.console.print(events)
    cli.console.print(notices)


def _move_alert(ctx: typer.Context, alert_id: int, action: str, **options: Any) -> None:
    from root_cause.alert_service import change_alert

    cli = ctx_of(ctx)
    alert = change_alert(cli.app().db, cli.app().clock.now(), alert_id, action, cli.actor, **options)
    if cli.json:
        cli.emit_json(alert)
    else:
        owner = f", owner {escape(alert['owner'])}" if alert.get("owner") else ""
        cli.console.print(f"[green]✓[/] alert {alert_id} is {alert['status']}{owner}")


@alerts_app.command("assign")
def alerts_assign(ctx: typer.Context, alert_id: Annotated[int, typer.Argument()],
                  owner: Annotated[str, typer.Option(help="who owns the alert")],
                  email: Annotated[str | None, typer.Option(help="where the owner's notices go (default: owner, if an address)")] = None) -> None:
    """Name the alert's owner; the owner is told through the outbox."""
    _move_alert(ctx, alert_id, "assign", owner=owner, address=email)


@alerts_app.command("ack")
def alerts_ack(ctx: typer.Context, alert_id: Annotated[int, typer.Argument()],
               reason: Annotated[str | None, typer.Option()] = None) -> None:
    """Acknowledge an open alert: someone is looking at it."""
    _move_alert(ctx, alert_id, "ack", reason=reason)


@alerts_app.command("link")
def alerts_link(ctx: typer.Context, alert_id: Annotated[int, typer.Argument()],
                capa: Annotated[int, typer.Option(help="the CAPA that handles the problem")],
                reason: Annotated[str | None, typer.Option()] = None) -> None:
    """Link the alert to the CAPA that handles it."""
    _move_alert(ctx, alert_id, "link", capa_id=capa, reason=reason)


@alerts_app.command("dismiss")
def alerts_dismiss(ctx: typer.Context, alert_id: Annotated[int, typer.Argument()],
                   reason: Annotated[str, typer.Option(help="why it needs no action")]) -> None:
    """Dismiss an alert with a reason; only a later period's finding reopens it."""
    _move_alert(ctx, alert_id, "dismiss", reason=reason)


@alerts_app.command("resolve")
def alerts_resolve(ctx: typer.Context, alert_id: Annotated[int, typer.Argument()],
                   reason: Annotated[str | None, typer.Option()] = None) -> None:
    """Mark an acknowledged or linked alert resolved."""
    _move_alert(ctx, alert_id, "resolve", reason=reason)


@alerts_app.command("reopen")
def alerts_reopen(ctx: typer.Context, alert_id: Annotated[int, typer.Argument()],
                  reason: Annotated[str | None, typer.Option()] = None) -> None:
    """Reopen a dismissed or resolved alert: only on new evidence (a later period's finding)."""
    from root_cause.analysis import reopen_alert

    cli = ctx_of(ctx)
    alert = reopen_alert(cli.app().db, cli.app().clock.now(), alert_id, cli.actor, reason)
    if cli.json:
        cli.emit_json(alert)
    else:
        cli.console.print(f"[green]✓[/] alert {alert_id} is {alert['status']} ({alert['period']})")


@app.command()
def report(ctx: typer.Context) -> None:
    """Pareto of root causes, recurring problems ranked, open and overdue CAPAs."""
    from root_cause.analysis import report as build_report

    cli = ctx_of(ctx)
    data = build_report(cli.app().db, cli.app().taxonomy, cli.app().clock.now())
    if cli.json:
        cli.emit_json(data)
        return
    pareto = Listing(("Code", "Name", "Complaints", "Share", "Cumulative", ""), wrap=("Name",),
                     spare=("", "Cumulative"), title="Root causes (Pareto)", title_justify="left",
                     empty="None recorded yet.")
    for p in data["pareto"]:
        bar = "█" * max(1, round(p["share"] * 30))
        pareto.add_row(p["code"], p["name"], str(p["count"]), f"{p['share']:.0%}", f"{p['cumulative']:.0%}",
                       Text(bar, style="cyan"))
    cli.console.print(pareto)
    cli.console.print(_alerts_table(data["recurring"], "None open (`complaints rootcause analyse` looks again)."))
    cli.console.print(_capa_table(data["capas"], f"Open CAPAs ({data['overdue_capas']} overdue)", "None open."))


@app.command()
def graph(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help="file to write")],
    format: Annotated[str, typer.Option("--format", "-f", help="graphml, gexf, json or html")] = "html",
    limit: Annotated[int, typer.Option(min=1, help="newest complaints with links or causes drawn at most")] = 1500,
) -> None:
    """Export the graph of complaints, root causes, products, customers (pseudonyms) and CAPAs."""
    from root_cause.analysis import the_graph
    from root_cause.export import write_graph

    cli = ctx_of(ctx)
    g, clusters = the_graph(cli.app().db, cli.app().taxonomy, limit=limit)
    write_graph(g, format, output)
    summary = {"file": str(output), "format": format, "nodes": g.number_of_nodes(), "edges": g.number_of_edges(),
               "clusters": len(clusters)}
    if cli.json:
        cli.emit_json(summary)
    else:
        cli.console.print(f"[green]✓[/] wrote {escape(str(output))} ({summary['nodes']} nodes, {summary['edges']} edges, "
                          f"{summary['clusters']} clusters)")


@app.command()
def chart(
    ctx: typer.Context,
    subject: Annotated[str, typer.Argument(help="a root-cause code (SYSTEM.OUTAGE) or cluster (cluster:C-2026-000001)")],
    output: Annotated[Path, typer.Option("--output", "-o", help=".png or .svg file")],
    periods: Annotated[int | None, typer.Option(min=2, max=520, help="periods drawn, ending --until")] = None,
    since: Annotated[datetime | None, typer.Option(help="first period drawn (a date in it)")] = None,
    until: Annotated[datetime | None, typer.Option(help="last period drawn, the one tested (default: now)")] = None,
    unit: Annotated[str, typer.Option(help="month or week")] = "month",
) -> None:
    """Chart complaint counts over time for a root cause or cluster, with the recurrence test's baseline."""
    from root_cause.analysis import subject_counts
    from root_cause.chart import write_chart
    from root_cause.recurrence import count_between

    if unit not in ("month", "week"):
        raise typer.BadParameter(f"{unit!r}; use month or week", param_hint="--unit")
    from complaints.clock import as_utc

    cli = ctx_of(ctx)
    end = as_utc(until) if until else cli.app().clock.now()
    since = as_utc(since) if since else None
    if since is not None and since > end:
        raise typer.BadParameter(f"{since:%Y-%m-%d} is after --until {end:%Y-%m-%d}", param_hint="--since")
    count = periods or (count_between(since, end, unit) if since else 12)
    series = subject_counts(cli.app().db, subject, end, periods=count, unit=unit)
    write_chart(series, output)
    if cli.json:
        cli.emit_json({"file": str(output), "subject": series.subject, "name": series.name, "periods": series.labels,
                       "counts": series.counts, "expected": list(series.baseline.expected[-len(series.labels):]),
                       "exposure": series.baseline.exposure, "baseline_share": series.baseline.share})
    else:
        cli.console.print(f"[green]✓[/] wrote {escape(str(output))} ({sum(series.counts)} complaints over "
                          f"{len(series.labels)} {unit}s; {series.labels[-1]} expected {series.baseline.expected_now:.2f})")


@app.command()
def taxonomy(ctx: typer.Context, file: Annotated[Path | None, typer.Argument(help="a taxonomy YAML to check")] = None) -> None:
    """Show the root-cause taxonomy in use, or check a taxonomy file (exit 1 on any problem)."""
    from rich.tree import Tree

    from root_cause.taxonomy import load_taxonomy

    cli = ctx_of(ctx)
    tax = load_taxonomy(file or load_settings(database_url=cli.db).root_cause_taxonomy)  # no database needed
    if cli.json:
        cli.emit_json({"source": tax.source, "codes": [c.model_dump() for c in tax.spec.codes]})
        return
    tree = Tree(f"[bold]{tax.source}[/] ({len(tax.codes)} codes)")
    branches: dict[str, Any] = {}
    for c in tax.spec.codes:
        parent = branches.get(c.parent, tree) if c.parent else tree
        branches[c.code] = parent.add(f"[bold]{c.code}[/] {c.name}")
    cli.console.print(tree)


@app.command()
def nightly(ctx: typer.Context) -> None:
    """What the scheduled night run does: linking, recurrence analysis, CAPA verification."""
    from root_cause.nightly import nightly as run

    cli = ctx_of(ctx)
    result = run(cli.app().db, cli.app().taxonomy, cli.app().clock.now())
    if cli.json:
        cli.emit_json(result)
        return
    lk = result["linking"]
    cli.console.print(f"[green]✓[/] linking: {lk['created']} new links over {lk['complaints']} complaints; "
                      f"{len(result['alerts'])} recurrence alerts; {len(result['capas'])} CAPAs checked")
    cli.console.print(_alerts_table(result["alerts"], NOTHING_RECURS))


# -- CAPA -------------------------------------------------------------------------------------------------


def _capa_table(capas: list[dict[str, Any]], title: str, empty: str) -> Table:
    table = Listing(("Id", "Title", "Owner", "Status", "Due", "Root causes"), wrap=("Title", "Root causes"),
                    title=title, title_justify="left", empty=empty)
    for c in capas:
        due = Text(when(c["due_at"]), style="bold red" if c.get("overdue") else "")
        table.add_row(str(c["id"]), c["title"], c["owner"], c["status"], due, ", ".join(c["root_causes"]))
    return table


@capa_app.command("create")
def capa_create(
    ctx: typer.Context,
    title: Annotated[str, typer.Option()],
    owner: Annotated[str, typer.Option()],
    due: Annotated[str, typer.Option(help="ISO date or time, e.g. 2026-12-31")],
    root_cause: Annotated[list[str], typer.Option("--root-cause", "-r", help="taxonomy code, repeatable")],
    window_days: Annotated[int, typer.Option(help="effectiveness window after implementation")] = 90,
    description: Annotated[str, typer.Option()] = "",
    complaint: Annotated[list[str] | None, typer.Option("--complaint", "-c", help="complaint it fixes, repeatable")] = None,
) -> None:
    """Open a CAPA for one or more root causes."""
    from root_cause.capa_service import create_capa
    from root_cause.schemas import parse_capa

    cli = ctx_of(ctx)
    data = parse_capa({"title": title, "owner": owner, "due_at": due, "root_causes": root_cause,
                       "window_days": window_days, "description": description, "complaints": complaint or []})
    capa = create_capa(cli.app().db, cli.app().taxonomy, cli.app().clock.now(), data, cli.actor)
    if cli.json:
        cli.emit_json(capa)
    else:
        cli.console.print(f"[green]✓[/] CAPA {capa['id']} opened for {', '.join(capa['root_causes'])}, owner {escape(owner)}")


@capa_app.command("move")
def capa_move(
    ctx: typer.Context,
    capa_id: Annotated[int, typer.Argument()],
    action: Annotated[str, typer.Argument(help="implement, cancel or reopen")],
    reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Change a CAPA's status (audited)."""
    from root_cause.capa_service import change_capa

    cli = ctx_of(ctx)
    capa = change_capa(cli.app().db, cli.app().clock.now(), capa_id, action, cli.actor, reason)
    if cli.json:
        cli.emit_json(capa)
    else:
        cli.console.print(f"[green]✓[/] CAPA {capa_id} is now {capa['status']}")


@capa_app.command("verify")
def capa_verify(ctx: typer.Context, capa_id: Annotated[int | None, typer.Argument(help="one CAPA (default: all implemented)")] = None) -> None:
    """Compare the complaint rate before and after; reopen an action whose problem came back."""
    from root_cause.capa_service import verify_capas

    cli = ctx_of(ctx)
    results = verify_capas(cli.app().db, cli.app().taxonomy, cli.app().clock.now(), capa_id=capa_id)
    if cli.json:
        cli.emit_json(results)
        return
    for r in results:
        style = {"reopened": "red", "effective": "green"}.get(r["outcome"], "yellow")
        cli.console.print(f"CAPA {r['capa']}: [{style}]{r['outcome']}[/] — {escape(r['explanation'])}")
    if not results:
        cli.console.print("No implemented CAPA to verify.")


@capa_app.command("list")
def capa_list(ctx: typer.Context, status: Annotated[list[str] | None, typer.Option(help="only these statuses")] = None) -> None:
    """CAPAs by due date; overdue ones in red."""
    from root_cause.capa_service import list_capas

    cli = ctx_of(ctx)
    capas = list_capas(cli.app().db, cli.app().clock.now(), status)
    if cli.json:
        cli.emit_json(capas)
    else:
        cli.console.print(_capa_table(capas, "CAPAs", "None" + (f" with status {', '.join(status)}." if status else " yet.")))


@capa_app.command("show")
def capa_show(ctx: typer.Context, capa_id: Annotated[int, typer.Argument()]) -> None:
    """One CAPA with its audit trail and last verification."""
    from root_cause.capa_service import capa_view

    cli = ctx_of(ctx)
    view = capa_view(cli.app().db, capa_id)
    if cli.json:
        cli.emit_json(view)
        return
    head = Table.grid(padding=(0, 2))
    for key in ("title", "owner", "status", "due_at", "window_days", "implemented_at", "root_causes"):
        value = view[key]
        head.add_row(key.replace("_", " "), literal(", ".join(value) if isinstance(value, list)
                                                    else when(value) if isinstance(value, datetime) else str(value)))
    if view["last_check"]:
        head.add_row("last check", literal(view["last_check"].get("explanation", "")))
    events = Listing(("#", "When", "Who", "Action", "From → to"), wrap=("Who", "From → to"), title="Audit trail",
                     title_justify="left")
    for e in view["events"]:
        events.add_row(str(e["seq"]), when(e["at"]), f"{e['actor']} ({e['role']})", e["action"],
                       f"{e['from_status'] or '∅'} → {e['to_status']}")
    cli.console.print(Panel(head, title=f"CAPA {capa_id}"))
    cli.console.print(events)
