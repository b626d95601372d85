"""Load a workflow file: YAML -> pydantic -> static checks -> compiled workflow.

Errors name the file, the line and the path inside it (``states.on_hold.timers``), and
all problems are reported at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from complaints.errors import InvalidWorkflow, NotFound
from complaints.problems import (
    Path_,
    YamlRefused,
    line_index,
    line_of,
    load_yaml,
    read_yaml_file,
    validation_problems,
    yaml_error_text,
)
from workflows.checks import check_workflow
from workflows.compiled import CompiledWorkflow
from workflows.definition import WorkflowSpec


def locate(index: dict[Path_, int], path: Path_) -> str:
    """'line 12, states.on_hold.timers' for the longest prefix of ``path`` found in the file."""
    dotted = ".".join(str(p) for p in path) or "(top level)"
    line = line_of(index, path)
    return dotted if line is None else f"line {line}, {dotted}"


def _at_lines(text: str, problems: Iterable[tuple[Path_, str]], whole: bool = True) -> list[str]:
    """Each problem at its line of ``text``; the lines are found only once a file has
    problems: a valid one (every command loads the workflows) reads its YAML once. Unless
    ``text`` is the ``whole`` document, a path outside all of its keys has no line (not line 1)."""
    index = line_index(text)
    if not whole:
        index.pop((), None)
    return [f"{locate(index, path)}: {message}" for path, message in problems]


def parse_workflow(text: str, source: str = "<string>", lines_in: str | None = None) -> CompiledWorkflow:
    """Validate and compile a workflow from YAML text; raise InvalidWorkflow listing every problem.

    ``lines_in``: the YAML text the problems' lines are counted in, when that is not ``text``
    (a policy file merged over a workflow is mended in the policy file); "" for none."""
    try:
        raw: Any = load_yaml(text)
    except yaml.YAMLError as exc:
        raise InvalidWorkflow(source, [yaml_error_text(exc)]) from exc
    if not isinstance(raw, dict):
        raise InvalidWorkflow(source, ["the file must hold a mapping with name, version, states, ..."])
    where, whole = (text, True) if lines_in is None else (lines_in, False)
    try:
        spec = WorkflowSpec.model_validate(raw)
    except ValidationError as exc:
        raise InvalidWorkflow(source, _at_lines(where, validation_problems(exc, WorkflowSpec, raw), whole)) from exc
    problems = list(check_workflow(spec))
    if problems:
        raise InvalidWorkflow(source, _at_lines(where, problems, whole))
    return CompiledWorkflow(spec, source=source)


def load_workflow(path: str | Path) -> CompiledWorkflow:
    path = Path(path)
    try:
        text = read_yaml_file(path)
    except FileNotFoundError as exc:
        raise NotFound(f"Workflow file {str(path)!r} does not exist") from exc
    except YamlRefused as exc:
        raise InvalidWorkflow(str(path), [yaml_error_text(exc)]) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidWorkflow(str(path), [f"can't read the file: {exc}"]) from exc
    return parse_workflow(text, source=str(path))


def shipped_workflow_files() -> list[Path]:
    """The definitions shipped as package data (``workflows/definitions/*.yaml``)."""
    folder = resources.files("workflows") / "definitions"
    return sorted(Path(str(f)) for f in folder.iterdir() if f.name.endswith((".yaml", ".yml")))
