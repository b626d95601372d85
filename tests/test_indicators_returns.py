"""The regulators' returns and the follow-up's rating where the workflow records relief and ratings.

The shipped workflow's version 2 records the relief a proposal offers and the customer's
rating of the handling (``relief`` and ``redress`` on ``propose``, ``rating`` on ``satisfied``
and ``dissatisfied``; ``tests/test_indicators_shipped_fields.py`` drives them on the command
line); a variant declaring the same fields is registered here, and the figures worked out by
hand in the comments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from casework import PAYLOADS, register_variant, take_in

from complaintflow.bootstrap import App
from complaints.clock import FixedClock
from complaints.errors import ConfigurationError, InvalidInput, NotFound
from complaints.steps import Actor
from escalation.indicators import cfpb, fca, indicators
from escalation.indicators.returns import NOT_MAPPED, default_groups, half_year, load_groups

HANA = Actor("hana", "handler")


def _records_relief_and_ratings(doc: dict[str, Any]) -> None:
    fields = doc["transitions"]["propose"]["fields"]
    fields["relief"] = {"type": "choice", "choices": ["monetary", "non_monetary", "none"], "required": False}
    fields["redress"] = {"type": "float", "required": False}
    for action in ("satisfied", "dissatisfied"):
        doc["transitions"][action].setdefault("fields", {})["rating"] = {"type": "int", "required": False}


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, 1, hour, tzinfo=UTC) + timedelta(days=day - 1)


@pytest.fixture
def recorded(app: App, clock: FixedClock) -> App:
    """Six complaints received on Monday 23 November at 09:00, in a workflow that records relief."""
    register_variant(app, _records_relief_and_ratings)
    refs = {name: take_in(app, product=product, external_id=name) for name, product in (
        ("M", "Current account"), ("N", "Credit card"), ("O", "Credit card"), ("Q", "Savings"),
        ("X", "Gadget insurance"), ("Z", "Crypto wallet"))}

    def walk(day: int, name: str, *steps: tuple[str, dict[str, Any]]) -> None:
        clock.at = at(day, 10)
        for action, payload in steps:
            app.engine.advance(refs[name], action, HANA, {**PAYLOADS.get(action, {}), **payload})
            clock.advance(minutes=10)

    valid = [("assess", {}), ("valid", {})]
    walk(23, "M", *valid, ("propose", {"relief": "monetary", "redress": 40}), ("accept", {}),
         ("start_follow_up", {}), ("satisfied", {"rating": 5}), ("close", {}))
    walk(23, "N", *valid, ("propose", {"relief": "non_monetary"}), ("accept", {}), ("start_follow_up", {}),
         ("dissatisfied", {"rating": 2}))
    walk(24, "O", *valid, ("propose", {"redress": 25.5}))
    walk(24, "Q", *valid, ("propose", {"relief": "none"}))
    walk(25, "Z", ("assess", {}), ("invalid", {}))
    clock.at = at(39, 12)  # Wednesday 9 December: X, never answered, is 16 days old
    return app


def test_the_cfpb_company_response_comes_from_the_relief_a_proposal_records(recorded: App) -> None:
    # As of the period's end, like every figure: to today, so that X has had its 15 days.
    result = cfpb(recorded.engine, at(23, 0).date(), at(39, 0).date())
    # M monetary (relief: monetary); O monetary (no relief said, redress 25.5 > 0); N non-monetary (its
    # latest proposal; the customer's dissatisfaction later reopened it); Q relief: none and Z invalid,
    # with explanation; X not answered in 15 days: untimely.
    assert result["company_response"] == {"Closed with explanation": 2, "Closed with monetary relief": 2,
                                          "Closed with non-monetary relief": 1, "In progress": 0,
                                          "Untimely response": 1}
    assert result["timely_response"] == {"yes": 5, "no": 1, "not_yet_due": 0, "rate": 0.8333}
    assert (result["awaiting_response"], result["relief_not_recorded"]) == (0, 0)
    by_product = {r["product"]: r["company_response"] for r in result["by_product"]}
    assert by_product["Credit card"]["Closed with monetary relief"] == 1  # O
    assert by_product["Credit card"]["Closed with non-monetary relief"] == 1  # N
    early = cfpb(recorded.engine, at(23, 0).date(), at(29, 0).date())  # on 29 November X was 6 days old
    assert (early["company_response"]["Untimely response"], early["awaiting_response"]) == (0, 1)


def test_the_rating_of_the_handling_is_read_where_the_follow_up_records_one(recorded: App) -> None:
    satisfaction = indicators(recorded.engine, at(23, 0).date(), at(29, 0).date())["overall"]["satisfaction"]
    # Asked: M (satisfied, rated 5) and N (dissatisfied, rated 2): 1 of 2 satisfied, mean rating 3.5.
    assert (satisfaction["asked"], satisfaction["satisfied"], satisfaction["dissatisfied"], satisfaction["rate"]) == (
        2, 1, 1, 0.5)
    assert satisfaction["rating"] == {"recorded": 2, "mean": 3.5, "status": "recorded",
                                      "distribution": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}}


def test_the_fca_return_sums_the_redress_and_shows_products_no_group_takes(recorded: App) -> None:
    result = fca(recorded.engine, "2026H2")
    groups = {g["group"]: g for g in result["groups"]}
    banking = groups["Banking and credit cards"]
    # M N O Q opened and closed (their proposals are final responses), all upheld; redress 40 + 25.5.
    assert (banking["opened"], banking["closed"], banking["upheld"], banking["redress_paid"]) == (4, 4, 4, 65.5)
    assert (groups["Insurance & pure protection"]["opened"], groups["Insurance & pure protection"]["closed"]) == (1, 0)
    # A crypto wallet is no product the mapping knows: its own row, closed (found invalid), not upheld.
    assert list(groups)[-1] == NOT_MAPPED
    assert (groups[NOT_MAPPED]["opened"], groups[NOT_MAPPED]["closed"], groups[NOT_MAPPED]["upheld"]) == (1, 1, 0)
    assert result["total"]["redress_paid"] == 65.5 and result["total"]["opened"] == 6


def test_a_mapping_of_ones_own_puts_products_into_the_fca_groups(recorded: App, tmp_path: Path) -> None:
    mapping = tmp_path / "groups.yaml"
    mapping.write_text("rules:\n  - {match: 'crypto*', group: Investments}\n  - {match: '*', group: Banking and "
                       "credit cards}\n", encoding="utf-8")
    groups = {g["group"]: g for g in fca(recorded.engine, "2026H2", mapping)["groups"]}
    assert NOT_MAPPED not in groups
    assert (groups["Investments"]["opened"], groups["Banking and credit cards"]["opened"]) == (1, 5)


@pytest.mark.parametrize(("product", "group"), [
    ("Mortgage payment protection insurance", "Insurance & pure protection"),  # insurance before home finance
    ("Mortgage", "Home finance"),
    ("CREDIT CARD", "Banking and credit cards"),  # before the credit rules, letter case ignored
    ("Payday loan, title loan, or personal loan", "Credit related"),
    ("Personal pension", "Decumulation & pensions"),
    ("Stocks and shares ISA", "Investments"),
    ("Crypto wallet", NOT_MAPPED),
])
def test_the_shipped_mapping_takes_the_first_rule_that_matches(product: str, group: str) -> None:
    assert default_groups().group(product) == group


def test_a_mapping_naming_no_fca_group_is_refused_with_the_line_at_fault(tmp_path: Path) -> None:
    mapping = tmp_path / "groups.yaml"
    mapping.write_text("rules:\n  - {match: 'card*', group: Banking and credit cards}\n"
                       "  - {match: 'crypto*', group: Crypto}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"line 3, rules\[1\]\.group: .*'Banking and credit cards'"):
        load_groups(mapping)
    with pytest.raises(NotFound, match="Product groups file '.*nowhere.yaml' does not exist"):
        load_groups(tmp_path / "nowhere.yaml")


@pytest.mark.parametrize(("text", "days"), [("2026H1", ("2026-01-01", "2026-06-30")),
                                            ("2026-h2", ("2026-07-01", "2026-12-31"))])
def test_a_half_year_is_the_first_or_second_half_of_a_calendar_year(text: str, days: tuple[str, str]) -> None:
    assert tuple(d.isoformat() for d in half_year(text)) == days


def test_a_half_year_that_is_none_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"Invalid --half: '2026H3': write the year and the half, e.g. 2026H1"):
        half_year("2026H3")
