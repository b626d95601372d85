"""The inbox import service (no Prefect): files imported, moved with a report, safe to rerun."""

from __future__ import annotations

import json
import os
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
    report = inbox.import_inbox(app, folder, settle=0)
    assert report.created == 3 and _count(app) == 3
    moved = folder / "processed" / "a.csv"
    assert moved.exists() and not (folder / "a.csv").exists()
    assert _report(moved) | {"moved_to": ""} == {"file": "a.csv", "moved_to": "", "created": 3, "duplicates": 0,
                                                 "errors": [], "read_as": "CSV, utf-8"}


def test_the_report_says_how_each_date_column_was_read(app, folder):
    (folder / "d.csv").write_text("product,description,received_at\nLoan,Charged twice,25/03/2026\n")
    inbox.import_inbox(app, folder, settle=0)
    assert _report(folder / "processed" / "d.csv")["read_as"] == (
        "CSV, utf-8; dates in 'received_at': day-first (DD/MM/YYYY), e.g. 25/03/2026")


def test_bad_rows_send_the_file_to_failed_with_row_numbers_and_the_good_rows_are_kept(app, folder):
    (folder / "b.csv").write_text("product,description\nLoan,Charged twice\n,no product\n")
    (folder / "c.json").write_text("{not json")
    (folder / "notes.txt").write_text("hello")
    (folder / ".upload.csv").write_text(CSV)  # hidden: still being written
    inbox.import_inbox(app, folder, settle=0)
    assert _count(app) == 1
    assert _report(folder / "failed" / "b.csv")["errors"] == ["row 3: product: Field required"]
    assert "not valid JSON" in _report(folder / "failed" / "c.json")["errors"][0]
    assert _report(folder / "failed" / "notes.txt")["errors"] == [
        "unsupported file type '.txt'; use .csv, .json, .jsonl, .ndjson, .xlsx"]
    assert inbox.pending_files(folder) == []  # the hidden file waits


def test_the_same_file_dropped_again_stores_nothing_twice_and_keeps_both_copies(app, folder):
    (folder / "a.csv").write_text(CSV)
    inbox.import_inbox(app, folder, settle=0)
    (folder / "a.csv").write_text(CSV)
    again = inbox.import_inbox(app, folder, settle=0)
    assert (again.files[0].created, again.files[0].duplicates) == (0, 3) and _count(app) == 3
    assert sorted(p.name for p in (folder / "processed").glob("*.csv")) == ["a.20261123T090000.csv", "a.csv"]


def test_an_import_that_crashes_half_way_leaves_whole_complaints_and_the_rerun_completes_it(app, folder, monkeypatch):
    app.intake.batch_size = 2
    (folder / "a.csv").write_text(CSV)
    real_write, calls = IntakeService._write, {"n": 0}

    def crash_in_the_second_batch(self, uow, batch, actor, historical=False):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        result = real_write(self, uow, batch, actor, historical)
        if calls["n"] == 2:
            raise ConnectionError("server closed the connection")
        return result

    monkeypatch.setattr(IntakeService, "_write", crash_in_the_second_batch)
    with pytest.raises(ConnectionError):
        inbox.import_inbox(app, folder, settle=0)
    assert _count(app) == 2 and inbox.leftover_files(folder) == [folder / ".working" / "a.csv"]
    outcome = inbox.import_inbox(app, folder, settle=0).files[0]
    assert (outcome.created, outcome.duplicates) == (1, 2) and _count(app) == 3


def test_a_symbolic_link_is_moved_aside_unread_and_nothing_of_its_target_reaches_the_report(app, folder, tmp_path):
    secret = tmp_path / "elsewhere.csv"
    secret.write_text("product,description\nLoan,Anna Bērziņa IBAN LV80BANK0000435195001\n")
    (folder / "link.csv").symlink_to(secret)
    (folder / "good.csv").write_text(CSV)
    report = inbox.import_inbox(app, folder, settle=0)
    assert _count(app) == 3  # the good file only
    failed = folder / "failed" / "link.csv"
    assert failed.is_symlink() and _report(failed)["errors"] == ["not a regular file (a symbolic link): not read"]
    assert "Bērziņa" not in failed.with_name("link.csv.report.json").read_text()
    assert [f.file for f in report.files] == ["good.csv", "link.csv"]


def test_a_file_with_a_name_too_long_for_its_report_fails_on_its_own_and_the_next_file_is_imported(app, folder):
    long_name = "x" * (255 - len(".csv")) + ".csv"
    (folder / long_name).write_text("product,description\n,no product\n")
    (folder / "z.csv").write_text(CSV)
    report = inbox.import_inbox(app, folder, settle=0)
    assert _count(app) == 3 and {f.file for f in report.files} == {long_name, "z.csv"}
    reports = list((folder / "failed").glob("*.report.json"))
    assert len(reports) == 1 and json.loads(reports[0].read_text())["file"] == long_name
    assert (folder / "failed" / long_name).exists()


def test_a_file_still_being_written_waits_until_it_has_settled(app, folder):
    path = folder / "growing.csv"
    path.write_text(CSV[: CSV.index("Card")])  # half written, just now
    report = inbox.import_inbox(app, folder, settle=30)
    assert report.waiting == ["growing.csv"] and report.files == [] and _count(app) == 0
    path.write_text(CSV)
    old = path.stat().st_mtime - 60
    os.utime(path, (old, old))  # the writer finished a minute ago
    assert inbox.import_inbox(app, folder, settle=30).created == 3


def test_a_file_cut_inside_a_row_fails_with_its_report_and_the_cut_row_is_never_stored(app, folder):
    (folder / "cut.csv").write_text('product,description\nLoan,Charged twice\nCard,"The narrative was cut in the mid')
    outcome = inbox.import_inbox(app, folder, settle=0).files[0]
    assert outcome.created == 1 and outcome.moved_to.endswith("failed/cut.csv")
    assert len(outcome.errors) == 1 and outcome.errors[0].startswith("row 3")
    with app.db.read() as conn:
        descriptions = list(conn.execute(select(complaint_t.c.description)).scalars())
    assert descriptions == ["Charged twice"]


def test_the_same_rows_under_another_name_are_recognised(app, folder):
    (folder / "monday.csv").write_text(CSV)
    inbox.import_inbox(app, folder, settle=0)
    (folder / "monday-copy.csv").write_text(CSV)
    again = inbox.import_inbox(app, folder, settle=0).files[0]
    assert (again.created, again.duplicates) == (0, 3) and _count(app) == 3


def test_a_report_quotes_a_cell_only_as_a_short_masked_excerpt(app, folder):
    cell = "anna@example.lv wrote a very long narrative here " * 3
    (folder / "bad.csv").write_text(f"product,description,severity\nLoan,Fee,{cell}\n")
    errors = _report(inbox.import_inbox(app, folder, settle=0).files[0] and folder / "failed" / "bad.csv")["errors"]
    assert len(errors) == 1 and "anna@example.lv" not in errors[0] and cell not in errors[0]
    assert "[email]" in errors[0] and "…" in errors[0]
