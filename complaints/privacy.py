"""Erasure of a customer's personal data (GDPR art. 17) that keeps the audit trail intact.

Personal data lives only in the ``customer`` row, so erasure blanks that row's name, email
and phone and stamps ``erased_at``; complaints, their event logs and the pseudonym (a keyed
hash that cannot be turned back into the email) stay, so cases still replay and the
root-cause analysis still sees repeat complaints without knowing who made them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update

from complaints.db import Database
from complaints.errors import InvalidInput, NotFound
from complaints.repository import complaint_t, customer_t


def erase_customer(db: Database, now: datetime, email: str | None = None, reference: str | None = None) -> dict[str, object]:
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
        changed = conn.execute(
            update(customer_t)
            .where(customer_t.c.id == customer_id)
            .where(or_(customer_t.c.erased_at.is_(None), customer_t.c.name.is_not(None)))
            .values(name=None, email=None, phone=None, erased_at=now)
        ).rowcount
    return {"customer_id": customer_id, "erased": bool(changed), "already_erased": not changed,
            "complaints_kept": complaints}
