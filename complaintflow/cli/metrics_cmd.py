"""``complaints metrics [chart | export | return fca | return cfpb]``: indicators, pictures, returns.

The numbers come from ``escalation.indicators``; this module only shapes them into tables,
a chart file, a CSV file or JSON (``--json``, before or after ``metrics``).
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Group
from rich.markup import escape
from rich.text import Text

from complaintflow.cli.context import CliContext, ctx_of
from complaintflow.cli.render import Listing, clip
from complaints.errors import InvalidInput
from escalation.indicators.rows import BREAKDOWN_COLUMNS, SPARE_COLUMNS, breakdown_row, overall_rows, percent, title

app = typer.Typer(help="Indicators of the code of practice: tables, a weekly chart, a CSV export, regulators' returns.",
                  invoke_without_command=True)
return_app = typer.Typer(help="Returns shaped like a regulator's: the FCA's half-yearly return, a CFPB summary.",
                         no_args_is_help=True)
app.add_typer(return_app, name="return")

FromOption = Annotated[str | None, typer.Option("--from", help="first day, e.g. 2026-11-01 (default: 4 weeks "
                                                "before --to)")]
ToOption = Annotated[str | None, typer.Option("--to", help="last day, included (default: today)")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable JSON output")]


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"Invalid {option}", [f"{value!r} is not a date such as 2026-11-01"]) from None


def _cli(ctx: typer.Context, as_json: bool) -> CliContext:
    cli = ctx_of(ctx)
    cli.json = cli.json or as_json
    return cli


# -- the indicators --------------------------------------------------------------------------------------
@app.callback()
def metrics(
    ctx: typer.Context,
    from_: FromOption = None,
    to: ToOption = None,
    by: Annotated[list[str] | None, typer.Option("--by", help="break down by channel, product, tier, queue or "
                                                  "handler (repeatable)")] = None,
    as_json: JsonOption = False,
) -> None:
    """The indicators of a period: received, acknowledged, times to respond, SLA compliance, regulatory
    deadlines, escalations, reopens, invalid complaints, promises, satisfaction, backlog."""
    if ctx.invoked_subcommand is not None:
        return
    from escalation.indicators import indicators

    cli = _cli(ctx, as_json)
    result = indicators(cli.app().engine, _day(from_, "--from"), _day(to, "--to"), by or [],
                        workflow=cli.app().settings.default_workflow)
    if cli.json:
        cli.emit_json(result)
        return
    cli.console.print(overall_table(result))
    cli.console.print(rationales_table(result["overall"]["invalid"]["rationales"]))
    for dimension, rows in result["by"].items():
        cli.console.print(breakdown_table(dimension, rows))


def overall_table(result: dict[str, Any]) -> Listing:
    table = Listing(("Indicator", "Value", "Detail"), wrap=("Detail",), title=title("Indicators", result["period"]),
                    title_justify="left")
    for row in overall_rows(result):
        table.add_row(*row)
    return table


def rationales_table(rows: list[dict[str, Any]]) -> Listing:
    table = Listing(("Count", "Rationale"), wrap=("Rationale",), title="Invalid: most common rationales",
                    title_justify="left", empty="No complaint found invalid.")
    for r in rows:
        table.add_row(str(r["count"]), clip(r["rationale"], 300))
    return table


def breakdown_table(dimension: str, rows: list[dict[str, Any]]) -> Listing:
    names = (dimension.capitalize(), *BREAKDOWN_COLUMNS)
    table = Listing(names, wrap={names[0]: None}, spare=SPARE_COLUMNS, title=f"By {dimension}", title_justify="left",
                    empty="Nothing to break down.")
    for r in rows:
        table.add_row(clip(r["key"], 40), *breakdown_row(r))
    return table


# -- chart and export ------------------------------------------------------------------------------------
@app.command()
def chart(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help=".png or .svg file")],
    from_: Annotated[str | None, typer.Option("--from", help="first day (default: 26 weeks before --to)")] = None,
    to: ToOption = None,
    as_json: JsonOption = False,
) -> None:
    """Draw weekly volume, SLA compliance and backlog age (PNG or SVG, by the file's name)."""
    from escalation.indicators import weekly_series
    from escalation.indicators.chart import check_chart_file, write_weekly_chart

    cli = _cli(ctx, as_json)
    check_chart_file(output)  # before anything is read
    series = weekly_series(cli.app().engine, _day(from_, "--from"), _day(to, "--to"),
                           workflow=cli.app().settings.default_workflow)
    period = series["period"]
    write_weekly_chart(series["weeks"], series["clocks"], output, f"Complaints, {period['from']} to {period['to']}")
    if cli.json:
        cli.emit_json({"file": str(output), **series})
    else:
        cli.console.print(f"[green]✓[/] wrote {escape(str(output))} ({len(series['weeks'])} weeks, "
                          f"{sum(w['received'] for w in series['weeks'])} complaints received)")


@app.command()
def export(
    ctx: typer.Context,
    format: Annotated[str, typer.Option("--format", "-f", help="csv")] = "csv",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="file to write (default: standard output)")] = None,
    from_: FromOption = None,
    to: ToOption = None,
    by: Annotated[list[str] | None, typer.Option("--by", help="also a row per channel, product, tier, queue or "
                                                  "handler (repeatable)")] = None,
) -> None:
    """The indicators as CSV: a row for the whole and one per group of each breakdown."""
    from escalation.indicators import indicators
    from escalation.indicators.export import check_format, write_csv

    cli = ctx_of(ctx)
    check_format(format)
    result = indicators(cli.app().engine, _day(from_, "--from"), _day(to, "--to"), by or [],
                        workflow=cli.app().settings.default_workflow)
    if output is None:
        write_csv(result, sys.stdout)
        return
    with output.open("w", encoding="utf-8", newline="") as fh:
        written = write_csv(result, fh)
    if cli.json:
        cli.emit_json({"file": str(output), "format": format, "rows": written})
    else:
        cli.console.print(f"[green]✓[/] wrote {escape(str(output))} ({written} rows)")


# -- returns ---------------------------------------------------------------------------------------------
@return_app.command()
def fca(
    ctx: typer.Context,
    half: Annotated[str | None, typer.Option("--half", help="e.g. 2026H2 (default: the half-year of today)")] = None,
    groups: Annotated[Path | None, typer.Option("--groups", help="YAML mapping of products to the FCA's product "
                                                "groups (default: the shipped one; docs/indicators.md)")] = None,
    as_json: JsonOption = False,
) -> None:
    """The FCA's half-yearly complaints return (DISP 1 Annex 1R), by product group."""
    from escalation.indicators import fca as fca_return

    cli = _cli(ctx, as_json)
    app_ = cli.app()
    now = app_.clock.now()
    result = fca_return(app_.engine, half or f"{now.year}H{1 if now.month <= 6 else 2}", groups,
                        workflow=app_.settings.default_workflow)
    if cli.json:
        cli.emit_json(result)
        return
    cli.console.print(fca_table(result))


def fca_table(result: dict[str, Any]) -> Group:
    names = ("Product group", "Opened", "Closed", "≤ 3 days", "3 days–8 weeks", "> 8 weeks", "Upheld",
             "% ≤ 3 days", "% 3 days–8 weeks", "% upheld", "Outstanding at start")
    # the shares go first: the counts give them
    spare = ("% 3 days–8 weeks", "% ≤ 3 days", "% upheld", "> 8 weeks", "3 days–8 weeks", "≤ 3 days")
    table = Listing(names, wrap={"Product group": None}, spare=spare,
                    title=title(f"FCA complaints return {result['half']}", result["period"]), title_justify="left")
    for row in [*result["groups"], result["total"]]:
        table.add_row(row["group"], *(str(row[k]) for k in ("opened", "closed", "closed_within_3_days",
                                                            "closed_after_3_days_within_8_weeks", "closed_after_8_weeks",
                                                            "upheld")),
                      percent(row["share_closed_within_3_days"]), percent(row["share_closed_after_3_days_within_8_weeks"]),
                      percent(row["share_upheld"]), str(row["outstanding_at_start"]))
    notes = [f"Products mapped by {result['mapping']}; upheld: found valid. Counted on the regulatory clock "
             f"'{result['clock']}'."]
    redress = result["total"]["redress_paid"]
    notes.append(f"Redress paid: {redress:,.2f}." if redress is not None else "Redress paid: not recorded.")
    if any(r["group"] == "Not mapped" for r in result["groups"]):
        notes.append("Some products map to no FCA group: add them to the mapping (--groups).")
    if result["without_fca_clock"]:
        notes.append(f"{result['without_fca_clock']} complaint(s) opened without the FCA clock are in no row.")
    return Group(table, *(Text(n, style="dim") for n in notes))


@return_app.command()
def cfpb(ctx: typer.Context, from_: FromOption = None, to: ToOption = None, as_json: JsonOption = False) -> None:
    """A CFPB-style summary: timely responses and the company's response to each complaint."""
    from escalation.indicators import cfpb as cfpb_summary

    cli = _cli(ctx, as_json)
    result = cfpb_summary(cli.app().engine, _day(from_, "--from"), _day(to, "--to"),
                          workflow=cli.app().settings.default_workflow)
    if cli.json:
        cli.emit_json(result)
        return
    cli.console.print(cfpb_tables(result))


def cfpb_tables(result: dict[str, Any]) -> Group:
    received = result["received"]
    table = Listing(("Company response", "Complaints", "Share"), title=title("CFPB company responses",
                    result["period"]), title_justify="left")
    for category, n in result["company_response"].items():
        table.add_row(category, str(n), percent(n / received if received else None))
    t = result["timely_response"]
    lines = [f"Timely response (within {result['response_days']} days): {percent(t['rate'])} — {t['yes']} yes, "
             f"{t['no']} no, {t['not_yet_due']} not yet due.",
             f"{result['awaiting_response']} awaiting a response (not yet due); {result['relief_not_recorded']} closed "
             "with no relief recorded (counted as closed with explanation)."]
    products = Listing(("Product", "Received", "Timely", *result["company_response"]), wrap={"Product": None},
                       spare=tuple(result["company_response"])[::-1], title="By product", title_justify="left")
    for row in result["by_product"]:
        products.add_row(clip(row["product"], 40), str(row["received"]), percent(row["timely_response"]["rate"]),
                         *(str(n) for n in row["company_response"].values()))
    return Group(table, *(Text(line) for line in lines), products)
