"""The ``letters`` section of a workflow file: how the letters to customers are written.

A workflow that declares it writes to its customers in the ``languages`` it names, each
with the time zone (and the locale) its dates are written in; ``workflow validate`` then
holds every template to them (``workflows.checks``): a text in each language, and no
placeholder the customer should not read. ``subject`` is the e-mail subject in each language
(it carries the reference a reply is matched by); the letters of ``review`` templates wait
as ``held`` until a handler releases them. A workflow without the section (version 1 of the
shipped one) keeps writing as it always did: ISO dates, and any field a template names.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from workflows.sla_spec import TimeZoneName

#: The subject of a workflow's letters when it declares none: the reference a reply quotes.
DEFAULT_SUBJECT = "$reference"
LANGUAGE_PATTERN = r"^[a-z]{2,3}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class LanguageSpec(_Strict):
    """A language customers are written to: the time zone and locale its dates are written in."""

    timezone: TimeZoneName = Field(description="IANA time zone of the customers written to in this language")
    locale: str | None = Field(None, description="CLDR locale of dates (default: the language), e.g. en_GB")
    date_format: str = Field("long", description="CLDR date format: short, medium, long, or a pattern such as "
                                                 "dd.MM.yyyy. (in Latvian a numeric date takes no case ending)")

    @field_validator("locale")
    @classmethod
    def _locale_exists(cls, value: str | None) -> str | None:
        if value is not None:
            from babel import Locale, UnknownLocaleError

            try:
                Locale.parse(value)
            except (UnknownLocaleError, ValueError) as exc:
                raise ValueError(f"unknown locale {value!r}; use a CLDR name such as en_GB or lv") from exc
        return value

    @field_validator("date_format")
    @classmethod
    def _date_format_parses(cls, value: str) -> str:
        from babel.dates import parse_pattern

        if value not in ("short", "medium", "long", "full"):
            try:
                parse_pattern(value)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"date format {value!r} is no CLDR pattern: {exc}") from exc
        return value


class LettersSpec(_Strict):
    """Languages (each with its time zone), the subject line, and templates held for review."""

    languages: dict[str, LanguageSpec] = Field(
        min_length=1, description="language -> {timezone, locale}; a time zone alone may be written")
    subject: dict[str, str] = Field(default_factory=dict, description="the e-mail subject per language")
    unnamed: dict[str, str] = Field(default_factory=dict,
                                    description="what $customer_name reads when the name is not known, per language")
    review: list[str] = Field(default_factory=list, description="templates whose letters wait as 'held'")

    @field_validator("languages", mode="before")
    @classmethod
    def _zone_alone(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {lang: {"timezone": spec} if isinstance(spec, str) else spec for lang, spec in value.items()}
        return value

    @model_validator(mode="after")
    def _language_codes(self) -> LettersSpec:
        import re

        for lang in self.languages:
            if not re.match(LANGUAGE_PATTERN, lang):
                raise ValueError(f"language {lang!r} must be an ISO 639 code such as en, lv, el")
        return self

    def locale_of(self, language: str) -> str:
        spec = self.languages.get(language)
        return (spec.locale if spec and spec.locale else language)
