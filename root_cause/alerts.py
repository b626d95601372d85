"""The lifecycle of a recurrence alert. Pure.

    open ──ack──▶ acknowledged ──link (a CAPA)──▶ linked ──resolve──▶ resolved
      │  └──────────────link──────────────────────▲  │
      └──────────┴───────dismiss (with a reason)───┴──┴──▶ dismissed
    dismissed, resolved ──reopen (only on new evidence: a later period's finding)──▶ open

``assign`` names the owner in any active status (the owner is told through the outbox).
An open alert nobody acted on is resolved by the analysis when its subject is no longer
above its baseline in a later period, so last month's alerts do not stay open for ever.
"""

from __future__ import annotations

from complaints.errors import InvalidInput

OPEN, ACKNOWLEDGED, LINKED, DISMISSED, RESOLVED = "open", "acknowledged", "linked", "dismissed", "resolved"
STATUSES = (OPEN, ACKNOWLEDGED, LINKED, DISMISSED, RESOLVED)
ACTIVE = (OPEN, ACKNOWLEDGED, LINKED)
ACTIONS: dict[str, tuple[tuple[str, ...], str | None]] = {
    # action: (from statuses, to status); None keeps the status
    "assign": (ACTIVE, None),
    "ack": ((OPEN,), ACKNOWLEDGED),
    "link": (ACTIVE, LINKED),
    "dismiss": (ACTIVE, DISMISSED),
    "resolve": ((ACKNOWLEDGED, LINKED), RESOLVED),
    "reopen": ((DISMISSED, RESOLVED), OPEN),
}


def next_status(alert_id: int, status: str, action: str) -> str:
    """The status after ``action``; InvalidInput naming what is allowed otherwise."""
    if action not in ACTIONS:
        raise InvalidInput(f"Unknown alert action {action!r}", [f"use one of {', '.join(ACTIONS)}"])
    froms, to = ACTIONS[action]
    if status not in froms:
        allowed = [a for a, (f, _) in ACTIONS.items() if status in f]
        raise InvalidInput(f"Can't '{action}' alert {alert_id} in status '{status}'",
                           [f"allowed: {', '.join(allowed) or 'nothing'}"])
    return to or status


def is_later(period: str, than: str) -> bool:
    """Whether ``period`` comes after ``than`` (both months ``2026-11`` or both ISO weeks ``2026-W47``)."""
    return ("-W" in period) == ("-W" in than) and period > than
