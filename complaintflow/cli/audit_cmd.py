"""``complaints audit seal``: one digest over the whole audit trail, to keep elsewhere."""

from __future__ import annotations

from typing import Annotated

import typer

from complaintflow.cli.context import ctx_of
from complaints.errors import InvalidInput
from complaints.sealing import check_seal, take_seal

app = typer.Typer(help="The audit trail: seal it, and check a seal taken earlier.", no_args_is_help=True)


@app.command()
def seal(
    ctx: typer.Context,
    check: Annotated[str | None, typer.Option("--check", help="a digest printed earlier: check it instead")] = None,
    up_to: Annotated[int | None, typer.Option("--up-to", min=0, help="the event id that seal covered")] = None,
) -> None:
    """Print one digest over every complaint's chain of events. Keep it elsewhere: a later
    `seal --check DIGEST --up-to N` then gives away a log rewritten since (exit 1)."""
    cli = ctx_of(ctx)
    app_ = cli.app()
    if check is None:
        if up_to is not None:
            raise InvalidInput("Invalid options", ["--up-to: only with --check"])
        taken = take_seal(app_.db, app_.clock.now())
        if cli.json:
            cli.emit_json({"digest": taken.digest, "up_to": taken.up_to, "complaints": taken.complaints,
                           "taken_at": taken.taken_at})
            return
        cli.console.print(f"{taken.digest}\n[dim]covers {taken.complaints} complaints' events up to event "
                          f"{taken.up_to}; check it later with: complaints audit seal --check {taken.digest} "
                          f"--up-to {taken.up_to}[/]")
        return
    if up_to is None:
        raise InvalidInput("Invalid options", ["--up-to: say which event the seal covered (it printed it)"])
    holds = check_seal(app_.db, check.strip().lower(), up_to)
    if cli.json:
        cli.emit_json({"digest": check, "up_to": up_to, "holds": holds})
    elif holds:
        cli.console.print(f"[green]✓[/] the audit trail up to event {up_to} still gives this seal")
    else:
        cli.console.print(f"[red]✗ the audit trail up to event {up_to} no longer gives this seal[/]: events were "
                          "changed, added or removed since; run `complaints db check` to see which")
    if not holds:
        raise typer.Exit(1)
