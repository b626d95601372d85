"""What is wrong in an input that pydantic validates, and where, said so a person can mend it.

For YAML files (workflow definitions, the root-cause taxonomy): ``line_index`` maps every path
in the document to the line it starts on, and ``validation_problems`` turns pydantic's errors
into ``(path, message)`` pairs: an unknown key names the key it most likely meant and the keys
allowed where it stands, and a key YAML read as a boolean is named as such. For any input
(imports, moves, CAPA, payloads): ``did_you_mean`` names the key a misspelt one most likely meant. The keys
allowed at a path are found by walking the model's field types, and a value failing its
field's pattern or a date is told what it should look like (``value_hint``), not the pattern.

Every YAML file is read by ``load_yaml`` (or ``yaml.load`` with ``Loader``), within the bounds
of ``complaints.limits``: a file of nested aliases (the "billion laughs": nine lines whose
aliases, written out, hold 387 million strings) is refused at the line of the first node
whose aliases expand beyond them, before anything is built from it, as is a file nested too
deep or too big, or holding a value that can't be built (``2026-02-30``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from difflib import get_close_matches
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from complaints.limits import YAML_MAX_BYTES, YAML_MAX_DEPTH, YAML_MAX_WEIGHT

Path_ = tuple[str | int, ...]


_TOO_DEEP = f"nested more than {YAML_MAX_DEPTH} levels deep; a YAML file may nest mappings and lists {YAML_MAX_DEPTH} deep"
_TOO_HEAVY = (f"with its aliases written out, this holds more than {YAML_MAX_WEIGHT:,} characters' worth of "
              "values (nested aliases, a 'billion laughs'?); write out what the aliases stand for, or shorten it")


class YamlRefused(yaml.MarkedYAMLError):
    """A YAML text refused before anything is built from it: bigger, deeper or (its aliases
    written out) heavier than ``complaints.limits`` allows. A ``YAMLError``, so a loader
    reports it at its line as it reports a syntax error."""


class _Bounded:
    """A safe loader that builds a document only once its composed nodes are known to be
    within bounds: an alias composes to the very node it names, so a bomb is small until
    built, and ``_check_bounds`` weighs it with each alias counted in full."""

    def get_single_data(self) -> Any:
        root = self.get_single_node()  # type: ignore[attr-defined]
        if root is None:
            return None
        _check_bounds(root)
        return self.construct_document(root)  # type: ignore[attr-defined]


class _CLoader(_Bounded, getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml's parser when PyYAML was built with it: ten times faster, and every CLI command
    loads the workflows."""


class _PyLoader(_Bounded, yaml.SafeLoader):  # type: ignore[misc]
    """PyYAML's own safe loader, counting how deep mappings and lists nest as it composes
    them: its composer recurses, so a deep file would end in RecursionError before the bounds
    are checked (libyaml's does not recurse and stops at a depth of its own)."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:
        if not self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
            return super().compose_node(parent, index)
        if self._depth >= YAML_MAX_DEPTH:
            raise YamlRefused(problem=_TOO_DEEP, problem_mark=self.peek_event().start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _named(construct: Any, kind: str) -> Any:
    """``construct`` (a scalar's constructor), raising a YAMLError at the value's line where
    the value can't be built (``2026-02-30``, an integer of more digits than Python reads, an
    explicit ``!!bool maybe``) instead of whatever PyYAML's constructor happens to raise."""

    def constructor(loader: Any, node: yaml.ScalarNode) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, OverflowError, AttributeError, KeyError, TypeError) as exc:
            why = f": {exc}" if isinstance(exc, ValueError | OverflowError) else ""
            raise yaml.constructor.ConstructorError(
                problem=f"can't read {node.value[:40]!r} as {kind}{why}", problem_mark=node.start_mark) from exc

    return constructor


for _loader in (_CLoader, _PyLoader):
    for _tag, _kind in (("bool", "a boolean"), ("int", "an integer"), ("float", "a number"), ("timestamp", "a date")):
        _loader.add_constructor(f"tag:yaml.org,2002:{_tag}", _named(getattr(yaml.SafeLoader, f"construct_yaml_{_tag}"), _kind))

#: The loader of every YAML file, libyaml's if PyYAML has it: ``yaml.load(text, Loader=Loader)``
#: is bounded in depth and alias expansion; ``load_yaml`` bounds the size of the text too.
Loader = _CLoader if hasattr(yaml, "CSafeLoader") else _PyLoader


def load_yaml(text: str, loader: Any = None) -> Any:
    """The document in ``text``, read with ``Loader`` within the bounds of ``complaints.limits``;
    ``YamlRefused`` (at the line at fault) or another YAMLError else. ``loader``: PyYAML's own
    loader in tests."""
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:  # a lone surrogate, which no file holds but a string may
        raise YamlRefused(problem=f"U+{ord(text[exc.start]):04X} is no character of any text (a lone surrogate)",
                          problem_mark=_mark(text, exc.start)) from exc
    if size > YAML_MAX_BYTES:
        raise YamlRefused(problem=_too_big(size))
    return yaml.load(text, Loader=loader or Loader)  # noqa: S506 - a safe loader


def read_yaml_file(path: Path) -> str:
    """The text of ``path``; ``YamlRefused`` if it is bigger than a YAML file may be, found
    without reading more of it than that."""
    with path.open("rb") as fh:
        data = fh.read(YAML_MAX_BYTES + 1)
    if len(data) > YAML_MAX_BYTES:
        raise YamlRefused(problem=_too_big(path.stat().st_size))
    return data.decode("utf-8")


def yaml_error_text(exc: yaml.YAMLError, column: bool = True) -> str:
    """``line 3, column 7: not valid YAML: ...``, or what a refused file is beyond."""
    mark = getattr(exc, "problem_mark", None)
    where = "" if mark is None else f"line {mark.line + 1}" + (f", column {mark.column + 1}" if column else "") + ": "
    what = exc.problem if isinstance(exc, YamlRefused) else f"not valid YAML: {getattr(exc, 'problem', exc)}"
    return where + str(what)


def _mark(text: str, index: int) -> yaml.Mark:
    line = text.count("\n", 0, index)
    return yaml.Mark("<text>", index, line, index - (text.rfind("\n", 0, index) + 1), None, None)


def _too_big(size: int) -> str:
    return f"the file is {size:,} bytes; a YAML file may be at most {YAML_MAX_BYTES:,} bytes"


def _check_bounds(root: yaml.Node) -> None:
    """Refuse the document at ``root`` if, its aliases written out, it weighs more than
    YAML_MAX_WEIGHT or its mappings and lists nest deeper than YAML_MAX_DEPTH, or an alias
    holds itself.

    Each mapping and list is weighed once (memoised by identity), so a node an alias repeats a
    billion times costs one visit; the recursion is as deep as the file nests, which is
    checked on the way down. Every workflow command reads the workflows, so this is kept lean."""
    done: dict[int, tuple[int, int] | None] = {}  # id(node) -> (weight, height); None while inside it

    def weigh(node: yaml.Node, depth: int) -> tuple[int, int]:
        if depth > YAML_MAX_DEPTH:
            raise YamlRefused(problem=_TOO_DEEP, problem_mark=node.start_mark)
        done[id(node)] = None
        weight, height = 1, 0
        parts = [part for pair in node.value for part in pair] if isinstance(node, yaml.MappingNode) else node.value
        for part in parts:
            if isinstance(part, yaml.ScalarNode):
                weight += len(part.value) or 1
                continue
            key = id(part)
            if key not in done:
                found = weigh(part, depth + 1)
            elif (known := done[key]) is not None:
                found = known
            else:
                raise YamlRefused(problem="an alias refers to the mapping or list that holds it, so it would never "
                                          "end; anchored here", problem_mark=part.start_mark)
            weight += found[0]
            height = max(height, found[1])
        if weight > YAML_MAX_WEIGHT:
            raise YamlRefused(problem=_TOO_HEAVY, problem_mark=node.start_mark)
        if height >= YAML_MAX_DEPTH:
            raise YamlRefused(problem=f"with its aliases written out, this is {_TOO_DEEP}", problem_mark=node.start_mark)
        done[id(node)] = result = (weight, height + 1)
        return result

    if not isinstance(root, yaml.ScalarNode):
        weigh(root, 1)


def line_index(text: str) -> dict[Path_, int]:
    """Every path in the YAML document -> the 1-based line where it starts (a key's line for a
    mapping's entry). What an alias repeats is walked once, at its first path: a path through
    an alias has the line of the alias's key, and nodes are not counted out a million times."""
    index: dict[Path_, int] = {}
    walked: set[int] = set()

    def walk(node: yaml.Node, path: Path_) -> None:
        index.setdefault(path, node.start_mark.line + 1)
        if id(node) in walked:
            return
        walked.add(id(node))
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                index[child] = key.start_mark.line + 1
                walk(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    root = yaml.compose(text, Loader=Loader)
    if root is not None:
        walk(root, ())
    return index


def line_of(index: dict[Path_, int], path: Path_) -> int | None:
    """The line of ``path``, or of the nearest enclosing path the file has."""
    for cut in range(len(path), -1, -1):
        if path[:cut] in index:
            return index[path[:cut]]
    return None


#: What a value that fails a field's pattern should look like, said to a person (pydantic
#: would quote the regular expression), by the field's name.
PATTERN_HINTS = {
    "email": "not an email address (name@example.com)",
    "phone": "not a phone number (5 to 30 digits, spaces and + ( ) . / -)",
    "language": "not a language code (ISO 639: en, lv, el)",
    "code": "not a root-cause code (UPPER_CASE words joined by dots, like BILLING.DUPLICATE)",
}


_DATE_ERRORS = {"date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact"}
_TIME_ERRORS = {"datetime_type", "datetime_parsing", "datetime_from_date_parsing"}
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def value_hint(error: Mapping[str, Any]) -> str | None:
    """What the value should look like where pydantic would quote a regular expression or its
    date parser, with the value given: ``not an email address (name@example.com), got 'x'``,
    ``not a date written YYYY-MM-DD, got '14/12/2026'``; None for any other error."""
    loc, kind, given = error.get("loc") or (), error.get("type"), error.get("input")
    if kind == "string_pattern_mismatch" and loc and (hint := PATTERN_HINTS.get(str(loc[-1]))):
        return f"{hint}, got {given!r}"
    if kind not in _DATE_ERRORS | _TIME_ERRORS:
        return None
    form = "YYYY-MM-DD" if kind in _DATE_ERRORS else "YYYY-MM-DD or as an ISO 8601 time (2026-12-14T09:30:00Z)"
    why = (error.get("ctx") or {}).get("error")  # only worth saying of a value written in the right form
    detail = f" ({why})" if why and isinstance(given, str) and _ISO_DAY.match(given) else ""
    return f"not a date written {form}, got {given!r}{detail}"


def validation_problems(exc: ValidationError, model: type[BaseModel], raw: Any = None) -> list[tuple[Path_, str]]:
    """``(path in the file, message)`` for each of pydantic's errors validating ``model``
    (from ``raw``, the document read: a key of the file that looks like one of pydantic's
    markers is told from one by it)."""
    problems = []
    for err in exc.errors():
        path = _file_path(err["loc"], raw)
        message = value_hint(err) or err["msg"]
        if err["type"] == "extra_forbidden" and path:
            message = unknown_key(str(path[-1]), keys_allowed(model, path[:-1]))
        elif err["type"] == "invalid_key":  # pydantic shows a key True as 1: name the mapping instead
            path, message = path[:-1], _not_text_key(err["input"])
        problems.append((path, message))
    return problems


def _file_path(loc: tuple[str | int, ...], raw: Any) -> Path_:
    """pydantic's path names keys as the file does (aliases: 'from', 'in'), but holds markers of
    union members and validators (``function-after[...]``) that are no keys of the file: left
    out unless the file has such a key there."""
    path: list[str | int] = []
    node = raw
    for part in loc:
        if isinstance(node, dict | list) and _holds(node, part):
            node = node[part]  # type: ignore[index]
        elif isinstance(part, str) and ("[" in part or "function-" in part):
            continue
        else:
            node = None
        path.append(part)
    return tuple(path)


def _holds(node: dict[Any, Any] | list[Any], part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(part, int) and 0 <= part < len(node)


def unknown_key(key: str, allowed: list[str]) -> str:
    """``unknown key 'intial': did you mean 'initial'? (keys here: label, ...)``."""
    guess = _guess(key, allowed)
    return f"unknown key '{key}'" + (f": {guess}" if guess else "") + \
        (f" (keys here: {', '.join(allowed)})" if allowed else "")


def did_you_mean(model: type[BaseModel], path: Path_) -> str:
    """``did you mean 'severity'?`` for the unknown key at ``path`` of a ``model`` input, naming
    the allowed key beside it that it most likely meant; empty if none is close."""
    return _guess(str(path[-1]), keys_allowed(model, path[:-1])) if path else ""


def _guess(key: str, allowed: list[str]) -> str:
    close = get_close_matches(key, allowed, n=1)
    return f"did you mean '{close[0]}'?" if close else ""


def _not_text_key(key: object) -> str:
    if isinstance(key, bool):  # YAML 1.1, as PyYAML reads it: on/off/yes/no/true/false unquoted
        return (f"a key here was read as {str(key).lower()}: YAML takes an unquoted on, off, yes, no, true or "
                "false for a boolean; quote the key ('on':)")
    return f"key {key!r} is not text; quote it ('{key}':)"


def keys_allowed(model: type[BaseModel], path: Path_) -> list[str]:
    """The keys the mapping at ``path`` of a ``model`` document may hold, found by walking the
    field types; none where no one model is found there (a free mapping, a union of models)."""
    annotation: Any = model
    for part in path:
        annotation = _inside(annotation, part)
    found = _model(annotation)
    return [field.alias or name for name, field in found.model_fields.items()] if found else []


def _inside(annotation: Any, part: str | int) -> Any:
    """The type of ``part`` of a value of type ``annotation`` (a model's field, a list's item,
    a dict's value); None where it can't be told."""
    model = _model(annotation)
    if model is not None:
        found = [f.annotation for name, f in model.model_fields.items() if part in (name, f.alias)]
        return found[0] if found else None
    members = _members(annotation)
    if len(members) != 1:
        return None
    origin, args = get_origin(members[0]), get_args(members[0])
    if origin is list and isinstance(part, int) and args:
        return args[0]
    if origin is dict and len(args) == 2:
        return args[1]
    return None


def _model(annotation: Any) -> type[BaseModel] | None:
    """The model ``annotation`` is, optional or not; None for anything else."""
    members = _members(annotation)
    if len(members) == 1 and isinstance(members[0], type) and issubclass(members[0], BaseModel):
        return members[0]
    return None


def _members(annotation: Any) -> list[Any]:
    """The types a union (``X | None``: just X) admits; ``[annotation]`` for anything else."""
    if get_origin(annotation) in (Union, UnionType):
        return [a for a in get_args(annotation) if a is not NoneType]
    return [annotation]
