"""What every command shares: global options, the lazily built app, and output helpers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import typer
from rich.console import Console
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from complaintflow.bootstrap import App, build
from complaintflow.cli.render import terminal
from complaintflow.ops import check_ready
from complaintflow.settings import load_settings
from complaints.clock import Clock, FixedClock
from complaints.errors import InvalidInput
from complaints.safe_text import json_text
from complaints.steps import SYSTEM_ROLE, Actor


@dataclass
class CliContext:
    db: str | None = None
    actor_name: str = "cli"
    role: str = "handler"
    now: datetime | None = None
    json: bool = False
    debug: bool = False
    console: Console = field(default_factory=terminal)
    _app: App | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.actor_name, self.role, "cli")

    @property
    def clock(self) -> Clock | None:
        return FixedClock(self.now) if self.now else None

    def app(self, schema: bool = True) -> App:
        """Built on first use, so --help and workflow commands never touch a database; the
        database is checked to hold the current schema (``check_schema``) unless the command
        creates or inspects the schema itself (``schema=False``)."""
        if self._app is None:
            app = build(load_settings(database_url=self.db), clock=self.clock)
            try:
                _check_role(app, self.role)
                if schema:
                    check_ready(app, self.command)
            except BaseException:
                app.db.dispose()
                raise
            self._app = app
        return self._app

    def forget_app(self) -> None:
        """Drop the built app (its connections closed): the next use builds it again."""
        if self._app is not None:
            self._app.db.dispose()
            self._app = None

    def command(self, name: str) -> str:
        """How the user runs ``complaints <name>`` on the same database, for messages (a
        password in the URL masked: messages end up in logs)."""
        if not self.db:
            return f"complaints {name}"
        try:
            shown = make_url(self.db).render_as_string(hide_password=True)
        except ArgumentError:  # not a URL at all: building the app has said so already
            shown = self.db
        return f"complaints --db {shown} {name}"

    def emit_json(self, value: Any) -> None:
        """JSON for scripts, which a terminal can print: control characters written escaped."""
        typer.echo(json_text(value, default=_json_default, indent=2))


def _check_role(app: App, role: str) -> None:
    """A person acts in a role some workflow names; 'system' is the engine's own (timers,
    intake, the inbox), so a person claiming it could take actions no person may take."""
    roles = {r for workflow in app.engine.registry for r in workflow.spec.roles} - {SYSTEM_ROLE}
    if role not in roles:
        raise InvalidInput("Invalid --role", [f"'{role}' is no role a person acts in (roles: {', '.join(sorted(roles))})"])


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def ctx_of(ctx: typer.Context) -> CliContext:
    obj = ctx.find_root().obj
    if not isinstance(obj, CliContext):  # a sub-app invoked on its own (tests)
        obj = CliContext()
        ctx.find_root().obj = obj
    return obj
