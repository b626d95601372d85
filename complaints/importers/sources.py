"""Complaint files as records of text, read so that nothing half-read gets through.

A file is one of: delimited text (CSV; comma, semicolon, tab or bar), JSON (a list or
``{"complaints": [...]}``), JSON lines, or an ``.xlsx`` workbook; anything else is refused in
one line. Text is read in its encoding (a byte-order mark, ``--encoding``, or detected: UTF-8
when its non-ASCII bytes are mostly UTF-8, else the legacy code page charset-normalizer finds
likeliest). A byte that is not in the encoding does not stop the file: it is kept marked (a
lone surrogate, which no decoder produces) and the record holding it is refused with its row,
as is a record with more or fewer cells than the header, a cell above ``MAX_CELL_CHARS``, a NUL,
or a last record cut off inside quotes. Every other record is read.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Literal

from complaints.errors import ImportRowError, InvalidInput

Kind = Literal["csv", "json", "jsonl", "xlsx"]


class Refusal(str):
    """Why a record is refused (told apart from a JSON item that is a string)."""



#: The longest cell read, in characters (a description may hold 100,000; a kept column more).
MAX_CELL_CHARS = 1_000_000
#: The csv module reads cells up to this whole, so that a longer one than ``MAX_CELL_CHARS``
#: refuses its own row and the rows after it are read as they are.
CSV_FIELD_LIMIT = 64 * MAX_CELL_CHARS
#: The largest JSON document read whole (JSON lines have no limit but ``MAX_LINE_BYTES`` a line).
MAX_JSON_BYTES = 256 * 1024 * 1024
MAX_LINE_BYTES = 16 * 1024 * 1024
#: How deep a JSON document may nest: a complaint list is four levels.
MAX_JSON_DEPTH = 32
#: How much of a text file the encoding and the delimiter are told from.
SAMPLE_BYTES = 4 * 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
#: Legacy code pages told apart by charset-normalizer when a file is not UTF-8.
LEGACY_ENCODINGS = ("cp1252", "cp1257", "iso8859_7", "cp1254")
_MARK = "complaints.undecodable"
_BINARY = {
    b"%PDF": "a PDF document", b"\x89PNG": "a PNG image", b"GIF8": "a GIF image", b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip archive", b"7z\xbc\xaf": "a 7-Zip archive", b"Rar!": "a RAR archive",
    b"\xd0\xcf\x11\xe0": "an old Office file (.xls): save it as .xlsx or CSV",
}
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")
_CONTROL_BYTES = bytes([*range(0, 9), *range(14, 32)])
_NOT_TEXT = "not a text file (it holds binary data); import CSV, JSON or .xlsx"
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _mark(exc: UnicodeError) -> tuple[str, int]:
    """Keep each byte the codec can't read as U+DC00 + byte: the record holding it is refused."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start:exc.end]), exc.end


#: What a reader makes of a good record's cells (a complaint, a date to decide on).
Convert = Callable[[int, list[str]], Any]
#: A record: its row number, and what ``Convert`` made of it or the error refusing it.
Converted = Iterator[tuple[int, Any]]


def keep_cells(row: int, cells: list[str]) -> list[str]:
    return cells


@dataclass
class Table:
    """A file as a header and records of cells, read as often as asked (``records(convert)``:
    a first pass deciding the date columns, then the import). A refused record comes as the
    ``ImportRowError`` naming its row; ``convert`` sees only good ones."""

    name: str
    kind: Kind
    header: list[str]
    records: Callable[[Convert], Converted]
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    #: the file's size in bytes
    size: int = 0

    def described(self) -> str:
        parts = [self.kind.upper() if self.kind != "jsonl" else "JSON lines"]
        if self.encoding:
            parts.append(self.encoding)
        if self.delimiter and self.delimiter != ",":
            parts.append(f"delimiter {self.delimiter!r}")
        if self.sheet:
            parts.append(f"sheet {self.sheet!r}")
        return ", ".join(parts)


def file_kind(path: Path, head: bytes) -> Kind:
    """What the file is, from its first bytes and its name; a file that is none of them is
    refused in one line."""
    if not head:
        raise InvalidInput(path.name, ["the file is empty"])
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    for magic, what in _BINARY.items():
        if head.startswith(magic):
            raise InvalidInput(path.name, [f"{what}, not a CSV, JSON or .xlsx file"])
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".xlsx", ".xlsm"):
        raise InvalidInput(path.name, ["not an .xlsx workbook (no ZIP archive inside)"])
    return "csv"


def detect_encoding(path: Path, sample: bytes, whole: bool) -> str:
    """The encoding ``sample`` (the file's start; ``whole`` if it is the whole file) is in."""
    for bom, name in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                      (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):
        if sample.startswith(bom):
            return name
    if not whole:  # a multi-byte character cut at the sample's end is no evidence
        sample = sample[: sample.rfind(b"\n") + 1] or sample
    head = sample[:2000]
    if len(head) >= 8 and head[1::2].count(0) > 0.4 * len(head) / 2 and head[0::2].count(0) < 0.1 * len(head) / 2:
        return "utf-16-le"
    if len(head) >= 8 and head[0::2].count(0) > 0.4 * len(head) / 2 and head[1::2].count(0) < 0.1 * len(head) / 2:
        return "utf-16-be"
    head = sample[:100_000]
    if len(head) - len(head.translate(None, _CONTROL_BYTES)) > max(16, len(head) // 100):
        raise InvalidInput(path.name, [_NOT_TEXT])
    text = sample.decode("utf-8", "surrogateescape")
    bad = len(_SURROGATE.findall(text))
    non_ascii = len(text) - len(text.encode("ascii", "ignore")) - bad
    if bad == 0 or non_ascii > bad:
        return "utf-8"
    from charset_normalizer import from_bytes  # loads its tables: only for a file that is not UTF-8

    lines = b"\n".join(line for line in sample.splitlines() if not line.isascii())[:200_000]
    matches = list(from_bytes(lines, cp_isolation=list(LEGACY_ENCODINGS)))
    if not matches:
        raise InvalidInput(path.name, ["not text in any encoding tried (UTF-8, "
                                       f"{', '.join(LEGACY_ENCODINGS)}); give --encoding"])
    # charset-normalizer knows no Latvian, and Baltic text reads as well-formed Western text: among
    # the decodings it finds clean, the one whose letters its languages use most wins
    least = min(m.chaos for m in matches)
    clean = [str(m.encoding) for m in matches if m.chaos <= least + 0.05]
    return max(clean, key=lambda name: (_letters_score(lines, name), -LEGACY_ENCODINGS.index(name)))


#: The non-ASCII characters text in each legacy code page's languages is mostly made of.
_USUAL = {
    "cp1252": set("éèàçêëâôùûüöäßñáíóúãõœæøåÉÈÀÇÄÖÜ€’‘“”–—£«»°"),
    "cp1257": set("āčēģīķļņšūžąęėįųõäöüĀČĒĢĪĶĻŅŠŪŽĄĘĖĮŲÕÄÖÜ€’‘“”–—„«»°"),
    "iso8859_7": set("αβγδεζηθικλμνξοπρσςτυφχψωάέήίόύώϊϋΐΰΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩΆΈΉΊΌΎΏ’‘«»°"),
    "cp1254": set("çğıöşüâîûÇĞİÖŞÜéàè€’‘“”–—«»°"),
}


def _letters_score(data: bytes, encoding: str) -> float:
    text = data.decode(encoding, "replace")
    other = [ch for ch in text if ord(ch) > 127]
    return sum(ch in _USUAL[encoding] for ch in other) / max(len(other), 1)


def check_encoding(name: str) -> str:
    """The codec's name, or InvalidInput naming the option."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise InvalidInput("--encoding", [f"unknown encoding {name!r}; e.g. utf-8, utf-16, cp1252, cp1257, "
                                          "iso8859-7"]) from None


def _decoded_sample(path: Path, sample: bytes, encoding: str) -> str:
    text = sample.decode(encoding, _MARK)
    if len(_CONTROL.findall(text[:100_000])) > max(16, len(text[:100_000]) // 100):
        raise InvalidInput(path.name, [_NOT_TEXT])
    return text


def open_table(path: Path, kind: Kind, encoding: str | None = None, sheet: str | None = None) -> Table:
    """The file as a ``Table``: header checked (no column named twice but as the mapping allows,
    see ``Table.header``), records not yet read."""
    if kind == "xlsx":
        return _workbook(path, sheet)
    if sheet is not None:
        raise InvalidInput("--sheet", [f"{path.name} is not a workbook; --sheet is for .xlsx files"])
    if kind in ("json", "jsonl"):
        return json_table(path, kind, encoding)
    return _csv_table(path, encoding)


# -- delimited text ---------------------------------------------------------------------------


def _sample(path: Path) -> tuple[bytes, bool]:
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
        return sample, len(sample) < SAMPLE_BYTES or not fh.read(1)


def _csv_table(path: Path, encoding: str | None) -> Table:
    codecs.register_error(_MARK, _mark)
    sample, whole = _sample(path)
    encoding = encoding or detect_encoding(path, sample, whole)
    text = _decoded_sample(path, sample, encoding)
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=lambda d: (first_line.count(d), d == ","))
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
    with path.open(encoding=encoding, errors=_MARK, newline="") as fh:
        try:
            raw = next(csv.reader(fh, delimiter=delimiter, strict=True), [])
        except csv.Error as exc:
            raise InvalidInput(f"{path.name}: header", [f"not valid CSV: {exc}"]) from exc
    header = [name.strip().lstrip("\ufeff") for name in raw]
    if not any(header):
        raise InvalidInput(f"{path.name}: header", ["the first row names no columns"])
    bad = [i for i, name in enumerate(header) if not _readable(name)]
    if bad:
        raise InvalidInput(f"{path.name}: header", [f"column {i + 1}'s name holds bytes that are not {encoding}; "
                                                    "give --encoding" for i in bad])

    def records(convert: Convert) -> Converted:
        with path.open(encoding=encoding, errors=_MARK, newline="") as fh:
            yield from csv_records(csv.reader(fh, delimiter=delimiter, strict=True), header, encoding, convert)

    return Table(path.name, "csv", header, records, encoding=encoding, delimiter=delimiter,
                 size=path.stat().st_size)


def _readable(text: str) -> bool:
    return text.isascii() or _SURROGATE.search(text) is None


def csv_records(reader: Iterator[list[str]], header: list[str], encoding: str, convert: Convert) -> Converted:
    """The records after the header, numbered as a spreadsheet shows them (the header is row 1;
    a record over several lines is one row; blank lines are skipped)."""
    check = cell_checker(header, encoding)
    width, row = len(header), 1
    next(reader, None)
    while True:
        try:
            # the loop every imported row passes: kept to what each row needs
            for cells in reader:
                if not cells:
                    continue
                row += 1
                if len(cells) != width:
                    more = len(cells) - width
                    yield row, ImportRowError(row, [f"{more} cell(s) more than the header has" if more > 0 else
                                                    f"{-more} cell(s) fewer than the header has"])
                elif problem := check(cells):
                    yield row, ImportRowError(row, [problem])
                else:
                    yield row, convert(row, cells)
            return
        except csv.Error as exc:
            row += 1
            if "unexpected end of data" in str(exc):
                yield row, ImportRowError(row, ["the file ends inside a quoted cell: this last row is cut off "
                                                "(an interrupted upload?)"])
                return
            yield row, ImportRowError(row, [f"not valid CSV: {exc}"])


def cell_checker(header: list[str], encoding: str) -> Callable[[list[str]], Refusal | None]:
    """Why a record's cells can't be taken in (a NUL, bytes not in ``encoding``, a cell above
    ``MAX_CELL_CHARS``), or None: one pass over the joined text for the usual good record."""

    def column(i: int) -> str:
        return f"column {header[i]!r}" if i < len(header) and header[i] else f"column {i + 1}"

    def check(cells: list[str]) -> Refusal | None:
        joined = "".join(cells)
        if len(joined) > MAX_CELL_CHARS:
            for i, cell in enumerate(cells):
                if len(cell) > MAX_CELL_CHARS:
                    return Refusal(f"{column(i)} holds {len(cell):,} characters; a cell may hold at most "
                                   f"{MAX_CELL_CHARS:,}")
        if "\x00" in joined:
            i = next(i for i, cell in enumerate(cells) if "\x00" in cell)
            return Refusal(f"{column(i)} holds a NUL character (\\0), which no complaint text may hold")
        if not joined.isascii() and _SURROGATE.search(joined):
            i, found = next((i, m) for i, cell in enumerate(cells) if (m := _SURROGATE.search(cell)))
            code = ord(found.group())
            shown = f"byte 0x{code - 0xDC00:02X}" if 0xDC00 <= code <= 0xDCFF else f"U+{code:04X}"
            return Refusal(f"{column(i)} holds {shown}, which is not {encoding}; fix the row or give --encoding")
        return None

    return check


# -- workbooks --------------------------------------------------------------------------------


def _workbook(path: Path, sheet: str | None) -> Table:
    import openpyxl  # reading a workbook is rare: its import costs a tenth of a second

    def open_sheet() -> tuple[Any, Any]:
        try:  # a file object: openpyxl would refuse a workbook by its name's suffix alone
            book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - a damaged workbook fails anywhere in openpyxl and its XML parser
            raise InvalidInput(path.name, [f"not a readable .xlsx workbook: {type(exc).__name__}: {exc}"]) from exc
        names = book.sheetnames
        if sheet is not None and sheet not in names:
            book.close()
            raise InvalidInput("--sheet", [f"{path.name} has no sheet {sheet!r}; its sheets: {', '.join(names)}"])
        return book, book[sheet] if sheet is not None else book.worksheets[0]

    book, first = open_sheet()
    try:
        title = first.title
        header = [_cell_text(v).strip() for v in next(_sheet_rows(path, first), ())]
    finally:
        book.close()
    while header and not header[-1]:
        header.pop()
    if not any(header):
        raise InvalidInput(f"{path.name}: sheet {title!r}", ["its first row names no columns"])
    check = cell_checker(header, "text")

    def records(convert: Convert) -> Converted:
        book, ws = open_sheet()
        try:
            width = len(header)
            for row, values in enumerate(_sheet_rows(path, ws), start=1):
                if row == 1:
                    continue
                cells = [_cell_text(v) for v in values]
                if not any(cells):
                    continue
                if any(cells[width:]):
                    yield row, ImportRowError(row, [f"{sum(1 for c in cells[width:] if c)} cell(s) beyond the "
                                                    "header's columns"])
                    continue
                cells = (cells + [""] * width)[:width]
                problem = check(cells)
                yield (row, ImportRowError(row, [problem])) if problem else (row, convert(row, cells))
        finally:
            book.close()

    return Table(path.name, "xlsx", header, records, sheet=title, size=path.stat().st_size)


def _sheet_rows(path: Path, sheet: Any) -> Iterator[tuple[object, ...]]:
    """The sheet's rows; a sheet whose XML is damaged ends the file with one clear error."""
    rows = sheet.iter_rows(values_only=True)
    while True:
        try:
            values = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - openpyxl parses the sheet's XML as it goes
            raise InvalidInput(path.name, [f"a damaged sheet {sheet.title!r}: {type(exc).__name__}: {exc}"]) from exc
        yield values


def _cell_text(value: object) -> str:
    """A workbook cell as text: a date as ISO 8601, a whole number without '.0'."""
    if value is None:
        return ""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- JSON -------------------------------------------------------------------------------------

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def too_deep(text: str) -> int | None:
    """The offset where ``text`` nests deeper than ``MAX_JSON_DEPTH``, or None. Strings are
    dropped, then innermost pairs of brackets removed once per level (each a pass in C)."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return None
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    for _ in range(MAX_JSON_DEPTH):
        shorter = brackets.replace("[]", "").replace("{}", "")
        if len(shorter) == len(brackets):
            return None  # nothing nests further; what is unbalanced json.loads reports
        brackets = shorter
    if "[]" not in brackets and "{}" not in brackets:
        return None
    depth = 0
    for m in _TOKEN.finditer(text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return m.start()
        elif token in "]}":
            depth -= 1
    return None  # pragma: no cover - the passes above found it nested


def parse_json(text: str) -> Any:
    """``json.loads``; a document nested too deep or not JSON raises ValueError saying where."""
    deep = too_deep(text)
    if deep is not None:
        line = text.count("\n", 0, deep) + 1
        raise ValueError(f"line {line}: nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}") from exc
    except RecursionError as exc:  # pragma: no cover - too_deep refuses such a document first
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels") from exc


def json_items(path: Path, kind: Kind, encoding: str | None = None) -> Iterator[tuple[int, Any]]:
    """The items of a JSON file by position (JSON lines: by line), or why each can't be read;
    a document that is not JSON is refused whole, naming its line."""
    codecs.register_error(_MARK, _mark)
    if kind == "jsonl":
        return _json_lines(path, encoding)
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise InvalidInput(path.name, [f"a JSON document of {size:,} bytes; the most read whole is "
                                       f"{MAX_JSON_BYTES:,}: write JSON lines (one complaint a line) instead"])
    data = path.read_bytes()
    text = data.decode(encoding or _json_encoding(data), _MARK).lstrip("\ufeff")
    try:
        doc = parse_json(text)
    except ValueError as exc:
        raise InvalidInput(path.name, [str(exc)]) from exc
    items = doc.get("complaints") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise InvalidInput(path.name, ["expected a list of complaints or {\"complaints\": [...]}"])
    return iter(enumerate(items, start=1))


def _json_encoding(head: bytes) -> str:
    """JSON is UTF-8 (RFC 8259), after a byte-order mark if it has one: no code page is guessed."""
    for bom, name in ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
                      (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if head.startswith(bom):
            return name
    return "utf-8"


def _json_lines(path: Path, encoding: str | None) -> Iterator[tuple[int, Any]]:
    with path.open("rb") as fh:
        encoding = encoding or _json_encoding(fh.read(4))
    if encoding.replace("-", "").replace("_", "").lower().startswith(("utf16", "utf32")):
        raise InvalidInput(path.name, [f"JSON lines in {encoding}; write them in UTF-8"])
    with path.open("rb") as fh:
        number = 0
        while line := fh.readline(MAX_LINE_BYTES + 1):
            number += 1
            if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
                while (rest := fh.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass
                yield number, Refusal(f"a line longer than {MAX_LINE_BYTES:,} bytes")
                continue
            if number == 1 and line.startswith(codecs.BOM_UTF8):
                line = line[3:]
            if not line.strip():
                continue
            try:
                text = line.decode(encoding)
            except UnicodeDecodeError as exc:
                yield number, Refusal(f"byte 0x{line[exc.start]:02X} at column {exc.start + 1} is not {encoding}")
                continue
            try:
                yield number, parse_json(text)
            except ValueError as exc:  # the line's own 'line 1, column 2: ' says nothing
                yield number, Refusal(str(exc).split(": ", 1)[-1])


def json_table(path: Path, kind: Kind, encoding: str | None = None) -> Table:
    """A JSON file's items as a table for a mapping: the header is every key any item has, in
    the order first seen; a value that is not text is written as JSON (a number as itself)."""
    header: dict[str, None] = {}
    for _, item in json_items(path, kind, encoding):
        if isinstance(item, dict):
            header.update(dict.fromkeys(item))
    names = list(header)
    check = cell_checker(names, "UTF-8")

    def records(convert: Convert) -> Converted:
        for number, item in json_items(path, kind, encoding):
            if isinstance(item, Refusal) or not isinstance(item, dict):
                yield number, ImportRowError(number, [item if isinstance(item, Refusal) else
                                                      f"expected an object, got {type(item).__name__}"])
                continue
            cells = [_json_text(item.get(name)) for name in names]
            problem = check(cells)
            yield (number, ImportRowError(number, [problem])) if problem else (number, convert(number, cells))

    return Table(path.name, kind, names, records, encoding="UTF-8", size=path.stat().st_size)


def _json_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
