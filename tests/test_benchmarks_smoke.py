"""The benchmark harness runs end to end at tiny sizes and writes a well-formed result file.

No timing is asserted: figures are compared against their baselines by the benchmark itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from benchmarks.__main__ import main
from benchmarks.harness import Context, Figure, Measure, NotAvailable, Round, Target, interleaved, run_figure
from benchmarks.intake import WRITTEN, within_reach
from benchmarks.report import load
from benchmarks.sweep import Size

FIGURES = "transitions,intake,mapping,sweep,contention"
MEASURE_KEYS = {"name", "value", "unit", "baseline", "baseline_name", "ratio", "target", "met", "note"}


@pytest.fixture(scope="module")
def result_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("results")
    assert main(["--profile", "tiny", "--only", FIGURES, "--out", str(out), "--pg-url", ""]) == 0
    (path,) = out.glob("*-tiny.json")
    return path


def test_a_tiny_run_writes_one_result_file_with_the_machine_described(result_file: Path) -> None:
    doc = load(result_file)
    assert doc["profile"] == "tiny"
    machine = doc["machine"]
    assert {"cpu", "cores", "memory_gb", "python", "sqlite", "postgresql", "packages"} <= set(machine)
    assert machine["postgresql"] is None and machine["packages"]["sqlalchemy"]


def test_every_measure_has_a_value_a_baseline_and_a_verdict_where_a_target_applies(result_file: Path) -> None:
    doc = json.loads(result_file.read_text())
    assert [f["key"] for f in doc["figures"]] == FIGURES.split(",")
    for figure in doc["figures"]:
        assert figure["status"] == "ok", figure["reason"]
        for m in figure["measures"]:
            assert set(m) == MEASURE_KEYS
            if m["target"] and m["value"] is not None:
                assert m["met"] in (True, False)
    transitions = {m["name"]: m for m in doc["figures"][0]["measures"]}
    single = transitions["SQLite: engine, one per transaction"]
    assert single["baseline_name"] == "raw sqlite3, one per transaction"
    assert single["ratio"] == pytest.approx(single["value"] / single["baseline"])
    assert "skipped" in transitions["PostgreSQL"]["note"]
    intake = {m["name"]: m for m in doc["figures"][1]["measures"]}
    rate = next(m for m in intake.values() if m["target"])
    assert "the database alone writes the same rows at" in rate["note"]
    limit = intake["the engine's import against the database's limit for the same writes"]["note"]
    for spent in (*WRITTEN, "COMMIT"):  # where the database's time goes, table by table
        assert re.search(rf"\b{spent} \d+ us\b", limit), spent


def test_comparing_two_result_files_needs_no_new_run(result_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--compare", str(result_file), str(result_file)]) == 0
    assert "SQLite: engine, one per transaction" in capsys.readouterr().out


def test_a_figure_whose_dependency_is_missing_is_reported_not_crashed(tmp_path: Path) -> None:
    def missing(ctx: Context) -> list[Measure]:
        raise NotAvailable("root_cause.linking is not there yet")

    result = run_figure(Figure("x", "X", missing, lambda p: 0.0), Context("tiny", tmp_path))
    assert (result.status, result.reason) == ("not available", "root_cause.linking is not there yet")


@pytest.mark.parametrize(("target", "value", "baseline", "met"), [
    (Target(">=", 0.25), 30.0, 100.0, True),
    (Target(">=", 0.5), 30.0, 100.0, False),
    (Target("<=", 2.0), 3.0, 1.0, False),
    (Target("<=", 2048, on="value"), 500.0, 100.0, True),
])
def test_a_target_is_met_by_the_ratio_or_the_value_it_names(target: Target, value: float, baseline: float, met: bool) -> None:
    assert Measure("m", value, "u", baseline, "b", target).met is met


def test_an_unknown_figure_is_refused_with_the_known_ones_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--only", "nonsense"]) == 2
    assert "unknown figure(s) nonsense; known: transitions" in capsys.readouterr().out


def test_a_probed_job_reports_its_own_peak_memory_not_the_parents(tmp_path: Path) -> None:
    from benchmarks.probe import measure

    held = bytearray(400 * 1024 * 1024)  # the parent holds 400 MB while the child runs
    for page in range(0, len(held), 4096):
        held[page] = 1
    peak = measure("benchmarks.memory:floor_job", f"sqlite:///{tmp_path / 'floor.db'}")["peak_mb"]
    assert 0 < peak < 300, f"the child reported {peak:.0f} MB: the parent's 400 MB were counted"


@pytest.mark.parametrize(("limit", "says"), [
    (3_215.0, "out of reach on this machine: the database alone writes the same rows at only 3,215 complaints/s"),
    (7_310.0, "the database alone writes the same rows at 7,310 complaints/s here"),
])
def test_intake_says_when_the_machine_cannot_meet_its_rate_at_all(limit: float, says: str) -> None:
    assert within_reach(limit).startswith(says)


def test_contenders_are_timed_in_alternating_rounds_whatever_their_keys() -> None:
    calls: list[int] = []

    def contender(key: int) -> Round:
        def prepare() -> Callable[[], object]:
            calls.append(key)
            return lambda: None
        return prepare

    best = interleaved({10_000: contender(10_000), 1_000_000: contender(1_000_000)}, repeat=2, warmup=1)
    assert calls == [10_000, 1_000_000] * 3
    assert set(best) == {10_000, 1_000_000}


def test_the_sweep_figure_checks_outside_the_clock_that_every_due_timer_was_stored_as_fired(tmp_path: Path) -> None:
    size = Size(Context("tiny", tmp_path), 50, due=5)
    size.prepare()()
    size.prepare()()
    size.check()
    size.conn.execute("UPDATE timer SET status = 'pending' WHERE id = (SELECT max(id) FROM timer WHERE status = 'fired')")
    with pytest.raises(AssertionError, match="9 timers stored as fired, 10 due so far, at 50 open"):
        size.close()


@pytest.mark.slow
def test_the_cli_figure_times_each_interactive_command_beside_the_no_op(tmp_path: Path) -> None:
    from benchmarks import cli

    measures = cli.run(Context("tiny", tmp_path))
    assert [m.name.split("`")[1] for m in measures] == [
        "complaints show", "complaints list", "complaints advance", "complaints intake"]
    assert all(m.value and m.baseline and m.target for m in measures)


def test_the_letters_figure_sends_to_a_real_smtp_server_beside_smtplib(tmp_path: Path) -> None:
    from benchmarks.letters import FIGURE

    result = run_figure(FIGURE, Context("tiny", tmp_path, None, log=lambda _: None))
    assert result.status == "ok", result.reason
    [measure] = result.measures
    assert measure.unit == "letters/s" and measure.value and measure.baseline and measure.met in (True, False)
    assert measure.target is not None and measure.target.describe() == "ratio ≥ 0.8"
    assert measure.baseline_name == "smtplib alone, the same messages built beforehand, one connection"


def test_the_whatif_figure_replays_a_year_under_a_reviewed_policy_beside_a_plain_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from benchmarks.whatif import FIGURE, sizes_for

    monkeypatch.setenv("COMPLAINTS_BENCH_WHATIF_SIZE", "120")
    assert sizes_for("full").complaints == 120
    result = run_figure(FIGURE, Context("tiny", tmp_path, None, log=lambda _: None))
    assert result.status == "ok", result.reason
    measure, states = result.measures
    assert measure.name == "SQLite: what-if of a year, 120 complaints" and measure.unit == "complaints/s"
    assert measure.value and measure.baseline and measure.met in (True, False)
    assert measure.target is not None and measure.target.describe() == "ratio ≥ 0.25"
    assert "what-if" in measure.note and states.value and states.target is None


def test_the_console_figure_times_its_pages_beside_a_bare_template(tmp_path: Path) -> None:
    from benchmarks.console import FIGURE

    result = run_figure(FIGURE, Context("tiny", tmp_path))
    assert result.status == "ok", result.reason
    assert [m.name.split(" (")[0] for m in result.measures] == ["SQLite: queue page", "SQLite: case page"]
    for measure in result.measures:
        assert measure.unit == "pages/s (1/p95)" and measure.value and measure.baseline
        assert measure.met in (True, False) and "p95 server time" in measure.note


def test_the_api_figure_drives_complaints_serve_beside_a_bare_fastapi_app(tmp_path: Path) -> None:
    from benchmarks.api import FIGURE

    result = run_figure(FIGURE, Context("tiny", tmp_path, None, log=lambda _: None))
    assert result.status == "ok", result.reason
    view, advance, postgres = result.measures
    assert "case view" in view.name and "advance" in advance.name
    for measure in (view, advance):
        assert measure.unit == "requests/s" and measure.value and measure.baseline and measure.met in (True, False)
        assert re.search(r"p95 \d+\.\d ms \(bare \d+\.\d ms\)", measure.note)
    assert postgres.value is None and "skipped" in postgres.note
