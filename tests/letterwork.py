"""Real servers the letters' tests send to, started by the tests on 127.0.0.1: an SMTP server
(aiosmtpd) that keeps every message it accepts, and an HTTP server for the webhook. No mocks:
the sender talks SMTP and HTTP to them as it would to any server.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from complaintflow.bootstrap import App, build
from complaintflow.delivery import send_due
from complaintflow.settings import Settings
from complaints.clock import FixedClock
from complaints.repository import note_t


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Mailbox:
    """An SMTP server's handler: refuses the addresses of ``refuse`` with their answer, keeps
    every message it accepts, and calls ``on_message`` (with the count so far) before it
    answers 250 for one."""

    def __init__(self, refuse: dict[str, str] | None = None,
                 on_message: Callable[[int], None] | None = None) -> None:
        self.refuse = refuse or {}
        self.on_message = on_message
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            count = len(self.messages)
        if self.on_message is not None:
            self.on_message(count)
        return "250 Message accepted for delivery"

    def message_ids(self) -> Counter[str]:
        with self.lock:
            return Counter(str(m["Message-ID"]) for m in self.messages)

    def by_letter(self) -> dict[int, list[str]]:
        """Letter id -> the Message-IDs of every copy of it received."""
        found: dict[int, list[str]] = {}
        with self.lock:
            for m in self.messages:
                found.setdefault(int(m["X-Complaintflow-Letter"]), []).append(str(m["Message-ID"]))
        return found


@contextmanager
def smtp_server(mailbox: Mailbox, **controller: Any) -> Iterator[Controller]:
    """aiosmtpd serving ``mailbox`` on a free port of 127.0.0.1 until the block ends."""
    server = Controller(mailbox, hostname="127.0.0.1", port=free_port(), **controller)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Gateway(http.server.BaseHTTPRequestHandler):
    """A webhook gateway: answers each POST with the next of ``answers`` (then 200) and keeps it."""

    answers: list[int]
    received: list[dict[str, Any]]

    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append({"headers": dict(self.headers), "body": body, "json": json.loads(body)})
        code = self.answers.pop(0) if self.answers else 200
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass


@contextmanager
def webhook_server(answers: list[int] | None = None) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """(URL, POSTs received) of an HTTP server on 127.0.0.1 until the block ends."""
    received: list[dict[str, Any]] = []
    handler = type("Handler", (Gateway,), {"answers": list(answers or []), "received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/letters", received
    finally:
        server.shutdown()
        server.server_close()


def configured(app: App, **settings: Any) -> App:
    """``app`` with these settings changed (validated, as from the environment)."""
    app.settings = Settings(**{**app.settings.model_dump(), **settings})
    return app


def mail_settings(app: App, port: int, **more: Any) -> App:
    """``app`` sending e-mail through the SMTP server on ``port`` (no STARTTLS unless asked)."""
    return configured(app, **{"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False,
                              "mail_from": "Complaints <complaints@bank.example>", **more})


def letter_rows(app: App) -> list[dict[str, Any]]:
    with app.db.read() as conn:
        return [dict(r._mapping) for r in conn.execute(note_t.select().order_by(note_t.c.id))]


def sender_worker(url: str, now: str, port: int, batch_size: int) -> None:
    """A sender in a process of its own (the crash tests kill it with SIGKILL)."""
    settings = Settings(database_url=url, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False,
                        mail_from="Complaints <complaints@bank.example>", outbox_batch_size=batch_size)
    app = build(settings, clock=FixedClock(datetime.fromisoformat(now)))
    send_due(app)


def write_eml(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text.replace("\n", "\r\n").encode())
    return path
