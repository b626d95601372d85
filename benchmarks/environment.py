"""What machine a run was measured on, so two result files can be compared honestly."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil

PACKAGES = (
    "complaintflow", "sqlalchemy", "sqlmodel", "pydantic", "psycopg", "prefect", "networkx",
    "scikit-learn", "numpy", "scipy", "python-statemachine", "SpiffWorkflow", "rich",
)


def describe(pg_url: str | None) -> dict[str, Any]:
    memory = psutil.virtual_memory().total
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": round(memory / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": _postgres_version(pg_url) if pg_url else None,
        "packages": {name: _version(name) for name in PACKAGES},
        "git_commit": _git_commit(),
    }


def summary(machine: dict[str, Any]) -> str:
    pg = machine.get("postgresql") or "not used"
    return (f"{machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB; Python {machine['python']}, "
            f"SQLite {machine['sqlite']}, PostgreSQL {pg}")


def _cpu_model() -> str:
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _postgres_version(url: str) -> str | None:
    from benchmarks.databases import raw_pg

    try:
        with raw_pg(url) as conn:
            return str(conn.execute("SHOW server_version").fetchone()[0])
    except Exception as exc:  # noqa: BLE001 - the description must not stop the run
        return f"unreachable ({type(exc).__name__})"


def _git_commit() -> str | None:
    """The commit measured, ``+dirty`` when the tree holds uncommitted changes."""
    commit, changes = _git("rev-parse", "--short", "HEAD"), _git("status", "--porcelain", "--untracked-files=no")
    if not commit:
        return None
    return f"{commit}+dirty" if changes else commit


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=Path(__file__).parent, capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return out.stdout.strip()
