"""A token bucket in Redis, shared by every process that calls an API for a connection.

Celery's own ``rate_limit`` is per worker process, so with N processes it would allow
N times the vendor's limit. This limiter keeps one bucket per (connection, API, bucket)
in Redis — eEkonomi: one per endpoint (600 per minute each); Severa: one per client
(about 10 per second) — and every process takes its tokens from it.

Whose bucket it is follows the vendor: Severa counts per *client* (client id), so two
connections on one Severa client share one bucket (``owner`` = a digest of the base URL
and client id); eEkonomi counts per client, *company* and endpoint, so the buckets are
the company's (``owner`` = the authorized company's id). Shared buckets live outside
every connection's keys (:func:`worker.keys.shared_key`), so removing a connection
never resets a budget another connection still spends; they expire when idle.

It is a *reservation* bucket: a request always takes a token, the count may go below
zero, and the caller sleeps until its reserved slot comes. Waiters therefore queue
fairly without polling Redis in a loop. The clock is Redis's (``TIME``), so processes
with skewed clocks still agree.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import redis

from worker.keys import key, shared_key
from worker.lua import lua_script

#: Takes one token and answers the wait before sending (``lua/reserve.lua``).
_RESERVE = lua_script(__file__, "reserve")


@dataclass(frozen=True)
class Rate:
    """``per_second`` sustained, with bursts up to ``burst`` requests."""

    per_second: float
    burst: int

    @classmethod
    def per_minute(cls, count: float, burst: int) -> Rate:
        return cls(count / 60.0, burst)


class RedisRateLimiter:
    """Blocks in :meth:`acquire` until the shared bucket allows one more request."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        connection_id: str,
        api: str,
        rate_of: Callable[[str], Rate],
        sleep: Callable[[float], None] = time.sleep,
        owner: Callable[[], str | None] | None = None,
    ) -> None:
        self.client = client
        #: Who the vendor counts the requests of (None: this connection alone).
        self.owner = owner
        self.connection_id = connection_id
        self.api = api
        self.rate_of = rate_of
        self.sleep = sleep

    def bucket_key(self, bucket: str) -> str:
        owner = self.owner() if self.owner is not None else None
        if owner is None:
            return key(self.connection_id, "ratelimit", self.api, bucket)
        return shared_key("ratelimit", self.api, owner, bucket)

    def reserve(self, bucket: str) -> float:
        """Take one token; return the seconds to wait before sending (0 = now)."""
        rate = self.rate_of(bucket)
        micros = _RESERVE(self.client, [self.bucket_key(bucket)], [rate.per_second, rate.burst])
        return int(micros) / 1_000_000

    def acquire(self, bucket: str) -> float:
        wait = self.reserve(bucket)
        if wait > 0:
            self.sleep(wait)
        return wait
