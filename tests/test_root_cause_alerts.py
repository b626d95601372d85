"""Recurrence alerts have an owner and a lifecycle, audited, and owners are told through the outbox."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_root_cause_recurrence import _history

from complaintflow.bootstrap import App
from complaints.clock import FixedClock
from complaints.errors import InvalidInput
from complaints.steps import Actor
from root_cause import alert_service, analysis
from root_cause.capa_service import create_capa
from root_cause.schemas import parse_capa

QUINN = Actor("quinn", "quality")


def _rising(app: App, clock: FixedClock) -> dict:
    _history(app, "SYSTEM.OUTAGE", [1, 1, 1, 1, 1, 1, 12], clock.now())
    _history(app, "PRODUCT.FEES", [6, 6, 6, 6, 6, 6, 6], clock.now())
    [alert] = analysis.analyse_recurrence(app.db, clock.now())
    return alert


def test_an_alert_is_assigned_acknowledged_linked_and_every_move_is_audited(app: App, clock: FixedClock) -> None:
    alert = _rising(app, clock)
    now = clock.now()
    alert_service.change_alert(app.db, now, alert["id"], "assign", QUINN, owner="ops-lead", address="ops@example.com")
    alert_service.change_alert(app.db, now, alert["id"], "ack", QUINN)
    capa = create_capa(app.db, app.taxonomy, now, parse_capa({"title": "Fix the outage", "owner": "ines",
                       "due_at": "2026-12-31", "root_causes": ["SYSTEM.OUTAGE"]}), QUINN)
    linked = alert_service.change_alert(app.db, now, alert["id"], "link", QUINN, capa_id=capa["id"])
    assert (linked["status"], linked["owner"], linked["capa_id"]) == ("linked", "ops-lead", capa["id"])
    view = alert_service.alert_view(app.db, alert["id"])
    assert [(e["action"], e["to_status"]) for e in view["events"]] == [
        ("raise", "open"), ("assign", "open"), ("ack", "acknowledged"), ("link", "linked")]
    [notice] = view["notices"]
    assert (notice["recipient"], notice["status"]) == ("ops@example.com", "queued")
    assert "assigned to you" in notice["subject"] and "rootcause alerts show" in notice["body"]


def test_a_dismissal_needs_a_reason_and_only_new_evidence_reopens(app: App, clock: FixedClock) -> None:
    alert = _rising(app, clock)
    with pytest.raises(InvalidInput, match="Invalid dismissal") as refused:
        alert_service.change_alert(app.db, clock.now(), alert["id"], "dismiss", QUINN)
    assert refused.value.problems == ["reason: say why the alert is dismissed (--reason)"]
    gone = alert_service.change_alert(app.db, clock.now(), alert["id"], "dismiss", QUINN, reason="known outage")
    assert (gone["status"], gone["reason"]) == ("dismissed", "known outage")
    analysis.analyse_recurrence(app.db, clock.now())  # the same month found again is no new evidence
    assert alert_service.alert_view(app.db, alert["id"])["status"] == "dismissed"
    with pytest.raises(InvalidInput, match=f"Can't reopen alert {alert['id']}: no new evidence"):
        analysis.reopen_alert(app.db, clock.now(), alert["id"], QUINN)
    with pytest.raises(InvalidInput, match="Can't 'ack' alert .* in status 'dismissed'"):
        alert_service.change_alert(app.db, clock.now(), alert["id"], "ack", QUINN)


def test_a_later_periods_finding_reopens_a_dismissed_alert_and_tells_its_owner(app: App, clock: FixedClock) -> None:
    alert = _rising(app, clock)
    alert_service.change_alert(app.db, clock.now(), alert["id"], "assign", QUINN, owner="ops@example.com")
    alert_service.change_alert(app.db, clock.now(), alert["id"], "dismiss", QUINN, reason="known outage")
    clock.advance(days=27)  # 2026-12-20
    december = clock.now()
    _history(app, "SYSTEM.OUTAGE", [14], december)
    _history(app, "PRODUCT.FEES", [6], december)
    [again] = analysis.analyse_recurrence(app.db, december)
    assert (again["id"], again["status"], again["period"]) == (alert["id"], "open", "2026-12")
    view = alert_service.alert_view(app.db, alert["id"])
    assert view["events"][-1]["action"] == "reopen" and view["events"][-1]["details"]["was"] == "dismissed"
    assert [n["subject"].split(":")[0] for n in view["notices"]] == [
        f"Recurrence alert {alert['id']} assigned to you", f"Recurrence alert {alert['id']} reopened on new evidence from 2026-12"]


def test_an_open_alert_nobody_acted_on_is_resolved_when_its_subject_is_quiet(app: App, clock: FixedClock) -> None:
    alert = _rising(app, clock)
    clock.advance(days=45)
    january = clock.now()
    _history(app, "PRODUCT.FEES", [6], january)
    assert analysis.analyse_recurrence(app.db, january) == []
    settled = alert_service.alert_view(app.db, alert["id"])
    assert (settled["status"], settled["reason"]) == ("resolved", "not above its baseline in 2027-01")
    assert alert_service.list_alerts(app.db) == []
    assert [a["id"] for a in alert_service.list_alerts(app.db, ["all"])] == [alert["id"]]


def test_the_chart_draws_the_baseline_the_test_used(app: App, clock: FixedClock, tmp_path: Path) -> None:
    from root_cause.chart import write_chart

    alert = _rising(app, clock)
    series = analysis.subject_counts(app.db, "SYSTEM.OUTAGE", clock.now(), periods=30)
    assert len(series.labels) == 30 and series.counts[-1] == 12
    assert series.baseline.expected_now == pytest.approx(alert["expected"], abs=1e-3)
    assert series.baseline.exposure == "all complaints"
    write_chart(series, tmp_path / "outage.png")
    assert (tmp_path / "outage.png").stat().st_size > 1000
