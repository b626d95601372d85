"""A real ``prefect server start`` as a child process, for ``complaints schedule`` on one machine.

Prefect's temporary in-process server does not run the scheduler, so serving deployments
against it never starts a run. This starts the real server with its own ``PREFECT_HOME``
(SQLite under the data dir), waits until it answers, and stops it with the command.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from complaints.errors import ConfigurationError

STARTUP_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as response:  # noqa: S310 - local URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def prefect_server(home: Path, port: int | None = None) -> Iterator[tuple[str, float]]:
    """Yield ``(api_url, seconds it took to become healthy)`` of a server run for the block."""
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = os.environ | {"PREFECT_HOME": str(home)}
    env.pop("PREFECT_API_URL", None)
    log_path = home / "server.log"
    started = time.monotonic()
    with log_path.open("ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    try:
        while not healthy(api_url):
            if child.poll() is not None:
                raise ConfigurationError(f"prefect server exited with code {child.returncode} on start-up; "
                                         f"see {log_path}:\n{_tail(log_path)}")
            if time.monotonic() - started > STARTUP_TIMEOUT_S:
                raise ConfigurationError(f"prefect server did not answer {api_url} within "
                                         f"{STARTUP_TIMEOUT_S:.0f} s; see {log_path}")
            time.sleep(0.25)
        yield api_url, time.monotonic() - started
    finally:
        _stop(child)


def _stop(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
