"""Read a moves file: many actions for ``complaints advance-many``, one JSON object per line.

    {"reference": "C-2026-000012", "action": "assign", "payload": {"assignee": "ines"}}
    {"reference": "C-2026-000013", "action": "pause", "payload": {"reason": "...", "resume_on": "2026-12-07"},
     "expected_version": 5}

Every line is checked before anything is done; all problems are reported at once, each with
its line number. Blank lines are not allowed, so move *n* is always line *n*. A line longer
or nested deeper than ``complaints.limits`` allows is refused before it is parsed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from complaints.errors import InvalidInput
from complaints.limits import JSON_LINE_MAX, JSON_MAX_DEPTH, MAX_NUMBER, check_text, json_depth
from complaints.schemas import field_problems
from complaints.steps import Move


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reference: str = Field(min_length=1, max_length=20)
    action: str = Field(min_length=1, max_length=60)
    payload: dict[str, Any] = Field(default_factory=dict)
    expected_version: int | None = Field(None, ge=1, le=MAX_NUMBER)

    @field_validator("reference", "action")
    @classmethod
    def _storable(cls, value: str) -> str:
        return check_text(value)


def read_moves(path: Path) -> list[Move]:
    """The moves in ``path``, in order; ``InvalidInput`` naming every bad line otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"Cannot read moves file {path}", [exc.strerror or str(exc)]) from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"Cannot read moves file {path}", [f"not UTF-8 text ({exc.reason} at byte {exc.start})"]) from exc
    moves: list[Move] = []
    problems: list[str] = []
    # lines end at a newline only: str.splitlines would also break a line at a U+2028 or \x1c
    # inside a JSON string, and count lines differently from an editor
    lines = text.removesuffix("\n").split("\n") if text else []
    for number, line in enumerate(lines, start=1):
        unread = "blank: write one move on every line" if not line.strip() else _too_big(line)
        if unread:
            problems.append(f"line {number}: {unread}")
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:  # JSONDecodeError, or a number of more digits than int() takes
            problems.append(f"line {number}: not a JSON object ({getattr(exc, 'msg', exc)})")
            continue
        if not isinstance(value, dict):
            problems.append(f"line {number}: not a JSON object but {_JSON_KINDS.get(type(value), 'a value')}")
            continue
        try:
            move = MoveIn.model_validate(value)
        except ValidationError as exc:
            problems += [f"line {number}: {p}" for p in field_problems(exc, MoveIn)]
            continue
        moves.append(Move(move.reference, move.action, move.payload, move.expected_version))
    if not moves and not problems:
        problems.append("the file holds no moves")
    if problems:
        raise InvalidInput(f"Invalid moves file {path}", problems)
    return moves


#: What a line holds instead of an object, in JSON's words.
_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "true or false",
               type(None): "null"}


def _too_big(line: str) -> str | None:
    """Why ``line`` is refused unread: longer or nested deeper than a move may be."""
    if len(line) > JSON_LINE_MAX:
        return f"{len(line):,} characters long; a move may be at most {JSON_LINE_MAX:,}"
    depth = json_depth(line)
    if depth > JSON_MAX_DEPTH:
        return f"nested {depth} deep; a move may nest at most {JSON_MAX_DEPTH} deep"
    return None
