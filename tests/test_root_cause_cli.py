"""``complaints rootcause ...`` and the related-complaints panel of ``show`` and ``intake``."""

from __future__ import annotations

from pathlib import Path

from test_cli import Cli, cli, migrated  # noqa: F401 - the CLI runner and its fixtures

LV = ("Mana kartes maksājums tika noņemts divreiz par vienu un to pašu pirkumu veikalā, lūdzu atmaksājiet otru summu.",
      "Mans kartes maksājums tika noņemts divas reizes par to pašu pirkumu veikalā. Lūdzu, atmaksājiet otro summu!")


def _intake(cli: Cli, text: str, *extra: str) -> str:  # noqa: F811
    out = cli.ok("intake", "--product", "Card", "--company", "Citadele", "--language", "lv", "--description", text, *extra).out
    return out.strip().splitlines()[-1]


def test_intake_and_show_list_the_likely_duplicate_with_its_score(cli: Cli) -> None:  # noqa: F811
    first = _intake(cli, LV[0])
    out = cli.ok("intake", "--product", "Card", "--company", "Citadele", "--language", "lv", "--description", LV[1]).out
    assert "Likely duplicates and related complaints" in out and first in out and "duplicate_of (earlier)" in out
    second = out.strip().splitlines()[-1]
    [related] = cli.show(second)["related"]
    assert related["reference"] == first and related["score"] >= 0.8 and related["evidence"]["shared_fields"]


def test_links_are_made_confirmed_rejected_and_stay_rejected(cli: Cli) -> None:  # noqa: F811
    first, second = _intake(cli, LV[0]), _intake(cli, LV[1])
    assert cli.ok("--json", "rootcause", "link").data["created"] == 1
    [related] = cli.show(second)["related"]
    assert related["status"] == "suggested"
    cli.ok("rootcause", "reject", str(related["link_id"]), "--reason", "two different shops", role="quality")
    assert cli.show(second)["related"] == []
    assert cli.ok("--json", "rootcause", "link").data["kept_rejected"] == 1
    assert cli.show(first)["related"] == []


def test_a_missing_link_is_one_line_and_exit_1(cli: Cli) -> None:  # noqa: F811
    outcome = cli("rootcause", "confirm", "42")
    assert outcome.code == 1 and outcome.err.strip() == "Error: No link with id 42"


def test_capa_lifecycle_report_and_exports_from_the_command_line(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    ref = _intake(cli, LV[0])
    created = cli.ok("--json", "rootcause", "capa", "create", "--title", "Fix double capture", "--owner", "ops",
                     "--due", "2026-12-01", "-r", "BILLING.DUPLICATE", "-c", ref, "--window-days", "30").data
    assert created["root_causes"] == ["BILLING.DUPLICATE"] and created["status"] == "open"
    bad = cli("rootcause", "capa", "move", str(created["id"]), "reopen")
    assert bad.code == 1 and "Can't 'reopen' CAPA 1 in status 'open': allowed: implement, cancel" in bad.err
    cli.ok("rootcause", "capa", "move", str(created["id"]), "implement", role="quality")
    events = cli.ok("--json", "rootcause", "capa", "show", "1").data["events"]
    assert [e["to_status"] for e in events] == ["open", "implemented"]
    report = cli.ok("--json", "rootcause", "report").data
    assert [c["title"] for c in report["capas"]] == ["Fix double capture"] and report["pareto"] == []
    for fmt in ("graphml", "gexf", "json", "html"):
        cli.ok("rootcause", "graph", "--format", fmt, "-o", str(tmp_path / f"g.{fmt}"))
        assert (tmp_path / f"g.{fmt}").stat().st_size > 0
    wrong = cli("rootcause", "graph", "--format", "pdf", "-o", str(tmp_path / "g.pdf"))
    assert wrong.code == 1 and "'pdf'; use one of graphml, gexf, json, html" in wrong.err


def test_a_chart_is_drawn_for_a_root_cause(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    ref = _intake(cli, LV[0])
    for action in ("assess", "valid", "propose", "accept", "start_follow_up", "satisfied"):
        cli.advance(ref, action)
    cli.advance(ref, "close", root_cause_code="SYSTEM.DEFECT", finding="capture retried")
    assert cli.ok("--json", "rootcause", "report").data["pareto"][0]["code"] == "SYSTEM.DEFECT"
    cli.ok("rootcause", "chart", "SYSTEM.DEFECT", "-o", str(tmp_path / "c.png"))
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    unknown = cli("rootcause", "chart", "SYSTEM.OUTAGE", "-o", str(tmp_path / "d.svg"))
    assert unknown.code == 1 and "No complaints for 'root_cause:SYSTEM.OUTAGE'" in unknown.err


def test_a_report_with_nothing_recurring_or_open_says_so_rather_than_print_empty_tables(cli: Cli) -> None:  # noqa: F811
    lines = cli.ok("rootcause", "report").out.splitlines()
    assert lines == ["Root causes (Pareto)", "None recorded yet.",
                     "Recurring problems (strongest first)", "None open (`complaints rootcause analyse` looks again).",
                     "Open CAPAs (0 overdue)", "None open."]
    assert cli.ok("rootcause", "capa", "list", "--status", "open").out.splitlines() == ["CAPAs", "None with status open."]
