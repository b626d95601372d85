"""Which complaints are compared at all: blocking keys. Pure and light (no numpy), because the
intake path computes them for every new complaint.

Two kinds of key: those of shared fields (this module) and those of alike words
(``textkeys``), so that a complaint filed under other labels than its twin still meets it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

from root_cause.textkeys import text_keys

DUPLICATE_OF, RELATED, SAME_ROOT_CAUSE, FIXED_BY = "duplicate_of", "related", "same_root_cause", "fixed_by"
LINK_KINDS = (DUPLICATE_OF, RELATED, SAME_ROOT_CAUSE, FIXED_BY)
FIELDS = ("product", "company", "category", "customer")


@dataclass(frozen=True)
class LinkRecord:
    """What linking needs to know about a complaint; ``customer`` stands for the customer's row
    (``repository.customer_token``), never anything derived from who they are."""

    id: int
    text: str
    product: str | None = None
    company: str | None = None
    category: str | None = None
    customer: str | None = None
    language: str | None = None  # picks the stop words the text keys leave out


def all_keys(record: LinkRecord) -> list[str]:
    """The field keys and the text keys of a complaint: every block it falls in."""
    return blocking_keys(record) + text_keys(record.text, record.language)


def blocking_keys(record: LinkRecord) -> list[str]:
    """The blocks a complaint falls in, as short stable hashes (what the database indexes)."""
    return list(_keys(record.customer, record.product, record.company, record.category))


@lru_cache(maxsize=8192)  # intake computes them for every new complaint; most share their fields
def _keys(customer: str | None, product: str | None, company: str | None, category: str | None) -> tuple[str, ...]:
    fields = {"product": product, "company": company, "category": category}
    parts = []
    if customer:
        parts.append(f"customer={customer}")
    for a, b in (("company", "category"), ("product", "category"), ("product", "company")):
        va, vb = fields[a], fields[b]
        if va and vb:
            parts.append(f"{a}+{b}={va.casefold()}|{vb.casefold()}")
    if len(parts) == (1 if customer else 0) and product:
        parts.append(f"product={product.casefold()}")  # nothing more specific is known
    return tuple(hashlib.sha1(p.encode()).hexdigest()[:20] for p in parts)


def shared_fields(a: LinkRecord, b: LinkRecord) -> tuple[str, ...]:
    return tuple(f for f in FIELDS if getattr(a, f) and getattr(a, f) == getattr(b, f))


