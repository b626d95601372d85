"""The graph: complaints, causes, products, pseudonymised customers and CAPAs; clusters from
confirmed or strong links, kept up to date incrementally; exports that open offline."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import networkx as nx
import pytest
from casework import TO_FOLLOW_UP, take_in, walk

from complaintflow.bootstrap import App
from complaints.steps import Actor
from root_cause import analysis, services
from root_cause.export import write_graph
from root_cause.graph import GraphData, LinkGraph, build_graph

T = datetime(2026, 11, 1, tzinfo=UTC)


def _link(i: int, a: int, b: int, score: float, status: str = "suggested", minute: int = 0) -> dict:
    return {"id": i, "source_id": a, "target_id": b, "capa_id": None, "kind": "related", "score": score,
            "status": status, "updated_at": T.replace(minute=minute), "evidence": {}}


def test_clusters_follow_confirmed_and_strong_links_and_take_the_earliest_name() -> None:
    g = LinkGraph(strong=0.7)
    g.update([_link(1, 2, 1, 0.9), _link(2, 3, 2, 0.5, "confirmed"), _link(3, 5, 4, 0.65), _link(4, 7, 6, 0.95)])
    assert g.clusters(names={1: "C-1", 6: "C-6"}) == {"cluster:C-1": {1, 2, 3}, "cluster:C-6": {6, 7}}


def test_the_link_graph_updates_incrementally_when_a_link_is_rejected() -> None:
    g = LinkGraph()
    g.update([_link(1, 2, 1, 0.9), _link(2, 3, 2, 0.9, minute=1)])
    assert g.update([_link(2, 3, 2, 0.9, "rejected", minute=5)]) == 1
    assert g.clusters() == {"cluster:1": {1, 2}} and g.watermark == T.replace(minute=5)


def test_a_big_component_is_split_into_communities() -> None:
    g = LinkGraph()
    clique = [_link(100 * k + i, 100 * k + i, 100 * k + j, 0.9) for k in range(2) for i in range(1, 40) for j in range(i)]
    g.update([*clique, _link(9999, 100, 1, 0.75)])  # one bridge between two dense groups
    assert sorted(len(m) for m in g.clusters(max_size=60).values()) == [40, 40]


def _data() -> GraphData:
    complaints = [{"id": i, "reference": f"C-{i}", "product": "Card", "category": "Fees", "state": "closed",
                   "received_at": T, "customer": "ab12cd34ef56ab12cd34", "text": f"text {i}"} for i in (1, 2, 3)]
    capas = [{"id": 1, "title": "Fix job", "status": "open", "owner": "ops", "root_causes": ["BILLING"]}]
    return GraphData(complaints, {1: {"code": "BILLING.DUPLICATE", "finding": "job"}}, {"BILLING.DUPLICATE": "Dup"},
                     [_link(1, 2, 1, 0.9), _link(2, 3, 1, 0.9, "rejected")], capas)


def test_the_graph_holds_every_kind_of_node_and_no_personal_names() -> None:
    g, clusters = build_graph(_data())
    kinds = sorted({a["kind"] for _, a in g.nodes(data=True)})
    assert kinds == ["capa", "complaint", "customer", "product", "root_cause"]
    assert g.nodes["complaint:C-1"]["cluster"] == "cluster:C-1" and g.nodes["complaint:C-1"]["root_cause"] == "BILLING.DUPLICATE"
    assert not g.has_edge("complaint:C-3", "complaint:C-1")  # rejected
    assert "customer:ab12cd34ef56" in g and clusters == {"cluster:C-1": {1, 2}}


@pytest.mark.parametrize("fmt", ["graphml", "gexf", "json", "html"])
def test_every_export_format_is_written_and_reads_back(fmt: str, tmp_path: Path) -> None:
    g, _ = build_graph(_data())
    path = tmp_path / f"g.{fmt}"
    write_graph(g, fmt, path)
    if fmt == "graphml":
        assert nx.read_graphml(path).number_of_nodes() == g.number_of_nodes()
    elif fmt == "gexf":
        assert ET.parse(path).getroot().tag.endswith("gexf")
    elif fmt == "json":
        assert len(json.loads(path.read_text())["nodes"]) == g.number_of_nodes()
    else:
        page = path.read_text()
        assert "http://" not in page and "https://" not in page and "<canvas" in page
        data = json.loads(page.split('type="application/json">')[1].split("</script>")[0])
        assert {n["id"] for n in data["nodes"]} == set(g.nodes) and data["legend"][0]["cluster"] == "cluster:C-1"


def test_the_graph_from_the_database_masks_contact_details(app: App) -> None:
    text = "Card charged twice for one purchase; call me on +44 20 7946 0958 or mail ana@example.com"
    take_in(app, product="Card", description=text, customer={"name": "Ana Ozola", "email": "ana@example.com"})
    take_in(app, product="Card", description=text + " again", customer={"name": "Ana Ozola", "email": "ana@example.com"})
    services.run_linking(app.db, app.clock.now())
    services.decide_link(app.db, app.clock.now(), 1, "confirmed", Actor("quinn", "quality"))
    g, clusters = analysis.the_graph(app.db, app.taxonomy)
    dumped = json.dumps(nx.node_link_data(g, edges="edges"), default=str)
    assert "Ana" not in dumped and "ana@example.com" not in dumped and "7946" not in dumped
    assert len(clusters) == 1 and sum(1 for _, a in g.nodes(data=True) if a["kind"] == "customer") == 1


@pytest.mark.parametrize("fmt", ["graphml", "json", "html"])
def test_every_export_shows_the_complaint_and_its_finding_with_personal_data_masked(
    app: App, fmt: str, tmp_path: Path
) -> None:
    text = ("Ο Νίκος Παπαδόπουλος (ΑΜΚΑ 01013099997) πλήρωσε 1.250,00 € στις 12/03/2026 στο "
            "GR16 0110 1250 0000 0001 2300 695 και ζητά επιστροφή· τηλ. 691 234 5678.")
    reference = take_in(app, product="Card", description=text, language="el",
                        customer={"name": "Νίκος Παπαδόπουλος", "email": "nikos@example.gr"})
    walk(app, reference, TO_FOLLOW_UP)
    app.engine.advance(reference, "satisfied", Actor("hana", "handler"), {"comment": "ok"})
    app.engine.advance(reference, "close", Actor("hana", "handler"),
                       {"root_cause_code": "BILLING.DUPLICATE", "finding": "κ. Παπαδόπουλος χρεώθηκε δύο φορές"})
    g, _ = analysis.the_graph(app.db, app.taxonomy)
    write_graph(g, fmt, tmp_path / f"g.{fmt}")
    written = (tmp_path / f"g.{fmt}").read_text(encoding="utf-8")
    for secret in ("Παπαδόπουλ", "Νίκος", "01013099997", "GR16", "5678"):
        assert secret not in written
    node = g.nodes[f"complaint:{reference}"]
    assert node["text"].startswith("Ο [name withheld] (ΑΜΚΑ [national id]) πλήρωσε 1.250,00 € στις 12/03/2026 στο [iban]")
    assert node["finding"] == "κ. [name withheld] χρεώθηκε δύο φορές"


def test_the_stored_link_graph_is_updated_with_only_what_changed(app: App, clock) -> None:
    text = "Card charged twice for one purchase at the same shop, please refund the second charge"
    for extra in ("", " now", " today"):
        take_in(app, product="Card", company="Bank", description=text + extra)
    services.run_linking(app.db, app.clock.now())
    graph = analysis.refresh_link_graph(app.db)
    assert len(graph.clusters()) == 1 and graph.graph.number_of_edges() == 3
    clock.advance(hours=1)
    services.decide_link(app.db, app.clock.now(), 1, "rejected", Actor("quinn", "quality"))
    assert graph.update([]) == 0 and analysis.refresh_link_graph(app.db, graph) is graph
    assert graph.graph.number_of_edges() == 2 and graph.watermark == clock.now()


def _hostile_data() -> GraphData:
    data = _data()
    data.complaints[0].update(product="Card\x1b[2J", category="Fees\u202egnp.exe", text="</script><b>x</b> \x1b]0;pwned")
    return data


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_graph_files_for_a_viewer_show_control_characters_visibly_and_stay_well_formed_xml(
        fmt: str, tmp_path: Path) -> None:
    g, _ = build_graph(_hostile_data())
    path = tmp_path / f"g.{fmt}"
    write_graph(g, fmt, path)
    written = path.read_text(encoding="utf-8")
    assert "\x1b" not in written and "\u202e" not in written
    ET.parse(path)  # an ESC is no character XML may hold: written raw, no reader would open the file
    if fmt == "graphml":
        read = nx.read_graphml(path)
        assert read.nodes["product:Card␛[2J"]["label"] == "Card␛[2J"
        assert read.nodes["complaint:C-1"]["category"] == "Fees<U+202E>gnp.exe"


def test_the_json_export_keeps_the_data_exactly_with_control_characters_escaped(tmp_path: Path) -> None:
    g, _ = build_graph(_hostile_data())
    path = tmp_path / "g.json"
    write_graph(g, "json", path)
    written = path.read_text(encoding="utf-8")
    assert "\x1b" not in written and "\u202e" not in written and "\\u001b[2J" in written
    nodes = {n["id"]: n for n in json.loads(written)["nodes"]}
    assert nodes["complaint:C-1"]["category"] == "Fees\u202egnp.exe" and "product:Card\x1b[2J" in nodes


def test_the_html_picture_shows_text_visibly_and_no_text_can_end_its_script(tmp_path: Path) -> None:
    g, _ = build_graph(_hostile_data())
    path = tmp_path / "g.html"
    write_graph(g, "html", path, title="Graph \x1b[2J <i>")
    page = path.read_text(encoding="utf-8")
    assert "\x1b" not in page and "\u202e" not in page and "<title>Graph ␛[2J &lt;i&gt;</title>" in page
    script = page.split('type="application/json">')[1].split("</script>")[0]
    assert "<" not in script and ">" not in script
    nodes = {n["id"]: n for n in json.loads(script)["nodes"]}
    assert nodes["product:Card\x1b[2J"]["label"] == "Card␛[2J"
    assert nodes["complaint:C-1"]["d"]["text"] == "</script><b>x</b> ␛]0;pwned"
