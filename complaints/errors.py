"""One exception hierarchy for complaintflow, with messages that say what to do.

    ComplaintflowError
    ├── ConfigurationError (ValueError)        bad settings, unknown database URL
    ├── InvalidWorkflow (ValueError)           a definition file failed its checks
    ├── NotFound (LookupError)                 no complaint / workflow / template by that name
    ├── InvalidInput (ValueError)              a payload, option or intake row failed validation
    │   └── ImportRowError                     one row of an import file, with its row number
    ├── ActionNotAllowed                       the action does not exist from this state / role
    ├── GuardFailed                            a declared guard condition is not met
    ├── ConflictError                          optimistic-lock version mismatch; retry with fresh data
    ├── LetterNotChangeable                    a letter's status does not allow the change asked for
    ├── DeliveryFailed                         a channel refused a letter, for now or for good
    └── NotPermitted (PermissionError)         the viewer's roles do not allow what was asked
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any


class ComplaintflowError(Exception):
    """Root of every error complaintflow raises on purpose."""

    #: In a batch of moves, the one refused (from 1): a client can point at it in what it sent.
    move: int | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as their message and attributes, not as ``cls(*args)``: most take other
        # arguments than the message they keep, and errors cross processes (a Prefect task
        # run's result, a worker's report).
        return _restore, (type(self), self.args, self.__dict__)


def _restore(cls: type[ComplaintflowError], args: tuple[Any, ...], state: dict[str, Any]) -> ComplaintflowError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigurationError(ComplaintflowError, ValueError):
    """Settings or environment that cannot work."""


class InvalidWorkflow(ComplaintflowError, ValueError):
    """A workflow definition failed validation; lists every problem found, not just the first."""

    def __init__(self, source: str, problems: Sequence[str]):
        self.source = source
        self.problems = list(problems)
        noun = "problem" if len(self.problems) == 1 else "problems"
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} {noun}:\n{lines}")


class NotFound(ComplaintflowError, LookupError):
    """Something asked for by name or reference does not exist."""


class InvalidInput(ComplaintflowError, ValueError):
    """Input that failed validation; ``problems`` holds one line per field."""

    def __init__(self, message: str, problems: Iterable[str] = ()):
        self.problems = list(problems)
        detail = "; ".join(self.problems)
        super().__init__(f"{message}: {detail}" if detail else message)


class ImportRowError(InvalidInput):
    """One bad row in an import file; the row number counts the header as row 1."""

    def __init__(self, row: int, problems: Iterable[str]):
        self.row = row
        super().__init__(f"row {row}", problems)


class ActionNotAllowed(ComplaintflowError):
    """The action is unknown, not possible from the current state, or not allowed for the role."""

    def __init__(self, reference: str, action: str, state: str, allowed: Sequence[str], why: str = "",
                 by_role: bool = False):
        self.reference, self.action, self.state, self.allowed = reference, action, state, list(allowed)
        self._by_role = by_role
        allowed_text = ", ".join(self.allowed) if self.allowed else "none"
        reason = f" ({why})" if why else ""
        super().__init__(
            f"Can't '{action}' complaint {reference} in state '{state}'{reason}. Allowed: {allowed_text}."
        )

    @property
    def by_role(self) -> bool:
        """Possible from this state, but not in the actor's role (over HTTP: 403, not 409)."""
        return self._by_role


class GuardFailed(ComplaintflowError):
    """A guard declared in the workflow is not met; ``reasons`` lists each failed condition."""

    def __init__(self, reference: str, action: str, state: str, reasons: Sequence[str]):
        self.reference, self.action, self.state, self.reasons = reference, action, state, list(reasons)
        super().__init__(
            f"Can't '{action}' complaint {reference} in state '{state}': " + "; ".join(self.reasons)
        )


class ConflictError(ComplaintflowError):
    """Someone else changed the complaint first; nothing was written."""

    def __init__(self, reference: str, expected: int, actual: int | None):
        self.reference, self.expected, self.actual = reference, expected, actual
        now = f"it is now at version {actual}" if actual is not None else "it changed meanwhile"
        super().__init__(
            f"Complaint {reference} was changed by someone else: expected version {expected}, {now}. "
            "Reload it and try again."
        )


class LetterNotChangeable(ComplaintflowError):
    """A person's change to a letter (hold, release, edit, cancel, resend) that its status
    does not allow: a letter being sent or already sent is the customer's."""

    def __init__(self, letter: int, reference: str, template: str, action: str, status: str, allowed: Sequence[str]):
        self.letter, self.reference, self.template = letter, reference, template
        self.action, self.status, self.allowed = action, status, list(allowed)
        super().__init__(f"Can't {action} letter {letter} ('{template}' of {reference}): it is {status}; "
                         f"{action} applies to letters that are {' or '.join(self.allowed)}.")


class DeliveryFailed(ComplaintflowError):
    """A channel did not take a letter. ``permanent``: it never will (a refused address, a 5xx
    answer), so the letter fails and its case needs attention; otherwise it is retried later."""

    def __init__(self, reason: str, permanent: bool):
        self.reason, self.permanent = reason, permanent
        super().__init__(f"{'refused' if permanent else 'not delivered for now'}: {reason}")


class NotPermitted(ComplaintflowError, PermissionError):
    """What was asked is not for the viewer's roles (``roles``); the message says what is."""

    def __init__(self, message: str, roles: Sequence[str] = ()):
        self.roles = list(roles)
        super().__init__(message)
