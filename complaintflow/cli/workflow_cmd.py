"""``complaints workflow validate | show | diagram | diff | migrate``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from pydantic import TypeAdapter
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from complaintflow.bootstrap import workflow_migration
from complaintflow.cli.context import ctx_of
from complaintflow.cli.render import Listing, literal, when
from complaints.errors import InvalidInput
from workflows.compiled import CompiledWorkflow
from workflows.diagram import to_dot, to_mermaid
from workflows.diff import diff_workflows
from workflows.loader import load_workflow
from workflows.registry import WorkflowRegistry

app = typer.Typer(help="Validate, inspect and draw workflow definitions.", no_args_is_help=True)

FileArg = Annotated[Path | None, typer.Argument(
    help="a workflow YAML file, or a shipped workflow's name (default: the shipped workflow)")]


def _pick(file: Path | None, name: str) -> CompiledWorkflow:
    """The workflow in ``file``; a bare word that is no file names a shipped workflow, and
    ``NAME@VERSION`` one version of it."""
    if file is not None and (file.exists() or file.suffix or len(file.parts) > 1):
        return load_workflow(file)
    word = str(file) if file is not None else name
    wanted, _, version = word.partition("@")
    if version and not version.isdigit():
        raise typer.BadParameter(f"{word!r}: write NAME@VERSION with a whole number, e.g. complaint@1")
    return WorkflowRegistry.load().get(wanted, int(version) if version else None)


def _iso(duration: timedelta) -> str:
    """ISO 8601, as written in the YAML (P14D), not Python's '14 days, 0:00:00'."""
    return str(TypeAdapter(timedelta).dump_python(duration, mode="json"))


@app.command()
def validate(ctx: typer.Context, file: Annotated[Path, typer.Argument(help="workflow YAML file")]) -> None:
    """Check a definition: shape, names, reachability, timers, templates. Exit 1 on any problem."""
    wf = load_workflow(file)
    cli = ctx_of(ctx)
    summary = {"file": str(file), "name": wf.name, "version": wf.version, "valid": True,
               "states": len(wf.spec.states), "transitions": len(wf.spec.transitions)}
    if cli.json:
        cli.emit_json(summary)
    else:
        cli.console.print(f"[green]✓[/] {escape(str(file))}: workflow '{wf.name}' v{wf.version} is valid "
                          f"({summary['states']} states, {summary['transitions']} actions)")


@app.command()
def show(
    ctx: typer.Context,
    file: FileArg = None,
    name: Annotated[str, typer.Option(help="shipped workflow name")] = "complaint",
) -> None:
    """States, actions, tiers and timers of a workflow."""
    wf = _pick(file, name)
    cli = ctx_of(ctx)
    if cli.json:
        cli.emit_json(wf.spec.model_dump(mode="json", by_alias=True, exclude_none=True))
        return
    tree = Tree(f"[bold]{wf.name}[/] v{wf.version} — {escape(wf.spec.title)}")
    for state, st in wf.spec.states.items():
        tags = [t for t, on in (("initial", st.initial), ("waiting", st.waiting), ("final", st.final)) if on]
        node = tree.add(f"[bold]{state}[/] {' '.join(f'[dim]({t})[/]' for t in tags)} {escape(st.description)}")
        for action in wf.actions_from(state):
            tr = wf.transition(action)
            needed = ", ".join(name for name, spec in tr.fields.items() if spec.required)
            optional = ", ".join(name for name, spec in tr.fields.items() if not spec.required)
            node.add(f"[green]{action}[/] → {tr.to or state}"
                     + (f"  [dim]needs {needed}[/]" if needed else "")
                     + (f"  [dim]optional {optional}[/]" if optional else "")
                     + f"  [dim]roles {', '.join(tr.roles)}[/]")
        for timer in st.timers:
            when = f"after {_iso(timer.after)}" if timer.after is not None else f"at {timer.at}"
            node.add(f"⏱ {when} → [yellow]{timer.action}[/]")
        if st.entry_guards:
            node.add(f"[magenta]gate[/]: {len(st.entry_guards)} condition(s)")
    cli.console.print(tree)
    tiers = Table(title="Tiers", header_style="bold")
    for col in ("Tier", "Queue", "Label"):
        tiers.add_column(col)
    for t in wf.tiers:
        tiers.add_row(t.name, t.queue, literal(t.label))
    cli.console.print(tiers)


@app.command()
def diagram(
    ctx: typer.Context,
    file: FileArg = None,
    name: Annotated[str, typer.Option(help="shipped workflow name")] = "complaint",
    format: Annotated[str, typer.Option("--format", "-f", help="mermaid or dot")] = "mermaid",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write to a file")] = None,
) -> None:
    """Draw the workflow as a Mermaid state diagram or a Graphviz dot graph."""
    renderers = {"mermaid": to_mermaid, "dot": to_dot}
    if format not in renderers:
        raise typer.BadParameter(f"unknown format {format!r}; use mermaid or dot", param_hint="--format")
    text = renderers[format](_pick(file, name))
    if output:
        output.write_text(text, encoding="utf-8")
        ctx_of(ctx).console.print(Text(f"wrote {output}"))
    else:
        typer.echo(text, nl=False)


@app.command()
def diff(
    ctx: typer.Context,
    old: Annotated[Path, typer.Argument(help="the older definition: a file, a shipped name, or NAME@VERSION")],
    new: Annotated[Path, typer.Argument(help="the newer definition: a file, a shipped name, or NAME@VERSION")],
) -> None:
    """States, actions, timers, guards, templates and SLA, regulatory and escalation rules
    added, removed or changed from OLD to NEW."""
    result = diff_workflows(_pick(old, "complaint"), _pick(new, "complaint"))
    cli = ctx_of(ctx)
    if cli.json:
        cli.emit_json(result.as_dict())
        return
    table = Listing(("Section", "Item", "Change", "Detail"), wrap={"Detail": 30}, title=f"{result.old} → {result.new}",
                    title_justify="left", empty="The two definitions say the same.")
    colour = {"added": "green", "removed": "red", "changed": "yellow"}
    for c in result.changes:
        table.add_row(c.section, literal(c.name), Text(c.change, style=colour[c.change]), literal(c.detail))
    cli.console.print(table)
    totals = "; ".join(f"{section} " + ", ".join(f"{n} {k}" for k, n in counts.items() if n)
                       for section, counts in result.totals().items())
    cli.console.print(Text(f"{len(result.changes)} change(s)" + (f": {totals}" if totals else "")))


def _mapping(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    problems = []
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            problems.append(f"--map {pair!r}: write OLD_STATE=NEW_STATE, e.g. --map on_hold=investigating")
        else:
            out[old.strip()] = new.strip()
    if problems:
        raise InvalidInput("Invalid --map", problems)
    return out


@app.command()
def migrate(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="the workflow whose open cases move, e.g. complaint")],
    to: Annotated[int, typer.Option("--to", min=1, help="the version they move to")],
    map_: Annotated[list[str] | None, typer.Option("--map", help="OLD_STATE=NEW_STATE for a state the new "
                                                                 "version lacks (repeatable)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show what would change; write nothing")] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=100_000, help="cases per transaction")] = 500,
) -> None:
    """Move every open case on an older version of NAME to version --to: its state (or the
    one --map names), its timers, clocks and letters under the new rules, one audited
    'migrated' event per case. Refuses, naming the cases, when a state has no place."""
    cli = ctx_of(ctx)
    app_ = cli.app()
    plan = workflow_migration(app_).run(name, to, _mapping(map_ or []), dry_run=dry_run, batch_size=batch_size)
    if cli.json:
        cli.emit_json(plan.as_dict())
        return
    verb = "Would move" if dry_run else "Moved"
    # one column for the state (an arrow only where it changes) leaves an 80-column terminal
    # room for the timers, clocks and letters; the old version's timers go first
    table = Listing(("Case", "From → to", "Timers cancelled", "Timers scheduled", "Clocks", "Letters"),
                    wrap=("From → to", "Timers cancelled", "Timers scheduled", "Clocks", "Letters"),
                    spare=("Timers cancelled",), title=f"{verb} to '{name}' v{to}", title_justify="left",
                    empty=f"No open case of '{name}' is on an older version than {to}.")
    for c in plan.cases:
        move = f"v{c.from_version} {c.from_state}" + (f" → {c.to_state}" if c.to_state != c.from_state else "")
        table.add_row(
            c.reference, move, ", ".join(c.timers_cancelled),
            ", ".join(f"{n} {when(d)}" for n, d in c.timers_scheduled),
            ", ".join(f"{clock} {kind}" + (f" → {when(after)}" if after else "") for clock, kind, _, after in c.clocks),
            ", ".join(f"{t} {when(at)}" for t, at in c.letters))
    cli.console.print(table)
    totals = ", ".join(f"{n} {k}" for k, n in plan.totals().items())
    tail = " Nothing was written (--dry-run)." if dry_run else f" In {plan.batches} batch(es)."
    cli.console.print(Text(f"Totals: {totals}.{tail}"))
