"""``complaints flows | run FLOW | schedule``: the scheduled work, with Prefect.

Prefect is imported inside ``run`` and ``schedule`` only (after our quiet defaults are set),
so the case commands never load it. ``flows`` reads the catalogue without Prefect.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy.engine import make_url

from complaintflow.cli.context import CliContext, ctx_of
from complaintflow.cli.render import Listing, literal
from complaintflow.ops import quiet_prefect_env, quiet_shutdown
from complaintflow.schedules import FLOWS, FlowSpec, Schedule, flow_spec, load_flow
from complaintflow.settings import Settings, load_settings
from complaints.errors import InvalidInput

app = typer.Typer()

ScheduleOpt = Annotated[
    list[str] | None,
    typer.Option("--schedule", "-s", help="NAME=SPEC, e.g. sla-sweep='every 30s' or metrics-snapshot='0 6 * * *'"),
]


def _schedules(settings: Settings, pairs: list[str] | None, only: list[str] | None = None) -> dict[FlowSpec, Schedule]:
    """Each flow's schedule: the Settings field, or a ``--schedule NAME=SPEC`` override."""
    overrides: dict[str, str] = {}
    for pair in pairs or []:
        name, sep, spec = pair.partition("=")
        if not sep:
            raise InvalidInput("Invalid --schedule", [f"{pair!r} must look like NAME=SPEC, e.g. sla-sweep='every 30s'"])
        overrides[flow_spec(name.strip()).name] = spec
    wanted = {flow_spec(n).name for n in only} if only else None
    return {s: s.schedule(settings, overrides.get(s.name)) for s in FLOWS if wanted is None or s.name in wanted}


@app.command("flows")
def flows_(ctx: typer.Context, schedule: ScheduleOpt = None) -> None:
    """The scheduled flows and when each runs."""
    cli = ctx_of(ctx)
    plan = _schedules(load_settings(database_url=cli.db), schedule)
    rows = [{"name": s.name, "schedule": when.describe(), "setting": f"COMPLAINTS_{s.setting.upper()}",
             "entrypoint": s.entrypoint, "does": s.summary} for s, when in plan.items()]
    if cli.json:
        cli.emit_json(rows)
        return
    table = Listing(("Flow", "Schedule", "Setting", "What it does"), wrap=("Schedule", "What it does"),
                    spare=("Setting",), title="Scheduled flows")
    for r in rows:
        table.add_row(r["name"], r["schedule"], r["setting"], r["does"])
    cli.console.print(table)


@app.command("run")
def run(
    ctx: typer.Context,
    flow: Annotated[str, typer.Argument(help=f"one of: {', '.join(s.name for s in FLOWS)}")],
    batch_size: Annotated[int | None, typer.Option(min=1, help="timers per sweep batch")] = None,
    max_batches: Annotated[int | None, typer.Option(min=1, help="batches per run at most")] = None,
    folder: Annotated[Path | None, typer.Option(help="import-folder: the inbox (default COMPLAINTS_IMPORT_DIR)")] = None,
) -> None:
    """Run one flow now and print its result (a temporary Prefect server unless PREFECT_API_URL is set)."""
    cli = ctx_of(ctx)
    spec = flow_spec(flow)
    cli.app()  # the database holds the schema: say so now, not from inside a flow run
    _export_environment(load_settings(database_url=cli.db))
    quiet_prefect_env()
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    target = load_flow(spec)
    given = {"batch_size": batch_size, "max_batches": max_batches, "folder": str(folder) if folder else None}
    accepted = set(target.parameters.properties)
    wrong = [f"--{k.replace('_', '-')}" for k, v in given.items() if v is not None and k not in accepted]
    if wrong:
        raise InvalidInput(f"Flow {spec.name!r}", [f"{opt} does not apply to it" for opt in wrong])
    params: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if cli.now is not None and "now" in accepted:
        params["now"] = cli.now
    started = time.monotonic()
    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):  # a 1 s join per run
        result = target(**params)
    if cli.json:
        cli.emit_json({"flow": spec.name, "seconds": round(time.monotonic() - started, 2), "result": result})
        return
    cli.console.print(_result_table(spec.name, result))


def _result_table(name: str, result: dict[str, Any]) -> Table:
    table = Table(title=f"{name}: done", header_style="bold", show_header=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in result.items():
        if isinstance(value, list):
            shown = ", ".join(str(v) for v in value[:10]) + (f" … (+{len(value) - 10})" if len(value) > 10 else "")
            table.add_row(key, literal(f"{len(value)}" + (f": {shown}" if value else "")))
        elif isinstance(value, dict):
            table.add_row(key, literal(", ".join(f"{k}={v}" for k, v in value.items()) or "-"))
        else:
            table.add_row(key, literal("-" if value is None else str(value)))
    return table


@app.command("schedule")
def schedule(
    ctx: typer.Context,
    schedule: ScheduleOpt = None,
    flow: Annotated[list[str] | None, typer.Option("--flow", "-f", help="serve only these flows (repeatable)")] = None,
    work_pool: Annotated[str | None, typer.Option(help="register the deployments on this work pool for "
                                                        "`prefect worker start` and exit, instead of serving")] = None,
    port: Annotated[int | None, typer.Option(help="port of the embedded Prefect server (default: a free one)")] = None,
    stop_after: Annotated[float | None, typer.Option(help="stop after this many seconds (trials, demos)")] = None,
) -> None:
    """Serve every flow on its schedule until stopped (Ctrl-C).

    With PREFECT_API_URL set, uses that Prefect server; otherwise starts `prefect server start`
    as a child process (SQLite under COMPLAINTS_DATA_DIR/prefect) and stops it on exit.
    """
    cli = ctx_of(ctx)
    settings = load_settings(database_url=cli.db)
    plan = _schedules(settings, schedule, flow)
    if not work_pool:
        cli.app()  # the runs served here use this database: it holds the schema
    _export_environment(settings)
    quiet_prefect_env()
    if stop_after:
        signal.signal(signal.SIGALRM, _interrupt)
        signal.setitimer(signal.ITIMER_REAL, stop_after)
    if os.environ.get("PREFECT_API_URL"):
        _serve_or_register(cli, plan, work_pool)
        return
    if work_pool:
        raise InvalidInput("--work-pool", ["workers need a shared Prefect server: set PREFECT_API_URL first"])
    from complaintflow.cli.prefect_server import prefect_server

    home = (settings.data_dir / "prefect").resolve()
    cli.console.print(f"starting a Prefect server (PREFECT_HOME={home}) …")
    try:
        with prefect_server(home, port) as (api_url, seconds):
            cli.console.print(f"[green]✓[/] Prefect server ready in {seconds:.1f} s at {api_url} "
                              f"(UI: {api_url.removesuffix('/api')})")
            os.environ["PREFECT_API_URL"] = api_url
            _serve_or_register(cli, plan, None)
    except KeyboardInterrupt:
        pass
    cli.console.print("Prefect server stopped.")


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _serve_or_register(cli: CliContext, plan: dict[FlowSpec, Schedule], work_pool: str | None) -> None:
    from prefect import serve
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.deployments.runner import EntrypointType
    from prefect.schedules import Cron, Interval

    if work_pool:
        _check_work_pool(work_pool)
    deployments = []
    for spec, when in plan.items():
        rule = Interval(when.interval) if when.interval else Cron(when.cron, timezone=when.timezone)  # type: ignore[arg-type]
        deployments.append(load_flow(spec).to_deployment(
            name=spec.name, schedule=rule, tags=["complaintflow"], description=spec.summary,
            # Overlapping runs are harmless (the database claims each timer once), but wasteful.
            concurrency_limit=ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW),
            entrypoint_type=EntrypointType.MODULE_PATH,  # workers import the installed package
            work_pool_name=work_pool,
        ))
    for spec, when in plan.items():
        cli.console.print(f"  {spec.name:<20} {when.describe()}")
    if work_pool:
        for deployment in deployments:
            deployment.apply(work_pool_name=work_pool)
        cli.console.print(f"[green]✓[/] {len(deployments)} deployments registered on work pool '{work_pool}'; "
                          f"start workers with: prefect worker start --pool {work_pool}")
        return
    with quiet_shutdown():
        serve(*deployments, print_starting_message=False)


def _check_work_pool(name: str) -> None:
    """Prefect's server answers a deployment on a missing pool with a bare 500: say what to run."""
    from prefect import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
        except ObjectNotFound as exc:
            raise InvalidInput("--work-pool", [f"no work pool {name!r} on {os.environ['PREFECT_API_URL']}: create it "
                                               f"with `prefect work-pool create {name} --type process`"]) from exc


def _export_environment(settings: Settings) -> None:
    """Flow runs (here, in served subprocesses) build their app from the environment; relative
    paths are made absolute, since a run's working directory need not be ours."""
    os.environ["COMPLAINTS_DATABASE_URL"] = absolute_sqlite_url(settings.database_url)
    os.environ["COMPLAINTS_DATA_DIR"] = str(settings.data_dir.resolve())
    if settings.import_dir is not None:
        os.environ["COMPLAINTS_IMPORT_DIR"] = str(settings.import_dir.resolve())


def absolute_sqlite_url(url: str) -> str:
    """``sqlite:///x.db`` -> ``sqlite:////cwd/x.db``; other URLs unchanged."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return url
    return parsed.set(database=str(Path(parsed.database).resolve())).render_as_string(hide_password=False)
