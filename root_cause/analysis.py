"""Read-side use cases for quality teams: recurrence analysis, the graph, the report.

Recurrence is tested per root cause and per cluster (see ``recurrence.py`` for the
statistics); every alert is stored once per subject and period, so the nightly run can be
repeated without duplicating alerts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from complaints.db import Database
from complaints.errors import InvalidInput, NotFound
from complaints.privacy import withheld_text
from complaints.repository import complaint_t, customer_t
from complaints.steps import Actor
from complaints.uow import UnitOfWork
from root_cause import capa as capa_rules
from root_cause.alert_service import change_alert, period_of_now, raise_alert, settle_quiet_alerts
from root_cause.alerts import ACTIVE as ACTIVE_ALERTS
from root_cause.alerts import is_later
from root_cause.graph import GraphData, LinkGraph, build_graph
from root_cause.naming import cluster_names
from root_cause.recurrence import (
    ALL,
    Baseline,
    RecurrenceFinding,
    RecurrencePolicy,
    baseline,
    count_series,
    detect,
    period_start,
    periods_ending,
    product_exposure,
)
from root_cause.repository import RootCauseRepository, chunks
from root_cause.taxonomy import Taxonomy

if TYPE_CHECKING:
    import networkx as nx

TEXT_PREVIEW = 280


@dataclass
class Subjects:
    """Every subject recurrence is tested on: root causes and clusters, with their complaints'
    arrival times, each subject's exposure and each cluster's name (its top terms)."""

    events: list[tuple[str, datetime]]
    clusters: dict[str, set[int]]
    exposure_of: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def name(self, subject: str) -> str:
        """How a person reads the subject: a cluster by its top terms, a root cause by its code."""
        return f"{subject} ({self.names[subject]})" if subject in self.names else subject


def subject_timelines(repo: RootCauseRepository) -> Subjects:
    """(subject, received_at) of every complaint with a root cause or in a cluster, and the clusters.

    A cluster's exposure is the product most of its complaints are about (at least half of
    them), otherwise all complaints; a root cause's is all complaints (a cause cuts across
    products)."""
    events = [(f"root_cause:{code}", received) for _, code, received in repo.cause_timeline()]
    links = LinkGraph()
    links.update(repo.links_changed_since(None))
    refs = {i: s["reference"] for i, s in repo.summaries(links.graph.nodes).items()}
    clusters = links.clusters(names=refs)
    members = repo.summaries({i for m in clusters.values() for i in m})
    events += [(name, members[i]["received_at"]) for name, ids in clusters.items() for i in ids if i in members]
    exposure_of = {}
    for name, ids in clusters.items():
        product, n = Counter(members[i]["product"] for i in ids if i in members).most_common(1)[0]
        exposure_of[name] = product_exposure(product) if product and n * 2 >= len(ids) else ALL
    texts = {r.id: (r.text, r.language) for r in repo.records(sorted(members))}
    return Subjects(events, clusters, exposure_of, cluster_names(clusters, texts))


def volumes(repo: RootCauseRepository, labels: list[str], unit: str) -> dict[str, list[int]]:
    """Complaints per period of every exposure: all complaints and each product's."""
    rows = repo.received_since(period_start(labels[0], unit))
    series = count_series([(ALL, when) for _, when in rows], labels, unit)
    series.update(count_series([(product_exposure(p), when) for p, when in rows if p], labels, unit))
    return series | ({} if ALL in series else {ALL: [0] * len(labels)})


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
    with UnitOfWork(db) as uow:
        repo = RootCauseRepository(uow.conn)
        findings, subjects = current_findings(repo, now, policy)
        alerts = []
        for f in findings:
            name = subjects.name(f.subject)
            explanation = _explained(f, subjects, policy.unit)
            alert = {"kind": "recurrence", "subject": f.subject, "period": f.period, "strength": f.strength,
                     "p_value": f.p_value, "observed": f.observed, "expected": f.expected,
                     "explanation": explanation, "created_at": now,
                     "evidence": f.as_evidence() | {"name": name}}
            stored = raise_alert(repo, alert, now)
            alerts.append({k: v for k, v in alert.items() if k not in ("created_at", "evidence")}
                          | {"q_value": f.q_value, "name": name, "exposure": f.exposure,
                             "id": stored["id"], "status": stored["status"], "owner": stored["owner"]})
        settle_quiet_alerts(repo, {f.subject for f in findings}, period_of_now(now, policy.unit), now)
        uow.commit()
    return alerts


def _explained(finding: RecurrenceFinding, subjects: Subjects, unit: str) -> str:
    """The finding's explanation, led by the cluster's name: its key alone tells a reader nothing."""
    text = finding.explanation(unit)
    return f"{subjects.name(finding.subject)}: {text}" if finding.subject in subjects.names else text


def current_findings(repo: RootCauseRepository, now: datetime, policy: RecurrencePolicy):  # type: ignore[no-untyped-def]
    """The findings of the period holding ``now`` (read only), and the subjects tested."""
    labels = periods_ending(now, policy.baseline + 1, policy.unit)
    subjects = subject_timelines(repo)
    series = count_series(subjects.events, labels, policy.unit)
    return detect(series, labels, policy, volumes(repo, labels, policy.unit), subjects.exposure_of), subjects


@dataclass(frozen=True)
class SubjectSeries:
    """One subject's complaints per period, and the baseline the recurrence test uses for the
    last period shown (``baseline.expected``: per period, at the baseline share)."""

    subject: str
    name: str
    labels: list[str]
    counts: list[int]
    baseline: Baseline


def subject_counts(db: Database, subject: str, now: datetime, periods: int = 12, unit: str = "month",
                   policy: RecurrencePolicy | None = None) -> SubjectSeries:
    """Complaints per period for one ``root_cause:CODE`` or ``cluster:REF``, ending with the
    period holding ``now``, with the very baseline :func:`analyse_recurrence` would test that
    period against (for charts)."""
    policy = policy or RecurrencePolicy(unit=unit)
    labels = periods_ending(now, max(periods, policy.baseline + 1), unit)
    with UnitOfWork(db) as uow:
        repo = RootCauseRepository(uow.conn)
        subjects = subject_timelines(repo)
        if not subject.startswith(("root_cause:", "cluster:")):
            subject = f"root_cause:{subject}" if not subject.startswith("C-") else f"cluster:{subject}"
        known = {s for s, _ in subjects.events}
        if subject not in known:
            sample = ", ".join(sorted(known)[:8]) or "none yet (record root causes or run linking)"
            raise NotFound(f"No complaints for {subject!r}; known subjects: {sample}")
        volume = volumes(repo, labels, unit)
    counts = count_series([e for e in subjects.events if e[0] == subject], labels, unit).get(subject, [0] * len(labels))
    exposure = subjects.exposure_of.get(subject, ALL)
    base = baseline(counts, policy, volume.get(exposure, [0] * len(labels)), exposure)
    return SubjectSeries(subject, subjects.name(subject), labels[-periods:], counts[-periods:], base)


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
        alerts = repo.alerts(ACTIVE_ALERTS)
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
        "recurring": [{k: a[k] for k in ("id", "kind", "subject", "period", "strength", "p_value", "observed", "expected",
                                         "explanation", "status", "owner")}
                      | {"name": (a["evidence"] or {}).get("name", a["subject"]),
                         "exposure": (a["evidence"] or {}).get("exposure")}
                      for a in alerts],
        "capas": [{k: c[k] for k in ("id", "title", "owner", "status", "due_at", "overdue", "root_causes", "implemented_at")}
                  for c in capas],
        "overdue_capas": sum(1 for c in capas if c["overdue"]),
        "links": [{"kind": k, "status": s, "count": n} for (k, s), n in sorted(link_counts.items())],
    }


def reopen_alert(db: Database, now: datetime, alert_id: int, actor: Actor, reason: str | None = None,
                 policy: RecurrencePolicy | None = None) -> dict[str, Any]:
    """Reopen a dismissed or resolved alert, only on new evidence: a later period's finding."""
    return change_alert(db, now, alert_id, "reopen", actor, reason=reason,
                        evidence=lambda repo, alert: _new_evidence(repo, alert, now, policy))


def _new_evidence(repo: RootCauseRepository, alert: dict[str, Any], now: datetime,
                  policy: RecurrencePolicy | None) -> dict[str, Any]:
    """The finding of a later period than the alert's, or InvalidInput: no reopening without one."""
    unit = "week" if "-W" in alert["period"] else "month"
    findings, subjects = current_findings(repo, now, policy or RecurrencePolicy(unit=unit))
    for f in findings:
        if f.subject == alert["subject"] and is_later(f.period, alert["period"]):
            name = subjects.name(f.subject)
            explanation = _explained(f, subjects, unit)
            return {"period": f.period, "strength": f.strength, "p_value": f.p_value, "observed": f.observed,
                    "expected": f.expected, "explanation": explanation, "evidence": f.as_evidence() | {"name": name}}
    raise InvalidInput(f"Can't reopen alert {alert['id']}: no new evidence", [
        f"{alert['subject']} is not above its baseline in a period after {alert['period']}; "
        "an alert is reopened only on a later period's finding (`complaints rootcause analyse` reopens it then)"])


