"""Token storage shared by all processes of a connection: encrypted, atomic, locked.

A token set is stored as one sealed value under one key, so a reader sees either the
old pair or the new pair, never a mix — which matters for eEkonomi's single-use,
rotating refresh tokens: a process that read a refresh token another process has
already used would otherwise kill the connection. Renewal happens under a Redis lock,
and the renewing process re-reads the store inside the lock before calling the API,
so at most one renewal runs at a time and the others reuse its result.

A token set sealed with a previous ``SECRET_KEY`` is re-sealed with the current key
when it is read — only if the stored value is still the one read (a compare-and-set
under ``WATCH``), so a re-seal can never overwrite a pair another process has just
renewed. :func:`reseal_all` does the same for every stored token set at once.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import redis

from worker.crypto import SecretBox, UnreadableSecret
from worker.errors import TransientError
from worker.keys import PREFIX, key

log = logging.getLogger(__name__)


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
        """The stored token set, or None; raises :class:`UnreadableSecret` when no known
        key opens it (the caller knows the remedy: see :mod:`worker.clients.auth`)."""
        text = _text(self.client.get(self.key))
        if text is None:
            return None
        opened = self.box.open_checked(text)
        resealed = opened.stale and compare_and_set(
            self.client, self.key, text, self.box.seal(opened.value)
        )
        if resealed:
            log.info(
                "re-sealed the stored %s token of connection %r with the current SECRET_KEY",
                self.api,
                self.connection_id,
            )
        return TokenSet(**opened.value)

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


def _text(raw: object) -> str | None:
    if raw is None:
        return None
    return raw.decode("ascii") if isinstance(raw, bytes) else str(raw)


def compare_and_set(client: redis.Redis, name: str, expected: str, new: str) -> bool:
    """Set ``name`` to ``new`` only if it still holds ``expected``; True if it was set."""
    with client.pipeline() as pipe:
        try:
            pipe.watch(name)  # type: ignore[no-untyped-call]
            if _text(pipe.get(name)) != expected:
                return False
            pipe.multi()
            pipe.set(name, new)
            pipe.execute()
        except redis.WatchError:
            return False  # someone wrote a newer value meanwhile: theirs is sealed anew
    return True


@dataclass(frozen=True)
class ResealReport:
    """What :func:`reseal_all` found: keys re-sealed, already current, unreadable."""

    resealed: list[str]
    current: list[str]
    unreadable: list[str]


def reseal_all(client: redis.Redis, box: SecretBox) -> ResealReport:
    """Re-seal every stored token set with the current key (``rotate-secrets``).

    Token sets live under ``sync:conn:<id>:tokens:<api>``; the renewal locks beside
    them (one more part) are skipped. An unreadable value is left as it is and listed:
    it is re-issued (Severa) or re-authorized (eEkonomi) when next used.
    """
    report = ResealReport([], [], [])
    for raw_name in client.scan_iter(match=f"{PREFIX}:conn:*:tokens:*", count=500):
        name = _text(raw_name) or ""
        if name.count(":") != 4:  # sync:conn:<id>:tokens:<api>, not its renewal lock
            continue
        text = _text(client.get(name))
        if text is None:
            continue
        try:
            stale = box.open_checked(text).stale
        except UnreadableSecret:
            report.unreadable.append(name)
            continue
        if not stale:
            report.current.append(name)
        elif compare_and_set(client, name, text, box.reseal(text)):
            report.resealed.append(name)
        else:
            report.current.append(name)  # replaced meanwhile, by a value sealed anew
    return report
