"""Validated input and output shapes (pydantic), independent of storage.

Every text field has a maximum length and ``received_at`` lies from 1900 to 2200, as
``complaints.limits`` documents; text is stored as given (control characters and all) and
made safe where it is shown (``complaints.safe_text``).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from complaints.errors import InvalidInput
from complaints.limits import (
    CATEGORY_MAX,
    COMPANY_MAX,
    DESCRIPTION_MAX,
    EMAIL_MAX,
    EXTERNAL_ID_MAX,
    NAME_MAX,
    OUTCOME_MAX,
    PHONE_MAX,
    PRODUCT_MAX,
    REGION_MAX,
    BoundedDatetime,
    check_text,
)
from complaints.problems import did_you_mean, value_hint

Channel = Literal["email", "phone", "web", "letter", "in_person", "social", "chat", "regulator", "api"]
Severity = Literal["low", "medium", "high", "critical"]
CHANNELS: tuple[str, ...] = Channel.__args__  # type: ignore[attr-defined]
SEVERITIES: tuple[str, ...] = Severity.__args__  # type: ignore[attr-defined]

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_PHONE = r"^\+?[0-9 ()./-]{5,30}$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _storable(cls, value: object) -> object:
        return check_text(value)


class CustomerIn(_In):
    name: str | None = Field(None, min_length=1, max_length=NAME_MAX)
    email: str | None = Field(None, pattern=_EMAIL, max_length=EMAIL_MAX)
    phone: str | None = Field(None, pattern=_PHONE, max_length=PHONE_MAX)

    @field_validator("email")
    @classmethod
    def _lower(cls, value: str | None) -> str | None:
        return value.lower() if value else value

    @property
    def identity(self) -> str | None:
        """What identifies the person across complaints: email, else phone digits."""
        if self.email:
            return f"email:{self.email}"
        if self.phone:
            return "phone:" + "".join(ch for ch in self.phone if ch.isdigit() or ch == "+")
        return None


class ComplaintIn(_In):
    """One complaint as taken in from any channel."""

    external_id: str | None = Field(None, min_length=1, max_length=EXTERNAL_ID_MAX)
    channel: Channel = "web"
    customer: CustomerIn | None = None
    product: str = Field(min_length=1, max_length=PRODUCT_MAX)
    sub_product: str | None = Field(None, max_length=PRODUCT_MAX)
    company: str | None = Field(None, max_length=COMPANY_MAX)
    category: str | None = Field(None, max_length=CATEGORY_MAX)
    sub_category: str | None = Field(None, max_length=CATEGORY_MAX)
    description: str = Field(min_length=1, max_length=DESCRIPTION_MAX)
    severity: Severity = "medium"
    language: str = Field("en", pattern=r"^[a-z]{2,3}$")
    region: str | None = Field(None, max_length=REGION_MAX)
    received_at: BoundedDatetime | None = None
    #: A complaint imported as history (``--historical``) may come closed, with its outcome.
    closed_at: BoundedDatetime | None = None
    outcome: str | None = Field(None, min_length=1, max_length=OUTCOME_MAX)
    #: the source file's columns no field took, by column name, kept as they were written
    source: dict[str, str] | None = Field(None, max_length=500)

    @model_validator(mode="after")
    def _closed_after_received(self) -> ComplaintIn:
        if self.outcome is not None and self.closed_at is None:
            raise ValueError("outcome: only a closed complaint has one; give closed_at too")
        if self.closed_at is not None and self.received_at is not None and self.closed_at < self.received_at:
            raise ValueError(f"closed_at: {self.closed_at:%Y-%m-%d} is before the complaint was received "
                             f"({self.received_at:%Y-%m-%d})")
        return self

    @field_validator("language", "channel", "severity", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


def field_problems(exc: ValidationError, model: type[BaseModel]) -> list[str]:
    """One line per field of the ``model`` validated: ``customer.email: not an email address
    (name@example.com), got 'x'``; an unknown field names the field it most likely meant."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "input"
        hint = value_hint(err)
        if not err["loc"] and err["type"] == "value_error":  # a check across fields names the field itself
            lines.append(err["msg"].removeprefix("Value error, "))
        elif err["type"] == "extra_forbidden":
            guess = did_you_mean(model, err["loc"])
            lines.append(f"{loc}: unknown field" + (f"; {guess}" if guess else ""))
        elif hint:
            lines.append(f"{loc}: {hint}")
        elif err["type"] == "literal_error":
            lines.append(f"{loc}: {err['msg'].replace('Input should be', 'must be')}, got {err['input']!r}")
        else:
            lines.append(f"{loc}: {err['msg']}")
    return lines


def parse_complaint(raw: dict[str, object]) -> ComplaintIn:
    try:
        return ComplaintIn.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput("Invalid complaint", field_problems(exc, ComplaintIn)) from exc
