"""``complaints user``: the people who sign in to the HTTP API and console, and their tokens."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from complaintflow.cli.context import CliContext, ctx_of
from complaintflow.cli.render import Listing, when
from complaintflow.users import services
from complaints.errors import InvalidInput
from complaints.steps import SYSTEM_ROLE

app = typer.Typer(help="Users of the HTTP API and console: add, disable, roles, passwords, tokens.",
                  no_args_is_help=True)
token_app = typer.Typer(help="API tokens of a user, for integrations: create (shown once), list, revoke.",
                        no_args_is_help=True)
app.add_typer(token_app, name="token")

Roles = Annotated[list[str], typer.Option("--role", "-r", help="a role the user may act in, repeatable")]


def _known_roles(cli: CliContext) -> set[str]:
    return {r for workflow in cli.app().registry for r in workflow.spec.roles} - {SYSTEM_ROLE}


def _password(from_stdin: bool) -> str:
    """From standard input (one line, for scripts) or typed twice at a hidden prompt."""
    if from_stdin:
        line = sys.stdin.readline()
        if not line:
            raise InvalidInput("Invalid password", ["standard input is empty"])
        return line.rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the sign-in name, e.g. ana")],
    roles: Roles,
    display_name: Annotated[str | None, typer.Option("--display-name", help="as shown (default: the name)")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from standard input")] = False,
    no_password: Annotated[bool, typer.Option("--no-password", help="no password: API tokens only")] = False,
) -> None:
    """Add a user who may act in the given roles."""
    cli = ctx_of(ctx)
    app_ = cli.app()
    password = None if no_password else _password(password_stdin)
    user = services.add_user(app_.db, app_.clock.now(), name, display_name or name, roles, _known_roles(cli),
                             password, by=cli.actor_name)
    if cli.json:
        cli.emit_json({"name": user.name, "display_name": user.display_name, "roles": list(user.roles)})
    else:
        cli.console.print(f"[green]✓[/] user {escape(user.name)} added, roles {', '.join(user.roles)}")


@app.command("disable")
def disable(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """Disable a user: sign-ins refused at once, every token revoked."""
    cli = ctx_of(ctx)
    user = services.disable_user(cli.app().db, cli.app().clock.now(), name, by=cli.actor_name)
    if cli.json:
        cli.emit_json({"name": user.name, "active": False})
    else:
        cli.console.print(f"[green]✓[/] user {escape(user.name)} disabled; their tokens are revoked")


@app.command("roles")
def roles_(ctx: typer.Context, name: Annotated[str, typer.Argument()], roles: Roles) -> None:
    """Set the roles a user may act in (replacing the ones they had)."""
    cli = ctx_of(ctx)
    user = services.set_roles(cli.app().db, cli.app().clock.now(), name, roles, _known_roles(cli), by=cli.actor_name)
    if cli.json:
        cli.emit_json({"name": user.name, "roles": list(user.roles)})
    else:
        cli.console.print(f"[green]✓[/] {escape(user.name)} may act as {', '.join(user.roles)}")


@app.command("password")
def password(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument()],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="read the password from standard input")] = False,
) -> None:
    """Set a user's password."""
    cli = ctx_of(ctx)
    services.set_password(cli.app().db, cli.app().clock.now(), name, _password(password_stdin), by=cli.actor_name)
    if cli.json:
        cli.emit_json({"name": name, "password": True})
    else:
        cli.console.print(f"[green]✓[/] password of {escape(name)} set")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """Every user, with roles and whether they are active."""
    cli = ctx_of(ctx)
    users = services.list_users(cli.app().db)
    if cli.json:
        cli.emit_json(users)
        return
    table = Listing(("Name", "Display name", "Roles", "Active", "Password"), wrap=("Display name",),
                    title="Users", title_justify="left", empty="No users yet (`complaints user add`).")
    for u in users:
        table.add_row(u["name"], u["display_name"], ", ".join(u["roles"]), "yes" if u["active"] else "no",
                      "yes" if u["password"] else "no")
    cli.console.print(table)


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the user the token acts as")],
    label: Annotated[str, typer.Option(help="what it is for, e.g. 'crm sync'")],
) -> None:
    """Make a token; it is printed once and never stored (only its hash is)."""
    cli = ctx_of(ctx)
    token = services.create_token(cli.app().db, cli.app().clock.now(), name, label, by=cli.actor_name)
    if cli.json:
        cli.emit_json({"id": token.id, "user": token.user, "label": token.label, "token": token.secret})
        return
    cli.console.print(f"[green]✓[/] token {token.id} ({escape(token.label)}) for {escape(token.user)}; "
                      "shown this once, keep it now:", soft_wrap=True)
    typer.echo(token.secret)


@token_app.command("list")
def token_list(ctx: typer.Context, name: Annotated[str, typer.Argument()]) -> None:
    """A user's tokens (their first characters only: the secrets are not stored)."""
    cli = ctx_of(ctx)
    tokens = services.list_tokens(cli.app().db, name)
    if cli.json:
        cli.emit_json(tokens)
        return
    table = Listing(("Id", "Label", "Starts", "Created", "Revoked"), wrap=("Label",),
                    title=f"Tokens of {name}", title_justify="left", empty="No tokens.")
    for t in tokens:
        table.add_row(str(t["id"]), t["label"], t["prefix"] + "…", when(t["created_at"]),
                      when(t["revoked_at"]) if t["revoked_at"] else "-")
    cli.console.print(table)


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, name: Annotated[str, typer.Argument()],
                 token_id: Annotated[int, typer.Argument(help="the token's id (see `token list`)")]) -> None:
    """Revoke a token: requests with it are refused from now on."""
    cli = ctx_of(ctx)
    result = services.revoke_token(cli.app().db, cli.app().clock.now(), name, token_id, by=cli.actor_name)
    if cli.json:
        cli.emit_json(result)
    else:
        cli.console.print(f"[green]✓[/] token {token_id} ({escape(result['label'])}) of {escape(name)} revoked")
