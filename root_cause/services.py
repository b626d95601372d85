"""Use cases of linking: the full linking run, candidates of one complaint, decisions on links.

Domain rules live in the pure modules; this module moves data between them and the
database, one unit of work per use case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from complaints.db import Database
from complaints.errors import InvalidInput
from complaints.steps import Actor
from complaints.uow import UnitOfWork
from root_cause.blocking import LINK_KINDS, all_keys, blocking_keys
from root_cause.proposals import LinkPolicy, candidates_for
from root_cause.repository import RootCauseRepository, pair_key
from root_cause.textkeys import text_keys

SUGGESTED, CONFIRMED, REJECTED = "suggested", "confirmed", "rejected"
CLOSED_STATES = ("closed", "archived")  # related complaints shown at intake are the open ones


@dataclass
class LinkingReport:
    complaints: int = 0
    indexed: int = 0  # complaints whose blocking keys were missing and were added
    proposed: int = 0
    created: int = 0
    updated: int = 0
    kept_rejected: int = 0  # proposals for pairs a person rejected: never re-created
    kept_decided: int = 0  # confirmed or manual links left as people set them


def index_missing(repo: RootCauseRepository) -> int:
    """Blocking keys for complaints stored before the observer existed (or imported by SQL),
    and text keys for those stored before complaints were keyed by their words."""
    ids = sorted(set(repo.ids_without_block_keys()) | set(repo.ids_without_block_keys(text=True)))
    for start in range(0, len(ids), 5000):
        part = ids[start : start + 5000]
        known = repo.existing_block_keys(part)
        records = repo.records(part)
        repo.add_block_keys((r.id, key) for r in records for key in all_keys(r) if (r.id, key) not in known)
    return len(ids)


def run_linking(db: Database, now: datetime, k: int | None = None, progress: Callable[[int, int], None] | None = None, **policy: Any) -> LinkingReport:
    """Link every complaint to its k best matches and store new or changed automatic links."""
    from root_cause.linking import link_all  # numpy and scikit-learn only on this path

    options = LinkPolicy(**({"k": k} if k else {}), **policy)  # type: ignore[arg-type]
    report = LinkingReport()
    with UnitOfWork(db) as uow:
        repo = RootCauseRepository(uow.conn)
        report.indexed = index_missing(repo)
        records = list(repo.all_records())
        uow.commit()
    report.complaints = len(records)
    proposals = link_all(records, options, progress=progress)
    report.proposed = len(proposals)
    with UnitOfWork(db) as uow:
        repo = RootCauseRepository(uow.conn)
        existing = repo.links_by_pair([pair_key(p.source, p.target) for p in proposals])
        fresh = []
        for p in proposals:
            key = pair_key(p.source, p.target)
            old = existing.get(key)
            if old is None:
                fresh.append({"pair_key": key, "source_id": p.source, "target_id": p.target, "kind": p.kind,
                              "score": p.score, "evidence": p.evidence, "origin": "auto", "status": SUGGESTED,
                              "created_at": now, "updated_at": now})
            elif old["status"] == REJECTED:
                report.kept_rejected += 1
            elif old["status"] != SUGGESTED or old["origin"] != "auto":
                report.kept_decided += 1
            elif (old["kind"], round(old["score"], 4)) != (p.kind, p.score):
                repo.update_link(old["id"], kind=p.kind, score=p.score, evidence=p.evidence, updated_at=now)
                report.updated += 1
        repo.insert_links(fresh)
        report.created = len(fresh)
        uow.commit()
    return report


def candidates(db: Database, reference: str, k: int = 5) -> list[dict[str, Any]]:
    """Likely duplicates and related open complaints of one complaint, best first.

    Fast for one complaint, and without numpy: it is compared with the newest members of its
    blocks, those of shared fields and those of alike words (indexed, capped queries), in
    plain Python; stored links and decisions win (a rejected pair is never suggested)."""
    policy = LinkPolicy(k=k)
    with UnitOfWork(db) as uow:
        repo = RootCauseRepository(uow.conn)
        cid = repo.complaint_id(reference)
        record = repo.records([cid])[0]
        members = repo.block_members(blocking_keys(record), policy.recent)
        members += repo.block_members(text_keys(record.text, record.language), policy.text_recent)
        block = repo.records(list(dict.fromkeys(members)))
        stored = {pair_key(lk["source_id"], lk["target_id"]): lk for lk in repo.links_of(cid) if lk["target_id"]}
        found = {pair_key(p.source, p.target): p for p in candidates_for(record, block, policy)}
        others = {key: (lk["target_id"] if lk["source_id"] == cid else lk["source_id"]) for key, lk in stored.items()}
        others.update({key: (p.target if p.source == cid else p.source) for key, p in found.items()})
        summaries = repo.summaries([*others.values(), cid])
    own = summaries[cid]
    rows = []
    for key, other in others.items():
        link, proposal = stored.get(key), found.get(key)
        if link and link["status"] == REJECTED:
            continue
        kind = link["kind"] if link else proposal.kind  # type: ignore[union-attr]
        info = summaries.get(other)
        if info is None or (kind != "duplicate_of" and not link and info["state"] in CLOSED_STATES):
            continue
        rows.append({
            "reference": info["reference"], "state": info["state"], "kind": kind,
            "score": link["score"] if link else proposal.score,  # type: ignore[union-attr]
            "evidence": link["evidence"] if link else proposal.evidence,  # type: ignore[union-attr]
            "link_id": link["id"] if link else None, "status": link["status"] if link else "candidate",
            # a pair's link has no direction: which came first says which is the original
            "received_earlier": (info["received_at"], other) < (own["received_at"], cid),
        })
    rows.sort(key=lambda r: (r["status"] != CONFIRMED, -r["score"], r["reference"]))
    return rows[: max(k, sum(1 for r in rows if r["status"] == CONFIRMED))]


def decide_link(db: Database, now: datetime, link_id: int, decision: str, actor: Actor, reason: str | None = None) -> dict[str, Any]:
    """A person confirms or rejects a link; a rejected pair is never linked automatically again."""
    if decision not in (CONFIRMED, REJECTED):
        raise InvalidInput("Invalid link decision", [f"decision: {decision!r}; use confirmed or rejected"])
    with UnitOfWork(db) as uow:
        repo = RootCauseRepository(uow.conn)
        repo.link(link_id)
        repo.update_link(link_id, status=decision, decided_by=actor.name, decided_at=now, reason=reason, updated_at=now)
        link = repo.link(link_id)
        uow.commit()
    return link


def add_link(db: Database, now: datetime, source: str, target: str, kind: str, actor: Actor, reason: str | None = None) -> dict[str, Any]:
    """A link made by a person (confirmed at once); replaces an automatic one for the same pair."""
    if kind not in LINK_KINDS or kind == "fixed_by":
        raise InvalidInput("Invalid link", [f"kind: {kind!r}; use duplicate_of, related or same_root_cause"])
    with UnitOfWork(db) as uow:
        repo = RootCauseRepository(uow.conn)
        a, b = repo.complaint_id(source), repo.complaint_id(target)
        if a == b:
            raise InvalidInput("Invalid link", [f"a complaint can't be linked to itself ({source})"])
        key = pair_key(a, b)
        values = {"kind": kind, "status": CONFIRMED, "origin": "manual", "decided_by": actor.name, "decided_at": now,
                  "reason": reason, "updated_at": now}
        existing = repo.links_by_pair([key]).get(key)
        if existing:
            repo.update_link(existing["id"], **values)
        else:
            repo.insert_links([{"pair_key": key, "source_id": max(a, b), "target_id": min(a, b), "score": 1.0,
                                "evidence": {"by_hand": actor.name}, "created_at": now, **values}])
        link = repo.link(repo.links_by_pair([key])[key]["id"])
        uow.commit()
    return link
