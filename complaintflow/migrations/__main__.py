"""Developer command: ``python -m complaintflow.migrations revision "add sla_clock table"``.

Autogenerates a migration for whatever the models have that the migrations don't yet build,
by comparing them with a temporary SQLite database upgraded to head. Review the file it
writes (renames look like a drop plus an add), then commit it with the models.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from complaintflow.migrations import heads, new_revision
from complaints.errors import ComplaintflowError

cli = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help="complaintflow schema migrations (developers)")


@cli.command()
def revision(message: Annotated[str, typer.Argument(help="what changed, e.g. 'add sla_clock table'")]) -> None:
    """Write a new migration for the difference between the models and the newest migration."""
    try:
        result = new_revision(message)
    except ComplaintflowError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(1) from exc
    if result.path is None:
        typer.echo(f"Nothing to do: the migrations (head {', '.join(heads())}) already build every model.")
        return
    typer.echo(f"Wrote revision {result.revision}: {result.path}\nReview it, then commit it with the models.")


@cli.command("heads")
def show_heads() -> None:
    """The newest revision(s); more than one means two branches need a merge revision."""
    typer.echo("\n".join(heads()) or "(no migrations)")


if __name__ == "__main__":
    sys.exit(cli())
