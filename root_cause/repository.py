"""Persistence of the root-cause package in SQLAlchemy Core, behind one class per unit of work.

Reads that feed linking stream plain tuples; writes are set-based (executemany) so a full
linking run over 100k complaints is a handful of statements per chunk, not one per link.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update

from complaints.bulk import Bulk, chunks
from complaints.errors import ComplaintflowError, ConflictError, NotFound
from complaints.repository import complaint_t
from root_cause.blocking import LinkRecord
from root_cause.models import (
    AlertEvent,
    BlockKey,
    Capa,
    CapaCause,
    CapaEvent,
    ComplaintLink,
    ComplaintRootCause,
    RecurrenceAlert,
    RootCauseNotice,
)
from root_cause.textkeys import PREFIX as TEXT_KEY_PREFIX

cause_t = ComplaintRootCause.__table__  # type: ignore[attr-defined]
block_t = BlockKey.__table__  # type: ignore[attr-defined]
link_t = ComplaintLink.__table__  # type: ignore[attr-defined]
capa_t = Capa.__table__  # type: ignore[attr-defined]
capa_cause_t = CapaCause.__table__  # type: ignore[attr-defined]
capa_event_t = CapaEvent.__table__  # type: ignore[attr-defined]
alert_t = RecurrenceAlert.__table__  # type: ignore[attr-defined]
alert_event_t = AlertEvent.__table__  # type: ignore[attr-defined]
notice_t = RootCauseNotice.__table__  # type: ignore[attr-defined]


class AlertConflict(ConflictError):
    """Someone changed the alert between our read and our write; nothing was written."""

    def __init__(self, alert_id: int, expected: int):
        self.reference, self.expected, self.actual = f"alert {alert_id}", expected, None
        ComplaintflowError.__init__(self, f"Alert {alert_id} was changed by someone else (expected version "
                                          f"{expected}); reload it and try again.")


class CapaConflict(ConflictError):
    """Someone changed the CAPA between our read and our write; nothing was written."""

    def __init__(self, capa_id: int, expected: int):
        self.reference, self.expected, self.actual = f"CAPA {capa_id}", expected, None
        ComplaintflowError.__init__(self, f"CAPA {capa_id} was changed by someone else (expected version "
                                          f"{expected}); reload it and try again.")
_record_columns = (
    complaint_t.c.id, complaint_t.c.description, complaint_t.c.product, complaint_t.c.company,
    complaint_t.c.category, complaint_t.c.customer_id, complaint_t.c.language,
)
_record_query = select(*_record_columns)

_customers = (  # built once: intake runs it for every batch
    select(complaint_t.c.id, complaint_t.c.customer_id)
    .where(complaint_t.c.id.in_(bindparam("ids", expanding=True)), complaint_t.c.customer_id.is_not(None))
)
_insert_block_keys = Bulk(block_t.insert())


def customer_token(customer_id: int | None) -> str | None:
    """How linking knows a customer: by the row's id, never a value derived from who they are
    (a pseudonym is a keyed hash of an email; erasure must leave nothing that leads back).
    ``customers`` writes the same token in its query's loop."""
    return None if customer_id is None else f"c{customer_id}"


def _record(row: Any) -> LinkRecord:
    return LinkRecord(row.id, row.description or "", row.product, row.company, row.category,
                      customer_token(row.customer_id), row.language)


def pair_key(source: int, target: int | None = None, capa: int | None = None) -> str:
    """One key per unordered complaint pair (or complaint + CAPA), whatever the link's kind."""
    if capa is not None:
        return f"a:{source}:{capa}"
    assert target is not None
    return f"c:{max(source, target)}:{min(source, target)}"


class RootCauseRepository:
    def __init__(self, conn: Connection):
        self.conn = conn

    # -- complaints as linking sees them ---------------------------------------------------------
    def records(self, ids: Sequence[int]) -> list[LinkRecord]:
        found: dict[int, LinkRecord] = {}
        for part in chunks(ids):
            found.update((r.id, _record(r)) for r in self.conn.execute(_record_query.where(complaint_t.c.id.in_(part))))
        return [found[i] for i in ids if i in found]

    def all_records(self, batch: int = 5000) -> Iterator[LinkRecord]:
        """Every complaint in id order, read in keyset-paginated batches."""
        last = 0
        while True:
            rows = self.conn.execute(
                _record_query.where(complaint_t.c.id > last).order_by(complaint_t.c.id).limit(batch)
            ).all()
            if not rows:
                return
            yield from (_record(r) for r in rows)
            last = rows[-1].id

    def complaint_id(self, reference: str) -> int:
        found = self.conn.execute(select(complaint_t.c.id).where(complaint_t.c.reference == reference)).scalar()
        if found is None:
            raise NotFound(f"No complaint with reference {reference!r}")
        return int(found)

    def summaries(self, ids: Iterable[int]) -> dict[int, dict[str, Any]]:
        cols = (complaint_t.c.id, complaint_t.c.reference, complaint_t.c.state, complaint_t.c.product,
                complaint_t.c.company, complaint_t.c.category, complaint_t.c.received_at)
        out: dict[int, dict[str, Any]] = {}
        for part in chunks(sorted(set(ids))):
            out.update((r.id, dict(r._mapping)) for r in self.conn.execute(select(*cols).where(complaint_t.c.id.in_(part))))
        return out

    def customers(self, complaint_ids: Iterable[int]) -> dict[int, str]:
        """complaint id -> its customer as linking knows them (``customer_token``); complaints
        without a customer are left out."""
        ids = sorted(set(complaint_ids))
        found: dict[int, str] = {}
        for part in chunks(ids):
            found.update((r.id, f"c{r.customer_id}") for r in self.conn.execute(_customers, {"ids": list(part)}))
        return found

    # -- blocking keys ----------------------------------------------------------------------------
    def add_block_keys(self, pairs: Iterable[tuple[int, str]]) -> None:
        rows = [{"complaint_id": cid, "key": key} for cid, key in dict.fromkeys(pairs)]
        for part in chunks(rows, 5000):
            _insert_block_keys.run(self.conn, list(part))

    def ids_without_block_keys(self, text: bool = False) -> list[int]:
        """Complaints without any key (``text``: without a text key, though they have words)."""
        keys = select(block_t.c.complaint_id).where(block_t.c.complaint_id == complaint_t.c.id)
        query = select(complaint_t.c.id)
        if text:  # a text key starts with "t", no field key (hexadecimal) does
            query = query.where(func.length(func.coalesce(complaint_t.c.description, "")) > 0)
            keys = keys.where(block_t.c.key.like(f"{TEXT_KEY_PREFIX}%"))
        query = query.where(~keys.exists())
        return [r[0] for r in self.conn.execute(query.order_by(complaint_t.c.id))]

    def existing_block_keys(self, complaint_ids: Sequence[int]) -> set[tuple[int, str]]:
        found: set[tuple[int, str]] = set()
        for part in chunks(complaint_ids):
            rows = self.conn.execute(select(block_t.c.complaint_id, block_t.c.key).where(block_t.c.complaint_id.in_(part)))
            found.update((r.complaint_id, r.key) for r in rows)
        return found

    def block_members(self, keys: Sequence[str], cap: int) -> list[int]:
        """The newest ``cap`` complaints of each block: one index range scan per key."""
        found: dict[int, None] = {}
        for key in keys:
            query = (select(block_t.c.complaint_id).where(block_t.c.key == key)
                     .order_by(block_t.c.complaint_id.desc()).limit(cap))
            found.update((r[0], None) for r in self.conn.execute(query))
        return list(found)

    # -- root causes recorded by reviews ----------------------------------------------------------
    def record_cause(self, complaint_id: int, event_seq: int, code: str, finding: str, by: str, at: datetime) -> None:
        self.conn.execute(cause_t.insert().values(
            complaint_id=complaint_id, event_seq=event_seq, code=code, finding=finding, recorded_by=by, recorded_at=at))

    def current_causes(self, complaint_ids: Iterable[int] | None = None) -> dict[int, dict[str, Any]]:
        """The newest recorded cause of each complaint (all complaints when ``complaint_ids`` is None)."""
        newest = select(cause_t.c.complaint_id, func.max(cause_t.c.event_seq).label("seq")).group_by(cause_t.c.complaint_id)
        if complaint_ids is not None:
            ids = sorted(set(complaint_ids))
            if not ids:
                return {}
            newest = newest.where(cause_t.c.complaint_id.in_(ids))
        sub = newest.subquery()
        query = select(cause_t).join(sub, and_(cause_t.c.complaint_id == sub.c.complaint_id, cause_t.c.event_seq == sub.c.seq))
        return {r.complaint_id: dict(r._mapping) for r in self.conn.execute(query)}

    def cause_timeline(self) -> list[tuple[int, str, datetime]]:
        """(complaint id, current code, received_at) of every complaint with a recorded cause."""
        causes = self.current_causes()
        received = self.summaries(causes)
        return [(cid, c["code"], received[cid]["received_at"]) for cid, c in causes.items() if cid in received]

    # -- links ------------------------------------------------------------------------------------
    def links_by_pair(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for part in chunks(keys):
            rows = self.conn.execute(select(link_t.c.id, link_t.c.pair_key, link_t.c.status, link_t.c.origin,
                                            link_t.c.kind, link_t.c.score).where(link_t.c.pair_key.in_(part)))
            found.update((r.pair_key, dict(r._mapping)) for r in rows)
        return found

    def insert_links(self, rows: list[dict[str, Any]]) -> None:
        for part in chunks(rows, 2000):
            self.conn.execute(link_t.insert(), list(part))

    def update_link(self, link_id: int, **values: Any) -> None:
        self.conn.execute(update(link_t).where(link_t.c.id == link_id).values(**values))

    def link(self, link_id: int) -> dict[str, Any]:
        row = self.conn.execute(select(link_t).where(link_t.c.id == link_id)).first()
        if row is None:
            raise NotFound(f"No link with id {link_id}")
        return dict(row._mapping)

    def links_of(self, complaint_id: int) -> list[dict[str, Any]]:
        query = select(link_t).where(or_(link_t.c.source_id == complaint_id, link_t.c.target_id == complaint_id))
        return [dict(r._mapping) for r in self.conn.execute(query.order_by(link_t.c.score.desc(), link_t.c.id))]

    def links_changed_since(self, since: datetime | None) -> list[dict[str, Any]]:
        query = select(link_t)
        if since is not None:
            query = query.where(link_t.c.updated_at >= since)  # same-tick changes: re-applying is harmless
        return [dict(r._mapping) for r in self.conn.execute(query.order_by(link_t.c.updated_at, link_t.c.id))]

    # -- CAPA -------------------------------------------------------------------------------------
    def insert_capa(self, values: dict[str, Any], codes: Sequence[str]) -> int:
        capa_id = int(self.conn.execute(capa_t.insert().values(**values).returning(capa_t.c.id)).scalar_one())
        self.conn.execute(capa_cause_t.insert(), [{"capa_id": capa_id, "code": c} for c in codes])
        return capa_id

    def capa(self, capa_id: int, for_update: bool = False) -> dict[str, Any]:
        query = select(capa_t).where(capa_t.c.id == capa_id)
        if for_update and self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        if row is None:
            raise NotFound(f"No CAPA with id {capa_id}")
        codes = self.conn.execute(select(capa_cause_t.c.code).where(capa_cause_t.c.capa_id == capa_id).order_by(capa_cause_t.c.code))
        return dict(row._mapping) | {"root_causes": [r[0] for r in codes]}

    def capas(self, statuses: Sequence[str] | None = None) -> list[dict[str, Any]]:
        query = select(capa_t.c.id)
        if statuses:
            query = query.where(capa_t.c.status.in_(statuses))
        return [self.capa(r[0]) for r in self.conn.execute(query.order_by(capa_t.c.due_at, capa_t.c.id))]

    def update_capa(self, capa: dict[str, Any], **values: Any) -> int:
        """Write ``values`` if nobody changed the CAPA since it was read; returns the new version."""
        version = capa["version"] + 1
        result = self.conn.execute(
            update(capa_t).where(and_(capa_t.c.id == capa["id"], capa_t.c.version == capa["version"]))
            .values(version=version, **values)
        )
        if result.rowcount != 1:
            raise CapaConflict(capa["id"], capa["version"])
        return version

    def add_capa_event(self, capa_id: int, seq: int, **values: Any) -> None:
        self.conn.execute(capa_event_t.insert().values(capa_id=capa_id, seq=seq, **values))

    def capa_events(self, capa_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(select(capa_event_t).where(capa_event_t.c.capa_id == capa_id).order_by(capa_event_t.c.seq))
        return [dict(r._mapping) for r in rows]

    def count_received(self, complaint_ids: Iterable[int], start: datetime, end: datetime) -> int:
        ids = sorted(set(complaint_ids))
        total = 0
        for part in chunks(ids):
            total += int(self.conn.execute(select(func.count()).select_from(complaint_t).where(and_(
                complaint_t.c.id.in_(part), complaint_t.c.received_at >= start, complaint_t.c.received_at < end))).scalar_one())
        return total

    def received_since(self, start: datetime) -> list[tuple[str | None, datetime]]:
        """(product, received_at) of every complaint received from ``start`` on: the volumes
        recurrence is tested against."""
        query = select(complaint_t.c.product, complaint_t.c.received_at).where(complaint_t.c.received_at >= start)
        return [(r.product, r.received_at) for r in self.conn.execute(query)]

    # -- alerts -----------------------------------------------------------------------------------
    def find_alert(self, kind: str, subject: str, period: str | None = None) -> dict[str, Any] | None:
        """The alert of (kind, subject, period), or the subject's newest alert when ``period`` is None."""
        query = select(alert_t).where(and_(alert_t.c.kind == kind, alert_t.c.subject == subject))
        if period is not None:
            query = query.where(alert_t.c.period == period)
        row = self.conn.execute(query.order_by(alert_t.c.period.desc(), alert_t.c.id.desc()).limit(1)).first()
        return dict(row._mapping) if row else None

    def insert_alert(self, values: dict[str, Any]) -> int:
        return int(self.conn.execute(alert_t.insert().values(**values).returning(alert_t.c.id)).scalar_one())

    def alert(self, alert_id: int, for_update: bool = False) -> dict[str, Any]:
        query = select(alert_t).where(alert_t.c.id == alert_id)
        if for_update and self.conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        if row is None:
            raise NotFound(f"No alert with id {alert_id} (`complaints rootcause alerts list --status all` lists them)")
        return dict(row._mapping)

    def update_alert(self, alert: dict[str, Any], **values: Any) -> int:
        """Write ``values`` if nobody changed the alert since it was read; returns the new version."""
        version = alert["version"] + 1
        result = self.conn.execute(
            update(alert_t).where(and_(alert_t.c.id == alert["id"], alert_t.c.version == alert["version"]))
            .values(version=version, **values)
        )
        if result.rowcount != 1:
            raise AlertConflict(alert["id"], alert["version"])
        return version

    def add_alert_event(self, alert_id: int, seq: int, **values: Any) -> None:
        self.conn.execute(alert_event_t.insert().values(alert_id=alert_id, seq=seq, **values))

    def alert_events(self, alert_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(select(alert_event_t).where(alert_event_t.c.alert_id == alert_id).order_by(alert_event_t.c.seq))
        return [dict(r._mapping) for r in rows]

    def queue_notice(self, values: dict[str, Any]) -> None:
        self.conn.execute(notice_t.insert().values(status="queued", attempts=0, **values))

    def notices(self, alert_id: int | None = None, status: str | None = None) -> list[dict[str, Any]]:
        query = select(notice_t)
        if alert_id is not None:
            query = query.where(notice_t.c.alert_id == alert_id)
        if status:
            query = query.where(notice_t.c.status == status)
        return [dict(r._mapping) for r in self.conn.execute(query.order_by(notice_t.c.id))]

    def due_notices(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """The earliest notices due by ``now`` (queued, or claimed by a sender whose claim ran
        out); locked on PostgreSQL, skipping those another sender holds."""
        due = and_(notice_t.c.status.in_(("queued", "sending")),
                   or_(notice_t.c.next_attempt_at.is_(None), notice_t.c.next_attempt_at <= now))
        query = select(notice_t).where(due).order_by(notice_t.c.id).limit(limit)
        if self.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [dict(r._mapping) for r in self.conn.execute(query)]

    def claim_notices(self, claims: Sequence[tuple[int, str]], until: datetime) -> None:
        """Mark (id, Message-ID) notices ``sending`` until ``until``: no other sender takes them."""
        for notice_id, message_id in claims:
            self.conn.execute(update(notice_t).where(notice_t.c.id == notice_id)
                              .values(status="sending", message_id=message_id, next_attempt_at=until))

    def notice_outcome(self, notice_id: int, status: str, at: datetime, error: str | None = None,
                       due: datetime | None = None) -> None:
        """Record one attempt: ``sent`` (at ``at``), ``queued`` again (due at ``due``) or ``failed``."""
        self.conn.execute(update(notice_t).where(notice_t.c.id == notice_id).values(
            status=status, attempts=notice_t.c.attempts + 1, last_error=error[:500] if error else None,
            next_attempt_at=due, sent_at=at if status == "sent" else None))

    def alerts(self, statuses: str | Sequence[str] | None = "open") -> list[dict[str, Any]]:
        query = select(alert_t)
        if statuses:
            query = query.where(alert_t.c.status.in_([statuses] if isinstance(statuses, str) else list(statuses)))
        return [dict(r._mapping) for r in self.conn.execute(query.order_by(alert_t.c.strength.desc(), alert_t.c.id))]
