"""Text from outside, shown safely: stored as it was given, made visible where it is shown.

A complaint's product, a customer's name, a description, an imported row hold whatever the
sender wrote, and some characters act instead of showing: ESC starts a terminal command
(``\\x1b[2J`` clears the screen, ``\\x1b]0;...`` retitles the window), a right-to-left override
turns ``Card\\u202egnp.exe`` into what reads as ``Cardexe.png``, a zero-width space makes two
names look the same. ``visible`` puts a stand-in that shows what is there in place of each:

- C0 controls other than newline and tab, and DEL: the Unicode control picture
  (``\\x1b[2J`` shows as ``␛[2J``; ``␀``, ``␇``, ``␍``, ``␡``).
- ``<U+XXXX>`` for the C1 controls (U+0080-U+009F: U+009B acts as ESC [ in some terminals),
  lone surrogates (they can't be written as UTF-8 at all), and every Unicode format
  character, which shows nothing: the bidirectional controls (U+061C, U+200E, U+200F,
  U+202A-U+202E, U+2066-U+2069), the line and paragraph separators (U+2028, U+2029), the
  soft hyphen, zero-width space, word joiner and invisible operators (U+00AD, U+180E, U+200B,
  U+2060-U+2064, U+FEFF), the deprecated format controls (U+206A-U+206F), the interlinear
  annotation marks that hide text (U+FFF9-U+FFFB), the tags (U+E0001, U+E0020-U+E007F:
  invisible ASCII, used to smuggle text; the flags of England, Scotland and Wales are built
  of them and lose their look), and the format controls of Egyptian hieroglyphs, shorthand
  and music notation. The Hangul fillers U+3164 and U+FFA0 are letters that show as blank
  (a name of nothing but them looks empty), so they are shown too.
- Kept as they are: newline and tab; the zero-width non-joiner and joiner (U+200C, U+200D:
  Persian and Indic script and emoji need them); the prepended concatenation marks (U+0600-
  U+0605, U+06DD, U+070F, U+0890, U+0891, U+08E2, U+110BD, U+110CD), which are format
  characters that show as signs.

A stand-in is for the eye only: a text holding a real ``␛`` shows as one holding ESC, so the
stored text is never replaced by what ``visible`` returns.

For machines: ``json_text`` writes JSON (``--json`` output) that a terminal can print, the
same characters escaped as ``\\uXXXX`` so the data read back is the data stored; and
``spreadsheet_cell`` makes a value safe for a CSV or XLSX cell (``visible``, then the OWASP
advice on CSV injection, see its docstring).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import date, time
from decimal import Decimal
from typing import Any

#: Every character ``visible`` replaces (the module docstring says why each is here).
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\xad\u061c\u180e\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    "\u3164\ud800-\udfff\ufeff\uffa0\ufff9-\ufffb\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
#: What a spreadsheet reads as the start of a formula (OWASP, CSV injection: = + - @ tab, CR
#: and LF; NUL as OWASP ASVS 1.2.10 adds), and the full-width = + - @ some read the same way.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _stand_in(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the control pictures follow the C0 controls in order
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def visible(text: str) -> str:
    """``text`` with every control and invisible format character (but newline and tab)
    replaced by a visible stand-in: ``'Card\\x1b[2J'`` -> ``'Card␛[2J'``,
    ``'Card\\u202egnp.exe'`` -> ``'Card<U+202E>gnp.exe'``. Text without any is returned as is."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_stand_in, text)


def visible_values(value: Any) -> Any:
    """``value`` with ``visible`` applied to every string in it, keys too, through dicts,
    lists and tuples (a view's rows before they are rendered); anything else as it is."""
    if isinstance(value, str):
        return visible(value)
    if isinstance(value, dict):
        return {visible_values(k): visible_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(visible_values(v) for v in value)
    return value


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code > 0xFFFF:  # JSON writes a character beyond the BMP as its UTF-16 surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_text(value: Any, *, indent: int | None = None, default: Callable[[Any], Any] | None = None,
              sort_keys: bool = False) -> str:
    """``json.dumps(value, ensure_ascii=False, ...)`` that is safe to print: the characters
    ``visible`` replaces are written as ``\\uXXXX`` escapes (json escapes C0 controls itself,
    but leaves DEL, C1 controls, bidirectional controls and lone surrogates raw). Still valid
    JSON that reads back to ``value``; every other character stays readable as it is."""
    text = json.dumps(value, ensure_ascii=False, indent=indent, default=default, sort_keys=sort_keys)
    # outside its strings JSON holds only ASCII punctuation, digits, letters and whitespace, so
    # every unsafe character found is inside a string, where an escape means the same
    return _UNSAFE.sub(_json_escape, text)


def spreadsheet_cell(value: Any) -> Any:
    """``value`` made safe for a CSV or XLSX cell a spreadsheet will open.

    Text is made ``visible`` first; then, as OWASP advises against CSV (formula) injection, a
    cell that starts with ``=``, ``+``, ``-``, ``@``, tab, carriage return or line feed (or NUL,
    or a full-width = + - @) gets a ``'`` in front, which spreadsheets take as "this is text"
    and do not show: ``=HYPERLINK(...)`` -> ``'=HYPERLINK(...)``, and text ``-5`` -> ``'-5``.

    Numbers (int, float, Decimal; bool), dates, times and None are returned as they are: a
    number can't hold a formula, so ``-5`` stays the number -5 and sums as one; anything else
    is written as its text. The writer must still quote cells as RFC 4180 says (the csv
    module's writer does), so that no separator or quote in a value starts a new cell."""
    if value is None or isinstance(value, int | float | Decimal | date | time):
        return value
    text = visible(str(value))
    return "'" + text if text.startswith(FORMULA_STARTS) else text
