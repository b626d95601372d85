"""The whole lifecycle through the ``complaints`` command line, every branch of it, and errors
that are one line and a non-zero exit (a traceback only with ``--debug``).

Commands run in-process through ``complaintflow.cli.app:main`` (the installed entry point) with
``sys.argv`` set, so exit codes and stderr are exactly what a shell sees; one test runs the
installed script itself."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from casework import PAYLOADS
from conftest import T0
from sqlalchemy import create_engine

from complaintflow.bootstrap import build, init_database
from complaintflow.cli.app import main
from complaintflow.cli.context import CliContext
from complaintflow.schema import HEAD
from complaintflow.settings import Settings
from complaintflow.tables import metadata
from complaints.db import Database
from workflows.loader import shipped_workflow_files

SHIPPED = next(p for p in shipped_workflow_files() if p.name == "complaint.yaml")


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def data(self) -> Any:
        return json.loads(self.out)


class Cli:
    """Runs ``complaints --db URL --actor hana [--now NOW] ...`` and captures what it prints."""

    def __init__(self, url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
        self.url, self.capsys, self.monkeypatch = url, capsys, monkeypatch
        self.now = T0

    def __call__(self, *args: str, role: str | None = None, now: datetime | None = None) -> Outcome:
        options = ["--db", self.url, "--actor", "hana", "--now", (now or self.now).isoformat()]
        if role:
            options += ["--role", role]
        self.monkeypatch.setattr(sys, "argv", ["complaints", *options, *args])
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        captured = self.capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    def ok(self, *args: str, role: str | None = None) -> Outcome:
        outcome = self(*args, role=role)
        assert outcome.code == 0, outcome.err
        return outcome

    def later(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    def advance(self, reference: str, action: str, role: str | None = None, **fields: str) -> dict[str, Any]:
        """``advance REF ACTION -f k=v ...`` with the default payload (overridden by ``fields``)."""
        payload = {**PAYLOADS.get(action, {}), **fields}
        pairs = [arg for key, value in payload.items() for arg in ("--field", f"{key}={value}")]
        return self.ok("--json", "advance", reference, action, *pairs, role=role).data

    def show(self, reference: str) -> dict[str, Any]:
        return self.ok("--json", "show", reference).data

    def intake(self, *extra: str) -> str:
        out = self.ok("intake", "--product", "Current account", "--description", "Charged twice", *extra).out
        return out.strip().splitlines()[-1]

    def sweep(self, reference: str) -> list[str]:
        """Fire every timer due at ``now`` (``complaints sla sweep``); the workflow timers of ``reference`` that fired."""
        fired = self.ok("--json", "sla", "sweep").data["fired"]
        prefix = f"{reference} workflow "
        return [label.removeprefix(prefix) for label in fired if label.startswith(prefix)]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database migrated to head; each test gets a copy (migrating takes most of a second)."""
    path = tmp_path_factory.mktemp("template") / "cli.db"
    app = build(Settings(database_url=f"sqlite:///{path}"))
    init_database(app.db)
    app.db.dispose()
    return path


@pytest.fixture
def cli(tmp_path: Path, migrated: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("COLUMNS", "250")  # rich wraps at the terminal width; keep each message on one line
    shutil.copyfile(migrated, tmp_path / "cli.db")
    return Cli(f"sqlite:///{tmp_path / 'cli.db'}", capsys, monkeypatch)


def state_of(cli: Cli, reference: str) -> str:
    return str(cli.show(reference)["state"])


def actions_taken(view: dict[str, Any]) -> list[str]:
    return [e["action"] for e in view["events"]]


# -- taking in and looking at a complaint ------------------------------------------------------


def test_a_database_url_is_shown_without_its_password() -> None:
    db = Database("postgresql+psycopg://ops:s3cret@db.example:5432/complaints")
    assert db.shown_url == "postgresql+psycopg://ops:***@db.example:5432/complaints"
    assert "s3cret" not in repr(db)
    told = CliContext(db="postgresql://ops:s3cret@db.example/complaints").command("db upgrade")
    assert told == "complaints --db postgresql://ops:***@db.example/complaints db upgrade"  # messages end up in logs
    assert CliContext(db="sqlite:///here.db").command("init") == "complaints --db sqlite:///here.db init"


def test_init_creates_the_database_and_can_run_again(cli: Cli, tmp_path: Path) -> None:
    cli.url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert cli.ok("init").out == f"✓ database ready: {cli.url} (schema {HEAD})\n"
    assert cli.ok("init").out == f"✓ database ready: {cli.url} (schema {HEAD})\n"
    assert cli.ok("--json", "list").data == []


def test_intake_prints_the_reference_and_show_displays_the_case(cli: Cli) -> None:
    result = cli.ok("intake", "--product", "Current account", "--description", "Charged twice",
                    "--customer-name", "Ann Lee", "--customer-email", "ann@example.com")
    reference = result.out.strip().splitlines()[-1]
    assert reference == f"C-{T0.year}-000001"
    assert f"✓ {reference} taken in and acknowledged (acknowledged, frontline)" in result.out
    shown = cli.ok("show", reference).out
    for text in (reference, "acknowledged", "Ann Lee", "Charged twice", "Actions you can take", "assess", "Timeline",
                 "acknowledgement"):
        assert text in shown


def test_references_stay_whole_on_a_narrow_terminal(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    references = [cli.intake(), cli.intake()]
    monkeypatch.setenv("COLUMNS", "60")
    out = cli.ok("list").out
    assert all(reference in out for reference in references)  # one piece, to read and copy
    assert max(map(len, out.splitlines())) <= 60


def test_the_work_list_says_each_deadline_in_business_time_and_marks_the_passed_ones(cli: Cli) -> None:
    reference = cli.intake()
    assert "(due in " in cli.ok("list").out
    cli.later(days=30)
    row = cli.ok("--json", "list").data[0]
    assert row["reference"] == reference and row["overdue"] and row["due_words"].startswith("overdue by ")
    assert f"({row['due_words']})" in cli.ok("list").out


def test_a_role_no_workflow_names_or_the_engines_own_is_refused(cli: Cli) -> None:
    reference = cli.intake()
    before = cli.show(reference)
    result = cli("list", role="boss")
    assert result.code == 1 and result.out == ""
    assert result.err.strip() == ("Error: Invalid --role: 'boss' is no role a person acts in "
                                  "(roles: executive, handler, quality, specialist, supervisor)")
    claimed = cli("advance", reference, "assign", "-f", "assignee=ines", role="system")  # timers and intake act as 'system'
    assert claimed.code == 1 and "'system' is no role a person acts in" in claimed.err
    assert cli.show(reference) == before
    assert cli("list", role="supervisor").code == 0


def test_listing_by_a_state_no_workflow_has_says_which_are_known(cli: Cli) -> None:
    cli.intake()
    result = cli("list", "--state", "investigation")
    assert result.code == 1 and result.out == ""
    assert result.err.startswith("Error: Unknown value to filter by: state: 'investigation' is in no workflow (known: ")


def test_an_empty_list_says_what_it_was_filtered_by_instead_of_printing_bare_headers(cli: Cli) -> None:
    assert cli.ok("list").out.splitlines()[-1] == "No complaints yet."
    cli.intake()
    empty = cli.ok("list", "--state", "closed", "--queue", "frontline").out
    assert empty.splitlines()[-1] == "No complaints with state 'closed', queue 'frontline'."
    assert "Reference" not in empty
    assert "Reference" in cli.ok("list").out


def test_an_80_column_terminal_leaves_columns_out_rather_than_cut_words(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = cli.intake()
    cli.advance(reference, "assess")
    cli.advance(reference, "need_info")
    monkeypatch.setenv("COLUMNS", "80")
    listed = cli.ok("list").out
    assert "awaiting_customer" in listed and "Queue, Tier left out at this width" in listed
    shown = cli.ok("show", reference).out
    assert "acknowledgement" in shown and "need_info" in shown and "Tier, #, From → to left out" in shown
    assert max(map(len, (listed + shown).splitlines())) <= 80
    monkeypatch.setenv("COLUMNS", "200")
    assert "left out" not in cli.ok("list").out + cli.ok("show", reference).out


def test_text_in_square_brackets_is_shown_as_written_not_read_as_markup(cli: Cli, tmp_path: Path) -> None:
    # rich reads "[...]" as markup: "[/]" stopped list and show, "[bold]" vanished
    reference = cli.intake("--product", "Card [/]", "--description", "Charged [/] twice [bold]again",
                           "--customer-name", "Ann [red]Lee", "--external-id", "CRM[/]7")
    listed, shown = cli.ok("list").out, cli.ok("show", reference).out
    assert "Card [/]" in listed
    assert all(text in shown for text in ("Card [/]", "Charged [/] twice [bold]again", "Ann [red]Lee"))
    again = cli.ok("intake", "--product", "Card", "--description", "x", "--external-id", "CRM[/]7").out
    assert f"external id CRM[/]7 is already {reference}" in again
    rows = tmp_path / "rows.json"
    rows.write_text('[{"product": "A", "description": "x", "channel": "[/]fax"}]', encoding="utf-8")
    refused = cli("import", str(rows))
    assert refused.code == 1 and "got '[/]fax'" in refused.out


def test_a_database_file_name_in_square_brackets_is_shown_as_written(cli: Cli, tmp_path: Path) -> None:
    cli.url = f"sqlite:///{tmp_path / 'cases[b].db'}"
    assert "cases[b].db (schema" in cli.ok("init").out
    assert "cases[b].db: revision" in cli.ok("db", "current").out
    assert cli.ok("--json", "db", "current").data["database"] == cli.url


def test_values_cut_to_fit_the_screen_end_in_an_ellipsis(cli: Cli) -> None:
    product = "Payday loan, title loan, or personal loan"  # 41 characters: the list shows 40
    description = "Charged twice. " * 60
    reference = cli.intake("--product", product, "--description", description)
    listed = next(line for line in cli.ok("list").out.splitlines() if reference in line)
    assert "Payday loan, title loan, or personal lo…" in listed
    assert product not in listed
    shown = cli.ok("show", reference).out
    assert "Charged twice. Charged twice." in shown and "…" in shown
    assert cli.show(reference)["complaint"]["description"] == description.strip()  # --json keeps it whole


def test_intake_with_a_known_external_id_says_nothing_new_was_stored(cli: Cli) -> None:
    first = cli.intake("--external-id", "X-1")
    again = cli.ok("intake", "--product", "Current account", "--description", "Again", "--external-id", "X-1")
    assert again.out.strip().splitlines() == [f"= external id X-1 is already {first}; nothing new stored", first]


def test_show_json_holds_reference_state_tier_version_events_and_timers(cli: Cli) -> None:
    reference = cli.intake()
    cli.advance(reference, "assess")
    view = cli.advance(reference, "need_info")
    assert (view["reference"], view["state"], view["tier"], view["version"]) == (reference, "awaiting_customer", "frontline", 4)
    assert actions_taken(view) == ["receive", "acknowledge", "assess", "need_info"]
    [auto_close] = [t for t in view["timers"] if t["action"] == "auto_close"]
    assert (auto_close["status"], datetime.fromisoformat(auto_close["due_at"])) == ("pending", T0 + timedelta(days=14))
    shown = cli.show(reference)
    assert {key: shown[key] for key in view} == view


def test_import_reports_bad_rows_and_exits_non_zero(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("external_id,product,description\nE1,Loan,Charged twice\nE2,,No product\n", encoding="utf-8")
    result = cli("import", str(path))
    assert result.code == 1
    assert "1 created, 0 already known, 1 rejected" in result.out
    assert "✗ row 3: product: Field required" in result.out
    summary = cli("--json", "import", str(path)).data
    assert (summary["created"], summary["duplicates"], summary["errors"]) == (
        0, 1, [{"row": 3, "reason": "product: Field required"}]  # the row is said once, in its own field
    )


# -- every branch of the lifecycle -------------------------------------------------------------


def test_an_invalid_complaint_is_closed_with_the_rationale_sent_to_the_customer(cli: Cli) -> None:
    reference = cli.intake()
    cli.advance(reference, "assess")
    view = cli.advance(reference, "invalid")
    assert view["state"] == "closed"
    assert view["data"]["assessment"]["outcome"] == "invalid"
    [letter] = [n for n in view["notifications"] if n["template"] == "assessment_invalid"]
    assert "Our reasons: the loan is with another lender." in letter["body"]
    assert letter["status"] == "held"  # a final response waits for a second reader (letters.review)


def test_a_customer_asked_for_information_who_replies_is_assessed_again(cli: Cli) -> None:
    reference = cli.intake()
    cli.advance(reference, "assess")
    cli.advance(reference, "need_info")
    cli.later(days=3)
    view = cli.advance(reference, "info_received")
    assert view["state"] == "assessing"
    assert [t["status"] for t in view["timers"] if t["action"] == "auto_close"] == ["cancelled"]


def test_a_customer_who_never_replies_is_closed_by_the_auto_close_timer(cli: Cli) -> None:
    reference = cli.intake()
    cli.advance(reference, "assess")
    cli.advance(reference, "need_info")
    cli.later(days=13)
    assert cli.sweep(reference) == []
    cli.later(days=1)
    assert cli.sweep(reference) == ["auto_close"]
    assert cli.sweep(reference) == []
    view = cli.show(reference)
    assert view["state"] == "closed" and view["data"]["validity"] == "lapsed"
    assert actions_taken(view)[-1] == "auto_close"


def test_a_valid_complaint_is_escalated_paused_and_resumed(cli: Cli) -> None:
    reference = cli.intake()
    cli.advance(reference, "assess")
    assert cli.advance(reference, "valid")["state"] == "investigating"
    escalated = cli.advance(reference, "escalate")
    assert (escalated["state"], escalated["tier"], escalated["queue"]) == ("investigating", "supervisor", "supervisors")
    paused = cli.advance(reference, "pause", resume_on=(T0 + timedelta(days=8)).date().isoformat())
    assert paused["state"] == "on_hold"
    resumed = cli.advance(reference, "resume")
    assert resumed["state"] == "investigating"
    assert [t["status"] for t in resumed["timers"] if t["action"] == "resume"] == ["cancelled"]


def write_moves(path: Path, *moves: dict[str, Any] | str) -> str:
    path.write_text("\n".join(m if isinstance(m, str) else json.dumps(m) for m in moves) + "\n", encoding="utf-8")
    return str(path)


def test_advance_many_performs_every_action_in_one_go(cli: Cli, tmp_path: Path) -> None:
    first, second = cli.intake(), cli.intake()
    moves = write_moves(tmp_path / "moves.jsonl",
                        {"reference": first, "action": "assess"}, {"reference": second, "action": "assess"},
                        {"reference": first, "action": "valid", "payload": PAYLOADS["valid"]},
                        {"reference": second, "action": "assign", "payload": {"assignee": "ines"}, "expected_version": 3})
    shown = cli.ok("advance-many", moves).out
    assert "4 actions done in one transaction" in shown and "assessing → investigating" in shown
    assert (state_of(cli, first), state_of(cli, second)) == ("investigating", "assessing")
    assert cli.show(second)["data"]["assignee"] == "ines"


def test_advance_many_reports_every_bad_line_and_does_nothing(cli: Cli, tmp_path: Path) -> None:
    reference = cli.intake()
    before = cli.show(reference)
    moves = write_moves(tmp_path / "moves.jsonl", {"reference": reference, "action": "assess"}, "not json",
                        {"reference": reference, "action": "assess", "expected_version": 0, "note": "x"},
                        {"reference": reference, "acton": "assess"}, "", '["assess"]')
    result = cli("advance-many", moves)
    assert result.code == 1
    assert result.err.splitlines() == [
        f"Error: Invalid moves file {moves}: line 2: not a JSON object (Expecting value); "
        "line 3: expected_version: Input should be greater than or equal to 1; line 3: note: unknown field; "
        "line 4: action: Field required; line 4: acton: unknown field; did you mean 'action'?; "
        "line 5: blank: write one move on every line; line 6: not a JSON object but an array"]
    assert cli.show(reference) == before


def test_advance_many_refused_anywhere_does_nothing_and_names_the_move(cli: Cli, tmp_path: Path) -> None:
    first, second = cli.intake(), cli.intake()
    before = [cli.show(first), cli.show(second)]
    moves = write_moves(tmp_path / "moves.jsonl",
                        {"reference": first, "action": "assess"}, {"reference": second, "action": "close"})
    result = cli("advance-many", moves)
    assert result.code == 1 and "Traceback" not in result.err
    assert f"Can't 'close' complaint {second} in state 'acknowledged'" in result.err
    assert "move 2 of 2; nothing was done" in result.err
    assert [cli.show(first), cli.show(second)] == before


def test_an_on_hold_complaint_resumes_by_itself_on_the_date_given(cli: Cli) -> None:
    reference = cli.intake()
    for action in ("assess", "valid"):
        cli.advance(reference, action)
    cli.advance(reference, "pause", resume_on=(T0 + timedelta(days=2)).date().isoformat())
    cli.later(days=2)
    assert cli.sweep(reference) == ["resume_on_date"]
    assert state_of(cli, reference) == "investigating"


def test_the_full_resolution_path_closes_behind_the_quality_gate(cli: Cli) -> None:
    reference = cli.intake()
    for action in ("assess", "valid", "propose"):
        cli.advance(reference, action)
    assert cli.advance(reference, "reject")["state"] == "investigating"
    cli.advance(reference, "propose", resolution="refund of 80 EUR")
    assert cli.advance(reference, "accept")["state"] == "resolved"
    cli.later(days=7)
    assert cli.sweep(reference) == ["start_follow_up"]
    assert state_of(cli, reference) == "follow_up"
    assert cli.advance(reference, "satisfied")["state"] == "recurrence_review"
    closed = cli.advance(reference, "close")
    assert closed["state"] == "closed"
    assert closed["data"]["root_cause_code"] == "BILLING.DUPLICATE"
    assert {"resolution_proposal", "resolution_rejected", "follow_up_survey", "closure"} <= {
        n["template"] for n in closed["notifications"]
    }
    assert [e["action"] for e in closed["events"] if e["action"] not in ("escalate",)] == [
        "receive", "acknowledge", "assess", "valid", "propose", "reject", "propose", "accept", "start_follow_up",
        "satisfied", "close",
    ]


def test_a_dissatisfied_customer_reopens_the_investigation(cli: Cli) -> None:
    reference = cli.intake()
    for action in ("assess", "valid", "propose", "accept", "start_follow_up"):
        cli.advance(reference, action)
    view = cli.advance(reference, "dissatisfied")
    assert view["state"] == "investigating"
    assert (view["data"]["follow_up"], view["data"]["outcome_communicated"]) == ("dissatisfied", False)


def test_a_closed_complaint_can_be_reopened(cli: Cli) -> None:
    reference = cli.intake()
    for action in ("assess", "invalid"):
        cli.advance(reference, action)
    view = cli.advance(reference, "reopen")
    assert view["state"] == "investigating" and view["data"]["reopened"] is True
    assert [t["status"] for t in view["timers"] if t["action"] == "archive"] == ["cancelled"]


def test_a_closed_complaint_is_archived_after_the_reopening_window(cli: Cli) -> None:
    reference = cli.intake()
    for action in ("assess", "invalid"):
        cli.advance(reference, action)
    cli.later(days=90)
    assert cli.sweep(reference) == ["archive"]
    view = cli.show(reference)
    assert view["state"] == "archived"
    assert [a["action"] for a in view["actions"]] == []


# -- the work queue ----------------------------------------------------------------------------


def test_list_filters_by_state_tier_and_queue_and_sorts_by_nearest_deadline(cli: Cli) -> None:
    waiting, paused, fresh = cli.intake(), cli.intake(), cli.intake()
    cli.advance(waiting, "assess")
    cli.advance(waiting, "need_info")
    for action in ("assess", "valid", "escalate"):
        cli.advance(paused, action)
    cli.advance(paused, "pause", resume_on=(T0 + timedelta(days=3)).date().isoformat())

    rows = cli.ok("--json", "list").data
    assert {r["reference"] for r in rows} == {waiting, paused, fresh}
    due = [r["next_due"] for r in rows]
    assert due == sorted(due, key=lambda d: (d is None, d or ""))
    for row in rows:
        pending = [t["due_at"] for t in cli.show(row["reference"])["timers"] if t["status"] == "pending"]
        assert row["next_due"] == (min(pending, key=datetime.fromisoformat) if pending else None)

    assert [r["reference"] for r in cli.ok("--json", "list", "--state", "awaiting_customer").data] == [waiting]
    assert [r["reference"] for r in cli.ok("--json", "list", "--tier", "supervisor").data] == [paused]
    assert [r["reference"] for r in cli.ok("--json", "list", "--queue", "supervisors").data] == [paused]
    assert cli.ok("--json", "list", "--state", "archived").data == []
    table = cli.ok("list").out
    assert all(ref in table for ref in (waiting, paused, fresh)) and "Next deadline" in table


# -- errors: one line, non-zero exit, no traceback ---------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["show", "C-2026-999999"], 1, "Error: No complaint with reference 'C-2026-999999'", id="unknown-reference"),
        pytest.param(["advance", "{ref}", "assess", "--field", "oops"], 1,
                     "Error: Invalid --field: 'oops' must look like key=value", id="bad-field-syntax"),
        pytest.param(["advance", "{ref}", "assess", "--field", "colour=red"], 1,
                     "Error: Invalid input for 'assess' on {ref}: colour: unknown field; 'assess' takes no fields",
                     id="unknown-field"),
        pytest.param(["advance", "{ref}", "close"], 1,
                     "Error: Can't 'close' complaint {ref} in state 'acknowledged'. Allowed: assess, escalate, assign.",
                     id="disallowed-action"),
        pytest.param(["advance", "{ref}", "[/x]"], 1,
                     "Error: Can't '[/x]' complaint {ref} in state 'acknowledged' (no action '[/x]' in workflow "
                     "'complaint'). Allowed: assess, escalate, assign.", id="markup-in-input"),
        pytest.param(["advance", "{ref}", "need_info", "--expected-version", "1"], 1,
                     "Error: Complaint {ref} was changed by someone else: expected version 1, it is now at version 2. "
                     "Reload it and try again.", id="stale-version"),
        pytest.param(["intake", "--product", "Loan", "--description", "x", "--channel", "pigeon"], 1,
                     "Error: Invalid complaint: channel: must be 'email', 'phone', 'web', 'letter', 'in_person', "
                     "'social', 'chat', 'regulator' or 'api', got 'pigeon'", id="bad-intake"),
        pytest.param(["advance", "{ref}"], 2, "Error: Missing argument 'action'.", id="missing-argument"),
    ],
)
def test_every_error_is_one_line_and_a_non_zero_exit(cli: Cli, args: list[str], code: int, message: str) -> None:
    reference = cli.intake()
    before = cli.show(reference)
    result = cli(*[a.replace("{ref}", reference) for a in args])
    assert (result.code, result.err.splitlines()) == (code, [message.replace("{ref}", reference)])
    assert "Traceback" not in result.err + result.out
    assert cli.show(reference) == before


def test_a_bad_now_is_a_usage_error(cli: Cli, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["complaints", "--db", cli.url, "--now", "yesterday", "list"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "Error: Invalid value for --now: 'yesterday' is not an ISO time such as 2026-11-23T09:30:00Z"
    ]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("nonsense", "Error: Database URL 'nonsense' is not a valid SQLAlchemy URL; use e.g. sqlite:///complaintflow.db "
                     "or postgresql+psycopg://user@host/db"),
        ("nosuchdb://x", "Error: No database driver for 'nosuchdb://x': Can't load plugin: sqlalchemy.dialects:nosuchdb"),
        ("sqlite:////nonexistent-dir/x.db", "Error: No database at /nonexistent-dir/x.db: run `complaints --db "
                                            "sqlite:////nonexistent-dir/x.db init` to create it there, or point --db "
                                            "(or COMPLAINTS_DATABASE_URL) at an existing one"),
    ],
)
def test_a_bad_database_url_is_one_line(cli: Cli, url: str, message: str) -> None:
    cli.url = url
    result = cli("list")
    assert (result.code, result.err.splitlines()) == (1, [message])


# -- a database that is not ready says what to run --------------------------------------------


def test_a_missing_database_file_is_named_with_the_command_that_creates_it_and_not_created(
    cli: Cli, tmp_path: Path
) -> None:
    typo = tmp_path / "complaintsflow.db"
    cli.url = f"sqlite:///{typo}"
    result = cli("list")
    assert (result.code, result.err.splitlines()) == (1, [
        f"Error: No database at {typo}: run `complaints --db {cli.url} init` to create it there, or point --db "
        "(or COMPLAINTS_DATABASE_URL) at an existing one"])
    assert not typo.exists()
    assert cli("db", "current").err == result.err
    assert not typo.exists()
    cli.ok("init")
    assert cli.ok("--json", "list").data == []


def test_a_database_without_the_schema_says_to_run_init(cli: Cli, tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).execute("CREATE TABLE notes (text TEXT)")
    cli.url = f"sqlite:///{empty}"
    result = cli("show", "C-2026-000001")
    assert (result.code, result.err.splitlines()) == (1, [
        f"Error: {cli.url} has no complaintflow schema yet: run `complaints --db {cli.url} init` to create it"])


def _stamp(url: str, revision: str) -> None:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))


def test_a_database_at_an_older_schema_revision_says_to_upgrade_it_and_upgrading_fixes_it(cli: Cli) -> None:
    from complaintflow.migrations import downgrade

    reference = cli.intake()
    app = build(Settings(database_url=cli.url))
    downgrade(app.db, "0005")
    app.db.dispose()
    result = cli("show", reference)
    assert (result.code, result.err.splitlines()) == (1, [
        f"Error: {cli.url} is at schema revision 0005, and this version of complaintflow needs {HEAD}: "
        f"run `complaints --db {cli.url} db upgrade` (back it up first)"])
    cli.ok("db", "upgrade")
    assert cli.show(reference)["reference"] == reference


def test_a_database_migrated_by_a_newer_complaintflow_is_left_alone(cli: Cli) -> None:
    _stamp(cli.url, "9999")
    result = cli("list")
    assert (result.code, result.err.splitlines()) == (1, [
        f"Error: {cli.url} is at schema revision 9999, newer than this version of complaintflow knows ({HEAD}): "
        "upgrade complaintflow to use it"])


def test_a_database_made_before_migrations_says_to_adopt_it_with_db_upgrade(cli: Cli, tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    cli.url = f"sqlite:///{old}"
    engine = create_engine(cli.url)
    metadata().create_all(engine)
    engine.dispose()
    result = cli("list")
    assert (result.code, result.err.splitlines()) == (1, [
        f"Error: {cli.url} has complaintflow tables but no migration history: run `complaints --db {cli.url} "
        "db upgrade` to adopt it"])
    cli.ok("db", "upgrade")
    assert cli.ok("--json", "list").data == []


def test_commands_that_need_no_database_run_without_one(cli: Cli, tmp_path: Path) -> None:
    cli.url = f"sqlite:///{tmp_path / 'none.db'}"
    assert "PROCESS" in cli.ok("rootcause", "taxonomy").out
    assert cli.ok("workflow", "validate", str(SHIPPED)).code == 0
    assert not (tmp_path / "none.db").exists()


def test_a_file_that_cannot_be_written_is_named_with_the_reason(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "no-such-folder" / "graph.html"
    result = cli("rootcause", "graph", "--format", "html", "-o", str(target))
    assert (result.code, result.err.splitlines()) == (1, [f"Error: {target}: No such file or directory"])


def test_debug_shows_the_traceback(cli: Cli) -> None:
    from complaints.errors import NotFound

    with pytest.raises(NotFound, match="No complaint with reference 'C-2026-999999'"):
        cli("--debug", "show", "C-2026-999999")


def test_the_installed_command_prints_one_line_errors(cli: Cli) -> None:
    script = Path(sys.executable).with_name("complaints")
    result = subprocess.run(
        [str(script), "--db", cli.url, "show", "C-2026-000001"], capture_output=True, text=True, timeout=60, check=False,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.splitlines() == ["Error: No complaint with reference 'C-2026-000001'"]


def test_with_json_an_error_is_one_json_object_on_stderr_with_what_a_script_needs(cli: Cli) -> None:
    reference = cli.intake()
    result = cli("--json", "advance", reference, "asess")
    assert (result.code, result.out) == (1, "")
    assert json.loads(result.err) == {"error": {
        "type": "ActionNotAllowed", "exit_code": 1,
        "message": f"Can't 'asess' complaint {reference} in state 'acknowledged' (no action 'asess' in workflow "
                   "'complaint'). Allowed: assess, escalate, assign.",
        "reference": reference, "action": "asess", "state": "acknowledged", "allowed": ["assess", "escalate", "assign"],
    }}
    invalid = json.loads(cli("--json", "advance", reference, "assess", "-f", "colour=red").err)["error"]
    assert (invalid["type"], invalid["problems"]) == ("InvalidInput", ["colour: unknown field; 'assess' takes no fields"])


def test_with_json_a_usage_error_is_json_too_and_keeps_its_exit_code(cli: Cli) -> None:
    result = cli("--json", "list", "--bogus")
    assert (result.code, result.out) == (2, "")
    assert json.loads(result.err) == {"error": {"type": "NoSuchOption", "message": "No such option: --bogus",
                                                "exit_code": 2}}


def test_json_given_to_a_command_as_a_value_does_not_make_errors_json(cli: Cli) -> None:
    result = cli("intake", "--product", "Card", "--description", "--json", "--customer-email", "bad")
    assert (result.code, result.err.splitlines()) == (1, [
        "Error: Invalid complaint: customer.email: not an email address (name@example.com), got 'bad'"])


# -- workflow commands -------------------------------------------------------------------------


def test_workflow_validate_accepts_the_shipped_definition(cli: Cli) -> None:
    result = cli.ok("workflow", "validate", str(SHIPPED))
    assert "workflow 'complaint' v2 is valid" in " ".join(result.out.split())
    summary = cli.ok("--json", "workflow", "validate", str(SHIPPED)).data
    assert summary["valid"] is True and summary["name"] == "complaint"


def test_workflow_validate_rejects_a_broken_definition_with_one_clear_error(cli: Cli, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    text = SHIPPED.read_text(encoding="utf-8").replace("    timers:\n      - {action: auto_close, after: P14D}\n", "", 1)
    broken.write_text(text, encoding="utf-8")
    line = text.splitlines().index("  awaiting_customer:") + 1
    result = cli("workflow", "validate", str(broken))
    assert result.code == 1 and "Traceback" not in result.err
    assert result.err.splitlines() == [
        f"Error: {broken}: 1 problem:",
        f"  - line {line}, states.awaiting_customer: waiting state 'awaiting_customer' has no timer, so a case could "
        "wait there forever; add 'timers: [{after: P14D, action: ...}]'",
    ]


def test_workflow_show_lists_every_state_with_its_actions_and_timers(cli: Cli) -> None:
    out = cli.ok("workflow", "show").out
    for state in ("received (initial)", "awaiting_customer (waiting)", "archived (final)", "recurrence_review"):
        assert state in out
    assert "⏱" in out and "Tiers" in out and "executive-ombudsman" in out
    spec = cli.ok("--json", "workflow", "show").data
    assert spec["states"]["received"]["initial"] is True and spec["transitions"]["need_info"]["to"] == "awaiting_customer"


def test_workflow_show_tells_the_fields_an_action_needs_from_those_it_may_take(cli: Cli) -> None:
    lines = cli.ok("workflow", "show").out.splitlines()
    propose = next(line for line in lines if "propose → resolution_proposed" in line)
    assert "needs resolution, reasons  optional relief, redress  roles" in propose
    info_received = next(line for line in lines if "info_received → assessing" in line)
    assert "optional summary  roles" in info_received and "needs" not in info_received


def test_a_workflow_is_named_by_its_file_or_by_a_shipped_workflows_name(cli: Cli, monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    assert cli.ok("--json", "workflow", "show", "complaint").data == cli.ok("--json", "workflow", "show").data
    assert cli.ok("workflow", "diagram", "complaint").out.startswith("stateDiagram-v2")
    unknown = cli("workflow", "show", "nosuch")
    assert unknown.code == 1 and "No workflow 'nosuch'; known: complaint v1, complaint v2" in unknown.err
    missing = cli("workflow", "show", "complaints.yaml")
    assert missing.code == 1 and "'complaints.yaml' does not exist" in missing.err
    monkeypatch.chdir(tmp_path)
    (tmp_path / "complaint").write_text(SHIPPED.read_text(encoding="utf-8").replace("version: 2", "version: 7", 1))
    assert cli.ok("--json", "workflow", "show", "complaint").data["version"] == 7  # a file of that name comes first


def test_workflow_diagram_in_mermaid_draws_every_state_and_marks_start_and_final(cli: Cli) -> None:
    text = cli.ok("workflow", "diagram", "--format", "mermaid").out
    lines = text.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert "    [*] --> received" in lines and "    archived --> [*]" in lines
    assert "    awaiting_customer --> closed: ⏱ auto_close" in lines
    assert "    assessing --> investigating: valid" in lines
    states = set(json.loads(json.dumps(cli.ok("--json", "workflow", "show").data))["states"])
    assert all(any(f" {s} " in f" {line} " for line in lines) for s in states)


def test_workflow_diagram_in_dot_draws_every_state_and_doubles_final_ones(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "complaint.dot"
    cli.ok("workflow", "diagram", "--format", "dot", "--output", str(target))
    text = target.read_text(encoding="utf-8")
    assert text.startswith('digraph "complaint_v2" {') and text.rstrip().endswith("}")
    assert "  __start -> received;" in text and "  archived [peripheries=2];" in text
    assert '  awaiting_customer -> closed [label="⏱ auto_close"];' in text
    for state in cli.ok("--json", "workflow", "show").data["states"]:
        assert f"  {state} " in text or f"-> {state} " in text or f"-> {state};" in text


def test_workflow_diagram_refuses_an_unknown_format(cli: Cli) -> None:
    result = cli("workflow", "diagram", "--format", "png")
    assert (result.code, result.err.splitlines()) == (2, ["Error: Invalid value for --format: unknown format 'png'; use mermaid or dot"])


def test_a_list_field_given_twice_keeps_both_values_and_another_field_twice_is_refused(cli: Cli) -> None:
    reference = cli.intake()
    cli.advance(reference, "assess")
    view = cli.ok("--json", "advance", reference, "valid", "-f", "criteria=in scope", "-f", "criteria=in time, eligible",
                  "-f", "rationale=Fee charged twice").data
    assert view["data"]["assessment"]["criteria"] == ["in scope", "in time", "eligible"]
    twice = cli("advance", reference, "assign", "-f", "assignee=ines", "-f", "assignee=omar")
    assert twice.code == 1 and "assignee: given twice ('ines' and 'omar')" in twice.err
    assert "assignee" not in cli.show(reference)["data"]  # nothing was done
