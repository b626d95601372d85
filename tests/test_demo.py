"""`complaints demo` walks every branch of the lifecycle on a fresh SQLite database."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from complaintflow.bootstrap import build
from complaintflow.cli.app import app as cli
from complaintflow.demo import run_demo
from complaintflow.settings import Settings
from workflows.integrity import check_integrity


def test_the_demo_walks_every_branch_and_leaves_a_database_that_replays(tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    summary = run_demo(database)
    by_name = {s["name"]: s for s in summary["scenarios"]}
    assert summary["imported"] == 16
    assert by_name["invalid, then archived"]["path"] == ["assess", "invalid", "⏱archive"]
    assert by_name["no reply: auto-closed"]["state"] == "archived"
    assert "⏱auto_close" in by_name["no reply: auto-closed"]["path"]
    assert {"reject", "⏱resume_on_date", "⏱start_follow_up"} <= set(by_name["escalated, paused, rejected, resolved"]["path"])
    assert {"⏱deemed_accepted", "dissatisfied", "⏱no_response"} <= set(
        by_name["deemed accepted, dissatisfied, no follow-up answer"]["path"])
    reopened = by_name["information asked and given, resolved, reopened"]
    assert "reopen" in reopened["path"] and reopened["state"] == "investigating"
    assert by_name["escalated to the top tier"]["refused"][0].startswith("escalate:")
    assert any(step.startswith("⏱SLA breach: escalated") for step in by_name["left in the queue"]["path"])
    pairs = {frozenset((ref, r["reference"])) for ref, rows in summary["related"].items() for r in rows}
    latvian_pair = frozenset(s["reference"] for s in summary["scenarios"][:2])  # DEMO-001 and DEMO-002
    assert latvian_pair in pairs
    app = build(Settings(database_url=f"sqlite:///{database}"))
    assert check_integrity(app.db, app.registry).ok
    app.db.dispose()


def test_the_demo_runs_again_from_scratch_and_speaks_json(tmp_path: Path) -> None:
    database = tmp_path / "again.db"
    runner = CliRunner()
    first = runner.invoke(cli, ["--json", "demo", "--database", str(database)])
    second = runner.invoke(cli, ["--json", "demo", "--database", str(database)])
    assert first.exit_code == 0 and second.exit_code == 0, second.output
    assert json.loads(first.output)["states"] == json.loads(second.output)["states"]


def test_the_commands_the_demo_suggests_are_whole_lines_on_a_narrow_terminal(tmp_path: Path) -> None:
    from io import StringIO

    from rich.console import Console

    out = StringIO()
    run_demo(tmp_path / "demo.db", console=Console(file=out, width=60))
    suggested = [line.strip() for line in out.getvalue().split("Look closer:")[1].splitlines() if line.strip()]
    assert len(suggested) == 4 and all(line.startswith("complaints --db sqlite:///") for line in suggested)
    assert suggested[-1].endswith("rootcause graph --format html -o graph.html")
