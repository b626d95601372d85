"""Erasure of a customer's personal data (GDPR art. 17) that keeps the audit trail intact.

Personal data lives in the ``customer`` row, and the customer's name in the text of the
notifications written to them ("Dear Anna Bērziņa, ..."). Erasure blanks the row's name,
email and phone, stamps ``erased_at`` and replaces the name in those texts with
``ERASED_NAME``, in one transaction; complaints, their event logs and the pseudonym (a keyed
hash that cannot be turned back into the email) stay, so cases still replay and the
root-cause analysis still sees repeat complaints without knowing who made them. Free text
the customer or a handler wrote (the description, a summary) is kept as written: finding
personal data in prose needs a person. ``without_name`` also serves the case view of a role
not shown personal data (``WITHHELD_NAME``), with the same limit.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from complaints.db import Database
from complaints.errors import InvalidInput, NotFound
from complaints.repository import CaseRepository, complaint_t, customer_t, note_t

#: What an erased customer's name reads as in the notifications already written to them.
ERASED_NAME = "[name erased]"
#: What a role not shown personal data (a workflow's ``personal_data_roles``) reads instead.
WITHHELD_NAME = "[name withheld]"


def erase_customer(db: Database, now: datetime, email: str | None = None, reference: str | None = None) -> dict[str, Any]:
    """Erase the customer found by email or by one of their complaints; returns what was done."""
    if (email is None) == (reference is None):
        raise InvalidInput("Erase a customer", ["give exactly one of --email or --reference"])
    with db.transaction() as conn:
        if email is not None:
            query = select(customer_t.c.id).where(customer_t.c.email == email.strip().lower())
        else:
            query = select(complaint_t.c.customer_id).where(complaint_t.c.reference == reference)
        customer_id = conn.execute(query).scalar()
        if customer_id is None:
            raise NotFound(f"No customer with {'email ' + repr(email) if email else 'a complaint ' + repr(reference)}")
        complaints = [r for r, in conn.execute(
            select(complaint_t.c.reference).where(complaint_t.c.customer_id == customer_id).order_by(complaint_t.c.id))]
        name = conn.execute(select(customer_t.c.name).where(customer_t.c.id == customer_id)).scalar()
        repo = CaseRepository(conn)
        redacted = _redact_notifications(conn, repo, customer_id, name) if name else 0
        changed = repo.erase_customer(customer_id, now)
    return {"customer_id": customer_id, "erased": bool(changed), "already_erased": not changed,
            "complaints_kept": complaints, "notifications_redacted": redacted}


def without_name(text: str, name: str, instead: str) -> str:
    """``text`` with ``name``, wherever it stands as a whole word, replaced by ``instead``."""
    return re.sub(rf"(?<!\w){re.escape(name.strip())}(?!\w)", instead, text) if name.strip() else text


def _redact_notifications(conn: Connection, repo: CaseRepository, customer_id: int, name: str) -> int:
    """Replace the customer's name, as a whole word, in the text of every notification of
    their complaints with ``ERASED_NAME``; how many texts changed."""
    rows = conn.execute(
        select(note_t.c.id, note_t.c.body)
        .join(complaint_t, complaint_t.c.id == note_t.c.complaint_id)
        .where(complaint_t.c.customer_id == customer_id)
    )
    changed = {nid: text for nid, body in rows if (text := without_name(body, name, ERASED_NAME)) != body}
    repo.rewrite_notifications(changed)
    return len(changed)
