"""The pieces under the indicators: business time at constant cost, what the workflow's states
and actions mean, percentiles, the backlog's age bands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalation.indicators.business_time import BusinessTimeline
from escalation.indicators.meaning import Meaning
from escalation.indicators.measures import age_band, median, percentile
from escalation.tiers import policy_for
from workflows.loader import load_workflow, shipped_workflow_files

SHIPPED = load_workflow(next(p for p in shipped_workflow_files() if p.name == "complaint.yaml"))
CALENDARS = policy_for(SHIPPED).calendars
#: One timeline per calendar for the whole run: each example extends it forwards or backwards.
TIMELINES = {name: BusinessTimeline(calendar) for name, calendar in CALENDARS.items()}
#: Two years around the daylight-saving changes, Christmas and Latvia's transferred Saturdays.
instants = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(CALENDARS)), start=instants, length=st.timedeltas(timedelta(0), timedelta(days=70)))
def test_a_timeline_measures_the_same_business_time_as_its_calendar(name: str, start: datetime,
                                                                     length: timedelta) -> None:
    expected = CALENDARS[name].elapsed(start, start + length).total_seconds()
    assert TIMELINES[name].elapsed(start, start + length) == pytest.approx(expected, abs=1e-6)


def test_a_timeline_counts_nothing_backwards_and_skips_a_holiday() -> None:
    gb = TIMELINES["gb"]
    christmas_eve = datetime(2026, 12, 24, 17, tzinfo=UTC)  # Thursday, half an hour before closing
    assert gb.elapsed(christmas_eve, christmas_eve - timedelta(hours=1)) == 0.0
    # Fri 25 (Christmas) and Mon 28 (Boxing Day, moved) are closed: 30 minutes, then Tue 29 09:00-10:00.
    assert gb.elapsed(christmas_eve, datetime(2026, 12, 29, 10, tzinfo=UTC)) == 1.5 * 3600


def test_the_meaning_of_the_shipped_workflow_is_read_from_its_clocks_and_actions() -> None:
    m = Meaning.of([SHIPPED])
    assert m.first_response == {"investigating", "awaiting_customer", "closed"}
    assert m.final_response == {"resolution_proposed", "closed"}
    assert m.done == {"closed", "archived"}  # every SLA clock stops in 'closed'; 'archived' is final
    assert "received" not in m.acknowledged and "acknowledged" in m.acknowledged  # stop: '*'
    assert (m.escalations, m.reopens, m.proposals, m.assigns) == (
        {"escalate"}, {"reopen", "dissatisfied"}, {"propose"}, {"assign"})
    assert m.validity == {"valid": "valid", "invalid": "invalid", "auto_close": "lapsed", "reopen": "valid"}
    assert m.follow_up == {"satisfied": "satisfied", "declined": None, "no_response": None,
                           "dissatisfied": "dissatisfied"}
    assert m.tier_order() == ["frontline", "supervisor", "specialist", "executive"]
    assert (m.deadlines, m.regulatory_clock("fca_disp")) == ({"fca": ("final_response",)}, "fca")


@pytest.mark.parametrize(("values", "middle", "p90"), [
    ([], None, None),
    ([4.0], 4.0, 4.0),
    ([1.0, 2.0], 1.5, 2.0),
    ([3.0, 1.0, 2.0, 10.0, 5.0], 3.0, 10.0),  # rank ceil(4.5) = 5
    ([float(v) for v in range(1, 21)], 10.5, 18.0),  # rank ceil(18) = 18
])
def test_the_median_is_the_middle_and_the_90th_percentile_the_nearest_rank(values: list[float], middle: float | None,
                                                                           p90: float | None) -> None:
    assert (median(values), percentile(values)) == (middle, p90)


@pytest.mark.parametrize(("days", "band"), [(0, "under 1 week"), (6.99, "under 1 week"), (7, "1 to 4 weeks"),
                                            (28, "4 to 8 weeks"), (56, "4 to 8 weeks"), (56.01, "over 8 weeks")])
def test_the_backlog_ages_fall_into_weeks_with_eight_weeks_itself_within_them(days: float, band: str) -> None:
    assert age_band(days) == band
