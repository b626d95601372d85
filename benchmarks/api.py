"""Figure: the HTTP API keeps up with the database behind it.

``complaints serve`` (one uvicorn worker) answers 8 concurrent clients, each on a kept-open
connection: a case view (``GET /complaints/REF``: the case, its actions, timeline, timers and
letters) and an ``assign`` step (``POST /complaints/REF/advance``), each with
a bearer token checked on every request. Beside it, in the same run, alternating rounds: a
bare FastAPI app under the same uvicorn whose endpoints run the SQL of the same view and the
core writes of the same step (the case row with its version check, the hash-chained event)
through the raw driver, with no sign-in, engine or observers (``benchmarks/api_bare.py``).
Target: at least half its throughput; the 95th percentile latency of each is in the note.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from benchmarks import data
from benchmarks.cli import complaints_command
from benchmarks.databases import fresh_app
from benchmarks.harness import Context, Figure, Measure, Profile, Target
from complaints.clock import FixedClock
from complaints.importers import read_file
from complaints.steps import Actor

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CLIENTS = 8
#: complaints in the database, requests per round (all clients together), rounds per contender
SIZES: dict[Profile, tuple[int, int, int]] = {"tiny": (200, 80, 1), "quick": (5_000, 800, 3),
                                              "full": (100_000, 2_400, 3)}
TARGET = Target(">=", 0.5)
SECRET = "bench-session-secret-" + "s" * 32


@dataclass
class Round:
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    @property
    def p95_ms(self) -> float:
        return statistics.quantiles(self.latencies, n=20)[-1] * 1000 if len(self.latencies) > 1 else 0.0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _server(argv: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    """A server process on 127.0.0.1:port until the block ends (its output discarded)."""
    process = subprocess.Popen(argv, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{argv[0]} stopped: {process.stderr.read().decode()[-500:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(base + "/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{argv[0]} did not start in 60 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


Request = Callable[[httpx.Client, int], httpx.Response]


def _round(base: str, headers: dict[str, str], request: Request, total: int) -> Round:
    """``total`` requests from CLIENTS threads at once, each on its own kept-open connection."""
    latencies: list[float] = []
    errors: list[str] = []
    barrier = threading.Barrier(CLIENTS + 1)
    lock = threading.Lock()

    def client(number: int) -> None:
        mine: list[float] = []
        with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
            c.get("/openapi.json")  # the connection opened before the clock starts
            barrier.wait()
            for i in range(number, total, CLIENTS):
                started = time.perf_counter()
                response = request(c, i)
                mine.append(time.perf_counter() - started)
                if response.status_code >= 300:
                    errors.append(f"{response.status_code} {response.text[:200]}")
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise AssertionError(f"{len(errors)} requests failed, e.g. {errors[0]}")
    return Round(elapsed, latencies)


def _setup(url: str, count: int, workdir: Path) -> tuple[list[str], str]:
    """``count`` complaints taken in, and a handler's API token."""
    from complaintflow.users import services

    app = fresh_app(url, FixedClock(NOW))
    try:
        csv_path = data.write_cfpb_csv(workdir / f"api-{count}.csv", count)
        report = app.intake.take_in(read_file(csv_path, "cfpb"), Actor("bench", "handler"))
        now = datetime.now(UTC)
        services.add_user(app.db, now, "bench", "Bench", ["handler"], {"handler"}, None, by="bench")
        token = services.create_token(app.db, now, "bench", "benchmark", by="bench").secret
    finally:
        app.db.dispose()
    return [ref for _, ref in report.created], token


def measure_backend(url: str, label: str, ctx: Context) -> list[Measure]:
    count, total, rounds = SIZES[ctx.profile]
    ctx.log(f"  {label}: taking in {count:,} complaints")
    references, token = _setup(url, count, ctx.workdir)
    pick = random.Random(7)
    cases = [pick.choice(references) for _ in range(total)]
    env = {"COMPLAINTS_DATA_DIR": str(ctx.workdir / "api-data"), "COMPLAINTS_SESSION_SECRET": SECRET,
           "COMPLAINTS_DATABASE_URL": url, "BENCH_API_URL": url}
    api_port, bare_port = _free_port(), _free_port()
    serve = [*complaints_command(), "serve", "--port", str(api_port), "--workers", "1"]
    uvicorn = shutil.which("uvicorn", path=str(Path(sys.executable).parent)) or "uvicorn"
    bare = [uvicorn, "benchmarks.api_bare:create_app", "--factory", "--port", str(bare_port), "--workers", "1",
            "--log-level", "info"]
    auth = {"Authorization": f"Bearer {token}"}
    requests: dict[str, tuple[Request, Request]] = {
        "case view": (lambda c, i: c.get(f"/complaints/{cases[i]}"),
                      lambda c, i: c.get(f"/complaints/{cases[i]}")),
        "advance (assign)": (
            lambda c, i: c.post(f"/complaints/{cases[i]}/advance",
                                json={"action": "assign", "payload": {"assignee": f"h{i % 50}"}}),
            lambda c, i: c.post(f"/complaints/{cases[i]}/assign", json={"assignee": f"h{i % 50}"})),
    }
    measures = []
    with _server(serve, env, api_port) as api_base, _server(bare, env, bare_port) as bare_base:
        for name, (api_request, bare_request) in requests.items():
            best: dict[str, Round] = {}
            for index in range(rounds + 1):  # the first round warms up both servers
                for who, base, headers, request in (("api", api_base, auth, api_request),
                                                    ("bare", bare_base, {}, bare_request)):
                    result = _round(base, headers, request, total)
                    if index and (who not in best or result.rate > best[who].rate):
                        best[who] = result
            api, baseline = best["api"], best["bare"]
            measures.append(Measure(
                f"{label}: {name}, {CLIENTS} clients, {count:,} complaints", api.rate, "requests/s", baseline.rate,
                "bare FastAPI, the same SQL through the raw driver", TARGET,
                note=f"p95 {api.p95_ms:.1f} ms (bare {baseline.p95_ms:.1f} ms); best of {rounds} rounds of "
                     f"{total:,} requests; one uvicorn worker each"))
    return measures


def run(ctx: Context) -> list[Measure]:
    measures = measure_backend(ctx.sqlite_url("api"), "SQLite", ctx)
    if ctx.pg_url:
        measures += measure_backend(ctx.pg_url, "PostgreSQL", ctx)
    else:
        measures.append(Measure("PostgreSQL", None, "requests/s",
                                note="skipped: no PostgreSQL URL (--pg-url or COMPLAINTS_BENCH_POSTGRES_URL)"))
    return measures


def estimate(profile: Profile) -> float:
    count, total, rounds = SIZES[profile]
    return 2 * (count / 4_000 + 2 * (rounds + 1) * 2 * total / 300 + 5)


FIGURE = Figure("api", "HTTP API: at least half the throughput of a bare FastAPI app on the same SQL", run, estimate)
