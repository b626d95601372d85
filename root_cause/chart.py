"""A bar chart of complaints per period for one root cause or cluster (matplotlib, Agg).

The dashed line is the baseline the recurrence test used for the last period drawn: the
complaints expected in each period at the subject's baseline share of its volume (or its own
mean, without one), so the chart and the alert always tell the same story.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from complaints.errors import InvalidInput

if TYPE_CHECKING:
    from root_cause.analysis import SubjectSeries

MAX_TICKS = 16  # more period labels than this overlap at the chart's width


def write_chart(series: SubjectSeries, path: Path) -> None:
    """PNG or SVG by the file's suffix."""
    if path.suffix.lower() not in (".png", ".svg"):
        raise InvalidInput("Invalid chart file", [f"{path.name}: use a .png or .svg name"])
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    shown = len(series.labels)
    expected = series.baseline.expected[-shown:]
    positions = list(range(shown))
    fig, ax = plt.subplots(figsize=(9, 4), dpi=110)
    try:
        ax.bar(positions, series.counts, color="#1f77b4", label="complaints")
        base = series.baseline
        what = (f"expected at the baseline share {base.share:.1%} of {base.exposure}" if base.share is not None
                else "baseline (own mean)")
        ax.plot(positions[-len(expected):], expected, color="#d62728", linestyle="--", linewidth=1.2,
                drawstyle="steps-mid", label=f"{what}; {series.labels[-1]}: {base.expected_now:.2f}")
        ax.legend(loc="upper left", fontsize="small")
        ax.set_title(f"Complaints per period: {series.name}", fontsize="medium", wrap=True)
        ax.set_ylabel("complaints")
        step = max(1, -(-shown // MAX_TICKS))
        ax.set_xticks(positions[::step], series.labels[::step], rotation=45, ha="right")
        ax.set_xlim(-0.6, shown - 0.4)
        ax.set_ylim(0, max([*series.counts, *expected, 1]) * 1.15)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        fig.tight_layout()
        fig.savefig(path, format=path.suffix.lower().lstrip("."))
    finally:
        plt.close(fig)
