"""A complaint told again, reworded and under other labels, is a likely duplicate at intake.

In Latvian, Greek, Turkish and English; by another customer or the same one. The restatement
shares no blocking field with the first telling (another category, another customer, no
company), so only the keys of its words (``root_cause.textkeys``) can bring the two together.
"""

from __future__ import annotations

import pytest
from casework import take_in
from restatements import CASES, Restated, Told
from test_cli import Cli, Outcome, cli, migrated  # noqa: F401 - the CLI runner and its fixtures

from complaintflow.bootstrap import App
from root_cause import services
from root_cause.blocking import LinkRecord, blocking_keys
from root_cause.textkeys import text_keys


def customer(told: Told) -> dict[str, str]:
    return {"name": told.customer, "email": f"{abs(hash(told.customer)) % 10**8}@example.com"}


def file(app: App, case: Restated, told: Told, who: Told | None = None) -> str:
    return take_in(app, product=case.product, category=told.category, description=told.text,
                   language=case.language, customer=customer(who or told))


@pytest.mark.parametrize("case", CASES, ids=[c.language for c in CASES])
def test_a_restatement_shares_no_field_block_with_the_first_telling_but_a_text_key(case: Restated) -> None:
    first = LinkRecord(1, case.first.text, case.product, None, case.first.category, "a", case.language)
    again = LinkRecord(2, case.again.text, case.product, None, case.again.category, "b", case.language)
    assert not set(blocking_keys(first)) & set(blocking_keys(again))
    assert set(text_keys(first.text, case.language)) & set(text_keys(again.text, case.language))
    for other in case.neighbours:
        assert not set(text_keys(first.text, case.language)) & set(text_keys(other.text, case.language))


@pytest.mark.parametrize("same_customer", [False, True], ids=["another customer", "the same customer"])
@pytest.mark.parametrize("case", CASES, ids=[c.language for c in CASES])
def test_a_reworded_restatement_under_another_category_is_a_likely_duplicate(
        app: App, case: Restated, same_customer: bool) -> None:
    neighbours = [file(app, case, told) for told in case.neighbours[:2]]
    first = file(app, case, case.first)
    neighbours += [file(app, case, told) for told in case.neighbours[2:]]
    again = file(app, case, case.again, who=case.first if same_customer else None)
    related = services.candidates(app.db, again)
    assert [(r["reference"], r["kind"]) for r in related if r["kind"] == "duplicate_of"] == [(first, "duplicate_of")]
    assert not {r["reference"] for r in related} & set(neighbours)
    assert related[0]["evidence"]["shared_terms"]


def test_intake_shows_the_likely_duplicate_on_the_terminal_and_in_json(cli: Cli) -> None:  # noqa: F811
    case = next(c for c in CASES if c.language == "tr")

    def intake(told: Told, *options: str) -> Outcome:
        return cli.ok(*options, "intake", "--product", case.product, "--category", told.category, "--language", "tr",
                      "--customer-name", told.customer, "--description", told.text)

    for told in case.neighbours:
        intake(told)
    first = intake(case.first, "--json").data["reference"]
    shown = intake(case.again, "--json").data
    assert [(r["reference"], r["kind"]) for r in shown["related"]] == [(first, "duplicate_of")]
    cli.later(minutes=1)
    printed = intake(Told(case.again.text + " Lütfen acil dönüş yapın.", "Şikayet", "Can Öz")).out
    assert "Likely duplicates" in printed and shown["reference"] in printed and "duplicate_of" in printed
