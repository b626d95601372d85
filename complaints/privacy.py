"""Erasure of a customer's personal data (GDPR art. 17) that keeps the audit trail intact,
and what a role not shown personal data reads instead.

Personal data lives in the ``customer`` row, and in free text: the description the customer
typed, what handlers recorded about the case (its ``data``), the letters written to the
customer. Erasure, in one transaction, blanks the row's name, email and phone and stamps
``erased_at``; masks personal data (``complaints.pii``: emails, phones, IBANs, cards,
national ids, the customer's name as ``ERASED_NAME``) in the descriptions, recorded data and
letters of their complaints; and cancels their letters not yet sent. Complaints and the
pseudonym (a keyed hash that cannot be turned back into the email) stay, so cases still
replay and the root-cause analysis still sees repeat complaints without knowing who made
them. The event log is redacted with ``redact`` by whoever owns it: a complaint's recorded
data is the fold of its events' changes, and ``redact`` masks value by value, so redacted
changes fold to the redacted data.

``withheld_view`` is the case view of a role not shown personal data, and ``withheld_text``
the same masking for text that leaves the system (the root-cause graph and its exports).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, or_, select, update

from complaints import pii
from complaints.db import Database
from complaints.errors import InvalidInput, NotFound
from complaints.repository import complaint_t, customer_t, note_t

#: What an erased customer's name reads as in the texts of their complaints.
ERASED_NAME = "[name erased]"
#: What a role not shown personal data (a workflow's ``personal_data_roles``) reads instead.
WITHHELD_NAME = "[name withheld]"
#: A letter in the outbox not yet sent, and one that never will be.
QUEUED, CANCELLED = "queued", "cancelled"


def erase_customer(db: Database, now: datetime, email: str | None = None, reference: str | None = None) -> dict[str, Any]:
    """Erase the customer found by email or by one of their complaints; returns what was done.
    Erasing again masks what the masking of the time did not catch, and changes nothing else."""
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
        descriptions, recorded = _mask_complaints(conn, customer_id, name)
        redacted, cancelled = _redact_notifications(conn, customer_id, name)
        changed = conn.execute(
            update(customer_t)
            .where(customer_t.c.id == customer_id)
            .where(or_(customer_t.c.erased_at.is_(None), customer_t.c.name.is_not(None)))
            .values(name=None, email=None, phone=None, erased_at=now)
        ).rowcount
    return {"customer_id": customer_id, "erased": bool(changed), "already_erased": not changed,
            "complaints_kept": complaints, "descriptions_masked": descriptions, "data_masked": recorded,
            "notifications_redacted": redacted, "notifications_cancelled": cancelled}


def redact(value: Any, name: str | None) -> Any:
    """``value`` (a text, or a JSON document such as an event's payload or changes) of a
    customer being erased, with their personal data masked and ``name`` read as ``ERASED_NAME``."""
    return pii.mask_values(value, (name,) if name else (), ERASED_NAME)


def withheld_text(text: str, name: str | None) -> str:
    """``text`` about a customer as a role not shown personal data reads it."""
    return pii.mask(text, (name,) if name else (), WITHHELD_NAME)


def withheld_view(view: Mapping[str, Any], role: str) -> dict[str, Any]:
    """A case view (``complaints.queries.case_view``) as ``role``, not shown personal data,
    sees it: the customer's pseudonym only, and personal data masked in the description,
    the recorded data, the events' payloads and the letters (the name as ``WITHHELD_NAME``)."""
    customer = view.get("customer")
    names = (customer["name"],) if customer and customer.get("name") else ()

    def hide(value: Any) -> Any:
        return pii.mask_values(value, names, WITHHELD_NAME)

    seen = {**view, "complaint": {**view["complaint"], "description": hide(view["complaint"]["description"])},
            "data": hide(view["data"]),
            "events": [{**e, "payload": hide(e["payload"])} for e in view["events"]],
            "notifications": [{**n, "body": hide(n["body"])} for n in view["notifications"]]}
    if customer is not None:
        seen["customer"] = {"pseudonym": customer["pseudonym"], "name": None, "email": None, "phone": None,
                            "withheld": f"personal data is not shown to role '{role}'"}
    return seen


def without_name(text: str, name: str, instead: str) -> str:
    """``text`` with ``name``, wherever it stands as a whole word, replaced by ``instead``: the
    name only, as ``complaints.queries`` used it before ``withheld_view`` masked everything."""
    return re.sub(rf"(?<!\w){re.escape(name.strip())}(?!\w)", instead, text) if name.strip() else text


def _mask_complaints(conn: Connection, customer_id: int, name: str | None) -> tuple[int, int]:
    """Mask personal data in the descriptions and recorded data of the customer's complaints;
    how many descriptions and how many complaints' data changed."""
    rows = conn.execute(select(complaint_t.c.id, complaint_t.c.description, complaint_t.c.data)
                        .where(complaint_t.c.customer_id == customer_id))
    changed, descriptions, recorded = [], 0, 0
    for cid, text, data in rows:
        masked_text, masked_data = redact(text, name), redact(data, name)
        descriptions += masked_text != text
        recorded += masked_data != data
        if (masked_text, masked_data) != (text, data):
            changed.append({"cid": cid, "text": masked_text, "recorded": masked_data})
    if changed:
        conn.execute(update(complaint_t).where(complaint_t.c.id == bindparam("cid"))
                     .values(description=bindparam("text"), data=bindparam("recorded")), changed)
    return descriptions, recorded


def _redact_notifications(conn: Connection, customer_id: int, name: str | None) -> tuple[int, int]:
    """Mask personal data in every letter of the customer's complaints, and cancel those not
    yet sent: how many texts changed, and how many letters were cancelled."""
    of_customer = select(complaint_t.c.id).where(complaint_t.c.customer_id == customer_id).scalar_subquery()
    rows = conn.execute(select(note_t.c.id, note_t.c.body).where(note_t.c.complaint_id.in_(of_customer)))
    changed = [{"nid": nid, "text": text} for nid, body in rows if (text := redact(body, name)) != body]
    if changed:
        conn.execute(update(note_t).where(note_t.c.id == bindparam("nid")).values(body=bindparam("text")), changed)
    cancelled = conn.execute(update(note_t).where(note_t.c.complaint_id.in_(of_customer), note_t.c.status == QUEUED)
                             .values(status=CANCELLED)).rowcount
    return len(changed), cancelled
