"""``complaints db upgrade | current | check``: schema migrations and the integrity check."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from complaintflow.cli.context import ctx_of
from complaintflow.cli.render import Listing, terminal
from complaintflow.schema import check_exists
from complaintflow.users.services import verify_access_log
from complaints.db import Database
from workflows.integrity import DEFAULT_BATCH_SIZE, IntegrityReport, check_integrity, count_complaints

app = typer.Typer(help="Schema migrations and the event-log integrity check.", no_args_is_help=True)

#: The table shows this many problems; --json lists them all.
SHOWN_PROBLEMS = 100


def _name(db: Database) -> str:
    """The database as a person reads it in a message: password masked, shown as written."""
    return escape(db.shown_url)


@app.command()
def upgrade(ctx: typer.Context) -> None:
    """Create the schema, or upgrade it to the newest migration (SQLite or PostgreSQL)."""
    from complaintflow.migrations import current, heads
    from complaintflow.migrations import upgrade as run_upgrade

    cli = ctx_of(ctx)
    db = cli.app(schema=False).db
    before = current(db)
    run_upgrade(db)
    after = current(db)
    if cli.json:
        cli.emit_json({"database": db.shown_url, "from": before, "to": after, "changed": before != after})
    elif before == after:
        cli.console.print(f"[green]✓[/] {_name(db)} is already at the newest revision {', '.join(after)}")
    else:
        was = ", ".join(before) or "an empty database"
        cli.console.print(f"[green]✓[/] {_name(db)} upgraded from {was} to {', '.join(after)} (head {', '.join(heads())})")


@app.command("current")
def current_(ctx: typer.Context) -> None:
    """The revision the database is at, and whether the code has newer migrations."""
    from complaintflow.migrations import current, heads

    cli = ctx_of(ctx)
    db = cli.app(schema=False).db
    check_exists(db, cli.command)
    at, newest = current(db), heads()
    up_to_date = sorted(at) == sorted(newest)
    if cli.json:
        cli.emit_json({"database": db.shown_url, "current": at, "head": newest, "up_to_date": up_to_date})
    elif up_to_date:
        cli.console.print(f"{_name(db)}: revision {', '.join(at)} [green](head)[/]")
    else:
        cli.console.print(f"{_name(db)}: revision {', '.join(at) or '(none)'} [yellow]behind head "
                          f"{', '.join(newest)}[/]; run `complaints db upgrade`")


@app.command()
def check(
    ctx: typer.Context,
    batch_size: Annotated[int, typer.Option(min=1, max=100_000, help="complaints read per batch")] = DEFAULT_BATCH_SIZE,
) -> None:
    """Replay every complaint's event log and compare it with the stored case and its timers.

    Exit 1 if any complaint differs; each difference names the complaint's reference.
    """
    cli = ctx_of(ctx)
    application = cli.app()
    total = count_complaints(application.db)
    with Progress(TextColumn("[bold]checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=terminal(stderr=True), disable=cli.json or not sys.stderr.isatty()) as progress:
        task = progress.add_task("check", total=total)
        report = check_integrity(application.db, application.registry, batch_size,
                                 on_batch=lambda n: progress.advance(task, n))
    access = verify_access_log(application.db)  # sign-ins, refusals, users and tokens: its own chain
    if cli.json:
        cli.emit_json({"database": application.db.shown_url, "checked": report.checked,
                       "ok": report.ok and not access, "complaints_with_problems": report.references,
                       "problems": [{"reference": p.reference, "aspect": p.aspect, "message": p.message}
                                    for p in report.problems], "access_log_problems": access})
    else:
        _print_report(cli.console, report)
        for problem in access:
            cli.console.print(f"[red]✗[/] access log: {escape(problem)}")
    if not report.ok or access:
        raise typer.Exit(1)


def _print_report(console: Console, report: IntegrityReport) -> None:
    if report.ok:
        console.print(f"[green]✓[/] {report.checked} complaints match their event logs and timers")
        return
    table = Listing(("Reference", "Aspect", "Difference"), wrap=("Difference",),
                    title=f"{len(report.references)} of {report.checked} complaints differ "
                          "from their event log or wait on a refused timer")
    for problem in report.problems[:SHOWN_PROBLEMS]:
        table.add_row(problem.reference, problem.aspect, problem.message)
    console.print(table)
    if len(report.problems) > SHOWN_PROBLEMS:
        console.print(f"… and {len(report.problems) - SHOWN_PROBLEMS} more (use --json for all)")
