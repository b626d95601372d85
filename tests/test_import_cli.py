"""``complaints import`` with a mapping and the options that say how a file is written: each
bad option is an error naming the option, and the import says how it read the file (its kind,
encoding, mapping and each date column's format), in text and in ``--json``."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import T0, make_app
from importing import IMPORT_FILES, write
from test_cli import Cli

from complaints.clock import FixedClock


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("COLUMNS", "250")  # rich wraps at the terminal width; keep each message on one line
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    make_app(url, FixedClock(T0)).db.dispose()
    return Cli(url, capsys, monkeypatch)


def test_an_import_through_a_shipped_mapping_says_how_it_read_the_file(cli: Cli) -> None:
    result = cli.ok("import", str(IMPORT_FILES / "housing_ombudsman.csv"), "--map", "housing_ombudsman")
    assert result.out.splitlines()[:2] == [
        "read as CSV, utf-8, mapping housing_ombudsman; dates in 'Date complaint received': day-first "
        "(DD/MM/YYYY), e.g. 14/02/2023",
        "4 created, 0 already known, 0 rejected",
    ]
    again = cli.ok("--json", "import", str(IMPORT_FILES / "housing_ombudsman.csv")).data
    assert again["read"] == {"read_as": "CSV, utf-8", "mapping": "housing_ombudsman",
                             "dates": {"Date complaint received": "day-first (DD/MM/YYYY), e.g. 14/02/2023"}}
    assert (again["created"], again["duplicates"]) == (0, 4)


def test_a_mapping_file_is_given_by_its_path(cli: Cli, tmp_path: Path) -> None:
    mapping = write(tmp_path / "mine.yaml", "fields:\n  product: {value: Loan}\n  description: Text\n")
    path = write(tmp_path / "in.csv", "Text,Ref\r\nCharged twice,R1\r\n")
    summary = cli.ok("--json", "import", str(path), "--map", str(mapping)).data
    assert (summary["created"], summary["read"]["mapping"]) == (1, "mine")


def test_dayfirst_and_a_date_format_say_how_an_ambiguous_column_is_read(cli: Cli, tmp_path: Path) -> None:
    path = write(tmp_path / "in.csv", "product,description,received_at\r\nLoan,Charged twice,03/04/2020\r\n")
    refused = cli("import", str(path))
    assert refused.code == 1 and "--dayfirst" in refused.err and "--date-format" in refused.err
    summary = cli.ok("--json", "import", str(path), "--dayfirst").data
    assert summary["read"]["dates"] == {"received_at": "day-first (DD/MM/YYYY), e.g. 03/04/2020"}
    other = write(tmp_path / "other.csv", "product,description,received_at\r\nLoan,Again,04.03.2020\r\n")
    summary = cli.ok("--json", "import", str(other), "--date-format", "%d.%m.%Y").data
    assert summary["read"]["dates"] == {"received_at": "format %d.%m.%Y, e.g. 04.03.2020"}


def test_an_encoding_and_a_sheet_can_be_given(cli: Cli, tmp_path: Path) -> None:
    import openpyxl

    path = write(tmp_path / "in.csv", "product,description\r\nLoan,ā\r\n", encoding="cp1257")
    assert cli.ok("--json", "import", str(path), "--encoding", "cp1257").data["read"]["read_as"] == "CSV, cp1257"
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    sheet = book.create_sheet("Complaints")
    sheet.append(["product", "description"])
    sheet.append(["Loan", "From the second sheet"])
    book.save(tmp_path / "book.xlsx")
    summary = cli.ok("--json", "import", str(tmp_path / "book.xlsx"), "--sheet", "Complaints").data
    assert (summary["created"], summary["read"]["read_as"]) == (1, "XLSX, sheet 'Complaints'")


@pytest.mark.parametrize(("options", "message"), [
    (["--map", "nowhere"], "--map: no mapping file 'nowhere' and no shipped mapping of that name"),
    (["--encoding", "klingon"], "--encoding: unknown encoding 'klingon'"),
    (["--date-format", "%H:%M"], "--date-format: '%H:%M' names no day and no month and no year"),
    (["--sheet", "Complaints"], "--sheet: in.csv is not a workbook; --sheet is for .xlsx files"),
    (["--format", "pdf"], "--format: unknown format 'pdf'; use cfpb, csv, json, xlsx"),
])
def test_a_bad_option_is_an_error_naming_it(cli: Cli, tmp_path: Path, options: list[str], message: str) -> None:
    path = write(tmp_path / "in.csv", "product,description\r\nLoan,Charged twice\r\n")
    result = cli("import", str(path), *options)
    assert result.code == 1 and result.err.startswith(f"Error: {message}")
    assert len(result.err.strip().splitlines()) == 1


def test_the_help_names_every_option(cli: Cli) -> None:
    shown = cli("import", "--help").out
    for option in ("--map", "--date-format", "--dayfirst", "--monthfirst", "--encoding", "--sheet", "--format"):
        assert option in shown
