"""Python's cyclic garbage collector paused for work that makes many objects at once."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0  # pieces of work under way, in any thread, that asked for the pause
_resume = False  # whether the last of them turns the collector on again


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a piece of work, on again after it.

    Work that allocates a few hundred thousand objects and keeps many of them (an import
    batch's rows, a report's facts of every complaint) triggers full collections, each
    walking every object the process holds, again and again while it runs: a large share of
    its time. Its objects are freed by reference counting; what is cyclic waits for the
    collector afterwards. The switch is the whole process's, so pauses that overlap (two
    reports in the api's threads) are counted: the collector runs again when the last one
    ends, not when the first does. Left off if something else turned it off.
    """
    global _pauses, _resume
    with _lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()
