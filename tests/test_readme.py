"""What the README points to exists: a file it names as evidence or as the place to look
(a test, a module, a saved benchmark run) is in the repository, not a promise."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: `a/path.ext` in backticks; a path with NNNN or <...> in it is a pattern, not a file.
PATH = re.compile(r"`([\w.-]+/[\w./-]+\.(?:py|json|jsonl|yaml|yml|toml|md|html|csv))`")
RUN = re.compile(r"\b(\d{8}T\d{6}-(?:full|quick)\.json)\b")


def test_every_path_the_readme_names_exists() -> None:
    named = {p for p in PATH.findall(README) if "NNNN" not in p}
    assert named, "the README names no files: the pattern no longer matches how it cites them"
    assert sorted(p for p in named if not (ROOT / p).exists()) == []


def test_every_benchmark_run_the_readme_cites_is_saved_in_benchmarks_results() -> None:
    cited = set(RUN.findall(README))
    assert cited
    assert sorted(name for name in cited if not (ROOT / "benchmarks" / "results" / name).exists()) == []
