"""A signed webhook: each letter POSTed as JSON to a gateway (SMS, printed post).

The body is signed with HMAC-SHA256 over ``<timestamp>.<body>`` with the shared secret
(``X-Complaintflow-Signature: sha256=<hex>``, ``X-Complaintflow-Timestamp``), so the
gateway can tell the POST is ours and fresh; the Message-ID goes as ``Idempotency-Key``. A
2xx answer is delivery. 4xx answers (but 408, 425 and 429) are permanent refusals; 5xx,
those three and failures to connect are tried again later.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
from functools import cache

import httpx
import orjson

from complaints.clock import Clock
from complaints.delivery import OutgoingLetter
from complaints.errors import DeliveryFailed

SIGNATURE, TIMESTAMP = "X-Complaintflow-Signature", "X-Complaintflow-Timestamp"
#: Client errors that are worth another try: a timeout, too early, too many requests.
RETRYABLE = frozenset({408, 425, 429})


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """What ``X-Complaintflow-Signature`` carries: the gateway computes the same to check it."""
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def payload(letter: OutgoingLetter) -> dict[str, object]:
    return {
        "message_id": letter.message_id, "letter": letter.letter_id, "reference": letter.reference,
        "template": letter.template, "language": letter.language, "channel": letter.channel,
        "subject": letter.subject, "body": letter.body,
        "to": {"name": letter.customer_name, "email": letter.email, "phone": letter.phone},
    }


@cache
def _trusted() -> ssl.SSLContext:
    """The system's certificate authorities, loaded once per process (each load takes a while)."""
    return ssl.create_default_context()


class WebhookSender:
    """POSTs letters to one URL over a kept-alive connection."""

    def __init__(self, url: str, secret: str, clock: Clock, timeout: float = 10.0):
        self.url, self.secret, self.clock = url, secret.encode(), clock
        self._client = httpx.Client(timeout=timeout, verify=_trusted())

    def send(self, letter: OutgoingLetter) -> str:
        recipient = letter.phone or letter.email
        if not recipient:
            raise DeliveryFailed("the customer has no phone number or e-mail address (or they were erased)",
                                 permanent=True)
        body = orjson.dumps(payload(letter))
        stamp = str(int(self.clock.now().timestamp()))
        headers = {"Content-Type": "application/json", TIMESTAMP: stamp, SIGNATURE: signature(self.secret, stamp, body),
                   "Idempotency-Key": letter.message_id}
        try:
            answer = self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"webhook {self.url}: {type(exc).__name__}: {exc}", permanent=False) from exc
        if answer.is_success:
            return recipient
        code = answer.status_code
        permanent = 400 <= code < 500 and code not in RETRYABLE
        raise DeliveryFailed(f"webhook answered {code} {answer.reason_phrase}: {answer.text[:200]}", permanent=permanent)

    def close(self) -> None:
        self._client.close()
