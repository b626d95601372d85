"""The root-cause graph: complaints, root causes, products, customers and CAPAs. Pure.

Built from plain rows (see :class:`GraphData`), so it can be rebuilt from the database or
updated from the links changed since the last build (:meth:`LinkGraph.update`). Customers
appear only by pseudonym. Clusters are communities of complaints joined by confirmed links
or strong automatic ones: connected components, with components larger than ``max_size``
split by Louvain modularity (seeded, so the same links give the same clusters). A cluster is
named after its earliest complaint, which keeps the name stable as the cluster grows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import networkx as nx

STRONG_SCORE = 0.7
MAX_CLUSTER = 60
#: Spring-layout pull of each edge kind: links and causes shape the picture, the product and
#: customer hubs (which touch nearly everything) barely do.
WEIGHT = {"about": 0.02, "from": 0.2, "caused_by": 0.3, "addresses": 0.5, "fixed_by": 0.5}


def node(kind: str, key: object) -> str:
    return f"{kind}:{key}"


def counts_as_edge(link: Mapping[str, Any], strong: float = STRONG_SCORE) -> bool:
    return link["status"] == "confirmed" or (link["status"] == "suggested" and link["score"] >= strong)


@dataclass
class LinkGraph:
    """Complaint-to-complaint links that count for clustering, kept up to date incrementally."""

    strong: float = STRONG_SCORE
    graph: nx.Graph = field(default_factory=nx.Graph)
    watermark: datetime | None = None

    def update(self, links: Iterable[Mapping[str, Any]]) -> int:
        """Apply links created or changed since the last update; returns how many were applied."""
        applied = 0
        for link in links:
            if link.get("target_id") is None:
                continue
            a, b = link["source_id"], link["target_id"]
            if counts_as_edge(link, self.strong):
                self.graph.add_edge(a, b, weight=float(link["score"]), kind=link["kind"], link_id=link["id"])
            elif self.graph.has_edge(a, b):
                self.graph.remove_edge(a, b)
            if self.watermark is None or link["updated_at"] > self.watermark:
                self.watermark = link["updated_at"]
            applied += 1
        return applied

    def clusters(self, max_size: int = MAX_CLUSTER, names: Mapping[int, str] | None = None) -> dict[str, set[int]]:
        """Cluster name -> complaint ids, for clusters of two or more complaints."""
        out: dict[str, set[int]] = {}
        for component in nx.connected_components(self.graph):
            parts = [set(component)]
            if len(component) > max_size:
                parts = [set(c) for c in nx.community.louvain_communities(self.graph.subgraph(component), seed=7)]
            for part in parts:
                if len(part) > 1:
                    first = min(part)
                    out[f"cluster:{names.get(first, first) if names else first}"] = part
        return out


@dataclass
class GraphData:
    complaints: list[dict[str, Any]]  # id, reference, product, category, state, received_at, customer, text
    causes: dict[int, dict[str, Any]]  # complaint id -> {code, finding}
    cause_names: dict[str, str]
    links: list[dict[str, Any]]
    capas: list[dict[str, Any]]  # id, title, status, owner, root_causes


def build_graph(data: GraphData, strong: float = STRONG_SCORE) -> tuple[nx.Graph, dict[str, set[int]]]:
    """The whole picture, every complaint node tagged with its cluster."""
    links = LinkGraph(strong)
    links.update(data.links)
    refs = {c["id"]: c["reference"] for c in data.complaints}
    clusters = links.clusters(names=refs)
    cluster_of = {cid: name for name, members in clusters.items() for cid in members}
    g = nx.Graph()
    for c in data.complaints:
        n = node("complaint", c["reference"])
        g.add_node(n, kind="complaint", label=c["reference"], cluster=cluster_of.get(c["id"], ""),
                   **{k: _plain(v) for k, v in c.items() if k not in ("id", "customer")})
        if c.get("product"):
            g.add_node(node("product", c["product"]), kind="product", label=c["product"])
            g.add_edge(n, node("product", c["product"]), kind="about", weight=WEIGHT["about"])
        if c.get("customer"):
            g.add_node(node("customer", c["customer"][:12]), kind="customer", label=c["customer"][:12])
            g.add_edge(n, node("customer", c["customer"][:12]), kind="from", weight=WEIGHT["from"])
        cause = data.causes.get(c["id"])
        if cause:
            g.nodes[n]["root_cause"] = cause["code"]
            g.nodes[n]["finding"] = cause.get("finding") or ""
            g.add_node(node("root_cause", cause["code"]), kind="root_cause", label=cause["code"],
                       name=data.cause_names.get(cause["code"], cause["code"]))
            g.add_edge(n, node("root_cause", cause["code"]), kind="caused_by", weight=WEIGHT["caused_by"])
    for link in data.links:
        if link["status"] == "rejected" or link["source_id"] not in refs:
            continue
        a = node("complaint", refs[link["source_id"]])
        if link.get("capa_id") is not None:
            g.add_edge(a, node("capa", link["capa_id"]), kind="fixed_by", status=link["status"], weight=WEIGHT["fixed_by"])
        elif link["target_id"] in refs:
            g.add_edge(a, node("complaint", refs[link["target_id"]]), kind=link["kind"], score=float(link["score"]),
                       status=link["status"], weight=float(link["score"]) * 2)
    for capa in data.capas:
        n = node("capa", capa["id"])
        g.add_node(n, kind="capa", label=f"CAPA {capa['id']}", title=capa["title"], status=capa["status"], owner=capa["owner"])
        for code in capa["root_causes"]:
            g.add_node(node("root_cause", code), kind="root_cause", label=code, name=data.cause_names.get(code, code))
            g.add_edge(n, node("root_cause", code), kind="addresses", weight=WEIGHT["addresses"])
    return g, clusters


def _plain(value: Any) -> Any:
    """GraphML and GEXF take strings and numbers only."""
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else value
