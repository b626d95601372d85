"""Dates in any unambiguous form: ISO, year-first and month names (English, Latvian, Greek,
Turkish) say what they mean; a column of 03/04/2020 is read day-first or month-first as all its
values decide, once for the file, and a column that can't tell is refused until told."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from importing import good, read, refused, store, write

from complaintflow.bootstrap import App
from complaints.errors import InvalidInput
from complaints.importers import ImportOptions, parse_cfpb_date, read_file
from complaints.importers.dates import DateColumn, DateOptions
from complaints.steps import Actor

MARCH_3 = datetime(2020, 3, 3, tzinfo=UTC)


@pytest.mark.parametrize("text", [
    "2020-03-03", "2020-03-03T00:00:00", "2020-03-03T00:00:00Z", "2020-03-03T02:00:00+02:00", "2020-03-03 00:00",
    "2020/3/3", "2020.03.03", "2020.03.03.", "2020-3-3",
    "3 March 2020", "March 3, 2020", "3rd March 2020", "03-Mar-20", "3 Mar 2020",
    "3 marts 2020", "3. marts 2020", "3. martā 2020", "2020. gada 3. martā",
    "3 Μαρτίου 2020", "3 Μάρτιος 2020", "3 ΜΑΡΤΙΟΥ 2020",
    "3 Mart 2020", "3 MART 2020",
])
def test_a_date_in_any_unambiguous_form_is_read_as_written(text: str) -> None:
    assert DateColumn("date").parse(text) == MARCH_3


@pytest.mark.parametrize(("text", "expected"), [
    ("3 Aralık 2023 14:05", datetime(2023, 12, 3, 14, 5, tzinfo=UTC)),
    ("1 ARALIK 2023", datetime(2023, 12, 1, tzinfo=UTC)),
    ("28 Ağustos 2023 09:30", datetime(2023, 8, 28, 9, 30, tzinfo=UTC)),
    ("12 Şubat 2024", datetime(2024, 2, 12, tzinfo=UTC)),
    ("15 Αυγούστου 2021", datetime(2021, 8, 15, tzinfo=UTC)),
    ("2021. gada 1. janvārī", datetime(2021, 1, 1, tzinfo=UTC)),
    ("12/31/2020 10:00 PM", datetime(2020, 12, 31, 22, 0, tzinfo=UTC)),
])
def test_month_names_are_read_in_their_inflections_and_with_a_time(text: str, expected: datetime) -> None:
    assert DateColumn("date").parse(text) == expected


def test_one_value_past_the_twelfth_settles_a_column_day_first() -> None:
    column = DateColumn("Date")
    column.decide({"03/04/2020", "25/03/2020", "01/02/2020"})
    assert column.parse("03/04/2020") == datetime(2020, 4, 3, tzinfo=UTC)
    assert column.described() == "day-first (DD/MM/YYYY), e.g. 03/04/2020"


def test_a_column_of_dates_that_read_both_ways_is_refused_saying_how_to_tell() -> None:
    with pytest.raises(InvalidInput, match=r"^Dates in column 'Date': '01/02/2020' and the column's other dates read "
                                           r"both day-first and month-first; say which with --dayfirst or "
                                           r"--monthfirst, a --date-format such as '%d/%m/%Y', or dayfirst/format "
                                           r"in the mapping$"):
        DateColumn("Date").decide({"03/04/2020", "01/02/2020"})


def test_in_a_column_that_mixes_orders_the_most_values_decide_and_the_others_are_refused() -> None:
    column = DateColumn("Date")
    column.decide({"25/03/2020", "26/03/2020", "03/27/2020"})
    assert column.parse("25/03/2020") == datetime(2020, 3, 25, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"^'03/27/2020' is not a day-first date, as the column's other dates are$"):
        column.parse("03/27/2020")


def test_an_order_or_a_format_given_decides_without_the_values() -> None:
    assert DateColumn("d", DateOptions(dayfirst=False)).parse("03/04/2020") == datetime(2020, 3, 4, tzinfo=UTC)
    with_format = DateColumn("d", DateOptions(format="%d.%m.%Y"))
    assert with_format.parse("03.04.2020") == datetime(2020, 4, 3, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"^'2020-04-03' is not a date in the format %d\.%m\.%Y$"):
        with_format.parse("2020-04-03")


@pytest.mark.parametrize("text", ["03/22/23", "03/22/2023", "2023-03-22", " 03/22/23 ", "2023/3/22"])
def test_cfpb_dates_are_read_month_first_in_each_export_format(text: str) -> None:
    assert parse_cfpb_date(text) == datetime(2023, 3, 22, tzinfo=UTC)


# -- through a file: decided once, from all the values, and said in the summary ---------------


def test_a_cfpb_export_dated_year_first_imports(app: App, handler: Actor, tmp_path: Path) -> None:
    path = write(tmp_path / "cfpb.csv", "Date received,Product,Issue,Consumer complaint narrative,Complaint ID\r\n"
                                        "2020/3/18,Payday loan,Fees,Charged twice,1\r\n"
                                        "2020/3/19,Payday loan,Fees,Charged again,2\r\n")
    report = store(app, path, handler)
    assert (len(report.created), report.errors) == (2, [])
    assert read_file(path).mapping == "cfpb"


def test_a_file_s_date_column_is_decided_by_a_value_far_down_the_file(tmp_path: Path) -> None:
    lines = [f"E{n},Loan,Fine,0{n % 9 + 1}/0{n % 9 + 1}/2020" for n in range(600)] + ["E600,Loan,Fine,25/03/2020"]
    path = write(tmp_path / "late.csv", "external_id,product,description,received_at\r\n" + "\r\n".join(lines))
    rows = read_file(path)
    first = next(iter(rows))[1]
    assert first.received_at == datetime(2020, 1, 1, tzinfo=UTC)  # type: ignore[union-attr]
    list(rows)
    assert rows.summary()["dates"] == {"received_at": "day-first (DD/MM/YYYY), e.g. 01/01/2020"}


def test_an_ambiguous_date_column_refuses_the_file_until_an_option_says_how_to_read_it(tmp_path: Path) -> None:
    path = write(tmp_path / "ambiguous.csv", "product,description,received_at\r\nLoan,Fine,03/04/2020\r\n")
    with pytest.raises(InvalidInput, match=r"^Dates in column 'received_at': '03/04/2020' .* --dayfirst"):
        read(path)
    assert good(read(path, dayfirst=True))[0].received_at == datetime(2020, 4, 3, tzinfo=UTC)
    assert good(read(path, date_format="%m/%d/%Y"))[0].received_at == datetime(2020, 3, 4, tzinfo=UTC)


@pytest.mark.parametrize(("options", "message"), [
    ({"date_format": "%Y"}, r"^--date-format: '%Y' names no day and no month"),
    ({"date_format": "%d.%m.%Y", "dayfirst": True}, r"^--date-format: give --date-format or --dayfirst/--monthfirst"),
])
def test_bad_date_options_are_refused_naming_the_option(tmp_path: Path, options: dict[str, object], message: str) -> None:
    path = write(tmp_path / "a.csv", "product,description\r\nLoan,Fine\r\n")
    with pytest.raises(InvalidInput, match=message):
        read_file(path, options=ImportOptions(**options))  # type: ignore[arg-type]


def test_a_date_that_is_no_date_refuses_its_row_only(tmp_path: Path) -> None:
    path = write(tmp_path / "a.json", '[{"product": "Card", "description": "Fine", "received_at": "3 Mart 2020"},'
                                      ' {"product": "Card", "description": "Fine", "received_at": "yesterday"}]')
    rows = read(path)
    assert good(rows)[0].received_at == MARCH_3
    assert refused(rows) == [(2, "row 2: received_at: 'yesterday' is not a date (e.g. 2020-03-18, 2020/3/18, "
                                 "18 March 2020; --date-format reads others)")]


@pytest.mark.parametrize(("written", "said"), [
    ("14/12/2026", "got '14/12/2026'"),
    ("2026-13-01", "got '2026-13-01' (month value is outside expected range of 1-12)"),
])
def test_a_closing_date_written_otherwise_refuses_its_row_saying_the_form_expected(
        tmp_path: Path, written: str, said: str) -> None:
    path = write(tmp_path / "a.json", '[{"product": "Card", "description": "Fine", "received_at": "2026-11-02", '
                                      f'"closed_at": "{written}", "outcome": "upheld"}}]')
    assert refused(read(path)) == [(1, "row 1: closed_at: not a date written YYYY-MM-DD or as an ISO 8601 time "
                                       f"(2026-12-14T09:30:00Z), {said}")]


@pytest.mark.parametrize("kept_bytes", [64 * 1024 * 1024, 0], ids=["parsed once", "parsed twice"])
def test_a_file_whose_dates_need_a_first_pass_is_read_alike_kept_in_memory_or_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kept_bytes: int
) -> None:
    from complaints.importers import reading

    monkeypatch.setattr(reading, "KEPT_BYTES", kept_bytes)
    path = write(tmp_path / "a.csv", "external_id,product,description,received_at\r\nE1,Loan,Fine,03/04/2020\r\n"
                                     "E2,Loan,Fine,13/04/2020\r\nE3,Loan\r\n")
    rows = read_file(path)
    assert rows.total == 3
    read_back = [(row, getattr(item, "received_at", None) or str(item)) for row, item in rows]
    assert read_back == [(2, datetime(2020, 4, 3, tzinfo=UTC)), (3, datetime(2020, 4, 13, tzinfo=UTC)),
                         (4, "row 4: 2 cell(s) fewer than the header has")]
