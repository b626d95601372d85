"""The records of a step: who acts on which case, and everything one transition writes.

They live at the bottom, beside the repository that writes them: the workflow machine plans
steps, the repository stores them, observers in other packages read them, and none of those
needs the others to name them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SYSTEM_ROLE = "system"

#: Complaint columns a guard or template may read (``Case.fields``).
COMPLAINT_FIELDS = frozenset(
    {
        "reference", "external_id", "channel", "product", "sub_product", "company", "category",
        "sub_category", "severity", "language", "region", "state", "tier", "queue", "assignee",
        "workflow_name", "workflow_version", "version", "received_at",
    }
)


@dataclass(frozen=True)
class Actor:
    """Who acts, in which role, and through what (``origin``: cli, api, web, system; kept on
    each event, so the trail tells a step typed on the server from one sent over HTTP).
    Timers and sweeps act as ``system``."""

    name: str
    role: str = "handler"
    origin: str | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(name, SYSTEM_ROLE, "system")

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"


@dataclass(frozen=True)
class Case:
    """What the machine needs to know about a complaint."""

    reference: str
    state: str
    tier: str
    queue: str
    version: int
    data: Mapping[str, Any] = field(default_factory=dict)
    fields: Mapping[str, Any] = field(default_factory=dict)  # COMPLAINT_FIELDS, for guards and templates
    id: int | None = None
    customer_name: str | None = None

    @property
    def language(self) -> str:
        return str(self.fields.get("language") or "en")


@dataclass(frozen=True)
class TimerPlan:
    name: str
    action: str
    state: str
    due_at: datetime


@dataclass(frozen=True)
class NotificationPlan:
    """A letter a step writes to the customer; ``held`` ones wait for a handler's review."""

    template: str
    language: str
    channel: str
    body: str
    subject: str = ""
    held: bool = False


@dataclass(frozen=True)
class Step:
    """One planned transition; ``seq`` is the version the case has after it."""

    action: str
    actor: Actor
    from_state: str | None
    to_state: str
    tier: str
    queue: str
    seq: int
    at: datetime
    payload: dict[str, Any]
    changes: dict[str, Any]
    timers: list[TimerPlan]
    notifications: list[NotificationPlan]

    @property
    def state_changed(self) -> bool:
        return self.from_state != self.to_state

    def apply(self, case: Case) -> Case:
        # Built field by field rather than with dataclasses.replace, whose generic copy was
        # most of this method's time (it runs several times for every complaint taken in).
        return Case(
            reference=case.reference, state=self.to_state, tier=self.tier, queue=self.queue, version=self.seq,
            data={**case.data, **self.changes},
            fields={**case.fields, "state": self.to_state, "tier": self.tier, "queue": self.queue},
            id=case.id, customer_name=case.customer_name,
        )

    @classmethod
    def in_place(cls, case: Case, action: str, actor: Actor, at: datetime, payload: dict[str, Any],
                 changes: dict[str, Any] | None = None) -> Step:
        """A step that records something on the case without moving it (a promise, a note)."""
        return cls(action=action, actor=actor, from_state=case.state, to_state=case.state, tier=case.tier,
                   queue=case.queue, seq=case.version + 1, at=at, payload=payload, changes=changes or {},
                   timers=[], notifications=[])


@dataclass(frozen=True)
class Move:
    """One action asked of the engine's ``advance_many``."""

    reference: str
    action: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    expected_version: int | None = None
