"""Run one job in a fresh interpreter and report its seconds and peak resident memory.

A job is ``module:function``; the function takes string arguments, prepares its input (not
timed) and returns the work to time, which returns a small JSON-able dict. Peak memory is
the child's own high-water mark (``VmHWM``), so nothing the parent holds is counted.
"""

from __future__ import annotations

import importlib
import json
import resource
import subprocess
import sys
import time
from typing import Any


def measure(job: str, *args: str, timeout: float = 3_600) -> dict[str, Any]:
    """``{"seconds", "peak_mb", "before_mb", "result"}`` of ``job`` run in a child process."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.probe", job, *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{job}({', '.join(args)}) failed: {' | '.join(tail)}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _peak_mb() -> float:
    """This process's peak resident memory: Linux's ``VmHWM``, else ``ru_maxrss``.

    ``ru_maxrss`` survives ``exec``: a child started by a parent holding 2 GB reports at
    least 2 GB however little it uses itself. ``VmHWM`` belongs to the process's own memory
    map, which ``exec`` replaces."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main(argv: list[str]) -> None:
    module, function = argv[0].split(":")
    work = getattr(importlib.import_module(module), function)(*argv[1:])
    before = _peak_mb()
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mb": _peak_mb(), "before_mb": before, "result": result}))


if __name__ == "__main__":
    main(sys.argv[1:])
