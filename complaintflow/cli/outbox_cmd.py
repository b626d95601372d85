"""``complaints outbox list | show | hold | release | edit | cancel | resend | send`` and
``complaints replies read``: the letters on their way to customers, and the replies coming back.

Each change a person makes to a letter is an event on its case (``complaints.outbox``). A role
the case's workflow does not show personal data reads the letters masked, and may not edit them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from complaintflow.cli.context import CliContext, ctx_of
from complaintflow.cli.render import Listing, clip, literal, when
from complaints import outbox
from complaints.privacy import withheld_text
from complaints.repository import NOTE_CANCELLED, NOTE_FAILED, NOTE_HELD, NOTE_QUEUED, NOTE_SENDING, NOTE_SENT
from complaints.steps import Step
from complaints.uow import UnitOfWork
from workflows.compiled import CompiledWorkflow

STATUSES = (NOTE_QUEUED, NOTE_HELD, NOTE_SENDING, NOTE_SENT, NOTE_FAILED, NOTE_CANCELLED)
SHOWN = ("id", "reference", "template", "language", "channel", "status", "attempts", "next_attempt_at", "sent_at",
         "created_at", "event_seq", "subject", "body", "recipient", "message_id", "last_error")

app = typer.Typer(help="Letters to customers: list, read, hold, release, edit, cancel, send again, send now.",
                  no_args_is_help=True)
replies_app = typer.Typer(help="Customers' replies: read the .eml files waiting in the reply folder.",
                          no_args_is_help=True)

Note = Annotated[str, typer.Option("--note", help="why (kept in the audit trail)")]


def _shown(cli: CliContext, letter: dict[str, Any]) -> dict[str, Any]:
    """The letter as the acting role may read it: masked where its workflow does not show
    that role personal data."""
    row = {key: letter.get(key) for key in SHOWN}
    if _may_read(cli, letter):
        return row
    name = letter.get("customer_name")
    return {**row, "body": withheld_text(letter["body"], name), "subject": withheld_text(row["subject"] or "", name),
            "recipient": "[withheld]" if letter.get("recipient") else None}


def _workflow(cli: CliContext, letter: dict[str, Any]) -> CompiledWorkflow:
    return cli.app().registry.get(letter["workflow_name"], letter["workflow_version"])


def _may_read(cli: CliContext, letter: dict[str, Any]) -> bool:
    return _workflow(cli, letter).shows_personal_data_to(cli.role)


def _letter(cli: CliContext, letter_id: int) -> dict[str, Any]:
    with UnitOfWork(cli.app().db) as uow:
        return uow.outbox.letter(letter_id)


def _may_change(cli: CliContext, letter_id: int, verb: str) -> None:
    """Refused for the role, whatever the letter's status: a role that reads the letter masked
    would write to a customer it does not know."""
    letter = _letter(cli, letter_id)
    _workflow(cli, letter).check_shows_personal_data_to(
        cli.role, f"{verb} letter {letter_id} ('{letter['template']}' of {letter['reference']})")


def show_preview(cli: CliContext, step: Step, reference: str) -> None:
    """What ``advance --preview`` prints: the step's move and each letter it would send."""
    letters = [{"id": "(preview)", "reference": reference, "template": n.template, "language": n.language,
                "channel": n.channel, "status": "held" if n.held else "queued", "subject": n.subject, "body": n.body}
               for n in step.notifications]
    if cli.json:
        cli.emit_json({"preview": True, "reference": reference, "action": step.action, "from": step.from_state,
                       "to": step.to_state, "tier": step.tier, "letters": letters,
                       "timers": [{"action": t.action, "due_at": t.due_at} for t in step.timers]})
        return
    move = f"{step.from_state} → {step.to_state}" if step.state_changed else f"stays {step.to_state}"
    cli.console.print(f"[yellow]preview[/] {reference} {step.action}: {move} (tier {step.tier}); nothing was done")
    for letter in letters:
        cli.console.print(letter_panel(letter))
    if not letters:
        cli.console.print("  no letter would be sent")


@app.command("list")
def list_(
    ctx: typer.Context,
    status: Annotated[list[str] | None, typer.Option("--status", help=f"only these: {', '.join(STATUSES)}")] = None,
    reference: Annotated[str | None, typer.Option(help="only this complaint's letters")] = None,
    template: Annotated[str | None, typer.Option(help="only letters of this template")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 50,
) -> None:
    """Letters, newest first: what waits, what went, what failed and why."""
    cli = ctx_of(ctx)
    unknown = [s for s in status or [] if s not in STATUSES]
    if unknown:
        raise typer.BadParameter(f"{', '.join(unknown)}: a status is one of {', '.join(STATUSES)}", param_hint="--status")
    with UnitOfWork(cli.app().db) as uow:
        letters = [_shown(cli, r) for r in uow.outbox.letters(status or (), reference, template, limit)]
    if cli.json:
        cli.emit_json(letters)
        return
    table = Listing(("#", "Reference", "Template", "Lang", "Channel", "Status", "Tries", "Due / sent", "Error"),
                    wrap={"Error": None, "Due / sent": len("2026-12-01")}, spare=("Channel", "Tries", "Lang"),
                    title="Letters", empty="No letters.")
    for r in letters:
        due = r["sent_at"] if r["status"] == NOTE_SENT else r["next_attempt_at"] if r["status"] == NOTE_QUEUED else None
        table.add_row(str(r["id"]), r["reference"], r["template"], r["language"], r["channel"],
                      Text(r["status"], style=_STYLE.get(r["status"], "")), str(r["attempts"]), when(due) or "-",
                      clip(r["last_error"] or "", 120))
    cli.console.print(table)


_STYLE = {NOTE_HELD: "yellow", NOTE_FAILED: "bold red", NOTE_SENT: "green", NOTE_CANCELLED: "dim"}


@app.command()
def show(ctx: typer.Context, letter_id: Annotated[int, typer.Argument(help="the letter's number (outbox list)")]) -> None:
    """One letter: to whom, its subject and text, and what happened to it."""
    cli = ctx_of(ctx)
    letter = _shown(cli, _letter(cli, letter_id))
    if cli.json:
        cli.emit_json(letter)
        return
    cli.console.print(letter_panel(letter))


def letter_panel(letter: dict[str, Any]) -> Panel:
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    for label, key in (("Complaint", "reference"), ("Template", "template"), ("Language", "language"),
                       ("Channel", "channel"), ("Status", "status"), ("Attempts", "attempts"), ("To", "recipient"),
                       ("Message-ID", "message_id"), ("Error", "last_error")):
        if letter.get(key) not in (None, ""):
            head.add_row(label, literal(str(letter[key])))
    for label, key in (("Queued", "created_at"), ("Due", "next_attempt_at"), ("Sent", "sent_at")):
        if letter.get(key):
            head.add_row(label, when(letter[key]))
    subject = Text(f"Subject: {letter.get('subject') or letter['reference']}", style="bold")
    return Panel(Group(head, Text(""), subject, Text(""), literal(letter["body"])), title=f"Letter {letter['id']}")


def _done(cli: CliContext, letter: dict[str, Any], what: str) -> None:
    if cli.json:
        cli.emit_json(_shown(cli, letter))
    else:
        cli.console.print(f"[green]✓[/] letter {letter['id']} ('{letter['template']}' of {letter['reference']}) {what}")


@app.command()
def hold(ctx: typer.Context, letter_id: Annotated[int, typer.Argument()], note: Note = "") -> None:
    """Keep a queued or failed letter back until someone releases it."""
    cli = ctx_of(ctx)
    _may_change(cli, letter_id, "hold")
    _done(cli, outbox.hold(cli.app().db, cli.app().clock.now(), letter_id, cli.actor, note), "is held")


Ids = Annotated[list[int] | None, typer.Argument(help="the letters' numbers (outbox list)", show_default=False)]
AllHeld = Annotated[bool, typer.Option("--all-held", help="every held letter (of --template / --reference)")]
Template = Annotated[str | None, typer.Option("--template", help="with --all-held: only this template's letters")]
Reference = Annotated[str | None, typer.Option("--reference", help="with --all-held: only this complaint's letters")]


def _chosen(cli: CliContext, ids: list[int] | None, all_held: bool, template: str | None,
            reference: str | None) -> list[int]:
    """The letters named, or with ``--all-held`` every held one (of a template, a complaint):
    the letters a migration held, or a day's final responses, are released or cancelled at once."""
    if bool(ids) == all_held:
        raise typer.BadParameter("name the letters, or give --all-held (not both)", param_hint="LETTER_IDS")
    if (template or reference) and not all_held:
        raise typer.BadParameter("--template and --reference choose among --all-held", param_hint="--all-held")
    if ids:
        return ids
    with UnitOfWork(cli.app().db) as uow:
        return [r["id"] for r in uow.outbox.letters((NOTE_HELD,), reference, template, limit=1_000_000)][::-1]


def _each(cli: CliContext, ids: list[int], verb: str, change: Any, done: str) -> None:
    """Apply ``change`` to each letter in a transaction of its own (each is its own audit event)."""
    changed = []
    for letter_id in ids:
        _may_change(cli, letter_id, verb)
        changed.append(change(letter_id))
    if cli.json:
        cli.emit_json([_shown(cli, letter) for letter in changed])
    elif len(changed) == 1:
        _done(cli, changed[0], done)
    else:
        cli.console.print(f"[green]✓[/] {len(changed)} letters {done}")


@app.command()
def release(ctx: typer.Context, letter_ids: Ids = None, all_held: AllHeld = False, template: Template = None,
            reference: Reference = None, note: Note = "") -> None:
    """Let held letters go now."""
    cli = ctx_of(ctx)
    ids = _chosen(cli, letter_ids, all_held, template, reference)
    _each(cli, ids, "release", lambda i: outbox.release(cli.app().db, cli.app().clock.now(), i, cli.actor, note),
          "released" if len(ids) > 1 else "is released")


@app.command()
def cancel(ctx: typer.Context, reason: Annotated[str, typer.Option(help="why (kept in the audit trail)")],
           letter_ids: Ids = None, all_held: AllHeld = False, template: Template = None,
           reference: Reference = None) -> None:
    """Never send these letters."""
    cli = ctx_of(ctx)
    ids = _chosen(cli, letter_ids, all_held, template, reference)
    _each(cli, ids, "cancel", lambda i: outbox.cancel(cli.app().db, cli.app().clock.now(), i, cli.actor, reason),
          "cancelled" if len(ids) > 1 else "is cancelled")


@app.command()
def resend(ctx: typer.Context, letter_id: Annotated[int, typer.Argument()], note: Note = "") -> None:
    """Send again: a failed or cancelled letter is queued once more; a sent one is copied."""
    cli = ctx_of(ctx)
    _may_change(cli, letter_id, "resend")
    letter = outbox.resend(cli.app().db, cli.app().clock.now(), letter_id, cli.actor, note)
    _done(cli, letter, f"is queued again (as letter {letter['id']})" if letter.get("copy_of") else "is queued again")


@app.command()
def edit(
    ctx: typer.Context,
    letter_id: Annotated[int, typer.Argument()],
    body_file: Annotated[Path | None, typer.Option("--body-file", help="a UTF-8 text file with the new text")] = None,
    body: Annotated[str | None, typer.Option("--body", help="the new text")] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="the new subject")] = None,
    release_it: Annotated[bool, typer.Option("--release", help="let a held letter go with the change")] = False,
) -> None:
    """Change the text of a letter not yet sent; the audit trail keeps the text before and after."""
    cli = ctx_of(ctx)
    if body is not None and body_file is not None:
        raise typer.BadParameter("give the new text with --body or --body-file, not both", param_hint="--body")
    text = body_file.read_text(encoding="utf-8") if body_file is not None else body
    _may_change(cli, letter_id, "edit")
    letter = outbox.edit(cli.app().db, cli.app().clock.now(), letter_id, cli.actor, text, subject, release_it)
    _done(cli, letter, "is edited" + (" and released" if letter["status"] == NOTE_QUEUED and release_it else ""))


@app.command()
def send(
    ctx: typer.Context,
    batch_size: Annotated[int | None, typer.Option(min=1, max=10_000, help="letters claimed at once")] = None,
    max_batches: Annotated[int | None, typer.Option(min=1, help="stop after this many batches")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="list each letter sent, retried or failed")] = False,
) -> None:
    """Send the letters due now, then the root-cause notices due to the quality team (what the
    deliver-outbox flow does every minute)."""
    from complaintflow.delivery import send_due

    cli = ctx_of(ctx)
    report = send_due(cli.app(), batch_size, max_batches)
    if cli.json:
        cli.emit_json(report.as_dict())
    else:
        cli.console.print(f"{len(report.sent)} sent, {len(report.retried)} to try again later, "
                          f"[red]{len(report.failed)} failed[/]" if report.failed else
                          f"{len(report.sent)} sent, {len(report.retried)} to try again later, 0 failed")
        for line in (report.sent if verbose else []) + report.retried + report.failed:
            cli.console.print(Text(f"  {line}"))
        notices = report.notices
        if notices is not None and (notices.sent or notices.retried or notices.failed):
            cli.console.print(f"Root-cause notices: {len(notices.sent)} sent, {len(notices.retried)} to try again "
                              f"later, {len(notices.failed)} failed")
            for line in (notices.sent if verbose else []) + notices.retried + notices.failed:
                cli.console.print(Text(f"  {line}"))
    if report.failed or (report.notices is not None and report.notices.failed):
        raise typer.Exit(1)


@replies_app.command("read")
def read(
    ctx: typer.Context,
    folder: Annotated[Path | None, typer.Option(help="the folder of .eml files (default: COMPLAINTS_REPLY_DIR)")] = None,
) -> None:
    """Take in the replies waiting in the reply folder: each onto its case, or as a new complaint."""
    from complaintflow.replies import read_replies

    cli = ctx_of(ctx)
    report = read_replies(cli.app(), folder)
    if cli.json:
        cli.emit_json(report.as_dict())
    else:
        table = Listing(("File", "Outcome", "Complaint", "Detail"), wrap=("File", "Detail"),
                        title=f"Replies in {report.folder}", empty="No replies waiting.")
        for item in report.files:
            table.add_row(item.file, Text(item.outcome, style="red" if item.outcome == "failed" else ""),
                          item.reference or "-", clip("; ".join(item.notes), 160))
        cli.console.print(table)
    if any(item.outcome == "failed" for item in report.files):
        raise typer.Exit(1)
