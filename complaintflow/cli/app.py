"""The ``complaints`` command line: the composition root, nothing imports it.

Global options go before the command: ``complaints --db sqlite:///x.db --actor ana list``.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Collection
from datetime import datetime
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from complaintflow.bootstrap import init_database
from complaintflow.cli import render
from complaintflow.cli.audit_cmd import app as audit_app
from complaintflow.cli.context import CliContext, ctx_of
from complaintflow.cli.db_cmd import app as db_app
from complaintflow.cli.metrics_cmd import app as metrics_app
from complaintflow.cli.ops_cmd import app as ops_app
from complaintflow.cli.outbox_cmd import app as outbox_app
from complaintflow.cli.outbox_cmd import replies_app, show_preview
from complaintflow.cli.render import terminal
from complaintflow.cli.rootcause_cmd import app as rootcause_app
from complaintflow.cli.rootcause_cmd import related_of, related_table, with_related
from complaintflow.cli.search_cmd import customer_app
from complaintflow.cli.search_cmd import note as note_command
from complaintflow.cli.search_cmd import search as search_command
from complaintflow.cli.sla_cmd import app as sla_app
from complaintflow.cli.sla_cmd import with_clocks
from complaintflow.cli.user_cmd import app as user_app
from complaintflow.cli.workflow_cmd import app as workflow_app
from complaintflow.keys import ensure_pseudonym_key
from complaintflow.schema import HEAD
from complaints.errors import ComplaintflowError, InvalidInput
from complaints.importers import ImportOptions, read_file
from complaints.safe_text import json_text
from complaints.schemas import CHANNELS, SEVERITIES, parse_complaint
from escalation.due_words import with_due_words
from workflows.engine import WorkflowEngine
from workflows.queries import case_view, list_cases

app = typer.Typer(
    name="complaints",
    help="complaintflow: take in complaints and walk them through their lifecycle.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(workflow_app, name="workflow")
app.add_typer(sla_app, name="sla")
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(ops_app)  # top-level commands: flows, run, schedule
app.add_typer(rootcause_app, name="rootcause")
app.add_typer(metrics_app, name="metrics")
app.add_typer(outbox_app, name="outbox")
app.add_typer(replies_app, name="replies")
app.add_typer(user_app, name="user")
app.add_typer(customer_app, name="customer")
app.command("search")(search_command)
app.command("note")(note_command)


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO time such as 2026-11-23T09:30:00Z", param_hint="--now") from exc


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[str | None, typer.Option("--db", help="database URL (env COMPLAINTS_DATABASE_URL; default sqlite:///complaintflow.db)")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="who is acting (default: your user name)")] = None,
    role: Annotated[str, typer.Option("--role", help="the actor's role: handler, supervisor, specialist, executive, quality")] = "handler",
    now: Annotated[str | None, typer.Option("--now", help="ISO time replacing the clock (replay, tests)")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="machine-readable JSON output")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="show tracebacks")] = False,
) -> None:
    ctx.obj = CliContext(db=db, actor_name=actor or _user(), role=role, now=_parse_now(now), json=json_out, debug=debug)


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "cli"


@app.command()
def version(ctx: typer.Context) -> None:
    """The version of complaintflow and of the database schema it works with."""
    cli = ctx_of(ctx)
    installed = package_version("complaintflow")
    if cli.json:
        cli.emit_json({"complaintflow": installed, "schema": HEAD})
    else:
        cli.console.print(f"complaintflow {installed} (schema {HEAD})")


@app.command()
def init(ctx: typer.Context) -> None:
    """Create (or upgrade) the database schema, and make this installation's pseudonym key."""
    cli = ctx_of(ctx)
    app_ = cli.app(schema=False)
    init_database(app_.db)
    made = ensure_pseudonym_key(app_.settings)
    if made is not None:  # the app was built without it: build it again when it is next used
        cli.forget_app()
    if cli.json:
        cli.emit_json({"database": app_.db.shown_url, "schema": HEAD, "initialised": True,
                       "pseudonym_key_file": str(made) if made else None})
        return
    cli.console.print(f"[green]✓[/] database ready: {escape(app_.db.shown_url)} (schema {HEAD})")
    if made is not None:
        cli.console.print(f"[green]✓[/] pseudonym key made in {escape(str(made))}: keep a copy of it outside the "
                          "database; without it, repeat complaints of a customer are no longer recognised")


@app.command()
def intake(
    ctx: typer.Context,
    product: Annotated[str, typer.Option(help="product or service complained about")],
    description: Annotated[str, typer.Option(help="the complaint in the customer's words")],
    channel: Annotated[str, typer.Option(help=f"one of {', '.join(CHANNELS)}")] = "web",
    customer_name: Annotated[str | None, typer.Option()] = None,
    customer_email: Annotated[str | None, typer.Option()] = None,
    customer_phone: Annotated[str | None, typer.Option()] = None,
    severity: Annotated[str, typer.Option(help=f"one of {', '.join(SEVERITIES)}")] = "medium",
    language: Annotated[str, typer.Option(help="ISO 639-1 code of the customer's language")] = "en",
    external_id: Annotated[str | None, typer.Option(help="id in the source system; makes intake idempotent")] = None,
    company: Annotated[str | None, typer.Option()] = None,
    category: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Take in one complaint, acknowledge it, and print its reference."""
    cli = ctx_of(ctx)
    raw: dict[str, Any] = {"product": product, "description": description, "channel": channel,
                           "severity": severity, "language": language, "external_id": external_id,
                           "company": company, "category": category}
    customer = {k: v for k, v in (("name", customer_name), ("email", customer_email), ("phone", customer_phone)) if v}
    if customer:
        raw["customer"] = customer
    record = parse_complaint({k: v for k, v in raw.items() if v is not None})
    reference, created = cli.app().intake.take_in_one(record, cli.actor)
    view = case_view(cli.app().engine, reference, cli.actor)
    view = with_related(cli, view, always=False)
    if cli.json:
        cli.emit_json(view | {"created": created})
        return
    if created:
        cli.console.print(f"[green]✓[/] {reference} taken in and acknowledged ({view['state']}, {view['tier']})")
    else:
        cli.console.print(f"[yellow]=[/] external id {escape(external_id or '')} is already {reference}; nothing new stored")
    for panel in view.get("extra_panels", []):
        cli.console.print(panel)
    typer.echo(reference)


@app.command("import")
def import_(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV, JSON, JSON lines or .xlsx file (docs/importing.md)")],
    format: Annotated[str | None, typer.Option("--format", help="cfpb, csv, json or xlsx (default: detected)")] = None,
    map_: Annotated[str | None, typer.Option("--map", help="mapping of the file's columns: a shipped one by name "
                                             "(cfpb, complaint_site_tr, housing_ombudsman) or a YAML file")] = None,
    date_format: Annotated[str | None, typer.Option("--date-format", help="how the dates are written, as strptime "
                                                    "reads them, e.g. '%d.%m.%Y' (default: decided per column)")] = None,
    dayfirst: Annotated[bool | None, typer.Option("--dayfirst/--monthfirst", help="read 03/04/2020 as 3 April "
                                                  "(or as March 4) where a date column can't tell")] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help="the file's encoding, e.g. cp1257 (default: "
                                                 "detected)")] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="the workbook's sheet (default: the first)")] = None,
    historical: Annotated[bool, typer.Option("--historical", help="the file is history: each case as received on "
                                             "its date, no letter for what happened before now, closed ones closed "
                                             "(closed_at, outcome)")] = False,
) -> None:
    """Import complaints from a file; bad rows are reported with their row numbers, good rows kept."""
    cli = ctx_of(ctx)
    options = ImportOptions(mapping=map_, date_format=date_format, dayfirst=dayfirst, encoding=encoding, sheet=sheet)
    rows = read_file(file, format, options)  # type: ignore[arg-type]
    with Progress(TextColumn("[bold]importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=terminal(stderr=True), disable=cli.json or not sys.stderr.isatty()) as progress:
        task = progress.add_task("import", total=None if progress.disable else rows.total)
        report = cli.app().intake.take_in(rows, cli.actor, on_batch=lambda n: progress.advance(task, n),
                                          historical=historical or rows.historical)
    summary = {"file": str(file), "read": rows.summary(), "historical": historical or rows.historical,
               "created": len(report.created),
               "duplicates": len(report.duplicates), "errors": report.refusals()}
    if cli.json:
        cli.emit_json(summary | {"references": [ref for _, ref in report.created]})
    else:
        cli.console.print(f"read as {escape(rows.described())}")
        cli.console.print(f"[green]{summary['created']} created[/], {summary['duplicates']} already known, "
                          f"[red]{len(report.errors)} rejected[/]")
        for row, why in report.errors[:50]:
            cli.console.print(f"  [red]✗[/] {escape(why)}" if why.startswith("row") else f"  [red]✗[/] row {row}: {escape(why)}")
        if len(report.errors) > 50:
            cli.console.print(f"  … and {len(report.errors) - 50} more")
    if report.errors:
        raise typer.Exit(1)


@app.command("list")
def list_(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="only this state")] = None,
    tier: Annotated[str | None, typer.Option(help="only this tier")] = None,
    queue: Annotated[str | None, typer.Option(help="only this queue")] = None,
    assignee: Annotated[str | None, typer.Option(help="only cases assigned to this handler")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """Complaints sorted by their nearest deadline, said in business time ("overdue by 2
    business days", in red)."""
    cli = ctx_of(ctx)
    engine = cli.app().engine
    rows = with_due_words(list_cases(engine, state=state, tier=tier, queue=queue, assignee=assignee, limit=limit),
                          engine.registry, engine.clock.now())
    if cli.json:
        cli.emit_json(rows)
    else:
        chosen = {"state": state, "tier": tier, "queue": queue, "assignee": assignee}
        filters = ", ".join(f"{name} '{value}'" for name, value in chosen.items() if value)
        cli.console.print(render.cases_table(rows, empty=f"No complaints with {filters}." if filters else "No complaints yet."))


@app.command()
def show(ctx: typer.Context, reference: Annotated[str, typer.Argument(help="e.g. C-2026-000123")]) -> None:
    """One complaint: details, allowed actions, timeline, timers and notifications."""
    cli = ctx_of(ctx)
    view = with_clocks(case_view(cli.app().engine, reference, cli.actor), cli.app().engine, cli.json)
    if cli.json:
        cli.emit_json(with_related(cli, view))
        return
    # The case first: finding related complaints loads the text-similarity libraries (a second
    # or more), and the handler can read meanwhile.
    cli.console.print(render.case_panel(view))
    cli.console.print(related_table(related_of(cli, reference)))


def _fields(pairs: list[str], lists: Collection[str] = ()) -> dict[str, str | list[str]]:
    """``-f key=value`` options as a payload. A field of type list (``lists``) takes one value
    per ``-f`` (or a comma-separated one); any other field given twice is an error, not the
    last value silently kept."""
    payload: dict[str, str | list[str]] = {}
    problems = []
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(f"{pair!r} must look like key=value")
        elif key in lists:
            given = payload.setdefault(key, [])
            assert isinstance(given, list)
            given += [part.strip() for part in value.split(",") if part.strip()]
        elif key in payload:
            problems.append(f"{key}: given twice ({payload[key]!r} and {value!r}); only a list field "
                            "takes -f more than once")
        else:
            payload[key] = value
    if problems:
        raise InvalidInput("Invalid --field", problems)
    return payload


def _list_fields(engine: WorkflowEngine, reference: str, action: str) -> list[str]:
    """The fields of type list that ``action`` takes on this case's workflow (none if the
    action is unknown there: the engine then says so itself)."""
    spec = engine.workflow_of(engine.get(reference)).spec
    transition = spec.transitions.get(action)
    return [name for name, f in transition.fields.items() if f.type == "list"] if transition else []


@app.command()
def advance(
    ctx: typer.Context,
    reference: Annotated[str, typer.Argument(help="complaint reference")],
    action: Annotated[str, typer.Argument(help="action name (see `complaints show REF`)")],
    field: Annotated[list[str] | None, typer.Option("--field", "-f", help="key=value, repeatable")] = None,
    expected_version: Annotated[int | None, typer.Option("--expected-version", help="fail if the case moved on")] = None,
    preview: Annotated[bool, typer.Option("--preview", help="show the letters it would send; do nothing")] = False,
) -> None:
    """Perform an action on a complaint (or, with --preview, show what it would do and send)."""
    cli = ctx_of(ctx)
    engine = cli.app().engine
    payload = _fields(field or [], _list_fields(engine, reference, action) if field else ())
    if preview:
        show_preview(cli, engine.preview(reference, action, cli.actor, payload), reference)
        return
    step = engine.advance(reference, action, cli.actor, payload, expected_version)
    if cli.json:
        cli.emit_json(case_view(cli.app().engine, reference, cli.actor))
        return
    move = f"{step.from_state} → {step.to_state}" if step.state_changed else f"stays {step.to_state}"
    cli.console.print(f"[green]✓[/] {reference} {action}: {move} (tier {step.tier}, version {step.seq})")
    for note in step.notifications:
        cli.console.print(f"  ✉ queued '{note.template}' ({note.language})")
    for timer in step.timers:
        cli.console.print(f"  ⏱ {timer.action} due {render.when(timer.due_at)}")


@app.command("advance-many")
def advance_many(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="JSON Lines: one {reference, action, payload?, expected_version?} per line")],
) -> None:
    """Perform many actions in one transaction: all of them, or none if any is refused."""
    from complaints.moves import read_moves

    cli = ctx_of(ctx)
    moves = read_moves(file)
    steps = cli.app().engine.advance_many(moves, cli.actor)
    if cli.json:
        cli.emit_json([{"reference": m.reference, "action": s.action, "from": s.from_state, "to": s.to_state,
                        "tier": s.tier, "version": s.seq} for m, s in zip(moves, steps, strict=True)])
        return
    cli.console.print(render.moves_table([(m.reference, s) for m, s in zip(moves, steps, strict=True)]))


@app.command()
def erase(
    ctx: typer.Context,
    reason: Annotated[str, typer.Option(help="why (the request and its date): kept in the audit trail")],
    email: Annotated[str | None, typer.Option(help="the customer's email address")] = None,
    reference: Annotated[str | None, typer.Option(help="any complaint of the customer")] = None,
) -> None:
    """Erase a customer's personal data; complaints and their audit trail are kept."""
    from complaints.privacy import erase_customer

    cli = ctx_of(ctx)
    app_ = cli.app()
    result = erase_customer(app_.db, app_.clock.now(), cli.actor, reason, email=email, reference=reference)
    if cli.json:
        cli.emit_json(result)
    else:
        done = "personal data erased" if result["erased"] else "already erased; what was left is masked now"
        cli.console.print(f"[green]✓[/] {done}; {len(result['complaints_kept'])} complaint(s) kept with their "
                          f"audit trail ({', '.join(result['complaints_kept'])}), each with an erase event. Masked: "
                          f"{result['descriptions_masked']} description(s), {result['data_masked']} case record(s), "
                          f"{result['events_masked']} event(s), {result['notifications_redacted']} letter(s); "
                          f"{result['notifications_cancelled']} unsent letter(s) cancelled")


@app.command()
def demo(
    ctx: typer.Context,
    database: Annotated[Path, typer.Option("--database", help="SQLite file to (re)create")] = Path("complaintflow-demo.db"),
    sample: Annotated[Path | None, typer.Option(help="CFPB CSV to import (default: the bundled sample)")] = None,
) -> None:
    """Fresh SQLite database, sample data imported, every branch of the lifecycle walked, summary printed."""
    from complaintflow.demo import run_demo

    cli = ctx_of(ctx)
    result = run_demo(database, sample, console=None if cli.json else cli.console)
    if cli.json:
        cli.emit_json(result)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="worker processes")] = 1,
) -> None:
    """Serve the HTTP API (docs/api.md) under uvicorn; users sign in (`complaints user add`)."""
    import os

    import uvicorn

    cli = ctx_of(ctx)
    cli.app()  # the schema checked here, with the CLI's message, before any worker starts
    cli.forget_app()
    if cli.db:  # every worker builds its own app from the environment
        os.environ["COMPLAINTS_DATABASE_URL"] = cli.db
    uvicorn.run("complaintflow.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", proxy_headers=False)


def main() -> None:
    """Entry point: one clear line and exit 1 for any error, tracebacks only with --debug;
    with --json the error is a JSON object on standard error instead (``_fail``)."""
    flags = _global_flags(sys.argv[1:])
    debug, as_json = "--debug" in flags, "--json" in flags
    err = terminal(stderr=True)
    try:
        code = app(standalone_mode=False)  # a command's typer.Exit(n) comes back here as n, not raised
        if isinstance(code, int) and code:
            sys.exit(code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("[red]Aborted.[/]")
        sys.exit(130)
    except ComplaintflowError as exc:
        if debug:
            raise
        _fail(err, "; ".join([str(exc), *getattr(exc, "__notes__", [])]), 1, exc, as_json)
    except typer.TyperException as exc:  # usage errors (typer's bundled click): bad option, missing argument
        if debug:
            raise
        _fail(err, exc.format_message(), exc.exit_code, exc, as_json)
    except OSError as exc:  # a file that can't be read or written: say which and why, as the shell would
        if debug:
            raise
        _fail(err, f"{exc.filename}: {exc.strerror}" if exc.filename and exc.strerror else str(exc), 1, exc, as_json)
    except Exception as exc:  # anything unexpected, e.g. a database that can't be reached
        if debug:
            raise
        first_line = next(iter(str(exc).strip().splitlines()), "")
        _fail(err, f"{type(exc).__name__}: {first_line} (run with --debug for details)", 1, exc, as_json)


#: The global options that take a value; every global option comes before the command.
_VALUED = ("--db", "--actor", "--role", "--now")


def _global_flags(argv: list[str]) -> set[str]:
    """The flags given before the command (``--json``, ``--debug``): a value the command is
    given ("--json" as a description, say) is no flag."""
    flags: set[str] = set()
    tokens = iter(argv)
    for token in tokens:
        if not token.startswith("-"):
            break  # the command
        if token in _VALUED:
            next(tokens, None)
        flags.add(token.split("=", 1)[0])
    return flags


def _fail(err: Console, message: str, code: int, exc: BaseException, as_json: bool) -> None:
    """Print the message as text, never as rich markup (it may quote '[...]' the user typed);
    with ``--json``, as ``{"error": {"type", "message", ...}}`` with what the error holds
    (``problems``, ``reference``, ``allowed`` ...) for a script to act on."""
    if as_json:
        details = {k: v for k, v in vars(exc).items() if not k.startswith("_")} \
            if isinstance(exc, ComplaintflowError) else {}
        error = {"type": type(exc).__name__, "message": message, "exit_code": code}
        sys.stderr.write(json_text({"error": error | details}, default=str) + "\n")
    else:
        err.print(f"[red]Error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)
