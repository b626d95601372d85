"""Write the root-cause graph as GraphML, GEXF, node-link JSON or an offline HTML picture.

The HTML page is self-contained (inline data, inline script, canvas drawing): it opens from
a file with no network, pans with a drag, zooms with the wheel, colours complaints by
cluster and shows a complaint's details when its node is clicked.
"""

from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path
from typing import Any

import networkx as nx

from complaints.errors import InvalidInput

FORMATS = ("graphml", "gexf", "json", "html")
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"]
KIND_COLOUR = {"root_cause": "#000000", "product": "#999999", "customer": "#c7c7c7", "capa": "#e6b800"}


def write_graph(g: nx.Graph, fmt: str, path: Path, title: str = "Root-cause graph") -> None:
    if fmt not in FORMATS:
        raise InvalidInput("Invalid --format", [f"{fmt!r}; use one of {', '.join(FORMATS)}"])
    if fmt == "graphml":
        nx.write_graphml(g, path)
    elif fmt == "gexf":
        nx.write_gexf(g, path)
    elif fmt == "json":
        path.write_text(json.dumps(nx.node_link_data(g, edges="edges"), ensure_ascii=False, indent=1, default=str),
                        encoding="utf-8")
    else:
        path.write_text(to_html(g, title), encoding="utf-8")


def picture_data(g: nx.Graph, seed: int = 7) -> dict[str, Any]:
    """Positions (spring layout), colours by cluster and the details shown on click."""
    positions = nx.spring_layout(g, seed=seed, iterations=80) if len(g) else {}
    sizes: dict[str, int] = {}
    for _, attrs in g.nodes(data=True):
        if attrs.get("cluster"):
            sizes[attrs["cluster"]] = sizes.get(attrs["cluster"], 0) + 1
    ranked = sorted(sizes, key=lambda c: (-sizes[c], c))
    colour = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(ranked)}
    index = {n: i for i, n in enumerate(g.nodes)}
    nodes = []
    for n, attrs in g.nodes(data=True):
        x, y = positions[n]
        kind = attrs.get("kind", "")
        fill = colour.get(attrs.get("cluster", ""), "#aec7e8") if kind == "complaint" else KIND_COLOUR.get(kind, "#666")
        details = {k: v for k, v in attrs.items() if k not in ("kind",) and v not in ("", None)}
        nodes.append({"id": n, "x": round(float(x), 4), "y": round(float(y), 4), "kind": kind, "c": fill,
                      "label": str(attrs.get("label", n)), "d": details})
    edges = [[index[a], index[b], attrs.get("kind", "")] for a, b, attrs in g.edges(data=True)]
    legend = [{"cluster": c, "size": sizes[c], "c": colour[c]} for c in ranked[:16]]
    return {"nodes": nodes, "edges": edges, "legend": legend}


def to_html(g: nx.Graph, title: str) -> str:
    template = (resources.files("root_cause") / "graph.html").read_text(encoding="utf-8")
    data = json.dumps(picture_data(g), ensure_ascii=False, default=str).replace("</", "<\\/")
    return template.replace("__TITLE__", html.escape(title)).replace("__DATA__", data)
