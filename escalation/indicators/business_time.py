"""Business time between two instants in constant time, for indicators over many complaints. Pure.

``BusinessCalendar.elapsed`` walks the opening windows day by day: right for one clock, slow
for the three durations of each of 100,000 complaints (a resolution eight weeks after receipt
walks 56 days). A timeline lists the calendar's windows over the days it has been asked about,
as POSIX seconds, with the business seconds before each (a running sum); an instant's position
is found by bisection, and the business time between two instants is the difference of their
positions. The calendar's own windows are used, so holidays, closures, transferred Saturdays
and daylight saving agree with the clocks exactly.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

from escalation.calendar import BusinessCalendar

#: Days listed beyond those asked about, so that the next instants asked about fall inside.
MARGIN = timedelta(days=62)


class BusinessTimeline:
    """Positions on one calendar's business time: ``elapsed(a, b) == calendar.elapsed(a, b)``."""

    def __init__(self, calendar: BusinessCalendar):
        self.calendar = calendar
        self._first: date | None = None  # the local days listed, first and last
        self._last: date | None = None
        self._from = self._until = 0.0  # POSIX seconds of the first day's start and the last day's end
        self._opens: list[float] = []  # each window's opening, in order
        self._closes: list[float] = []
        self._before: list[float] = []  # business seconds before each opening, from the first

    def elapsed(self, start: datetime, end: datetime) -> float:
        """Business seconds from ``start`` to ``end`` (zero if ``end`` is not after ``start``)."""
        return self.elapsed_many([(start, end)])[0]

    def elapsed_many(self, spans: Iterable[tuple[datetime, datetime]]) -> list[float]:
        """``elapsed`` of each (start, end), in order, in one loop: a report has three durations a
        complaint. The windows are listed as call by call would, so the values are the same."""
        out: list[float] = []
        opens, closes, before = self._opens, self._closes, self._before
        for start, end in spans:
            if end <= start:
                out.append(0.0)
                continue
            first, last = start.timestamp(), end.timestamp()
            if first < self._from or last >= self._until:
                self._cover(start, end)
                opens, closes, before = self._opens, self._closes, self._before
            i, j = bisect_right(opens, last) - 1, bisect_right(opens, first) - 1
            at_end = before[i] + min(last, closes[i]) - opens[i] if i >= 0 else 0.0
            at_start = before[j] + min(first, closes[j]) - opens[j] if j >= 0 else 0.0
            out.append(at_end - at_start)
        return out

    def _cover(self, start: datetime, end: datetime) -> None:
        """List the windows of every day from ``start``'s to ``end``'s (and those listed already), with a margin."""
        tz = self.calendar.tz
        margin = MARGIN
        if self._first is not None and self._last is not None:  # a wider margin each time: rebuilt a few times only
            margin = max(margin, self._last - self._first)
        first = (start.astimezone(tz) - margin).date()
        last = (end.astimezone(tz) + margin).date()
        if self._first is not None and self._last is not None:
            first, last = min(first, self._first), max(last, self._last)
        opens, closes, before, total = [], [], [], 0.0
        day = first
        while day <= last:
            window = self.calendar.window(day)
            if window is not None:
                open_, close = window[0].timestamp(), window[1].timestamp()
                opens.append(open_)
                closes.append(close)
                before.append(total)
                total += close - open_
            day += timedelta(days=1)
        self._opens, self._closes, self._before = opens, closes, before
        self._first, self._last = first, last
        self._from = datetime.combine(first, time(), tzinfo=tz).timestamp()
        self._until = datetime.combine(last + timedelta(days=1), time(), tzinfo=tz).timestamp()
