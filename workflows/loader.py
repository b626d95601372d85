"""Load a workflow file: YAML -> pydantic -> static checks -> compiled workflow.

Errors name the file, the line and the path inside it (``states.on_hold.timers``), and
all problems are reported at once.
"""

from __future__ import annotations

from difflib import get_close_matches
from importlib import resources
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from complaints.errors import InvalidWorkflow, NotFound
from workflows.checks import check_workflow
from workflows.compiled import CompiledWorkflow
from workflows.definition import WorkflowSpec

Path_ = tuple[str | int, ...]

#: libyaml's parser when PyYAML was built with it: ten times faster, and every CLI command loads the workflows.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _line_index(text: str) -> dict[Path_, int]:
    """Map every path in the YAML document to the 1-based line where it starts."""
    index: dict[Path_, int] = {}

    def walk(node: yaml.Node, path: Path_) -> None:
        index[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*path, str(key.value))
                index[child] = key.start_mark.line + 1
                walk(value, child)
                index[child] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, (*path, i))

    root = yaml.compose(text, Loader=_Loader)
    if root is not None:
        walk(root, ())
    return index


def locate(index: dict[Path_, int], path: Path_) -> str:
    """'line 12, states.on_hold.timers' for the longest prefix of ``path`` found in the file."""
    dotted = ".".join(str(p) for p in path) or "(top level)"
    for cut in range(len(path), -1, -1):
        if path[:cut] in index:
            return f"line {index[path[:cut]]}, {dotted}"
    return dotted


_ALIASES = {"from_": "from", "set_": "set", "in_": "in", "not_": "not"}


def _pydantic_problems(exc: ValidationError, index: dict[Path_, int]) -> list[str]:
    problems = []
    for err in exc.errors():
        path = tuple(_ALIASES.get(p, p) if isinstance(p, str) else p for p in err["loc"])
        # drop pydantic's union/function markers from the path
        path = tuple(p for p in path if not (isinstance(p, str) and ("[" in p or "function-" in p)))
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = _unknown_key(str(path[-1]), _keys_allowed(path[:-1]))
        elif err["type"] == "invalid_key":  # pydantic shows a key True as 1: name the mapping instead
            path, message = path[:-1], _not_text_key(err["input"])
        problems.append(f"{locate(index, path)}: {message}")
    return problems


def _unknown_key(key: str, allowed: list[str]) -> str:
    """'unknown key 'intial': did you mean 'initial'? (keys here: label, ...)'."""
    close = get_close_matches(key, allowed, n=1)
    guess = f": did you mean '{close[0]}'?" if close else ""
    return f"unknown key '{key}'{guess}" + (f" (keys here: {', '.join(allowed)})" if allowed else "")


def _not_text_key(key: object) -> str:
    if isinstance(key, bool):  # YAML 1.1, as PyYAML reads it: on/off/yes/no/true/false unquoted
        return (f"a key here was read as {str(key).lower()}: YAML takes an unquoted on, off, yes, no, true or "
                "false for a boolean; quote the key ('on':)")
    return f"key {key!r} is not text; quote it ('{key}':)"


def _keys_allowed(path: Path_) -> list[str]:
    """The keys the definition's mapping at ``path`` may hold, found by walking the field types
    of ``WorkflowSpec``; none where no one model is found there."""
    annotation: Any = WorkflowSpec
    for part in path:
        annotation = _inside(annotation, part)
    model = _model(annotation)
    return [field.alias or name for name, field in model.model_fields.items()] if model else []


def _inside(annotation: Any, part: str | int) -> Any:
    """The type of ``part`` of a value of type ``annotation`` (a model's field, a list's item,
    a dict's value); None where it can't be told."""
    model = _model(annotation)
    if model is not None:
        found = [f.annotation for name, f in model.model_fields.items() if part in (name, f.alias)]
        return found[0] if found else None
    members = [a for a in get_args(annotation) if a is not NoneType] if _is_union(annotation) else [annotation]
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
    members = [a for a in get_args(annotation) if a is not NoneType] if _is_union(annotation) else [annotation]
    if len(members) == 1 and isinstance(members[0], type) and issubclass(members[0], BaseModel):
        return members[0]
    return None


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, UnionType)


def parse_workflow(text: str, source: str = "<string>") -> CompiledWorkflow:
    """Validate and compile a workflow from YAML text; raise InvalidWorkflow listing every problem."""
    try:
        raw: Any = yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
        index = _line_index(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise InvalidWorkflow(source, [f"{where}not valid YAML: {getattr(exc, 'problem', exc)}"]) from exc
    if not isinstance(raw, dict):
        raise InvalidWorkflow(source, ["the file must hold a mapping with name, version, states, ..."])
    try:
        spec = WorkflowSpec.model_validate(raw)
    except ValidationError as exc:
        raise InvalidWorkflow(source, _pydantic_problems(exc, index)) from exc
    problems = [f"{locate(index, path)}: {message}" for path, message in check_workflow(spec)]
    if problems:
        raise InvalidWorkflow(source, problems)
    return CompiledWorkflow(spec, source=source)


def load_workflow(path: str | Path) -> CompiledWorkflow:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise NotFound(f"Workflow file {str(path)!r} does not exist") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidWorkflow(str(path), [f"can't read the file: {exc}"]) from exc
    return parse_workflow(text, source=str(path))


def shipped_workflow_files() -> list[Path]:
    """The definitions shipped as package data (``workflows/definitions/*.yaml``)."""
    folder = resources.files("workflows") / "definitions"
    return sorted(Path(str(f)) for f in folder.iterdir() if f.name.endswith((".yaml", ".yml")))
