"""Figure: interactive commands feel instant.

``show``, ``list``, ``advance`` and ``intake`` each run in a fresh process (as a handler types
them) on a database of complaints imported from the CFPB sample, beside ``complaints version``,
a command of the same CLI that opens no database: each at most 1.5 times as long. What the
commands add to the CLI's own start-up (building the application, the queries, related
complaints, rendering) is what a person waits for beyond any command.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import data
from benchmarks.databases import fresh_app
from benchmarks.harness import Context, Figure, Measure, Profile, Round, Target, interleaved
from complaints.clock import FixedClock
from complaints.importers import read_file
from complaints.steps import Actor

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SIZES: dict[Profile, tuple[int, int]] = {"tiny": (300, 1), "quick": (2_000, 3), "full": (10_000, 5)}
LIMIT = 1.5


def complaints_command() -> list[str]:
    """The installed ``complaints`` script beside this interpreter (as a user runs it)."""
    beside = Path(sys.executable).with_name("complaints")
    found = str(beside) if beside.exists() else shutil.which("complaints")
    if found is None:
        raise FileNotFoundError("no `complaints` command: install the project (pip install -e .)")
    return [found]


def _runner(argv: list[str]) -> Round:
    def prepare() -> Callable[[], object]:
        def work() -> None:
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise AssertionError(f"{' '.join(argv[1:])} failed: {done.stderr.strip()[-300:]}")
        return work
    return prepare


def run(ctx: Context) -> list[Measure]:
    count, repeat = SIZES[ctx.profile]
    url = ctx.sqlite_url("cli")
    app = fresh_app(url, FixedClock(NOW))
    csv_path = data.write_cfpb_csv(ctx.workdir / "cli.csv", count)
    report = app.intake.take_in(read_file(csv_path, "cfpb"), Actor("bench", "handler"))
    references = [ref for _, ref in report.created]
    app.db.dispose()
    base = [*complaints_command(), "--db", url, "--actor", "bench"]
    moves = iter(references)  # each advance assigns another complaint: no round finds it done

    def advance() -> Callable[[], object]:
        return _runner([*base, "advance", next(moves), "assign", "-f", "assignee=ines"])()

    commands: dict[str, Round] = {
        "version": _runner([*base, "version"]),
        "show": _runner([*base, "show", references[len(references) // 2]]),
        "list": _runner([*base, "list", "--limit", "50"]),
        "advance": advance,
        "intake": _runner([*base, "intake", "--product", "Payday loan", "--channel", "web",
                           "--description", "I was charged a late fee twice although I paid on time."]),
    }
    seconds = interleaved(commands, repeat, warmup=0 if ctx.profile == "tiny" else 1)  # tiny: a smoke test
    return [
        Measure(f"SQLite: `complaints {name}` in a fresh process, {count:,} complaints", seconds[name], "s",
                seconds["version"], "`complaints version` (no database)", Target("<=", LIMIT))
        for name in ("show", "list", "advance", "intake")
    ]


def estimate(profile: Profile) -> float:
    count, repeat = SIZES[profile]
    return count / 3_000 + (repeat + 1) * 5 * 1.3


FIGURE = Figure("cli", "Interactive commands: each within 1.5x of the CLI's own start-up", run, estimate)
