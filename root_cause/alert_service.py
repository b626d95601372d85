"""Alert use cases: raise or carry forward an alert, settle quiet ones, and the people's moves
(assign, ack, link to a CAPA, dismiss, resolve, reopen). Each change and its ``rc_alert_event``
row are written in one transaction; an owner is told through ``rc_notice`` in that same one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from complaints.db import Database
from complaints.errors import InvalidInput
from complaints.steps import Actor
from complaints.uow import UnitOfWork
from root_cause import alerts as rules
from root_cause.recurrence import period_of
from root_cause.repository import RootCauseRepository

SYSTEM = Actor.system("recurrence-analysis")
FINDING = ("period", "strength", "p_value", "observed", "expected", "explanation", "evidence")


def period_of_now(now: datetime, unit: str) -> str:
    return period_of(now, unit)


def _event(repo: RootCauseRepository, alert: dict[str, Any], action: str, to: str, actor: Actor, at: datetime,
           values: dict[str, Any], details: dict[str, Any]) -> dict[str, Any]:
    seq = repo.update_alert(alert, status=to, updated_at=at, **values)
    repo.add_alert_event(alert["id"], seq, action=action, from_status=alert["status"], to_status=to,
                         actor=actor.name, role=actor.role, at=at, details=details)
    return repo.alert(alert["id"])


def _tell_owner(repo: RootCauseRepository, alert: dict[str, Any], what: str, now: datetime) -> None:
    """Queue a notice to the alert's owner (none while it has no owner)."""
    if not alert.get("owner"):
        return
    name = (alert.get("evidence") or {}).get("name", alert["subject"])
    repo.queue_notice({
        "alert_id": alert["id"], "recipient": alert.get("owner_address") or alert["owner"], "created_at": now,
        "subject": f"Recurrence alert {alert['id']} {what}: {name}"[:200],
        "body": (f"{what.capitalize()}: alert {alert['id']} on {alert['subject']} ({name}), {alert['period']}, "
                 f"status {alert['status']}.\n\n{alert['explanation']}\n\n"
                 f"See it with `complaints rootcause alerts show {alert['id']}`."),
    })


def raise_alert(repo: RootCauseRepository, values: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Store a finding as an alert: new; or carried forward by the subject's active alert; or
    reopening a dismissed or resolved one when it is of a later period (new evidence). The
    same period found again only refreshes its numbers: a rerun is no new evidence."""
    existing = repo.find_alert(values["kind"], values["subject"])
    finding = {k: values[k] for k in FINDING if k in values}
    if existing is None or (existing["period"] != values["period"]
                            and not rules.is_later(values["period"], existing["period"])):
        alert_id = repo.insert_alert({**values, "status": rules.OPEN, "version": 1, "updated_at": now})
        repo.add_alert_event(alert_id, 1, action="raise", from_status=None, to_status=rules.OPEN, actor=SYSTEM.name,
                             role=SYSTEM.role, at=now, details=values.get("evidence") or {})
        return repo.alert(alert_id)
    if existing["period"] == values["period"]:
        if existing["status"] in rules.ACTIVE:
            repo.update_alert(existing, updated_at=now, **finding)
        return repo.alert(existing["id"])
    if existing["status"] in rules.ACTIVE:
        alert = _event(repo, existing, "recurred", existing["status"], SYSTEM, now, finding, finding.get("evidence") or {})
        _tell_owner(repo, alert, f"recurred again in {alert['period']}", now)
        return alert
    alert = _event(repo, existing, "reopen", rules.OPEN, SYSTEM, now, finding | {"reason": None},
                   {"new_evidence": finding.get("evidence") or {}, "was": existing["status"]})
    _tell_owner(repo, alert, f"reopened on new evidence from {alert['period']}", now)
    return alert


def settle_quiet_alerts(repo: RootCauseRepository, found: set[str], period: str, now: datetime) -> int:
    """Resolve open recurrence alerts nobody acted on whose subject is no longer above its
    baseline in ``period``; those with an owner's acknowledgement or a CAPA stay theirs."""
    settled = 0
    for alert in repo.alerts(rules.OPEN):
        if alert["kind"] == "recurrence" and alert["subject"] not in found and rules.is_later(period, alert["period"]):
            _event(repo, alert, "resolve", rules.RESOLVED, SYSTEM, now, {"reason": f"not above its baseline in {period}"},
                   {"period": period})
            settled += 1
    return settled


def change_alert(db: Database, now: datetime, alert_id: int, action: str, actor: Actor, *, owner: str | None = None,
                 address: str | None = None, capa_id: int | None = None, reason: str | None = None,
                 evidence: Callable[[RootCauseRepository, dict[str, Any]], dict[str, Any]] | None = None,
                 ) -> dict[str, Any]:
    """A person moves an alert; refused with what is allowed, and why, otherwise. ``reopen``
    needs ``evidence``, which returns a later period's finding or refuses
    (``root_cause.analysis.reopen_alert`` passes it)."""
    with UnitOfWork(db) as uow:
        repo = RootCauseRepository(uow.conn)
        alert = repo.alert(alert_id, for_update=True)
        to = rules.next_status(alert_id, alert["status"], action)
        values: dict[str, Any] = {}
        details: dict[str, Any] = {"reason": reason} if reason else {}
        if action == "assign":
            if not owner:
                raise InvalidInput("Invalid assignment", ["owner: name who owns the alert (--owner)"])
            values = {"owner": owner, "owner_address": address or (owner if "@" in owner else None)}
            details |= values
        elif action == "link":
            if capa_id is None:
                raise InvalidInput("Invalid link", ["capa: name the CAPA the alert is handled by (--capa)"])
            repo.capa(capa_id)
            values, details = {"capa_id": capa_id}, details | {"capa_id": capa_id}
        elif action == "dismiss":
            if not reason or not reason.strip():
                raise InvalidInput("Invalid dismissal", ["reason: say why the alert is dismissed (--reason)"])
            values = {"reason": reason.strip()}
        elif action == "reopen":
            if evidence is None:
                raise InvalidInput(f"Can't reopen alert {alert_id} without looking for new evidence",
                                   ["use root_cause.analysis.reopen_alert"])
            found = evidence(repo, alert)
            values = {k: found[k] for k in FINDING} | {"reason": None}
            details |= {"new_evidence": found["evidence"]}
        alert = _event(repo, alert, action, to, actor, now, values, details)
        if action in ("assign", "reopen"):
            _tell_owner(repo, alert, "assigned to you" if action == "assign" else "reopened", now)
        uow.commit()
    return alert


def list_alerts(db: Database, statuses: list[str] | None = None) -> list[dict[str, Any]]:
    """Alerts in ``statuses`` (default: the active ones), strongest first; unknown statuses refused."""
    unknown = [s for s in statuses or () if s not in (*rules.STATUSES, "all")]
    if unknown:
        raise InvalidInput("Unknown value to filter by", [
            f"status: '{s}' is no alert status (known: {', '.join(rules.STATUSES)}, all)" for s in unknown])
    wanted = None if statuses and "all" in statuses else (statuses or list(rules.ACTIVE))
    with UnitOfWork(db) as uow:
        found = RootCauseRepository(uow.conn).alerts(wanted)
    return [a | {"name": (a["evidence"] or {}).get("name", a["subject"])} for a in found]


def alert_view(db: Database, alert_id: int) -> dict[str, Any]:
    """One alert with its audit trail and the notices queued for its owner."""
    with UnitOfWork(db) as uow:
        repo = RootCauseRepository(uow.conn)
        alert = repo.alert(alert_id)
        return alert | {"name": (alert["evidence"] or {}).get("name", alert["subject"]),
                        "events": repo.alert_events(alert_id), "notices": repo.notices(alert_id)}
