"""The indicators as rows of words (indicator, value, detail), the same in the terminal table
and the web console's page: both show the very numbers ``indicators`` computed. Pure."""

from __future__ import annotations

from typing import Any

#: The columns of a breakdown, and which of them a narrow display may leave out first.
BREAKDOWN_COLUMNS = ("Received", "Ack in target", "1st response h", "Resolution h", "p90 h", "SLA met", "Escalated",
                     "Reopened", "Invalid", "Satisfied", "Backlog", "Age d")
SPARE_COLUMNS = ("p90 h", "Age d", "Reopened", "Escalated", "1st response h", "Satisfied", "Invalid",
                 "Resolution h")


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def number(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{unit}"


def title(what: str, period: dict[str, Any]) -> str:
    return f"{what}, {period['from']} to {period['to']} (as of {period['as_of'][:16].replace('T', ' ')} UTC)"


def overall_rows(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(indicator, value, detail) for the period as a whole."""
    s = result["overall"]
    ack = s["acknowledged"]
    rows = [("Received", str(s["received"]), "complaints received in the period"),
            ("Acknowledged within target", percent(ack["rate"]),
             f"{ack['count']} acknowledged; {ack['within_target']} within target, {ack['late']} late")]
    for key, label in (("time_to_acknowledge", "Time to acknowledge"),
                       ("time_to_first_response", "Time to first response"),
                       ("time_to_resolution", "Time to resolution")):
        d = s[key]
        rows.append((label, f"median {number(d['median_hours'], ' h')}",
                     f"90th percentile {number(d['p90_hours'], ' h')}; business hours, of {d['count']} complaint(s)"))
    for clock, c in s["sla"].items():
        rows.append((f"SLA {clock}", percent(c["rate"]), f"{c['met']} met, {c['missed']} missed, {c['running']} running"))
    for clock, deadlines in s["regulatory"].items():
        for name, c in deadlines.items():
            rows.append((f"Regulatory {clock} {name}", percent(c["rate"]),
                         f"{c['met']} met, {c['missed']} missed, {c['pending']} pending"))
    e = s["escalation"]
    reached = ", ".join(f"{tier} {n}" for tier, n in e["highest_tier"].items())
    rows.append(("Escalation rate", percent(e["rate"]), f"{e['escalated']} escalated; highest tier reached: {reached}"))
    r = s["reopened"]
    rows.append(("Reopen rate", percent(r["rate"]), f"{r['reopened']} reopened of {r['of']} given a final response"))
    i = s["invalid"]
    rows.append(("Invalid rate", percent(i["rate"]), f"{i['invalid']} invalid of {i['assessed']} assessed; "
                 f"{i['lapsed']} closed for want of a reply"))
    p = s["promises"]
    rows.append(("Promises kept", percent(p["rate"]), f"{p['made']} made: {p['kept']} kept, {p['kept_late']} kept "
                 f"late, {p['broken']} broken, {p['open']} not yet due"))
    f = s["satisfaction"]
    rating = f["rating"]
    rated = (f"rating {rating['mean']:g} of 5 from {rating['recorded']}" if rating["recorded"]
             else "rating of the handling not recorded")
    rows.append(("Satisfaction", percent(f["rate"]), f"{f['asked']} asked: {f['satisfied']} satisfied, "
                 f"{f['dissatisfied']} dissatisfied, {f['no_answer']} no answer, {f['waiting']} waiting; {rated}"))
    b = s["backlog"]
    bands = ", ".join(f"{name} {n}" for name, n in b["ages"].items())
    rows.append(("Backlog", f"{b['open']} open", f"age median {number(b['median_age_days'], ' d')}, 90th percentile "
                 f"{number(b['p90_age_days'], ' d')}, oldest {number(b['oldest_age_days'], ' d')}; {bands}"))
    return rows


def _all_clocks(sla: dict[str, dict[str, Any]]) -> float | None:
    met = sum(c["met"] for c in sla.values())
    missed = sum(c["missed"] for c in sla.values())
    return met / (met + missed) if met + missed else None


def breakdown_row(r: dict[str, Any]) -> tuple[str, ...]:
    """One group's values, in the order of ``BREAKDOWN_COLUMNS`` (its key not included)."""
    return (str(r["received"]), percent(r["acknowledged"]["rate"]), number(r["time_to_first_response"]["median_hours"]),
            number(r["time_to_resolution"]["median_hours"]), number(r["time_to_resolution"]["p90_hours"]),
            percent(_all_clocks(r["sla"])), percent(r["escalation"]["rate"]), percent(r["reopened"]["rate"]),
            percent(r["invalid"]["rate"]), percent(r["satisfaction"]["rate"]), str(r["backlog"]["open"]),
            number(r["backlog"]["median_age_days"]))
