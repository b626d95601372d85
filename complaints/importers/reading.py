"""Reading a complaint file into validated records: the file's kind, its mapping, its dates.

``read_file`` opens the file at once (so a file that can't be read is refused before anything
is stored), decides each date column from all its values when nothing says how they are
written (a first pass over the file), and returns ``ImportedRows``: the records, each a
``ComplaintIn`` or the ``ImportRowError`` that refuses its row, plus what was decided.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from complaints.errors import ImportRowError, InvalidInput
from complaints.importers.dates import DateColumn, DateOptions, check_format
from complaints.importers.ids import with_id
from complaints.importers.jsonfiles import json_reader, json_table
from complaints.importers.mapping import (
    EMPTY,
    Mapping,
    compile_mapping,
    detected_mapping,
    load_mapping,
    shipped_mapping,
)
from complaints.importers.sources import (
    Convert,
    Kind,
    Refusal,
    Table,
    cell_checker,
    check_encoding,
    csv_table,
    file_kind,
    keep_cells,
)
from complaints.importers.workbooks import workbook_table
from complaints.schemas import ComplaintIn, field_problems

Format = Literal["cfpb", "csv", "json", "xlsx"]
FORMATS: tuple[str, ...] = Format.__args__  # type: ignore[attr-defined]
Item = ComplaintIn | ImportRowError
#: A file up to this size is parsed once when its dates need a first pass: the records that pass
#: read are kept for the import (about three times the file's size in memory).
KEPT_BYTES = 64 * 1024 * 1024
Rows = Iterator[tuple[int, Item]]


@dataclass(frozen=True)
class ImportOptions:
    """What the command line (or a caller) says about a file; each is checked, and a bad one
    is refused naming its option."""

    mapping: str | Path | None = None
    date_format: str | None = None
    dayfirst: bool | None = None
    encoding: str | None = None
    sheet: str | None = None

    def checked(self) -> ImportOptions:
        if self.date_format is not None and self.dayfirst is not None:
            raise InvalidInput("--date-format", ["give --date-format or --dayfirst/--monthfirst, not both"])
        if self.date_format is not None and (problem := check_format(self.date_format)):
            raise InvalidInput("--date-format", [problem])
        if self.encoding is not None:
            check_encoding(self.encoding)
        return self

    @property
    def dates(self) -> DateOptions:
        return DateOptions(self.date_format, self.dayfirst)


class ImportedRows:
    """The records of one file in order, each ``(row, ComplaintIn | ImportRowError)``; a record
    without an external id has one derived from its content (``content_id``). ``summary()``
    says how the file was read: its kind and encoding, the mapping, each date column's format."""

    def __init__(self, rows: Rows, read_as: str, mapping: str | None, dates: list[DateColumn],
                 count: Callable[[], int | None], total: int | None = None, historical: bool = False):
        self._rows = rows
        self.read_as, self.mapping, self.dates = read_as, mapping, dates
        #: the mapping says the file is history: cases stored as received on their dates
        self.historical = historical
        self._count, self._total = count, total

    def __iter__(self) -> Rows:
        return self._rows  # the reader's own generator: no layer of Python between it and intake

    def __next__(self) -> tuple[int, Item]:
        return next(self._rows)

    @property
    def total(self) -> int | None:
        """How many records the file holds, good or bad (for a progress bar)."""
        if self._total is None:
            self._total = self._count()
        return self._total

    def summary(self) -> dict[str, Any]:
        return {"read_as": self.read_as, "mapping": self.mapping,
                "dates": {column.name: column.described() for column in self.dates}}

    def described(self) -> str:
        """``CSV, utf-8, mapping cfpb; dates in 'Date received': month-first (MM/DD/YY), e.g. 03/22/23``."""
        text = self.read_as + (f", mapping {self.mapping}" if self.mapping else "")
        for column in self.dates:
            text += f"; dates in {column.name!r}: {column.described()}"
        return text


def read_file(path: str | Path, fmt: Format | None = None, options: ImportOptions | None = None) -> ImportedRows:
    """The file's records; InvalidInput (or NotFound for a mapping) if it can't be read at all."""
    path = Path(path)
    options = (options or ImportOptions()).checked()
    if fmt is not None and fmt not in FORMATS:
        raise InvalidInput("--format", [f"unknown format {fmt!r}; use {', '.join(FORMATS)}"])
    if not path.is_file():
        raise InvalidInput(f"Import file {str(path)!r}", ["does not exist or is not a file"])
    with path.open("rb") as fh:
        kind = _kind(path, fh.read(8), fmt)
    mapping = load_mapping(options.mapping) if options.mapping else shipped_mapping("cfpb") if fmt == "cfpb" else None
    encoding = options.encoding or (mapping.spec.encoding if mapping else None)
    if mapping is None and kind in ("json", "jsonl"):
        if options.sheet is not None:
            raise InvalidInput("--sheet", [f"{path.name} is not a workbook; --sheet is for .xlsx files"])
        return _generic_json(path, kind, encoding, options)
    table = open_table(path, kind, encoding, options.sheet)
    if mapping is None and fmt is None:
        mapping = detected_mapping(table.header)
    if mapping is None:
        return _generic_table(table, options)
    return _mapped(table, mapping, options)


def open_table(path: Path, kind: Kind, encoding: str | None = None, sheet: str | None = None) -> Table:
    """The file as a ``Table``: its header read, its records not yet."""
    if kind == "xlsx":
        return workbook_table(path, sheet)
    if sheet is not None:
        raise InvalidInput("--sheet", [f"{path.name} is not a workbook; --sheet is for .xlsx files"])
    if kind in ("json", "jsonl"):
        return json_table(path, kind, encoding)
    return csv_table(path, encoding)


def _kind(path: Path, head: bytes, fmt: Format | None) -> Kind:
    kind = file_kind(path, head)
    if fmt == "json" and kind not in ("json", "jsonl"):
        return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "json"
    if fmt in ("csv", "cfpb") and kind != "xlsx":
        return "csv"
    return kind


def count_records(path: str | Path, fmt: Format | None = None) -> int | None:
    """How many records the file holds, good or bad, without storing them (for a progress
    bar); None if it can't be read (reading it for the import says why)."""
    try:
        return read_file(path, fmt).total
    except (InvalidInput, OSError, LookupError):
        return None


# -- through a mapping ------------------------------------------------------------------------


def _mapped(table: Table, mapping: Mapping, options: ImportOptions) -> ImportedRows:
    mapper = compile_mapping(mapping, table.header, table.name, options.dates)
    total, rows = _decide(table, mapper.dates, mapper.date_get, mapper)
    return ImportedRows(rows, table.described(), mapping.name, [mapper.dates] if mapper.dates else [],
                        lambda: _count(table), total, mapping.spec.historical)


def _decide(table: Table, column: DateColumn | None, get: Callable[[list[str]], str | None] | None,
            convert: Convert) -> tuple[int | None, Rows]:
    """The file's rows, ``column``'s order decided first from all its values when nothing else
    says: a first pass over the file, which also counts its records. A file up to
    ``KEPT_BYTES`` keeps the records the first pass read, so it is parsed once."""
    if column is None or get is None or not column.needs_values:
        return None, table.records(convert)
    keep = table.size <= KEPT_BYTES
    kept: list[tuple[int, Any]] = []
    values: set[str] = set()
    total = 0
    for row, cells in table.records(keep_cells):
        total += 1
        if isinstance(cells, list) and (value := get(cells)) is not None:
            values.add(value)
        if keep:
            kept.append((row, cells))
    column.decide(values)
    if not keep:
        return total, table.records(convert)
    return total, ((row, convert(row, cells) if isinstance(cells, list) else cells) for row, cells in kept)


def _count(table: Table) -> int:
    return sum(1 for _ in table.records(keep_cells))


# -- without a mapping: columns named as the complaint's fields -------------------------------

_EMPTY_LONGEST = max(map(len, EMPTY))


def _clean(value: str) -> str | None:
    value = value.strip()
    return None if len(value) <= _EMPTY_LONGEST and value.lower() in EMPTY else value


def _generic_table(table: Table, options: ImportOptions) -> ImportedRows:
    """A CSV or sheet whose columns are ComplaintIn's fields, plus customer_name/_email/_phone."""
    header = table.header
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        raise InvalidInput(f"{table.name}: header", [
            f"column {name!r} appears {header.count(name)} times; rename one, or import with a mapping (--map) "
            f"that names the one to use ('{name}[1]')" for name in twice])
    missing = [c for c in ("product", "description") if c not in header]
    if missing:
        raise InvalidInput(f"{table.name}: header", [f"missing column {c!r}" for c in missing])
    dates = DateColumn("received_at", options.dates) if "received_at" in header else None
    at = header.index("received_at") if dates else -1

    def date_of(cells: list[str]) -> str | None:
        return _clean(cells[at])

    def convert(row: int, cells: list[str]) -> Item:
        raw: dict[str, Any] = {k: c for k, v in zip(header, cells, strict=True) if (c := _clean(v)) is not None}
        customer = {k.removeprefix("customer_"): raw.pop(k) for k in list(raw) if k.startswith("customer_")}
        if customer:
            raw["customer"] = customer
        if dates is not None and "received_at" in raw:
            try:
                raw["received_at"] = dates.parse(raw["received_at"])
            except ValueError as exc:
                return ImportRowError(row, [f"received_at: {exc}"])
        return with_id(_validated(row, raw))

    total, rows = _decide(table, dates, date_of if dates else None, convert)
    return ImportedRows(rows, table.described(), None, [dates] if dates else [], lambda: _count(table), total)


def _generic_json(path: Path, kind: Kind, encoding: str | None, options: ImportOptions) -> ImportedRows:
    """A JSON list of complaint objects, ``{"complaints": [...]}``, or JSON lines."""
    dates = DateColumn("received_at", options.dates)
    items = json_reader(path, kind, encoding)
    total = None
    if dates.needs_values:
        values, total = set(), 0
        for _, item in items():
            total += 1
            if isinstance(item, dict) and isinstance(value := item.get("received_at"), str) and value.strip():
                values.add(value.strip())
        dates.decide(values)

    def rows() -> Rows:
        for number, item in items():
            if isinstance(item, Refusal):
                yield number, ImportRowError(number, [item])
            elif not isinstance(item, dict):
                yield number, ImportRowError(number, [f"expected an object, got {type(item).__name__}"])
            elif problem := _text_problem(item):
                yield number, ImportRowError(number, [problem])
            elif isinstance(value := item.get("received_at"), str) and value.strip():
                try:
                    yield number, with_id(_validated(number, {**item, "received_at": dates.parse(value)}))
                except ValueError as exc:
                    yield number, ImportRowError(number, [f"received_at: {exc}"])
            else:
                yield number, with_id(_validated(number, item))

    def count() -> int:
        return sum(1 for _ in items())

    read_as = "JSON lines" if kind == "jsonl" else "JSON"
    return ImportedRows(rows(), read_as, None, [dates], count, total)


def _text_problem(item: dict[str, Any]) -> str | None:
    """What refuses an object's text (NUL, undecodable bytes, a value too long), looking one
    level into nested objects (the customer, the source)."""
    named = [(str(k), v) for k, v in item.items() if isinstance(v, str)]
    for key, inner in item.items():
        if isinstance(inner, dict):
            named += [(f"{key}.{k}", v) for k, v in inner.items() if isinstance(v, str)]
    problem = cell_checker([name for name, _ in named], "UTF-8")([v for _, v in named])
    return problem.replace("column ", "", 1) if problem else None


def _validated(row: int, raw: dict[str, Any]) -> Item:
    try:
        return ComplaintIn.model_validate(raw)
    except ValidationError as exc:
        return ImportRowError(row, field_problems(exc, ComplaintIn))


@lru_cache(maxsize=4096)
def parse_cfpb_date(text: str) -> Any:
    """A CFPB export's date (month-first: 03/22/23, 03/22/2023; or 2023-03-22, 2020/3/18)."""
    return _CFPB_DATES.parse(text)


_CFPB_DATES = DateColumn("Date received", DateOptions(dayfirst=False))
