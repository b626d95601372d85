"""A bar chart of complaints per period for one root cause or cluster (matplotlib, Agg)."""

from __future__ import annotations

from pathlib import Path

from complaints.errors import InvalidInput


def write_chart(subject: str, labels: list[str], counts: list[int], path: Path, baseline: float | None = None) -> None:
    """PNG or SVG by the file's suffix; the dashed line is the subject's baseline rate."""
    if path.suffix.lower() not in (".png", ".svg"):
        raise InvalidInput("Invalid chart file", [f"{path.name}: use a .png or .svg name"])
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(9, 4), dpi=110)
    try:
        ax.bar(labels, counts, color="#1f77b4")
        if baseline is not None:
            ax.axhline(baseline, color="#d62728", linestyle="--", linewidth=1, label=f"baseline {baseline:.2f}")
            ax.legend(loc="upper left")
        ax.set_title(f"Complaints per period: {subject}")
        ax.set_ylabel("complaints")
        ax.tick_params(axis="x", rotation=45)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        fig.tight_layout()
        fig.savefig(path, format=path.suffix.lower().lstrip("."))
    finally:
        plt.close(fig)
