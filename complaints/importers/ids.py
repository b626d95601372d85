"""External ids for imported rows that have none, made of the row's content alone.

Not of the file's name or the row's number: the same complaints dropped again under another
file name, or in another order, are recognised (intake is idempotent on the external id) and
not stored twice. Two rows of identical content (same text, date, customer, ...) are one
complaint.
"""

from __future__ import annotations

import hashlib

import orjson

from complaints.errors import ImportRowError
from complaints.schemas import ComplaintIn

#: What a derived external id starts with.
CONTENT_ID_PREFIX = "content:"


def content_id(record: ComplaintIn) -> str:
    """``content:`` and 32 hex digits of the SHA-256 of the record's fields (sorted JSON)."""
    content = orjson.dumps(record.model_dump(mode="json", exclude_none=True), option=orjson.OPT_SORT_KEYS)
    return CONTENT_ID_PREFIX + hashlib.sha256(content).hexdigest()[:32]


def with_id(item: ComplaintIn | ImportRowError) -> ComplaintIn | ImportRowError:
    """``item`` with an external id derived from its content if it has none."""
    if isinstance(item, ComplaintIn) and item.external_id is None:
        return item.model_copy(update={"external_id": content_id(item)})
    return item
