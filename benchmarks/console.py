"""Figure: the console's work queue and case pages, beside a bare Jinja2 template rendering
the same rows.

N complaints (100,000 at full size) are taken in through intake, a share of them walked on
(assessed, found valid, assigned, some with a proposal), so the queue orders real deadlines.
The console is the api's application (``create_app``, the console mounted) served in process
through Starlette's test client to a signed-in handler: every request pays the session check,
the user lookup, the page's queries and its template. Its time is the server's: from the
application receiving the request to its last byte sent (the test client's own work is not
the server's). The baseline, for the same page, reads the rows that page shows with plain
SQL by key (raw ``sqlite3``): the queue's 50 rows and its counts by state, or the case with
its customer, events, timers, letters and clocks; and renders them with a bare Jinja2
template: what any page showing those rows pays at least.

Timed: requests alternate console / baseline, and each side's p95 of the request's time is
its figure, as pages per second (1 / p95). Target: the console at 0.5 of the baseline or more.
"""

from __future__ import annotations

import math
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment

from benchmarks.databases import fresh_app, raw_sqlite
from benchmarks.harness import Context, Figure, Measure, Profile, Target
from complaintflow.bootstrap import App
from complaints.clock import FixedClock
from complaints.schemas import ComplaintIn
from complaints.steps import Actor

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HANDLER = Actor("bench", "handler")
PASSWORD = "benchmark-password-1"
TARGET = 0.5
PRODUCTS = ("Current account", "Credit card", "Mortgage", "Personal loan", "Savings")


@dataclass(frozen=True)
class Sizes:
    complaints: int
    walked: int  # complaints walked on from 'acknowledged'
    requests: int  # per page and side


SIZES: dict[Profile, Sizes] = {
    "tiny": Sizes(complaints=200, walked=20, requests=20),
    "quick": Sizes(complaints=10_000, walked=500, requests=100),
    "full": Sizes(complaints=100_000, walked=2_000, requests=200),
}

BARE_QUEUE = Environment(autoescape=True).from_string(
    "<ul>{% for s in counts %}<li>{{ s[0] }} {{ s[1] }}</li>{% endfor %}</ul><table>{% for r in rows %}<tr><td><a href='/c/{{ r[0] }}'>{{ r[0] }}</a></td><td>{{ r[1] }}</td>"
    "<td>{{ r[2] }}</td><td>{{ r[3] }}</td><td>{{ r[4] or '' }}</td><td>{{ r[5] }}</td><td>{{ r[6] }}</td></tr>"
    "{% endfor %}</table>")
BARE_CASE = Environment(autoescape=True).from_string(
    "<h1>{{ case[0] }} {{ case[1] }}</h1><p>{{ case[2] }}</p><p>{{ case[3] }}</p><ol>{% for e in events %}<li>"
    "{{ e[0] }} {{ e[1] }} {{ e[2] }} {{ e[3] }}</li>{% endfor %}</ol>{% for n in letters %}<pre>{{ n[0] }}</pre>"
    "{% endfor %}<ul>{% for t in timers %}<li>{{ t[0] }} {{ t[1] }}</li>{% endfor %}</ul>"
    "<ul>{% for c in clocks %}<li>{{ c[0] }} {{ c[1] }} {{ c[2] }}</li>{% endfor %}</ul>"
    "<ul>{% for l in ledger %}<li>{{ l[0] }} {{ l[1] }}</li>{% endfor %}</ul>")
#: The case and its customer, then its rows of each kind, by key, as the case page shows them.
CASE_SQL = (
    "SELECT c.reference, c.state, c.description, u.name FROM complaint c LEFT JOIN customer u ON u.id = c.customer_id "
    "WHERE c.id = ?",
    "SELECT at, actor, action, payload FROM complaint_event WHERE complaint_id = ? ORDER BY seq",
    "SELECT body FROM notification WHERE complaint_id = ? ORDER BY id",
    "SELECT name, due_at FROM timer WHERE complaint_id = ? ORDER BY due_at",
    "SELECT name, status, due_at FROM sla_clock WHERE complaint_id = ? ORDER BY id",
    "SELECT entry, at FROM sla_ledger WHERE complaint_id = ? ORDER BY id",
)
COUNTS_SQL = "SELECT state, count(*) FROM complaint GROUP BY state"


def fill(app: App, sizes: Sizes) -> list[str]:
    """The complaints, taken in in batches, a share walked on; their references."""
    records = [(i, ComplaintIn(product=PRODUCTS[i % len(PRODUCTS)], severity="high" if i % 10 == 0 else "medium",
                               description=f"Charged twice for transfer {i}; the fee came back", external_id=f"B{i}"))
               for i in range(sizes.complaints)]
    report = app.intake.take_in(records, HANDLER)
    references = [ref for _, ref in sorted(report.created)]
    for n, reference in enumerate(references[: sizes.walked]):
        app.engine.advance(reference, "assess", HANDLER)
        app.engine.advance(reference, "valid", HANDLER, {"criteria": ["in time"], "rationale": "charged twice"})
        app.engine.advance(reference, "assign", HANDLER, {"assignee": "bench"})
        if n % 3 == 0:
            app.engine.advance(reference, "propose", HANDLER, {"resolution": "refund", "reasons": "batch error"})
    return references


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def alternate(console: Callable[[], float], bare: Callable[[], object], requests: int) -> tuple[float, float]:
    """p95 seconds of each, their requests alternating (after one warm-up each); ``console``
    returns its server's time, ``bare`` is timed here."""
    console()
    bare()
    times: dict[str, list[float]] = {"console": [], "bare": []}
    for _ in range(requests):
        times["console"].append(console())
        started = time.perf_counter()
        bare()
        times["bare"].append(time.perf_counter() - started)
    return p95(times["console"]), p95(times["bare"])


class ServerTime:
    """An ASGI wrapper that keeps how long the application took over its last request."""

    def __init__(self, app: Any) -> None:
        self.app, self.last = app, 0.0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        started = time.perf_counter()
        await self.app(scope, receive, send)
        self.last = time.perf_counter() - started


def run(ctx: Context) -> list[Measure]:
    with warnings.catch_warnings():  # Starlette's test client warns that it will want httpx2 one day
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from complaintflow.api.app import create_app
    from complaintflow.settings import Settings
    from complaintflow.users.services import add_user

    sizes = SIZES[ctx.profile]
    url = ctx.sqlite_url("console")
    app = fresh_app(url, FixedClock(NOW))
    try:
        references = fill(app, sizes)
        add_user(app.db, NOW, "bench", "Bench", ["handler"], {"handler"}, PASSWORD, "bench")
    finally:
        app.db.dispose()
    web = create_app(Settings(database_url=url, data_dir=ctx.workdir, session_secret="bench-" + "s" * 32))
    raw = raw_sqlite(url)
    measures = []
    server = ServerTime(web)
    with TestClient(server, follow_redirects=False) as client:
        form = re.search(r'name="form_token" value="([^"]+)"', client.get("/console/sign-in").text)
        if form is None:
            raise AssertionError("the sign-in form has no token")
        signed = client.post("/console/sign-in",
                             data={"name": "bench", "password": PASSWORD, "form_token": form.group(1)})
        if signed.status_code != 303:
            raise AssertionError(f"signing in answered {signed.status_code}")
        page = client.get("/console/queue")
        shown = _shown_references(page.text)
        if not shown:
            raise AssertionError("the queue showed no complaint")

        def console_queue() -> float:
            answer = client.get("/console/queue")
            assert answer.status_code == 200
            return server.last

        marks = ",".join("?" * len(shown))
        queue_sql = ("SELECT reference, state, tier, queue, assignee, severity, product FROM complaint "  # noqa: S608
                     f"WHERE reference IN ({marks})")

        def bare_queue() -> None:
            BARE_QUEUE.render(rows=raw.execute(queue_sql, shown).fetchall(), counts=raw.execute(COUNTS_SQL).fetchall())

        console_p95, bare_p95 = alternate(console_queue, bare_queue, sizes.requests)
        measures.append(_measure(f"SQLite: queue page (50 rows of {sizes.complaints:,} complaints)", console_p95,
                                 bare_p95, "the same 50 rows by key and the counts by state (raw sqlite3) in a bare Jinja2 template"))
        walked = references[0]

        def console_case() -> float:
            answer = client.get(f"/console/cases/{walked}")
            assert answer.status_code == 200
            return server.last

        cid = raw.execute("SELECT id FROM complaint WHERE reference = ?", (walked,)).fetchone()[0]

        def bare_case() -> None:
            case, events, letters, timers, clocks, ledger = (raw.execute(sql, (cid,)).fetchall() for sql in CASE_SQL)
            BARE_CASE.render(case=case[0], events=events, letters=letters, timers=timers, clocks=clocks, ledger=ledger)

        console_p95, bare_p95 = alternate(console_case, bare_case, sizes.requests)
        measures.append(_measure(f"SQLite: case page ({sizes.complaints:,} complaints)", console_p95, bare_p95,
                                 "the case, customer, events, letters, timers and clocks (raw sqlite3) in a bare Jinja2 template"))
    raw.close()
    return measures


def _shown_references(html: str) -> list[str]:
    return list(dict.fromkeys(re.findall(r'name="refs" value="([^"]+)"', html)))


def _measure(name: str, console_p95: float, bare_p95: float, baseline: str) -> Measure:
    return Measure(name, 1 / console_p95, "pages/s (1/p95)", 1 / bare_p95, baseline, Target(">=", TARGET),
                   note=f"p95 server time: console {console_p95 * 1000:.1f} ms, bare template {bare_p95 * 1000:.2f} ms")


def estimate(profile: Profile) -> float:
    sizes = SIZES[profile]
    return 5 + sizes.complaints / 2_000 + sizes.walked / 50 + sizes.requests * 0.2


FIGURE = Figure("console", "Console: queue and case pages beside a bare Jinja2 template", run, estimate)
