"""The importer loses nothing and trusts nothing: a row that is half-read (cells missing or
extra, cut off by an interrupted upload, bytes not in the file's encoding, a NUL, a cell too
long) is refused with its row number and nothing of it is stored, while every good row of the
file is; text in any usual encoding and workbooks are read; anything else is refused whole,
in one line."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

import openpyxl
import pytest
from conftest import CFPB_SAMPLE
from importing import good, read, refused, store, stored, write

from complaintflow.bootstrap import App
from complaints.errors import InvalidInput
from complaints.importers import MAX_CELL_CHARS, MAX_JSON_DEPTH, jsonfiles, read_file
from complaints.steps import Actor

HEADER = "external_id,product,description\r\n"


def rows_of(*lines: str) -> str:
    return HEADER + "".join(line + "\r\n" for line in lines)


# -- half-read rows ----------------------------------------------------------------------------


def test_rows_with_fewer_or_more_cells_than_the_header_are_refused_and_the_rest_stored(
    app: App, handler: Actor, tmp_path: Path
) -> None:
    path = write(tmp_path / "cells.csv", rows_of("E1,Loan,Fine", "E2,Loan", "E3,Loan,Fine,extra,more", "E4,Loan,Fine"))
    report = store(app, path, handler)
    assert report.errors == [(3, "row 3: 1 cell(s) fewer than the header has"),
                             (4, "row 4: 2 cell(s) more than the header has")]
    assert [c["external_id"] for c in stored(app)] == ["E1", "E4"]


def test_a_last_row_cut_off_inside_quotes_is_refused_and_never_becomes_a_complaint(
    app: App, handler: Actor, tmp_path: Path
) -> None:
    # an interrupted upload: the narrative's closing quote, and the rest of the file, never came
    path = write(tmp_path / "upload.csv", rows_of("E1,Loan,Fine", 'E2,Loan,"Charged twice, and then') + "they ")
    report = store(app, path, handler)
    assert report.errors == [(3, "row 3: the file ends inside a quoted cell: this last row is cut off "
                                 "(an interrupted upload?)")]
    assert [c["external_id"] for c in stored(app)] == ["E1"]


def test_an_undecodable_byte_refuses_its_row_and_the_file_is_read_to_the_end(tmp_path: Path) -> None:
    lines = [f"E{n},Loan,Café charged twice (row {n})" for n in range(2, 7124)]
    lines[3001 - 2] = "E3001,Loan,Caf\xe9 in Latin-1"
    data = (HEADER + "\r\n".join(lines) + "\r\n").encode("utf-8").replace("Caf\xe9 in".encode(), b"Caf\xe9 in")
    rows = read(write(tmp_path / "export.csv", data))
    assert refused(rows) == [(3001, "row 3001: column 'description' holds byte 0xE9, which is not utf-8; fix the "
                                    "row or give --encoding")]
    assert len(good(rows)) == 7122 - 1 and good(rows)[-1].external_id == "E7123"


def test_an_undecodable_byte_stores_every_other_row(app: App, handler: Actor, tmp_path: Path) -> None:
    data = rows_of("E1,Loan,Déjà vu", "E2,Loan,Bad \udce9 byte", "E3,Loan,Fine").encode("utf-8", "surrogateescape")
    report = store(app, write(tmp_path / "export.csv", data), handler)
    assert [row for row, _ in report.errors] == [3]
    assert [c["external_id"] for c in stored(app)] == ["E1", "E3"]


def test_a_nul_in_a_cell_is_refused_alike_on_every_database(app: App, handler: Actor, tmp_path: Path) -> None:
    path = write(tmp_path / "nul.csv", rows_of("E1,Loan,Fine", "E2,Loan,Charged\x00twice", "E3,Loan,Fine"))
    report = store(app, path, handler)
    assert report.errors == [(3, "row 3: column 'description' holds a NUL character (\\0), which no complaint "
                                 "text may hold")]
    assert [c["external_id"] for c in stored(app)] == ["E1", "E3"]


def test_a_cell_above_the_limit_is_refused_and_the_rows_after_it_are_read(tmp_path: Path) -> None:
    # far above the csv module's own limit (131,072), which would otherwise end the file there
    huge = "x" * (MAX_CELL_CHARS + 1)
    rows = read(write(tmp_path / "big.csv", rows_of("E1,Loan,Fine", f'E2,Loan,"{huge}"', "E3,Loan,Fine")))
    assert refused(rows) == [(3, f"row 3: column 'description' holds {MAX_CELL_CHARS + 1:,} characters; a cell "
                                 f"may hold at most {MAX_CELL_CHARS:,}")]
    assert [c.external_id for c in good(rows)] == ["E1", "E3"]


def test_a_row_that_is_not_valid_csv_is_refused_and_the_next_rows_read(tmp_path: Path) -> None:
    rows = read(write(tmp_path / "quotes.csv", rows_of("E1,Loan,Fine", 'E2,Loan,"closed" then text', "E3,Loan,Fine")))
    assert refused(rows) == [(3, "row 3: not valid CSV: ',' expected after '\"'")]
    assert [c.external_id for c in good(rows)] == ["E1", "E3"]


def test_a_header_that_names_a_column_twice_is_refused_naming_it(tmp_path: Path) -> None:
    path = write(tmp_path / "twice.csv", "external_id,product,description,product\r\nE1,Loan,Fine,Card\r\n")
    with pytest.raises(InvalidInput, match=r"^twice\.csv: header: column 'product' appears 2 times; rename one, "
                                           r"or import with a mapping \(--map\) that names the one to use"):
        read_file(path)


# -- encodings and kinds of file ---------------------------------------------------------------

TEXTS = {
    "utf-8": "Maksājums ieskaitīts divreiz – €40",
    "cp1252": "J’ai été débité deux fois de 49,90 € pour le même achat",
    "cp1257": "Maksājums tika ieskaitīts divreiz; lūdzu atgriezt naudu. Bankas darbinieks neatbildēja.",
    "iso8859_7": "Η χρέωση έγινε δύο φορές και κανείς δεν απαντά στο τηλέφωνο.",
}


@pytest.mark.parametrize("encoding", [*TEXTS, "utf-8-sig", "utf-16"])
def test_text_in_each_usual_encoding_is_detected_and_read_as_written(tmp_path: Path, encoding: str) -> None:
    text = TEXTS.get(encoding, TEXTS["cp1257"])
    path = write(tmp_path / "legacy.csv", rows_of(f'E1,Loan,"{text}"', "E2,Loan,Plain"), encoding)
    rows = read(path)
    assert [c.description for c in good(rows)] == [text, "Plain"]
    assert read_file(path).summary()["read_as"] == f"CSV, {encoding}"


def test_an_encoding_given_is_used_and_an_unknown_one_is_refused_naming_the_option(tmp_path: Path) -> None:
    path = write(tmp_path / "short.csv", rows_of("E1,Loan,ā"), "cp1257")  # one letter: too little to tell
    assert good(read(path, encoding="cp1257"))[0].description == "ā"
    with pytest.raises(InvalidInput, match=r"^--encoding: unknown encoding 'klingon'"):
        read(path, encoding="klingon")


def test_a_semicolon_separated_export_is_read(tmp_path: Path) -> None:
    path = write(tmp_path / "excel.csv", "external_id;product;description\r\nE1;Loan;Charged twice, again\r\n")
    assert good(read(path))[0].description == "Charged twice, again"
    assert read_file(path).summary()["read_as"] == "CSV, utf-8, delimiter ';'"


def workbook(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_a_workbook_is_read_from_its_first_sheet_or_the_one_named(tmp_path: Path) -> None:
    from datetime import datetime

    header = ["external_id", "product", "description", "received_at"]
    path = workbook(tmp_path / "book.xlsx", {
        "Complaints": [header, [101, "Loan", "Charged twice", datetime(2024, 3, 25, 9, 30)], [], [102, "Card", None, None]],
        "Archive": [header, ["A1", "Loan", "Old one", "2019-01-02"]],
    })
    rows = read(path)
    assert [(c.external_id, c.received_at.isoformat() if c.received_at else None) for c in good(rows)] == [
        ("101", "2024-03-25T09:30:00+00:00")]
    assert refused(rows) == [(4, "row 4: description: Field required")]
    assert [c.external_id for c in good(read(path, sheet="Archive"))] == ["A1"]
    with pytest.raises(InvalidInput, match=r"^--sheet: book\.xlsx has no sheet 'Summary'; its sheets: Complaints, "
                                           r"Archive$"):
        read(path, sheet="Summary")


@pytest.mark.parametrize(("name", "data", "message"), [
    ("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "photo.csv: a PNG image, not a CSV, JSON or .xlsx file"),
    ("data.bin", bytes(range(256)) * 64, "data.bin: not a text file (it holds binary data)"),
    ("book.xlsx", b"external_id,product\r\n", "book.xlsx: not an .xlsx workbook (no ZIP archive inside)"),
    ("fake.xlsx", b"PK\x03\x04" + b"\x00" * 64, "fake.xlsx: not a readable .xlsx workbook"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old.xls: an old Office file (.xls): save it as"),
    ("empty.csv", b"", "empty.csv: the file is empty"),
])
def test_a_file_that_is_neither_text_nor_a_workbook_is_refused_in_one_line(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        read(write(tmp_path / name, data))
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


# -- JSON --------------------------------------------------------------------------------------


def test_a_json_document_nested_a_thousand_levels_is_refused_with_its_line(tmp_path: Path) -> None:
    deep = '{"complaints": [\n  {"product": "Card", "description": ' + "[" * 1000 + "]" * 1000 + "}\n]}"
    with pytest.raises(InvalidInput, match=rf"^deep\.json: line 2: nested deeper than {MAX_JSON_DEPTH} levels$"):
        read(write(tmp_path / "deep.json", deep))


def test_a_json_line_nested_too_deep_is_refused_and_the_other_lines_read(tmp_path: Path) -> None:
    lines = ['{"external_id": "L1", "product": "Card", "description": "Fine"}',
             '{"external_id": "L2", "product": "Card", "description": ' + "[" * 100_000 + "]" * 100_000 + "}",
             '{"external_id": "L3", "product": "Card", "description": "Fine"}']
    rows = read(write(tmp_path / "deep.jsonl", "\n".join(lines)))
    assert refused(rows) == [(2, f"row 2: nested deeper than {MAX_JSON_DEPTH} levels")]
    assert [c.external_id for c in good(rows)] == ["L1", "L3"]


def test_a_json_document_above_the_size_limit_is_refused_and_json_lines_suggested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(jsonfiles, "MAX_JSON_BYTES", 100)
    path = write(tmp_path / "big.json", json.dumps([{"product": "Card", "description": "x" * 100}]))
    with pytest.raises(InvalidInput, match=r"^big\.json: a JSON document of 140 bytes; the most read whole is 100: "
                                           r"write JSON lines"):
        read(path)


def test_json_values_with_a_nul_or_bytes_not_in_utf8_are_refused_by_row(tmp_path: Path) -> None:
    items = [{"external_id": "J1", "product": "Card", "description": "Fine"},
             {"external_id": "J2", "product": "Card", "description": "Charged\u0000twice"},
             {"external_id": "J3", "product": "Card", "description": "Fine", "customer": {"name": "Ann \udce9"}}]
    data = json.dumps(items).encode("utf-8").replace(b"\\udce9", b"\xe9")
    rows = read(write(tmp_path / "items.json", data))
    assert refused(rows) == [
        (2, "row 2: 'description' holds a NUL character (\\0), which no complaint text may hold"),
        (3, "row 3: 'customer.name' holds byte 0xE9, which is not UTF-8; fix the row or give --encoding"),
    ]
    assert [c.external_id for c in good(rows)] == ["J1"]


def test_json_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    data = codecs.BOM_UTF8 + json.dumps([{"product": "Card", "description": "Fine"}]).encode()
    assert good(read(write(tmp_path / "bom.json", data)))[0].product == "Card"


# -- ids from content --------------------------------------------------------------------------


def test_rows_without_an_external_id_are_recognised_when_dropped_again_under_another_name(
    app: App, handler: Actor, tmp_path: Path
) -> None:
    text = "product,description,received_at\r\nLoan,Charged twice,2024-03-25\r\nCard,Blocked abroad,2024-03-26\r\n"
    first = store(app, write(tmp_path / "monday.csv", text), handler)
    again = store(app, write(tmp_path / "monday (1).csv", text), handler)
    assert (len(first.created), again.created, len(again.duplicates)) == (2, [], 2)
    ids = [c["external_id"] for c in stored(app)]
    assert len(ids) == 2 and all(i.startswith("content:") for i in ids)


@pytest.mark.slow
def test_the_cfpb_sample_reads_through_its_shipped_mapping_with_every_row_good() -> None:
    if not CFPB_SAMPLE.is_file():
        pytest.skip(f"{CFPB_SAMPLE} is absent")
    rows = read_file(CFPB_SAMPLE)
    assert (sum(1 for _ in rows), rows.mapping) == (2827, "cfpb")
    assert rows.summary()["dates"] == {"Date received": "month-first (MM/DD/YY), e.g. 03/22/23"}
