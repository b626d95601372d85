"""Ops commands without Prefect: case commands never import it; schedules parse or explain."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from complaintflow.cli.app import app as cli
from complaintflow.cli.ops_cmd import absolute_sqlite_url
from complaintflow.ops import flow_app, quiet_shutdown
from complaintflow.schedules import FLOWS, parse_schedule
from complaintflow.settings import Settings
from complaints.errors import ConfigurationError

CASE_COMMANDS = """
import sys
from complaintflow.cli.app import app

def run(*args):
    app(["--db", DB, "--json", *args], standalone_mode=False)

run("init")
run("intake", "--product", "Loan", "--description", "Charged twice", "--external-id", "P-1")
run("advance", "C-2026-000001", "assess", "--expected-version", "2")
run("show", "C-2026-000001")
run("list")
run("flows")
loaded = sorted(m for m in sys.modules if m == "prefect" or m.startswith("prefect."))
print("PREFECT_MODULES", loaded, file=sys.stderr)
"""


def test_taking_in_advancing_and_showing_complaints_never_imports_prefect(tmp_path: Path):
    database = f"sqlite:///{tmp_path / 'c.db'}"
    script = f"DB = {database!r}\n" + textwrap.dedent(CASE_COMMANDS)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "PREFECT_MODULES []" in done.stderr
    assert '"state": "assessing"' in done.stdout


@pytest.mark.parametrize(("text", "interval", "cron"), [
    ("every 90s", timedelta(seconds=90), None),
    ("every 15m", timedelta(minutes=15), None),
    ("Every  1H", timedelta(hours=1), None),
    ("every 1d", timedelta(days=1), None),
    ("0 2 * * *", None, "0 2 * * *"),
    ("*/5 8-18 * * mon-fri", None, "*/5 8-18 * * mon-fri"),
])
def test_a_schedule_is_an_interval_or_a_cron_line(text, interval, cron):
    schedule = parse_schedule(text)
    assert (schedule.interval, schedule.cron) == (interval, cron)


@pytest.mark.parametrize("text", ["hourly", "every 5 weeks", "0 2 * *", "every 0m", "0 2 * * * *"])
def test_anything_else_is_refused_naming_the_setting(text):
    with pytest.raises(ConfigurationError, match=re.escape(f"COMPLAINTS_SCHEDULE_SLA_SWEEP: '{text}'") + ".* 'every 1"):
        FLOWS[0].schedule(Settings(schedule_sla_sweep=text))


def test_flows_lists_every_flow_with_its_schedule_and_options_override_settings():
    out = CliRunner().invoke(cli, ["--json", "flows", "--schedule", "sla-sweep=every 30s"],
                             env={"COMPLAINTS_SCHEDULE_METRICS": "0 6 * * *"})
    assert out.exit_code == 0, out.output
    rows = {r["name"]: r["schedule"] for r in json.loads(out.stdout)}
    assert rows == {"sla-sweep": "every 30s", "follow-ups": "every 15m", "auto-close": "every 1h",
                    "root-cause-nightly": "cron 0 2 * * * (UTC)", "metrics-snapshot": "cron 0 6 * * * (UTC)",
                    "import-folder": "every 5m", "deliver-outbox": "every 1m", "read-replies": "every 1m"}


def test_an_unknown_flow_is_refused_with_the_list_of_flows():
    out = CliRunner().invoke(cli, ["flows", "--schedule", "nightly=0 1 * * *"])
    assert out.exit_code == 1
    assert str(out.exception).startswith("No flow named 'nightly'. Flows: sla-sweep, follow-ups")


@pytest.mark.parametrize(("url", "expected"), [
    ("sqlite:///relative.db", f"sqlite:///{Path.cwd() / 'relative.db'}"),
    ("sqlite:////abs/c.db", "sqlite:////abs/c.db"),
    ("sqlite://", "sqlite://"),
    ("postgresql+psycopg://ops:secret@db/complaints", "postgresql+psycopg://ops:secret@db/complaints"),
])
def test_flow_runs_get_a_database_url_that_does_not_depend_on_their_working_directory(url, expected):
    assert absolute_sqlite_url(url) == expected


def test_running_or_serving_flows_on_a_database_without_the_schema_fails_before_prefect_starts(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'none.db'}"
    for command in (["run", "sla-sweep"], ["schedule", "--stop-after", "1"]):
        out = CliRunner().invoke(cli, ["--db", url, *command])
        assert out.exit_code == 1
        assert isinstance(out.exception, ConfigurationError)
        assert str(out.exception).startswith(f"No database at {tmp_path / 'none.db'}: run `complaints --db {url} init`")
    assert not (tmp_path / "none.db").exists()


def test_a_flow_run_on_a_database_without_the_schema_fails_saying_what_to_run(tmp_path: Path, monkeypatch):
    empty = tmp_path / "empty.db"
    empty.touch()
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", f"sqlite:///{empty}")
    with pytest.raises(ConfigurationError, match=r"has no complaintflow schema yet: run `complaints init \(with the "
                                                 r"same COMPLAINTS_DATABASE_URL\)` to create it"), flow_app():
        pass


def _served_until_stopped(fail: bool = False) -> None:
    """What Prefect's runner does over its control channel, in small: a stream server whose
    connection handler is still waiting (or has failed) when ``asyncio.run`` ends."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if fail:
                raise ValueError("the handler broke")
            await asyncio.Event().wait()
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        _, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        await asyncio.sleep(0.05)
        writer.close()
        await writer.wait_closed()
        server.close()

    asyncio.run(main())


def test_serving_stops_without_a_traceback_for_a_connection_cancelled_on_the_way_out(
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, "asyncio"), quiet_shutdown():
        _served_until_stopped()
    assert caplog.records == []


def test_a_connection_that_fails_is_still_reported_while_serving(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, "asyncio"), quiet_shutdown():
        _served_until_stopped(fail=True)
    [record] = caplog.records
    assert record.exc_info is not None and isinstance(record.exc_info[1], ValueError)
