"""Erasure of a customer's personal data (GDPR art. 17) that keeps the audit trail intact,
and what a role not shown personal data reads instead.

Personal data lives in the ``customer`` row, and in free text: the description the customer
typed, what handlers recorded about the case (its ``data``) and the events that recorded it,
the letters written to the customer. Erasure, in one transaction, blanks the row's name,
email and phone and stamps ``erased_at``; forgets the addresses letters went to; masks personal data (``complaints.pii``: emails,
phones, IBANs, cards, national ids, the customer's name as ``ERASED_NAME``) in the
descriptions, recorded data, events and letters of their complaints; cancels their letters
not yet sent; and appends an ``erase`` event to each complaint saying who erased, why and
what, with the new hash of each event it masked, so the hash chain still verifies
(``complaints.audit``). Complaints and the pseudonym stay, so cases still replay and the
root-cause analysis still sees repeat complaints without knowing who made them. ``redact``
masks value by value, so the masked events' changes fold to the masked data.

``withheld_view`` is the case view of a role not shown personal data, and ``withheld_text``
the same masking for text that leaves the system (the root-cause graph and its exports).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from complaints import audit, pii
from complaints.db import Database
from complaints.errors import InvalidInput, NotFound
from complaints.repository import CaseRepository
from complaints.steps import Actor, Step

#: What an erased customer's name reads as in the texts of their complaints.
ERASED_NAME = "[name erased]"
#: What a role not shown personal data (a workflow's ``personal_data_roles``) reads instead.
WITHHELD_NAME = "[name withheld]"
#: Whether a viewer reads personal data in a complaint of a workflow (name, version): its
#: ``personal_data_roles`` hold one of the viewer's roles (``workflows.access.personal_data_rule``).
#: A workflow it does not know (``("", 0)`` asks so) shows it only if every known one would.
ShowsPersonalData = Callable[[str, int], bool]
#: What erasure takes away, as its event says.
ERASED = ["name", "email", "phone", "personal data in the description, recorded data, events and letters"]


def erase_customer(db: Database, now: datetime, actor: Actor, reason: str, email: str | None = None,
                   reference: str | None = None) -> dict[str, Any]:
    """Erase the customer found by email or by one of their complaints; returns what was done.
    Erasing again masks what the masking of the time did not catch, and changes nothing else."""
    problems = [] if (email is None) != (reference is None) else ["give exactly one of --email or --reference"]
    if not reason.strip():
        problems.append("reason: say why the personal data is erased (it goes into the audit trail)")
    if problems:
        raise InvalidInput("Erase a customer", problems)
    with db.transaction() as conn:
        repo = CaseRepository(conn)
        customer_id, name = repo.customer_of(email=email.strip().lower() if email else None, reference=reference)
        if customer_id is None:
            raise NotFound(f"No customer with {'email ' + repr(email) if email else 'a complaint ' + repr(reference)}")
        complaints = repo.complaints_of_customer(customer_id)
        outcome = {"descriptions_masked": 0, "data_masked": 0, "events_masked": 0}
        for complaint_id, ref in complaints:
            _erase_in_case(repo, complaint_id, ref, name, now, actor, reason.strip(), outcome)
        letters = [cid for cid, _ in complaints]
        redacted = repo.rewrite_notifications({nid: text for nid, body in repo.notification_bodies(letters)
                                               if (text := redact(body, name)) != body})
        cancelled = repo.cancel_queued_notifications(letters)
        repo.forget_recipients(letters)
        changed = repo.erase_customer(customer_id, now)
    return {"customer_id": customer_id, "erased": changed, "already_erased": not changed,
            "complaints_kept": [ref for _, ref in complaints], **outcome,
            "notifications_redacted": redacted, "notifications_cancelled": cancelled}


def _erase_in_case(repo: CaseRepository, complaint_id: int, reference: str, name: str | None, now: datetime,
                   actor: Actor, reason: str, outcome: dict[str, int]) -> None:
    """Mask one complaint's text, data and events, then record the erasure as its next event."""
    case = repo.get(reference, for_update=True)
    description, data = repo.case_text(complaint_id)
    masked_description, masked_data = redact(description, name), redact(data, name)
    if (masked_description, masked_data) != (description, data):
        repo.set_case_text(complaint_id, masked_description, masked_data)
    outcome["descriptions_masked"] += masked_description != description
    outcome["data_masked"] += masked_data != data
    masked: dict[int, dict[str, Any]] = {}
    for event in repo.events(complaint_id):
        payload, changes = redact(event["payload"], name), redact(event["changes"], name)
        if (payload, changes) != (event["payload"], event["changes"]):
            masked[event["seq"]] = {**event, "payload": payload, "changes": changes}
    repo.mask_events(masked.values(), why=f"erasure by {actor.name}")
    outcome["events_masked"] += len(masked)
    redacted = {str(seq): audit.content_hash(reference, event) for seq, event in masked.items()}
    step = Step.in_place(case, audit.ERASE, actor, now, {"reason": reason, "erased": ERASED, "redacted": redacted})
    repo.write_step(case, step, expected_version=case.version)


def redact(value: Any, name: str | None) -> Any:
    """``value`` (a text, or a JSON document such as an event's payload or changes) of a
    customer being erased, with their personal data masked and ``name`` read as ``ERASED_NAME``."""
    return pii.mask_values(value, (name,) if name else (), ERASED_NAME)


def withheld_text(text: str, name: str | None) -> str:
    """``text`` about a customer as a role not shown personal data reads it."""
    return pii.mask(text, (name,) if name else (), WITHHELD_NAME)


def withheld_view(view: Mapping[str, Any], role: str) -> dict[str, Any]:
    """A case view (``workflows.queries.case_view``) as ``role``, not shown personal data,
    sees it: the customer's pseudonym only, and personal data masked in the description,
    the recorded data, the events' payloads and the letters (the name as ``WITHHELD_NAME``)."""
    customer = view.get("customer")
    names = (customer["name"],) if customer and customer.get("name") else ()

    def hide(value: Any) -> Any:
        return pii.mask_values(value, names, WITHHELD_NAME)

    seen = {**view, "complaint": {**view["complaint"], "description": hide(view["complaint"]["description"])},
            "data": hide(view["data"]),
            "events": [{**e, "payload": hide(e["payload"])} for e in view["events"]],
            "notifications": [{**n, **{k: hide(n[k]) for k in ("body", "subject", "last_error") if n.get(k)}}
                              for n in view["notifications"]]}
    if customer is not None:
        seen["customer"] = {"pseudonym": customer["pseudonym"], "name": None, "email": None, "phone": None,
                            "withheld": f"personal data is not shown to role '{role}'"}
    return seen
