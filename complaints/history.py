"""A customer's history: every complaint, letter and message of one customer, as a viewer may see it.

A customer is found by their email address, by their row's id, or by their pseudonym (the
keyed hash ``workflows.intake`` gives each person, which quality reports show instead of a
name). The history holds their complaints (with descriptions), the letters written to them,
and the conversation: their messages (``customer_message``) and the comments written for
them (``comment``); internal notes stay on the case. It comes a page at a time: the newest
complaints first, with the letters and messages of the complaints on the page (a customer
may have thousands of complaints: a claims firm writing for many people, an importer's run).

A viewer not shown personal data in a complaint's workflow (``ShowsPersonalData``) reads the
customer's pseudonym only, and that complaint's texts with personal data masked as a case
view masks them (``complaints.privacy``). Such a viewer may not look a customer up by email:
the answer would tie the address to pseudonymous complaints.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Connection, and_, func, select

from complaints import pii
from complaints.db import Database
from complaints.errors import InvalidInput, NotFound, NotPermitted
from complaints.limits import EMAIL_MAX
from complaints.notes import COMMENT
from complaints.privacy import WITHHELD_NAME, ShowsPersonalData
from complaints.repository import CUSTOMER_MESSAGE, complaint_t, customer_t, event_t, note_t
from complaints.types import UTCDateTime

#: Complaints on a page of the history, unless asked otherwise, and the most a page holds.
PER_PAGE, PER_PAGE_MAX = 50, 500
_PSEUDONYM = re.compile(r"[0-9a-f]{32}")
_ID = re.compile(r"#?\d{1,10}")


class CustomerSeen(BaseModel):
    """The customer; ``name``, ``email`` and ``phone`` are None where ``withheld`` says why."""

    id: int
    pseudonym: str
    name: str | None
    email: str | None
    phone: str | None
    created_at: datetime
    erased_at: datetime | None
    withheld: str | None = None


class ComplaintSeen(BaseModel):
    reference: str
    state: str
    tier: str
    product: str
    company: str | None
    channel: str
    language: str
    received_at: datetime
    description: str
    personal_data_shown: bool


class LetterSeen(BaseModel):
    id: int
    reference: str
    template: str
    channel: str
    status: str
    subject: str | None
    body: str
    created_at: datetime
    sent_at: datetime | None


class MessageSeen(BaseModel):
    """One message of the conversation: ``from_customer`` (their message) or ``to_customer``
    (a comment written for them)."""

    reference: str
    seq: int
    at: datetime
    direction: str
    author: str | None
    subject: str | None
    text: str
    attachments: int


class CustomerHistory(BaseModel):
    """A page of a customer's history: ``complaints`` newest first (``total`` counts all of
    them), and the ``letters`` and ``messages`` of those complaints in time order."""

    customer: CustomerSeen
    total: int
    page: int
    per_page: int
    complaints: list[ComplaintSeen]
    letters: list[LetterSeen]
    messages: list[MessageSeen]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def find_customer(conn: Connection, key: str) -> tuple[int, bool]:
    """(the customer's id, whether ``key`` was an email address): ``key`` is an email, an id
    (``42`` or ``#42``) or a pseudonym. ``NotFound`` if no customer has it."""
    key = key.strip()
    if not key or len(key) > EMAIL_MAX:
        raise InvalidInput("Invalid customer", [f"give an email address, an id or a pseudonym; got {key[:80]!r}"])
    by_email = "@" in key
    if by_email:
        where = customer_t.c.email == key.lower()
    elif _ID.fullmatch(key):
        where = customer_t.c.id == int(key.lstrip("#"))
    elif _PSEUDONYM.fullmatch(key.lower()):
        where = customer_t.c.pseudonym == key.lower()
    else:
        raise InvalidInput("Invalid customer", [f"{key[:80]!r} is no email address, id (42) or pseudonym (32 hex digits)"])
    found = conn.execute(select(customer_t.c.id).where(where)).scalar()
    if found is None:
        raise NotFound(f"No customer with {'email' if by_email else 'id or pseudonym'} {key!r}")
    return int(found), by_email


def customer_history(db: Database, key: str, shows_personal_data: ShowsPersonalData,
                     roles: tuple[str, ...] = (), page: int = 1, per_page: int = PER_PAGE) -> CustomerHistory:
    """A page of everything of the customer ``key`` names (see ``find_customer``), as a viewer
    whose access ``shows_personal_data`` gives may see it (``roles``: theirs, for messages).
    The customer's name and contacts are shown only if every workflow of theirs, on any page,
    shows personal data to the viewer."""
    problems = [f"{name}: {value} is not {wanted}" for name, value, wanted, fits in (
        ("page", page, "a number from 1", page >= 1),
        ("per_page", per_page, f"from 1 to {PER_PAGE_MAX}", 1 <= per_page <= PER_PAGE_MAX)) if not fits]
    if problems:
        raise InvalidInput("Invalid page", problems)
    theirs = complaint_t.c.customer_id
    with db.read() as conn:
        customer_id, by_email = find_customer(conn, key)
        customer = conn.execute(select(customer_t).where(customer_t.c.id == customer_id)).one()._mapping
        versions = conn.execute(select(complaint_t.c.workflow_name, complaint_t.c.workflow_version, func.count())
                                .where(theirs == customer_id)
                                .group_by(complaint_t.c.workflow_name, complaint_t.c.workflow_version)).all()
        complaints = [dict(r._mapping) for r in conn.execute(
            select(complaint_t).where(theirs == customer_id)
            .order_by(complaint_t.c.received_at.desc(), complaint_t.c.id.desc())
            .limit(per_page).offset((page - 1) * per_page))]
        on_page = [c["id"] for c in complaints]
        letters = [dict(r._mapping) for r in conn.execute(
            select(note_t).where(note_t.c.complaint_id.in_(on_page)).order_by(note_t.c.created_at, note_t.c.id))]
        messages = [dict(r._mapping) for r in conn.execute(
            select(event_t).where(and_(event_t.c.complaint_id.in_(on_page),
                                       event_t.c.action.in_([CUSTOMER_MESSAGE, COMMENT])))
            .order_by(event_t.c.at, event_t.c.id))]
    everything = all(shows_personal_data(name, version) for name, version, _ in versions) if versions \
        else shows_personal_data("", 0)
    shown = {c["id"]: shows_personal_data(c["workflow_name"], c["workflow_version"]) for c in complaints}
    if by_email and not everything:
        raise NotPermitted("Looking a customer up by email address needs a role shown personal data; "
                           "look them up by pseudonym or id instead", roles)
    names = (customer["name"],) if customer["name"] else ()

    def seen(text: str | None, complaint_id: int) -> str:
        if not text or shown[complaint_id]:
            return text or ""
        return pii.mask(text, names, WITHHELD_NAME)

    references = {c["id"]: c["reference"] for c in complaints}
    fix = UTCDateTime().process_result_value
    return CustomerHistory(
        customer=_customer(customer, everything, roles),
        total=sum(n for *_, n in versions), page=page, per_page=per_page,
        complaints=[ComplaintSeen(**{k: c[k] for k in ("reference", "state", "tier", "product", "company", "channel",
                                                         "language")},
                                  received_at=fix(c["received_at"], None), description=seen(c["description"], c["id"]),
                                  personal_data_shown=shown[c["id"]]) for c in complaints],
        letters=[LetterSeen(id=n["id"], reference=references[n["complaint_id"]], template=n["template"],
                            channel=n["channel"], status=n["status"],
                            subject=seen(n["subject"], n["complaint_id"]) if n["subject"] else None,
                            body=seen(n["body"], n["complaint_id"]), created_at=fix(n["created_at"], None),
                            sent_at=fix(n["sent_at"], None)) for n in letters],
        messages=[_message(e, references[e["complaint_id"]], lambda t, cid=e["complaint_id"]: seen(t, cid))
                  for e in messages],
    )


def _customer(row: Any, shown: bool, roles: tuple[str, ...]) -> CustomerSeen:
    fix = UTCDateTime().process_result_value
    seen = CustomerSeen(id=row["id"], pseudonym=row["pseudonym"], name=row["name"], email=row["email"],
                        phone=row["phone"], created_at=fix(row["created_at"], None), erased_at=fix(row["erased_at"], None))
    if shown:
        return seen
    who = f"role {', '.join(roles)}" if roles else "this viewer"
    return seen.model_copy(update={"name": None, "email": None, "phone": None,
                                   "withheld": f"personal data is not shown to {who}"})


def _message(event: dict[str, Any], reference: str, seen: Any) -> MessageSeen:
    payload = event["payload"] or {}
    from_customer = event["action"] == CUSTOMER_MESSAGE
    subject = payload.get("subject")
    return MessageSeen(reference=reference, seq=event["seq"], at=UTCDateTime().process_result_value(event["at"], None),
                       direction="from_customer" if from_customer else "to_customer",
                       author=None if from_customer else event["actor"],
                       subject=seen(subject) if subject else None, text=seen(payload.get("text") or ""),
                       attachments=len(payload.get("attachments") or []))
