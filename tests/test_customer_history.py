"""A customer's history: every complaint, letter and message of theirs, as the viewer's role
may see it; and search and history print hostile text as data on the command line."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from casework import take_in
from terminal import Run, terminal

from complaintflow.bootstrap import App
from complaints.errors import InvalidInput, NotFound, NotPermitted
from complaints.history import customer_history
from complaints.notes import add_note
from complaints.privacy import WITHHELD_NAME
from complaints.repository import CUSTOMER_MESSAGE, complaint_t
from complaints.steps import Actor, Step
from complaints.uow import UnitOfWork
from workflows.access import personal_data_rule

HANA = Actor("hana", "handler")
ANNA = {"name": "Anna Bērziņa", "email": "anna@example.lv"}


def _message(app: App, reference: str, text: str) -> None:
    with UnitOfWork(app.db) as uow:
        case = uow.cases.get(reference, for_update=True)
        step = Step.in_place(case, CUSTOMER_MESSAGE, Actor.system("replies"), app.clock.now(),
                             {"subject": "Re: my complaint", "text": text, "attachments": [{"name": "a.pdf"}]})
        uow.cases.write_step(case, step, expected_version=case.version)
        uow.commit()


def _anna(app: App) -> tuple[str, str]:
    first = take_in(app, description="Anna Bērziņa: charged twice, ring +44 7911 123456", customer=ANNA)
    second = take_in(app, description="Card blocked", customer=ANNA)
    take_in(app, description="Someone else's complaint", customer={"name": "Ina", "email": "ina@example.lv"})
    add_note(app.db, app.clock.now(), first, HANA, "internal: she sounded upset")
    add_note(app.db, app.clock.now(), first, HANA, "Dear Anna Bērziņa, we refund the fee", public=True)
    _message(app, second, "Thanks, Anna")
    return first, second


def shows(app: App, role: str) -> Callable[[str, int], bool]:
    return personal_data_rule(app.engine.registry, [role])


def test_the_history_holds_every_complaint_letter_and_message_of_the_customer_only(app: App) -> None:
    first, second = _anna(app)
    history = customer_history(app.db, "Anna@Example.lv", shows(app, "handler"), ("handler",))
    assert (history.customer.name, history.customer.email, history.customer.withheld) == (ANNA["name"], ANNA["email"], None)
    assert [c.reference for c in history.complaints] == [second, first], "the newest first"
    assert (history.total, history.page, history.pages) == (2, 1, 1)
    assert {n.reference for n in history.letters} == {first, second} and history.letters
    assert [(m.reference, m.direction, m.text, m.attachments) for m in history.messages] == [
        (first, "to_customer", "Dear Anna Bērziņa, we refund the fee", 0),
        (second, "from_customer", "Thanks, Anna", 1)]
    assert "upset" not in history.model_dump_json(), "internal notes stay on the case"
    by_id = customer_history(app.db, f"#{history.customer.id}", shows(app, "handler"))
    by_pseudonym = customer_history(app.db, history.customer.pseudonym, shows(app, "handler"))
    assert by_id == by_pseudonym == history


def test_a_role_not_shown_personal_data_reads_the_pseudonym_and_masked_text(app: App) -> None:
    _anna(app)
    pseudonym = customer_history(app.db, "anna@example.lv", shows(app, "handler")).customer.pseudonym
    history = customer_history(app.db, pseudonym, shows(app, "quality"), ("quality",))
    assert (history.customer.name, history.customer.email) == (None, None)
    assert history.customer.withheld == "personal data is not shown to role quality"
    text = history.model_dump_json()
    assert "Bērziņa" not in text and "7911" not in text and "anna@example.lv" not in text
    assert WITHHELD_NAME in history.complaints[-1].description and not history.complaints[-1].personal_data_shown
    assert history.messages[0].text == f"Dear {WITHHELD_NAME}, we refund the fee"


def test_a_role_not_shown_personal_data_may_not_look_a_customer_up_by_email(app: App) -> None:
    _anna(app)
    with pytest.raises(NotPermitted, match="look them up by pseudonym or id instead"):
        customer_history(app.db, "anna@example.lv", shows(app, "quality"), ("quality",))


def test_the_history_comes_a_page_of_complaints_at_a_time_with_their_letters_and_messages(app: App) -> None:
    references = [take_in(app, description=f"Complaint {n}", customer=ANNA) for n in range(5)]
    _message(app, references[0], "About the oldest one")
    pages = [customer_history(app.db, "anna@example.lv", shows(app, "handler"), page=n, per_page=2) for n in (1, 2, 3, 4)]
    assert [[c.reference for c in p.complaints] for p in pages] == [
        references[:2:-1], references[2:0:-1], references[:1], []]
    assert {(p.total, p.pages) for p in pages} == {(5, 3)}
    assert [{n.reference for n in p.letters} for p in pages] == [
        set(references[3:]), set(references[1:3]), {references[0]}, set()], "the letters of the page's complaints"
    assert [[m.text for m in p.messages] for p in pages] == [[], [], ["About the oldest one"], []]


def test_a_name_is_withheld_on_every_page_when_any_complaint_of_theirs_hides_it(app: App) -> None:
    oldest = take_in(app, customer=ANNA)
    take_in(app, customer=ANNA)
    anna = customer_history(app.db, "anna@example.lv", shows(app, "handler")).customer
    with UnitOfWork(app.db) as uow:  # the oldest was taken in under a version that hides personal data
        uow.conn.execute(complaint_t.update().where(complaint_t.c.reference == oldest).values(workflow_version=0))
        uow.commit()
    first_page = customer_history(app.db, anna.pseudonym, lambda name, version: version != 0, ("handler",), per_page=1)
    assert first_page.customer.name is None and first_page.customer.withheld
    assert first_page.complaints[0].personal_data_shown, "the complaint on the page shows its own texts"
    with pytest.raises(NotPermitted, match="by email address"):
        customer_history(app.db, "anna@example.lv", lambda name, version: version != 0, per_page=1)


@pytest.mark.parametrize(("page", "per_page", "message"), [
    (0, 50, "page: 0 is not a number from 1"),
    (1, 0, "per_page: 0 is not from 1 to 500"),
    (1, 501, "per_page: 501 is not from 1 to 500"),
])
def test_a_page_out_of_range_is_refused_naming_it(app: App, page: int, per_page: int, message: str) -> None:
    take_in(app, customer=ANNA)
    with pytest.raises(InvalidInput, match=re.escape(message)):
        customer_history(app.db, "anna@example.lv", shows(app, "handler"), page=page, per_page=per_page)


@pytest.mark.parametrize(("key", "error", "message"), [
    ("nobody@example.lv", NotFound, "No customer with email 'nobody@example.lv'"),
    ("999", NotFound, "No customer with id or pseudonym '999'"),
    ("not a key", InvalidInput, "is no email address, id"),
    ("", InvalidInput, "give an email address, an id or a pseudonym"),
])
def test_an_unknown_or_malformed_customer_is_refused_saying_why(app: App, key: str, error: type, message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        customer_history(app.db, key, shows(app, "handler"))


HOSTILE = "[bold]Eve[/] <script>alert(1)</script> \x1b[2J\x1b]0;pwned\x07 Card\u202egnp.exe refund"
STYLE = re.compile(r"\x1b\[[0-9;]*m")


def commands_in(text: str) -> list[str]:
    return re.findall(r"\x1b[^\[]|\x1b\[[0-9;?]*[^0-9;?m]|[\u202a-\u202e\u2066-\u2069\x07]", STYLE.sub("", text))


@pytest.fixture
def run(sqlite_app: App, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    return terminal(monkeypatch, capsys, "--db", sqlite_app.db.url)


def test_search_and_history_print_markup_and_controls_as_data(sqlite_app: App, run) -> None:  # type: ignore[no-untyped-def]
    reference = take_in(sqlite_app, description=HOSTILE, product="Card\x1b[2J",
                        customer={"name": "Eve", "email": "eve@example.com"})
    add_note(sqlite_app.db, sqlite_app.clock.now(), reference, HANA, HOSTILE, public=True)
    for args in (("search", "refund"), ("customer", "show", "eve@example.com"), ("search", "\x1b[2J[red]x")):
        code, out, err = run(*args)
        assert code == 0 and commands_in(out + err) == [], args
    out = run("search", "refund")[1]
    plain = STYLE.sub("", out)
    assert "[bold]Eve[/]" in plain and "<script>alert(1)</script>" in plain and "␛[2J" in plain
    assert "<U+202E>" in plain and reference in plain
    code, out, _ = run("--json", "search", "refund")
    page = json.loads(out)
    assert code == 0 and "\x1b" not in out and page["hits"][0]["snippet"].startswith("[bold]Eve[/] <script>")
    history = json.loads(run("--json", "customer", "show", "eve@example.com")[1])
    assert history["messages"][0]["text"] == HOSTILE


def test_the_quality_role_is_refused_a_search_by_a_customers_email_on_the_command_line(sqlite_app: App, run) -> None:  # type: ignore[no-untyped-def]
    take_in(sqlite_app, customer={"name": "Eve", "email": "eve@example.com"})
    code, _, err = run("--role", "quality", "search", "--customer", "eve@example.com")
    assert code == 1 and "needs a role shown personal data" in err
    assert run("search", "--customer", "eve@example.com", "--state", "nowhere")[0] == 1


def test_the_command_line_history_says_which_page_it_shows_and_how_to_see_more(sqlite_app: App, run) -> None:  # type: ignore[no-untyped-def]
    older, newer = (take_in(sqlite_app, customer=ANNA) for _ in range(2))
    code, out, _ = run("customer", "show", "anna@example.lv", "--per-page", "1")
    assert code == 0 and "Complaints 1-1 of 2 (page 1 of 2; --page 2 for older ones)" in out
    assert newer in out and older not in out
    page = json.loads(run("--json", "customer", "show", "anna@example.lv", "--per-page", "1", "--page", "2")[1])
    assert ([c["reference"] for c in page["complaints"]], page["total"], page["pages"]) == ([older], 2, 2)
    code, _, err = run("customer", "show", "anna@example.lv", "--per-page", "0")
    assert code != 0 and "--per-page" in err
