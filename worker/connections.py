"""The connection registry: which company pairs this deployment serves, changed while it runs.

A *connection* is one Severa company paired with one eEkonomi company (CONTRIBUTING →
Words). The registry lives in Redis, so ``connections add`` / ``pause`` / ``remove``
take effect at beat's next tick in every process, without a restart:

- ``sync:connections`` — the set of registered ids (beat fans out over it);
- ``sync:conn:<id>:registry`` — a hash: ``paused``, ``added_at``, ``generation`` and the
  connection's own Severa credentials (base URL, client id, and the client secret
  sealed with ``SECRET_KEY`` like the tokens, :mod:`worker.crypto`).

The ids of the ``CONNECTIONS`` setting are always served (as before the registry), and
a connection without credentials of its own uses the process settings ``SEVERA_*`` —
so a single-pair deployment (``default``) keeps working unchanged.

Every key of a connection starts with ``sync:conn:<id>:`` (:mod:`worker.keys`), so
:meth:`ConnectionRegistry.remove` deletes exactly those and nothing shared: the Severa
rate-limit bucket is keyed by the Severa client (two connections may share it) and
expires by itself.

This module is the registry's typed API for the CLI (``worker/cli_connections.py``),
beat's fan-out and any front end; it imports nothing of the sync engine at import time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import redis

from config import Settings
from config.settings import CONNECTION_ID_PATTERN
from schemas.sides import Side
from worker.crypto import SecretBox
from worker.errors import ConfigError
from worker.keys import CONNECTIONS_KEY, check_connection_id, key

log = logging.getLogger(__name__)

ACTIVE = "active"
PAUSED = "paused"
NEEDS_AUTHORIZATION = "needs authorization"

#: Where a connection's Severa credentials come from.
OWN = "registry"
FROM_SETTINGS = "settings (SEVERA_*)"


class UnknownConnection(ConfigError):
    """The id is neither registered nor in the ``CONNECTIONS`` setting."""


class ConnectionExists(ConfigError):
    """``add`` of an id that is registered already (``--replace`` changes it)."""


@dataclass(frozen=True)
class SeveraCredentials:
    """A Severa client-credentials pair and the API it belongs to. ``repr`` hides the secret."""

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)
    source: str = OWN


@dataclass(frozen=True)
class Connection:
    """What the registry knows of one connection (no secret)."""

    id: str
    paused: bool
    added_at: float
    severa_base_url: str
    severa_client_id: str
    credentials: str  # OWN or FROM_SETTINGS
    in_settings: bool  # listed in CONNECTIONS: served even when not registered

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "paused": self.paused,
            "added_at": self.added_at,
            "severa_base_url": self.severa_base_url,
            "severa_client_id": self.severa_client_id,
            "credentials": self.credentials,
            "in_settings": self.in_settings,
        }


@dataclass(frozen=True)
class Overview:
    """A connection with its state, the last run of each transfer and its error count:
    one row of ``connections list``."""

    connection: Connection
    state: str
    reason: str
    errors: int
    last_runs: dict[str, dict[str, Any] | None]

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.connection.as_dict(),
            "state": self.state,
            "reason": self.reason,
            "errors": self.errors,
            "transfers": self.last_runs,
        }


def registry_key(connection_id: str) -> str:
    return key(connection_id, "registry")


class ConnectionRegistry:
    """Add, list, read, pause, resume and remove connections (see the module docstring)."""

    def __init__(self, client: redis.Redis, settings: Settings, box: SecretBox) -> None:
        self.client = client
        self.settings = settings
        self.box = box

    # -- reading -------------------------------------------------------------------------

    def ids(self) -> list[str]:
        """Every connection served: the ``CONNECTIONS`` setting's, then the registered ones."""
        registered = sorted(_text(c) for c in self.client.smembers(CONNECTIONS_KEY))
        valid = [c for c in registered if CONNECTION_ID_PATTERN.match(c)]
        if len(valid) != len(registered):  # written by hand? never let it stop the others
            log.error("ignoring malformed connection ids in %s: %s", CONNECTIONS_KEY,
                      sorted(set(registered) - set(valid)))  # fmt: skip
        return list(dict.fromkeys([*self.settings.connections, *valid]))

    def active_ids(self) -> list[str]:
        """The connections beat schedules: all but the paused ones (one round trip).
        A registry entry that cannot be read counts as active: its own steps then show
        the problem on that connection (``guarded``), and no other connection waits."""
        ids = self.ids()
        with self.client.pipeline(transaction=False) as pipe:
            for connection_id in ids:
                pipe.hget(registry_key(connection_id), "paused")
            paused = pipe.execute(raise_on_error=False)
        return [c for c, flag in zip(ids, paused, strict=True) if _text(flag) != "1"]

    def exists(self, connection_id: str) -> bool:
        check_connection_id(connection_id)
        return connection_id in self.settings.connections or bool(
            self.client.sismember(CONNECTIONS_KEY, connection_id)
        )

    def get(self, connection_id: str) -> Connection:
        """The connection; :class:`UnknownConnection` if it is not served here."""
        if not self.exists(connection_id):
            raise UnknownConnection(
                f"connection {connection_id!r} is not registered: "
                f"`python -m worker connections add {connection_id}` adds it"
            )
        raw = self._stored(connection_id)
        own = bool(raw.get("severa_client_id"))
        return Connection(
            id=connection_id,
            paused=raw.get("paused") == "1",
            added_at=float(raw.get("added_at") or 0),
            severa_base_url=raw["severa_base_url"] if own else self.settings.severa_base_url,
            severa_client_id=raw["severa_client_id"] if own else self.settings.severa_client_id,
            credentials=OWN if own else FROM_SETTINGS,
            in_settings=connection_id in self.settings.connections,
        )

    def all(self) -> list[Connection]:
        return [self.get(connection_id) for connection_id in self.ids()]

    def _stored(self, connection_id: str) -> dict[str, str]:
        stored = self.client.hgetall(registry_key(connection_id))
        return {_text(k): _text(v) for k, v in stored.items()}

    def generation(self, connection_id: str) -> str:
        """Changes whenever the connection's credentials change (or it is removed and
        added again): processes key their cached clients by it."""
        return _text(self.client.hget(registry_key(connection_id), "generation")) or "0"

    def credentials(self, connection_id: str) -> SeveraCredentials:
        """The connection's own Severa credentials, or the process settings' when it has
        none. Raises :class:`~worker.crypto.UnreadableSecret` when the stored secret was
        sealed with a key that is gone (the message says to add it again)."""
        raw = self._stored(connection_id)
        if not raw.get("severa_client_id"):
            s = self.settings
            return SeveraCredentials(
                s.severa_base_url, s.severa_client_id, s.severa_client_secret, FROM_SETTINGS
            )
        try:
            secret = self.box.open(raw["severa_client_secret"])
        except ConfigError as exc:
            raise type(exc)(
                f"connection {connection_id!r}: its Severa client secret: {exc}; give it again: "
                f"`python -m worker connections add {connection_id} --replace`"
            ) from None
        return SeveraCredentials(raw["severa_base_url"], raw["severa_client_id"], str(secret))

    def state(self, connection_id: str) -> tuple[str, str]:
        """(state, reason): paused, needs authorization (no eEkonomi consent yet, or it
        was revoked), else active."""
        from worker.connection_status import get_status  # noqa: PLC0415

        if self.get(connection_id).paused:
            return PAUSED, "paused: `connections resume` schedules it again"
        status = get_status(self.client, connection_id)
        if not status.ok:
            return NEEDS_AUTHORIZATION, status.reason
        if not self.client.exists(key(connection_id, "tokens", Side.EEKONOMI)):
            return NEEDS_AUTHORIZATION, (
                f"eEkonomi not authorized yet: `python -m worker connect --connection "
                f"{connection_id}`"
            )
        return ACTIVE, ""

    def overview(self, connection_id: str) -> Overview:
        from worker.registry import NAMES  # noqa: PLC0415
        from worker.sync.errorlist import ErrorList  # noqa: PLC0415
        from worker.sync.runs import Runs  # noqa: PLC0415

        connection = self.get(connection_id)
        state, reason = self.state(connection_id)
        runs = Runs(self.client, connection_id)
        last = {name: runs.last(name) for name in NAMES}
        return Overview(
            connection, state, reason, ErrorList(self.client, connection_id).count(),
            {name: report.as_dict() if report else None for name, report in last.items()},
        )  # fmt: skip

    # -- changing ------------------------------------------------------------------------

    def add(
        self, connection_id: str, credentials: SeveraCredentials | None, *, replace: bool = False
    ) -> Connection:
        """Register a connection, with its own Severa credentials (``None``: the process
        settings'). An existing one is changed only with ``replace`` (its state stays)."""
        check_connection_id(connection_id)
        if self.client.sismember(CONNECTIONS_KEY, connection_id) and not replace:
            raise ConnectionExists(
                f"connection {connection_id!r} is registered already: add --replace to "
                "change its credentials, or `connections remove` it first"
            )
        fields: dict[Any, Any] = {"added_at": f"{time.time():.3f}"}
        if credentials is not None:
            fields |= {
                "severa_base_url": credentials.base_url,
                "severa_client_id": credentials.client_id,
                "severa_client_secret": self.box.seal(credentials.client_secret),
            }
        name = registry_key(connection_id)
        with self.client.pipeline() as pipe:
            if replace:
                fields.pop("added_at")
                pipe.hdel(name, "severa_base_url", "severa_client_id", "severa_client_secret")
            pipe.hset(name, mapping=fields)
            pipe.hset(name, "generation", f"{time.time_ns()}")
            pipe.sadd(CONNECTIONS_KEY, connection_id)
            pipe.execute()
        return self.get(connection_id)

    def pause(self, connection_id: str) -> Connection:
        """Beat schedules nothing more for it (a run going on finishes)."""
        self.get(connection_id)
        self.client.hset(registry_key(connection_id), "paused", "1")
        return self.get(connection_id)

    def resume(self, connection_id: str) -> Connection:
        self.get(connection_id)
        self.client.hdel(registry_key(connection_id), "paused")
        return self.get(connection_id)

    def keys_of(self, connection_id: str) -> Iterator[str]:
        """Every Redis key of the connection (``sync:conn:<id>:*``; ids hold no glob
        characters, and no other connection's keys share the prefix since ids hold no
        ``:``)."""
        check_connection_id(connection_id)
        for name in self.client.scan_iter(match=key(connection_id, "*"), count=1000):
            yield _text(name)

    def remove(self, connection_id: str) -> int:
        """Delete every key of the connection and unregister it; the number of keys
        deleted. Nothing of another connection, nor the shared rate-limit buckets, is
        touched. An id of the ``CONNECTIONS`` setting stays served (with nothing stored)
        until it is taken out of the setting."""
        self.get(connection_id)
        deleted = 0
        batch: list[str] = []
        for name in self.keys_of(connection_id):
            batch.append(name)
            if len(batch) >= 500:
                deleted += int(self.client.delete(*batch))
                batch = []
        if batch:
            deleted += int(self.client.delete(*batch))
        self.client.srem(CONNECTIONS_KEY, connection_id)
        return deleted

    def reseal(self) -> tuple[int, list[str]]:
        """Re-seal every stored Severa secret with the current key (``rotate-secrets``):
        (how many were re-sealed, ids whose secret no known key opens)."""
        resealed, unreadable = 0, []
        for connection_id in self.ids():
            name = registry_key(connection_id)
            sealed = _text(self.client.hget(name, "severa_client_secret"))
            if not sealed:
                continue
            try:
                if not self.box.open_checked(sealed).stale:
                    continue
                self.client.hset(name, "severa_client_secret", self.box.reseal(sealed))
                resealed += 1
            except ConfigError:
                unreadable.append(connection_id)
        return resealed, unreadable


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def registry(client: redis.Redis | None = None) -> ConnectionRegistry:
    """This process's registry (settings, Redis and ``SECRET_KEY`` of the process)."""
    from config import get_settings  # noqa: PLC0415
    from worker.crypto import secret_box  # noqa: PLC0415
    from worker.state import redis_client  # noqa: PLC0415

    settings = get_settings()
    return ConnectionRegistry(client or redis_client(), settings, secret_box(settings))
