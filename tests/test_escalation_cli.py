"""``complaints sla ...`` and the clocks panel of ``complaints show``, through the entry point."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import T0

from complaintflow.bootstrap import build, init_database
from complaintflow.cli.app import main
from complaintflow.settings import Settings


class Run:
    def __init__(self, url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self.url, self.capsys, self.monkeypatch = url, capsys, monkeypatch

    def __call__(self, *args: str, now: datetime = T0, columns: int = 200) -> tuple[int, str, str]:
        argv = ["complaints", "--db", self.url, "--actor", "hana", "--now", now.isoformat(), *args]
        self.monkeypatch.setattr(sys, "argv", argv)
        self.monkeypatch.setenv("COLUMNS", str(columns))
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out = self.capsys.readouterr()
        return code, out.out, out.err


@pytest.fixture
def run(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    app = build(Settings(database_url=url))
    init_database(app.db)
    app.db.dispose()
    return Run(url, capsys, monkeypatch)


def intake(run: Run) -> str:
    code, out, _ = run("intake", "--product", "Card", "--description", "charged twice", "--customer-email", "a@b.cc")
    assert code == 0
    return out.strip().splitlines()[-1]


def test_a_promise_is_recorded_shows_as_due_and_escalates_when_the_sweep_finds_it_overdue(run: Run) -> None:
    reference = intake(run)
    code, out, _ = run("sla", "promise", reference, "--due", "2026-11-23T12:00:00+00:00", "--text", "call back by noon")
    assert code == 0 and "promise_3 recorded, due 2026-11-23 12:00" in out
    due = json.loads(run("--json", "sla", "due", "--within", "4h")[1])
    assert [(d["reference"], d["clock"], d["queue"]) for d in due] == [(reference, "promise_3", "frontline")]
    swept = json.loads(run("--json", "sla", "sweep", now=T0 + timedelta(hours=4))[1])
    assert swept["escalated"] == [f"{reference} → supervisor"]
    shown = json.loads(run("--json", "show", reference, now=T0 + timedelta(hours=4))[1])
    assert shown["tier"] == "supervisor"
    assert {c["name"]: c["status"] for c in shown["clocks"]}["promise_3"] == "running, breached"


def test_explain_says_why_the_resolution_is_due_when_it_is(run: Run) -> None:
    reference = intake(run)
    run("advance", reference, "assess")
    run("advance", reference, "need_info", "-f", "question=which card?", now=T0 + timedelta(hours=2))
    code, out, _ = run("sla", "explain", reference, now=T0 + timedelta(days=1))
    assert code == 0
    assert "Target 10 business days (P10D) for severity medium at tier frontline" in out
    assert "Paused since 2026-11-23 11:00 UTC with 2h00m used" in out
    assert "'need_info' by hana (handler): assessing → awaiting_customer — which card?" in out
    assert "UK FCA DISP 1.6: counted from receipt 2026-11-23 09:00 UTC, never paused." in out


def test_explain_keeps_its_layout_on_an_80_column_terminal(run: Run) -> None:
    reference = intake(run)
    run("advance", reference, "assess")
    run("advance", reference, "need_info", "-f", "question=which card?", now=T0 + timedelta(hours=2))
    code, out, _ = run("sla", "explain", reference, now=T0 + timedelta(days=1), columns=80)
    lines = [line for line in out.splitlines()[1:] if line.strip()]
    assert code == 0 and max(map(len, lines)) <= 80
    headers = [line for line in lines if not line.startswith("  ")]  # a long line wraps under itself
    assert [h.split()[0] for h in headers] == ["acknowledge", "first_response", "resolution", "fca"]
    assert sum(1 for line in lines if line.split()[:3] == ["When", "Entry", "Why"]) == len(headers)  # the ledgers


def test_show_adds_the_clocks_panel(run: Run) -> None:
    reference = intake(run)
    code, out, _ = run("show", reference)
    assert code == 0 and "SLA and regulatory clocks" in out and "first_response" in out


@pytest.mark.parametrize("args, message", [
    (("sla", "due", "--within", "soon"), "Invalid --within: 'soon': use 8h, 90m, 2d or PT8H"),
    (("sla", "promise", "REF", "--text", "x"), "Invalid promise: give --due and --text (or --kept)"),
    (("sla", "promise", "REF", "--due", "2026-12-11T12:00:00Z", "--text", "x", "--kept"),
     "Invalid promise: --kept marks the open promises kept; record a new one without it"),
    (("sla", "promise", "REF", "--due", "2026-12-11T12:00:00Z", "--text", "x", "--note", "called"),
     "Invalid promise: --note says how a promise was kept: give it with --kept"),
])
def test_bad_input_is_one_line_and_exit_1(run: Run, args: tuple[str, ...], message: str) -> None:
    code, _, err = run(*args)
    assert code == 1 and message in err


def test_a_promise_in_the_past_is_refused_and_nothing_is_written(run: Run) -> None:
    reference = intake(run)
    code, _, err = run("sla", "promise", reference, "--due", "2026-11-22T12:00:00+00:00", "--text", "too late")
    assert code == 1 and "due: 2026-11-22 12:00 UTC is not in the future" in err
    shown = json.loads(run("--json", "show", reference)[1])
    assert shown["version"] == 2 and "promise" not in [e["action"] for e in shown["events"]]


def test_the_sweep_prints_a_summary_by_timer_and_tier_with_every_letter_counted(run: Run) -> None:
    references = [run("intake", "--product", "Card", "--description", "charged twice", "--customer-email",
                      f"{name}@b.cc")[1].strip().splitlines()[-1] for name in ("ann", "ben", "cat")]
    code, out, _ = run("sla", "sweep", now=T0 + timedelta(days=3))  # every first response breached
    assert code == 0
    assert "Escalated: 3 (3 to supervisor). Letters queued: 3." in out  # one escalation letter each
    row = next(line for line in out.splitlines() if "first_response" in line and "sla_breach" in line)
    assert [cell.strip() for cell in row.split("│") if cell.strip()][-3:] == ["3", "0", "0"]
    assert not any(ref in out for ref in references)  # cases are listed with --verbose only
    code, out, _ = run("sla", "sweep", "--verbose", now=T0 + timedelta(days=30))
    assert code == 0 and all(f"{ref} → specialist" in out for ref in references)
    for _ in range(5):  # escalating retargets the clocks: their new deadlines may be due at once
        swept = json.loads(run("--json", "sla", "sweep", now=T0 + timedelta(days=30))[1])
        if not swept["tally"]:
            break
        assert swept["letters_queued"] == len(swept["escalated"])
    assert (swept["letters_queued"], swept["tally"], swept["escalated"]) == (0, {}, [])
