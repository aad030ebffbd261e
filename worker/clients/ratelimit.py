"""A token bucket in Redis, shared by every process that calls an API for a connection.

Celery's own ``rate_limit`` is per worker process, so with N processes it would allow
N times the vendor's limit. This limiter keeps one bucket per (connection, API, bucket)
in Redis — eEkonomi: one per endpoint (600 per minute each); Severa: one per client
(about 10 per second) — and every process takes its tokens from it.

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

from worker.keys import key
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
    ) -> None:
        self.client = client
        self.connection_id = connection_id
        self.api = api
        self.rate_of = rate_of
        self.sleep = sleep

    def bucket_key(self, bucket: str) -> str:
        return key(self.connection_id, "ratelimit", self.api, bucket)

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
