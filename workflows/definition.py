"""The workflow definition language: what a YAML file may say, as pydantic models.

Every model forbids unknown keys, so a typo is an error at load time, not a silent no-op.
Guards are structured data (``{field: data.validity, equals: valid}``), never code. Every
duration, date and number a file writes is within the bounds of ``complaints.limits`` (a
timer at most ten years, dates from 1900 to 2200), or the file is refused naming the field.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from complaints.limits import (
    MAX_WORKFLOW_VERSION,
    PAYLOAD_LIST_MAX,
    PAYLOAD_STR_MAX,
    PAYLOAD_TEXT_MAX,
    BoundedValue,
    Duration,
)
from workflows.letter_spec import LettersSpec
from workflows.sla_spec import EscalationSpec, RegulatorySpec, SlaSpec

NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
ANY_OPEN_STATE = "*"
NEXT_TIER = "next"

FieldType = Literal["str", "text", "int", "float", "bool", "date", "datetime", "list", "choice"]
OPERATORS = ("equals", "not_equals", "in", "not_in", "exists", "gt", "gte", "lt", "lte")
#: Operands that stand for the step's time rather than for themselves: ``{gte: $today}`` holds
#: for a date (or the date of a time) no earlier than the day the action is taken.
CLOCK_OPERANDS = ("$today", "$now")
_ORDERING = ("gt", "gte", "lt", "lte")
#: The most characters (items, for a list) a payload field of each type holds.
FIELD_MAX_LENGTH = {"str": PAYLOAD_STR_MAX, "text": PAYLOAD_TEXT_MAX, "list": PAYLOAD_LIST_MAX}
#: Marks a field the language gained after databases began to store each version's
#: fingerprint (``workflows.versions``): left at its default, it is left out of the
#: fingerprint, so a definition written before the field existed keeps the one stored for it.
ADDED_LATER: dict[str, Any] = {"added_later": True}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class FieldSpec(_Strict):
    """A payload field an action requires or accepts."""

    type: FieldType = "str"
    required: bool = True
    choices: list[str] | None = None
    min_length: int | None = Field(None, ge=1, description="for str/text/list: the least length")
    description: str = ""
    customer_facing: bool = Field(
        False, json_schema_extra=ADDED_LATER,
        description="the customer may read it: only such fields may go into letters (workflows with 'letters')")

    @model_validator(mode="after")
    def _choices_match_type(self) -> FieldSpec:
        if self.type == "choice" and not self.choices:
            raise ValueError("a 'choice' field needs 'choices: [...]'")
        if self.type != "choice" and self.choices is not None:
            raise ValueError(f"'choices' only applies to type 'choice', not '{self.type}'")
        most = FIELD_MAX_LENGTH.get(self.type)
        if self.min_length is not None and most is not None and self.min_length > most:
            raise ValueError(f"min_length {self.min_length} is more than a '{self.type}' field holds ({most})")
        return self


class Condition(_Strict):
    """One guard condition: a field test, or ``all``/``any``/``not`` of conditions.

    ``field`` is a path: ``complaint.<column>``, ``data.<key>`` or ``payload.<field>``. An
    ordering operator may compare it with the step's time (``CLOCK_OPERANDS``).
    """

    field: str | None = Field(None, pattern=r"^(complaint|data|payload)\.[a-z_][a-z0-9_.]*$")
    equals: BoundedValue = None
    not_equals: BoundedValue = None
    in_: list[BoundedValue] | None = Field(None, alias="in")
    not_in: list[BoundedValue] | None = None
    exists: bool | None = None
    gt: BoundedValue = None
    gte: BoundedValue = None
    lt: BoundedValue = None
    lte: BoundedValue = None
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(None, alias="not")
    message: str | None = Field(None, description="what the handler is told when it fails")

    @model_validator(mode="after")
    def _exactly_one_form(self) -> Condition:
        ops = [op for op in OPERATORS if op in self._given()]
        combinators = [c for c in ("all", "any", "not") if c in self._given()]
        if self.field is not None:
            if combinators:
                raise ValueError(f"a condition on a field can't also use {combinators[0]!r}")
            if len(ops) != 1:
                raise ValueError(
                    f"a condition on '{self.field}' needs exactly one operator of "
                    f"{', '.join(OPERATORS)}; got {ops or 'none'}"
                )
            operand = self.operand
            if isinstance(operand, str) and operand.startswith("$"):
                if operand not in CLOCK_OPERANDS:
                    raise ValueError(f"unknown operand {operand!r}: the step's time is {' or '.join(CLOCK_OPERANDS)}")
                if ops[0] not in _ORDERING:
                    raise ValueError(f"{operand} compares with {', '.join(_ORDERING)}, not {ops[0]!r}")
        else:
            if ops:
                raise ValueError(f"operator {ops[0]!r} needs a 'field'")
            if len(combinators) != 1:
                raise ValueError("a condition needs a 'field' with an operator, or one of all/any/not")
        return self

    def _given(self) -> set[str]:
        aliases = {"in_": "in", "not_": "not"}
        return {aliases.get(name, name) for name in self.model_fields_set}

    @property
    def operator(self) -> str | None:
        for op in OPERATORS:
            if op in self._given():
                return op
        return None

    @property
    def operand(self) -> Any:
        op = self.operator
        return getattr(self, {"in": "in_"}.get(op, op)) if op else None


class TimerSpec(_Strict):
    """On entering the state, fire ``action`` after a duration or at a time held in a field."""

    name: str | None = Field(None, pattern=NAME_PATTERN)
    action: str
    after: Duration | None = Field(None, description="ISO 8601 duration, e.g. P14D or PT8H; at most P10Y")
    at: str | None = Field(None, pattern=r"^data\.[a-z_][a-z0-9_]*$", description="data.<field> holding a date or time")

    @model_validator(mode="after")
    def _after_or_at(self) -> TimerSpec:
        if (self.after is None) == (self.at is None):
            raise ValueError("a timer needs exactly one of 'after' (a duration) or 'at' (a field)")
        return self

    @property
    def label(self) -> str:
        return self.name or self.action


class StateSpec(_Strict):
    label: str = ""
    description: str = ""
    initial: bool = False
    final: bool = False
    waiting: bool = Field(False, description="waits on someone outside the team; needs a timer")
    timers: list[TimerSpec] = Field(default_factory=list)
    entry_guards: list[Condition] = Field(
        default_factory=list, description="checked on every transition into this state (quality gates)"
    )

    @model_validator(mode="after")
    def _final_is_not_initial(self) -> StateSpec:
        if self.initial and self.final:
            raise ValueError("a state can't be both initial and final")
        return self


class TransitionSpec(_Strict):
    """An action: from which states, to which state (or stay), who may do it, what it needs."""

    label: str = ""
    description: str = ""
    from_: list[str] = Field(alias="from", min_length=1)
    to: str | None = Field(None, description="target state; omit to stay in the same state")
    roles: list[str] = Field(min_length=1)
    fields: dict[str, FieldSpec] = Field(default_factory=dict)
    guards: list[Condition] = Field(default_factory=list)
    set_: dict[str, BoundedValue] = Field(default_factory=dict, alias="set")
    record: str | None = Field(None, pattern=NAME_PATTERN, description="keep the payload as data.<record>")
    notify: list[str] = Field(default_factory=list)
    tier: str | None = Field(None, description="'next' or a tier name: move the case to that tier")

    @field_validator("from_", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("fields")
    @classmethod
    def _field_names(cls, value: dict[str, FieldSpec]) -> dict[str, FieldSpec]:
        import re

        for name in value:
            if not re.match(NAME_PATTERN, name):
                raise ValueError(f"field name {name!r} must match {NAME_PATTERN}")
        return value


class TierSpec(_Strict):
    name: str = Field(pattern=NAME_PATTERN)
    queue: str
    label: str = ""
    description: str = ""


class WorkflowSpec(_Strict):
    """A whole workflow definition file.

    Sections other packages interpret (``sla``, ``regulatory``, ``escalation``) are declared here
    too so the file is validated in one pass."""

    name: str = Field(pattern=NAME_PATTERN)
    version: int = Field(ge=1, le=MAX_WORKFLOW_VERSION)
    title: str = ""
    description: str = ""
    default_language: str = "en"
    roles: list[str] = Field(min_length=1)
    personal_data_roles: list[str] | None = Field(
        None, description="the roles shown a customer's name, email and phone (others see the pseudonym); "
                          "omitted: every role")
    tiers: list[TierSpec] = Field(min_length=1)
    states: dict[str, StateSpec] = Field(min_length=1)
    transitions: dict[str, TransitionSpec] = Field(min_length=1)
    templates: dict[str, dict[str, str]] = Field(default_factory=dict)
    timeline: dict[str, Duration] = Field(
        default_factory=dict, description="promised durations quoted to customers ($timeline_<name>)"
    )
    sla: SlaSpec | None = Field(None, description="SLA clocks and calendars; run by escalation/")
    regulatory: RegulatorySpec | None = Field(None, description="regulatory clocks; run by escalation/")
    escalation: EscalationSpec | None = Field(None, description="escalation matrix; run by escalation/")
    letters: LettersSpec | None = Field(
        None, json_schema_extra=ADDED_LATER,
        description="languages, subject and review of the letters to customers; turns on the letter checks")

    @field_validator("states", "transitions", "templates")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        import re

        for name in value:
            if not re.match(NAME_PATTERN, name):
                raise ValueError(f"name {name!r} must be lower_snake_case (match {NAME_PATTERN})")
        return value

    def tier_names(self) -> list[str]:
        return [t.name for t in self.tiers]
