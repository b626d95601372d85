"""Read a moves file: many actions for ``complaints advance-many``, one JSON object per line.

    {"reference": "C-2026-000012", "action": "assign", "payload": {"assignee": "ines"}}
    {"reference": "C-2026-000013", "action": "pause", "payload": {"reason": "...", "resume_on": "2026-12-07"},
     "expected_version": 5}

Every line is checked before anything is done; all problems are reported at once, each with
its line number. Blank lines are not allowed, so move *n* is always line *n*.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from complaints.errors import InvalidInput
from complaints.schemas import field_problems
from complaints.steps import Move


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reference: str = Field(min_length=1, max_length=20)
    action: str = Field(min_length=1, max_length=60)
    payload: dict[str, Any] = Field(default_factory=dict)
    expected_version: int | None = Field(None, ge=1)


def read_moves(path: Path) -> list[Move]:
    """The moves in ``path``, in order; ``InvalidInput`` naming every bad line otherwise."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"Cannot read moves file {path}", [exc.strerror or str(exc)]) from exc
    moves: list[Move] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            move = MoveIn.model_validate(json.loads(line))
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not a JSON object ({exc.msg})")
            continue
        except ValidationError as exc:
            problems += [f"line {number}: {p}" for p in field_problems(exc, MoveIn)]
            continue
        moves.append(Move(move.reference, move.action, move.payload, move.expected_version))
    if not moves and not problems:
        problems.append("the file holds no moves")
    if problems:
        raise InvalidInput(f"Invalid moves file {path}", problems)
    return moves
