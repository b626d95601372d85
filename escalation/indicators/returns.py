"""Returns shaped like a regulator's, from the same facts as the indicators. Pure but for loading
the product mapping.

**UK FCA, DISP 1 Annex 1R** (half-yearly): per product/service grouping, complaints opened
(received in the half), closed (their final response given in the half: the FCA clock
stopped), the share closed by the close of the third business day after receipt (DISP 1.5),
after that but within eight weeks (DISP 1.6), and upheld (of those closed, the ones found
valid: the validity decision), with the complaints outstanding at the half's start and the
redress paid where proposals record a ``redress`` amount. Products go to the FCA's groupings
through a mapping (``fca_groups.yaml``, or a file of the same shape).

**US CFPB** (company response summary): of the complaints received in the period, whether the
company responded in time (its first response, the validity decision or a question to the
customer, within 15 days of receipt) and how each was closed:

- *Closed with monetary relief*: the latest proposal says ``relief: monetary``, or records a
  ``redress`` above 0 where it says nothing of relief;
- *Closed with non-monetary relief*: ``relief: non_monetary``;
- *Closed with explanation*: found invalid, closed for want of the customer's reply, or a
  proposal with ``relief: none`` or none recorded (proposals that record none are counted
  apart too, so that a workflow that records no relief shows it);
- *In progress*: responded, no final response yet;
- *Untimely response*: not responded, more than 15 days after receipt.
Complaints not yet 15 days old and not yet responded to are counted apart ("awaiting response").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from fnmatch import fnmatchcase
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from complaints.errors import ConfigurationError, InvalidInput, NotFound
from complaints.problems import line_index, line_of, load_yaml, read_yaml_file, validation_problems, yaml_error_text
from escalation.indicators.facts import CaseFacts
from escalation.indicators.measures import Period, rate

FCA_GROUPS = ("Banking and credit cards", "Home finance", "Insurance & pure protection", "Decumulation & pensions",
              "Investments", "Credit related")
NOT_MAPPED = "Not mapped"
FCA_PRESET = "fca_disp"
#: The fca_disp milestones: the summary resolution (three business days) and the final response.
SUMMARY, FINAL = "summary_resolution", "final_response"
CFPB_RESPONSE_DAYS = 15
CFPB_CATEGORIES = ("Closed with explanation", "Closed with monetary relief", "Closed with non-monetary relief",
                   "In progress", "Untimely response")
EXPLANATION, MONETARY, NON_MONETARY, IN_PROGRESS, UNTIMELY = CFPB_CATEGORIES
AWAITING = "Awaiting response"
_HALF = re.compile(r"^\s*(\d{4})\s*-?\s*H([12])\s*$", re.IGNORECASE)


# -- the product mapping ------------------------------------------------------------------------------
class GroupRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    match: str = Field(min_length=1, max_length=200, description="shell-style pattern of product names")
    group: Literal[FCA_GROUPS]  # type: ignore[valid-type]


class GroupsSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rules: list[GroupRule] = Field(min_length=1, max_length=1000)


class ProductGroups:
    """Our products -> the FCA's groupings: the first rule whose pattern matches, letter case ignored."""

    def __init__(self, spec: GroupsSpec, source: str):
        self.spec, self.source = spec, source
        self._rules = [(rule.match.casefold(), rule.group) for rule in spec.rules]
        self._memo: dict[str, str] = {}

    def group(self, product: str) -> str:
        found = self._memo.get(product)
        if found is None:
            name = product.casefold()
            found = next((group for pattern, group in self._rules if fnmatchcase(name, pattern)), NOT_MAPPED)
            self._memo[product] = found
        return found


def parse_groups(text: str, source: str) -> ProductGroups:
    try:
        raw = load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{source}: {yaml_error_text(exc, column=False)}") from exc
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{source}: the file must hold a mapping with 'rules: [{{match, group}}, ...]'")
    try:
        return ProductGroups(GroupsSpec.model_validate(raw), source)
    except ValidationError as exc:
        index = line_index(text)
        problems = []
        for path, message in validation_problems(exc, GroupsSpec, raw):
            dotted = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")
            line = line_of(index, path)
            problems.append(f"{f'line {line}, ' if line else ''}{dotted}: {message}")
        noun = "problem" if len(problems) == 1 else "problems"
        raise ConfigurationError(f"{source}: {len(problems)} {noun}:\n" + "\n".join(f"  - {p}" for p in problems)
                                 ) from exc


def load_groups(path: str | Path | None = None) -> ProductGroups:
    """The mapping in ``path``, or the one shipped beside this module."""
    if path is None:
        return default_groups()
    path = Path(path)
    try:
        text = read_yaml_file(path)
    except FileNotFoundError as exc:
        raise NotFound(f"Product groups file {str(path)!r} does not exist") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{path}: {yaml_error_text(exc, column=False)}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"{path}: can't read the file as UTF-8: {exc}") from exc
    return parse_groups(text, str(path))


@cache
def default_groups() -> ProductGroups:
    text = (resources.files("escalation.indicators") / "fca_groups.yaml").read_text(encoding="utf-8")
    return parse_groups(text, "escalation/indicators/fca_groups.yaml")


# -- FCA -----------------------------------------------------------------------------------------------
def half_year(text: str) -> tuple[date, date]:
    """'2026H2' -> (2026-07-01, 2026-12-31): the FCA's half-years of a calendar reporting year."""
    match = _HALF.match(text)
    if match is None:
        raise InvalidInput("Invalid --half", [f"{text!r}: write the year and the half, e.g. 2026H1 or 2026H2"])
    year, half = int(match.group(1)), int(match.group(2))
    return (date(year, 1, 1), date(year, 6, 30)) if half == 1 else (date(year, 7, 1), date(year, 12, 31))


def fca_return(facts: Sequence[CaseFacts], clock: str, period: Period, groups: ProductGroups) -> dict[str, Any]:
    """The return's figures per grouping and in total; complaints without the FCA clock (an
    older workflow) are counted apart, in none of them."""
    rows: dict[str, Counter[str]] = {g: Counter() for g in FCA_GROUPS}
    redress: dict[str, float] = {}
    without_clock = 0
    for f in facts:
        reg = f.regulatory.get(clock)
        if reg is None:
            without_clock += period.holds(f.received_at)
            continue
        row = rows.setdefault(groups.group(f.product), Counter())
        stopped = reg.stopped_at
        row["opened"] += period.holds(f.received_at)
        row["outstanding_at_start"] += f.received_at < period.start and (stopped is None or stopped >= period.start)
        if stopped is None or not period.holds(stopped):
            continue
        row["closed"] += 1
        band = _band(stopped, reg.deadlines)
        row[band] += 1
        row["upheld"] += f.validity == "valid"
        if f.redress is not None:
            redress[groups.group(f.product)] = redress.get(groups.group(f.product), 0.0) + f.redress
    total: Counter[str] = Counter()
    for counts in rows.values():
        total.update(counts)
    shaped = [_fca_row(name, counts, redress.get(name)) for name, counts in rows.items()
              if name != NOT_MAPPED or counts]
    return {
        "return": "FCA complaints return (DISP 1 Annex 1R)", "period": period.as_dict(), "clock": clock,
        "mapping": groups.source, "groups": shaped,
        "total": _fca_row("Total", total, sum(redress.values()) if redress else None),
        "without_fca_clock": without_clock,
    }


def _band(stopped: datetime, deadlines: dict[str, datetime]) -> str:
    if SUMMARY in deadlines and stopped <= deadlines[SUMMARY]:
        return "closed_within_3_days"
    if FINAL in deadlines and stopped <= deadlines[FINAL]:
        return "closed_after_3_days_within_8_weeks"
    return "closed_after_8_weeks"


def _fca_row(name: str, counts: Counter[str], redress: float | None) -> dict[str, Any]:
    closed = counts["closed"]
    return {
        "group": name, "opened": counts["opened"], "closed": closed,
        "closed_within_3_days": counts["closed_within_3_days"],
        "closed_after_3_days_within_8_weeks": counts["closed_after_3_days_within_8_weeks"],
        "closed_after_8_weeks": counts["closed_after_8_weeks"],
        "upheld": counts["upheld"], "outstanding_at_start": counts["outstanding_at_start"],
        "share_closed_within_3_days": rate(counts["closed_within_3_days"], closed),
        "share_closed_after_3_days_within_8_weeks": rate(counts["closed_after_3_days_within_8_weeks"], closed),
        "share_upheld": rate(counts["upheld"], closed),
        "redress_paid": round(redress, 2) if redress is not None else None,
    }


# -- CFPB ----------------------------------------------------------------------------------------------
def cfpb_category(f: CaseFacts, as_of: datetime) -> tuple[str, bool]:
    """The company response category of one complaint, and whether its relief went unrecorded."""
    if f.final_response_at is not None:
        if f.validity in ("invalid", "lapsed"):
            return EXPLANATION, False
        if f.relief == "monetary" or (f.relief is None and (f.redress or 0) > 0):
            return MONETARY, False
        if f.relief == "non_monetary":
            return NON_MONETARY, False
        return EXPLANATION, f.proposed and f.relief is None
    if f.first_response_at is not None:
        return IN_PROGRESS, False
    return (UNTIMELY if response_due(f) < as_of else AWAITING), False


def response_due(f: CaseFacts) -> datetime:
    return f.received_at + timedelta(days=CFPB_RESPONSE_DAYS)


def timely(f: CaseFacts, as_of: datetime) -> bool | None:
    """Responded within 15 days (True), not (False), or not known yet (None)."""
    due = response_due(f)
    if f.first_response_at is not None:
        return f.first_response_at <= due
    return False if due < as_of else None


def cfpb_summary(cohort: Sequence[CaseFacts], period: Period) -> dict[str, Any]:
    overall = _cfpb_counts(cohort, period.as_of)
    products: dict[str, list[CaseFacts]] = {}
    for f in cohort:
        products.setdefault(f.product, []).append(f)
    by_product = [{"product": name, **_cfpb_counts(group, period.as_of)} for name, group in products.items()]
    return {
        "return": "CFPB company response summary", "period": period.as_dict(),
        "response_days": CFPB_RESPONSE_DAYS, **overall,
        "by_product": sorted(by_product, key=lambda r: (-r["received"], r["product"])),
    }


def _cfpb_counts(cohort: Sequence[CaseFacts], as_of: datetime) -> dict[str, Any]:
    categories: Counter[str] = Counter()
    unrecorded = 0
    answers: Counter[bool | None] = Counter()
    for f in cohort:
        category, no_relief = cfpb_category(f, as_of)
        categories[category] += 1
        unrecorded += no_relief
        answers[timely(f, as_of)] += 1
    return {
        "received": len(cohort),
        "timely_response": {"yes": answers[True], "no": answers[False], "not_yet_due": answers[None],
                            "rate": rate(answers[True], answers[True] + answers[False])},
        "company_response": {c: categories[c] for c in CFPB_CATEGORIES},
        "awaiting_response": categories[AWAITING],
        "relief_not_recorded": unrecorded,
    }
