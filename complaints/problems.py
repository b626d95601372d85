"""What is wrong in an input that pydantic validates, and where, said so a person can mend it.

For YAML files (workflow definitions, the root-cause taxonomy): ``line_index`` maps every path
in the document to the line it starts on, and ``validation_problems`` turns pydantic's errors
into ``(path, message)`` pairs: an unknown key names the key it most likely meant and the keys
allowed where it stands, and a key YAML read as a boolean is named as such. For any input
(imports, moves, CAPA, payloads): ``did_you_mean`` names the key a misspelt one most likely meant. The keys
allowed at a path are found by walking the model's field types.
"""

from __future__ import annotations

from difflib import get_close_matches
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

Path_ = tuple[str | int, ...]

#: libyaml's parser when PyYAML was built with it: ten times faster, and every CLI command loads the workflows.
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def line_index(text: str) -> dict[Path_, int]:
    """Every path in the YAML document -> the 1-based line where it starts (a key's line for a
    mapping's entry)."""
    index: dict[Path_, int] = {}

    def walk(node: yaml.Node, path: Path_) -> None:
        index.setdefault(path, node.start_mark.line + 1)
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


def validation_problems(exc: ValidationError, model: type[BaseModel]) -> list[tuple[Path_, str]]:
    """``(path in the file, message)`` for each of pydantic's errors validating ``model``."""
    problems = []
    for err in exc.errors():
        # pydantic's path names keys as the file does (aliases: 'from', 'in'), but holds markers
        # of union members and validators (``function-after[...]``) that are no keys of the file
        path = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or "function-" in p)))
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = unknown_key(str(path[-1]), keys_allowed(model, path[:-1]))
        elif err["type"] == "invalid_key":  # pydantic shows a key True as 1: name the mapping instead
            path, message = path[:-1], _not_text_key(err["input"])
        problems.append((path, message))
    return problems


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
