"""Write the root-cause graph as GraphML, GEXF, node-link JSON or an offline HTML picture.

The HTML page is self-contained (inline data, inline script, canvas drawing): it opens from
a file with no network, pans with a drag, zooms with the wheel, colours complaints by
cluster and shows a complaint's details when its node is clicked.

Products, categories and texts came from outside. Where a viewer shows them (GraphML and
GEXF in Gephi or yEd, the HTML page in a browser) control and invisible format characters
are made visible (``complaints.safe_text``): an ESC is no character XML may hold at all, and a
right-to-left override would turn a label around. The JSON keeps the data exactly, with those
characters escaped as ``\\uXXXX`` so that printing the file is safe too.
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path
from typing import Any

import networkx as nx

from complaints.errors import InvalidInput
from complaints.safe_text import json_text, visible, visible_values

FORMATS = ("graphml", "gexf", "json", "html")
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf",
           "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"]
KIND_COLOUR = {"root_cause": "#000000", "product": "#999999", "customer": "#c7c7c7", "capa": "#e6b800"}


def write_graph(g: nx.Graph, fmt: str, path: Path, title: str = "Root-cause graph") -> None:
    if fmt not in FORMATS:
        raise InvalidInput("Invalid --format", [f"{fmt!r}; use one of {', '.join(FORMATS)}"])
    if fmt == "graphml":
        nx.write_graphml(shown(g), path)
    elif fmt == "gexf":
        nx.write_gexf(shown(g), path)
    elif fmt == "json":
        path.write_text(json_text(nx.node_link_data(g, edges="edges"), indent=1, default=str), encoding="utf-8")
    else:
        path.write_text(to_html(g, title), encoding="utf-8")


def shown(g: nx.Graph) -> nx.Graph:
    """A copy of ``g`` with every text in it (node names, attributes) made ``visible``.

    Two names that differ only in what is made visible would become one node; the stand-ins
    (``␛``, ``<U+202E>``) are characters a real name hardly holds."""
    copy = g.__class__()
    copy.graph.update(visible_values(g.graph))
    name = {n: visible(n) if isinstance(n, str) else n for n in g.nodes}
    copy.add_nodes_from((name[n], visible_values(attrs)) for n, attrs in g.nodes(data=True))
    copy.add_edges_from((name[a], name[b], visible_values(attrs)) for a, b, attrs in g.edges(data=True))
    return copy


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
                      "label": visible(str(attrs.get("label", n))), "d": visible_values(details)})
    edges = [[index[a], index[b], attrs.get("kind", "")] for a, b, attrs in g.edges(data=True)]
    legend = [{"cluster": visible(c), "size": sizes[c], "c": colour[c]} for c in ranked[:16]]
    return {"nodes": nodes, "edges": edges, "legend": legend}


def to_html(g: nx.Graph, title: str) -> str:
    template = (resources.files("root_cause") / "graph.html").read_text(encoding="utf-8")
    # inside <script> no '<' may stand ('</script>', '<!--' would end or bend the element), nor
    # '>' or '&'; as JSON escapes they are the same characters to JSON.parse
    data = json_text(picture_data(g), default=str).translate(_SCRIPT_SAFE)
    return template.replace("__TITLE__", html.escape(visible(title))).replace("__DATA__", data)


_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})
