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

# KEYS[1] bucket; ARGV[1] rate (tokens per second), ARGV[2] capacity.
# Returns the wait in microseconds before the caller may send.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = capacity; ts = now end
tokens = math.min(capacity, tokens + (now - ts) * rate / 1000000)
tokens = tokens - 1
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
local ttl = math.ceil((capacity - tokens) / rate) + 60
redis.call('EXPIRE', KEYS[1], ttl)
if tokens >= 0 then return 0 end
return math.ceil(-tokens * 1000000 / rate)
"""


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
        self._script = client.register_script(_RESERVE)

    def bucket_key(self, bucket: str) -> str:
        return key(self.connection_id, "ratelimit", self.api, bucket)

    def reserve(self, bucket: str) -> float:
        """Take one token; return the seconds to wait before sending (0 = now)."""
        rate = self.rate_of(bucket)
        micros = self._script(keys=[self.bucket_key(bucket)], args=[rate.per_second, rate.burst])
        return int(micros) / 1_000_000

    def acquire(self, bucket: str) -> float:
        wait = self.reserve(bucket)
        if wait > 0:
            self.sleep(wait)
        return wait
