"""Linking related complaints: any language, explained, top-k, and people have the last word."""

from __future__ import annotations

from datetime import timedelta

import pytest
from casework import take_in

from complaintflow.bootstrap import App
from complaints.clock import FixedClock
from complaints.steps import Actor
from root_cause import services
from root_cause.blocking import LinkRecord
from root_cause.linking import link_all
from root_cause.proposals import candidates_for

LV = [
    "Mana kartes maksājums tika noņemts divreiz par vienu un to pašu pirkumu veikalā, lūdzu atmaksājiet otru summu.",
    "Mans kartes maksājums tika noņemts divas reizes par to pašu pirkumu veikalā. Lūdzu, atmaksājiet otro summu!",
]
EL = [
    "Η συναλλαγή με την κάρτα μου χρεώθηκε δύο φορές για την ίδια αγορά στο κατάστημα, ζητώ επιστροφή της δεύτερης χρέωσης.",
    "Χρεώθηκα δύο φορές με την κάρτα μου για την ίδια αγορά στο κατάστημα. Ζητώ την επιστροφή της δεύτερης χρέωσης.",
]
TR = [
    "Kartımdan aynı alışveriş için iki kez ödeme çekildi, ikinci tutarın iade edilmesini istiyorum.",
    "Aynı alışveriş için kartımdan iki kez ödeme çekildi; ikinci tutarın iadesini istiyorum lütfen.",
]
UNRELATED = [
    "The mobile app crashes every time I open the statements page on my phone since the last update.",
    "My mortgage advisor never called back about the remortgage appointment we booked for last week.",
    "Branch staff were rude when I asked to close my late father's savings account.",
]


def records(texts: list[str], **fields: str) -> list[LinkRecord]:
    return [LinkRecord(i + 1, t, **fields) for i, t in enumerate(texts)]


@pytest.mark.parametrize("texts", [LV, EL, TR], ids=["latvian", "greek", "turkish"])
def test_duplicates_are_found_in_any_language(texts: list[str]) -> None:
    links = link_all(records(texts + UNRELATED, product="Card"))
    assert [(lk.source, lk.target, lk.kind) for lk in links] == [(2, 1, "duplicate_of")]
    assert links[0].similarity > 0.6 and links[0].shared_fields == ("product",) and links[0].shared_terms


def test_unrelated_complaints_with_the_same_product_are_not_linked() -> None:
    assert link_all(records(UNRELATED, product="Current account", company="Bank")) == []


def test_alike_texts_under_different_labels_are_linked_as_likely_duplicates() -> None:
    a = LinkRecord(1, LV[0], product="Card", company="Bank A", category="Fees")
    b = LinkRecord(2, LV[1], product="Loan", company="Bank B", category="Arrears")
    [link] = link_all([a, b])
    assert (link.source, link.target, link.kind, link.shared_fields) == (2, 1, "duplicate_of", ())
    assert link.score == link.similarity > 0.5


def test_without_the_text_pass_complaints_in_different_blocks_are_never_compared() -> None:
    a = LinkRecord(1, LV[0], product="Card", company="Bank A", category="Fees")
    b = LinkRecord(2, LV[1], product="Loan", company="Bank B", category="Arrears")
    assert link_all([a, b], text_pass=False) == []


def test_unlike_texts_under_different_labels_are_not_linked() -> None:
    a = LinkRecord(1, LV[0], product="Card", company="Bank A", category="Fees")
    b = LinkRecord(2, UNRELATED[0], product="Loan", company="Bank B", category="Arrears")
    assert link_all([a, b]) == []


def test_each_complaint_keeps_at_most_its_k_best_links() -> None:
    base = "I was charged a late fee twice on my loan account even though I paid on time this month"
    texts = [f"{base} case {word}" for word in ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf")]
    links = link_all(records(texts, product="Loan", company="Lender", category="Fees"), k=2)
    assert links and all(lk.source > lk.target for lk in links)
    assert max(sum(1 for lk in links if i in lk.pair) for i in range(1, 8)) == 2


def test_a_large_block_is_split_and_still_finds_the_duplicate_pair() -> None:
    fillers = [f"Complaint number {i} about topic {i * 7919 % 101} and branch {i % 13} in town {i * 31 % 97}" for i in range(300)]
    texts = fillers + [LV[0], LV[1]]
    links = link_all(records(texts, product="Card"), cap=40)
    assert any(lk.pair == (302, 301) and lk.kind == "duplicate_of" for lk in links)


def test_candidates_for_one_complaint_score_and_explain_the_match() -> None:
    block = records([EL[0]] + UNRELATED, product="Card")
    new = LinkRecord(10, EL[1], product="Card")
    [found] = candidates_for(new, block)
    assert (found.source, found.target, found.kind) == (10, 1, "duplicate_of")
    assert found.evidence["shared_fields"] == ["product"] and found.evidence["text_similarity"] > 0.6


def _greek_pair(app: App) -> tuple[str, str, str]:
    first = take_in(app, product="Card", description=EL[0], company="Alpha Bank", language="el")
    other = take_in(app, product="Card", description=UNRELATED[0], company="Alpha Bank")
    second = take_in(app, product="Card", description=EL[1], company="Alpha Bank", language="el")
    return first, other, second


def test_a_new_complaint_sees_its_likely_duplicate_at_intake(app: App) -> None:
    first, _, second = _greek_pair(app)
    [candidate] = services.candidates(app.db, second)
    assert candidate["reference"] == first and candidate["kind"] == "duplicate_of" and candidate["status"] == "candidate"
    assert candidate["score"] >= 0.8 and "product" in candidate["evidence"]["shared_fields"]
    assert candidate["received_earlier"], "the one taken in first is the original"
    [seen_from_the_original] = services.candidates(app.db, first)
    assert seen_from_the_original["reference"] == second and not seen_from_the_original["received_earlier"]


def test_linking_stores_explained_links_and_a_rerun_changes_nothing(app: App) -> None:
    _greek_pair(app)
    first = services.run_linking(app.db, app.clock.now())
    again = services.run_linking(app.db, app.clock.now())
    assert (first.complaints, first.created) == (3, 1)
    assert (again.created, again.updated) == (0, 0)
    link = services.decide_link(app.db, app.clock.now(), 1, "confirmed", Actor("quinn", "quality"))
    assert link["status"] == "confirmed" and link["evidence"]["shared_terms"] and link["decided_by"] == "quinn"


def test_a_rejected_link_stays_rejected(app: App, clock: FixedClock) -> None:
    _, _, second = _greek_pair(app)
    services.run_linking(app.db, app.clock.now())
    services.decide_link(app.db, app.clock.now(), 1, "rejected", Actor("quinn", "quality"), reason="different purchases")
    clock.advance(days=1)
    report = services.run_linking(app.db, app.clock.now())
    assert (report.created, report.kept_rejected) == (0, 1)
    with app.db.read() as conn:
        from root_cause.repository import RootCauseRepository

        [link] = RootCauseRepository(conn).links_changed_since(clock.now() - timedelta(days=2))
    assert link["status"] == "rejected" and link["reason"] == "different purchases"
    assert services.candidates(app.db, second) == []


def test_a_link_by_hand_is_confirmed_and_names_no_unknown_kind(app: App) -> None:
    first, other, _ = _greek_pair(app)
    link = services.add_link(app.db, app.clock.now(), other, first, "related", Actor("quinn", "quality"), reason="same shop")
    assert (link["status"], link["origin"], link["kind"]) == ("confirmed", "manual", "related")
    from complaints.errors import InvalidInput

    with pytest.raises(InvalidInput, match=r"kind: 'sibling'; use duplicate_of, related or same_root_cause"):
        services.add_link(app.db, app.clock.now(), other, first, "sibling", Actor("quinn", "quality"))
