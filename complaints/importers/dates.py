"""Dates as complaint files write them, read one column at a time.

Most forms say what they mean: ISO dates and instants (``2020-03-18``, ``2020-03-18T09:30Z``),
year-first dates (``2020/3/18``, ``2020.03.18``) and dates with a month name in English,
Latvian, Greek or Turkish, in their usual inflections (``3 March 2020``, ``March 3, 2020``,
``3-Mar-20``, ``3. marts 2020``, ``2020. gada 3. martā``, ``3 Μαρτίου 2020``, ``3 Mart 2020``).
A numeric date whose year comes last (``03/04/2020``) is read day-first or month-first, and
that is decided once for the whole column (``DateColumn.decide``): a value such as
``25/03/2020`` settles it; a column where every value reads both ways is refused unless the
order or a format is given. Values are memoised: a file holds few distinct dates.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Literal

from complaints.errors import InvalidInput

Order = Literal["dmy", "mdy"]
ORDER_NAMES = {"dmy": "day-first", "mdy": "month-first"}
#: The languages whose month names are read (CLDR's names, from babel, in every inflection).
MONTH_LANGUAGES = ("en", "lv", "el", "tr")
#: Distinct values remembered per column; a column of timestamps can hold one per row.
CACHE_LIMIT = 100_000

_TIME = r"(?:[ T,]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?(?:\s*(?P<ampm>[AaPp]\.?[Mm]\.?))?)?"
_YEAR_FIRST = re.compile(r"(?P<y>\d{4})(?P<sep>[/.-])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})\.?" + _TIME)
_YEAR_LAST = re.compile(r"(?P<a>\d{1,2})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<y>\d{4}|\d{2})\.?" + _TIME)
_WORD = r"(?P<month>[^\W\d_]+)\.?"
_NAMED = [
    # 3 March 2020, 3. marts 2020, 03-Mar-23, 3rd March 2020, 3 Μαρτίου 2020
    re.compile(r"(?P<d>\d{1,2})(?:\.|st|nd|rd|th)?[\s/-]*" + _WORD + r",?[\s/-]+(?P<y>\d{4}|\d{2})\.?" + _TIME),
    # March 3, 2020
    re.compile(_WORD + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})" + _TIME),
    # 2020. gada 3. martā (Latvian)
    re.compile(r"(?P<y>\d{4})\.\s*(?:gada\s+)?(?P<d>\d{1,2})\.\s*" + _WORD + _TIME),
]


@dataclass(frozen=True)
class DateOptions:
    """How a column's dates are read when its values can't say: a ``strptime`` format, or the
    order of day and month; neither means decided from the values."""

    format: str | None = None
    dayfirst: bool | None = None


@dataclass(frozen=True)
class _Reading:
    """What one value can mean: ``at`` when it says so itself, else the day-first and
    month-first readings (either None where the numbers can't be one)."""

    form: str
    at: datetime | None = None
    dmy: datetime | None = None
    mdy: datetime | None = None

    @property
    def year_last(self) -> bool:
        return self.at is None and (self.dmy is not None or self.mdy is not None)


@dataclass
class DateColumn:
    """The dates of one column of one file, read in one way decided for all of them."""

    name: str
    options: DateOptions = DateOptions()
    order: Order | None = None
    #: form -> the first value seen in it, for the import's summary
    forms: dict[str, str] = field(default_factory=dict)
    _cache: dict[str, datetime | str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.options.dayfirst is not None:
            self.order = "dmy" if self.options.dayfirst else "mdy"

    @property
    def needs_values(self) -> bool:
        """Whether the order must be decided from the column's values (a first pass)."""
        return self.options.format is None and self.order is None

    def decide(self, values: set[str]) -> None:
        """Settle day-first or month-first from every distinct value of the column; refuse a
        column where each value reads both ways (the file can't say which it means)."""
        if not self.needs_values:
            return
        both, dmy_only, mdy_only = [], [], []
        for value in sorted(values):
            reading = _read(value.strip())
            if reading is None or not reading.year_last:
                continue
            if reading.dmy and reading.mdy:
                both.append(value)
            elif reading.dmy:
                dmy_only.append(value)
            else:
                mdy_only.append(value)
        if len(dmy_only) != len(mdy_only):
            self.order = "dmy" if len(dmy_only) > len(mdy_only) else "mdy"
        elif dmy_only or both:
            example = (both or dmy_only)[0]
            raise InvalidInput(f"Dates in column {self.name!r}", [
                f"{example!r} and the column's other dates read both day-first and month-first"
                + (f" ({len(dmy_only)} values only day-first, as many only month-first)" if dmy_only else "")
                + "; say which with --dayfirst or --monthfirst, a --date-format such as '%d/%m/%Y', "
                "or dayfirst/format in the mapping"])

    def parse(self, text: str) -> datetime:
        """The instant ``text`` names, in UTC (a date or time without a zone is taken as UTC);
        ValueError saying why not."""
        found = self._cache.get(text)
        if found is None:
            found = self._parse(text)
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[text] = found
        if isinstance(found, str):
            raise ValueError(found)
        return found

    def _parse(self, text: str) -> datetime | str:
        value = text.strip()
        if self.options.format:
            try:
                at = datetime.strptime(value, self.options.format)
            except ValueError:
                return f"{value!r} is not a date in the format {self.options.format}"
            self.forms.setdefault(f"format {self.options.format}", value)
            return _utc(at)
        reading = _read(value)
        if reading is None:
            return f"{value!r} is not a date (e.g. 2020-03-18, 2020/3/18, 18 March 2020; --date-format reads others)"
        if reading.at is not None:
            self.forms.setdefault(reading.form, value)
            return reading.at
        order = self.order
        if order is None:  # not decided from values that held this one: it must tell by itself
            if reading.dmy and reading.mdy:
                return f"{value!r} reads both day-first and month-first; say which with --dayfirst or --monthfirst"
            order = "dmy" if reading.dmy else "mdy"
        found = reading.dmy if order == "dmy" else reading.mdy
        if found is None:
            return f"{value!r} is not a {ORDER_NAMES[order]} date, as the column's other dates are"
        self.forms.setdefault(f"{ORDER_NAMES[order]} ({_pattern(order, value)})", value)
        return found

    def described(self) -> str:
        """How the column was read, for the import's summary: ``month-first (MM/DD/YY), e.g.
        03/22/23; ISO 8601, e.g. 2023-03-24``."""
        if not self.forms:
            return f"format {self.options.format}" if self.options.format else "no dates"
        return "; ".join(f"{form}, e.g. {example}" for form, example in self.forms.items())


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _pattern(order: Order, example: str) -> str:
    """``MM/DD/YY`` for a month-first ``03/22/23``."""
    match = _YEAR_LAST.match(example)
    if match is None:  # pragma: no cover - only called for values this pattern read
        return ORDER_NAMES[order]
    sep, year = match["sep"], "YYYY" if len(match["y"]) == 4 else "YY"
    return sep.join(("DD", "MM") if order == "dmy" else ("MM", "DD")) + sep + year


@lru_cache(maxsize=CACHE_LIMIT)
def _read(value: str) -> _Reading | None:
    """What ``value`` can mean as a date, or None if it is none. Shared by every column
    (a value means the same wherever it stands); the order is applied by the column."""
    if len(value) > 64:  # no date is longer; a long cell is not worth the patterns
        return None
    if len(value) >= 10 and value[4] == "-" and value[:4].isdigit():
        try:
            return _Reading("ISO 8601", at=_utc(datetime.fromisoformat(value.replace("z", "Z"))))
        except ValueError:
            pass
    if (m := _YEAR_FIRST.fullmatch(value)) is not None:
        at = _date(int(m["y"]), int(m["m"]), int(m["d"]), m)
        return _Reading("year-first (YYYY/MM/DD)", at=at) if at else None
    if (m := _YEAR_LAST.fullmatch(value)) is not None:
        a, b, year = int(m["a"]), int(m["b"]), _year(m["y"])
        dmy, mdy = _date(year, b, a, m), _date(year, a, b, m)
        return _Reading("numeric", dmy=dmy, mdy=mdy) if dmy or mdy else None
    for pattern in _NAMED:
        if (m := pattern.fullmatch(value)) is not None and (month := month_number(m["month"])):
            at = _date(_year(m["y"]), month, int(m["d"]), m)
            return _Reading("with the month's name", at=at) if at else None
    return None


def _year(text: str) -> int:
    """A two-digit year as strptime's %y reads it: 69-99 are 1969-1999, 00-68 are 2000-2068."""
    return int(text) if len(text) == 4 else int(text) + (1900 if int(text) >= 69 else 2000)


def _date(year: int, month: int, day: int, m: re.Match[str]) -> datetime | None:
    hour, minute, second = int(m["H"] or 0), int(m["M"] or 0), int(m["S"] or 0)
    if m["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m["ampm"][0] in "pP" else 0)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def _folded(word: str) -> str:
    """A month's name as compared: case, accents and Turkish dotless i ignored, no full stop."""
    decomposed = unicodedata.normalize("NFD", word.casefold().rstrip("."))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).replace("ı", "i")


def month_number(word: str) -> int | None:
    return _month_names().get(_folded(word))


@cache
def _month_names() -> dict[str, int]:
    """Every name of every month in ``MONTH_LANGUAGES`` -> its number: CLDR's wide and
    abbreviated names in both contexts (Greek genitive 'Μαρτίου' and nominative 'Μάρτιος'),
    and Latvian's genitive and locative ('marta', 'martā') made from the nominative."""
    from babel import Locale  # babel's data loads in a tenth of a second: only once a month is named

    names: dict[str, set[int]] = {}
    for language in MONTH_LANGUAGES:
        months = Locale.parse(language).months
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, name in months[context][width].items():
                    names.setdefault(_folded(name), set()).add(number)
                    if language == "lv" and width == "wide":
                        stem = name[:-2] if name.endswith("is") else name[:-1]
                        for inflected in (stem + "a", stem + "ā", stem + "ī"):
                            names.setdefault(_folded(inflected), set()).add(number)
    names.setdefault("sept", set()).add(9)
    # a name two languages give to different months is no evidence of either
    return {name: next(iter(numbers)) for name, numbers in names.items() if len(numbers) == 1}


def check_format(fmt: str) -> str | None:
    """Why ``fmt`` can't be a date format for a column (it must name day, month and year)."""
    missing = [what for what, codes in (("day", ("%d", "%j")), ("month", ("%m", "%b", "%B")),
                                         ("year", ("%Y", "%y"))) if not any(c in fmt for c in codes)]
    if missing:
        return f"{fmt!r} names no {' and no '.join(missing)}; write e.g. '%d.%m.%Y' or '%m/%d/%y'"
    try:
        sample = datetime(2020, 3, 25, 14, 5, 6)
        datetime.strptime(sample.strftime(fmt), fmt)
    except ValueError as exc:
        return f"{fmt!r} is not a format strptime reads back: {exc}"
    return None
