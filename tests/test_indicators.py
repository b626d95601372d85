"""Every indicator of ``complaints metrics`` against figures worked out by hand.

A small history is built through the engine and the command line, a step at a time with the
clock set (``--now``): nine complaints, each chosen to exercise some indicators. The expected
figures are worked out in the comments from the workflow's calendar (gb: Monday to Thursday
09:00-17:30, Friday 09:00-17:00, London, which is UTC in November) and its targets. Runs on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from casework import PAYLOADS, take_in
from conftest import T0

from complaintflow.bootstrap import App
from complaintflow.cli.app import main
from complaints.clock import FixedClock
from complaints.steps import Actor

HANA = Actor("hana", "handler")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """``day`` of November 2026 (31 is 1 December, and so on)."""
    return datetime(2026, 11, 1, hour, minute, tzinfo=UTC) + timedelta(days=day - 1)


class Command:
    """``complaints --db URL --actor hana --now <the clock> ...``, as a shell runs it."""

    def __init__(self, url: str, clock: FixedClock, capsys: pytest.CaptureFixture[str],
                 monkeypatch: pytest.MonkeyPatch):
        self.url, self.clock, self.capsys, self.monkeypatch = url, clock, capsys, monkeypatch
        monkeypatch.setenv("COLUMNS", "200")

    def __call__(self, *args: str) -> str:
        argv = ["complaints", "--db", self.url, "--actor", "hana", "--now", self.clock.now().isoformat(), *args]
        self.monkeypatch.setattr(sys, "argv", argv)
        try:
            main()
        except SystemExit as exc:
            assert not exc.code, self.capsys.readouterr().err
        return self.capsys.readouterr().out


@pytest.fixture
def history(app: App, clock: FixedClock, database_url: str, capsys: pytest.CaptureFixture[str],
            monkeypatch: pytest.MonkeyPatch) -> tuple[App, Command, dict[str, str]]:
    """The nine complaints. P is received before the period; A to H within it (23 November to
    6 December 2026). Steps in time order; the report is asked for on Friday 4 December 16:00."""
    run = Command(database_url, clock, capsys, monkeypatch)
    refs: dict[str, str] = {}

    def step(when: datetime, name: str, action: str, **payload: Any) -> None:
        clock.at = when
        app.engine.advance(refs[name], action, HANA, {**PAYLOADS.get(action, {}), **payload})

    def receive(when: datetime, name: str, product: str, channel: str, **more: Any) -> None:
        clock.at = when
        refs[name] = take_in(app, product=product, channel=channel, external_id=name, **more)

    receive(at(20, 10), "P", "Current account", "web")
    step(at(20, 11), "P", "assess")
    step(at(20, 12), "P", "valid")
    receive(at(23, 9), "A", "Current account", "web")
    step(at(23, 10), "A", "assess")
    receive(at(23, 10), "B", "Credit card", "email")
    step(at(23, 11), "A", "valid")
    step(at(23, 11), "B", "assess")
    receive(at(23, 11), "C", "Mortgage", "phone")
    step(at(23, 12), "B", "invalid", rationale="Not our product")
    receive(at(23, 12), "D", "Personal loan", "web", severity="critical")  # starts at tier supervisor
    step(at(23, 13), "A", "assign", assignee="ines")
    receive(at(24, 9), "E", "Current account", "letter")
    for name in ("C", "D", "E"):
        step(at(24, 10), name, "assess")
    step(at(24, 10, 30), "E", "valid")
    step(at(24, 11), "C", "need_info")
    step(at(24, 11), "D", "valid")
    step(at(24, 11), "A", "propose")
    receive(at(24, 11), "F", "Mortgage", "phone")
    step(at(24, 11, 30), "F", "assess")
    step(at(24, 12), "A", "accept")
    step(at(24, 12), "F", "invalid", rationale="Out of time")
    run("sla", "promise", refs["D"], "--due", at(25, 12).isoformat(), "--text", "call back by noon")
    step(at(24, 12), "E", "propose")
    step(at(24, 13), "E", "accept")
    step(at(24, 13), "D", "assign", assignee="omar")
    step(at(25, 9), "A", "start_follow_up")
    step(at(25, 9), "E", "start_follow_up")
    receive(at(25, 9), "G", "Credit card", "web")
    step(at(25, 9, 30), "G", "assess")
    step(at(25, 10), "A", "satisfied")
    step(at(25, 10), "C", "info_received")
    step(at(25, 10), "E", "dissatisfied")
    step(at(25, 10), "F", "reopen")
    step(at(25, 10), "G", "invalid", rationale="not our  PRODUCT")  # the same rationale as B's
    step(at(25, 11), "A", "close")
    step(at(25, 11), "C", "valid")
    clock.at = at(25, 11)
    run("sla", "promise", refs["D"], "--kept", "--note", "called")
    step(at(25, 11), "F", "escalate")
    clock.at = at(25, 12)
    run("sla", "promise", refs["D"], "--due", at(26, 12).isoformat(), "--text", "send the statement")  # never kept
    step(at(26, 10), "C", "escalate")
    step(at(26, 10), "E", "propose")
    step(at(26, 11), "E", "accept")
    step(at(27, 9), "E", "start_follow_up")
    step(at(27, 10), "C", "propose")
    step(at(27, 10), "E", "declined")
    receive(at(30, 9), "H", "Savings", "web")
    step(at(30, 10), "C", "reject")  # and the workflow escalates it: supervisor -> specialist
    step(at(30, 10), "E", "close")
    step(at(31, 10), "C", "propose")
    step(at(31, 11), "C", "accept")
    clock.at = at(34, 16)  # Friday 4 December, 16:00
    return app, run, refs


def test_the_day_helper_counts_on_into_december() -> None:
    assert (at(23, 9), at(30, 9), at(31, 10), at(34, 16)) == (
        T0, datetime(2026, 11, 30, 9, tzinfo=UTC), datetime(2026, 12, 1, 10, tzinfo=UTC),
        datetime(2026, 12, 4, 16, tzinfo=UTC))


def test_every_indicator_of_the_period_matches_the_figures_worked_out_by_hand(history) -> None:  # type: ignore[no-untyped-def]
    _, run, _ = history
    report = json.loads(run("--json", "metrics", "--from", "2026-11-23", "--to", "2026-12-06"))
    assert report["period"] == {"from": "2026-11-23", "to": "2026-12-06", "as_of": "2026-12-04T16:00:00+00:00"}
    s = report["overall"]
    # A to H were received in the period; P (20 November) was not.
    assert s["received"] == 8
    # Intake acknowledges at once: every acknowledge clock stops the moment it starts.
    assert s["acknowledged"] == {"count": 8, "within_target": 8, "late": 0, "rate": 1.0}
    assert s["time_to_acknowledge"] == {"count": 8, "median_hours": 0.0, "p90_hours": 0.0}
    # First response (the validity decision, or a question), business hours from receipt:
    #   A Mon 09:00 -> 11:00 valid = 2; B Mon 10:00 -> 12:00 invalid = 2;
    #   C Mon 11:00 -> Tue 11:00 need_info = 6.5 (to 17:30) + 2 = 8.5; D Mon 12:00 -> Tue 11:00 = 5.5 + 2 = 7.5;
    #   E Tue 09:00 -> 10:30 = 1.5; F Tue 11:00 -> 12:00 = 1; G Wed 09:00 -> 10:00 = 1; H none yet.
    #   Sorted 1, 1, 1.5, 2, 2, 7.5, 8.5: median the 4th = 2; 90th percentile rank ceil(6.3) = 7th = 8.5.
    assert s["time_to_first_response"] == {"count": 7, "median_hours": 2.0, "p90_hours": 8.5}
    # Resolution (the final response: a proposal, or closing): A Mon 09:00 -> Tue 11:00 = 8.5 + 2 = 10.5;
    #   B 2; C Mon 11:00 -> Fri 10:00 = 6.5 + 8.5 + 8.5 + 8.5 + 1 = 33; E Tue 09:00 -> 12:00 = 3;
    #   F 1; G 1; D and H none yet. Sorted 1, 1, 2, 3, 10.5, 33: median (2 + 3) / 2 = 2.5; p90 rank 6 = 33.
    assert s["time_to_resolution"] == {"count": 6, "median_hours": 2.5, "p90_hours": 33.0}
    assert s["sla"] == {
        "acknowledge": {"met": 8, "missed": 0, "running": 0, "rate": 1.0},
        # D (critical, PT4H) was due Mon 16:00 and answered Tue 11:00; H (P2D) was due Wed 2 Dec 09:00 and
        # is still unanswered. The other six answered within two business days.
        "first_response": {"met": 6, "missed": 2, "running": 0, "rate": 0.75},
        # Met: A, C (its last run, at specialist, stopped by the second proposal), E (both runs).
        # Missed: D (P1D from Tue 11:00, overdue since Wed 11:00), F (restarted by its escalation on Wed
        # 11:00, P5D: overdue since Wed 2 Dec 11:00). B, G, H never investigated.
        "next_update": {"met": 3, "missed": 2, "running": 0, "rate": 0.6},
        # Met: A, B, C, E, G. Missed: D (critical at supervisor, P2D: due Wed 12:00). Running: F (reopened
        # Wed 10:00, P8D at supervisor: due Mon 7 Dec) and H (P10D).
        "resolution": {"met": 5, "missed": 1, "running": 2, "rate": 0.8333},
        # A and E closed after their follow-up; C resolved on 1 Dec, its follow-up clock runs.
        "follow_up": {"met": 2, "missed": 0, "running": 1, "rate": 1.0},
    }
    # FCA final response within 8 weeks: six responded (A B C E F G); D and H are due in January.
    assert s["regulatory"] == {"fca": {"final_response": {"met": 6, "missed": 0, "pending": 2, "rate": 1.0}}}
    # C was escalated by hand and again after its rejected proposal (to specialist), F by hand (to
    # supervisor); D started at supervisor for its severity, which is no escalation. Highest tier: A B E G H
    # frontline, D F supervisor, C specialist.
    assert s["escalation"] == {"escalated": 2, "rate": 0.25,
                               "highest_tier": {"frontline": 5, "supervisor": 2, "specialist": 1, "executive": 0}}
    # E (dissatisfied at the follow-up) and F (reopened after closing) of the six given a final response.
    assert s["reopened"] == {"reopened": 2, "of": 6, "rate": 0.3333}
    # Decided: A C D E F valid (F by its reopening), B G invalid; H not yet assessed. The two rationales
    # differ only in case and spacing: one, as B first wrote it.
    assert s["invalid"] == {"assessed": 7, "invalid": 2, "rate": 0.2857, "lapsed": 0,
                            "rationales": [{"rationale": "Not our product", "count": 2}]}
    # D's first promise was kept an hour early, its second was due Thu 12:00 and never kept.
    assert s["promises"] == {"made": 2, "kept": 1, "kept_late": 0, "broken": 1, "open": 0, "rate": 0.5}
    # Asked: A (satisfied) and E (dissatisfied, then, asked again, declined: the latest answer counts).
    assert s["satisfaction"] == {
        "asked": 2, "answers": {"satisfied": 1, "declined": 1, "no_response": 0, "dissatisfied": 0},
        "satisfied": 1, "dissatisfied": 0, "no_answer": 1, "waiting": 0, "rate": 1.0,
        "rating": {"recorded": 0, "mean": None, "distribution": {}, "status": "not recorded"},
    }
    # Open on Fri 4 Dec 16:00: P (since 20 Nov 10:00: 14.25 days), C (resolved; 23 Nov 11:00: 11 days
    # 5 h = 11.2083), D (11 days 4 h = 11.1667), F (24 Nov 11:00: 10.2083), H (30 Nov 09:00: 4.2917).
    # Sorted, the median is D's 11.17; the 90th percentile rank ceil(4.5) = 5th = 14.25.
    assert s["backlog"] == {"open": 5, "median_age_days": 11.17, "p90_age_days": 14.25, "oldest_age_days": 14.25,
                            "ages": {"under 1 week": 1, "1 to 4 weeks": 4, "4 to 8 weeks": 0, "over 8 weeks": 0}}
    assert report["by"] == {}


def test_breakdowns_by_tier_and_handler_split_the_same_complaints(history) -> None:  # type: ignore[no-untyped-def]
    _, run, _ = history
    report = json.loads(run("--json", "metrics", "--from", "2026-11-23", "--to", "2026-12-06",
                            "--by", "tier", "--by", "handler"))
    tiers = {r["key"]: r for r in report["by"]["tier"]}
    # Where each stood at the end: A B E G H frontline, D F supervisor, C specialist; P (backlog) frontline.
    assert [(r["key"], r["received"], r["backlog"]["open"]) for r in report["by"]["tier"]] == [
        ("frontline", 5, 2), ("supervisor", 2, 2), ("specialist", 1, 1)]
    assert tiers["supervisor"]["escalation"]["escalated"] == 1  # F; D started there
    assert tiers["supervisor"]["sla"]["first_response"] == {"met": 1, "missed": 1, "running": 0, "rate": 0.5}
    assert tiers["frontline"]["invalid"]["rationales"] == [{"rationale": "Not our product", "count": 2}]
    # A was assigned to ines, D to omar; the rest to nobody. Ties on received go to the larger backlog.
    assert [(r["key"], r["received"], r["backlog"]["open"]) for r in report["by"]["handler"]] == [
        ("(unassigned)", 6, 4), ("omar", 1, 1), ("ines", 1, 0)]
    assert {r["key"]: r["promises"]["made"] for r in report["by"]["handler"]} == {"(unassigned)": 0, "omar": 2,
                                                                                  "ines": 0}
    whole = report["overall"]
    for dimension in ("tier", "handler"):  # the groups add up to the whole
        rows = report["by"][dimension]
        assert sum(r["received"] for r in rows) == whole["received"]
        assert sum(r["backlog"]["open"] for r in rows) == whole["backlog"]["open"]
        assert sum(r["sla"]["resolution"]["missed"] for r in rows) == whole["sla"]["resolution"]["missed"]


def test_the_fca_return_counts_the_half_year_by_product_group(history) -> None:  # type: ignore[no-untyped-def]
    _, run, _ = history
    result = json.loads(run("--json", "metrics", "return", "fca", "--half", "2026H2"))
    groups = {g["group"]: g for g in result["groups"]}
    assert list(groups) == ["Banking and credit cards", "Home finance", "Insurance & pure protection",
                            "Decumulation & pensions", "Investments", "Credit related"]  # nothing unmapped
    # Banking: A E P (current accounts), B G (credit cards), H (savings) opened; A B E G closed, each by
    # the close of the third business day after receipt; A and E upheld (found valid), B and G not.
    assert groups["Banking and credit cards"] | {"group": None} == {
        "group": None, "opened": 6, "closed": 4, "closed_within_3_days": 4, "closed_after_3_days_within_8_weeks": 0,
        "closed_after_8_weeks": 0, "upheld": 2, "outstanding_at_start": 0, "share_closed_within_3_days": 1.0,
        "share_closed_after_3_days_within_8_weeks": 0.0, "share_upheld": 0.5, "redress_paid": None}
    # Home finance: C (received Mon 23, answered Fri 27 10:00, after Thu 26 17:30) and F (received Tue 24,
    # rejected the same day; valid since its reopening, so upheld).
    home = groups["Home finance"]
    assert (home["opened"], home["closed"], home["closed_within_3_days"], home["closed_after_3_days_within_8_weeks"],
            home["upheld"]) == (2, 2, 1, 1, 2)
    assert (groups["Credit related"]["opened"], groups["Credit related"]["closed"]) == (1, 0)  # D, a personal loan
    total = result["total"]
    assert (total["opened"], total["closed"], total["closed_within_3_days"], total["upheld"]) == (9, 6, 5, 4)
    assert (total["share_closed_within_3_days"], total["share_closed_after_3_days_within_8_weeks"],
            total["share_upheld"]) == (0.8333, 0.1667, 0.6667)
    table = run("metrics", "return", "fca", "--half", "2026h2")
    assert "FCA complaints return 2026H2" in table and "Redress paid: not recorded." in table


def test_the_cfpb_summary_sorts_each_complaint_into_one_company_response(history) -> None:  # type: ignore[no-untyped-def]
    _, run, _ = history
    result = json.loads(run("--json", "metrics", "return", "cfpb", "--from", "2026-11-23", "--to", "2026-12-06"))
    # Closed with explanation: B and G (invalid), F (rejected, then reopened: no proposal), and A C E,
    # whose proposals record no relief (the shipped workflow has no field for it). D was answered (found
    # valid) and is in progress; H is four days old and not answered yet.
    assert result["company_response"] == {"Closed with explanation": 6, "Closed with monetary relief": 0,
                                          "Closed with non-monetary relief": 0, "In progress": 1,
                                          "Untimely response": 0}
    assert result["timely_response"] == {"yes": 7, "no": 0, "not_yet_due": 1, "rate": 1.0}
    assert (result["awaiting_response"], result["relief_not_recorded"]) == (1, 3)


def test_the_tables_show_the_same_numbers(history) -> None:  # type: ignore[no-untyped-def]
    _, run, _ = history
    out = run("metrics", "--from", "2026-11-23", "--to", "2026-12-06", "--by", "channel")
    rows = {line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:-1]]
            for line in out.splitlines() if line.startswith("│") and line.split("│")[1].strip()}
    assert rows["SLA first_response"] == ["75.0%", "6 met, 2 missed, 0 running"]
    assert rows["Time to resolution"] == ["median 2.5 h", "90th percentile 33 h; business hours, of 6 complaint(s)"]
    assert rows["Backlog"][0] == "5 open"
    assert rows["2"] == ["Not our product"]  # the rationales, by count
    assert rows["web"][:2] == ["4", "100.0%"]  # A D G H, by channel
