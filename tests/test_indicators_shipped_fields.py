"""The shipped workflow (complaint v2) lets a handler record what the indicators read: the
relief and redress of a proposal, and the customer's rating at the follow-up. A case driven
through those actions on the command line shows up in ``complaints metrics`` and the returns;
values outside the fields' range are refused and nothing is written."""

from __future__ import annotations

import pytest
from test_cli import Cli, cli, migrated  # noqa: F401 - the CLI runner and its fixtures

PERIOD = ("--from", "2026-11-23", "--to", "2026-11-29")


def to_follow_up(cli: Cli, **proposal: str) -> str:  # noqa: F811
    reference = cli.intake()
    for action in ("assess", "valid"):
        cli.advance(reference, action)
    cli.advance(reference, "propose", **proposal)
    for action in ("accept", "start_follow_up"):
        cli.advance(reference, action)
    return reference


def test_relief_redress_and_rating_recorded_by_a_handler_reach_the_metrics(cli: Cli) -> None:  # noqa: F811
    paid = to_follow_up(cli, relief="monetary", redress="40")
    cli.advance(paid, "satisfied", rating="5")
    cli.advance(paid, "close")
    kept = to_follow_up(cli, relief="non_monetary")
    cli.advance(kept, "dissatisfied", rating="2")
    proposal = next(e for e in cli.show(paid)["events"] if e["action"] == "propose")
    assert (proposal["payload"]["relief"], proposal["payload"]["redress"]) == ("monetary", 40.0)

    satisfaction = cli.ok("--json", "metrics", *PERIOD).data["overall"]["satisfaction"]
    assert (satisfaction["asked"], satisfaction["satisfied"], satisfaction["dissatisfied"]) == (2, 1, 1)
    assert satisfaction["rating"] == {"recorded": 2, "mean": 3.5, "status": "recorded",
                                      "distribution": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 1}}
    cfpb = cli.ok("--json", "metrics", "return", "cfpb", *PERIOD).data
    assert (cfpb["company_response"]["Closed with monetary relief"],
            cfpb["company_response"]["Closed with non-monetary relief"], cfpb["relief_not_recorded"]) == (1, 1, 0)
    fca = cli.ok("--json", "metrics", "return", "fca", "--half", "2026H2").data
    assert fca["total"]["redress_paid"] == 40


def test_a_proposal_without_relief_still_goes_and_counts_as_not_recorded(cli: Cli) -> None:  # noqa: F811
    to_follow_up(cli)
    cfpb = cli.ok("--json", "metrics", "return", "cfpb", *PERIOD).data
    assert (cfpb["company_response"]["Closed with explanation"], cfpb["relief_not_recorded"]) == (1, 1)


@pytest.mark.parametrize(("action", "field", "value", "message"), [
    ("propose", "relief", "cash", "relief: Input should be 'monetary', 'non_monetary' or 'none'"),
    ("propose", "redress", "-5", "the redress is an amount paid or credited, 0 or more"),
    ("satisfied", "rating", "7", "the rating is a whole number from 1 to 5"),
    ("dissatisfied", "rating", "0", "the rating is a whole number from 1 to 5"),
    ("satisfied", "rating", "4.5", "rating: Input should be a valid integer"),
])
def test_values_outside_a_fields_range_are_refused_and_nothing_changes(
    cli: Cli, action: str, field: str, value: str, message: str,  # noqa: F811
) -> None:
    reference = cli.intake()
    for step in ("assess", "valid", *(("propose", "accept", "start_follow_up") if action != "propose" else ())):
        cli.advance(reference, step)
    before = cli.show(reference)
    refused = cli("advance", reference, action, "-f", f"{field}={value}",
                  *(("-f", "resolution=refund", "-f", "reasons=error") if action == "propose" else ()),
                  *(("-f", "reason=the fee came back") if action == "dissatisfied" else ()))
    assert refused.code != 0 and message in refused.err
    assert cli.show(reference) == before
