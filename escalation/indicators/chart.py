"""Three weekly pictures on one page: volume, SLA compliance, backlog age (matplotlib, Agg).

matplotlib is imported only here, when a chart is drawn: it takes most of a second to load,
and no other command needs it. The time axis is laid out by matplotlib's date locator, so a
few weeks show their days and years show their months, never a crowd of labels.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from complaints.errors import InvalidInput

SUFFIXES = (".png", ".svg")


def check_chart_file(path: Path) -> str:
    """The format a chart file's name asks for (png or svg), or InvalidInput."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput("Invalid chart file", [f"{path.name}: use a .png or .svg name"])
    return suffix.lstrip(".")


def write_weekly_chart(rows: list[dict[str, Any]], clocks: list[str], path: Path, title: str) -> None:
    """``rows``: ``series.weekly``'s, oldest week first."""
    fmt = check_chart_file(path)
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates as mdates
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    weeks = [date.fromisoformat(r["week"]) for r in rows]
    ends = [week + timedelta(days=7) for week in weeks]  # the backlog is counted at each week's end
    fig, (volume, sla, age) = plt.subplots(3, 1, figsize=(10, 8.5), dpi=110, sharex=True)
    try:
        volume.bar(weeks, [r["received"] for r in rows], width=5, align="edge", color="#1f77b4")
        volume.set_title("Complaints received per week")
        volume.set_ylabel("complaints")
        volume.yaxis.set_major_locator(MaxNLocator(integer=True))

        for clock in clocks:
            values = [_percent(r["sla"].get(clock)) for r in rows]
            if any(v is not None for v in values):
                sla.plot(weeks, _gaps(values), marker="o", markersize=3, linewidth=1, label=clock)
        sla.plot(weeks, _gaps([_percent(r["sla_all"]) for r in rows]), color="black", marker="o", markersize=4,
                 linewidth=2, label="all clocks")
        sla.set_title("SLA compliance of each week's complaints (met / met or missed)")
        sla.set_ylim(-5, 105)
        sla.yaxis.set_major_formatter(PercentFormatter())
        sla.legend(loc="lower left", fontsize="small", ncols=3)

        age.plot(ends, _gaps([r["backlog"]["median_age_days"] for r in rows]), marker="o", markersize=3,
                 label="median age")
        age.plot(ends, _gaps([r["backlog"]["p90_age_days"] for r in rows]), marker="o", markersize=3, linestyle="--",
                 label="90th percentile age")
        age.set_title("Backlog at each week's end: age since receipt (grey: open complaints)")
        age.set_ylabel("days")
        age.set_ylim(bottom=0)
        age.legend(loc="upper left", fontsize="small")
        count = age.twinx()
        count.plot(ends, [r["backlog"]["open"] for r in rows], color="#999999", linewidth=1)
        count.set_ylim(bottom=0)
        count.set_ylabel("open complaints", color="#666666")
        count.yaxis.set_major_locator(MaxNLocator(integer=True))

        locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
        age.xaxis.set_major_locator(locator)
        age.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(path, format=fmt)
    finally:
        plt.close(fig)


def _percent(value: float | None) -> float | None:
    return None if value is None else 100 * value


def _gaps(values: list[float | None]) -> list[float]:
    """None as NaN: matplotlib leaves a gap there rather than drawing to zero."""
    return [float("nan") if v is None else v for v in values]
