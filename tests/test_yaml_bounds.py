"""Every YAML file (workflows, the taxonomy) is read within bounds: nested aliases that expand
to a billion strings, a file nested too deep or too big are refused, naming the file and the
line, before anything is built from them; files within the bounds load as before."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from complaints.errors import ConfigurationError, InvalidWorkflow
from complaints.limits import YAML_MAX_BYTES, YAML_MAX_DEPTH
from complaints.problems import Loader, YamlRefused, _PyLoader, load_yaml
from root_cause.taxonomy import load_taxonomy
from workflows.loader import load_workflow, parse_workflow, shipped_workflow_files

SHIPPED = next(p for p in shipped_workflow_files() if p.name == "complaint.yaml")

#: The "billion laughs": nine lines whose aliases, written out, hold 9**9 strings.
BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""
#: The same of mappings; the first node beyond the bounds starts on line 6 in both.
MAPPING_LAUGHS = "".join(
    f"{name}: &{name} {{" + ", ".join(f"{name}{i}: " + (f"*{prev}" if prev else "lol") for i in range(9)) + "}\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)
TOO_HEAVY = "with its aliases written out, this holds more than 1,000,000 characters' worth of values"
LOADERS = [pytest.param(None, id="libyaml"), pytest.param(_PyLoader, id="pyyaml")]


_BOMBS_IN_A_SUBPROCESS = textwrap.dedent("""
    import json, sys, tracemalloc
    from complaints.errors import ConfigurationError, InvalidWorkflow
    from complaints.problems import Loader, YamlRefused, _PyLoader, load_yaml
    from root_cause.taxonomy import parse_taxonomy
    from workflows.loader import parse_workflow

    found = {}
    tracemalloc.start()
    for name, text in json.loads(sys.stdin.read()).items():
        try:
            parse_workflow(text, source=name)
        except InvalidWorkflow as exc:
            found[f"workflow {name}"] = str(exc)
        try:
            parse_taxonomy(text, source=name)
        except ConfigurationError as exc:
            found[f"taxonomy {name}"] = str(exc)
        try:
            load_yaml(text, _PyLoader)
        except YamlRefused as exc:
            found[f"pyyaml {name}"] = exc.problem_mark.line + 1
    found["peak bytes"] = tracemalloc.get_traced_memory()[1]
    print(json.dumps(found))
""")


def _limit_memory() -> None:
    two_gib = 2 * 1024**3  # the unbounded loader took 6.2 GB; this ends a relapse early, not the machine
    resource.setrlimit(resource.RLIMIT_AS, (two_gib, two_gib))


def test_the_billion_laughs_is_refused_at_its_line_by_every_loader_with_little_memory() -> None:
    """Run apart, its memory limited: were the bounds gone, the test would fail, not the machine."""
    done = subprocess.run(
        [sys.executable, "-c", _BOMBS_IN_A_SUBPROCESS], input=json.dumps({"bomb.yaml": BILLION_LAUGHS,
                                                                          "map-bomb.yaml": MAPPING_LAUGHS}),
        capture_output=True, text=True, timeout=120, preexec_fn=_limit_memory, check=False,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    for name in ("bomb.yaml", "map-bomb.yaml"):
        assert found[f"workflow {name}"].startswith(f"{name}: 1 problem:\n  - line 6, column 4: {TOO_HEAVY}")
        assert found[f"taxonomy {name}"].startswith(f"{name}: line 6: {TOO_HEAVY}")
        assert found[f"pyyaml {name}"] == 6
    assert found["peak bytes"] < 20 * 1024**2


@pytest.mark.parametrize("loader", LOADERS)
def test_an_alias_inside_what_it_names_is_refused_at_the_anchor(loader: object) -> None:
    with pytest.raises(YamlRefused, match="an alias refers to the mapping or list that holds it") as caught:
        load_yaml("name: x\nstates: &s\n  a: [*s]\n", loader)
    assert caught.value.problem_mark.line + 1 == 2


@pytest.mark.parametrize("loader", LOADERS)
def test_a_file_nested_too_deep_is_refused_at_the_first_line_too_deep(loader: object) -> None:
    nested = "\n".join(" " * i + f"k{i}:" for i in range(YAML_MAX_DEPTH + 5)) + " end\n"  # line n: depth n
    with pytest.raises(YamlRefused, match=f"nested more than {YAML_MAX_DEPTH} levels deep") as caught:
        load_yaml(nested, loader)
    assert caught.value.problem_mark.line + 1 == YAML_MAX_DEPTH + 1


@pytest.mark.parametrize("loader", LOADERS)
def test_a_file_nested_exactly_as_deep_as_allowed_loads(loader: object) -> None:
    nested = "[" * YAML_MAX_DEPTH + "1" + "]" * YAML_MAX_DEPTH
    assert load_yaml(nested, loader) is not None


def test_aliases_that_nest_too_deep_once_written_out_are_refused() -> None:
    half = YAML_MAX_DEPTH // 2 + 1
    text = f"a: &a {'[' * half}1{']' * half}\nb: {'[' * half}*a{']' * half}\n"
    with pytest.raises(YamlRefused, match="with its aliases written out, this is nested more than") as caught:
        load_yaml(text)
    assert caught.value.problem_mark.line + 1 == 2


def test_a_workflow_nested_too_deep_names_the_file_and_line() -> None:
    text = SHIPPED.read_text(encoding="utf-8") + "extra: " + "[" * 200 + "]" * 200 + "\n"
    with pytest.raises(InvalidWorkflow) as caught:
        parse_workflow(text, source="deep.yaml")
    line = len(SHIPPED.read_text(encoding="utf-8").splitlines()) + 1
    assert caught.value.problems == [f"line {line}, column {8 + YAML_MAX_DEPTH - 1}: nested more than "
                                     f"{YAML_MAX_DEPTH} levels deep; a YAML file may nest mappings and lists "
                                     f"{YAML_MAX_DEPTH} deep"]


def test_a_workflow_file_too_big_is_refused_without_being_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text("# " + "x" * YAML_MAX_BYTES + "\n", encoding="utf-8")
    with pytest.raises(InvalidWorkflow, match=r"huge.yaml: 1 problem:\n  - the file is 1,000,003 bytes; a YAML "
                                              r"file may be at most 1,000,000 bytes"):
        load_workflow(path)
    with pytest.raises(InvalidWorkflow, match="the file is 1,000,003 bytes"):
        parse_workflow(path.read_text(encoding="utf-8"), source="huge.yaml")


def test_a_taxonomy_file_too_big_or_a_bomb_is_a_configuration_error_naming_it(tmp_path: Path) -> None:
    big = tmp_path / "big-taxonomy.yaml"
    big.write_text("x" * (YAML_MAX_BYTES + 1), encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"big-taxonomy.yaml: the file is 1,000,001 bytes"):
        load_taxonomy(big)
    cyclic = tmp_path / "cyclic.yaml"
    cyclic.write_text("codes: &c\n  - {code: A, name: *c}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"cyclic.yaml: line 1: an alias refers to the mapping or list"):
        load_taxonomy(cyclic)


def test_a_workflow_that_uses_aliases_within_the_bounds_loads_as_the_file_without_them() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    staff = "roles: [handler, supervisor, specialist, executive]"
    assert text.count(staff) > 2
    aliased = text.replace(staff, "roles: &staff [handler, supervisor, specialist, executive]", 1).replace(
        staff, "roles: *staff")
    assert parse_workflow(aliased).spec == load_workflow(SHIPPED).spec


def test_the_bounded_loader_reads_what_yaml_reads() -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    assert load_yaml(text) == yaml.safe_load(text) == load_yaml(text, _PyLoader)
    assert load_yaml("") is None and load_yaml("just text") == "just text"


def test_yaml_load_with_the_shared_loader_is_bounded_too() -> None:
    """What reads YAML with ``yaml.load(text, Loader=Loader)`` (import mappings) gets the same
    refusal of a bomb; ``load_yaml`` adds the bound on the size of the text."""
    with pytest.raises(YamlRefused, match=TOO_HEAVY):
        yaml.load(BILLION_LAUGHS, Loader=Loader)  # noqa: S506 - a safe loader


@pytest.mark.parametrize("value, problem", [
    ("2026-02-30", "column 10: not valid YAML: can't read '2026-02-30' as a date: day is out of range"),
    ("!!timestamp soon", "column 10: not valid YAML: can't read 'soon' as a date"),
    ("!!bool maybe", "column 10: not valid YAML: can't read 'maybe' as a boolean"),
    ("9" * 5000, "column 10: not valid YAML: can't read '9999999999999999999999999999999999999999' as an integer: "
                 "Exceeds the limit"),
])
def test_a_value_yaml_cannot_build_is_refused_at_its_line_not_with_a_python_error(value: str, problem: str) -> None:
    shipped = SHIPPED.read_text(encoding="utf-8")
    line = shipped.splitlines().index("version: 2") + 1
    text = shipped.replace("version: 2\n", f"version: {value}\n", 1)
    with pytest.raises(InvalidWorkflow) as caught:
        parse_workflow(text, source="odd.yaml")
    assert len(caught.value.problems) == 1 and caught.value.problems[0].startswith(f"line {line}, {problem}")


def test_a_lone_surrogate_in_a_text_is_refused_at_its_line() -> None:
    with pytest.raises(InvalidWorkflow) as caught:
        parse_workflow("name: complaint\ntitle: a\ud800b\n", source="odd.yaml")
    assert caught.value.problems == ["line 2, column 9: U+D800 is no character of any text (a lone surrogate)"]


def test_a_key_that_looks_like_a_marker_of_pydantic_is_named_as_the_unknown_key_it_is() -> None:
    text = SHIPPED.read_text(encoding="utf-8") + "'list[str]': 1\n"
    with pytest.raises(InvalidWorkflow) as caught:
        parse_workflow(text, source="odd.yaml")
    line = len(text.splitlines())
    assert caught.value.problems[0].startswith(f"line {line}, list[str]: unknown key 'list[str]' (keys here: name,")
