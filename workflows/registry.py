"""The workflows a deployment knows, by name and version; loaded once, checked at load."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from complaints.errors import InvalidWorkflow, NotFound
from workflows.compiled import CompiledWorkflow
from workflows.loader import load_workflow, shipped_workflow_files


class WorkflowRegistry:
    def __init__(self, workflows: Iterable[CompiledWorkflow] = ()):
        self._by_key: dict[tuple[str, int], CompiledWorkflow] = {}
        for wf in workflows:
            self.add(wf)

    @classmethod
    def load(cls, extra_files: Iterable[str | Path] = ()) -> WorkflowRegistry:
        """The shipped definitions plus ``extra_files`` (which may add new versions)."""
        return cls(load_workflow(p) for p in [*shipped_workflow_files(), *extra_files])

    def add(self, workflow: CompiledWorkflow) -> None:
        existing = self._by_key.get(workflow.key)
        if existing is not None and existing.spec != workflow.spec:
            raise InvalidWorkflow(
                workflow.source,
                [f"workflow '{workflow.name}' version {workflow.version} is already defined in "
                 f"{existing.source} with different content; bump 'version'"],
            )
        self._by_key[workflow.key] = workflow

    def get(self, name: str, version: int | None = None) -> CompiledWorkflow:
        """A workflow by name; the latest version unless one is asked for."""
        if version is not None:
            wf = self._by_key.get((name, version))
        else:
            versions = [v for (n, v) in self._by_key if n == name]
            wf = self._by_key[(name, max(versions))] if versions else None
        if wf is None:
            known = ", ".join(f"{n} v{v}" for n, v in sorted(self._by_key)) or "none"
            wanted = f"'{name}'" + (f" version {version}" if version is not None else "")
            raise NotFound(f"No workflow {wanted}; known: {known}")
        return wf

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(sorted(self._by_key.values(), key=lambda w: w.key))
