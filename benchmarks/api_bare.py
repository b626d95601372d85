"""The baseline of the ``api`` figure: a bare FastAPI app whose two endpoints run the SQL of
a case view and of an ``assign`` step through the raw driver (sqlite3 or psycopg), with no
sign-in, no engine, no workflow and no step observers; under the same uvicorn as
``complaints serve``. Run as ``uvicorn benchmarks.api_bare:create_app --factory`` with
``BENCH_API_URL`` naming the database."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import FastAPI, Response
from pydantic import BaseModel

from benchmarks.databases import pg_conninfo, raw_sqlite, sql_time
from complaints import audit

#: What a case view reads: the case and its customer, events, timers and letters.
VIEW = (
    "SELECT c.*, k.name AS customer_name, k.email, k.phone, k.pseudonym FROM complaint c "
    "LEFT JOIN customer k ON k.id = c.customer_id WHERE c.reference = {p}",
    "SELECT * FROM complaint_event WHERE complaint_id = {p} ORDER BY seq",
    "SELECT * FROM timer WHERE complaint_id = {p} ORDER BY due_at",
    "SELECT * FROM notification WHERE complaint_id = {p} ORDER BY id",
)


class Assign(BaseModel):
    assignee: str


def create_app() -> FastAPI:
    url = os.environ["BENCH_API_URL"]
    sqlite = url.startswith("sqlite")
    p = "?" if sqlite else "%s"
    j = p if sqlite else "%s::jsonb"  # a JSON parameter
    local = threading.local()

    def conn() -> Any:
        if not hasattr(local, "conn"):
            if sqlite:
                local.conn = raw_sqlite(url)
            else:
                import psycopg

                local.conn = psycopg.connect(pg_conninfo(url), autocommit=True)
        return local.conn

    def rows(cursor: Any) -> list[dict[str, Any]]:
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

    app = FastAPI()

    @app.get("/complaints/{reference}")
    def view(reference: str) -> Response:
        c = conn()
        c.execute("BEGIN")
        try:
            [case] = rows(c.execute(VIEW[0].format(p=p), (reference,)))
            found = {name: rows(c.execute(sql.format(p=p), (case["id"],)))
                     for name, sql in zip(("events", "timers", "notifications"), VIEW[1:],
                                          strict=True)}
        finally:
            c.execute("COMMIT")
        return Response(orjson.dumps({"case": case, **found}, default=str), media_type="application/json")

    @app.post("/complaints/{reference}/assign")
    def assign(reference: str, body: Assign) -> Response:
        c = conn()
        now = datetime.now(UTC)
        c.execute("BEGIN IMMEDIATE" if sqlite else "BEGIN")
        try:
            cid, state, tier, queue, version, data = c.execute(
                f"SELECT id, state, tier, queue, version, data FROM complaint WHERE reference = {p}"
                + ("" if sqlite else " FOR UPDATE"), (reference,)).fetchone()
            data = orjson.loads(data) if isinstance(data, str | bytes) else dict(data or {})
            data["assignee"] = body.assignee
            at = sql_time(now) if sqlite else now
            changed = c.execute(f"UPDATE complaint SET assignee = {p}, data = {j}, version = version + 1, "
                                f"updated_at = {p} WHERE id = {p} AND version = {p}",
                                (body.assignee, orjson.dumps(data).decode(), at, cid, version)).rowcount
            assert changed == 1
            (head,) = c.execute(f"SELECT chain_hash FROM complaint_event WHERE complaint_id = {p} AND seq = {p}",
                                (cid, version)).fetchone()
            event = {"seq": version + 1, "actor": "bench", "role": "handler", "action": "assign",
                     "from_state": state, "to_state": state, "tier": tier, "queue": queue,
                     "payload": {"assignee": body.assignee}, "changes": {"assignee": body.assignee}, "at": now,
                     "origin": "api"}
            content = audit.content_hash(reference, event)
            c.execute("INSERT INTO complaint_event (complaint_id, seq, actor, role, action, from_state, to_state, "
                      "tier, queue, payload, changes, at, origin, content_hash, chain_hash) VALUES "
                      f"({', '.join([p] * 9)}, {j}, {j}, {p}, {p}, {p}, {p})",
                      (cid, version + 1, "bench", "handler", "assign", state, state, tier, queue,
                       orjson.dumps(event["payload"]).decode(), orjson.dumps(event["changes"]).decode(), at, "api",
                       content, audit.chained(head, content)))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        return Response(orjson.dumps({"reference": reference, "version": version + 1}), media_type="application/json")

    return app
