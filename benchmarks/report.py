"""Results out: a rich table, a JSON document, and a comparison of two runs."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.environment import summary
from benchmarks.harness import FigureResult, Profile, format_number

SCHEMA = 1


def document(profile: Profile, machine: dict[str, Any], results: list[FigureResult], started: datetime) -> dict[str, Any]:
    measures = [m for r in results for m in r.measures if m.target]
    return {
        "schema": SCHEMA,
        "started": started.isoformat(timespec="seconds"),
        "profile": profile,
        "machine": machine,
        "figures": [r.to_dict() for r in results],
        "targets": {
            "met": sum(1 for m in measures if m.met is True),
            "missed": sum(1 for m in measures if m.met is False),
        },
    }


def write(doc: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(doc["started"]).strftime("%Y%m%dT%H%M%S")
    path = folder / f"{stamp}-{doc['profile']}.json"
    path.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return path


def load(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or doc.get("schema") != SCHEMA or "figures" not in doc:
        raise ValueError(f"{path} is not a benchmark result file (schema {SCHEMA})")
    return doc


def table(doc: dict[str, Any]) -> Table:
    out = Table(title=f"complaintflow benchmarks ({doc['profile']}, {doc['started']})",
                caption=summary(doc["machine"]), show_lines=False)
    for column in ("figure", "value", "baseline (same run)", "ratio", "target", "met"):
        out.add_column(column, justify="right" if column in ("value", "ratio") else "left", overflow="fold")
    for fig in doc["figures"]:
        if fig["status"] != "ok":
            out.add_row(f"[bold]{fig['title']}[/]", f"[yellow]{fig['status']}: {fig['reason']}[/]", "", "", "", "")
            continue
        out.add_row(f"[bold]{fig['title']}[/] [dim]({fig['seconds']:.0f} s)[/]", "", "", "", "", "")
        for m in fig["measures"]:
            value = f"{format_number(m['value'])} {m['unit']}" if m["value"] is not None else "—"
            baseline = f"{format_number(m['baseline'])} {m['baseline_name'] or ''}" if m["baseline"] is not None else ""
            note = f"\n[dim]{m['note']}[/]" if m["note"] else ""
            out.add_row(f"  {m['name']}{note}", value, baseline, format_number(m["ratio"]),
                        m["target"] or "", _verdict(m["met"]))
    return out


def comparison(before: dict[str, Any], after: dict[str, Any]) -> Table:
    """Each measure of ``after`` beside the same measure of ``before``: values and ratios."""
    out = Table(title=f"{before['started']} ({before['profile']}) → {after['started']} ({after['profile']})",
                caption=f"before: {summary(before['machine'])}\nafter:  {summary(after['machine'])}")
    for column in ("measure", "before", "after", "change", "ratio before", "ratio after"):
        out.add_column(column, justify="left" if column == "measure" else "right")
    old = {(f["key"], m["name"]): m for f in before["figures"] for m in f["measures"]}
    for fig in after["figures"]:
        for m in fig["measures"]:
            prev = old.get((fig["key"], m["name"]))
            change = ""
            if prev and prev["value"] and m["value"] is not None:
                change = f"{100 * (m['value'] / prev['value'] - 1):+.0f}%"
            out.add_row(f"{fig['key']}: {m['name']}", format_number(prev["value"]) if prev else "—",
                        format_number(m["value"]), change,
                        format_number(prev["ratio"]) if prev else "—", format_number(m["ratio"]))
    return out


def _verdict(met: bool | None) -> str:
    return {True: "[green]yes[/]", False: "[red]no[/]", None: ""}[met]


def render(doc: dict[str, Any], console: Console) -> None:
    console.print(table(doc))
    targets = doc["targets"]
    console.print(f"targets met: {targets['met']}, missed: {targets['missed']}")
