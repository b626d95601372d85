"""What the quality pages show, as plain data: the Pareto of causes over a period, recurrence
alerts with their evidence, the CAPA board, and the problem map's subjects.

Nothing here reads a customer's name: quality teams review complaints by pseudonym.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from complaintflow.bootstrap import App
from complaints.errors import InvalidInput
from complaints.uow import UnitOfWork
from root_cause import capa as capa_rules
from root_cause.alert_service import list_alerts
from root_cause.analysis import subject_timelines
from root_cause.capa_service import list_capas
from root_cause.repository import RootCauseRepository

#: The periods the Pareto can be cut to, in days back from now (None: all time).
PERIODS = {"30d": 30, "90d": 90, "365d": 365, "all": None}


def pareto(app: App, period: str = "90d") -> dict[str, Any]:
    """Causes of the complaints received in the period, most frequent first, with shares."""
    if period not in PERIODS:
        raise InvalidInput("Unknown period", [f"period: {period!r}; use {', '.join(PERIODS)}"])
    now = app.clock.now()
    days = PERIODS[period]
    since = now - timedelta(days=days) if days else None
    with UnitOfWork(app.db) as uow:
        timeline = RootCauseRepository(uow.conn).cause_timeline()
    counts = Counter(code for _, code, received in timeline if since is None or received >= since)
    total = sum(counts.values())
    rows, running = [], 0
    for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        running += n
        rows.append({"code": code, "name": app.taxonomy.codes[code].name if code in app.taxonomy else "(not in the taxonomy)",
                     "count": n, "share": n / total, "cumulative": running / total})
    return {"period": period, "since": since, "total": total, "rows": rows, "periods": list(PERIODS)}


def alerts(app: App, status: str = "active") -> list[dict[str, Any]]:
    return list_alerts(app.db, None if status == "active" else [status])


def capa_board(app: App) -> dict[str, list[dict[str, Any]]]:
    """CAPAs in columns by status, each with whether it is overdue and what may be done next."""
    columns: dict[str, list[dict[str, Any]]] = {s: [] for s in capa_rules.STATUSES}
    for c in list_capas(app.db, app.clock.now()):
        actions = [a for a, (froms, _) in capa_rules.ACTIONS.items() if c["status"] in froms]
        columns[c["status"]].append(c | {"actions": actions})
    return columns


# -- the problem map ------------------------------------------------------------------------------


@dataclass
class Subject:
    """A node of the map: a root cause, a cluster of linked complaints, or a CAPA."""

    key: str
    kind: str  # root_cause, cluster, capa
    label: str
    size: int
    parent: str | None = None  # a cluster's most common root cause; a CAPA's first root cause
    detail: str = ""


#: At most this many nodes are drawn, whatever the data: the biggest subjects first.
MAX_CAUSES = 40
MAX_CLUSTERS = 200
MAX_CAPAS = 60


def problem_subjects(app: App) -> dict[str, Any]:
    """Root causes sized by their complaints, clusters named by their top terms and sized by
    volume (each under the cause most of its complaints have), CAPAs under their causes."""
    with UnitOfWork(app.db) as uow:
        repo = RootCauseRepository(uow.conn)
        subjects = subject_timelines(repo)
        causes = repo.current_causes()
        capas = repo.capas(capa_rules.ACTIVE)
    by_cause = Counter(c["code"] for c in causes.values())
    clusters = []
    for key, members in subjects.clusters.items():
        codes = Counter(causes[m]["code"] for m in members if m in causes)
        top = codes.most_common(1)[0][0] if codes else None
        clusters.append(Subject(key, "cluster", subjects.names.get(key, key), len(members), top))
    clusters.sort(key=lambda s: (-s.size, s.key))
    shown_clusters = clusters[:MAX_CLUSTERS]
    wanted = {c.parent for c in shown_clusters if c.parent} | {code for c in capas for code in c["root_causes"]}
    ranked = sorted(by_cause, key=lambda code: (-by_cause[code], code))
    keep = [code for code in ranked if code in wanted][:MAX_CAUSES]
    keep += [code for code in ranked if code not in keep][: max(0, MAX_CAUSES - len(keep))]
    root_causes = [Subject(code, "root_cause", code, by_cause.get(code, 0),
                           detail=app.taxonomy.codes[code].name if code in app.taxonomy else "") for code in keep]
    kept = set(keep)
    for c in shown_clusters:
        if c.parent not in kept:
            c.parent = None
    capa_nodes = [Subject(str(c["id"]), "capa", f"CAPA {c['id']}", 1,
                          next((code for code in c["root_causes"] if code in kept), None),
                          f"{c['title']} ({c['status']}, owner {c['owner']})") for c in capas][:MAX_CAPAS]
    return {"root_causes": root_causes, "clusters": shown_clusters, "capas": capa_nodes,
            "hidden_clusters": len(clusters) - len(shown_clusters), "hidden_causes": len(by_cause) - len(keep),
            "complaints": len(causes) + sum(c.size for c in clusters)}


def subject_complaints(app: App, kind: str, key: str, limit: int = 200) -> dict[str, Any]:
    """The complaints behind a node of the map (references, states, products: no names)."""
    with UnitOfWork(app.db) as uow:
        repo = RootCauseRepository(uow.conn)
        if kind == "cluster":
            subjects = subject_timelines(repo)
            if key not in subjects.clusters:
                raise InvalidInput("Unknown cluster", [f"cluster: {key!r} is in no cluster now"])
            ids = subjects.clusters[key]
            title = f"Cluster “{subjects.names.get(key, key)}”"
        elif kind == "root_cause":
            ids = {cid for cid, c in repo.current_causes().items() if c["code"] == key}
            name = app.taxonomy.codes[key].name if key in app.taxonomy else ""
            title = f"Root cause {key}" + (f" — {name}" if name else "")
        else:
            raise InvalidInput("Unknown kind of subject", [f"kind: {kind!r}; use root_cause or cluster"])
        summaries = repo.summaries(sorted(ids, reverse=True)[:limit])
    rows = sorted(summaries.values(), key=lambda s: s["received_at"] or datetime.min, reverse=True)
    return {"title": title, "kind": kind, "key": key, "total": len(ids), "rows": rows}
