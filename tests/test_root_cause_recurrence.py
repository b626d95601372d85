"""Recurrence: a problem whose rate rises above its own baseline raises an explained alert;
a steady one does not."""

from __future__ import annotations

from datetime import datetime, timedelta

from casework import take_in

from complaintflow.bootstrap import App
from complaints.clock import FixedClock
from complaints.steps import Actor
from complaints.uow import UnitOfWork
from root_cause import alert_service, analysis, services
from root_cause.recurrence import ALL, RecurrencePolicy, count_series, detect, periods_ending
from root_cause.repository import RootCauseRepository

NOV = datetime(2026, 11, 20)


def test_a_rising_series_fires_and_a_flat_one_does_not() -> None:
    labels = periods_ending(NOV, 7)
    series = {"rising": [1, 1, 2, 1, 2, 1, 9], "flat": [3, 3, 4, 3, 3, 3, 4], "brand_new": [0, 0, 0, 0, 0, 0, 6]}
    [finding] = detect(series, labels)
    assert (finding.subject, finding.period, finding.observed) == ("rising", "2026-11", 9)
    assert finding.q_value < 0.01 and finding.strength > 2
    assert "9 complaints in 2026-11 against a baseline of 1.42 a month" in finding.explanation()


def test_alerts_are_ranked_by_strength() -> None:
    labels = periods_ending(NOV, 7)
    found = detect({"a": [1, 1, 1, 1, 1, 1, 6], "b": [1, 1, 1, 1, 1, 1, 12]}, labels)
    assert [f.subject for f in found] == ["b", "a"]


def test_weeks_are_iso_weeks_and_counts_fall_in_their_period() -> None:
    labels = periods_ending(NOV, 3, "week")
    assert labels == ["2026-W45", "2026-W46", "2026-W47"]
    counts = count_series([("x", NOV), ("x", NOV - timedelta(days=7)), ("x", NOV - timedelta(days=70))], labels, "week")
    assert counts == {"x": [0, 1, 1]}


def _history(app: App, code: str, per_month: list[int], now: datetime) -> None:
    """Complaints received month by month (oldest first), each reviewed with ``code``."""
    labels = periods_ending(now, len(per_month))
    for label, n in zip(labels, per_month, strict=True):
        year, month = map(int, label.split("-"))
        for i in range(n):
            ref = take_in(app, product="Card", description=f"{code} case {label} {i}", received_at=datetime(year, month, 1 + i))
            with UnitOfWork(app.db) as uow:
                repo = RootCauseRepository(uow.conn)
                repo.record_cause(repo.complaint_id(ref), 3, code, "", "quinn", now)
                uow.commit()


def test_a_general_rise_in_volume_raises_no_alert_when_tested_against_exposure() -> None:
    labels = periods_ending(NOV, 7)
    series = {f"cluster:{i}": [2, 2, 2, 2, 2, 2, 8] for i in range(17)}  # everything grows with the volume
    volume = {ALL: [100, 100, 100, 100, 100, 100, 400]}
    assert len(detect(series, labels)) == 17  # against each subject's own mean: every cluster alerts
    assert detect(series, labels, volumes=volume) == []
    rising = series | {"cluster:x": [2, 2, 2, 2, 2, 2, 30]}
    [finding] = detect(rising, labels, volumes=volume)
    assert (finding.subject, finding.exposure, finding.volume) == ("cluster:x", ALL, 400)
    assert "30 of 400 complaints in 2026-11 (all complaints), 7.5% against a baseline share of 2.1%" in finding.explanation()


def test_a_subject_is_tested_against_the_volume_of_its_product() -> None:
    labels = periods_ending(NOV, 7)
    volume = {ALL: [100] * 6 + [100], "product: Card": [10] * 6 + [10]}
    series = {"cluster:card": [1, 1, 1, 1, 1, 1, 6]}
    [finding] = detect(series, labels, volumes=volume, exposure_of={"cluster:card": "product: Card"})
    assert (finding.exposure, finding.volume, finding.share) == ("product: Card", 10, round(6.5 / 60.5, 5))


def test_recurrence_analysis_alerts_on_the_rising_root_cause_only_and_says_why(app: App, clock: FixedClock) -> None:
    _history(app, "SYSTEM.OUTAGE", [1, 1, 1, 1, 1, 1, 12], clock.now())
    _history(app, "PRODUCT.FEES", [6, 6, 6, 6, 6, 6, 6], clock.now())
    [alert] = analysis.analyse_recurrence(app.db, app.clock.now())
    assert (alert["subject"], alert["period"], alert["observed"]) == ("root_cause:SYSTEM.OUTAGE", "2026-11", 12)
    assert alert["explanation"].startswith("12 of 18 complaints in 2026-11 (all complaints), 66.7% against a baseline "
                                           "share of 15.3%")
    assert (alert["exposure"], alert["status"]) == (ALL, "open")
    analysis.analyse_recurrence(app.db, app.clock.now())  # the nightly rerun keeps one alert per subject and period
    assert [a["subject"] for a in analysis.report(app.db, app.taxonomy, app.clock.now())["recurring"]] == ["root_cause:SYSTEM.OUTAGE"]


def test_recurrence_respects_a_stated_false_alarm_rate() -> None:
    assert RecurrencePolicy().alpha == 0.01
    flat = {f"s{i}": [5, 5, 5, 5, 5, 5, 5] for i in range(50)}
    assert detect(flat, periods_ending(NOV, 7)) == []


def test_a_cluster_alert_is_named_by_its_key_and_its_top_terms(app: App, clock: FixedClock) -> None:
    _history(app, "PRODUCT.FEES", [6, 6, 6, 6, 6, 6, 6], clock.now())  # the volume the cluster is a share of
    refs = [take_in(app, product="Card", description=f"card frozen abroad at the airport, case {i}",
                    received_at=datetime(2026, 10 if i == 0 else 11, 2 + i)) for i in range(7)]  # seen before too
    for ref in refs[1:]:
        services.add_link(app.db, clock.now(), ref, refs[0], "duplicate_of", Actor("quinn", "quality"))
    found = analysis.analyse_recurrence(app.db, clock.now())
    [alert] = [a for a in found if a["subject"].startswith("cluster:")]
    assert alert["subject"] == f"cluster:{refs[0]}"
    assert alert["name"].startswith(f"cluster:{refs[0]} (") and "frozen" in alert["name"]
    assert alert["explanation"].startswith(f"{alert['name']}: 6 of ")
    [listed] = [a for a in alert_service.list_alerts(app.db, None) if a["id"] == alert["id"]]
    assert listed["name"] == alert["name"]  # what `alerts list`, `report` and `alerts show` print
