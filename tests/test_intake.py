"""Taking complaints in from files and channels: bad rows reported by number and reason while
good rows are kept, the same external id never stored twice, every complaint acknowledged at
once, customers recognised, and a failed batch leaving nothing half-written."""

from __future__ import annotations

import gc
import json
import re
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from casework import complaint, stored, take_in
from conftest import CFPB_SAMPLE, T0
from sqlalchemy import event, func, select

from complaintflow.bootstrap import App
from complaints.errors import ImportRowError, InvalidInput, NotPermitted
from complaints.importers import count_records, parse_cfpb_date, read_file
from complaints.repository import complaint_t, counter_t, customer_t, event_t, note_t, timer_t
from complaints.schemas import ComplaintIn
from complaints.steps import Actor, Case, Step
from complaints.uow import UnitOfWork
from workflows.compiled import CompiledWorkflow
from workflows.intake import IntakeReport

CFPB_HEADER = ("Date received,Product,Sub-product,Issue,Sub-issue,Consumer complaint narrative,Company,State,"
               "Submitted via,Complaint ID\n")


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def import_file(app: App, path: Path, actor: Actor) -> IntakeReport:
    return app.intake.take_in(read_file(path), actor)


def counts(app: App) -> dict[str, int]:
    with app.db.read() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (complaint_t, event_t, timer_t, note_t, customer_t)}


def by_external_id(app: App, external_id: str) -> str:
    with app.db.read() as conn:
        return conn.execute(select(complaint_t.c.reference).where(complaint_t.c.external_id == external_id)).scalar_one()


# -- bad rows are reported, good rows kept -----------------------------------------------------


def test_bad_csv_rows_are_reported_with_row_number_and_reason_and_good_rows_kept(
    app: App, handler: Actor, tmp_path: Path
) -> None:
    path = write(tmp_path / "complaints.csv", (
        "external_id,product,description,channel,customer_name,customer_email\n"
        "E1,Loan,Charged twice,web,Ann,ann@example.com\n"
        "E2,,No product given,web,,\n"
        "E3,Loan,Sent by pigeon,pigeon,,\n"
        "E4,Loan,Bad email,web,Bob,not-an-email\n"
        "E5,Loan,\"A description\nover two lines\",email,,\n"
        "E6,Loan,One cell too many,web,,,extra\n"
    ))
    report = import_file(app, path, handler)
    assert [row for row, _ in report.created] == [2, 6]
    assert report.errors == [
        (3, "row 3: product: Field required"),
        (4, "row 4: channel: must be 'email', 'phone', 'web', 'letter', 'in_person', 'social', 'chat', "
            "'regulator' or 'api', got 'pigeon'"),
        (5, "row 5: customer.email: not an email address (name@example.com), got 'not-an-email'"),
        (7, "row 7: 1 cell(s) more than the header has"),  # a spreadsheet row, though E5 spans two lines
    ]
    assert stored(app, by_external_id(app, "E5"))["state"] == "acknowledged"
    assert counts(app)["complaint"] == 2


def test_a_complaint_received_in_the_future_is_refused_with_its_row(app: App, handler: Actor, tmp_path: Path) -> None:
    later = app.clock.now() + timedelta(days=400)
    path = write(tmp_path / "complaints.json", json.dumps([
        {"external_id": "F1", "product": "Card", "description": "Fee", "received_at": later.isoformat()},
        {"external_id": "F2", "product": "Card", "description": "Fee",  # a date ahead of UTC is fine
         "received_at": (app.clock.now() + timedelta(hours=20)).isoformat()},
    ]))
    report = import_file(app, path, handler)
    problem = (f"received_at: {later:%Y-%m-%d %H:%M} UTC is in the future (now {app.clock.now():%Y-%m-%d %H:%M} UTC)")
    assert report.errors == [(1, f"row 1: {problem}")]
    assert report.created == [(2, by_external_id(app, "F2"))]
    with pytest.raises(InvalidInput, match=rf"^Invalid complaint: {re.escape(problem)}$"):
        app.intake.take_in_one(complaint(received_at=later), handler)


def test_a_csv_without_the_required_columns_is_refused_as_a_whole(tmp_path: Path) -> None:
    path = write(tmp_path / "complaints.csv", "external_id,summary\nE1,Charged twice\n")
    with pytest.raises(InvalidInput, match=r"^complaints\.csv: header: missing column 'product'; missing column 'description'$"):
        list(read_file(path))


def test_bad_json_items_are_reported_by_position_and_good_ones_kept(app: App, handler: Actor, tmp_path: Path) -> None:
    path = write(tmp_path / "complaints.json", json.dumps({"complaints": [
        {"external_id": "J1", "product": "Card", "description": "Blocked abroad"},
        5,
        {"external_id": "J3", "product": "Card"},
        {"external_id": "J4", "product": "Card", "description": "Fee", "colour": "red"},
        {"external_id": "J5", "product": "Card", "description": "Fee", "severity": "urgent"},
        {"external_id": "J6", "product": "Card", "description": "Fee", "severty": "high"},
        {"external_id": "J7", "product": "Card", "description": "Fee", "customer": {"emial": "a@example.com"}},
    ]}))
    report = import_file(app, path, handler)
    assert report.created == [(1, by_external_id(app, "J1"))]
    assert report.errors == [
        (2, "row 2: expected an object, got int"),
        (3, "row 3: description: Field required"),
        (4, "row 4: colour: unknown field"),
        (5, "row 5: severity: must be 'low', 'medium', 'high' or 'critical', got 'urgent'"),
        (6, "row 6: severty: unknown field; did you mean 'severity'?"),
        (7, "row 7: customer.emial: unknown field; did you mean 'email'?"),
    ]


def test_bad_json_lines_are_reported_by_line_number(app: App, handler: Actor, tmp_path: Path) -> None:
    path = write(tmp_path / "complaints.jsonl", (
        '{"external_id": "L1", "product": "Card", "description": "Blocked"}\n'
        "{oops\n"
        "\n"
        '{"external_id": "L4", "product": "Card", "description": "Fee"}\n'
    ))
    report = import_file(app, path, handler)
    assert [row for row, _ in report.created] == [1, 4]
    assert report.errors == [(2, "row 2: not valid JSON: Expecting property name enclosed in double quotes")]


def test_a_json_file_that_is_not_json_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path / "complaints.json", '[\n  {"product": "Card",}\n]')
    with pytest.raises(InvalidInput, match=r"^complaints\.json: line 2, column \d+: not valid JSON: "):
        list(read_file(path))


def test_bad_cfpb_rows_are_reported_with_row_number_and_reason(app: App, handler: Actor, tmp_path: Path) -> None:
    path = write(tmp_path / "cfpb.csv", CFPB_HEADER + (
        "03/22/23,Payday loan,Installment loan,Fees,None,Charged fees I did not expect,ACME,TX,Web,100\n"
        "yesterday,Payday loan,None,Fees,None,Some text,ACME,TX,Web,101\n"
        "03/22/23,None,None,Fees,None,Some text,ACME,TX,Web,102\n"
        "03/22/23,Payday loan,None,None,None,None,ACME,TX,Web,103\n"
    ))
    report = import_file(app, path, handler)
    assert report.created == [(2, by_external_id(app, "100"))]
    assert report.errors == [
        (3, "row 3: received_at (column 'Date received'): 'yesterday' is not a date (e.g. 2020-03-18, 2020/3/18, "
            "18 March 2020; --date-format reads others)"),
        (4, "row 4: product (column 'Product'): Field required"),
        (5, "row 5: description (columns 'Consumer complaint narrative', 'Issue', 'Sub-issue'): Field required"),
    ]


def test_an_import_file_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"Import file '.*missing\.csv': does not exist or is not a file"):
        read_file(tmp_path / "missing.csv")


def test_records_are_counted_for_the_progress_bar_as_the_import_will_read_them(tmp_path: Path) -> None:
    multi_line = write(tmp_path / "a.csv", 'external_id,product,description\nE1,Loan,"two\nlines"\nE2,,bad row\n')
    lines = write(tmp_path / "a.jsonl", '{"product": "Card"}\n\n{"product": 3}\n')
    listed = write(tmp_path / "a.json", json.dumps({"complaints": [{"product": "Card"}, {}, {}]}))
    for path in (multi_line, lines, listed):
        assert count_records(path) == sum(1 for _ in read_file(path)), path.name
    assert count_records(write(tmp_path / "broken.json", "[{")) is None  # the import itself says why
    assert count_records(tmp_path / "missing.csv") is None


# -- the CFPB format ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["03/22/23", "03/22/2023", "2023-03-22", " 03/22/23 "])
def test_cfpb_dates_are_read_in_each_export_format(text: str) -> None:
    assert parse_cfpb_date(text) == datetime(2023, 3, 22, tzinfo=UTC)


def test_cfpb_rows_keep_their_dates_channels_and_fields(app: App, handler: Actor, tmp_path: Path) -> None:
    path = write(tmp_path / "cfpb.csv", CFPB_HEADER + (
        "03/22/23,Payday loan,Installment loan,Fees,Unexpected fee,Charged fees,ACME,TX,Web,100\n"
        "03/23/2023,Payday loan,None,Fees,None,Charged fees,ACME,TX,Phone,101\n"
        "2023-03-24,Payday loan,None,Fees,None,Charged fees,ACME,TX,Referral,102\n"
    ))
    report = import_file(app, path, handler)
    assert report.ok and [ref for _, ref in report.created] == ["C-2023-000001", "C-2023-000002", "C-2023-000003"]
    with app.db.read() as conn:
        rows = conn.execute(select(complaint_t).order_by(complaint_t.c.external_id)).all()
    assert [(r.external_id, r.received_at.date().isoformat(), r.channel) for r in rows] == [
        ("100", "2023-03-22", "web"), ("101", "2023-03-23", "phone"), ("102", "2023-03-24", "regulator"),
    ]
    first = rows[0]
    assert (first.product, first.sub_product, first.company, first.category, first.sub_category, first.region) == (
        "Payday loan", "Installment loan", "ACME", "Fees", "Unexpected fee", "TX",
    )


def test_a_missing_cfpb_narrative_is_replaced_by_issue_and_sub_issue(app: App, handler: Actor, tmp_path: Path) -> None:
    path = write(tmp_path / "cfpb.csv", CFPB_HEADER + (
        "03/22/23,Payday loan,None,Charged fees you didn't expect,Fee was higher than agreed,None,ACME,TX,Web,200\n"
        "03/22/23,Payday loan,None,Charged fees you didn't expect,None,,ACME,TX,Web,201\n"
    ))
    assert import_file(app, path, handler).ok
    with app.db.read() as conn:
        descriptions = conn.execute(select(complaint_t.c.description).order_by(complaint_t.c.external_id)).scalars().all()
    assert descriptions == [
        "Charged fees you didn't expect / Fee was higher than agreed",
        "Charged fees you didn't expect",
    ]


@pytest.mark.slow
def test_the_real_cfpb_sample_imports_every_row(sqlite_app: App, handler: Actor) -> None:
    # SQLite only: the same code path on PostgreSQL is covered by the small files above, and the
    # 2,827 rows take long enough (SLA clocks start for each) to run once.
    if not CFPB_SAMPLE.is_file():
        pytest.skip(f"{CFPB_SAMPLE} is absent")
    report = import_file(sqlite_app, CFPB_SAMPLE, handler)
    assert (len(report.created), report.duplicates, report.errors) == (2827, [], [])
    again = import_file(sqlite_app, CFPB_SAMPLE, handler)
    assert (again.created, len(again.duplicates)) == ([], 2827)
    assert counts(sqlite_app)["complaint"] == 2827


# -- idempotence -------------------------------------------------------------------------------


def test_the_same_external_id_in_two_files_makes_one_complaint(app: App, handler: Actor, tmp_path: Path) -> None:
    first = write(tmp_path / "monday.csv", "external_id,product,description\nE1,Loan,Charged twice\n")
    second = write(tmp_path / "tuesday.json", json.dumps([{"external_id": "E1", "product": "Loan", "description": "Again"}]))
    created = import_file(app, first, handler)
    repeated = import_file(app, second, handler)
    reference = created.created[0][1]
    assert repeated.created == [] and repeated.duplicates == [(1, "E1", reference)]
    assert counts(app)["complaint"] == 1


def test_the_same_external_id_twice_in_one_file_makes_one_complaint(app: App, handler: Actor, tmp_path: Path) -> None:
    path = write(tmp_path / "twice.csv", "external_id,product,description\nE1,Loan,Charged twice\nE2,Loan,Other\nE1,Loan,Again\n")
    report = import_file(app, path, handler)
    assert [row for row, _ in report.created] == [2, 3]
    assert report.duplicates == [(4, "E1", "(earlier in this import)")]
    assert counts(app)["complaint"] == 2


def test_taking_in_a_known_external_id_returns_the_existing_reference(app: App, handler: Actor) -> None:
    reference, created = app.intake.take_in_one(complaint(external_id="X-1"), handler)
    again, created_again = app.intake.take_in_one(complaint(external_id="X-1", description="resent"), handler)
    assert (created, created_again, again) == (True, False, reference)
    assert stored(app, reference)["version"] == 2


def test_complaints_without_an_external_id_are_always_new(app: App, handler: Actor) -> None:
    assert take_in(app) != take_in(app)
    assert counts(app)["complaint"] == 2


# -- acknowledgement and customers -------------------------------------------------------------


def test_a_new_complaint_is_acknowledged_at_once_with_reference_and_timeline(app: App, handler: Actor) -> None:
    reference = take_in(app, customer={"name": "Ann Lee", "email": "ann@example.com"})
    case = stored(app, reference)
    assert (case["state"], case["tier"], case["queue"], case["version"]) == ("acknowledged", "frontline", "frontline", 2)
    assert [(e["action"], e["to_state"]) for e in case["events"]] == [("receive", "received"), ("acknowledge", "acknowledged")]
    [ack] = case["notifications"]
    assessment_by = f"{T0 + timedelta(days=5):%-d %B %Y}"
    final_by = f"{T0 + timedelta(days=56):%-d %B %Y}"
    assert (ack["template"], ack["status"], ack["event_seq"], ack["created_at"]) == ("acknowledgement", "queued", 2, T0)
    assert ack["subject"] == f"Your complaint {reference}"
    assert ack["body"] == (
        f"Dear Ann Lee,\n\nThank you for contacting us. We received your complaint on 23 November 2026. Its "
        f"reference is {reference}: please quote it when you write to us, or simply reply to this message.\n\n"
        f"By {assessment_by} we will tell you whether we can look into your complaint, and you will have our "
        f"final response by {final_by} at the latest."
    )


def test_the_intake_event_keeps_what_was_received(app: App, handler: Actor) -> None:
    reference = take_in(app, channel="phone", external_id="P-7", severity="high")
    receive = stored(app, reference)["events"][0]
    assert receive["payload"] | {} == {
        "channel": "phone", "product": "Current account", "severity": "high", "language": "en",
        "external_id": "P-7", "received_at": T0.isoformat(), "description": "I was charged twice for one transfer.",
    }
    assert (receive["actor"], receive["role"]) == ("hana", "handler")


def test_a_customer_is_recognised_by_email_across_complaints(app: App, handler: Actor) -> None:
    first = take_in(app, customer={"name": "Ann Lee", "email": "ann@example.com"})
    second = take_in(app, customer={"name": "A. Lee", "email": "ANN@Example.com"})
    other = take_in(app, customer={"name": "Ann Lee", "email": "ann.lee@example.org"})
    with app.db.read() as conn:
        owner = dict(conn.execute(select(complaint_t.c.reference, complaint_t.c.customer_id)).all())
        customers = conn.execute(select(func.count()).select_from(customer_t)).scalar_one()
    assert owner[first] == owner[second] != owner[other]
    assert customers == 2


def test_customers_in_one_import_are_matched_to_each_other_and_to_earlier_ones(
    app: App, handler: Actor, tmp_path: Path
) -> None:
    earlier = take_in(app, customer={"email": "ann@example.com"})
    path = write(tmp_path / "batch.csv", (
        "product,description,customer_email,customer_name\n"
        "Loan,One,ann@example.com,Ann\n"
        "Loan,Two,bob@example.com,Bob\n"
        "Loan,Three,bob@example.com,Bob\n"
        "Loan,Four,,Nameless\n"
    ))
    assert import_file(app, path, handler).ok
    with app.db.read() as conn:
        owners = conn.execute(select(complaint_t.c.customer_id).order_by(complaint_t.c.id)).scalars().all()
    assert owners[0] == owners[1] and owners[2] == owners[3] and len(set(owners)) == 3
    assert stored(app, earlier)["state"] == "acknowledged"


# -- transactions ------------------------------------------------------------------------------


class _FailOn:
    """Fails the intake step of one complaint, as a broken SLA clock or a lost connection would."""

    def __init__(self, external_id: str):
        self.external_id = external_id

    def after_steps(self, uow: UnitOfWork, workflow: CompiledWorkflow, items: Sequence[tuple[Case, Step]]) -> None:
        for before, step in items:
            if step.action == "acknowledge" and before.fields.get("external_id") == self.external_id:
                raise RuntimeError(f"failed while acknowledging {self.external_id}")


def test_an_intake_batch_that_fails_mid_way_leaves_nothing_half_written(app: App, handler: Actor) -> None:
    take_in(app, external_id="BEFORE")
    before = counts(app)
    with UnitOfWork(app.db) as uow:
        next_number = uow.conn.execute(select(counter_t.c.next_number)).scalar_one()
    app.engine.observers.append(_FailOn("B3"))
    records = [(i, complaint(external_id=f"B{i}", customer={"email": f"c{i}@example.com"})) for i in range(1, 6)]
    with pytest.raises(RuntimeError, match="failed while acknowledging B3"):
        app.intake.take_in(records, handler)
    assert counts(app) == before
    with UnitOfWork(app.db) as uow:
        assert uow.conn.execute(select(counter_t.c.next_number)).scalar_one() == next_number


def test_batches_before_the_failing_one_are_kept_whole_and_a_rerun_completes_the_import(app: App, handler: Actor) -> None:
    app.intake.batch_size = 2
    failing = _FailOn("B3")
    app.engine.observers.append(failing)
    records = [(i, complaint(external_id=f"B{i}")) for i in range(1, 6)]
    with pytest.raises(RuntimeError):
        app.intake.take_in(records, handler)
    assert counts(app)["complaint"] == 2
    app.engine.observers.remove(failing)
    rerun = app.intake.take_in(records, handler)
    assert ([row for row, _ in rerun.created], [row for row, *_ in rerun.duplicates]) == ([3, 4, 5], [1, 2])
    assert counts(app)["complaint"] == 5


def test_progress_is_reported_for_a_batch_once_it_is_committed(app: App, handler: Actor) -> None:
    app.intake.batch_size = 2
    heard: list[tuple[int, int]] = []  # (rows in the batch, complaints another connection sees)
    records = [(i, complaint(external_id=f"P{i}")) for i in range(1, 6)]
    app.intake.take_in(records, handler, on_batch=lambda n: heard.append((n, counts(app)["complaint"])))
    assert heard == [(2, 2), (2, 4), (1, 5)]


def test_batches_commit_beside_the_reading_of_the_next_and_the_last_commits_in_the_callers_thread(
    app: App, handler: Actor
) -> None:
    app.intake.batch_size = 2
    committed_on: list[str] = []

    def listen(conn: Any) -> None:
        committed_on.append(threading.current_thread().name)

    event.listen(app.db.engine, "commit", listen)
    try:
        app.intake.take_in([(i, complaint(external_id=f"T{i}")) for i in range(1, 6)], handler)
        main = threading.current_thread().name
        assert [name == main for name in committed_on] == [False, False, True]
        committed_on.clear()
        take_in(app, external_id="T-alone")  # one complaint: no helper thread at all
        assert committed_on == [main]
    finally:
        event.remove(app.db.engine, "commit", listen)


def test_a_batch_whose_commit_fails_is_not_stored_and_the_batches_before_it_are(app: App, handler: Actor) -> None:
    app.intake.batch_size = 2
    commits: list[int] = []

    def second_fails(conn: object) -> None:
        commits.append(1)
        if len(commits) == 2:
            raise RuntimeError("the disk is full")

    records = [(i, complaint(external_id=f"F{i}")) for i in range(1, 6)]
    event.listen(app.db.engine, "commit", second_fails)
    try:
        with pytest.raises(RuntimeError, match="the disk is full"):
            app.intake.take_in(records, handler)
    finally:
        event.remove(app.db.engine, "commit", second_fails)
    assert counts(app)["complaint"] == 2
    rerun = app.intake.take_in(records, handler)
    assert ([row for row, _ in rerun.created], [row for row, *_ in rerun.duplicates]) == ([3, 4, 5], [1, 2])


def test_a_file_that_breaks_off_while_a_batch_commits_keeps_that_batch(app: App, handler: Actor) -> None:
    app.intake.batch_size = 2

    def rows() -> Iterator[tuple[int, ComplaintIn]]:
        yield from ((i, complaint(external_id=f"R{i}")) for i in range(1, 4))
        raise InvalidInput("export.csv: row 4", ["the file ends in the middle of a row"])

    with pytest.raises(InvalidInput, match="row 4"):
        app.intake.take_in(rows(), handler)
    assert counts(app)["complaint"] == 2  # the first batch; the second was never whole


def test_the_log_is_copied_back_after_each_commit_and_a_failed_copy_stops_the_import(
    app: App, handler: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.intake.batch_size = 2
    seen: list[int] = []  # complaints committed when each checkpoint ran
    checkpoint = app.db.checkpoint

    def spy() -> None:
        seen.append(counts(app)["complaint"])
        checkpoint()

    monkeypatch.setattr(app.db, "checkpoint", spy)
    app.intake.take_in([(i, complaint(external_id=f"W{i}")) for i in range(1, 6)], handler)
    assert seen and set(seen) <= {2, 4, 5}, "a checkpoint follows a commit"

    def broken() -> None:
        raise OSError("disk I/O error")

    monkeypatch.setattr(app.db, "checkpoint", broken)
    with pytest.raises(OSError, match="disk I/O error"):
        app.intake.take_in([(i, complaint(external_id=f"X{i}")) for i in range(1, 9)], handler)
    assert 5 < counts(app)["complaint"] < 13, "whole batches before the failure are kept"


def test_rows_that_failed_parsing_are_reported_beside_the_stored_ones(app: App, handler: Actor) -> None:
    bad = ImportRowError(3, ["product: Field required"])
    report = app.intake.take_in([(2, complaint(external_id="G2")), (3, bad), (4, complaint(external_id="G4"))], handler)
    assert [row for row, _ in report.created] == [2, 4]
    assert report.errors == [(3, "row 3: product: Field required")] and not report.ok


class _CollectorSeen:
    """Notes whether Python's cyclic garbage collector was running while a batch was written."""

    def __init__(self, fail: bool = False) -> None:
        self.seen: list[bool] = []
        self.fail = fail

    def after_steps(self, uow: UnitOfWork, workflow: CompiledWorkflow, items: Sequence[tuple[Case, Step]]) -> None:
        self.seen.append(gc.isenabled())
        if self.fail:
            raise RuntimeError("batch refused")


@pytest.mark.parametrize("fail", [False, True], ids=["stored", "failed"])
def test_the_garbage_collector_pauses_for_each_batch_and_runs_again_after_it(
    app: App, handler: Actor, fail: bool
) -> None:
    seen = _CollectorSeen(fail)
    app.engine.observers.append(seen)
    app.intake.batch_size = 2
    assert gc.isenabled()
    try:
        app.intake.take_in([(i, complaint(external_id=f"GC{i}")) for i in range(1, 6)], handler)
    except RuntimeError:
        assert fail
    assert seen.seen == ([False] if fail else [False, False, False])
    assert gc.isenabled()


def test_intake_leaves_a_collector_turned_off_elsewhere_off(app: App, handler: Actor) -> None:
    gc.disable()
    try:
        take_in(app, external_id="GC-OFF")
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_cfpb_placeholders_for_nothing_are_empty_and_long_text_is_kept_as_written(
    app: App, handler: Actor, tmp_path: Path
) -> None:
    narrative = "  N/A is what they wrote on my FEE statement, twice.  "
    path = write(tmp_path / "cfpb.csv", CFPB_HEADER + (
        f'03/22/23,Payday loan, N/A ,Fees,NULL,"{narrative}",ACME,TX,Web,300\n'
        "03/22/23,Payday loan,none,Fees,None, n/a ,ACME,TX,Web,301\n"
    ))
    assert import_file(app, path, handler).ok
    with app.db.read() as conn:
        rows = conn.execute(select(complaint_t).order_by(complaint_t.c.external_id)).all()
    assert [(r.sub_product, r.sub_category) for r in rows] == [(None, None), (None, None)]
    assert [r.description for r in rows] == [narrative.strip(), "Fees"]


def test_only_a_role_shown_personal_data_or_the_system_takes_complaints_in(app: App) -> None:
    with pytest.raises(NotPermitted, match="Role 'quality' may not take complaints in.*act as one of: handler"):
        app.intake.take_in_one(complaint(external_id="Q-1"), Actor("quinn", "quality"))
    with pytest.raises(NotPermitted):
        app.intake.take_in([(1, complaint(external_id="Q-2"))], Actor("quinn", "quality"))
    with app.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(complaint_t)).scalar() == 0, "nothing stored"
    assert app.intake.take_in_one(complaint(external_id="S-1"), Actor.system("inbox"))[1]
    assert app.intake.take_in_one(complaint(external_id="H-1"), Actor("sam", "supervisor"))[1]
