"""A mapping file for foreign exports: columns (or several joined) and fixed values become a
complaint's fields; columns not mapped are kept on the complaint or dropped, never a reason to
refuse a row; a mapping is checked like a workflow file, each problem named with its line; and
three mappings ship with the importer, each tested on a file as its source writes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from importing import IMPORT_FILES, good, read, refused, store, stored, write

from complaintflow.bootstrap import App
from complaints.errors import InvalidInput, NotFound
from complaints.importers import parse_mapping, read_file, shipped_mappings
from complaints.steps import Actor

SITE = """\
name: site
fields:
  product: {value: Broadband}
  description: {join: [Title, Body], with: "\\n\\n"}
  received_at: Posted
  channel: {value: social}
"""


def mapping_file(tmp_path: Path, text: str, name: str = "site.yaml") -> Path:
    return write(tmp_path / name, text)


def test_shipped_mappings_are_found_by_name() -> None:
    assert sorted(shipped_mappings()) == ["cfpb", "complaint_site_tr", "housing_ombudsman"]


# -- the shipped mappings, on files as their sources write them ----------------------------------


def test_a_turkish_complaint_site_export_with_a_bom_imports_title_and_text_as_the_description(
    app: App, handler: Actor
) -> None:
    path = IMPORT_FILES / "complaint_site_tr.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    report = store(app, path, handler)
    assert (len(report.created), report.errors) == (5, [])
    cargo = next(c for c in stored(app) if c["category"] == "kargo, geç teslimat")
    assert cargo["description"].startswith("Kargo Paketim 10 Gündür Teslim Edilmedi\n\n10 gün önce sipariş")
    assert (cargo["language"], cargo["channel"], cargo["received_at"].replace(tzinfo=UTC)) == (
        "tr", "social", datetime(2020, 3, 3, 14, 5, tzinfo=UTC))
    rows = read_file(path)
    list(rows)
    assert (rows.mapping, rows.summary()["dates"]) == (
        "complaint_site_tr", {"date": "with the month's name, e.g. 3 Mart 2020 14:05"})


def test_the_same_complaint_site_export_dropped_again_under_another_name_is_recognised(
    app: App, handler: Actor, tmp_path: Path
) -> None:
    store(app, IMPORT_FILES / "complaint_site_tr.csv", handler)
    copy = write(tmp_path / "sikayetler (2).csv", (IMPORT_FILES / "complaint_site_tr.csv").read_bytes())
    again = store(app, copy, handler)
    assert (again.created, len(again.duplicates)) == ([], 5)


def test_an_ombudsman_findings_table_is_imported_as_history_closed_with_its_findings(app: App, handler: Actor) -> None:
    report = store(app, IMPORT_FILES / "housing_ombudsman.csv", handler)
    assert (len(report.created), report.errors) == (4, [])
    first, *_, no_summary = stored(app)
    assert (first["external_id"], first["company"], first["category"], first["sub_category"]) == (
        "202206731", "Sanctuary Housing Association", "Damp and mould", "No maladministration")
    assert first["description"] == "Damp and mould – No maladministration"  # no summary: category and finding
    assert (first["state"], first["data"]["outcome"]) == ("closed", "No maladministration")
    assert "source" not in first["payload"]  # every column is mapped
    lambeth = next(c for c in stored(app) if c["external_id"] == "202301187")
    assert lambeth["received_at"].replace(tzinfo=UTC) == datetime(2023, 5, 3, tzinfo=UTC)  # a UK date: 3 May


def test_an_ombudsman_table_saved_as_a_workbook_imports_alike(tmp_path: Path) -> None:
    import csv

    import openpyxl

    book = openpyxl.Workbook()
    with (IMPORT_FILES / "housing_ombudsman.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.reader(fh):
            book.active.append(row)
    book.save(tmp_path / "findings.xlsx")
    from_book = good(read(tmp_path / "findings.xlsx", mapping="housing_ombudsman"))
    from_csv = good(read(IMPORT_FILES / "housing_ombudsman.csv"))
    assert [c.model_dump() for c in from_book] == [c.model_dump() for c in from_csv]


def test_a_cfpb_export_without_its_optional_columns_imports(tmp_path: Path) -> None:
    path = write(tmp_path / "cfpb.csv", "Complaint ID,Date received,Product,Issue\r\n7,03/22/23,Payday loan,Fees\r\n")
    [record] = good(read(path, mapping="cfpb"))
    assert (record.external_id, record.description, record.channel) == ("7", "Fees", "web")


# -- a mapping of one's own -------------------------------------------------------------------


def test_columns_joined_fixed_values_and_dates_are_mapped_and_the_rest_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "export.csv", "Title,Body,Posted,Votes\r\nSlow line,Down every evening,25/03/2024,12\r\n"
                                          "No service,,26/03/2024,\r\n")
    first, second = good(read(path, mapping=mapping_file(tmp_path, SITE)))
    assert (first.product, first.description, first.channel, first.received_at, first.source) == (
        "Broadband", "Slow line\n\nDown every evening", "social", datetime(2024, 3, 25, tzinfo=UTC), {"Votes": "12"})
    assert (second.description, second.source) == ("No service", None)


def test_columns_not_mapped_are_dropped_when_the_mapping_says_so(tmp_path: Path) -> None:
    path = write(tmp_path / "export.csv", "Title,Body,Posted,Votes\r\nSlow line,Down,25/03/2024,12\r\n")
    [record] = good(read(path, mapping=mapping_file(tmp_path, SITE + "unmapped: drop\n")))
    assert record.source is None


def test_a_mapping_translates_values_and_names_the_column_of_a_bad_one(tmp_path: Path) -> None:
    text = SITE.replace("channel: {value: social}", "channel: {column: Via, values: {Letter: letter, Tel: phone}}")
    path = write(tmp_path / "export.csv", "Title,Body,Posted,Via\r\nA,B,25/03/2024,TEL\r\nA,C,25/03/2024,Pigeon\r\n")
    rows = read(path, mapping=mapping_file(tmp_path, text))
    assert [c.channel for c in good(rows)] == ["phone"]
    assert refused(rows) == [(3, "row 3: channel (column 'Via'): must be 'email', 'phone', 'web', 'letter', "
                                 "'in_person', 'social', 'chat', 'regulator' or 'api', got 'pigeon'")]


def test_a_column_named_twice_is_used_as_the_mapping_names_it(tmp_path: Path) -> None:
    path = write(tmp_path / "twice.csv", "Title,Body,Posted,Posted\r\nA,B,2020-01-01,25/03/2024\r\n")
    with pytest.raises(InvalidInput, match=r"column 'Posted' \(site\.yaml line 5, fields\.received_at\) appears 2 "
                                           r"times in the header \(columns 3 and 4\); name the one to use as "
                                           r"'Posted\[1\]' or 'Posted\[2\]'"):
        read(path, mapping=mapping_file(tmp_path, SITE))
    [record] = good(read(path, mapping=mapping_file(tmp_path, SITE.replace("received_at: Posted",
                                                                           "received_at: Posted[2]"))))
    assert (record.received_at, record.source) == (datetime(2024, 3, 25, tzinfo=UTC), {"Posted[1]": "2020-01-01"})


def test_a_column_the_file_lacks_is_named_with_the_mapping_s_line(tmp_path: Path) -> None:
    path = write(tmp_path / "export.csv", "Title,Text,Posted\r\nA,B,25/03/2024\r\n")
    with pytest.raises(InvalidInput, match=r"^export\.csv: header: column 'Body' \(site\.yaml line 4, "
                                           r"fields\.description\.join\.1\) is not in the header; did you mean 'Title'\?"
                                           r"|its columns"):
        read(path, mapping=mapping_file(tmp_path, SITE))


def test_a_mapping_reads_json_objects_as_rows(tmp_path: Path) -> None:
    path = write(tmp_path / "posts.jsonl", "\n".join(json.dumps(item) for item in [
        {"Title": "Slow", "Body": "Down", "Posted": "3 March 2020", "Votes": 3},
        {"Title": "Cut", "Posted": "4 March 2020", "Tags": ["a", "b"]},
    ]))
    first, second = good(read(path, mapping=mapping_file(tmp_path, SITE)))
    assert (first.description, first.source, second.source) == ("Slow\n\nDown", {"Votes": "3"}, {"Tags": '["a", "b"]'})


@pytest.mark.parametrize(("text", "problem"), [
    (SITE.replace("product:", "produkt:"),
     "line 3, fields.produkt: unknown key 'produkt': did you mean 'product'?"),
    (SITE.replace("  product: {value: Broadband}\n", ""),
     "line 2, fields: product is not mapped: every complaint needs one; map a column or give a value"),
    (SITE.replace("{value: Broadband}", "{value: Broadband, column: Product}"),
     "line 3, fields.product: give one of column, value, join or first (it has column, value)"),
    (SITE.replace("{value: social}", "{value: pigeon}"),
     "line 6, fields.channel.value: 'pigeon' is not a channel; use one of email, phone, web"),
    (SITE.replace("{value: Broadband}", "{value: Broadband, dayfirst: true}"),
     "line 3, fields.product.dayfirst: dayfirst is for received_at, whose dates the others follow"),
    (SITE.replace("received_at: Posted", "received_at: {column: Posted, format: '%Y'}"),
     "line 5, fields.received_at.format: '%Y' names no day and no month"),
    (SITE.replace("fields:", "unmapped: hide\nfields:"),
     "line 2, unmapped: Input should be 'keep' or 'drop'"),
    ("fields: [a, b]\n", "line 1, fields: Input should be a valid dictionary"),
    ("fields: {product: a\n", "line 2: not valid YAML"),
])
def test_a_mapping_that_breaks_a_rule_is_refused_naming_the_line(tmp_path: Path, text: str, problem: str) -> None:
    path = write(tmp_path / "export.csv", "Title,Body,Posted\r\nA,B,25/03/2024\r\n")
    with pytest.raises(InvalidInput) as caught:
        read(path, mapping=mapping_file(tmp_path, text))
    assert str(caught.value).startswith("Mapping site.yaml: ") and problem in str(caught.value)


def test_an_unknown_mapping_name_is_refused_naming_the_shipped_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "product,description\r\nA,B\r\n")
    with pytest.raises(NotFound, match=r"^--map: no mapping file 'cfbp' and no shipped mapping of that name "
                                       r"\(shipped: cfpb, complaint_site_tr, housing_ombudsman\)$"):
        read(path, mapping="cfbp")


def test_every_shipped_mapping_passes_its_own_checks() -> None:
    for name, path in shipped_mappings().items():
        assert parse_mapping(path.read_text(encoding="utf-8"), path.name).spec.detect, name
