"""Complaint files as records of text, read so that nothing half-read gets through.

A file is one of: delimited text (CSV; comma, semicolon, tab or bar), JSON (a list or
``{"complaints": [...]}``, ``jsonfiles``), JSON lines, or an ``.xlsx`` workbook (``workbooks``);
anything else is refused in one line. Text is read in its encoding (a byte-order mark, ``--encoding``, or detected: UTF-8
when its non-ASCII bytes are mostly UTF-8, else the legacy code page charset-normalizer finds
likeliest). A byte that is not in the encoding does not stop the file: it is kept marked (a
lone surrogate, which no decoder produces) and the record holding it is refused with its row,
as is a record with more or fewer cells than the header, a cell above ``MAX_CELL_CHARS``, a NUL,
or a last record cut off inside quotes. Every other record is read.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
#: How much of a text file the encoding and the delimiter are told from.
SAMPLE_BYTES = 4 * 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
#: Legacy code pages told apart by charset-normalizer when a file is not UTF-8.
LEGACY_ENCODINGS = ("cp1252", "cp1257", "iso8859_7", "cp1254")
MARK = "complaints.undecodable"
_BINARY = {
    b"%PDF": "a PDF document", b"\x89PNG": "a PNG image", b"GIF8": "a GIF image", b"\xff\xd8\xff": "a JPEG image",
    b"\x1f\x8b": "a gzip archive", b"7z\xbc\xaf": "a 7-Zip archive", b"Rar!": "a RAR archive",
    b"\xd0\xcf\x11\xe0": "an old Office file (.xls): save it as .xlsx or CSV",
}
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f]")
_CONTROL_BYTES = bytes([*range(0, 9), *range(14, 32)])
_NOT_TEXT = "not a text file (it holds binary data); import CSV, JSON or .xlsx"
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def mark(exc: UnicodeError) -> tuple[str, int]:
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
    text = sample.decode(encoding, MARK)
    if len(_CONTROL.findall(text[:100_000])) > max(16, len(text[:100_000]) // 100):
        raise InvalidInput(path.name, [_NOT_TEXT])
    return text


# -- delimited text ---------------------------------------------------------------------------


def sample_of(path: Path) -> tuple[bytes, bool]:
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
        return sample, len(sample) < SAMPLE_BYTES or not fh.read(1)


def csv_table(path: Path, encoding: str | None) -> Table:
    codecs.register_error(MARK, mark)
    sample, whole = sample_of(path)
    encoding = encoding or detect_encoding(path, sample, whole)
    text = _decoded_sample(path, sample, encoding)
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    delimiter = max(DELIMITERS, key=lambda d: (first_line.count(d), d == ","))
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
    with path.open(encoding=encoding, errors=MARK, newline="") as fh:
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
        with path.open(encoding=encoding, errors=MARK, newline="") as fh:
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
