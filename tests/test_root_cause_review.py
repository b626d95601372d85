"""Recurrence review: the root cause is checked against the taxonomy inside the close step,
recorded with its finding, and links to complaints with the same cause are typed as such."""

from __future__ import annotations

from pathlib import Path

import pytest
from casework import TO_FOLLOW_UP, stored, take_in, walk
from sqlalchemy import select

from complaintflow.bootstrap import App
from complaints.errors import ConfigurationError, InvalidInput, NotFound
from complaints.steps import Actor
from root_cause import services
from root_cause.repository import RootCauseRepository, cause_t
from root_cause.taxonomy import default_taxonomy, load_taxonomy, parse_taxonomy

QUALITY = Actor("quinn", "quality")


def test_the_shipped_taxonomy_loads_and_knows_each_codes_ancestors() -> None:
    tax = default_taxonomy()
    assert tax.lineage("SYSTEM.OUTAGE") == ["SYSTEM.OUTAGE", "SYSTEM"]
    assert tax.covered_by(["BILLING"]) == {"BILLING", "BILLING.DUPLICATE", "BILLING.CHARGEBACK", "BILLING.FEE_ERROR"}


def test_a_broken_taxonomy_is_refused_with_every_problem_and_its_line() -> None:
    text = "codes:\n  - {code: A, name: a, parent: B}\n  - {code: B, name: b, parent: A}\n" \
           "  - {code: C, name: c, parent: Z}\n  - {code: C, name: again}\n"
    with pytest.raises(ConfigurationError) as err:
        parse_taxonomy(text, "mine.yaml")
    assert str(err.value).splitlines() == [
        "mine.yaml: 3 problems:",
        "  - line 5, codes[3].code: duplicate code 'C' (first defined at codes[2])",
        "  - line 4, codes[2].parent: unknown parent 'Z' of 'C'; define it or drop the parent",
        "  - line 2, codes[0].parent: cycle of parents: A -> B -> A",
    ]


@pytest.mark.parametrize("code", ["billing.duplicate", "BILLING-DUPLICATE", "1BILLING", "BILLING..DUPLICATE"])
def test_a_code_in_the_wrong_form_is_refused_saying_what_a_code_looks_like(code: str) -> None:
    with pytest.raises(ConfigurationError) as err:
        parse_taxonomy(f"codes:\n  - {{code: A, name: a}}\n  - {{code: '{code}', name: b}}\n", "mine.yaml")
    assert str(err.value).splitlines()[1:] == [
        "  - line 3, codes[1].code: not a root-cause code (UPPER_CASE words joined by dots, like "
        f"BILLING.DUPLICATE), got {code!r}"]


def test_a_taxonomy_that_is_not_yaml_names_the_line_where_reading_stopped() -> None:
    with pytest.raises(ConfigurationError, match=r"^mine\.yaml: line 3: not valid YAML: .*expected ',' or '\}'"):
        parse_taxonomy("codes:\n  - {code: A, name: a\n", "mine.yaml")  # the mapping is still open at the end


def test_a_taxonomy_entry_with_an_unknown_key_is_refused_with_its_line_and_the_likely_key(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("codes:\n  - {code: A, name: a}\n  - {code: B, name: b, colour: red}\n"
                    "  - {code: C, name: c, parnt: A}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as err:
        load_taxonomy(path)
    assert str(err.value).splitlines()[1:] == [
        "  - line 3, codes[1].colour: unknown key 'colour' (keys here: code, name, parent, description)",
        "  - line 4, codes[2].parnt: unknown key 'parnt': did you mean 'parent'? (keys here: code, name, parent, "
        "description)",
    ]
    with pytest.raises(NotFound, match="does not exist"):
        load_taxonomy(tmp_path / "missing.yaml")


def _to_review(app: App, **fields: str) -> str:
    reference = take_in(app, **fields)
    walk(app, reference, [*TO_FOLLOW_UP, "satisfied"])
    return reference


def test_closing_records_the_root_cause_and_finding_in_the_same_step(app: App) -> None:
    reference = _to_review(app)
    app.engine.advance(reference, "close", QUALITY, {"root_cause_code": "SYSTEM.OUTAGE", "finding": "batch down"})
    with app.db.read() as conn:
        rows = conn.execute(select(cause_t)).all()
    assert [(r.code, r.finding, r.recorded_by, r.event_seq) for r in rows] == [
        ("SYSTEM.OUTAGE", "batch down", "quinn", stored(app, reference)["version"])]


def test_an_unknown_root_cause_rolls_the_close_back(app: App) -> None:
    reference = _to_review(app)
    before = stored(app, reference)
    with pytest.raises(InvalidInput, match=r"root_cause_code: 'SYSTEM.TYPO' is not in the taxonomy .*; try SYSTEM, SYSTEM.OUTAGE"):
        app.engine.advance(reference, "close", QUALITY, {"root_cause_code": "SYSTEM.TYPO", "finding": "?"})
    assert stored(app, reference) == before
    with app.db.read() as conn:
        assert conn.execute(select(cause_t)).all() == []


def test_a_link_between_complaints_with_the_same_cause_becomes_same_root_cause(app: App) -> None:
    text = "The app charged my card twice for the same monthly loan repayment again this month"
    first = _to_review(app, product="Loan", company="Lender", description=text)
    second = _to_review(app, product="Loan", company="Lender", description=text + "!")
    services.run_linking(app.db, app.clock.now())
    for ref in (first, second):
        app.engine.advance(ref, "close", QUALITY, {"root_cause_code": "BILLING.DUPLICATE", "finding": "job ran twice"})
    with app.db.read() as conn:
        repo = RootCauseRepository(conn)
        [link] = repo.links_of(repo.complaint_id(second))
    assert (link["kind"], link["status"], link["evidence"]["root_cause"]) == ("same_root_cause", "confirmed", "BILLING.DUPLICATE")
