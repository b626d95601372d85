"""The root-cause taxonomy: codes with names and parents, loaded from YAML and checked.

A bad file is rejected when it is loaded, never when a review first uses a broken code:
duplicate codes, unknown parents and cycles are all reported at once, each with its line.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from complaints.errors import ConfigurationError, InvalidInput, NotFound
from complaints.problems import (
    Path_,
    line_index,
    line_of,
    load_yaml,
    read_yaml_file,
    validation_problems,
    yaml_error_text,
)

CODE_PATTERN = r"^[A-Z][A-Z0-9_]*(\.[A-Z0-9_]+)*$"


class CodeSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=CODE_PATTERN, max_length=60)
    name: str = Field(min_length=1, max_length=200)
    parent: str | None = None
    description: str | None = None


class TaxonomySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = 1
    codes: list[CodeSpec] = Field(min_length=1)


class Taxonomy:
    """A checked taxonomy: look codes up, walk to the top, validate what a review records."""

    def __init__(self, spec: TaxonomySpec, source: str = "<string>"):
        self.spec = spec
        self.source = source
        self.codes = {c.code: c for c in spec.codes}

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def get(self, code: str) -> CodeSpec:
        if code not in self.codes:
            raise NotFound(f"No root-cause code {code!r} in {self.source}")
        return self.codes[code]

    def lineage(self, code: str) -> list[str]:
        """The code and its ancestors, nearest first (``SYSTEM.OUTAGE``, ``SYSTEM``)."""
        chain = [code]
        while (parent := self.get(chain[-1]).parent) is not None:
            chain.append(parent)
        return chain

    def covered_by(self, codes: list[str] | tuple[str, ...]) -> set[str]:
        """Every code that is one of ``codes`` or lies below one of them."""
        wanted = set(codes)
        return {c for c in self.codes if wanted.intersection(self.lineage(c))}

    def top(self, code: str) -> str:
        return self.lineage(code)[-1]

    def check_code(self, code: str | None, field: str = "root_cause_code") -> str:
        """The code, or InvalidInput naming it and suggesting codes that start alike."""
        if code and code in self.codes:
            return code
        prefix = (code or "").split(".")[0].upper()
        near = [c for c in self.codes if c.startswith(prefix)] if prefix else []
        hint = ", ".join(near[:8]) if near else ", ".join(c for c, s in self.codes.items() if s.parent is None)
        raise InvalidInput("Unknown root cause", [f"{field}: {code!r} is not in the taxonomy {self.source}; try {hint}"])


def _where(index: dict[Path_, int], path: Path_) -> str:
    """'line 7, codes[2].parent' for ``path``, at the line of its nearest part the file has."""
    dotted = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")
    line = line_of(index, path)
    return dotted if line is None else f"line {line}, {dotted or '(top level)'}"


def _structure_problems(spec: TaxonomySpec) -> Iterator[tuple[Path_, str]]:
    """Duplicates, unknown parents and cycles, each with the path of the entry at fault."""
    first: dict[str, int] = {}
    for i, c in enumerate(spec.codes):
        if c.code in first:
            yield ("codes", i, "code"), f"duplicate code {c.code!r} (first defined at codes[{first[c.code]}])"
        else:
            first[c.code] = i
    parents = {c.code: c.parent for c in spec.codes}
    for i, c in enumerate(spec.codes):
        if c.parent is not None and c.parent not in parents:
            yield ("codes", i, "parent"), f"unknown parent {c.parent!r} of {c.code!r}; define it or drop the parent"
    reported: set[str] = set()
    for i, c in enumerate(spec.codes):
        seen: list[str] = []
        node: str | None = c.code
        while node is not None and node in parents and node not in seen:
            seen.append(node)
            node = parents[node]
        if node is not None and node in seen and node == c.code and c.code not in reported:
            cycle = seen[seen.index(node):] + [node]
            reported.update(cycle)
            yield ("codes", i, "parent"), f"cycle of parents: {' -> '.join(cycle)}"


def parse_taxonomy(text: str, source: str = "<string>") -> Taxonomy:
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{source}: {yaml_error_text(exc, column=False)}") from exc
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{source}: the file must hold a mapping with 'codes: [...]'")
    try:
        spec = TaxonomySpec.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(source, text, validation_problems(exc, TaxonomySpec, raw)) from exc
    problems = list(_structure_problems(spec))
    if problems:
        raise _invalid(source, text, problems)
    return Taxonomy(spec, source)


def _invalid(source: str, text: str, found: list[tuple[Path_, str]]) -> ConfigurationError:
    """Every problem at its line of ``text`` (found only once there are problems)."""
    index = line_index(text)
    problems = [f"{_where(index, path)}: {message}" for path, message in found]
    noun = "problem" if len(problems) == 1 else "problems"
    return ConfigurationError(f"{source}: {len(problems)} {noun}:\n" + "\n".join(f"  - {p}" for p in problems))


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """The taxonomy in ``path``, or the one shipped with the package."""
    if path is None:
        return default_taxonomy()
    path = Path(path)
    try:
        text = read_yaml_file(path)
    except FileNotFoundError as exc:
        raise NotFound(f"Root-cause taxonomy file {str(path)!r} does not exist") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: {yaml_error_text(exc, column=False)}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{path}: can't read the file as UTF-8: {exc}") from exc
    return parse_taxonomy(text, str(path))


@cache
def default_taxonomy() -> Taxonomy:
    text = (resources.files("root_cause") / "taxonomy.yaml").read_text(encoding="utf-8")
    return parse_taxonomy(text, "root_cause/taxonomy.yaml")
