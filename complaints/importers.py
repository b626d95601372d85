"""Read complaint files (CFPB export, generic CSV, JSON / JSON lines) into validated records.

Each reader yields ``(row, ComplaintIn | ImportRowError)`` so that a bad row is reported with
its number and reason while the good rows go on. Rows count the header as row 1, as a
spreadsheet shows them; multi-line CSV fields are handled by the csv module.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from complaints.errors import ImportRowError, InvalidInput
from complaints.schemas import ComplaintIn, field_problems

Format = Literal["cfpb", "csv", "json"]
Rows = Iterator[tuple[int, ComplaintIn | ImportRowError]]

CFPB_REQUIRED = ("Complaint ID", "Date received", "Product", "Issue")
CFPB_CHANNELS = {
    "web": "web", "web referral": "web", "referral": "regulator", "phone": "phone",
    "postal mail": "letter", "fax": "letter", "email": "email", "in person": "in_person",
}
CFPB_DATE_FORMATS = ("%m/%d/%y", "%m/%d/%Y", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%d/%m/%Y")
_NONE = {"", "none", "n/a", "null"}
_NONE_LONGEST = max(map(len, _NONE))


def detect_format(path: Path) -> Format:
    suffix = path.suffix.lower()
    if suffix in (".json", ".jsonl", ".ndjson"):
        return "json"
    with path.open(newline="", encoding="utf-8-sig") as fh:
        header = next(csv.reader(fh), [])
    return "cfpb" if all(col in header for col in CFPB_REQUIRED) else "csv"


def read_file(path: str | Path, fmt: Format | None = None) -> Rows:
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"Import file {str(path)!r}", ["does not exist or is not a file"])
    fmt = fmt or detect_format(path)
    return READERS[fmt](path)


def count_records(path: str | Path, fmt: Format | None = None) -> int | None:
    """How many records the file holds, good or bad, without validating them (for a progress
    bar); None if it cannot be read as ``fmt`` (reading it for the import says why)."""
    path = Path(path)
    try:
        fmt = fmt or detect_format(path)
        if fmt != "json":
            with path.open(newline="", encoding="utf-8-sig") as fh:
                return max(sum(1 for _ in csv.reader(fh)) - 1, 0)
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            with path.open(encoding="utf-8") as fh:
                return sum(1 for line in fh if line.strip())
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, csv.Error):
        return None
    items = doc.get("complaints") if isinstance(doc, dict) else doc
    return len(items) if isinstance(items, list) else None


def _validated(row: int, raw: dict[str, Any]) -> ComplaintIn | ImportRowError:
    try:
        return ComplaintIn.model_validate(raw)
    except ValidationError as exc:
        return ImportRowError(row, field_problems(exc, ComplaintIn))


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    # only a short cell can be one of _NONE: a narrative is not lowercased to find out
    return None if len(value) <= _NONE_LONGEST and value.lower() in _NONE else value


@lru_cache(maxsize=4096)  # an export holds a few hundred distinct dates; strptime was a third of reading a row
def parse_cfpb_date(text: str) -> datetime:
    """CFPB exports write dates as 03/22/23, 03/22/2023 or 2023-03-22 depending on the export."""
    for fmt in CFPB_DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ValueError(f"date {text!r} matches none of MM/DD/YY, MM/DD/YYYY, YYYY-MM-DD")


def _csv_rows(path: Path, required: tuple[str, ...] = ()) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise InvalidInput(f"{path.name}: header", [f"missing column {c!r}" for c in missing])
        for number, record in enumerate(reader, start=2):
            if None in record:  # more cells than header columns
                yield number, {"__error__": f"{len(record[None]) } cell(s) more than the header has"}  # type: ignore[index]
                continue
            yield number, record


def read_cfpb(path: Path) -> Rows:
    for number, rec in _csv_rows(path, CFPB_REQUIRED):
        if "__error__" in rec:
            yield number, ImportRowError(number, [rec["__error__"]])
            continue
        try:
            received = parse_cfpb_date(rec.get("Date received") or "")
        except ValueError as exc:
            yield number, ImportRowError(number, [f"Date received: {exc}"])
            continue
        issue, sub_issue = _clean(rec.get("Issue")), _clean(rec.get("Sub-issue"))
        narrative = _clean(rec.get("Consumer complaint narrative"))
        via = (_clean(rec.get("Submitted via")) or "web").lower()
        raw = {
            "external_id": _clean(rec.get("Complaint ID")),
            "channel": CFPB_CHANNELS.get(via, "regulator"),
            "product": _clean(rec.get("Product")),
            "sub_product": _clean(rec.get("Sub-product")),
            "company": _clean(rec.get("Company")),
            "category": issue,
            "sub_category": sub_issue,
            "description": narrative or " / ".join(p for p in (issue, sub_issue) if p),
            "region": _clean(rec.get("State")),
            "received_at": received,
            "language": "en",
        }
        # A blank column is a missing field ("product: Field required"), not a None of the wrong type.
        yield number, _validated(number, {k: v for k, v in raw.items() if v is not None})


def read_csv(path: Path) -> Rows:
    """A CSV whose columns are ComplaintIn's fields, plus customer_name/_email/_phone."""
    for number, rec in _csv_rows(path, ("product", "description")):
        if "__error__" in rec:
            yield number, ImportRowError(number, [rec["__error__"]])
            continue
        raw: dict[str, Any] = {k: v for k, v in rec.items() if _clean(v) is not None}
        customer = {k.removeprefix("customer_"): raw.pop(k) for k in list(raw) if k.startswith("customer_")}
        if customer:
            raw["customer"] = customer
        yield number, _validated(number, raw)


def read_json(path: Path) -> Rows:
    """A JSON list of complaint objects, ``{"complaints": [...]}``, or JSON lines."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, ImportRowError(number, [f"not valid JSON: {exc.msg}"])
                continue
            yield number, _object(number, item)
        return
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path.name}", [f"line {exc.lineno}, column {exc.colno}: not valid JSON: {exc.msg}"]) from exc
    items = doc.get("complaints") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        raise InvalidInput(f"{path.name}", ["expected a list of complaints or {\"complaints\": [...]}"])
    for number, item in enumerate(items, start=1):
        yield number, _object(number, item)


def _object(number: int, item: Any) -> ComplaintIn | ImportRowError:
    if not isinstance(item, dict):
        return ImportRowError(number, [f"expected an object, got {type(item).__name__}"])
    return _validated(number, item)


READERS = {"cfpb": read_cfpb, "csv": read_csv, "json": read_json}
