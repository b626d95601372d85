"""Benchmarks: how fast and how big, each figure measured beside a baseline in the same run.

Run ``python -m benchmarks`` (``--quick`` for about a minute, ``--help`` for the options).
"""

from benchmarks.runner import FIGURE_KEYS, run

__all__ = ["FIGURE_KEYS", "run"]
