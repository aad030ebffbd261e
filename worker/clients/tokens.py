"""Token storage shared by all processes of a connection: encrypted, atomic, locked.

A token set is stored as one sealed value under one key, so a reader sees either the
old pair or the new pair, never a mix — which matters for eEkonomi's single-use,
rotating refresh tokens: a process that read a refresh token another process has
already used would otherwise kill the connection. Renewal happens under a Redis lock,
and the renewing process re-reads the store inside the lock before calling the API,
so at most one renewal runs at a time and the others reuse its result.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import redis

from worker.crypto import SecretBox
from worker.errors import TransientError
from worker.keys import key


@dataclass(frozen=True)
class TokenSet:
    """One API's tokens for one connection. ``repr`` never shows the tokens."""

    access_token: str = field(repr=False)
    expires_at: float
    refresh_token: str | None = field(default=None, repr=False)
    scope: str = ""
    company: dict[str, Any] = field(default_factory=dict)
    #: When the token was issued (0 = unknown); bounds the renewal margin, see :meth:`fresh`.
    issued_at: float = 0.0

    def fresh(self, margin: float, now: float | None = None) -> bool:
        """Still usable for at least ``margin`` seconds — or half its lifetime, if that is
        shorter: a token that lives less than ``margin`` would otherwise be stale the
        moment it arrives, and every request would fetch a new one."""
        if self.issued_at:
            margin = min(margin, max(0.0, self.expires_at - self.issued_at) / 2)
        return self.expires_at - margin > (time.time() if now is None else now)

    def as_dict(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "expires_at": self.expires_at,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
            "company": self.company,
            "issued_at": self.issued_at,
        }


class TokenStore:
    """Sealed :class:`TokenSet` per (connection, API) in Redis, with a renewal lock."""

    def __init__(
        self, client: redis.Redis, box: SecretBox, *, connection_id: str, api: str
    ) -> None:
        self.client = client
        self.box = box
        self.connection_id = connection_id
        self.api = api
        self.key = key(connection_id, "tokens", api)

    def load(self) -> TokenSet | None:
        sealed = self.client.get(self.key)
        if sealed is None:
            return None
        text = sealed.decode("ascii") if isinstance(sealed, bytes) else str(sealed)
        return TokenSet(**self.box.open(text))

    def save(self, tokens: TokenSet) -> None:
        self.client.set(self.key, self.box.seal(tokens.as_dict()))

    def delete(self) -> None:
        self.client.delete(self.key)

    @contextmanager
    def renewal_lock(self, timeout: float = 60.0) -> Iterator[None]:
        """Hold the connection's renewal lock (auto-expires if the holder dies)."""
        lock = self.client.lock(
            key(self.connection_id, "tokens", self.api, "lock"),
            timeout=timeout,
            blocking_timeout=timeout,
        )
        if not lock.acquire():
            raise TransientError(
                f"another process has been renewing the {self.api} token for {timeout:.0f}s"
            )
        try:
            yield
        finally:
            # If it expired while we worked, the next renewal re-checks the store anyway.
            with contextlib.suppress(redis.exceptions.LockError):
                lock.release()
