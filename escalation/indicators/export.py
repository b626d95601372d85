"""The indicators as a spreadsheet: one row for the whole and one per group of each breakdown.

Each indicator is a column named by its path (``time_to_resolution.median_hours``,
``sla.first_response.rate``); the common rationales are one cell ("text (count); ...").
Every cell goes through ``safe_text.spreadsheet_cell``: a product named ``=HYPERLINK(...)``
is written as text a spreadsheet shows, never as a formula it runs.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any, TextIO

from complaints.errors import InvalidInput
from complaints.safe_text import spreadsheet_cell

FORMATS = ("csv",)


def check_format(fmt: str) -> str:
    if fmt.lower() not in FORMATS:
        raise InvalidInput("Invalid --format", [f"{fmt!r}; use one of {', '.join(FORMATS)}"])
    return fmt.lower()


def rows(report: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Flat rows: period, dimension ('all' for the whole), group, then each indicator."""
    period = {f"period.{k}": v for k, v in report["period"].items()}
    yield period | {"dimension": "all", "group": "all"} | flatten(report["overall"])
    for dimension, groups in report["by"].items():
        for group in groups:
            values = {k: v for k, v in group.items() if k != "key"}
            yield period | {"dimension": dimension, "group": group["key"]} | flatten(values)


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list):
            out[name] = "; ".join(f"{item['rationale']} ({item['count']})" if isinstance(item, dict) else str(item)
                                  for item in value)
        else:
            out[name] = value
    return out


def write_csv(report: dict[str, Any], out: TextIO) -> int:
    """Write the rows (the header is every column any row has, in order seen); the rows written."""
    table = list(rows(report))
    columns: dict[str, None] = {}
    for row in table:
        columns.update(dict.fromkeys(row))
    writer = csv.writer(out)
    writer.writerow([spreadsheet_cell(c) for c in columns])
    for row in table:
        writer.writerow([spreadsheet_cell(row.get(c)) for c in columns])
    return len(table)
