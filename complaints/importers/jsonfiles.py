"""JSON and JSON lines: items read by position (by line), a document bounded in size and depth."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from complaints.errors import ImportRowError, InvalidInput
from complaints.importers.sources import MARK, Convert, Converted, Kind, Refusal, Table, cell_checker, mark

#: The largest JSON document read whole (JSON lines have no limit but ``MAX_LINE_BYTES`` a line).
MAX_JSON_BYTES = 256 * 1024 * 1024
MAX_LINE_BYTES = 16 * 1024 * 1024
#: How deep a JSON document may nest: a complaint list is four levels.
MAX_JSON_DEPTH = 32


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
    codecs.register_error(MARK, mark)
    if kind == "jsonl":
        return _json_lines(path, encoding)
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise InvalidInput(path.name, [f"a JSON document of {size:,} bytes; the most read whole is "
                                       f"{MAX_JSON_BYTES:,}: write JSON lines (one complaint a line) instead"])
    data = path.read_bytes()
    text = data.decode(encoding or _json_encoding(data), MARK).lstrip("\ufeff")
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


def json_reader(path: Path, kind: Kind, encoding: str | None = None) -> Callable[[], Iterator[tuple[int, Any]]]:
    """The file's items, as often as asked: a JSON document is parsed once and kept (it is in
    memory whole anyway), JSON lines are read again each time."""
    if kind == "jsonl":
        return lambda: json_items(path, kind, encoding)
    items = list(json_items(path, kind, encoding))
    return lambda: iter(items)


def json_table(path: Path, kind: Kind, encoding: str | None = None) -> Table:
    """A JSON file's items as a table for a mapping: the header is every key any item has, in
    the order first seen; a value that is not text is written as JSON (a number as itself)."""
    items = json_reader(path, kind, encoding)
    header: dict[str, None] = {}
    for _, item in items():
        if isinstance(item, dict):
            header.update(dict.fromkeys(item))
    names = list(header)
    check = cell_checker(names, "UTF-8")

    def records(convert: Convert) -> Converted:
        for number, item in items():
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
