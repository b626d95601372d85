"""Business time between two instants in constant time, for indicators over many complaints. Pure.

``BusinessCalendar.elapsed`` walks the opening windows day by day: right for one clock, slow
for the three durations of each of 100,000 complaints (a resolution eight weeks after receipt
walks 56 days). A timeline keeps, for each local day, the business seconds from its first day
to that day's opening (a running sum, built once per day asked for); the business time between
two instants is then the difference of their positions, each found with one lookup. The
calendar's own windows are used, so holidays, closures, transferred Saturdays and daylight
saving agree with the clocks exactly.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from escalation.calendar import BusinessCalendar

_DAY = timedelta(days=1)


class BusinessTimeline:
    """Positions on one calendar's business time: ``elapsed(a, b) == calendar.elapsed(a, b)``."""

    def __init__(self, calendar: BusinessCalendar):
        self.calendar = calendar
        self._tz = calendar.tz
        # local day -> (business seconds from the first day to this day's opening, open, close)
        self._days: dict[date, tuple[float, datetime | None, datetime | None]] = {}
        self._first: date | None = None
        self._last: date | None = None

    def elapsed(self, start: datetime, end: datetime) -> float:
        """Business seconds from ``start`` to ``end`` (zero if ``end`` is not after ``start``)."""
        if end <= start:
            return 0.0
        return self.position(end) - self.position(start)

    def position(self, at: datetime) -> float:
        """Business seconds from the opening of the timeline's first day to ``at``."""
        day = at.astimezone(self._tz).date()
        found = self._days.get(day)
        if found is None:
            self._reach(day)
            found = self._days[day]
        before, open_, close = found
        if open_ is None or close is None or at <= open_:
            return before
        if at >= close:
            return before + (close - open_).total_seconds()
        return before + (at - open_).total_seconds()

    def _reach(self, day: date) -> None:
        """Extend the running sum to ``day``, forwards or backwards from the days known."""
        if self._first is None or self._last is None:
            self._days[day] = (0.0, *self._window(day))
            self._first = self._last = day
            return
        while day > self._last:
            before, open_, close = self._days[self._last]
            self._last += _DAY
            self._days[self._last] = (before + _length(open_, close), *self._window(self._last))
        while day < self._first:
            earlier = self._first - _DAY
            window = self._window(earlier)
            self._days[earlier] = (self._days[self._first][0] - _length(*window), *window)
            self._first = earlier

    def _window(self, day: date) -> tuple[datetime | None, datetime | None]:
        window = self.calendar.window(day)
        return window if window is not None else (None, None)


def _length(open_: datetime | None, close: datetime | None) -> float:
    return (close - open_).total_seconds() if open_ is not None and close is not None else 0.0
