"""The inbox import service (no Prefect): files imported, moved with a report, safe to rerun."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from complaintflow import inbox
from complaints.repository import complaint_t
from workflows.intake import IntakeService

CSV = "product,description,customer_email\nLoan,Charged twice,a@example.com\nCard,Card lost,b@example.com\nLoan,Fee,c@example.com\n"


def _count(app) -> int:  # type: ignore[no-untyped-def]
    with app.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(complaint_t)).scalar_one())


def _report(path: Path) -> dict:
    return json.loads(path.with_name(path.name + ".report.json").read_text())


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "inbox").mkdir()
    return tmp_path / "inbox"


def test_a_good_file_is_imported_and_moved_to_processed_with_its_report(app, folder):
    (folder / "a.csv").write_text(CSV)
    report = inbox.import_inbox(app, folder)
    assert report.created == 3 and _count(app) == 3
    moved = folder / "processed" / "a.csv"
    assert moved.exists() and not (folder / "a.csv").exists()
    assert _report(moved) | {"moved_to": ""} == {"file": "a.csv", "moved_to": "", "created": 3, "duplicates": 0, "errors": []}


def test_bad_rows_send_the_file_to_failed_with_row_numbers_and_the_good_rows_are_kept(app, folder):
    (folder / "b.csv").write_text("product,description\nLoan,Charged twice\n,no product\n")
    (folder / "c.json").write_text("{not json")
    (folder / "notes.txt").write_text("hello")
    (folder / ".upload.csv").write_text(CSV)  # hidden: still being written
    inbox.import_inbox(app, folder)
    assert _count(app) == 1
    assert _report(folder / "failed" / "b.csv")["errors"] == ["row 3: product: Field required"]
    assert "not valid JSON" in _report(folder / "failed" / "c.json")["errors"][0]
    assert _report(folder / "failed" / "notes.txt")["errors"] == [
        "unsupported file type '.txt'; use .csv, .json, .jsonl, .ndjson"]
    assert inbox.pending_files(folder) == []  # the hidden file waits


def test_the_same_file_dropped_again_stores_nothing_twice_and_keeps_both_copies(app, folder):
    (folder / "a.csv").write_text(CSV)
    inbox.import_inbox(app, folder)
    (folder / "a.csv").write_text(CSV)
    again = inbox.import_inbox(app, folder)
    assert (again.files[0].created, again.files[0].duplicates) == (0, 3) and _count(app) == 3
    assert sorted(p.name for p in (folder / "processed").glob("*.csv")) == ["a.20261123T090000.csv", "a.csv"]


def test_an_import_that_crashes_half_way_leaves_whole_complaints_and_the_rerun_completes_it(app, folder, monkeypatch):
    app.intake.batch_size = 2
    (folder / "a.csv").write_text(CSV)
    real_write, calls = IntakeService._write, {"n": 0}

    def crash_in_the_second_batch(self, uow, batch, actor):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        result = real_write(self, uow, batch, actor)
        if calls["n"] == 2:
            raise ConnectionError("server closed the connection")
        return result

    monkeypatch.setattr(IntakeService, "_write", crash_in_the_second_batch)
    with pytest.raises(ConnectionError):
        inbox.import_inbox(app, folder)
    assert _count(app) == 2 and (folder / "a.csv").exists()  # first batch stored, file still waiting
    outcome = inbox.import_inbox(app, folder).files[0]
    assert (outcome.created, outcome.duplicates) == (1, 2) and _count(app) == 3
