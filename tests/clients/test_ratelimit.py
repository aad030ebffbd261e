"""The shared rate limiter keeps several processes together under one budget."""

from __future__ import annotations

import multiprocessing
import time

import redis

from worker.clients.ratelimit import Rate, RedisRateLimiter


def _hammer(url: str, connection_id: str, count: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    client = redis.Redis.from_url(url)
    limiter = RedisRateLimiter(
        client, connection_id=connection_id, api="severa", rate_of=lambda b: Rate(20.0, 2)
    )
    stamps = []
    for _ in range(count):
        limiter.acquire("client")
        stamps.append(time.time())
    out.put(stamps)


def test_given_two_processes_when_both_send_then_together_they_stay_under_the_rate(
    redis_url: str, connection_id: str
) -> None:
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    procs = [
        context.Process(target=_hammer, args=(redis_url, connection_id, 30, out)) for _ in range(2)
    ]
    for proc in procs:
        proc.start()
    stamps = sorted(out.get(timeout=60) + out.get(timeout=60))
    for proc in procs:
        proc.join(10)
    assert len(stamps) == 60
    # 60 requests at 20/s with a burst of 2 need at least (60 - 2) / 20 = 2.9 s.
    assert stamps[-1] - stamps[0] >= 2.9 - 0.05
    # No one-second window holds more than rate + burst requests.
    worst = max(sum(1 for t in stamps if s <= t < s + 1.0) for s in stamps)
    assert worst <= 22


def test_buckets_are_separate_per_endpoint_and_per_connection(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    slept: list[float] = []
    limiter = RedisRateLimiter(
        client, connection_id="t-buckets", api="eekonomi",
        rate_of=lambda b: Rate.per_minute(60, 1), sleep=slept.append,
    )  # fmt: skip
    assert limiter.reserve("/customers") == 0
    assert limiter.reserve("/articles") == 0
    assert 0.9 < limiter.reserve("/customers") <= 1.0
    other = RedisRateLimiter(
        client, connection_id="t-buckets-2", api="eekonomi", rate_of=lambda b: Rate(1.0, 1)
    )
    assert other.reserve("/customers") == 0
    client.delete(limiter.bucket_key("/customers"), limiter.bucket_key("/articles"))
    client.delete(other.bucket_key("/customers"))
