"""Load a workflow file: YAML -> pydantic -> static checks -> compiled workflow.

Errors name the file, the line and the path inside it (``states.on_hold.timers``), and
all problems are reported at once.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

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
            message = f"unknown key '{path[-1]}' (check the spelling; see docs/workflows.md)"
        problems.append(f"{locate(index, path)}: {message}")
    return problems


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
