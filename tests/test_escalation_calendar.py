"""Business calendars: working hours in local time, DST, public holidays per country, closures."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from escalation.calendar import BusinessCalendar
from workflows.sla_spec import BusinessDuration, CalendarSpec, parse_business_duration

WEEK = {d: (time(9), time(17, 30)) for d in range(4)} | {4: (time(9), time(17))}
LONDON, RIGA, ATHENS = ZoneInfo("Europe/London"), ZoneInfo("Europe/Riga"), ZoneInfo("Europe/Athens")


def gb(**kw: object) -> BusinessCalendar:
    return BusinessCalendar("gb", "Europe/London", WEEK, "GB", "ENG", **kw)  # type: ignore[arg-type]


def lv() -> BusinessCalendar:
    hours = {d: (time(8, 30), time(17)) for d in range(4)} | {4: (time(8, 30), time(16))}
    return BusinessCalendar("lv", "Europe/Riga", hours, "LV")


def gr() -> BusinessCalendar:
    return BusinessCalendar("gr", "Europe/Athens", {d: (time(9), time(17)) for d in range(5)}, "GR")


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(UTC)  # type: ignore[misc]


HOURS = lambda h: BusinessDuration(seconds=int(h * 3600))  # noqa: E731
DAYS = lambda d: BusinessDuration(days=d)  # noqa: E731


# -- daylight saving -------------------------------------------------------------------------------


def test_a_deadline_across_the_autumn_clock_change_keeps_local_opening_hours() -> None:
    friday = local(LONDON, 2026, 10, 23, 16, 0)  # BST, 15:00 UTC; clocks go back on Sunday the 25th
    due = gb().add(friday, HOURS(4))
    assert due == local(LONDON, 2026, 10, 26, 12, 0) == datetime(2026, 10, 26, 12, 0, tzinfo=UTC)
    assert gb().elapsed(friday, due) == timedelta(hours=4)


def test_a_deadline_across_the_spring_clock_change_keeps_local_opening_hours() -> None:
    friday = local(LONDON, 2026, 3, 27, 16, 0)  # GMT; clocks go forward on Sunday the 29th
    due = gb().add(friday, HOURS(4))
    assert due == datetime(2026, 3, 30, 11, 0, tzinfo=UTC)  # 12:00 BST
    assert due.astimezone(LONDON).hour == 12


# -- public holidays -----------------------------------------------------------------------------


def test_latvian_independence_day_is_not_a_business_day() -> None:
    tuesday = local(RIGA, 2026, 11, 17, 10, 0)
    assert lv().closed_because(date(2026, 11, 18)) == "Republic of Latvia Proclamation Day"
    assert lv().add(tuesday, DAYS(1)) == local(RIGA, 2026, 11, 19, 10, 0)


def test_latvian_independence_day_on_a_saturday_moves_the_holiday_to_monday() -> None:
    friday = local(RIGA, 2023, 11, 17, 10, 0)  # 18 Nov 2023 was a Saturday: Monday 20th is the day off
    assert lv().add(friday, DAYS(1)) == local(RIGA, 2023, 11, 21, 10, 0)


def test_a_latvian_transferred_saturday_is_a_working_day() -> None:
    friday = local(RIGA, 2026, 1, 16, 15, 0)  # Saturday 17 Jan 2026 is worked for Friday 2 Jan
    assert lv().closed_because(date(2026, 1, 2)) is not None
    assert lv().add(friday, HOURS(2)) == local(RIGA, 2026, 1, 17, 9, 30)


def test_greek_orthodox_easter_monday_and_good_friday_are_closed_but_western_easter_monday_is_not() -> None:
    thursday = local(ATHENS, 2026, 4, 9, 12, 0)  # Orthodox Easter 2026 is 12 April
    assert gr().add(thursday, DAYS(1)) == local(ATHENS, 2026, 4, 14, 12, 0)
    assert gr().add(local(ATHENS, 2026, 4, 3, 12, 0), DAYS(1)) == local(ATHENS, 2026, 4, 6, 12, 0)


def test_extra_closure_days_from_configuration_are_skipped() -> None:
    closed = gb(closures={date(2026, 11, 24)})
    monday = local(LONDON, 2026, 11, 23, 10, 0)
    assert closed.add(monday, DAYS(1)) == local(LONDON, 2026, 11, 25, 10, 0)
    assert closed.closed_because(date(2026, 11, 24)) == "office closure"


# -- arithmetic ----------------------------------------------------------------------------------


def test_a_deadline_exactly_at_close_of_business_stays_on_that_day() -> None:
    monday = local(LONDON, 2026, 11, 23, 9, 0)
    assert gb().add(monday, HOURS(8.5)) == local(LONDON, 2026, 11, 23, 17, 30)
    assert gb().add(local(LONDON, 2026, 11, 23, 17, 30), HOURS(1)) == local(LONDON, 2026, 11, 24, 10, 0)


def test_time_outside_working_hours_and_over_a_weekend_does_not_count() -> None:
    friday = local(LONDON, 2026, 11, 27, 16, 0)
    monday = local(LONDON, 2026, 11, 30, 10, 0)
    assert gb().elapsed(friday, monday) == timedelta(hours=2)
    assert gb().add(local(LONDON, 2026, 11, 28, 12, 0), HOURS(1)) == local(LONDON, 2026, 11, 30, 10, 0)


def test_business_days_keep_the_local_time_and_clamp_to_a_shorter_day() -> None:
    thursday_late = local(LONDON, 2026, 11, 26, 17, 15)
    assert gb().add(thursday_late, DAYS(1)) == local(LONDON, 2026, 11, 27, 17, 0)  # Friday closes at 17:00


def test_close_of_the_third_business_day_after_receipt_skips_christmas_and_boxing_day() -> None:
    assert gb().business_days_after(local(LONDON, 2026, 11, 23, 14, 0), 3) == local(LONDON, 2026, 11, 26, 17, 30)
    # 25 Dec holiday, weekend, 28 Dec Boxing Day (observed): 29, 30, 31 December
    assert gb().business_days_after(local(LONDON, 2026, 12, 24, 11, 0), 3) == local(LONDON, 2026, 12, 31, 17, 30)


def test_adding_then_measuring_business_time_round_trips() -> None:
    start = local(LONDON, 2026, 12, 18, 15, 45)
    for target in (HOURS(1), HOURS(8.5), DAYS(3), BusinessDuration(2, 4 * 3600)):
        due = gb().add(start, target)
        assert gb().add_time(start, gb().elapsed(start, due).total_seconds()) == due


def test_a_calendar_spec_builds_the_same_calendar() -> None:
    spec = CalendarSpec(timezone="Europe/Riga", country="LV", hours={"mon": "08:30-17:00", "fri": "08:30-16:00"})
    calendar = BusinessCalendar.from_spec("lv", spec)
    assert calendar.opening(date(2026, 11, 23)) == (time(8, 30), time(17))
    assert calendar.opening(date(2026, 11, 24)) is None  # Tuesday not listed: closed


@pytest.mark.parametrize("text, expected", [("P5D", DAYS(5)), ("PT8H", HOURS(8)), ("P1DT4H30M", BusinessDuration(1, 16200))])
def test_business_durations_keep_days_and_hours_apart(text: str, expected: BusinessDuration) -> None:
    assert parse_business_duration(text) == expected and str(expected) == text


@pytest.mark.parametrize("text", ["P2W", "PT0H", "5 days", "P1M"])
def test_durations_a_calendar_cannot_count_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="business duration|longer than zero"):
        parse_business_duration(text)
