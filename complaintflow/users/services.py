"""Users, passwords, API tokens and the access log: the use cases behind ``complaints user``
and the HTTP API's sign-in.

Passwords are hashed with argon2id (``argon2-cffi``); a token is 32 random bytes shown once,
stored as its SHA-256 (a token has the entropy a password lacks, so a fast hash is enough and
checking one on every request stays cheap). Every change to a user or a token, every sign-in
and every refusal is appended to the hash-chained access log in the same transaction.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.exc import IntegrityError

from complaintflow.users.repository import UserRepository, access_content_hash
from complaints import audit
from complaints.db import Database
from complaints.errors import InvalidInput, NotFound, NotPermitted

__all__ = ["User", "Token", "add_user", "disable_user", "set_roles", "set_password", "create_token", "list_tokens",
           "revoke_token", "sign_in", "TooManySignIns", "user_of_token", "user_named", "record_access", "verify_access_log"]

#: Wrong passwords one name may have within the window before it must wait.
SIGN_IN_LIMIT, SIGN_IN_WINDOW = 5, timedelta(minutes=15)
SIGN_IN_FAILED = "sign_in_failed"
NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,99}$")
TOKEN_PREFIX = "cft_"
MIN_PASSWORD = 10
_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash checked against when no such user exists, so a wrong name takes as long as a wrong
    password; made at first use, not at import, where every CLI command would pay for it."""
    return _hasher.hash("no such user: the time of a check tells nothing")


@dataclass(frozen=True)
class User:
    """Who is signed in: the roles are what they may act as."""

    name: str
    display_name: str
    roles: tuple[str, ...]

    def may_act_as(self, role: str) -> bool:
        return role in self.roles


@dataclass(frozen=True)
class Token:
    """A token just made: ``secret`` is shown once and never stored."""

    id: int
    user: str
    label: str
    secret: str


def _user(row: dict[str, Any]) -> User:
    return User(row["name"], row["display_name"], tuple(row["roles"]))


def _check_roles(roles: Sequence[str], known: Collection[str]) -> list[str]:
    unknown = [r for r in roles if r not in known]
    if unknown or not roles:
        why = f"unknown role(s) {', '.join(repr(r) for r in unknown)}" if unknown else "at least one role is needed"
        raise InvalidInput("Invalid --role", [f"{why} (roles: {', '.join(sorted(known))})"])
    return list(dict.fromkeys(roles))


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("Invalid password", [f"at least {MIN_PASSWORD} characters; got {len(password)}"])
    if len(password) > 1024:
        raise InvalidInput("Invalid password", ["at most 1024 characters"])
    return password


def _existing(repo: UserRepository, name: str) -> dict[str, Any]:
    row = repo.user(name)
    if row is None:
        raise NotFound(f"No user '{name}' (see `complaints user list`)")
    return row


def add_user(db: Database, now: datetime, name: str, display_name: str, roles: Sequence[str],
             known_roles: Collection[str], password: str | None, by: str, origin: str = "cli") -> User:
    """A new active user; ``InvalidInput`` for a bad or taken name, unknown roles, a short password."""
    problems = []
    if not NAME.match(name):
        problems.append(f"name: {name!r} must be 1-100 lower-case letters, digits or . _ @ - (starting with a "
                        "letter or digit)")
    if not display_name.strip() or len(display_name) > 200 or "\x00" in display_name:
        problems.append("display name: 1-200 characters, no NUL")
    if problems:
        raise InvalidInput("Invalid user", problems)
    checked = _check_roles(roles, known_roles)
    hashed = _hasher.hash(_check_password(password)) if password is not None else None
    with db.transaction() as conn:
        repo = UserRepository(conn)
        if repo.user(name) is not None:
            raise InvalidInput("Invalid user", [f"name: '{name}' is taken"])
        repo.add_user({"name": name, "display_name": display_name.strip(), "roles": checked, "active": True,
                       "password_hash": hashed, "created_at": now})
        _log(repo, now, "user_added", origin, by, name, details={"roles": checked, "password": hashed is not None})
    return User(name, display_name.strip(), tuple(checked))


def disable_user(db: Database, now: datetime, name: str, by: str, origin: str = "cli") -> User:
    """Sign-ins and every token of the user stop working at once (the tokens are revoked too)."""
    with db.transaction() as conn:
        repo = UserRepository(conn)
        row = _existing(repo, name)
        repo.change_user(row["id"], active=False, disabled_at=now)
        revoked = [t["id"] for t in repo.tokens(row["id"]) if t["revoked_at"] is None]
        for token_id in revoked:
            repo.change_token(token_id, revoked_at=now)
        _log(repo, now, "user_disabled", origin, by, name, details={"tokens_revoked": revoked})
    return _user(row)


def set_roles(db: Database, now: datetime, name: str, roles: Sequence[str], known_roles: Collection[str], by: str,
              origin: str = "cli") -> User:
    checked = _check_roles(roles, known_roles)
    with db.transaction() as conn:
        repo = UserRepository(conn)
        row = _existing(repo, name)
        repo.change_user(row["id"], roles=checked)
        _log(repo, now, "roles_changed", origin, by, name, details={"from": row["roles"], "to": checked})
    return User(row["name"], row["display_name"], tuple(checked))


def set_password(db: Database, now: datetime, name: str, password: str, by: str, origin: str = "cli") -> None:
    hashed = _hasher.hash(_check_password(password))
    with db.transaction() as conn:
        repo = UserRepository(conn)
        row = _existing(repo, name)
        repo.change_user(row["id"], password_hash=hashed)
        _log(repo, now, "password_set", origin, by, name)


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(db: Database, now: datetime, name: str, label: str, by: str, origin: str = "cli") -> Token:
    """A new token for an active user; its secret is in the result only."""
    if not label.strip() or len(label) > 100 or "\x00" in label:
        raise InvalidInput("Invalid token", ["label: 1-100 characters, no NUL"])
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.transaction() as conn:
        repo = UserRepository(conn)
        row = _existing(repo, name)
        if not row["active"]:
            raise InvalidInput("Invalid token", [f"user '{name}' is disabled"])
        token_id = repo.add_token({"user_id": row["id"], "label": label.strip(), "prefix": secret[:12],
                                   "token_hash": _token_hash(secret), "created_at": now})
        _log(repo, now, "token_created", origin, by, name, details={"token": token_id, "label": label.strip()})
    return Token(token_id, name, label.strip(), secret)


def list_tokens(db: Database, name: str) -> list[dict[str, Any]]:
    """A user's tokens without their secrets (none is stored), newest last."""
    with db.read() as conn:
        repo = UserRepository(conn)
        row = _existing(repo, name)
        return [{k: t[k] for k in ("id", "label", "prefix", "created_at", "revoked_at")}
                for t in repo.tokens(row["id"])]


def revoke_token(db: Database, now: datetime, name: str, token_id: int, by: str, origin: str = "cli") -> dict[str, Any]:
    with db.transaction() as conn:
        repo = UserRepository(conn)
        row = _existing(repo, name)
        token = next((t for t in repo.tokens(row["id"]) if t["id"] == token_id), None)
        if token is None:
            raise NotFound(f"User '{name}' has no token {token_id} (see `complaints user token list {name}`)")
        if token["revoked_at"] is None:
            repo.change_token(token_id, revoked_at=now)
            _log(repo, now, "token_revoked", origin, by, name, details={"token": token_id})
        return {"id": token_id, "label": token["label"], "revoked_at": token["revoked_at"] or now}


def user_named(db: Database, name: str) -> User | None:
    """The active user of that name (a session's user, looked up on each request: one disabled
    since signing in is refused at once)."""
    with db.lookup() as conn:
        row = UserRepository(conn).user(name)
    return _user(row) if row and row["active"] else None


def list_users(db: Database) -> list[dict[str, Any]]:
    with db.read() as conn:
        return [{k: u[k] for k in ("name", "display_name", "roles", "active", "created_at", "disabled_at")}
                | {"password": u["password_hash"] is not None} for u in UserRepository(conn).users()]


class TooManySignIns(NotPermitted):
    """Too many wrong passwords for one name lately: it waits before it may try again."""

    def __init__(self, name: str, retry_after: timedelta):
        self.retry_after = max(1, math.ceil(retry_after.total_seconds()))
        super().__init__(f"Too many failed sign-ins for {name!r}: try again in {math.ceil(self.retry_after / 60)} "
                         "minute(s), or ask an administrator to set a new password")


def sign_in(db: Database, now: datetime, name: str, password: str, origin: str) -> User | None:
    """The user if the name and password match an active user. Both outcomes are logged; after
    ``SIGN_IN_LIMIT`` failures within ``SIGN_IN_WINDOW`` (and since its password was last set) the
    name is refused unchecked (``TooManySignIns``) until the oldest leaves the window, so a password
    can't be guessed."""
    subject = name[:100]
    with db.read() as conn:
        repo = UserRepository(conn)
        since = now - SIGN_IN_WINDOW
        failures = repo.times_of(SIGN_IN_FAILED, subject, since)
        reset = repo.times_of("password_set", subject, since)  # a new password starts afresh
        row = repo.user(name)
    failures = [(seq, at) for seq, at in failures if not reset or seq > reset[-1][0]]
    if len(failures) >= SIGN_IN_LIMIT:
        record_access(db, now, "sign_in_throttled", origin, subject=subject, status=429)
        _, oldest = failures[-SIGN_IN_LIMIT]
        raise TooManySignIns(subject, _aware(oldest) + SIGN_IN_WINDOW - now)
    stored = row["password_hash"] if row and row["active"] else None
    try:
        _hasher.verify(stored or _dummy_hash(), password)
        matched = stored is not None and row is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        matched = False
    if not matched or row is None:
        record_access(db, now, SIGN_IN_FAILED, origin, subject=subject, status=401)
        return None
    record_access(db, now, "signed_in", origin, actor=name)
    return _user(row)


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def user_of_token(db: Database, secret: str) -> User | None:
    """The active user a bearer token belongs to, unless it is revoked or unknown."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    with db.lookup() as conn:
        row = UserRepository(conn).token_user(_token_hash(secret))
    return _user(row) if row and row["active"] else None


def _log(repo: UserRepository, now: datetime, kind: str, origin: str, actor: str | None, subject: str | None = None,
         status: int | None = None, details: dict[str, Any] | None = None) -> int:
    return repo.append_access({"at": now, "kind": kind, "origin": origin, "actor": actor, "subject": subject,
                               "status": status, "details": details or {}})


def record_access(db: Database, now: datetime, kind: str, origin: str, actor: str | None = None,
                  subject: str | None = None, status: int | None = None, details: dict[str, Any] | None = None,
                  attempts: int = 8) -> int:
    """Append one event to the access log in a transaction of its own; two writers that took
    the same place in the chain collide on its unique sequence number, and the later one tries again."""
    for attempt in range(attempts):
        try:
            with db.transaction() as conn:
                return _log(UserRepository(conn), now, kind, origin, actor, subject, status, details)
        except IntegrityError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.005 * (attempt + 1))
    raise AssertionError("unreachable")  # pragma: no cover


def verify_access_log(db: Database, batch: int = 5000) -> list[str]:
    """What is wrong with the access log: an event edited, deleted, inserted or reordered."""
    problems: list[str] = []
    previous: dict[str, Any] | None = None
    with db.read() as conn:
        repo = UserRepository(conn)
        while True:
            rows = repo.access_events(after=previous["seq"] if previous else 0, limit=batch)
            for row in rows:
                expected_seq = previous["seq"] + 1 if previous else 1
                if row["seq"] != expected_seq:
                    problems.append(f"access event {expected_seq} deleted (the sequence jumps to {row['seq']})")
                if access_content_hash(row) != row["content_hash"]:
                    problems.append(f"access event {row['seq']} ('{row['kind']}') edited: its content no longer "
                                    "matches its hash")
                elif audit.chained(previous["chain_hash"] if previous else None, row["content_hash"]) != row["chain_hash"]:
                    problems.append(f"access event {row['seq']} ('{row['kind']}') does not follow the event before it")
                previous = row
            if len(rows) < batch:
                return problems
