"""What the command line prints reads well: on a narrow terminal identifiers stay whole,
free text wraps between words, and the columns a table can spare are left out, saying so,
rather than fold a word in two; a payload's values read as a handler writes them."""

from __future__ import annotations

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


def test_fit_narrows_only_the_wrapping_columns_in_proportion_to_what_they_can_give() -> None:
    # (narrowest, widest): two whole columns of 13, text that may give 30 and 10
    widths = _fit([(13, 13), (10, 40), (13, 13), (5, 15)], room=61)
    assert widths[0] == widths[2] == 13
    assert sum(w for w in widths if w is not None) == 61
    assert widths[1] == 40 - 15 and widths[3] == 15 - 5
    assert _fit([(13, 13), (10, 40)], room=60) == [None, None]  # fits: rich lays it out
    assert _fit([(13, 13), (10, 40)], room=20) == [None, None]  # cannot fit: rich cuts it


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
