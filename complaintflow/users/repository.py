"""The only module that writes the users, tokens and access-log tables."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, func, insert, select, update

from complaintflow.users.models import AccessEvent, ApiToken, AppUser
from complaints import audit
from complaints.bulk import query

user_t = AppUser.__table__  # type: ignore[attr-defined]
token_t = ApiToken.__table__  # type: ignore[attr-defined]
access_t = AccessEvent.__table__  # type: ignore[attr-defined]

_TOKEN_USER = ("SELECT u.name, u.display_name, u.roles, u.active FROM api_token t JOIN app_user u ON u.id = t.user_id "
               "WHERE t.token_hash = ? AND t.revoked_at IS NULL")
_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
_HASHED = ("seq", "kind", "origin", "actor", "subject", "status", "details")


def access_content_hash(row: Mapping[str, Any]) -> str:
    """The hash of one access event's content (a stored row, or one about to be)."""
    at: datetime = row["at"]
    instant = (at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)).isoformat(timespec="microseconds")
    content = [*(row[k] for k in _HASHED), instant]
    return hashlib.sha256(orjson.dumps(content, option=_CANONICAL)).hexdigest()


class UserRepository:
    """Reads and writes of users, tokens and the access log, on one connection (a transaction)."""

    def __init__(self, conn: Connection):
        self.conn = conn

    # -- users -----------------------------------------------------------------------------------

    def user(self, name: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(user_t).where(user_t.c.name == name)).first()
        return dict(row._mapping) if row else None

    def user_by_id(self, user_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(select(user_t).where(user_t.c.id == user_id)).first()
        return dict(row._mapping) if row else None

    def users(self) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in self.conn.execute(select(user_t).order_by(user_t.c.name))]

    def add_user(self, values: Mapping[str, Any]) -> int:
        return int(self.conn.execute(insert(user_t).values(**values).returning(user_t.c.id)).scalar_one())

    def change_user(self, user_id: int, **values: Any) -> None:
        self.conn.execute(update(user_t).where(user_t.c.id == user_id).values(**values))

    # -- tokens ----------------------------------------------------------------------------------

    def add_token(self, values: Mapping[str, Any]) -> int:
        return int(self.conn.execute(insert(token_t).values(**values).returning(token_t.c.id)).scalar_one())

    def token_user(self, token_hash: str) -> dict[str, Any] | None:
        """The user of an unrevoked token (active or not), in one statement at the driver:
        every API request asks it."""
        dialect = self.conn.dialect.name
        sql = _TOKEN_USER.replace("?", "%s") if dialect == "postgresql" else _TOKEN_USER
        rows = query(self.conn, sql, (token_hash,))
        if not rows:
            return None
        name, display_name, roles, active = rows[0]
        return {"name": name, "display_name": display_name, "active": bool(active),
                "roles": orjson.loads(roles) if isinstance(roles, str | bytes) else roles}

    def token_by_hash(self, token_hash: str) -> dict[str, Any] | None:
        row = self.conn.execute(select(token_t).where(token_t.c.token_hash == token_hash)).first()
        return dict(row._mapping) if row else None

    def tokens(self, user_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute(select(token_t).where(token_t.c.user_id == user_id).order_by(token_t.c.id))
        return [dict(r._mapping) for r in rows]

    def change_token(self, token_id: int, **values: Any) -> None:
        self.conn.execute(update(token_t).where(token_t.c.id == token_id).values(**values))

    # -- the access log --------------------------------------------------------------------------

    def append_access(self, row: Mapping[str, Any]) -> int:
        """Append one event after the newest, chained to it; its ``seq`` is unique, so two
        writers that read the same head cannot both append (the second is retried)."""
        last = self.conn.execute(select(access_t.c.seq, access_t.c.chain_hash)
                                 .order_by(access_t.c.seq.desc()).limit(1)).first()
        values = {**row, "seq": (last.seq if last else 0) + 1}
        values["content_hash"] = content = access_content_hash(values)
        values["chain_hash"] = audit.chained(last.chain_hash if last else None, content)
        self.conn.execute(insert(access_t).values(**values))
        return int(values["seq"])

    def access_events(self, after: int = 0, limit: int | None = None, kinds: Sequence[str] = ()) -> list[dict[str, Any]]:
        query = select(access_t).where(access_t.c.seq > after)
        if kinds:
            query = query.where(access_t.c.kind.in_(list(kinds)))
        query = query.order_by(access_t.c.seq)
        if limit is not None:
            query = query.limit(limit)
        return [dict(r._mapping) for r in self.conn.execute(query)]

    def times_of(self, kind: str, subject: str, since: datetime) -> list[tuple[int, datetime]]:
        """The place in the log and the time of ``subject``'s events of ``kind`` from ``since`` on, in order."""
        query = (select(access_t.c.seq, access_t.c.at).where(access_t.c.kind == kind, access_t.c.subject == subject,
                                                             access_t.c.at >= since).order_by(access_t.c.seq))
        return [(r[0], r[1]) for r in self.conn.execute(query)]

    def access_count(self) -> int:
        return int(self.conn.execute(select(func.count()).select_from(access_t)).scalar_one())
