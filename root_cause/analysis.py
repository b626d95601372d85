"""Read-side use cases for quality teams: recurrence analysis, the graph, the report.

Recurrence is tested per root cause and per cluster (see ``recurrence.py`` for the
statistics); every alert is stored once per subject and period, so the nightly run can be
repeated without duplicating alerts.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from complaints.db import Database
from complaints.errors import NotFound
from complaints.privacy import withheld_text
from complaints.repository import complaint_t, customer_t
from complaints.uow import UnitOfWork
from root_cause import capa as capa_rules
from root_cause.graph import GraphData, LinkGraph, build_graph
from root_cause.recurrence import RecurrencePolicy, count_series, detect, periods_ending
from root_cause.repository import RootCauseRepository, chunks
from root_cause.taxonomy import Taxonomy

if TYPE_CHECKING:
    import networkx as nx

TEXT_PREVIEW = 280


def subject_timelines(repo: RootCauseRepository) -> tuple[list[tuple[str, datetime]], dict[str, set[int]]]:
    """(subject, received_at) of every complaint with a root cause or in a cluster, and the clusters."""
    events = [(f"root_cause:{code}", received) for _, code, received in repo.cause_timeline()]
    links = LinkGraph()
    links.update(repo.links_changed_since(None))
    refs = {i: s["reference"] for i, s in repo.summaries(links.graph.nodes).items()}
    clusters = links.clusters(names=refs)
    received = {i: s["received_at"] for i, s in repo.summaries({i for m in clusters.values() for i in m}).items()}
    events += [(name, received[i]) for name, members in clusters.items() for i in members if i in received]
    return events, clusters


def refresh_link_graph(db: Database, graph: LinkGraph | None = None) -> LinkGraph:
    """A link graph built from the stored links, or ``graph`` brought up to date with the links
    created or changed since it was last updated (confirmations and rejections included)."""
    graph = graph or LinkGraph()
    with UnitOfWork(db) as uow:
        graph.update(RootCauseRepository(uow.conn).links_changed_since(graph.watermark))
    return graph


def analyse_recurrence(db: Database, now: datetime, policy: RecurrencePolicy | None = None) -> list[dict[str, Any]]:
    """Root causes and clusters whose newest period is above their baseline, strongest first."""
    policy = policy or RecurrencePolicy()
    labels = periods_ending(now, policy.baseline + 1, policy.unit)
    with UnitOfWork(db) as uow:
        repo = RootCauseRepository(uow.conn)
        events, _ = subject_timelines(repo)
        findings = detect(count_series(events, labels, policy.unit), labels, policy)
        alerts = []
        for f in findings:
            alert = {"kind": "recurrence", "subject": f.subject, "period": f.period, "strength": f.strength,
                     "p_value": f.p_value, "observed": f.observed, "expected": f.expected,
                     "explanation": f.explanation(policy.unit), "status": "open", "created_at": now}
            repo.upsert_alert(alert)
            alerts.append({k: v for k, v in alert.items() if k != "created_at"} | {"q_value": f.q_value})
        uow.commit()
    return alerts


def subject_counts(db: Database, subject: str, now: datetime, periods: int = 12, unit: str = "month") -> tuple[list[str], list[int]]:
    """Complaints per period for one ``root_cause:CODE`` or ``cluster:REF`` (for charts)."""
    labels = periods_ending(now, periods, unit)
    with UnitOfWork(db) as uow:
        events, _ = subject_timelines(RootCauseRepository(uow.conn))
    if not subject.startswith(("root_cause:", "cluster:")):
        subject = f"root_cause:{subject}" if not subject.startswith("C-") else f"cluster:{subject}"
    known = {s for s, _ in events}
    if subject not in known:
        sample = ", ".join(sorted(known)[:8]) or "none yet (record root causes or run linking)"
        raise NotFound(f"No complaints for {subject!r}; known subjects: {sample}")
    series = count_series([e for e in events if e[0] == subject], labels, unit)
    return labels, series.get(subject, [0] * len(labels))


def graph_data(db: Database, taxonomy: Taxonomy, limit: int | None = None) -> GraphData:
    """Complaints that have a root cause or a link (newest first up to ``limit``), with the rest."""
    with UnitOfWork(db) as uow:
        repo = RootCauseRepository(uow.conn)
        links = repo.links_changed_since(None)
        causes = repo.current_causes()
        ids = sorted({lk["source_id"] for lk in links} | {lk["target_id"] for lk in links if lk["target_id"]} | set(causes),
                     reverse=True)[:limit]
        complaints, customer_names = [], {}
        cols = (complaint_t.c.id, complaint_t.c.reference, complaint_t.c.product, complaint_t.c.company,
                complaint_t.c.category, complaint_t.c.state, complaint_t.c.received_at, complaint_t.c.description,
                customer_t.c.pseudonym, customer_t.c.name)
        query = select(*cols).select_from(complaint_t.outerjoin(customer_t, complaint_t.c.customer_id == customer_t.c.id))
        for part in chunks(ids):
            for r in uow.conn.execute(query.where(complaint_t.c.id.in_(part))):
                complaints.append({"id": r.id, "reference": r.reference, "product": r.product, "company": r.company,
                                   "category": r.category, "state": r.state, "received_at": r.received_at,
                                   "customer": r.pseudonym, "text": _preview(r.description, r.name)})
                customer_names[r.id] = r.name
        capas = [{**c, "title": withheld_text(c["title"], None)} for c in repo.capas()]
    names = {c: s.name for c, s in taxonomy.codes.items()}
    kept = {c["id"] for c in complaints}
    kept_causes = {k: {**v, "finding": withheld_text(v.get("finding") or "", customer_names[k])}
                   for k, v in causes.items() if k in kept}
    return GraphData(complaints, kept_causes, names,
                     [lk for lk in links if lk["source_id"] in kept and lk["target_id"] in (kept | {None})], capas)


def _preview(text: str | None, name: str | None) -> str:
    """The opening of the complaint for the picture and its exports, which the quality role
    reads: personal data is masked in the whole text first, so no cut leaves half a number."""
    masked = withheld_text(text or "", name)
    return masked[:TEXT_PREVIEW] + ("…" if len(masked) > TEXT_PREVIEW else "")


def the_graph(db: Database, taxonomy: Taxonomy, limit: int | None = None) -> tuple[nx.Graph, dict[str, set[int]]]:
    return build_graph(graph_data(db, taxonomy, limit))


def report(db: Database, taxonomy: Taxonomy, now: datetime) -> dict[str, Any]:
    """Pareto of root causes, recurring problems ranked, open and overdue CAPAs, link counts."""
    tax = taxonomy
    with UnitOfWork(db) as uow:
        repo = RootCauseRepository(uow.conn)
        counts = Counter(c["code"] for c in repo.current_causes().values())
        alerts = repo.alerts("open")
        capas = repo.capas(capa_rules.ACTIVE)
        link_counts = Counter((lk["kind"], lk["status"]) for lk in repo.links_changed_since(None))
    total = sum(counts.values())
    pareto, running = [], 0
    for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        running += n
        pareto.append({"code": code, "name": tax.codes[code].name if code in tax else "(not in the taxonomy)",
                       "count": n, "share": round(n / total, 4), "cumulative": round(running / total, 4)})
    for c in capas:
        c["overdue"] = capa_rules.is_overdue(c["status"], c["due_at"], now)
    return {
        "generated_at": now,
        "pareto": pareto,
        "recurring": [{k: a[k] for k in ("kind", "subject", "period", "strength", "p_value", "observed", "expected", "explanation")}
                      for a in alerts],
        "capas": [{k: c[k] for k in ("id", "title", "owner", "status", "due_at", "overdue", "root_causes", "implemented_at")}
                  for c in capas],
        "overdue_capas": sum(1 for c in capas if c["overdue"]),
        "links": [{"kind": k, "status": s, "count": n} for (k, s), n in sorted(link_counts.items())],
    }
