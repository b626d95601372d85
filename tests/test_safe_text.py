"""Text from outside is shown safely: control and invisible format characters become visible
stand-ins, JSON escapes them and stays exact, spreadsheet cells can't start a formula."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from complaints.safe_text import json_text, spreadsheet_cell, visible, visible_values

#: Format characters (and the like) ``visible`` deliberately leaves alone: joiners that
#: scripts and emoji need, and the prepended concatenation marks, which show as signs.
KEPT = {0x200C, 0x200D, *range(0x0600, 0x0606), 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD}
#: Letters ``visible`` shows although they are no format characters: the Hangul fillers.
BLANK_LETTERS = {0x3164, 0xFFA0}


# -- visible ------------------------------------------------------------------------------------


@pytest.mark.parametrize("given_, shown", [
    ("Card\x1b[2J", "Card␛[2J"),
    ("\x1b[31mEve\x1b[0m", "␛[31mEve␛[0m"),
    ("it broke \x1b]0;pwned\x07 again", "it broke ␛]0;pwned␇ again"),
    ("Card\u202egnp.exe", "Card<U+202E>gnp.exe"),
    ("pay\u200bpal", "pay<U+200B>pal"),
    ("a\x00b\x7fc\x9bd", "a␀b␡c<U+009B>d"),
    ("carriage\rreturn", "carriage␍return"),
    ("tag\U000e0041", "tag<U+E0041>"),
    ("lone \ud800 surrogate", "lone <U+D800> surrogate"),
    ("line\u2028separator", "line<U+2028>separator"),
])
def test_controls_and_invisible_characters_are_shown_as_visible_stand_ins(given_: str, shown: str) -> None:
    assert visible(given_) == shown


def test_newlines_tabs_and_ordinary_text_of_any_script_are_left_as_they_are() -> None:
    text = "Dear Ana,\n\tthe fee — 40 € — was refunded. Ķēķis. Ελλάδα. שלום. مرحبا. नमस्ते. 你好. 👩‍👩‍👧 ❤️"
    assert visible(text) == text


def test_every_c0_control_but_newline_and_tab_shows_as_its_control_picture() -> None:
    for code in (*range(0x00, 0x09), *range(0x0B, 0x20)):
        assert visible(chr(code)) == chr(0x2400 + code)
    assert visible("\x7f") == "␡"


def test_every_format_control_and_separator_of_unicode_is_made_visible_or_deliberately_kept() -> None:
    """Checked against the Unicode data of the Python that runs: a newer Unicode with a new
    format character fails here until it is placed in one list or the other."""
    hidden = {"Cc", "Cf", "Zl", "Zp", "Cs"}
    expected = {c for c in range(0x110000) if unicodedata.category(chr(c)) in hidden} - KEPT - {0x09, 0x0A}
    expected |= BLANK_LETTERS
    changed = {c for c in range(0x110000) if visible(chr(c)) != chr(c)}
    unassigned = {c for c in changed if unicodedata.category(chr(c)) == "Cn"}  # format characters of a newer Unicode
    assert changed - expected - unassigned == set(), "shown, though no control or format character"
    assert expected - changed == set(), "a control or format character left to act unseen"


def test_visible_values_reach_every_string_of_a_view_keys_included_and_leave_the_rest() -> None:
    when = datetime(2026, 11, 1, 9, 0)
    row = {"product\x1b": ["Card\x1b[2J", ("Eve\u202e", 3)], "n": 1, "at": when, "none": None}
    assert visible_values(row) == {"product␛": ["Card␛[2J", ("Eve<U+202E>", 3)], "n": 1, "at": when, "none": None}


# -- json_text ----------------------------------------------------------------------------------


def test_json_text_escapes_what_would_act_in_a_terminal_and_keeps_the_rest_readable() -> None:
    value = {"product": "Card\x1b[2J", "customer": "Eve\u202e", "text": "café\x7f\x85", "tag": "\U000e0041"}
    text = json_text(value, indent=2)
    assert "\x1b" not in text and "\u202e" not in text and "\x7f" not in text and "\x85" not in text
    assert '"Card\\u001b[2J"' in text and '"Eve\\u202e"' in text and '"café\\u007f\\u0085"' in text
    assert '"\\udb40\\udc41"' in text  # beyond the BMP: its surrogate pair, as JSON writes it
    assert json.loads(text) == value


def test_json_text_takes_a_default_for_what_json_does_not_know() -> None:
    assert json_text({"on": date(2026, 11, 1)}, default=str) == '{"on": "2026-11-01"}'


_JSON_TEXT = st.text(st.characters(exclude_categories=()), max_size=20)  # surrogates too
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _JSON_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_JSON_TEXT, inner, max_size=4),
    max_leaves=12,
)


@given(_JSON_VALUES)
def test_json_text_reads_back_as_the_value_and_holds_nothing_to_make_visible(value: Any) -> None:
    text = json_text(value, indent=1)
    assert json.loads(text) == value
    assert visible(text) == text


# -- spreadsheet_cell ---------------------------------------------------------------------------


@pytest.mark.parametrize("given_, cell", [
    ("=HYPERLINK(\"http://x\",\"click\")", "'=HYPERLINK(\"http://x\",\"click\")"),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"),
    ("-5", "'-5"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
    ("\t=1+1", "'\t=1+1"),
    ("\n=1+1", "'\n=1+1"),
    ("\uff1d1+1", "'\uff1d1+1"),
    ("\r=1+1", "␍=1+1"),  # made visible first: a CR shown as ␍ starts nothing
    ("Card\x1b[2J", "Card␛[2J"),
    ("a = b", "a = b"),
    ("", ""),
])
def test_text_that_a_spreadsheet_would_take_for_a_formula_gets_a_quote_in_front(given_: str, cell: str) -> None:
    assert spreadsheet_cell(given_) == cell


@pytest.mark.parametrize("value", [-5, 0, 3.25, -1.5, Decimal("-12.50"), True, date(2026, 11, 1), None])
def test_numbers_dates_and_none_stay_what_they_are(value: object) -> None:
    assert spreadsheet_cell(value) is value


def test_a_row_written_by_the_csv_module_reads_back_with_every_formula_defused() -> None:
    row = ["=1+2\";=1+2", "=1+2'\" ;,=1+2", -5, "ordinary"]
    out = io.StringIO()
    csv.writer(out).writerow([spreadsheet_cell(v) for v in row])
    cells = next(csv.reader(io.StringIO(out.getvalue())))
    assert cells == ["'=1+2\";=1+2", "'=1+2'\" ;,=1+2", "-5", "ordinary"]


@given(st.text())
def test_no_text_becomes_a_cell_that_starts_a_formula_or_holds_a_control(text: str) -> None:
    cell = spreadsheet_cell(text)
    assert not cell.startswith(("=", "+", "-", "@", "\r", "\0", "\uff1d", "\uff0b", "\uff0d", "\uff20"))
    assert cell.startswith("'") or not cell.startswith(("\t", "\n"))
    assert visible(cell) == cell
