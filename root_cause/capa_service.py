"""CAPA use cases: create, change status, verify effectiveness. Each state change and its
``capa_event`` row are written in one transaction; a recurrence inside the window reopens the
action and raises an alert in that same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from complaints.clock import as_utc
from complaints.db import Database
from complaints.errors import InvalidInput
from complaints.steps import Actor
from complaints.uow import UnitOfWork
from root_cause import capa as rules
from root_cause.alert_service import raise_alert
from root_cause.blocking import FIXED_BY
from root_cause.repository import RootCauseRepository, pair_key
from root_cause.schemas import CapaIn
from root_cause.taxonomy import Taxonomy


def create_capa(db: Database, taxonomy: Taxonomy, now: datetime, data: CapaIn, actor: Actor) -> dict[str, Any]:
    due = as_utc(data.due_at)
    if due.date() < now.date():  # due today is fine: a date alone reads as its midnight
        raise InvalidInput("Invalid CAPA", [f"due_at: {due:%Y-%m-%d} is already past (today is {now:%Y-%m-%d}, UTC)"])
    codes = sorted({taxonomy.check_code(code, "root_causes") for code in data.root_causes})
    with UnitOfWork(db) as uow:
        repo = RootCauseRepository(uow.conn)
        fixes = [repo.complaint_id(ref) for ref in data.complaints]
        capa_id = repo.insert_capa({
            "title": data.title, "description": data.description, "owner": data.owner, "due_at": due,
            "status": rules.OPEN, "window_days": data.window_days, "version": 1, "created_by": actor.name,
            "created_at": now, "last_check": {},
        }, codes)
        repo.add_capa_event(capa_id, 1, action="create", from_status=None, to_status=rules.OPEN, actor=actor.name,
                            role=actor.role, at=now, details={"root_causes": codes, "owner": data.owner,
                                                              "due_at": due.isoformat()})
        repo.insert_links([
            {"pair_key": pair_key(cid, capa=capa_id), "source_id": cid, "capa_id": capa_id, "kind": FIXED_BY,
             "score": 1.0, "evidence": {"capa": data.title}, "origin": "manual", "status": "confirmed",
             "created_at": now, "updated_at": now, "decided_by": actor.name, "decided_at": now}
            for cid in dict.fromkeys(fixes)
        ])
        capa = repo.capa(capa_id)
        uow.commit()
    return capa


def change_capa(db: Database, now: datetime, capa_id: int, action: str, actor: Actor,
                reason: str | None = None) -> dict[str, Any]:
    """implement, cancel or reopen by hand; refused with the allowed actions otherwise."""
    with UnitOfWork(db) as uow:
        repo = RootCauseRepository(uow.conn)
        capa = repo.capa(capa_id, for_update=True)
        to = rules.next_status(capa_id, capa["status"], action)
        values: dict[str, Any] = {"status": to}
        if action == "implement":
            values["implemented_at"] = now
        if to == rules.CANCELLED:
            values["closed_at"] = now
        _write(repo, capa, action, to, actor, now, values, {"reason": reason} if reason else {})
        capa = repo.capa(capa_id)
        uow.commit()
    return capa


def _write(repo: RootCauseRepository, capa: dict[str, Any], action: str, to: str, actor: Actor, at: datetime,
           values: dict[str, Any], details: dict[str, Any]) -> None:
    seq = repo.update_capa(capa, **values)
    repo.add_capa_event(capa["id"], seq, action=action, from_status=capa["status"], to_status=to, actor=actor.name,
                        role=actor.role, at=at, details=details)


def verify_capas(db: Database, taxonomy: Taxonomy, now: datetime, capa_id: int | None = None) -> list[dict[str, Any]]:
    """Check implemented CAPAs: complaint rate of their root causes before vs after implementation."""
    system = Actor.system("capa-verification")
    results = []
    with UnitOfWork(db) as uow:
        repo = RootCauseRepository(uow.conn)
        targets = [repo.capa(capa_id, for_update=True)] if capa_id else repo.capas([rules.IMPLEMENTED])
        timeline = repo.cause_timeline()
        for capa in targets:
            if capa["status"] != rules.IMPLEMENTED or capa["implemented_at"] is None:
                results.append({"capa": capa["id"], "outcome": capa["status"], "explanation": "not implemented yet"})
                continue
            codes = taxonomy.covered_by(capa["root_causes"])
            w = rules.windows(capa["implemented_at"], capa["window_days"], now)
            hits = [received for _, code, received in timeline if code in codes]
            before = sum(1 for t in hits if w.before_start <= t < w.start)
            after = sum(1 for t in hits if w.start <= t < w.after_end)
            check = rules.verify(w, before, after)
            details = check.as_dict() | {"checked_at": now.isoformat()}
            values: dict[str, Any] = {"last_check": details}
            if check.outcome != capa["status"]:
                values["status"] = check.outcome
                if check.outcome == rules.EFFECTIVE:
                    values["closed_at"] = now
                _write(repo, capa, "verify", check.outcome, system, now, values, details)
            else:
                repo.update_capa(capa, **values)
            if check.outcome == rules.REOPENED:
                raise_alert(repo, {"kind": "capa_recurred", "subject": f"capa:{capa['id']}",
                                   "period": now.date().isoformat(), "strength": round(min(after / max(before, 1), 99), 3),
                                   "p_value": check.p_value, "observed": after, "expected": round(before * check.after_days / max(check.before_days, 1e-9), 3),
                                   "explanation": f"CAPA {capa['id']} '{capa['title']}' reopened: {check.explanation}",
                                   "created_at": now, "evidence": details | {"name": f"CAPA {capa['id']}: {capa['title']}"}},
                            now)
            results.append({"capa": capa["id"], "outcome": check.outcome, "explanation": check.explanation})
        uow.commit()
    return results


def capa_view(db: Database, capa_id: int) -> dict[str, Any]:
    with UnitOfWork(db) as uow:
        repo = RootCauseRepository(uow.conn)
        return repo.capa(capa_id) | {"events": repo.capa_events(capa_id)}


def list_capas(db: Database, now: datetime, statuses: list[str] | None = None) -> list[dict[str, Any]]:
    """CAPAs (only those in ``statuses``, if given) by due date; an unknown status is refused
    rather than listing nothing."""
    unknown = [s for s in statuses or () if s not in rules.STATUSES]
    if unknown:
        raise InvalidInput("Unknown value to filter by", [
            f"status: '{s}' is no CAPA status (known: {', '.join(rules.STATUSES)})" for s in unknown])
    with UnitOfWork(db) as uow:
        capas = RootCauseRepository(uow.conn).capas(statuses)
    return [c | {"overdue": rules.is_overdue(c["status"], c["due_at"], now)} for c in capas]
