"""The console's indicators page shows the very numbers ``complaints metrics`` computes, for the
period asked, whole and by one dimension, and offers them as the CLI's CSV file."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from casework import take_in, walk
from consolework import TestClient, signed_in

from complaintflow.bootstrap import App
from escalation.indicators import indicators
from escalation.indicators.rows import breakdown_row, overall_rows

PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}  # the test clock's complaints, wholly past


@pytest.fixture
def seeded(app: App) -> App:
    for product in ("Credit card", "Credit card", "Mortgage"):
        take_in(app, product=product)
    walk(app, take_in(app, product="Mortgage"), ["assess", "invalid"])
    return app


@pytest.fixture
def analyst(seeded: App, tmp_path: Path) -> Iterator[TestClient]:
    with signed_in(seeded, tmp_path, "quinn", ["quality"]) as client:
        yield client


def cells(page: str, table: str) -> list[list[str]]:
    """The text of each body row of the table of class ``table``."""
    body = re.search(rf'<table class="{table}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body, f"no {table} table"
    return [[html.unescape(c.strip()) for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)]


def test_the_page_shows_the_numbers_of_complaints_metrics_for_the_period(analyst: TestClient) -> None:
    page = analyst.get("/console/indicators", params={**PERIOD, "by": "product"})
    assert page.status_code == 200
    engine = analyst.app.state.complaintflow.engine  # type: ignore[attr-defined]
    expected = indicators(engine, date.fromisoformat(PERIOD["from"]), date.fromisoformat(PERIOD["to"]), ["product"])
    assert expected["overall"]["received"] == 4 and expected["overall"]["invalid"]["invalid"] == 1
    assert cells(page.text, "indicators") == [list(row) for row in overall_rows(expected)]
    assert cells(page.text, "breakdown") == [[r["key"], *breakdown_row(r)] for r in expected["by"]["product"]]
    assert ["Received", "4", "complaints received in the period"] in cells(page.text, "indicators")
    assert "Indicators, 2026-11-01 to 2026-11-30" in page.text


def test_the_csv_link_gives_the_file_the_cli_exports(analyst: TestClient) -> None:
    page = analyst.get("/console/indicators", params={**PERIOD, "by": "product"}).text
    link = html.unescape(re.search(r'href="(/console/indicators\.csv\?[^"]+)"', page).group(1))  # type: ignore[union-attr]
    answer = analyst.get(link)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert 'filename="indicators-2026-11-01-2026-11-30.csv"' in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["dimension"], r["group"], r["received"]) for r in rows] == [
        ("all", "all", "4"), ("product", "Credit card", "2"), ("product", "Mortgage", "2")]


@pytest.mark.parametrize(("params", "named"), [
    ({"from": "1 November", "to": "2026-11-30"}, "from: '1 November' is not a date"),
    ({"from": "2026-11-01", "to": "2026-13-01"}, "to: '2026-13-01' is not a date"),
    ({"by": "colour"}, "by: 'colour' is not one of channel, product"),
])
def test_a_bad_date_or_breakdown_is_named_and_refused(analyst: TestClient, params: dict[str, str], named: str) -> None:
    page = analyst.get("/console/indicators", params=params)
    assert page.status_code == 422 and named in html.unescape(page.text) and 'role="alert"' in page.text
    assert analyst.get("/console/indicators.csv", params=params).status_code == 422


def test_a_handler_is_not_shown_the_indicators(seeded: App, tmp_path: Path) -> None:
    with signed_in(seeded, tmp_path, "hana", ["handler"]) as handler:
        assert "/console/indicators" not in handler.get("/console/queue").text
        assert handler.get("/console/indicators").status_code == 403
        assert handler.get("/console/indicators.csv").status_code == 403
