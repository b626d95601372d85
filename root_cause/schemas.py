"""Validated input of the root-cause use cases."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from complaints.errors import InvalidInput
from complaints.schemas import field_problems


class CapaIn(BaseModel):
    """A new corrective or preventive action."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=3, max_length=200)
    description: str = Field("", max_length=20_000)
    owner: str = Field(min_length=1, max_length=100)
    due_at: datetime
    root_causes: list[str] = Field(min_length=1)
    window_days: int = Field(90, ge=7, le=730, description="effectiveness window after implementation")
    complaints: list[str] = Field(default_factory=list, description="references the action fixes (fixed_by links)")


def parse_capa(raw: dict[str, object]) -> CapaIn:
    try:
        return CapaIn.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput("Invalid CAPA", field_problems(exc, CapaIn)) from exc
