"""Business calendars: working hours per weekday in a time zone, public holidays, closures.

Pure (no I/O). Every computation walks the day's opening window in local time and converts
it to UTC before any arithmetic, so a deadline across a daylight-saving change keeps its
local opening hours, and subtraction never mixes offsets. Countries that move a working day
onto a Saturday (Latvia's transferred days) get that Saturday as a working day, with the
hours of a normal weekday.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from complaints.errors import ConfigurationError
from workflows.sla_spec import WEEKDAYS, BusinessDuration, CalendarSpec

#: A calendar with no open day this far ahead is broken, not slow.
MAX_DAYS = 3660


class BusinessCalendar:
    """Answers 'when is N business hours/days after T?' and 'how much business time passed?'."""

    def __init__(
        self,
        name: str,
        timezone: str,
        hours: dict[int, tuple[time, time]],
        country: str | None = None,
        subdivision: str | None = None,
        closures: frozenset[date] | set[date] = frozenset(),
    ):
        if not hours:
            raise ConfigurationError(f"calendar {name!r} has no open weekday")
        self.name = name
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self.hours = dict(hours)
        self.country = country
        self.subdivision = subdivision
        self.closures = frozenset(closures)
        self._holidays = holidays.country_holidays(country, subdiv=subdivision) if country else None
        self._workday_hours = self.hours[min(self.hours)]  # hours of a transferred working Saturday
        self._windows_by_day: dict[date, tuple[datetime, datetime] | None] = {}

    @classmethod
    def from_spec(cls, name: str, spec: CalendarSpec) -> BusinessCalendar:
        return cls(name, spec.timezone, spec.opening_hours(), spec.country, spec.subdivision, set(spec.closures))

    # -- days --------------------------------------------------------------------------------
    def closed_because(self, day: date) -> str | None:
        """Why a day that would be open is closed ('Christmas Day', 'closure'), else None."""
        if day in self.closures:
            return "office closure"
        if self._holidays is not None and day in self._holidays:
            return str(self._holidays.get(day))
        return None

    def opening(self, day: date) -> tuple[time, time] | None:
        """Local (open, close) of ``day``, or None when the office is closed all day."""
        if self.closed_because(day):
            return None
        hours = self.hours.get(day.weekday())
        if hours is None and self._holidays is not None and day in getattr(self._holidays, "weekend_workdays", ()):
            return self._workday_hours
        return hours

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """The day's opening hours as UTC instants (DST-correct); memoised, days don't change."""
        try:
            return self._windows_by_day[day]
        except KeyError:
            pass
        hours = self.opening(day)
        found = None
        if hours is not None:
            open_, close = (datetime.combine(day, t, tzinfo=self.tz).astimezone(UTC) for t in hours)
            found = (open_, close)
        self._windows_by_day[day] = found
        return found

    def _windows(self, start: datetime) -> Iterator[tuple[date, datetime, datetime]]:
        day = start.astimezone(self.tz).date()
        for offset in range(MAX_DAYS):
            current = day + timedelta(days=offset)
            found = self.window(current)
            if found is not None:
                yield current, *found
        raise ConfigurationError(f"calendar {self.name!r} has no open day within {MAX_DAYS} days of {day}")

    # -- arithmetic ----------------------------------------------------------------------------
    def add_time(self, start: datetime, seconds: float) -> datetime:
        """The instant ``seconds`` of business time after ``start``; lands on a close, not the next open."""
        remaining = max(seconds, 0.0)
        for _, open_, close in self._windows(start):
            begin = max(open_, start)
            if begin >= close:
                continue
            available = (close - begin).total_seconds()
            if remaining <= available:
                return begin + timedelta(seconds=remaining)
            remaining -= available
        raise AssertionError("unreachable")  # pragma: no cover - _windows raises first

    def add_days(self, start: datetime, days: int, close_of_business: bool = False) -> datetime:
        """``days`` business days after ``start``: the same local time on that day (or its close).

        A start outside working hours counts from the next opening."""
        windows = self._windows(start)
        day, open_, close = next(windows)
        if start >= close:
            day, open_, close = next(windows)
        anchor = max(start, open_).astimezone(self.tz).time()
        for _ in range(days):
            day, open_, close = next(windows)
        if close_of_business:
            return close
        at = datetime.combine(day, anchor, tzinfo=self.tz).astimezone(UTC)
        return min(max(at, open_), close)

    def business_days_after(self, start: datetime, days: int) -> datetime:
        """Close of the ``days``-th business day after the day of ``start`` (regulators' count)."""
        local_day = start.astimezone(self.tz).date()
        after = datetime.combine(local_day + timedelta(days=1), time(), tzinfo=self.tz).astimezone(UTC)
        for count, (_, _, close) in enumerate(self._windows(after), start=1):
            if count == days:
                return close
        raise AssertionError("unreachable")  # pragma: no cover

    def add(self, start: datetime, duration: BusinessDuration) -> datetime:
        at = self.add_days(start, duration.days) if duration.days else start
        return self.add_time(at, duration.seconds) if duration.seconds else at

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two instants (zero if ``end`` is not after ``start``)."""
        if end <= start:
            return timedelta(0)
        total = timedelta(0)
        last_day = end.astimezone(self.tz).date()
        for day, open_, close in self._windows(start):
            if day > last_day:
                break
            overlap = min(close, end) - max(open_, start)
            if overlap > timedelta(0):
                total += overlap
        return total

    def budget(self, start: datetime, duration: BusinessDuration) -> float:
        """A target as business seconds, counted from ``start`` (business days differ in length)."""
        return self.elapsed(start, self.add(start, duration)).total_seconds()

    def describe(self) -> str:
        spans: dict[tuple[time, time], list[str]] = {}
        for weekday in sorted(self.hours):
            spans.setdefault(self.hours[weekday], []).append(WEEKDAYS[weekday].title())
        hours = ", ".join(f"{'/'.join(days)} {o:%H:%M}–{c:%H:%M}" for (o, c), days in spans.items())
        where = f"; public holidays of {self.country}{'-' + self.subdivision if self.subdivision else ''}" if self.country else ""
        extra = f"; {len(self.closures)} extra closure day(s)" if self.closures else ""
        return f"{self.name} ({self.timezone}; {hours}{where}{extra})"
