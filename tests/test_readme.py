"""What the README and the guides point to exists: a file, module or saved benchmark run they
name is in the repository, and every ``complaints`` command they show is one the command line
takes, with the options it takes. The README stays a door (at most 12 KB), and the pictures
of the shipped workflow in the guides are the shipped workflow."""

from __future__ import annotations

import ast
import re
import shlex
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import typer.main
from pydantic import BaseModel

from complaintflow.bootstrap import App
from complaintflow.cli.app import app
from complaints.schemas import ComplaintIn, CustomerIn
from complaints.steps import Actor
from workflows import definition, sla_spec
from workflows.compiled import CompiledWorkflow
from workflows.diagram import to_mermaid
from workflows.registry import WorkflowRegistry

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md", ROOT / "CHANGELOG.md"]
README_LIMIT = 12 * 1024

#: `a/path.ext` in backticks; a path with NNNN or <...> in it is a pattern, not a file.
PATH = re.compile(r"`([\w.-]+/[\w./-]+\.(?:py|json|jsonl|yaml|yml|toml|md|html|csv))`")
#: `a/folder/` in backticks (a lone `folder/` is named relative to something else).
FOLDER = re.compile(r"`([\w.-]+(?:/[\w.-]+)+/)`")
#: A relative link, [text](target), without its #anchor.
LINK = re.compile(r"\]\((?!https?:|#)([^)#\s]+)")
RUN = re.compile(r"\b(\d{8}T\d{6}-(?:full|quick)\.json)\b")
#: `package.module.name` in backticks, for the project's packages.
PACKAGES = ("complaintflow", "complaints", "workflows", "escalation", "root_cause", "benchmarks")
DOTTED = re.compile(r"`((?:" + "|".join(PACKAGES) + r")(?:\.[A-Za-z_]\w*)+)")
BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)
PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT)) for p in paths]


def test_the_readme_is_a_door_not_a_diary() -> None:
    assert len(README.read_bytes()) <= README_LIMIT


def test_the_readme_keeps_its_test_command_where_ci_reads_it() -> None:
    """``.ci/run`` runs the line two below the marker (the fenced block's first line)."""
    lines = _text(README).splitlines()
    marker = lines.index("<!-- test-command -->")
    assert lines[marker + 1] == "```bash"
    assert lines[marker + 2].startswith("python3 -m venv .venv") and lines[marker + 2].endswith(" && pytest -n auto")


#: Folders the tests make (and git ignores): named by the guides, present only after a run.
MADE_BY_TESTS = ("tests/artifacts/",)


@pytest.mark.parametrize("document", DOCUMENTS, ids=_ids(DOCUMENTS))
def test_every_path_a_document_names_exists(document: Path) -> None:
    text = _text(document)
    named = {p for p in PATH.findall(text) if "NNNN" not in p} | set(FOLDER.findall(text))
    named = {p for p in named if not p.startswith(MADE_BY_TESTS)}
    assert sorted(p for p in named if not (ROOT / p).exists()) == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=_ids(DOCUMENTS))
def test_every_link_in_a_document_leads_to_a_file(document: Path) -> None:
    links = LINK.findall(_text(document))
    assert sorted(link for link in links if not (document.parent / link).exists()) == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=_ids(DOCUMENTS))
def test_every_benchmark_run_a_document_cites_is_saved_in_benchmarks_results(document: Path) -> None:
    cited = set(RUN.findall(_text(document)))
    assert sorted(name for name in cited if not (ROOT / "benchmarks" / "results" / name).exists()) == []


def test_the_documents_cite_files_modules_and_runs_at_all() -> None:
    """The patterns above still match how the documents cite things."""
    text = "\n".join(_text(document) for document in DOCUMENTS)
    for pattern in (PATH, FOLDER, LINK, RUN, DOTTED, BASH_BLOCK):
        assert pattern.findall(text), pattern.pattern


#: The changelog names modules as they were when it was written.
GUIDES = [d for d in DOCUMENTS if d.name != "CHANGELOG.md"]


@pytest.mark.parametrize("document", GUIDES, ids=_ids(GUIDES))
def test_every_module_a_document_names_exists(document: Path) -> None:
    named = set(DOTTED.findall(_text(document)))
    assert sorted(name for name in named if not _resolves(name)) == []


def _resolves(dotted: str) -> bool:
    """Whether ``a.b.c`` is a module of the project, or a name defined at the top of one (or
    in a class defined there), read from the source: nothing is imported."""
    parts = dotted.split(".")
    path = ROOT / parts[0]
    rest = parts[1:]
    while rest and ((path / rest[0]).is_dir() or (path / f"{rest[0]}.py").is_file()):
        path, rest = path / rest[0], rest[1:]
    source = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    body = ast.parse(_text(source)).body
    for name in rest:
        found = [node for node in body if name in _defines(node)]
        if not found:
            return False
        body = found[0].body if isinstance(found[0], ast.ClassDef) else []
    return True


def _defines(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    names = set()
    for target in targets:
        elements = target.elts if isinstance(target, ast.Tuple) else [target]
        names |= {e.id for e in elements if isinstance(e, ast.Name)}
    return names


def test_the_module_finder_tells_names_that_exist_from_names_that_do_not() -> None:
    assert _resolves("complaints.steps") and _resolves("complaints.db.SQLITE_PRAGMAS")
    assert _resolves("workflows.engine.WorkflowEngine.start_cases")
    assert _resolves("complaints.repository.TIMER_FIRED")  # one of several names assigned at once
    assert not _resolves("complaints.migrations") and not _resolves("complaintflow.bootstrap.import_models")
    assert not _resolves("workflows.engine.WorkflowEngine.fire_due_timers")


# -- the commands shown -------------------------------------------------------------------------


def complaints_commands(text: str) -> list[list[str]]:
    """The argument lists of every ``complaints ...`` in the document's bash blocks (comments,
    line continuations, ``&&`` chains and ``VAR=value`` prefixes understood)."""
    found = []
    for block in BASH_BLOCK.findall(text):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words:
                cut = words.index("&&") if "&&" in words else len(words)
                command, words = words[:cut], words[cut + 1:]
                while command and re.match(r"^[A-Z_]+=", command[0]):
                    command = command[1:]
                if command and command[0] == "complaints":
                    found.append(command[1:])
    return found


@cache
def _root() -> typer.main.TyperGroup:
    return typer.main.get_command(app)  # type: ignore[return-value]


def parse_command(args: list[str]) -> str:
    """The command ``complaints <args>`` runs, its options and arguments parsed as the command
    line parses them (nothing is run); raises the command line's usage error otherwise."""
    command: Any = _root()
    ctx = command.make_context("complaints", list(args))
    names: list[str] = []
    while hasattr(command, "commands"):
        rest = [*(getattr(ctx, "_protected_args", None) or getattr(ctx, "protected_args", None) or []), *ctx.args]
        if not rest and command.invoke_without_command:  # a group that runs itself (``metrics``)
            break
        name, command, args = command.resolve_command(ctx, rest)
        names.append(name)
        ctx = command.make_context(name, args, parent=ctx)
    return " ".join(names)


@pytest.mark.parametrize("document", DOCUMENTS, ids=_ids(DOCUMENTS))
def test_every_command_a_document_shows_is_one_the_command_line_takes(document: Path) -> None:
    refused = []
    for args in complaints_commands(_text(document)):
        try:
            parse_command(args)
        except Exception as exc:  # noqa: BLE001 - the command line's own usage errors, whatever their class
            refused.append(f"complaints {shlex.join(args)}: {exc}")
    assert refused == []


def test_the_readme_shows_the_commands_of_a_handlers_and_a_quality_teams_day() -> None:
    shown = {parse_command(args) for args in complaints_commands(_text(README))}
    assert {"intake", "import", "list", "show", "advance", "advance-many", "erase"} <= shown
    assert {"rootcause related", "rootcause report", "rootcause capa create", "rootcause capa verify"} <= shown


def test_the_command_finder_reads_chains_comments_and_continuations_and_refuses_what_is_not_there() -> None:
    block = ("```bash\nX=1 complaints init && complaints --json show C-1   # a comment\n"
             "complaints advance C-1 valid \\\n    -f rationale=\"a b\"\n```\n")
    assert complaints_commands(block) == [["init"], ["--json", "show", "C-1"], ["advance", "C-1", "valid", "-f", "rationale=a b"]]
    assert parse_command(["--role", "quality", "rootcause", "capa", "move", "1", "implement"]) == "rootcause capa move"
    for wrong in (["advance", "C-1"], ["list", "--stat", "x"], ["rootcause", "capa", "frob"]):
        with pytest.raises(Exception, match="Missing|No such"):
            parse_command(wrong)


# -- the shipped workflow, as the guides draw it --------------------------------------------------


def _shipped() -> CompiledWorkflow:
    return WorkflowRegistry.load().get("complaint")


def test_the_lifecycle_diagram_in_the_workflow_guide_is_the_shipped_workflow() -> None:
    blocks = re.findall(r"^```mermaid\n(stateDiagram-v2\n.*?)^```", _text(ROOT / "docs" / "workflows.md"), re.M | re.S)
    assert blocks == [to_mermaid(_shipped())]


def test_the_action_table_in_the_handling_guide_is_the_shipped_workflow() -> None:
    rows = ["| action | from → to | roles | fields |", "| --- | --- | --- | --- |"]
    for action, tr in _shipped().spec.transitions.items():
        fields = ", ".join(f"`{n}`" + ("" if f.required else " (optional)") for n, f in tr.fields.items()) or "—"
        source = "any open state" if "*" in tr.from_ else ", ".join(tr.from_)
        rows.append(f"| `{action}` | {source} → {tr.to or '(stays)'} | {', '.join(tr.roles)} | {fields} |")
    assert "\n".join(rows) + "\n" in _text(ROOT / "docs" / "handling.md")


def test_the_workflow_guide_names_every_key_of_the_definition_language() -> None:
    models: list[type[BaseModel]] = [
        definition.WorkflowSpec, definition.TierSpec, definition.StateSpec, definition.TimerSpec,
        definition.TransitionSpec, definition.FieldSpec, definition.Condition, sla_spec.SlaSpec,
        sla_spec.CalendarSpec, sla_spec.SlaClockSpec, sla_spec.RegulatorySpec, sla_spec.RegulatoryClockSpec,
        sla_spec.MilestoneSpec, sla_spec.EscalationSpec, sla_spec.RepeatSpec,
    ]
    guide = _text(ROOT / "docs" / "workflows.md")
    keys = {f"{model.__name__}.{field.alias or name}": field.alias or name
            for model in models for name, field in model.model_fields.items()}
    assert sorted(where for where, key in keys.items() if f"`{key}`" not in guide and f"`{key}:" not in guide) == []


def test_the_import_guides_python_example_stores_an_ombudsmans_table_as_history(
        sqlite_app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    example = PYTHON_BLOCK.findall(_text(ROOT / "docs" / "importing.md"))
    shutil.copy(ROOT / "tests" / "import_files" / "housing_ombudsman.csv", tmp_path / "export.csv")
    monkeypatch.chdir(tmp_path)
    scope: dict[str, Any] = {"app": sqlite_app, "actor": Actor("ana"), "print": lambda *_: None}
    exec(example[-1], scope)  # the guide's example, as a reader would paste it
    assert scope["report"].errors == [] and len(scope["report"].created) == 4


def test_the_import_guide_names_every_field_of_a_complaint_and_every_csv_column() -> None:
    guide = _text(ROOT / "docs" / "importing.md")
    fields = [*ComplaintIn.model_fields, *(f"customer_{name}" for name in CustomerIn.model_fields)]
    assert [field for field in fields if f"`{field}`" not in guide] == []
