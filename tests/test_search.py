"""Full-text search: ranked, filtered and paged, in English and word for word in LV, EL and TR,
over descriptions, notes and customers' messages, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from casework import take_in, walk
from conftest import make_app
from sqlalchemy import text

from complaintflow.bootstrap import App, init_database
from complaintflow.migrations import downgrade, upgrade
from complaintflow.tables import metadata
from complaints.clock import FixedClock
from complaints.db import Database
from complaints.errors import InvalidInput, NotFound, NotPermitted
from complaints.history import customer_history, find_customer
from complaints.notes import add_note
from complaints.privacy import erase_customer
from complaints.repository import CUSTOMER_MESSAGE
from complaints.search import SearchPage, SearchQuery, make_snippet, parse_terms, search_complaints
from complaints.steps import Actor, Step
from complaints.uow import UnitOfWork
from workflows.access import personal_data_rule, search

HANA = Actor("hana", "handler")


def everything(name: str, version: int) -> bool:
    return True


def find(app: App, text: str = "", **filters: object) -> SearchPage:
    return search_complaints(app.db, SearchQuery.parse({"text": text, **filters}), everything)


def refs(page: SearchPage) -> list[str]:
    return [hit.reference for hit in page.hits]


def test_the_complaint_that_says_it_most_ranks_first(app: App) -> None:
    once = take_in(app, description="A long letter about many things: the branch, the queue, the staff, and a fee.")
    often = take_in(app, description="Fee, fee, fee: the fee again.")
    take_in(app, description="Nothing to do with it.")
    page = find(app, "fee")
    assert refs(page) == [often, once] and page.total == 2
    assert page.hits[0].score is not None and page.hits[1].score is not None
    assert page.hits[0].score > page.hits[1].score


def test_english_words_are_found_by_their_stem_and_phrases_in_order(app: App) -> None:
    charged = take_in(app, description="I was charged twice for the monthly fee")
    take_in(app, description="The fee was monthly, and twice too high")
    assert refs(find(app, "charges")) == [charged]
    assert refs(find(app, '"monthly fee"')) == [charged]
    assert refs(find(app, "twice -charged")) != [] and charged not in refs(find(app, "twice -charged"))


@pytest.mark.parametrize(("language", "text", "word"), [
    ("lv", "Karte bloķēta bez iemesla, nauda noņemta divreiz", "bloķēta"),
    ("el", "Χρεώθηκα δύο φορές για την ίδια συναλλαγή", "συναλλαγή"),
    ("tr", "İşlem ücreti iki kez alındı, iade istiyorum", "İŞLEM"),
])
def test_latvian_greek_and_turkish_texts_are_found_by_their_words(app: App, language: str, text: str, word: str) -> None:
    reference = take_in(app, description=text, language=language)
    take_in(app, description="Charged twice for one transfer")
    page = find(app, word)
    assert refs(page) == [reference]
    assert page.hits[0].language == language and page.hits[0].highlights, "the word found is highlighted"


def highlighted(page: SearchPage) -> list[str]:
    hit = page.hits[0]
    return [hit.snippet[start:end] for start, end in hit.highlights]


@pytest.mark.parametrize(("language", "text", "typed", "stored", "on_sqlite"), [
    ("lv", "Karte bloķēta bez iemesla, nauda noņemta divreiz", "bloketa", ["bloķēta"], True),
    ("tr", "İşlem ücreti iki kez alındı, iade istiyorum", "islem UCRETI", ["İşlem", "ücreti"], True),
    ("en", "The café charged me twice", "cafe", ["café"], True),
    # SQLite's unicode61 tokenizer removes the accents of Latin letters only, and ı has none
    ("el", "Χρεώθηκα δύο φορές για την ίδια συναλλαγή", "συναλλαγη", ["συναλλαγή"], False),
    ("tr", "İşlem ücreti iki kez alındı, iade istiyorum", "alindi", ["alındı"], False),
])
def test_a_word_typed_without_accents_finds_the_text_and_is_highlighted(
    app: App, language: str, text: str, typed: str, stored: list[str], on_sqlite: bool
) -> None:
    reference = take_in(app, description=text, language=language)
    take_in(app, description="Charged twice for one transfer")
    page = find(app, typed)
    if app.db.dialect == "sqlite" and not on_sqlite:
        assert page.total == 0 and refs(find(app, stored[0])) == [reference]
    else:
        assert refs(page) == [reference] and highlighted(page) == stored


def test_notes_comments_and_customers_messages_are_searched_with_where_they_were_found(app: App) -> None:
    noted, commented, written = (take_in(app, description="Card declined") for _ in range(3))
    add_note(app.db, app.clock.now(), noted, HANA, "Escalated to the chargeback desk")
    add_note(app.db, app.clock.now(), commented, HANA, "Your chargeback is under way", public=True)
    with UnitOfWork(app.db) as uow:
        case = uow.cases.get(written, for_update=True)
        step = Step.in_place(case, CUSTOMER_MESSAGE, Actor.system("replies"), app.clock.now(),
                             {"subject": "Re: my card", "text": "Where is my chargeback?"})
        uow.cases.write_step(case, step, expected_version=case.version)
        uow.commit()
    found = {hit.reference: hit.source for hit in find(app, "chargeback").hits}
    assert found == {noted: "note", commented: "comment", written: "customer_message"}


def test_a_word_left_out_leaves_out_the_complaint_whichever_of_its_texts_holds_it(app: App) -> None:
    noted = take_in(app, description="Refund refused")
    plain = take_in(app, description="Refund refused")
    add_note(app.db, app.clock.now(), noted, HANA, "The chargeback desk has it")
    assert sorted(refs(find(app, "refund"))) == sorted([noted, plain])
    assert refs(find(app, "refund -chargeback")) == [plain]
    assert refs(find(app, 'refund -"chargeback desk" -nothing')) == [plain]


def _filtered(app: App) -> tuple[str, str]:
    """Two complaints with the same words: ``plain`` as taken in, ``worked`` changed in every
    way a filter can tell."""
    plain = take_in(app, description="Refund refused", product="Card", company="Acme",
                    received_at=datetime(2026, 10, 1, 12, tzinfo=UTC))
    worked = take_in(app, description="Refund refused", product="Loan", company="Bolt",
                     received_at=datetime(2026, 11, 20, 12, tzinfo=UTC),
                     customer={"name": "Ina Ozola", "email": "ina@example.lv"})
    walk(app, worked, ["assess", "valid", "escalate", "assign"])
    return plain, worked


def test_each_filter_keeps_only_the_complaints_it_names(app: App) -> None:
    plain, worked = _filtered(app)
    view = app.engine.get(worked)
    with app.db.read() as conn:
        customer_id, _ = find_customer(conn, "ina@example.lv")
    cases = {
        "product": ("Loan", worked), "company": ("Acme", plain), "state": (view.state, worked),
        "tier": (view.tier, worked), "queue": (view.queue, worked), "assignee": ("ines", worked),
        "customer": ("ina@example.lv", worked), "customer_id": (customer_id, worked), "received_from": (date(2026, 11, 20), worked),
        "received_to": (date(2026, 10, 1), plain),
    }
    assert sorted(refs(find(app, "refund"))) == sorted([plain, worked])
    for name, (value, expected) in cases.items():
        assert refs(find(app, "refund", **{name: value})) == [expected], name
        assert refs(find(app, "", **{name: value})) == [expected], f"{name} without words"
    assert find(app, "refund", product="Nothing").total == 0


def test_the_customer_filter_takes_an_id_or_pseudonym_and_names_one_it_does_not_know(app: App) -> None:
    _, worked = _filtered(app)
    with app.db.read() as conn:
        customer_id, _ = find_customer(conn, "ina@example.lv")
    history = customer_history(app.db, str(customer_id), everything)
    for key in (str(customer_id), f"#{customer_id}", history.customer.pseudonym):
        assert refs(find(app, "refund", customer=key)) == [worked], key
    with pytest.raises(NotFound, match="No customer with email 'nobody@example.lv'"):
        find(app, "refund", customer="nobody@example.lv")
    quality = personal_data_rule(app.engine.registry, ["quality"])
    with pytest.raises(NotPermitted, match="give their pseudonym or id"):
        search_complaints(app.db, SearchQuery(text="refund", customer="ina@example.lv"), quality)
    assert search_complaints(app.db, SearchQuery(customer=history.customer.pseudonym), quality).total == 1


def test_an_unknown_state_tier_or_queue_is_refused_rather_than_shown_as_nothing(app: App) -> None:
    with pytest.raises(InvalidInput, match="state: 'nowhere' is in no workflow"):
        search(app.engine, SearchQuery(state="nowhere"), ["handler"])


def test_pages_split_the_results_without_gaps_or_repeats(app: App) -> None:
    made = {take_in(app, description=f"Fee number {n}") for n in range(5)}
    pages = [find(app, "fee", page=n, per_page=2) for n in (1, 2, 3, 4)]
    assert [len(p.hits) for p in pages] == [2, 2, 1, 0]
    assert {p.total for p in pages} == {5} and pages[0].pages == 3
    seen = [ref for p in pages for ref in refs(p)]
    assert sorted(seen) == sorted(made)


def test_without_words_the_filters_list_complaints_newest_first(app: App) -> None:
    older = take_in(app, received_at=datetime(2026, 1, 1, tzinfo=UTC))
    newer = take_in(app, received_at=datetime(2026, 2, 1, tzinfo=UTC))
    page = find(app)
    assert refs(page) == [newer, older] and page.hits[0].score is None


@pytest.mark.parametrize("typed", ['"', "AND(", "NEAR(a b", "*", "fee OR", "'; DROP TABLE complaint; --",
                                   "\x1b[2J", "<script>alert(1)</script>", "a:b", "^fee", "fee\u202e"])
def test_no_typed_text_is_a_syntax_error(app: App, typed: str) -> None:
    take_in(app, description="A fee <script>alert(1)</script>")
    page = find(app, typed)
    assert page.total >= 0


def test_a_search_of_excluded_words_only_or_a_bad_filter_is_refused_naming_the_field(app: App) -> None:
    with pytest.raises(InvalidInput, match="text: give at least one word"):
        find(app, "-fee")
    with pytest.raises(InvalidInput, match="per_page"):
        find(app, "fee", per_page=1000)
    with pytest.raises(InvalidInput) as backwards:
        find(app, "fee", received_from="2026-02-01", received_to="2026-01-01")
    assert backwards.value.problems == ["received_to: 2026-01-01 is before received_from (2026-02-01)"]
    with pytest.raises(InvalidInput, match="text"):
        find(app, "fee\x00")


def test_a_role_not_shown_personal_data_reads_the_snippets_masked(app: App) -> None:
    take_in(app, description="Call me on +44 7911 123456 about the fee, or write to eve@example.com",
            customer={"name": "Eve Adams", "email": "eve@example.com"})
    quality = personal_data_rule(app.engine.registry, ["quality"])
    handler = personal_data_rule(app.engine.registry, ["handler"])
    masked = search_complaints(app.db, SearchQuery(text="fee"), quality).hits[0].snippet
    shown = search_complaints(app.db, SearchQuery(text="fee"), handler).hits[0].snippet
    assert "7911" not in masked and "eve@example.com" not in masked and "[phone]" in masked
    assert "+44 7911 123456" in shown


def test_a_role_not_shown_personal_data_may_not_search_for_it(app: App) -> None:
    take_in(app, description="Write to eve@example.com about the fee", customer={"name": "Eve", "email": "eve@example.com"})
    quality = personal_data_rule(app.engine.registry, ["quality"])
    with pytest.raises(NotPermitted, match="needs a role shown personal data"):
        search_complaints(app.db, SearchQuery(text='"eve@example.com"'), quality)
    assert search_complaints(app.db, SearchQuery(text="fee"), quality).total == 1


def test_erasure_takes_personal_data_out_of_the_index_too(app: App) -> None:
    reference = take_in(app, description="Bērziņa here, my card was charged twice",
                        customer={"name": "Anna Bērziņa", "email": "anna@example.lv"})
    add_note(app.db, app.clock.now(), reference, HANA, "Rang anna@example.lv back about the charge")
    assert refs(find(app, "Bērziņa")) == [reference] and refs(find(app, '"anna@example.lv"')) == [reference]
    erase_customer(app.db, app.clock.now(), Actor("dora", "supervisor"), "request", email="anna@example.lv")
    assert find(app, "Bērziņa").total == 0 and find(app, '"anna@example.lv"').total == 0
    assert refs(find(app, "charged")) == [reference], "the rest of the text is still found"


def test_the_migration_indexes_the_complaints_and_notes_already_stored(app: App) -> None:
    reference = take_in(app, description="Stored before the search index existed")
    add_note(app.db, app.clock.now(), reference, HANA, "A note from those days")
    downgrade(app.db, "0016")
    upgrade(app.db)
    assert refs(find(app, "existed")) == [reference]
    assert [(hit.reference, hit.source) for hit in find(app, "days").hits] == [(reference, "note")]


def test_texts_stored_before_migration_0020_are_found_without_accents_after_it(app: App) -> None:
    reference = take_in(app, description="Karte bloķēta bez iemesla", language="lv")
    add_note(app.db, app.clock.now(), reference, HANA, "Klients zvanīja vēlreiz")
    downgrade(app.db, "0019")
    if app.db.dialect == "postgresql":  # 0017's configurations: accents count
        with app.db.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM complaint_search WHERE tsv @@ 'bloketa'")).scalar() == 0
    upgrade(app.db)
    assert refs(find(app, "bloketa")) == [reference]
    assert [(hit.reference, hit.source) for hit in find(app, "zvanija").hits] == [(reference, "note")]


def test_the_query_is_read_as_words_phrases_and_exclusions() -> None:
    terms = parse_terms('fee "monthly charge" -twice <b>x</b> !!!')
    assert [(t.words, t.exclude) for t in terms] == [(("fee",), False), (("monthly", "charge"), False),
                                                      (("twice",), True), (("b", "x", "b"), False)]


def test_the_snippet_is_cut_round_the_first_word_found_and_marks_where_it_stands() -> None:
    body = "word " * 100 + "the\nrefund came late " + "word " * 100
    snippet, spans = make_snippet(body, parse_terms("refund"))
    assert snippet.startswith("…") and snippet.endswith("…") and len(snippet) <= 182
    assert [snippet[a:b] for a, b in spans] == ["refund"]


def test_a_database_made_before_migrations_is_adopted_with_its_search_index(tmp_path: Path, clock: FixedClock) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    metadata().create_all(db.engine)
    init_database(db)
    db.dispose()
    app = make_app(f"sqlite:///{tmp_path / 'old.db'}", clock, init=False)
    reference = take_in(app, description="Taken in after the adoption")
    assert refs(find(app, "adoption")) == [reference]
    app.db.dispose()
