"""`complaints workflow diff` and `migrate`: open cases move to a newer version, audited, replayable."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from casework import TO_INVESTIGATING, register_variant, shipped_document, stored, take_in, walk
from conftest import T0
from terminal import terminal

from complaintflow.bootstrap import App, workflow_migration
from complaints.clock import FixedClock
from complaints.errors import InvalidInput
from complaints.uow import UnitOfWork
from escalation.repository import ClockRepository
from workflows.diff import diff_workflows
from workflows.integrity import check_integrity
from workflows.machine import MIGRATED, replay

TO_RESOLVED = [*TO_INVESTIGATING, "propose", "accept"]


def reviewed(doc: dict[str, Any]) -> None:
    """The reviewed code of practice: 'on_hold' is now 'paused', the follow-up starts after
    3 days instead of 7, and a frontline medium complaint has 12 business days, not 10."""
    doc["states"]["paused"] = doc["states"].pop("on_hold")
    doc["transitions"]["pause"]["to"] = "paused"
    doc["transitions"]["resume"]["from"] = "paused"
    doc["sla"]["clocks"]["next_update"]["pause"] = ["paused"]
    doc["states"]["resolved"]["timers"][0]["after"] = "P3D"
    doc["sla"]["clocks"]["resolution"]["targets"]["frontline"]["medium"] = "P12D"


def later(app: App, days: int) -> None:
    assert isinstance(app.clock, FixedClock)
    app.clock.advance(days=days)


# -- diff -------------------------------------------------------------------------------------------
def test_the_diff_names_each_state_action_timer_template_and_rule_that_changed(app: App) -> None:
    new = register_variant(app, reviewed)
    found = diff_workflows(app.registry.get("complaint", 2), new)
    changes = {(c.section, c.name, c.change) for c in found.changes}
    assert {("state", "on_hold", "removed"), ("state", "paused", "added"), ("action", "pause", "changed"),
            ("action", "resume", "changed"), ("timer", "resolved.start_follow_up", "changed"),
            ("timer", "on_hold.resume_on_date", "removed"), ("timer", "paused.resume_on_date", "added"),
            ("sla", "next_update", "changed"), ("sla", "resolution", "changed")} <= changes
    detail = next(c.detail for c in found.changes if c.name == "resolved.start_follow_up")
    assert detail == "after: P7D → P3D"
    assert found.totals()["state"] == {"added": 1, "removed": 1, "changed": 0}
    assert diff_workflows(new, new).empty


def test_the_diff_names_changed_guards_and_regulatory_and_escalation_rules(app: App) -> None:
    def stricter(doc: dict[str, Any]) -> None:
        doc["states"]["closed"]["entry_guards"] = doc["states"]["closed"]["entry_guards"][:1]
        doc["escalation"]["after_actions"] = []
        doc["escalation"]["on_warning"] = ["resolution"]
        doc["regulatory"]["clocks"]["fca"]["stop"] = ["closed"]
        doc["sla"]["calendars"]["gb"]["closures"] = ["2026-12-24"]

    found = diff_workflows(app.registry.get("complaint", 2), register_variant(app, stricter))
    changes = {(c.section, c.name, c.change) for c in found.changes}
    assert changes == {("guard", "entry to closed", "changed"), ("escalation", "after_actions", "changed"),
                       ("escalation", "on_warning", "changed"), ("regulatory", "fca", "changed"),
                       ("calendar", "gb", "changed")}
    assert next(c.detail for c in found.changes if c.name == "fca") == "stop: ['resolution_proposed', 'closed'] → ['closed']"


def test_the_diff_between_the_shipped_versions_lists_the_new_letters_and_rules(app: App) -> None:
    found = diff_workflows(app.registry.get("complaint", 1), app.registry.get("complaint", 2))
    added = {c.name for c in found.changes if c.section == "template" and c.change == "added"}
    assert "resolution_accepted" in added
    assert any(c.section == "action" and c.name == "accept" and "notify" in c.detail for c in found.changes)
    assert not any(c.section == "state" for c in found.changes)


# -- migrate ----------------------------------------------------------------------------------------
def three_cases(app: App) -> tuple[str, str, str]:
    investigating = take_in(app)
    walk(app, investigating, TO_INVESTIGATING)
    on_hold = take_in(app)
    walk(app, on_hold, [*TO_INVESTIGATING, "pause"])
    resolved = take_in(app)
    walk(app, resolved, TO_RESOLVED)
    return investigating, on_hold, resolved


def test_a_state_the_new_version_lacks_refuses_the_migration_naming_its_cases(app: App) -> None:
    _, on_hold, _ = three_cases(app)
    register_variant(app, reviewed)
    before = stored(app, on_hold)
    with pytest.raises(InvalidInput, match="1 open case") as caught:
        workflow_migration(app).run("complaint", 3, dry_run=False)
    assert any(on_hold in p and "--map on_hold=STATE" in p for p in caught.value.problems)
    assert stored(app, on_hold) == before


def test_the_dry_run_shows_each_case_s_new_state_timers_and_clocks_and_writes_nothing(app: App) -> None:
    investigating, on_hold, resolved = three_cases(app)
    register_variant(app, reviewed)
    before = {ref: stored(app, ref) for ref in (investigating, on_hold, resolved)}
    later(app, 1)
    plan = workflow_migration(app).run("complaint", 3, {"on_hold": "paused"}, dry_run=True)
    by_ref = {c.reference: c for c in plan.cases}
    assert set(by_ref) == {investigating, on_hold, resolved}
    assert (by_ref[on_hold].from_state, by_ref[on_hold].to_state) == ("on_hold", "paused")
    assert by_ref[on_hold].timers_cancelled == ["resume_on_date"]
    assert [n for n, _ in by_ref[on_hold].timers_scheduled] == ["resume_on_date"]
    # the follow-up of the resolved case now starts 3 days after it was resolved, not 7
    (name, due), = by_ref[resolved].timers_scheduled
    entered = before[resolved]["events"][-1]["at"]
    assert (name, due) == ("start_follow_up", entered + timedelta(days=3))
    # the running resolution clock of the frontline case takes the 12-day target
    assert [(c, k) for c, k, _, _ in by_ref[investigating].clocks] == [("resolution", "retargeted")]
    (_, _, due_before, due_after), = by_ref[investigating].clocks
    assert due_before is not None and due_after is not None and due_after > due_before
    assert plan.totals()["cases"] == 3 and plan.totals()["state changed"] == 1
    assert {ref: stored(app, ref) for ref in before} == before


def test_migrating_writes_one_replayable_event_per_case_and_db_check_stays_clean(app: App) -> None:
    investigating, on_hold, resolved = three_cases(app)
    closed = take_in(app)
    walk(app, closed, ["assess", "invalid"])
    archived_before = stored(app, closed)
    register_variant(app, reviewed)
    later(app, 1)
    plan = workflow_migration(app).run("complaint", 3, {"on_hold": "paused"}, dry_run=False, batch_size=2)
    assert plan.batches == 2 and len(plan.cases) == 4  # the closed case is open too (it may be reopened)
    for ref in (investigating, on_hold, resolved):
        now = stored(app, ref)
        last = now["events"][-1]
        assert (last["action"], last["actor"], last["payload"]["to_version"]) == (MIGRATED, "migration", 3)
        folded = replay(now["events"])
        assert folded is not None and (folded.state, folded.workflow_version) == (now["state"], 3)
    assert stored(app, on_hold)["state"] == "paused"
    with UnitOfWork(app.db) as uow:
        case = uow.cases.get(investigating)
        clock = ClockRepository(uow.conn).clocks(case.id)["resolution"]  # type: ignore[arg-type]
    assert case.fields["workflow_version"] == 3 and clock.target == "P12D"
    assert stored(app, closed)["events"][:-1] == archived_before["events"]
    report = check_integrity(app.db, app.registry)
    assert report.ok, [str(p) for p in report.problems]
    # the migrated cases go on under the new version: the paused one resumes by its new action
    walk(app, on_hold, ["resume"])
    assert stored(app, on_hold)["state"] == "investigating"
    assert workflow_migration(app).run("complaint", 3, dry_run=False).cases == []  # nothing left to move


def test_a_batch_that_fails_leaves_its_cases_untouched_and_the_committed_ones_migrated(app: App) -> None:
    refs = [take_in(app) for _ in range(5)]
    for ref in refs:
        walk(app, ref, TO_INVESTIGATING)
    register_variant(app, reviewed)
    seen: list[int] = []

    def crash_on_the_second(uow: UnitOfWork, done: list[Any]) -> None:
        seen.append(len(done))
        if len(seen) == 2:
            raise RuntimeError("the machine went down")

    with pytest.raises(RuntimeError, match="went down"):
        workflow_migration(app).run("complaint", 3, dry_run=False, batch_size=2, on_batch=crash_on_the_second)
    versions = {}
    for ref in refs:
        with UnitOfWork(app.db) as uow:
            versions[ref] = uow.cases.get(ref).fields["workflow_version"]
    assert [versions[r] for r in refs] == [3, 3, 2, 2, 2]
    assert [stored(app, r)["events"][-1]["action"] for r in refs] == [MIGRATED, MIGRATED, "valid", "valid", "valid"]
    report = check_integrity(app.db, app.registry)
    assert report.ok, [str(p) for p in report.problems]
    workflow_migration(app).run("complaint", 3, dry_run=False, batch_size=2)  # run again: the rest follow
    assert check_integrity(app.db, app.registry).ok


def test_a_map_to_a_state_the_new_version_lacks_is_refused(app: App) -> None:
    register_variant(app, reviewed)
    with pytest.raises(InvalidInput, match="Invalid --map") as caught:
        workflow_migration(app).run("complaint", 3, {"on_hold": "waiting"})
    assert "'waiting' is no state" in caught.value.problems[0]


def test_a_regulatory_letter_the_new_rules_move_is_shown_then_scheduled_and_the_old_one_cancelled(app: App) -> None:
    ref = take_in(app)
    walk(app, ref, TO_INVESTIGATING)

    def earlier_delay_letter(doc: dict[str, Any]) -> None:
        """The delay letter goes two weeks before the eight weeks end, not two days."""
        doc["regulatory"]["clocks"]["fca"]["milestones"] = {"final_response": {
            "label": "final response within 8 weeks of receipt", "calendar_days": 56,
            "letter": "fca_delay_letter", "letter_lead": "P14D"}}

    register_variant(app, earlier_delay_letter)
    (case,) = workflow_migration(app).run("complaint", 3, dry_run=True).cases
    assert ("fca", "restarted") in [(c, k) for c, k, _, _ in case.clocks]
    assert case.letters == [("fca_delay_letter", T0 + timedelta(days=42))]
    workflow_migration(app).run("complaint", 3, dry_run=False)
    letters = [(t["due_at"], t["status"]) for t in stored(app, ref)["timers"] if t["name"] == "fca.final_response.letter"]
    assert sorted(letters) == [(T0 + timedelta(days=42), "pending"), (T0 + timedelta(days=54), "cancelled")]
    assert check_integrity(app.db, app.registry).ok


# -- the CLI ----------------------------------------------------------------------------------------
def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    return terminal(monkeypatch, capsys, "--now", T0.isoformat(), colour=False)(*args)


def test_the_cli_diffs_two_files_as_a_table_and_as_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    doc = shipped_document()
    reviewed(doc)
    doc["version"] = 3
    path = tmp_path / "v3.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    code, out, _ = run(monkeypatch, capsys, "workflow", "diff", "complaint@2", str(path))
    assert code == 0 and "paused" in out and "after: P7D → P3D" in out and "complaint v2 → complaint v3" in out
    code, out, _ = run(monkeypatch, capsys, "--json", "workflow", "diff", "complaint@2", str(path))
    assert code == 0 and json.loads(out)["totals"]["state"] == {"added": 1, "removed": 1, "changed": 0}
    code, _, err = run(monkeypatch, capsys, "workflow", "diff", "complaint@x", str(path))
    assert code != 0 and "NAME@VERSION" in err


def test_the_cli_migrates_with_a_dry_run_first(sqlite_url: str, app: App, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    if not str(app.db.engine.url).startswith("sqlite"):
        pytest.skip("the CLI runs on the test's SQLite file")
    _, on_hold, _ = three_cases(app)
    doc = shipped_document()
    reviewed(doc)
    doc["version"] = 3
    path = tmp_path / "v3.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("COMPLAINTS_WORKFLOW_FILES", json.dumps([str(path)]))
    db = ["--db", str(app.db.engine.url)]
    code, _, err = run(monkeypatch, capsys, *db, "workflow", "migrate", "complaint", "--to", "3", "--dry-run")
    assert code != 0 and on_hold in err and "--map on_hold=STATE" in err
    code, out, _ = run(monkeypatch, capsys, *db, "workflow", "migrate", "complaint", "--to", "3",
                       "--map", "on_hold=paused", "--dry-run")
    assert code == 0 and "Would move" in out and "Nothing was written" in out and "3 cases" in out
    assert stored(app, on_hold)["state"] == "on_hold"
    code, out, _ = run(monkeypatch, capsys, *db, "--json", "workflow", "migrate", "complaint", "--to", "3",
                       "--map", "on_hold=paused")
    assert code == 0 and json.loads(out)["totals"]["cases"] == 3
    assert stored(app, on_hold)["state"] == "paused"
    code, out, _ = run(monkeypatch, capsys, *db, "db", "check")
    assert code == 0, out
