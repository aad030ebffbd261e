"""The web app's accounts: who may log in, with which role, for which connection.

Two roles (README → Web app):

- ``operator`` — the hoster: sees and acts on every connection, adds and removes them;
- ``admin`` — a firm's finance admin: sees and acts on one connection, its own.

Users live in Redis beside the registry (``sync:web:users`` → a hash per e-mail) so a
user added from the CLI can log in at once, in every web process. Passwords are kept
as argon2id hashes only (argon2-cffi's defaults; a hash made with older parameters is
re-hashed at the next login). Failed logins are counted per account and per client
address, each for :data:`LOCKOUT_SECONDS`, so guessing passwords is slow from one
address and against one account from many.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import redis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from worker.keys import PREFIX, check_connection_id

OPERATOR = "operator"
ADMIN = "admin"
ROLES = (OPERATOR, ADMIN)

USERS_KEY = f"{PREFIX}:web:users"
#: Failed logins allowed per account, and per client address, in LOCKOUT_SECONDS.
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
LOCKOUT_SECONDS = 900
MIN_PASSWORD_LENGTH = 10

_EMAIL = re.compile(r"^[^@\s:]+@[^@\s:]+$")
_hasher = PasswordHasher()
#: Verified against for an unknown e-mail, so a login takes as long whether the account
#: exists or not (no user enumeration by timing).
_NOBODY = _hasher.hash("no such user")


class AccountError(ValueError):
    """A user that cannot be added as asked (the message says why and what to do)."""


@dataclass(frozen=True)
class User:
    """A web user (no password hash: that never leaves :class:`Accounts`)."""

    email: str
    role: str
    connection_id: str = ""  # an admin's one connection; empty for an operator

    def may_see(self, connection_id: str) -> bool:
        """The one access rule of every page and action of a connection."""
        return self.role == OPERATOR or self.connection_id == connection_id

    @property
    def is_operator(self) -> bool:
        return self.role == OPERATOR


def user_key(email: str) -> str:
    return f"{PREFIX}:web:user:{email}"


def _failures_key(kind: str, who: str) -> str:
    return f"{PREFIX}:web:login-failures:{kind}:{who}"


def normal_email(email: str) -> str:
    """The e-mail as stored: trimmed, lower-case; :class:`AccountError` if it is none."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise AccountError(f"{email!r} is not an e-mail address")
    return email


class Accounts:
    """Add, list, remove and authenticate web users (see the module docstring)."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def add(self, email: str, password: str, role: str, connection_id: str = "",
            *, replace: bool = False) -> User:  # fmt: skip
        """Store a user; an admin needs its connection, an operator has none."""
        email = normal_email(email)
        if role not in ROLES:
            raise AccountError(f"role {role!r}: use {' or '.join(ROLES)}")
        if role == ADMIN and not connection_id:
            raise AccountError("an admin needs its connection: give --connection ID")
        if role == OPERATOR and connection_id:
            raise AccountError("an operator sees every connection: leave out --connection")
        if connection_id:
            check_connection_id(connection_id)
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
        if not replace and self.client.sismember(USERS_KEY, email):
            raise AccountError(f"user {email} exists already (--replace changes it)")
        fields: dict[Any, Any] = {
            "hash": _hasher.hash(password), "role": role, "connection": connection_id,
            "added_at": f"{time.time():.3f}",
        }  # fmt: skip
        with self.client.pipeline() as pipe:
            pipe.delete(user_key(email))
            pipe.hset(user_key(email), mapping=fields)
            pipe.sadd(USERS_KEY, email)
            pipe.execute()
        return User(email, role, connection_id)

    def get(self, email: str) -> User | None:
        raw = _decoded(self.client.hgetall(user_key(email)))
        if not raw.get("role"):
            return None
        return User(email, raw["role"], raw.get("connection", ""))

    def all(self) -> list[User]:
        emails = sorted(_text(e) for e in self.client.smembers(USERS_KEY))
        return [u for u in (self.get(e) for e in emails) if u is not None]

    def remove(self, email: str) -> bool:
        email = email.strip().lower()
        with self.client.pipeline() as pipe:
            pipe.delete(user_key(email))
            pipe.srem(USERS_KEY, email)
            removed, _ = pipe.execute()
        return bool(removed)

    def locked(self, email: str, address: str) -> bool:
        """Too many failed logins for this account or from this address lately."""
        account, origin = self.client.mget(
            _failures_key("account", email), _failures_key("address", address)
        )
        return (int(account or 0) >= MAX_FAILURES_PER_ACCOUNT
                or int(origin or 0) >= MAX_FAILURES_PER_ADDRESS)  # fmt: skip

    def authenticate(self, email: str, password: str, address: str) -> User | None:
        """The user whose password this is, or ``None`` (counted as a failure). Call
        :meth:`locked` first: a locked account is not even checked."""
        email = email.strip().lower()
        raw = _decoded(self.client.hgetall(user_key(email)))
        stored = raw.get("hash", "")
        try:
            ok = _hasher.verify(stored or _NOBODY, password) and bool(stored)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
        if not ok:
            self._count_failure(email, address)
            return None
        self.client.delete(_failures_key("account", email))
        if _hasher.check_needs_rehash(stored):
            self.client.hset(user_key(email), "hash", _hasher.hash(password))
        return User(email, raw["role"], raw.get("connection", ""))

    def _count_failure(self, email: str, address: str) -> None:
        with self.client.pipeline() as pipe:
            for name in (_failures_key("account", email), _failures_key("address", address)):
                pipe.incr(name)
                pipe.expire(name, LOCKOUT_SECONDS)
            pipe.execute()


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _decoded(raw: Any) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in dict(raw).items()}
