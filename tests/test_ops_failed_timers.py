"""A timer whose action is refused is kept as 'failed' with the reason, and the case it left
waiting is shown to people (work list, db check, metrics) until someone acts on it."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from casework import VARIANT_VERSION, pending_timers, shipped_document, take_in, walk, workflow_timers
from typer.testing import CliRunner

from complaintflow.bootstrap import App
from complaintflow.cli.app import app as cli
from complaints.clock import FixedClock
from complaints.metrics import compute
from complaints.steps import Actor
from escalation.sweep import sweep as full_sweep
from workflows import timers
from workflows.integrity import check_integrity
from workflows.loader import load_workflow
from workflows.queries import list_cases

GUARD = "a supervisor closes a critical complaint by hand"


@pytest.fixture
def variant(app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped workflow (a newer version) whose auto_close refuses critical complaints; the file is
    also given to the CLI's own application through COMPLAINTS_WORKFLOW_FILES."""
    doc = copy.deepcopy(shipped_document())
    doc["version"] = VARIANT_VERSION
    doc["transitions"]["auto_close"]["guards"] = [
        {"field": "complaint.severity", "not_equals": "critical", "message": GUARD}]
    path = tmp_path / "guarded-auto-close.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    app.registry.add(load_workflow(path))
    monkeypatch.setenv("COMPLAINTS_WORKFLOW_FILES", json.dumps([str(path)]))
    return path


def refused_auto_close(app: App, clock: FixedClock) -> tuple[str, str]:
    """A critical complaint whose auto_close is refused, and an ordinary one still waiting."""
    critical = take_in(app, severity="critical")
    walk(app, critical, ["assess", "need_info"])
    clock.advance(days=14)
    waiting = take_in(app)
    walk(app, waiting, ["assess", "need_info"])
    return critical, waiting


def refusal(reference: str) -> str:
    return f"Can't 'auto_close' complaint {reference} in state 'awaiting_customer': {GUARD}"


@pytest.mark.parametrize("sweeper", [timers.sweep, full_sweep], ids=["workflow-timers", "full-sweep"])
def test_a_refused_timer_is_failed_with_its_reason_and_never_fired_again(
    app: App, clock: FixedClock, variant: Path, sweeper: object
) -> None:
    critical, _ = refused_auto_close(app, clock)
    first = sweeper(app.engine)  # type: ignore[operator]
    assert first.failed == [f"{critical} workflow auto_close: {refusal(critical)}"]
    assert f"{critical} workflow auto_close" not in first.fired
    [timer] = [t for t in workflow_timers(app, critical) if t["name"] == "auto_close"]
    assert (timer["status"], timer["result"]) == ("failed", f"failed: {refusal(critical)}")
    assert app.engine.get(critical).state == "awaiting_customer" and pending_timers(app, critical) == []
    assert sweeper(app.engine).failed == []  # type: ignore[operator]
    assert [t["status"] for t in workflow_timers(app, critical) if t["name"] == "auto_close"] == ["failed"]


def test_the_work_list_puts_a_case_left_by_a_refused_timer_first_until_someone_acts(
    app: App, clock: FixedClock, variant: Path
) -> None:
    critical, waiting = refused_auto_close(app, clock)
    timers.sweep(app.engine)
    rows = list_cases(app.engine)
    assert [r["reference"] for r in rows[:2]] == [critical, waiting]
    assert rows[0]["attention"] == f"timer 'auto_close' failed: {refusal(critical)}"
    assert rows[0]["next_due"] <= clock.now()  # overdue (at the latest since the refusal)
    assert rows[1]["attention"] is None
    clock.advance(minutes=5)
    app.engine.advance(critical, "info_received", Actor("hana", "handler"), {"summary": "called the customer"})
    assert all(r["attention"] is None for r in list_cases(app.engine))


def test_the_system_acting_in_place_leaves_the_case_waiting_for_a_person(
    app: App, clock: FixedClock, variant: Path
) -> None:
    critical, _ = refused_auto_close(app, clock)
    timers.sweep(app.engine)
    clock.advance(minutes=5)
    app.engine.advance(critical, "escalate", Actor.system("sla-sweep"), {"reason": "SLA 'first_response' breach"})
    assert list_cases(app.engine)[0]["attention"] == f"timer 'auto_close' failed: {refusal(critical)}"
    assert [p.aspect for p in check_integrity(app.db, app.registry).problems] == ["failed timer"]
    with app.db.read() as conn:
        assert compute(conn, clock.now())["failed_timers_by_kind"] == {"workflow": 1}
    clock.advance(minutes=5)
    app.engine.advance(critical, "assign", Actor("lena", "supervisor"), {"assignee": "hana"})
    assert all(r["attention"] is None for r in list_cases(app.engine))
    assert check_integrity(app.db, app.registry).ok


def test_a_case_the_system_moves_on_to_another_state_no_longer_waits(app: App, clock: FixedClock, variant: Path) -> None:
    critical, _ = refused_auto_close(app, clock)
    timers.sweep(app.engine)
    clock.advance(minutes=5)
    app.engine.advance(critical, "info_received", Actor.system("import"), {"summary": "the customer's reply"})
    assert all(r["attention"] is None for r in list_cases(app.engine))
    assert check_integrity(app.db, app.registry).ok


def test_db_check_and_metrics_report_a_refused_timer_by_reference_until_someone_acts(
    app: App, clock: FixedClock, variant: Path
) -> None:
    critical, _ = refused_auto_close(app, clock)
    timers.sweep(app.engine)
    failed_at = clock.now()
    report = check_integrity(app.db, app.registry)
    assert [(p.reference, p.aspect, p.message) for p in report.problems] == [(
        critical, "failed timer",
        (f"workflow timer 'auto_close' was refused at {failed_at:%Y-%m-%d %H:%M} UTC (failed: {refusal(critical)}) "
         "and nobody has acted on the complaint since: act on it by hand"))]
    with app.db.read() as conn:
        snapshot = compute(conn, clock.now() + timedelta(hours=1))
    assert snapshot["failed_timers_by_kind"] == {"workflow": 1}
    assert "workflow" not in snapshot["timers_fired_last_day_by_kind"]

    clock.advance(minutes=5)
    walk(app, critical, ["info_received"])
    assert check_integrity(app.db, app.registry).ok
    with app.db.read() as conn:
        assert compute(conn, clock.now())["failed_timers_by_kind"] == {}


def test_the_cli_flags_the_case_in_list_and_db_check(
    app: App, clock: FixedClock, variant: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    critical, _ = refused_auto_close(app, clock)
    full_sweep(app.engine)
    runner = CliRunner()
    listed = runner.invoke(cli, ["--db", database_url, "--now", clock.now().isoformat(), "list"])
    assert listed.exit_code == 0, listed.output
    first_row = next(line for line in listed.output.splitlines() if "C-" in line)
    assert critical in first_row and "needs attention since" in first_row
    checked = runner.invoke(cli, ["--db", database_url, "--json", "db", "check"])
    assert checked.exit_code == 1, checked.output
    assert json.loads(checked.output)["complaints_with_problems"] == [critical]
