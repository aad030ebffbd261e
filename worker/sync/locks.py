"""One run per (connection, transfer) at a time (code-models rule 12).

A Redis lock with a TTL: a second start while the lock is held returns "already
running" at once instead of waiting (two runs of one register would race each other's
creates). The TTL frees the lock if the holder dies; a long run extends it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from worker.keys import lock_key
from worker.lua import lua_script

_RELEASE = lua_script(__file__, "lock_release")
_EXTEND = lua_script(__file__, "lock_extend")


class AlreadyRunning(Exception):  # noqa: N818 - reads as the state it reports
    """Another run of this transfer holds the lock."""

    def __init__(self, connection_id: str, transfer: str, holder: str | None) -> None:
        self.connection_id = connection_id
        self.transfer = transfer
        self.holder = holder
        super().__init__(
            f"{transfer} is already running for connection {connection_id!r}"
            + (f" (run {holder})" if holder else "")
        )


class RunLock:
    """The lock of one transfer of one connection, held by one run id."""

    def __init__(self, client: redis.Redis, connection_id: str, transfer: str, ttl: float) -> None:
        self.client = client
        self.connection_id = connection_id
        self.transfer = transfer
        self.ttl_ms = int(ttl * 1000)
        self.key = lock_key(connection_id, transfer)
        self.token = secrets.token_hex(8)

    def acquire(self, holder: str) -> None:
        self.token = holder
        if not self.client.set(self.key, holder, nx=True, px=self.ttl_ms):
            current = self.client.get(self.key)
            raise AlreadyRunning(
                self.connection_id,
                self.transfer,
                current.decode() if isinstance(current, bytes) else current,
            )

    def extend(self) -> bool:
        return self.extend_for(self.token)

    def release(self) -> bool:
        return self.release_for(self.token)

    def extend_for(self, holder: str) -> bool:
        """Extend the lock if ``holder`` still holds it (any process of that run may)."""
        return bool(_EXTEND(self.client, [self.key], [holder, self.ttl_ms]))

    def release_for(self, holder: str) -> bool:
        """Release the lock if ``holder`` holds it: the run's last record finishes it."""
        return bool(_RELEASE(self.client, [self.key], [holder]))

    def holder(self) -> str | None:
        value = self.client.get(self.key)
        return value.decode() if isinstance(value, bytes) else value


@contextmanager
def transfer_lock(
    client: redis.Redis, connection_id: str, transfer: str, holder: str, ttl: float = 900.0
) -> Iterator[RunLock]:
    lock = RunLock(client, connection_id, transfer, ttl)
    lock.acquire(holder)
    try:
        yield lock
    finally:
        lock.release()
