"""``.xlsx`` workbooks as tables: one sheet's rows, each cell as text (openpyxl, read-only)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from complaints.errors import ImportRowError, InvalidInput
from complaints.importers.sources import Convert, Converted, Table, cell_checker


def workbook_table(path: Path, sheet: str | None) -> Table:
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
