"""Python's cyclic garbage collector paused for work that makes many objects at once."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a piece of work, on again after it.

    Work that allocates a few hundred thousand objects and keeps many of them (an import
    batch's rows, a report's facts of every complaint) triggers full collections, each
    walking every object the process holds, again and again while it runs: a large share of
    its time. Its objects are freed by reference counting; what is cyclic waits for the
    collector afterwards. Left off if something else turned it off.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
