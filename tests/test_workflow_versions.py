"""Workflow versions are immutable: a definition changed under a version its cases use is refused."""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from casework import shipped_document, take_in, walk

from complaintflow.bootstrap import App
from complaintflow.cli.app import main
from complaints.clock import FixedClock
from complaints.errors import InvalidWorkflow
from workflows import timers
from workflows.integrity import check_integrity
from workflows.loader import load_workflow, parse_workflow, shipped_workflow_files
from workflows.registry import WorkflowRegistry
from workflows.versions import check_versions, fingerprint

SHIPPED = next(p for p in shipped_workflow_files() if p.name == "complaint.yaml")


def write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def retitled(doc: dict[str, Any], text: str) -> dict[str, Any]:
    changed = copy.deepcopy(doc)
    changed["templates"]["acknowledgement"]["en"] = text
    return changed


def test_a_definition_changed_under_a_stored_version_is_refused_naming_the_file(app: App, tmp_path: Path) -> None:
    check_versions(app.db, app.registry, app.clock.now())
    edited = load_workflow(write(tmp_path / "complaint.yaml", retitled(shipped_document(), "Thanks. $reference.")))
    assert edited.key == ("complaint", 2) and fingerprint(edited) != fingerprint(app.registry.get("complaint", 2))
    with pytest.raises(InvalidWorkflow, match=r"version 2 differs .* raise 'version' to 3 in .*complaint\.yaml"):
        check_versions(app.db, [edited], app.clock.now())


def test_layout_and_comments_are_no_change_and_a_new_version_is_stored_beside_the_old(app: App, tmp_path: Path) -> None:
    check_versions(app.db, app.registry, app.clock.now())
    same = parse_workflow("# reformatted\n" + SHIPPED.read_text(encoding="utf-8"), source="copy.yaml")
    check_versions(app.db, [same], app.clock.now())
    newer = load_workflow(write(tmp_path / "v3.yaml", {**retitled(shipped_document(), "Thanks. $reference."),
                                                       "version": 3}))
    check_versions(app.db, [*app.registry, newer], app.clock.now())
    check_versions(app.db, [newer], app.clock.now())  # stored: checked, not added again


def test_every_command_refuses_a_workflow_file_edited_in_place(
    app: App, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    path = write(tmp_path / "ours.yaml", {**shipped_document(), "version": 3})
    monkeypatch.setenv("COMPLAINTS_WORKFLOW_FILES", json.dumps([str(path)]))

    def run(*args: str) -> int:
        monkeypatch.setattr(sys, "argv", ["complaints", "--db", database_url, *args])
        try:
            main()
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0

    assert run("list") == 0
    write(path, {**retitled(shipped_document(), "Hello. $reference."), "version": 3})
    capsys.readouterr()
    assert run("list") == 1
    assert "raise 'version' to 4 in" in capsys.readouterr().err


def test_db_check_reports_a_case_whose_state_its_definition_lacks_and_the_sweep_fails_its_timer_cleanly(
    app: App, clock: FixedClock,
) -> None:
    reference = take_in(app)
    walk(app, reference, ["assess", "need_info"])
    renamed = SHIPPED.read_text(encoding="utf-8").replace("awaiting_customer", "waiting")
    edited = WorkflowRegistry([parse_workflow(renamed, source="edited-in-place.yaml")])
    report = check_integrity(app.db, edited)
    assert [(p.reference, p.aspect, p.message) for p in report.problems] == [
        (reference, "workflow", "state 'awaiting_customer' is not in workflow 'complaint' v2")]
    app.engine.registry = edited
    clock.advance(days=15)
    swept = timers.sweep(app.engine)
    assert swept.fired == [] and len(swept.failed) == 1 and "awaiting_customer" in swept.failed[0]


def test_version_1_keeps_the_fingerprint_stored_before_the_language_gained_letters() -> None:
    """Fields the language gained later (``customer_facing``, ``letters``) count only where a
    file sets them, so databases that stored version 1 before they existed still accept it."""
    first = load_workflow(next(p for p in shipped_workflow_files() if p.name == "complaint-v1.yaml"))
    assert fingerprint(first) == "2713954144e82fada869eba0a24fadf2909c5040165a75589e777db49a06012b"
    marked = copy.deepcopy(shipped_document())
    marked["transitions"]["close"]["fields"]["finding"]["customer_facing"] = False  # the default, written out
    assert fingerprint(parse_workflow(yaml.safe_dump(marked, allow_unicode=True), "same.yaml")) == \
        fingerprint(load_workflow(SHIPPED))
