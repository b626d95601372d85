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
    from matplotlib import pyplot as plt

    fig = weekly_figure(rows, clocks, title)
    try:
        fig.savefig(path, format=fmt)
    finally:
        plt.close(fig)


def weekly_figure(rows: list[dict[str, Any]], clocks: list[str], title: str) -> Any:
    """The chart's matplotlib figure, for the caller to save and close."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    # constrained layout makes room beside the plots for the legends placed there
    fig, (volume, sla, age) = plt.subplots(3, 1, figsize=(11, 8.5), dpi=110, sharex=True, layout="constrained")
    try:
        _draw(rows, clocks, volume, sla, age)
    except BaseException:
        plt.close(fig)
        raise
    fig.suptitle(title)
    return fig


def _draw(rows: list[dict[str, Any]], clocks: list[str], volume: Any, sla: Any, age: Any) -> None:
    from matplotlib import dates as mdates
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    weeks = [date.fromisoformat(r["week"]) for r in rows]
    ends = [week + timedelta(days=7) for week in weeks]  # the backlog is counted at each week's end
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
    _legend_beside(sla)

    age.plot(ends, _gaps([r["backlog"]["median_age_days"] for r in rows]), marker="o", markersize=3,
             label="median age")
    age.plot(ends, _gaps([r["backlog"]["p90_age_days"] for r in rows]), marker="o", markersize=3, linestyle="--",
             label="90th percentile age")
    age.set_title("Backlog at each week's end: age since receipt, and open complaints")
    age.set_ylabel("days")
    age.set_ylim(bottom=0)
    count = age.twinx()
    count.plot(ends, [r["backlog"]["open"] for r in rows], color="#999999", linewidth=1, label="open complaints")
    count.set_ylim(bottom=0)
    count.set_ylabel("open complaints", color="#666666")
    count.yaxis.set_major_locator(MaxNLocator(integer=True))
    _legend_beside(count, [age, count], past=0.08)  # past the open complaints' axis

    locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
    age.xaxis.set_major_locator(locator)
    age.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _legend_beside(ax: Any, sources: list[Any] | None = None, past: float = 0.0) -> Any:
    """A legend right of ``ax``'s plot, where it cannot cover a line: inside, the SLA
    panel's legend sat on the 0% line and hid a clock for weeks."""
    handles = [h for source in sources or [ax] for h in source.get_legend_handles_labels()[0]]
    return ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01 + past, 1), borderaxespad=0,
                     fontsize="small")


def _percent(value: float | None) -> float | None:
    return None if value is None else 100 * value


def _gaps(values: list[float | None]) -> list[float]:
    """None as NaN: matplotlib leaves a gap there rather than drawing to zero."""
    return [float("nan") if v is None else v for v in values]
