"""A checked workflow with the lookups the engine needs, built once per definition."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, create_model

from complaints.errors import NotPermitted
from complaints.limits import (
    PAYLOAD_LIST_MAX,
    PAYLOAD_STR_MAX,
    BoundedDate,
    BoundedDatetime,
    BoundedFloat,
    BoundedInt,
    check_text,
)
from workflows.definition import (
    ANY_OPEN_STATE,
    FIELD_MAX_LENGTH,
    NEXT_TIER,
    FieldSpec,
    TierSpec,
    TransitionSpec,
    WorkflowSpec,
)
from workflows.letters import LetterStyle, Referral, referral_of, style_of

_Item = Annotated[str, Field(min_length=1, max_length=PAYLOAD_STR_MAX), AfterValidator(check_text)]


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        if len(value) > PAYLOAD_LIST_MAX * (PAYLOAD_STR_MAX + 1):  # refused before it is split into parts
            raise ValueError(f"a list holds at most {PAYLOAD_LIST_MAX} items of at most {PAYLOAD_STR_MAX} characters")
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _python_type(spec: FieldSpec) -> Any:
    """The type of a payload field, within the bounds of ``complaints.limits``: text of at most
    PAYLOAD_STR_MAX (str) or PAYLOAD_TEXT_MAX (text) characters and no NUL, finite numbers,
    dates from 1900 to 2200, lists of at most PAYLOAD_LIST_MAX items."""
    least = spec.min_length or 1
    match spec.type:
        case "str" | "text":
            most = FIELD_MAX_LENGTH[spec.type]
            return Annotated[str, Field(min_length=least, max_length=most, description=spec.description),
                             AfterValidator(check_text)]
        case "int":
            return BoundedInt
        case "float":
            return BoundedFloat
        case "bool":
            return bool
        case "date":
            return BoundedDate
        case "datetime":
            return BoundedDatetime
        case "list":
            return Annotated[list[_Item], BeforeValidator(_split_list), Field(min_length=least, max_length=PAYLOAD_LIST_MAX)]
        case "choice":
            return Literal[tuple(spec.choices or ())]  # type: ignore[valid-type]
    raise AssertionError(spec.type)  # pragma: no cover - FieldType is closed


class CompiledWorkflow:
    """A validated :class:`WorkflowSpec` plus derived indexes; immutable once built."""

    def __init__(self, spec: WorkflowSpec, source: str = "<string>"):
        self.spec = spec
        self.source = source
        self.name = spec.name
        self.version = spec.version
        self.initial_state = next(s for s, st in spec.states.items() if st.initial)
        self.final_states = frozenset(s for s, st in spec.states.items() if st.final)
        self._tiers = {t.name: t for t in spec.tiers}
        self._order = spec.tier_names()
        self._by_state: dict[str, list[str]] = {s: [] for s in spec.states}
        for action, tr in spec.transitions.items():
            froms = (
                [s for s in spec.states if s not in self.final_states]
                if ANY_OPEN_STATE in tr.from_
                else tr.from_
            )
            for state in froms:
                self._by_state[state].append(action)
        self._payload_models: dict[str, type[BaseModel]] = {}
        self._styles: dict[str, LetterStyle | None] = {}

    def __repr__(self) -> str:
        return f"<CompiledWorkflow {self.name} v{self.version} from {self.source}>"

    # -- lookups -----------------------------------------------------------------------------
    @property
    def key(self) -> tuple[str, int]:
        return self.name, self.version

    def shows_personal_data_to(self, role: str) -> bool:
        """Whether ``role`` reads a customer's name and contacts (``personal_data_roles``; none
        named: every role)."""
        shown = self.spec.personal_data_roles
        return shown is None or role in shown

    def check_shows_personal_data_to(self, role: str, to: str, instead: str = "") -> None:
        """Refuse (``NotPermitted``) a role not shown the customer's name and contacts what only
        one shown them may do (``to``: take complaints in, write to the customer, change a letter)."""
        if not self.shows_personal_data_to(role):
            raise NotPermitted(f"Role '{role}' may not {to}: workflow '{self.name}' does not show it the customer's "
                               f"name and contacts; act as one of: {', '.join(self.spec.personal_data_roles or ())}"
                               + (f", or {instead}" if instead else ""), [role])

    def actions_from(self, state: str) -> list[str]:
        return list(self._by_state.get(state, ()))

    def transition(self, action: str) -> TransitionSpec:
        return self.spec.transitions[action]

    def target(self, action: str, state: str) -> str:
        return self.spec.transitions[action].to or state

    @property
    def first_tier(self) -> str:
        return self._order[0]

    @property
    def tiers(self) -> list[TierSpec]:
        return list(self.spec.tiers)

    def tier(self, name: str) -> TierSpec:
        return self._tiers[name]

    def queue_of(self, tier: str) -> str:
        return self._tiers[tier].queue

    def next_tier(self, tier: str) -> str | None:
        i = self._order.index(tier)
        return self._order[i + 1] if i + 1 < len(self._order) else None

    def tier_after(self, action: str, tier: str) -> str:
        """The tier a case is at after ``action``; ``next`` at the top tier stays there."""
        wanted = self.spec.transitions[action].tier
        if wanted is None:
            return tier
        if wanted == NEXT_TIER:
            return self.next_tier(tier) or tier
        return wanted

    def tier_rank(self, tier: str) -> int:
        return self._order.index(tier)

    @cached_property
    def waiting_states(self) -> frozenset[str]:
        return frozenset(s for s, st in self.spec.states.items() if st.waiting)

    @cached_property
    def held_templates(self) -> frozenset[str]:
        """Templates whose letters wait for a handler's review (``letters.review``)."""
        return frozenset(self.spec.letters.review) if self.spec.letters else frozenset()

    @cached_property
    def referral(self) -> Referral | None:
        """The customer's right to refer a complaint, from the regulatory preset (if any)."""
        return referral_of(self.spec)

    def letter_style(self, language: str) -> LetterStyle | None:
        """How letters in ``language`` write dates; None: as ISO dates (no ``letters`` section)."""
        if language not in self._styles:
            self._styles[language] = style_of(self.spec, language)
        return self._styles[language]

    @cached_property
    def instant_fields(self) -> dict[str, str]:
        """Action fields of type date or datetime, by name: stored as ISO text, written in
        letters as dates in the customer's language."""
        return {name: f.type for tr in self.spec.transitions.values() for name, f in tr.fields.items()
                if f.type in ("date", "datetime")}

    def payload_model(self, action: str) -> type[BaseModel]:
        """A pydantic model for the action's payload, built once; unknown fields are rejected."""
        model = self._payload_models.get(action)
        if model is None:
            fields: dict[str, Any] = {}
            for name, spec in self.spec.transitions[action].fields.items():
                typ = _python_type(spec)
                fields[name] = (typ, ...) if spec.required else (typ | None, None)
            model = create_model(  # type: ignore[call-overload]
                f"{action.title().replace('_', '')}Payload",
                __config__=ConfigDict(extra="forbid", str_strip_whitespace=True),
                **fields,
            )
            self._payload_models[action] = model
        return model
