"""The Prefect flows, run for real under one session-wide test server, against a real database.

The flows are thin: these tests check that each has its service's effects, that a second run
finds nothing left to do, and that a task failing half-way is retried without firing anything
twice. The logic itself is tested through the services, without Prefect.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from logging.handlers import BufferingHandler
from pathlib import Path

import pytest
from casework import take_in, walk
from sqlalchemy import func, select
from typer.testing import CliRunner

from complaintflow.ops import quiet_prefect_env
from complaints import metrics
from complaints.repository import event_t
from complaints.steps import Actor
from workflows.queries import count_by_state

pytestmark = pytest.mark.prefect


@pytest.fixture(scope="module", autouse=True)
def prefect_server() -> Iterator[None]:
    """One temporary Prefect server for the whole file; flow heartbeats off (each costs a
    second per flow run and only serves crash detection on a real server). Module-scoped:
    leaving the harness drains Prefect's event and log workers, whose background sends
    otherwise run on during later tests (and draw from the global ``random``, which made
    Hypothesis fail the replay property test as if its strategy had)."""
    quiet_prefect_env()
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60), temporary_settings(
        updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    ):
        yield


@contextmanager
def run_log() -> Iterator[list[logging.LogRecord]]:
    """What the flow runs log, as a worker shows it. Not caplog: Prefect's logging setup, run
    when the harness first imports it, takes pytest's handler off the root logger."""
    handler, logger = BufferingHandler(capacity=10_000), logging.getLogger("prefect.flow_runs")
    logger.addHandler(handler)
    try:
        yield handler.buffer
    finally:
        logger.removeHandler(handler)


def _point_flows_at(app, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """Flows build their application from the environment, as a served run does."""
    monkeypatch.setenv("COMPLAINTS_DATABASE_URL", app.settings.database_url)
    monkeypatch.setenv("COMPLAINTS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COMPLAINTS_IMPORT_SETTLE_SECONDS", "0")  # the files a test drops are complete
    return app


@pytest.fixture
def flow_env(app, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """On SQLite and PostgreSQL: for the exactly-once properties, which the databases provide."""
    return _point_flows_at(app, monkeypatch, tmp_path)


@pytest.fixture
def sqlite_flow_env(sqlite_app, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """On SQLite only: for the wiring (the services' tests cover both databases)."""
    return _point_flows_at(sqlite_app, monkeypatch, tmp_path)


def _awaiting_customer(app, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    refs = [take_in(app, external_id=f"AW-{i}") for i in range(n)]
    for ref in refs:
        walk(app, ref, ["assess", "need_info"])
    return refs


def _events(app, action: str) -> dict[int, int]:  # type: ignore[no-untyped-def]
    with app.db.read() as conn:
        rows = conn.execute(select(event_t.c.complaint_id, func.count()).where(event_t.c.action == action)
                            .group_by(event_t.c.complaint_id))
        return {cid: n for cid, n in rows}


def test_auto_close_flow_closes_overdue_complaints_once_and_a_second_run_fires_nothing(sqlite_flow_env, clock):
    from complaintflow.flows.sla import auto_close

    app = sqlite_flow_env
    refs = _awaiting_customer(app, 3)
    clock.advance(days=15)
    with run_log() as log:
        first = auto_close(now=clock.now())
    assert "3 timer(s) fired, 0 skipped, 0 failed" in [r.getMessage() for r in log]
    second = auto_close(now=clock.now())
    assert sorted(first["fired"]) == sorted(f"{r} workflow auto_close" for r in refs)
    assert second["fired"] == [] and second["batches"] == 1
    assert {app.engine.get(r).state for r in refs} == {"closed"}
    assert list(_events(app, "auto_close").values()) == [1, 1, 1]


def test_sla_sweep_flow_fires_every_due_timer_in_batches_and_only_once(flow_env, clock):
    from complaintflow.flows.sla import sla_sweep

    app = flow_env
    refs = _awaiting_customer(app, 5)
    clock.advance(days=15)
    result = sla_sweep(batch_size=2, now=clock.now())
    again = sla_sweep(batch_size=2, now=clock.now())
    assert sorted(f for f in result["fired"] if f.endswith("auto_close")) == sorted(
        f"{r} workflow auto_close" for r in refs)
    assert result["batches"] >= 3 and again["fired"] == []
    assert {app.engine.get(r).state for r in refs} == {"closed"}


def test_follow_ups_flow_starts_due_follow_ups_acts_on_overdue_promises_and_leaves_other_timers(sqlite_flow_env, clock):
    from complaintflow.flows.sla import follow_ups_due
    from escalation.services import promise

    app = sqlite_flow_env
    resolved = take_in(app, external_id="R-1")
    walk(app, resolved, ["assess", "valid", "propose", "accept"])
    promised = take_in(app, external_id="P-1")
    walk(app, promised, ["assess", "valid"])
    promise(app.engine, promised, clock.now() + timedelta(days=2), "call the customer back", Actor("hana", "handler"))
    waiting = _awaiting_customer(app, 1)[0]
    clock.advance(days=15)
    result = follow_ups_due(now=clock.now())
    assert [f for f in result["fired"] if "promise" not in f] == [f"{resolved} workflow start_follow_up"]
    assert [f for f in result["fired"] if "promise" in f] == [f"{promised} commitment promise_5"]
    assert app.engine.get(resolved).state == "follow_up"
    assert app.engine.get(waiting).state == "awaiting_customer"  # its auto_close is not a follow-up
    assert follow_ups_due(now=clock.now())["fired"] == []


@pytest.mark.parametrize("flow_path", ["complaintflow.flows.sla:auto_close", "complaintflow.flows.sla:sla_sweep"])
def test_a_task_failing_half_way_is_retried_and_fires_nothing_twice(flow_env, clock, monkeypatch, flow_path):
    from workflows.engine import WorkflowEngine

    module, _, name = flow_path.partition(":")
    run_flow = getattr(importlib.import_module(module), name)
    app = flow_env
    refs = _awaiting_customer(app, 4)
    clock.advance(days=15)
    real_apply, calls = WorkflowEngine.apply, {"n": 0}

    def crash_on_the_third_action(self, uow, case, action, actor, payload):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("worker lost its database connection")
        return real_apply(self, uow, case, action, actor, payload)

    monkeypatch.setattr(WorkflowEngine, "apply", crash_on_the_third_action)
    result = run_flow(now=clock.now(), batch_size=1)
    assert calls["n"] > 3  # the task crashed once, then its retry went on
    first, retry = result["attempts"]  # what each attempt did, the failed one's committed batches too
    assert first["error"] == "RuntimeError: worker lost its database connection" and retry["error"] is None
    assert first["fired"] >= 1 and retry["fired"] == len(result["fired"])
    assert {app.engine.get(r).state for r in refs} == {"closed"}
    assert list(_events(app, "auto_close").values()) == [1, 1, 1, 1]


def test_two_overlapping_sweeps_fire_each_timer_once(flow_env, clock):
    from complaintflow.flows.sla import sla_sweep

    app = flow_env
    refs = _awaiting_customer(app, 8)
    clock.advance(days=15)
    results: list[dict] = []
    runs = [threading.Thread(target=lambda: results.append(sla_sweep(batch_size=3, now=clock.now())))
            for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join()
    assert sum(f.endswith("auto_close") for r in results for f in r["fired"]) == 8
    assert list(_events(app, "auto_close").values()) == [1] * 8
    assert {app.engine.get(r).state for r in refs} == {"closed"}


def test_metrics_flow_stores_the_service_numbers_once_per_day(sqlite_flow_env, clock):
    from complaintflow.flows.metrics import metrics_snapshot

    app = sqlite_flow_env
    _awaiting_customer(app, 2)
    first = metrics_snapshot(now=clock.now())
    clock.advance(hours=1)
    second = metrics_snapshot(now=clock.now())
    with app.db.read() as conn:
        expected = metrics.compute(conn, clock.now())
    stored = metrics.snapshots(app.db)
    assert first["open_total"] == 2
    assert len(stored) == 1 and stored[0]["data"] == json.loads(json.dumps(expected))
    assert second["taken_at"] == clock.now().isoformat()


def test_nightly_root_cause_flow_links_what_the_service_links_and_a_rerun_creates_nothing(sqlite_flow_env, clock):
    from complaintflow.flows.root_cause import nightly_root_cause
    from root_cause.nightly import nightly

    app = sqlite_flow_env
    for i in range(3):
        take_in(app, external_id=f"L-{i}", description=f"The overdraft fee was charged twice on my account ({i})")
    with run_log() as log:
        first = nightly_root_cause(now=clock.now())
    again = nightly(app.db, app.taxonomy, clock.now())
    [summary] = [r.getMessage() for r in log if "complaint(s) linked" in r.getMessage()]
    assert summary.startswith(f"3 complaint(s) linked: {first['linking']['created']} link(s) created")
    assert first["linking"]["complaints"] == 3 and first["linking"]["created"] > 0
    assert again["linking"]["created"] == 0 and again["linking"]["proposed"] == first["linking"]["proposed"]


def test_import_folder_flow_imports_moves_and_reports_and_a_rerun_adds_nothing(sqlite_flow_env, tmp_path):
    from complaintflow.flows.intake import import_folder

    app = sqlite_flow_env
    inbox = Path(tmp_path / "data" / "inbox")
    inbox.mkdir(parents=True)
    (inbox / "batch1.csv").write_text("product,description,external_id\nLoan,Charged twice,E-1\nCard,Lost,E-2\n")
    (inbox / "broken.json").write_text("{not json")
    with run_log() as log:
        result = import_folder()
    assert result["created"] == 2 and result["failed"] == ["broken.json"]
    [summary] = [r for r in log if "file(s) imported" in r.getMessage()]
    assert summary.levelno == logging.WARNING and "2 complaint(s) created, 1 failed: broken.json" in summary.getMessage()
    assert (inbox / "processed" / "batch1.csv").exists() and (inbox / "failed" / "broken.json.report.json").exists()
    (inbox / "batch1.csv").write_text("product,description,external_id\nLoan,Charged twice,E-1\nCard,Lost,E-2\n")
    assert import_folder()["created"] == 0
    assert sum(count_by_state(app.engine).values()) == 2


def test_run_command_runs_a_flow_now_and_prints_its_result_as_json(sqlite_flow_env, clock):
    from complaintflow.cli.app import app as cli

    refs = _awaiting_customer(sqlite_flow_env, 1)
    when = (clock.now() + timedelta(days=15)).isoformat()
    out = CliRunner().invoke(cli, ["--db", sqlite_flow_env.settings.database_url, "--now", when, "--json", "run", "auto-close"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["result"]["fired"] == [f"{refs[0]} workflow auto_close"]


def test_registering_on_a_work_pool_that_does_not_exist_says_how_to_create_it(sqlite_flow_env, monkeypatch):
    from prefect.settings import PREFECT_API_URL

    from complaintflow.cli.app import app as cli

    monkeypatch.setenv("PREFECT_API_URL", str(PREFECT_API_URL.value()))
    out = CliRunner().invoke(cli, ["schedule", "--work-pool", "no-such-pool", "--flow", "metrics-snapshot"])
    assert out.exit_code == 1
    assert str(out.exception).endswith("create it with `prefect work-pool create no-such-pool --type process`")


def test_the_letters_flows_send_what_is_due_and_read_the_reply_onto_its_case(sqlite_flow_env, tmp_path, monkeypatch,
                                                                             clock):
    from letterwork import Mailbox, smtp_server, write_eml

    from complaintflow.flows.letters import deliver_outbox, read_replies

    app = sqlite_flow_env
    reference = take_in(app, customer={"name": "Ann Lee", "email": "ann@example.com"})
    walk(app, reference, ["assess", "need_info"])
    mailbox = Mailbox()
    with smtp_server(mailbox) as server:
        for name, value in (("SMTP_HOST", "127.0.0.1"), ("SMTP_PORT", str(server.port)), ("SMTP_STARTTLS", "false")):
            monkeypatch.setenv(f"COMPLAINTS_{name}", value)
        sent = deliver_outbox(now=clock.now())
        assert len(sent["sent"]) == 2 and deliver_outbox(now=clock.now())["sent"] == []
    question = next(m for m in mailbox.messages if "more information" in m.get_content())
    write_eml(tmp_path / "data" / "replies", "answer.eml",
              f"From: Ann Lee <ann@example.com>\nTo: complaints@localhost\nSubject: Re: {question['Subject']}\n"
              f"In-Reply-To: {question['Message-ID']}\nMessage-ID: <answer-1@example.com>\n\nThe second charge was on "
              "3 November.\n")
    read = read_replies(now=clock.now())
    assert [(f["outcome"], f["reference"]) for f in read["files"]] == [("on a case", reference)] and read["failed"] == []
    assert app.engine.get(reference).state == "assessing"
