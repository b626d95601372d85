"""What the command line prints reads well: on a narrow terminal identifiers stay whole,
free text wraps between words, and the columns a table can spare are left out, saying so,
rather than fold a word in two; a payload's values read as a handler writes them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from casework import take_in
from rich.console import Console

from complaintflow.bootstrap import App
from complaintflow.cli.render import LONG_WORD, Listing, _fit, case_panel
from complaints.steps import Actor
from workflows.queries import case_view

STATES = ("awaiting_customer", "resolution_proposed", "investigating")
NOTE = "Free text wraps between its words on a narrow terminal, never inside one"


def printed(table: Listing, width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text().splitlines()


def work_list() -> Listing:
    table = Listing(("Reference", "State", "Queue", "Tier", "Note"), wrap=("Note",), spare=("Queue", "Tier"))
    for n, state in enumerate(STATES, start=1):
        table.add_row(f"C-2026-{n:06d}", state, "executive-ombudsman", "executive", NOTE)
    return table


def test_a_wide_terminal_shows_every_column_and_no_note() -> None:
    lines = printed(work_list(), 200)
    assert all(name in lines[1] for name in ("Reference", "State", "Queue", "Tier", "Note"))
    assert any(NOTE in line for line in lines)
    assert not any("left out" in line for line in lines)


def test_a_narrow_terminal_leaves_out_the_spare_columns_in_order_and_says_which() -> None:
    lines = printed(work_list(), 80)  # room for Tier once Queue is out
    assert "Tier" in lines[1] and "Queue" not in lines[1] and "executive-ombudsman" not in "\n".join(lines)
    assert lines[-1] == "Queue left out at this width: widen the terminal, or use --json"
    assert max(map(len, lines)) <= 80
    narrower = printed(work_list(), 60)
    assert "Tier" not in narrower[1]
    assert "Queue, Tier left out at this width: widen the terminal," in "\n".join(narrower)


def test_identifiers_and_words_stay_whole_when_a_table_is_narrowed() -> None:
    lines = printed(work_list(), 60)
    text = "\n".join(lines)
    for n, state in enumerate(STATES, start=1):
        assert f"C-2026-{n:06d}" in text and state in text
    words = {word for line in lines for word in line.replace("│", " ").split()}
    assert {"between", "terminal,", "inside"} <= words  # wrapped, not folded
    assert max(map(len, lines)) <= 60


def test_a_table_without_rows_shows_its_title_and_why_it_is_empty_not_bare_headers() -> None:
    empty = Listing(("Reference", "State"), title="Due today", empty="Nothing falls due today.")
    assert printed(empty, 80) == ["Due today", "Nothing falls due today."]
    assert "Reference" in "\n".join(printed(Listing(("Reference", "State")), 80))  # no message: the table as rich draws it


def test_a_word_longer_than_long_word_folds_rather_than_push_columns_out() -> None:
    table = Listing(("Reference", "Text"), wrap=("Text",))
    table.add_row("C-2026-000001", "x" * (LONG_WORD + 30))
    lines = printed(table, 50)
    assert max(map(len, lines)) <= 50 and "C-2026-000001" in "\n".join(lines)


def test_a_wrapping_column_may_keep_a_width_of_its_own() -> None:
    table = Listing(("Reference", "State", "Next deadline"), wrap={"Next deadline": len("2026-12-01 09:00")})
    table.add_row("C-2026-000001", "investigating", "2026-12-01 09:00")
    table.add_row("C-2026-000002", "assessing", "needs attention since 2026-11-30 17:00: the breach timer was refused")
    text = "\n".join(printed(table, 56))
    assert "2026-12-01 09:00" in text  # the time reads on one line; the long reason wraps


def test_fit_narrows_the_widest_columns_first_so_short_text_stays_on_its_line() -> None:
    # (narrowest, widest): two whole columns of 13, text that may give 30 and 10
    assert _fit([(13, 13), (10, 40), (13, 13), (5, 15)], room=61) == [13, 20, 13, 15]
    assert _fit([(13, 13), (10, 40), (5, 15)], room=40) == [13, 14, 13]  # both cut to one width
    assert _fit([(13, 13), (10, 40)], room=60) == [13, 40]  # fits: each as wide as it wants
    assert _fit([(13, 13), (10, 40)], room=20) is None  # cannot fit: columns must go


# -- tables at ordinary terminal widths ---------------------------------------------------------------
def headers(lines: list[str]) -> list[str]:
    """Each column's header as it reads, its lines joined by spaces."""
    rows = [line.strip("┃").split("┃") for line in lines if line.startswith("┃")]
    return [" ".join(" ".join(cell.strip() for cell in column).split()) for column in zip(*rows, strict=True)]


def first_column(lines: list[str]) -> list[str]:
    """The first cell of each row (a row's further lines leave it empty)."""
    cells = [line.split("│")[1].strip() for line in lines if line.startswith("│")]
    return [cell for cell in cells if cell]


PRODUCTS = ("Current account", "Credit card", "Savings account", "Mobile app")


def what_if() -> Listing:
    """Counts by queue, tier and product under long headers, as ``sla whatif`` showed them."""
    names = [f"{n} (rec → what-if)" for n in ("Met", "Breaches", "Escalations", "Letters")]
    table = Listing(("Queue", "Tier", "Product", *names), wrap=("Product",))
    for product in PRODUCTS:
        table.add_row("frontline", "frontline", product, "7 → 7", "0 → 1", "1 → 1", "0 → 0")
    return table


def migration() -> Listing:
    """A case per row, with lists of timer names, as ``workflow migrate --dry-run`` showed them."""
    table = Listing(("Case", "From", "To", "Timers cancelled", "Timers scheduled", "Clocks", "Letters"),
                    wrap=("Timers cancelled", "Timers scheduled", "Clocks", "Letters"))
    for n, state in enumerate(STATES, start=1):
        table.add_row(f"C-2026-{n:06d}", f"v2 {state}", state, "resume_on_date, start_follow_up",
                      "resume_on_date 2027-03-01 00:00", "resolution retargeted → 2026-12-22 17:30",
                      "fca_delay_letter 2027-01-28 09:00")
    return table


@pytest.mark.parametrize("width", [60, 80, 100, 140])
@pytest.mark.parametrize("table", [what_if, migration, work_list])
def test_at_any_ordinary_width_each_row_shows_its_key_and_no_header_is_split(table: Callable[[], Listing],
                                                                             width: int) -> None:
    lines = printed(table(), width)
    shown = headers(lines)
    assert set(shown) <= set(table().names)  # each header whole: wrapped between its words only
    assert shown[0] == table().names[0]
    assert first_column(lines) == [str(cell) for cell in table().columns[0].cells]  # whole, on one line
    assert max(map(len, lines)) <= width


def test_a_text_column_beside_long_headers_keeps_its_values_whole_at_140_columns() -> None:
    lines = printed(what_if(), 140)
    assert headers(lines)[2] == "Product" and first_column(lines) == ["frontline"] * len(PRODUCTS)
    text = "\n".join(lines)
    assert all(product in text for product in PRODUCTS)
    assert "Met (rec →" in text and "left out" not in text  # the headers took the lines, not the products


@pytest.mark.parametrize("width", [80, 100, 140])
def test_identifiers_in_a_wrapping_column_are_never_broken(width: int) -> None:
    lines = printed(migration(), width)
    words = {word.strip(",") for line in lines for word in line.replace("│", " ").split()}
    names = {"resume_on_date", "start_follow_up", "fca_delay_letter", *STATES}
    assert {word for word in words if "_" in word} <= names
    assert {f"C-2026-{n:06d}" for n in range(1, 4)} <= words


def test_columns_the_table_cannot_spare_are_left_out_from_the_last_and_named() -> None:
    lines = printed(migration(), 80)  # no spare columns: the last ones go, never the case
    assert headers(lines)[0] == "Case" and "Letters" not in headers(lines)
    note = " ".join(line.strip() for line in lines[-2:])
    assert note == ("Letters, Clocks, Timers scheduled, Timers cancelled left out at this width: "
                    "widen the terminal, or use --json")


def test_a_timeline_shows_a_payloads_list_as_its_items(sqlite_app: App) -> None:
    handler = Actor("hana", "handler")
    reference = take_in(sqlite_app)
    sqlite_app.engine.advance(reference, "assess", handler)
    sqlite_app.engine.advance(reference, "valid", handler, {"criteria": ["within scope", "customer identified"],
                                                             "rationale": "charged twice"})
    console = Console(width=200, record=True, color_system=None)
    console.print(case_panel(case_view(sqlite_app.engine, reference, handler)))
    text = console.export_text()
    assert "criteria=within scope, customer identified; rationale=charged twice" in text
    assert "['" not in text
