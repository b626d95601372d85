"""The audit trail's hash chain: each event's content hashed, each hash chained to the one before.

An event stores ``content_hash``, the SHA-256 of its content (complaint reference, sequence
number, actor, role, action, states, tier, queue, payload, changes and time, as canonical
JSON, then the origin where the event has one: events stored before origins were kept hash
as they did), and ``chain_hash``, the SHA-256 of the previous event's chain hash (of the same
complaint) and its own content hash. Editing an event changes its content's hash; deleting,
inserting or reordering events breaks the chain after them; rewriting a whole chain so that
it verifies again changes its head, which ``seal`` (one digest over every chain's head, kept
elsewhere) then gives away.

Erasure may mask personal data inside events; it records, in an ``erase`` event of its own,
each masked event's new content hash, so the chain (over the original content hashes)
still verifies and every other change still shows. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

#: The chain hash before a complaint's first event.
GENESIS = "0" * 64
#: The action of the event erasure appends to each complaint of the erased customer.
ERASE = "erase"
_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def _instant(at: datetime) -> str:
    """UTC, to the microsecond; a naive time (as a raw read of the database returns) is UTC."""
    return (at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)).isoformat(timespec="microseconds")


def content_hash(reference: str, event: Mapping[str, Any]) -> str:
    """The hash of an event's content (a stored row, or the same keys from a planned step)."""
    content = [reference, event["seq"], event["actor"], event["role"], event["action"], event["from_state"],
               event["to_state"], event["tier"], event["queue"], event["payload"], event["changes"],
               _instant(event["at"])]
    if event.get("origin") is not None:  # absent from the events stored before origins were kept
        content.append(event["origin"])
    return hashlib.sha256(orjson.dumps(content, option=_CANONICAL)).hexdigest()


def chained(previous: str | None, content: str) -> str:
    """The chain hash of an event whose content hash is ``content``, after ``previous``."""
    return hashlib.sha256(f"{previous or GENESIS}{content}".encode()).hexdigest()


def hash_events(reference: str, previous: str | None, events: Iterable[Mapping[str, Any]]) -> Iterator[tuple[str, str]]:
    """(content hash, chain hash) of each of a complaint's new events, after ``previous``."""
    for event in events:
        content = content_hash(reference, event)
        previous = chained(previous, content)
        yield content, previous


def seal(heads: Iterable[tuple[str, int, str]]) -> str:
    """One digest over every chain's head: (reference, sequence number, chain hash) each."""
    digest = hashlib.sha256()
    for reference, seq, head in sorted(heads):
        digest.update(f"{reference}:{seq}:{head}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Finding:
    """Something wrong with a complaint's audit trail."""

    seq: int | None
    message: str


def verify(reference: str, events: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """What is wrong with one complaint's events (ordered by seq), each named by its sequence
    number: edited, deleted, inserted or reordered; an event masked by a later erasure is fine."""
    redacted: dict[int, str] = {}
    for event in events:
        if event["action"] == ERASE:
            redacted.update((int(seq), digest) for seq, digest in (event["payload"].get("redacted") or {}).items())
    findings: list[Finding] = []
    previous: dict[str, Any] | None = None
    for event in events:
        seq = int(event["seq"])
        after = int(previous["seq"]) if previous else 0
        if seq > after + 1:
            gone = f"{after + 1}" if seq == after + 2 else f"{after + 1} to {seq - 1}"
            findings.append(Finding(after + 1, f"event {gone} deleted (the sequence jumps from {after} to {seq})"))
        now = content_hash(reference, event)
        if now != event["content_hash"] and redacted.get(seq) != now:
            findings.append(Finding(seq, _changed(reference, event, len(events))))
        elif seq == after + 1 and chained(previous["chain_hash"] if previous else None,
                                          event["content_hash"]) != event["chain_hash"]:
            findings.append(Finding(seq, _out_of_chain(event, events)))
        previous = dict(event)
    return findings


def _changed(reference: str, event: Mapping[str, Any], count: int) -> str:
    """An event whose content no longer matches its hash: moved to another place, or edited."""
    for seq in range(1, count + 2):
        if seq != event["seq"] and content_hash(reference, {**event, "seq": seq}) == event["content_hash"]:
            return f"event {event['seq']} ('{event['action']}') reordered: it was event {seq}"
    return f"event {event['seq']} ('{event['action']}') edited: its content no longer matches its hash"


def _out_of_chain(event: Mapping[str, Any], events: Sequence[Mapping[str, Any]]) -> str:
    """An event whose content is intact but which does not follow the event before it."""
    for other in events:
        if other is not event and chained(other["chain_hash"], event["content_hash"]) == event["chain_hash"]:
            return f"event {event['seq']} ('{event['action']}') reordered: it followed event {other['seq']}"
    return (f"event {event['seq']} ('{event['action']}') inserted, or its hashes rewritten: it does not "
            "follow the event before it in the chain")
