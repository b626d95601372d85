"""Workflow versions are immutable: a database remembers the definition of each version it used.

Open cases stay on the (name, version) they started in, so a definition edited in place
without raising its version would change the rules under them: a state they sit in may be
gone. Each (name, version) is stored with a fingerprint of its definition the first time a
process loads it against the database; a different definition under a stored version is
refused, naming the file and saying to raise the version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from complaints.db import Database
from complaints.errors import InvalidWorkflow
from workflows.compiled import CompiledWorkflow
from workflows.definition import ADDED_LATER
from workflows.models import WorkflowVersion

version_t = WorkflowVersion.__table__  # type: ignore[attr-defined]


def fingerprint(workflow: CompiledWorkflow) -> str:
    """SHA-256 of the definition as data (comments and layout of the file do not count).
    Fields the language gained later (``ADDED_LATER``) count only once a file sets them."""
    dumped = workflow.spec.model_dump(mode="json", by_alias=True)
    _leave_out_unused_later_fields(workflow.spec, dumped)
    return hashlib.sha256(orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _leave_out_unused_later_fields(value: Any, dumped: Any) -> None:
    """Remove from ``dumped`` (``value`` as dumped) every field marked ``ADDED_LATER`` that
    holds its default, at any depth."""
    if isinstance(value, BaseModel):
        for name, info in type(value).model_fields.items():
            key = info.alias or name
            inner = getattr(value, name)
            if (info.json_schema_extra or {}) == ADDED_LATER and inner == info.get_default(call_default_factory=True):
                dumped.pop(key, None)
            elif key in dumped:
                _leave_out_unused_later_fields(inner, dumped[key])
    elif isinstance(value, dict):
        for key, inner in value.items():
            _leave_out_unused_later_fields(inner, dumped[str(key)])
    elif isinstance(value, list | tuple):
        for inner, out in zip(value, dumped, strict=True):
            _leave_out_unused_later_fields(inner, out)


def check_versions(db: Database, workflows: Iterable[CompiledWorkflow], now: datetime) -> None:
    """Store the versions this database has not seen; refuse any whose definition changed.
    Stored, then read again: another process may have stored the same version first."""
    loaded = {w.key: (w, fingerprint(w)) for w in workflows}
    for _ in range(2):
        with db.read() as conn:
            stored = _stored(conn)
        for key, (workflow, mark) in loaded.items():
            if key in stored and stored[key][0] != mark:
                _, source, at = stored[key]
                raise InvalidWorkflow(workflow.source, [
                    f"workflow '{workflow.name}' version {workflow.version} differs from the definition of the "
                    f"same version this database has used since {at:%Y-%m-%d} (from {source}); its cases would "
                    f"change under their feet: raise 'version' to {workflow.version + 1} in {workflow.source} "
                    "for the new definition"])
        new = [{"name": w.name, "version": w.version, "fingerprint": mark, "source": w.source[-500:], "stored_at": now}
               for key, (w, mark) in loaded.items() if key not in stored]
        if not new:
            return
        with db.transaction() as conn:
            insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(version_t)
            conn.execute(insert.on_conflict_do_nothing(index_elements=["name", "version"]), new)


def _stored(conn: Connection) -> dict[tuple[str, int], tuple[str, str, datetime]]:
    rows = conn.execute(select(version_t.c.name, version_t.c.version, version_t.c.fingerprint, version_t.c.source,
                               version_t.c.stored_at))
    return {(name, version): (mark, source, at) for name, version, mark, source, at in rows}
