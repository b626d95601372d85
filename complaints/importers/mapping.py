"""Mapping files: how the columns of a foreign export become a complaint's fields.

A mapping is YAML, checked when loaded like a workflow file (every problem named with its
line), then compiled once against a file's header into plain functions over a record's
cells (``RowMapper``): the YAML is not looked at again for each row. Columns the mapping
does not use are kept on the complaint (``source``) or dropped, as it says; they never
refuse a row. The language is described in docs/importing.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from difflib import get_close_matches
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from complaints.errors import ImportRowError, InvalidInput, NotFound
from complaints.importers.dates import DateColumn, DateOptions, check_format
from complaints.importers.ids import with_id
from complaints.problems import (
    Path_,
    YamlRefused,
    line_index,
    line_of,
    load_yaml,
    read_yaml_file,
    unknown_key,
    validation_problems,
)
from complaints.schemas import ComplaintIn, field_problems

#: What a cell holding only one of these means: nothing (case ignored).
EMPTY = ("", "none", "n/a", "null")
CUSTOMER_FIELDS = ("customer_name", "customer_email", "customer_phone")
#: Fields that hold dates: received_at decides how the file writes them, the others follow it.
DATED = ("received_at", "closed_at")
#: The complaint fields a mapping may fill.
FIELDS = tuple(name for name in ComplaintIn.model_fields if name not in ("customer", "source")) + CUSTOMER_FIELDS
REQUIRED = ("product", "description")
_NTH = re.compile(r"(?P<name>.*)\[(?P<n>\d+)\]")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, populate_by_name=True)


class FieldSpec(_Spec):
    """Where one field's value comes from: one of ``column``, ``value``, ``join`` or ``first``,
    with translations, a default and (for received_at) how its dates are written."""

    column: str | None = None
    value: str | None = None
    join: list[str] | None = None
    with_: str = Field("\n\n", alias="with")
    first: list[str | FieldSpec] | None = None
    values: dict[str, str] | None = None
    otherwise: str | None = None
    default: str | None = None
    format: str | None = None
    dayfirst: bool | None = None
    #: the columns named here may be missing from a file (the field is then empty, or its default)
    optional: bool = False

    @property
    def sources(self) -> list[str]:
        return [key for key in ("column", "value", "join", "first") if getattr(self, key) is not None]


Source = str | FieldSpec


class MappingSpec(_Spec):
    name: str | None = None
    description: str | None = None
    #: columns that, all present, select this shipped mapping for a file imported without --map
    detect: list[str] = []
    encoding: str | None = None
    unmapped: Literal["keep", "drop"] = "keep"
    empty: list[str] = list(EMPTY)
    #: the file is history: each case stored as received on its date (``--historical``)
    historical: bool = False
    fields: dict[str, Source]


@dataclass
class Mapping:
    """A checked mapping and where it came from (its text, to name lines in later problems)."""

    spec: MappingSpec
    source: str
    text: str
    name: str

    def where(self, path: Path_) -> str:
        """'cfpb.yaml line 7, fields.product' for a path in the mapping."""
        line = line_of(line_index(self.text), path)
        dotted = ".".join(str(p) for p in path)
        return f"{self.source} line {line}, {dotted}" if line else f"{self.source}, {dotted}"


# -- loading and checking ---------------------------------------------------------------------


def parse_mapping(text: str, source: str = "<string>", name: str | None = None) -> Mapping:
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise InvalidInput(f"Mapping {source}", [f"{where}not valid YAML: {getattr(exc, 'problem', exc)}"]) from exc
    if not isinstance(raw, dict):
        raise InvalidInput(f"Mapping {source}", ["the file must hold a mapping with 'fields: {...}'"])
    try:
        spec = MappingSpec.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(source, text, validation_problems(exc, MappingSpec)) from exc
    problems = list(check_mapping(spec))
    if problems:
        raise _invalid(source, text, problems)
    return Mapping(spec, source, text, name or spec.name or Path(source).stem)


def _invalid(source: str, text: str, found: list[tuple[Path_, str]]) -> InvalidInput:
    index = line_index(text)
    lines = []
    for path, message in found:
        line = line_of(index, path)
        dotted = ".".join(str(p) for p in path) or "(top level)"
        lines.append(f"line {line}, {dotted}: {message}" if line else f"{dotted}: {message}")
    return InvalidInput(f"Mapping {source}", lines)


def check_mapping(spec: MappingSpec) -> Iterator[tuple[Path_, str]]:
    """Every rule a mapping breaks, with its path; one small rule per function."""
    for check in (_known_fields, _required_fields, _one_source, _dates_only_for_received_at, _allowed_values):
        yield from check(spec)


def _known_fields(spec: MappingSpec) -> Iterator[tuple[Path_, str]]:
    for name in spec.fields:
        if name not in FIELDS:
            yield ("fields", name), unknown_key(name, list(FIELDS))


def _required_fields(spec: MappingSpec) -> Iterator[tuple[Path_, str]]:
    for name in REQUIRED:
        if name not in spec.fields:
            yield ("fields",), f"{name} is not mapped: every complaint needs one; map a column or give a value"


def _specs(source: Source, path: Path_) -> Iterator[tuple[FieldSpec, Path_]]:
    if isinstance(source, FieldSpec):
        yield source, path
        for i, inner in enumerate(source.first or []):
            yield from _specs(inner, (*path, "first", i))


def _one_source(spec: MappingSpec) -> Iterator[tuple[Path_, str]]:
    for name, top in spec.fields.items():
        for fs, path in _specs(top, ("fields", name)):
            if len(fs.sources) != 1:
                has = f" (it has {', '.join(fs.sources)})" if fs.sources else ""
                yield path, f"give one of column, value, join or first{has}"


def _dates_only_for_received_at(spec: MappingSpec) -> Iterator[tuple[Path_, str]]:
    for name, top in spec.fields.items():
        for fs, path in _specs(top, ("fields", name)):
            dated = [key for key in ("format", "dayfirst") if getattr(fs, key) is not None]
            if dated and name != "received_at":
                yield (*path, dated[0]), (f"{dated[0]} is for received_at; {name} is read as received_at is"
                                          if name in DATED else
                                          f"{dated[0]} is for received_at, whose dates the others follow")
            elif fs.format and (problem := check_format(fs.format)):
                yield (*path, "format"), problem
    received = spec.fields.get("received_at")
    if isinstance(received, FieldSpec) and received.column is None and received.value is None:
        yield ("fields", "received_at"), "received_at reads one column (column: ...), as its dates are read alike"


def _allowed_values(spec: MappingSpec) -> Iterator[tuple[Path_, str]]:
    """A fixed or translated channel or severity must be one the complaint takes."""
    for name in ("channel", "severity"):
        allowed = get_args(ComplaintIn.model_fields[name].annotation)
        for fs, path in _specs(spec.fields.get(name, ""), ("fields", name)):
            given: list[tuple[Path_, str | None]] = [(("value",), fs.value), (("otherwise",), fs.otherwise),
                                                     (("default",), fs.default)]
            given += [(("values", key), target) for key, target in (fs.values or {}).items()]
            for where, text in given:
                if text is not None and text.strip().lower() not in allowed:
                    yield (*path, *where), f"{text!r} is not a {name}; use one of {', '.join(allowed)}"


# -- finding a mapping ------------------------------------------------------------------------


def shipped_mappings() -> dict[str, Path]:
    """The mappings shipped as package data (``complaints/importers/mappings/*.yaml``) by name."""
    folder = resources.files("complaints.importers") / "mappings"
    return {Path(f.name).stem: Path(str(f)) for f in folder.iterdir() if f.name.endswith((".yaml", ".yml"))}


@cache
def shipped_mapping(name: str) -> Mapping:
    path = shipped_mappings()[name]
    return parse_mapping(path.read_text(encoding="utf-8"), f"{name}.yaml", name)


def load_mapping(name_or_path: str | Path) -> Mapping:
    """A mapping file, or a shipped mapping by name (``cfpb``)."""
    path = Path(name_or_path)
    if path.is_file():
        try:
            text = read_yaml_file(path).removeprefix("\ufeff")
        except (OSError, UnicodeDecodeError, YamlRefused) as exc:
            raise InvalidInput("--map", [f"can't read {str(path)!r}: {exc}"]) from exc
        return parse_mapping(text, path.name)
    shipped = shipped_mappings()
    if str(name_or_path) in shipped:
        return shipped_mapping(str(name_or_path))
    raise NotFound(f"--map: no mapping file {str(name_or_path)!r} and no shipped mapping of that name "
                   f"(shipped: {', '.join(sorted(shipped))})")


def detected_mapping(header: list[str]) -> Mapping | None:
    """The shipped mapping whose ``detect`` columns the header all has, if one does."""
    present = set(header)
    for name in sorted(shipped_mappings()):
        mapping = shipped_mapping(name)
        if mapping.spec.detect and present.issuperset(mapping.spec.detect):
            return mapping
    return None


# -- compiling against a header ---------------------------------------------------------------

Getter = Callable[[list[str]], str | None]


@dataclass
class RowMapper:
    """A mapping compiled against one file's header: a record's cells -> a validated complaint."""

    mapping: Mapping
    fields: list[tuple[str, Getter]]
    customer: list[tuple[str, Getter]]
    dates: DateColumn | None = None
    date_get: Getter | None = None
    keep: list[tuple[int, str]] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)
    #: other date fields (closed_at), read in the order received_at's column is read
    later: list[tuple[str, Getter]] = field(default_factory=list)

    def __call__(self, row: int, cells: list[str]) -> ComplaintIn | ImportRowError:
        raw: dict[str, Any] = {}
        for name, get in self.fields:
            value = get(cells)
            if value is not None:
                raw[name] = value
        if self.customer:
            customer = {name: value for name, get in self.customer if (value := get(cells)) is not None}
            if customer:
                raw["customer"] = customer
        if self.date_get is not None and self.dates is not None and (text := self.date_get(cells)) is not None:
            try:
                raw["received_at"] = self.dates.parse(text)
            except ValueError as exc:
                return ImportRowError(row, [f"received_at ({self.origins['received_at']}): {exc}"])
        for name, get in self.later:
            if (text := get(cells)) is not None:
                try:
                    raw[name] = self.dates.parse(text) if self.dates is not None else text
                except ValueError as exc:
                    return ImportRowError(row, [f"{name} ({self.origins[name]}): {exc}"])
        if self.keep:
            source = {name: value for i, name in self.keep if (value := cells[i].strip())}
            if source:
                raw["source"] = source
        try:
            record = ComplaintIn.model_validate(raw)
        except ValidationError as exc:
            return ImportRowError(row, [self._origin(line) for line in field_problems(exc, ComplaintIn)])
        return record if record.external_id is not None else with_id(record)

    def _origin(self, line: str) -> str:
        """``product (column 'Produkt'): Field required``: the field named with where it came from."""
        name, sep, rest = line.partition(":")
        key = "customer_" + name.removeprefix("customer.") if name.startswith("customer.") else name
        return f"{name} ({self.origins[key]}){sep}{rest}" if key in self.origins else line


def compile_mapping(mapping: Mapping, header: list[str], file: str, dates: DateOptions | None = None) -> RowMapper:
    """``mapping`` for a file with ``header``; InvalidInput naming every column the mapping
    wants and the file lacks (with the mapping's line), or a column the header names twice."""
    spec = mapping.spec
    columns, problems = _columns(header), []
    used: set[int] = set()
    reported: set[str] = set()

    def index(name: str, path: Path_, optional: bool = False) -> int:
        found = columns.get(name)
        if isinstance(found, int):
            used.add(found)
            return found
        if found is None and optional:
            return -1
        if isinstance(found, list):
            reported.add(name)
            problems.append(f"column {name!r} ({mapping.where(path)}) appears {len(found)} times in the header "
                            f"(columns {_positions(found)}); name the one to use as "
                            + " or ".join(f"'{name}[{n}]'" for n in range(1, len(found) + 1)))
        else:
            near = get_close_matches(name, [h for h in header if h], n=1, cutoff=0.6)
            hint = f"; did you mean {near[0]!r}?" if near else f"; its columns: {', '.join(header)}"
            problems.append(f"column {name!r} ({mapping.where(path)}) is not in the header{hint}")
        return -1

    empty = frozenset(v.strip().lower() for v in spec.empty)
    longest = max(map(len, empty), default=0)
    fields: list[tuple[str, Getter]] = []
    customer: list[tuple[str, Getter]] = []
    origins: dict[str, str] = {}
    date_column, date_get = None, None
    later: list[tuple[str, Getter]] = []
    for name, source in spec.fields.items():
        path: Path_ = ("fields", name)
        if name in DATED and name != "received_at":
            later.append((name, _getter(source, path, index, empty, longest)))
            origins[name] = _described(source)
            continue
        if name == "received_at" and _column_of(source) is not None:
            column = _column_of(source)
            assert column is not None
            date_get = _cell(index(column, path, isinstance(source, FieldSpec) and source.optional), empty, longest,
                             None)
            given = source if isinstance(source, FieldSpec) else FieldSpec()
            options = dates if dates and (dates.format or dates.dayfirst is not None) else \
                DateOptions(given.format, given.dayfirst)
            date_column = DateColumn(column, options)
            origins[name] = f"column {column!r}"
            continue
        getter = _getter(source, path, index, empty, longest)
        origins[name] = _described(source)
        (customer if name in CUSTOMER_FIELDS else fields).append(
            (name.removeprefix("customer_") if name in CUSTOMER_FIELDS else name, getter))
    for name, found in columns.items():
        if isinstance(found, list) and name not in reported and not any(i in used for i in found):
            problems.append(f"column {name!r} appears {len(found)} times in the header (columns "
                            f"{_positions(found)}); rename one, or say in the mapping which to use ('{name}[1]')")
    if problems:
        raise InvalidInput(f"{file}: header", problems)
    keep = []
    if spec.unmapped == "keep":
        names = {i: n for n, found in columns.items() for i in ([found] if isinstance(found, int) else [])}
        keep = [(i, names.get(i) or f"column {i + 1}") for i in range(len(header)) if i not in used]
    return RowMapper(mapping, fields, customer, date_column, date_get, keep, origins, later)


def _positions(indexes: list[int]) -> str:
    """'3 and 7' for columns at indexes 2 and 6."""
    numbers = [str(i + 1) for i in indexes]
    return ", ".join(numbers[:-1]) + " and " + numbers[-1]


def _columns(header: list[str]) -> dict[str, int | list[int]]:
    """Each column's name -> its index; a name the header holds twice -> its indexes, and each
    occurrence also by ``name[n]`` (1-based)."""
    seen: dict[str, list[int]] = {}
    for i, name in enumerate(header):
        seen.setdefault(name, []).append(i)
    columns: dict[str, int | list[int]] = {}
    for name, found in seen.items():
        if len(found) == 1:
            columns[name] = found[0]
        else:
            columns[name] = found
            columns.update((f"{name}[{n}]", i) for n, i in enumerate(found, start=1))
    return columns


def _column_of(source: Source) -> str | None:
    return source if isinstance(source, str) else source.column


def _described(source: Source) -> str:
    """Where a field's value comes from, for a row's problem: ``columns 'Issue', 'Sub-issue'``."""
    named = _named(source)
    if not named:
        return "the mapping's value"
    return f"column {named[0]!r}" if len(named) == 1 else "columns " + ", ".join(repr(n) for n in named)


def _named(source: Source) -> list[str]:
    if isinstance(source, str):
        return [source]
    named = [source.column] if source.column else list(source.join or [])
    for inner in source.first or []:
        named += [n for n in _named(inner) if n not in named]
    return named


def _getter(source: Source, path: Path_, index: Callable[[str, Path_, bool], int],
            empty: frozenset[str], longest: int) -> Getter:
    """One field's value from a record's cells: a closure over column indexes, built once."""
    if isinstance(source, str):
        return _cell(index(source, path, False), empty, longest, None)
    if source.value is not None:
        constant = source.value
        return lambda cells: constant
    optional = source.optional
    if source.column is not None:
        get = _cell(index(source.column, (*path, "column"), optional), empty, longest, source.default)
    elif source.join is not None:
        parts = [_cell(index(c, (*path, "join", i), optional), empty, longest, None) for i, c in enumerate(source.join)]
        get = _joined(parts, source.with_, source.default)
    else:
        options = [_cell(index(inner, (*path, "first", i), optional), empty, longest, None) if isinstance(inner, str)
                   else _getter(inner, (*path, "first", i), index, empty, longest)
                   for i, inner in enumerate(source.first or [])]
        get = _first(options, source.default)
    if source.values is None:
        return get
    return _translated(get, {k.strip().lower(): v for k, v in source.values.items()}, source.otherwise)


def _cell(i: int, empty: frozenset[str], longest: int, default: str | None) -> Getter:
    if i < 0:  # an optional column the file does not have
        return lambda cells: default

    def get(cells: list[str]) -> str | None:
        value = cells[i].strip()
        # only a short cell can be one of the empty words: a narrative is not lowercased to find out
        return default if len(value) <= longest and value.lower() in empty else value

    return get


def _joined(parts: list[Getter], separator: str, default: str | None) -> Getter:
    def get(cells: list[str]) -> str | None:
        return separator.join(v for part in parts if (v := part(cells)) is not None) or default

    return get


def _first(options: list[Getter], default: str | None) -> Getter:
    def get(cells: list[str]) -> str | None:
        for option in options:
            if (value := option(cells)) is not None:
                return value
        return default

    return get


def _translated(get: Getter, table: dict[str, str], otherwise: str | None) -> Getter:
    def translate(cells: list[str]) -> str | None:
        value = get(cells)
        if value is None:
            return None
        return table.get(value.lower(), value if otherwise is None else otherwise)

    return translate
