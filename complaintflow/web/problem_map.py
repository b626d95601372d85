"""The problem map as an SVG drawn on the server: one band per root cause (its CAPAs beside
it, its clusters after them, each a circle sized by volume and named by its top terms), and
a last band for clusters with no recorded cause. Pure.

A band layout instead of a force layout: labels sit in cells of a fixed width, so they never
overlap, and the picture is the same for the same data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape

from complaintflow.web.deps import counted
from complaintflow.web.quality import Subject

WIDTH = 1200
CAUSE_COLUMN = 260
CELL = 128
ROW = 96
LABEL_CHARS = 19


@dataclass(frozen=True)
class Placed:
    subject: Subject
    x: float
    y: float
    r: float


def _radius(size: int, largest: int, least: float = 8, most: float = 34) -> float:
    """Area proportional to volume, between ``least`` and ``most`` pixels of radius."""
    return least + (most - least) * math.sqrt(size / largest) if largest else least


def _clip(text: str, most: int = LABEL_CHARS) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def layout(data: dict[str, Any]) -> tuple[list[tuple[Subject | None, float, float]], list[Placed], float]:
    """(band headers with their y and height, placed nodes, total height)."""
    causes: list[Subject] = data["root_causes"]
    clusters: list[Subject] = data["clusters"]
    capas: list[Subject] = data["capas"]
    largest = max([s.size for s in clusters] + [1])
    largest_cause = max([s.size for s in causes] + [1])
    per_row = max(1, (WIDTH - CAUSE_COLUMN) // CELL)
    bands: list[tuple[Subject | None, float, float]] = []
    placed: list[Placed] = []
    y = 0.0
    groups: list[tuple[Subject | None, list[Subject]]] = [
        (cause, [c for c in capas if c.parent == cause.key] + [c for c in clusters if c.parent == cause.key])
        for cause in causes]
    orphans = [c for c in clusters if c.parent is None] + [c for c in capas if c.parent is None]
    if orphans:
        groups.append((None, orphans))
    for cause, members in groups:
        rows = max(1, math.ceil(len(members) / per_row))
        height = rows * ROW
        bands.append((cause, y, height))
        if cause is not None:
            placed.append(Placed(cause, 40, y + ROW / 2, _radius(cause.size, largest_cause, 12, 36)))
        for i, member in enumerate(members):
            row, col = divmod(i, per_row)
            r = 10 if member.kind == "capa" else _radius(member.size, largest)
            placed.append(Placed(member, CAUSE_COLUMN + col * CELL + CELL / 2, y + row * ROW + 40, r))
        y += height
    return bands, placed, y


def href(subject: Subject, base: str) -> str:
    if subject.kind == "capa":
        return f"{base}/quality/capas#capa-{quote(subject.key)}"
    return f"{base}/quality/map/{subject.kind}?key={quote(subject.key, safe='')}"


def svg(data: dict[str, Any], base: str) -> Markup:
    """The map as inline SVG; every node a link (keyboard-reachable) with a text alternative."""
    bands, placed, height = layout(data)
    parts = [f'<svg class="map" viewBox="0 0 {WIDTH} {max(height, ROW):.0f}" role="group" '
             f'aria-label="Problem map: root causes, their corrective actions and clusters of linked complaints" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for i, (cause, top, band_height) in enumerate(bands):
        shade = "band-even" if i % 2 == 0 else "band-odd"
        parts.append(f'<rect class="{shade}" x="0" y="{top:.0f}" width="{WIDTH}" height="{band_height:.0f}"/>')
        title = f"{cause.label}" if cause else "No recorded cause"
        note = _clip(cause.detail, 26) if cause and cause.detail else ("clusters only" if not cause else "")
        parts.append(f'<text class="band-title" x="84" y="{top + ROW / 2 - 4:.0f}">{escape(_clip(title, 22))}</text>')
        if note:
            parts.append(f'<text class="band-note" x="84" y="{top + ROW / 2 + 12:.0f}">{escape(note)}</text>')
    for p in placed:
        s = p.subject
        words = {"root_cause": f"root cause {s.label}: {counted(s.size, 'complaint')}" + (f", {s.detail}" if s.detail else ""),
                 "cluster": f"cluster “{s.label}”: {counted(s.size, 'linked complaint')}",
                 "capa": f"{s.label}: {s.detail}"}[s.kind]
        parts.append(f'<a href="{escape(href(s, base))}" class="node {s.kind}" aria-label="{escape(words)}">'
                     f'<title>{escape(words)}</title>')
        if s.kind == "capa":
            parts.append(f'<rect x="{p.x - p.r:.1f}" y="{p.y - p.r:.1f}" width="{2 * p.r:.1f}" height="{2 * p.r:.1f}" rx="3"/>')
        else:
            parts.append(f'<circle cx="{p.x:.1f}" cy="{p.y:.1f}" r="{p.r:.1f}"/>')
        if s.kind != "root_cause":
            parts.append(_text("label", p.x, p.y + 34 + 12, escape(_clip(s.label))))
            if s.kind == "cluster":
                parts.append(_text("count", p.x, p.y + 4, s.size))
        else:
            parts.append(_text("cause-count", p.x, p.y + 5, s.size))
        parts.append("</a>")
    parts.append("</svg>")
    return Markup("".join(parts))


def _text(css: str, x: float, y: float, body: object) -> str:
    """A centred SVG text (``body`` already escaped, or a number)."""
    return f'<text class="{css}" x="{x:.1f}" y="{y:.1f}" text-anchor="middle">{body}</text>'
