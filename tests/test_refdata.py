"""Reference data read ahead in a record's own round trip (issue 20), against the real
Redis: what is held is what a read would have given, and a change in Redis is seen by
the next record."""

from __future__ import annotations

from typing import Any

import redis

from worker.clients.refdata import ReferenceCache


def _loader(value: Any, calls: list[str]) -> Any:
    def load() -> Any:
        calls.append("load")
        return value

    return load


def test_read_ahead_holds_the_values_redis_has(
    redis_client: redis.Redis, connection_id: str
) -> None:
    cache = ReferenceCache(redis_client, connection_id=connection_id, ttl=60)
    calls: list[str] = []
    cache.get("units", _loader([{"Abbreviation": "tim"}], calls))  # cached in Redis
    with cache.scope():
        pipe = redis_client.pipeline(transaction=False)
        pipe.hget("absent-hash", "x")
        queued = cache.read_ahead(pipe, ["units", "terms", "units"])
        first, *replies = pipe.execute()
        cache.hold_read(queued, replies)
        assert first is None
        assert queued == ["units", "terms"]
        assert cache.get("units", _loader("not used", calls)) == [{"Abbreviation": "tim"}]
        # Not in Redis: loaded (and cached) as without the read-ahead.
        assert cache.get("terms", _loader([{"Id": "t1"}], calls)) == [{"Id": "t1"}]
    assert calls == ["load", "load"]


def test_the_next_scope_sees_a_change_and_forget_drops_what_was_read_ahead(
    redis_client: redis.Redis, connection_id: str
) -> None:
    cache = ReferenceCache(redis_client, connection_id=connection_id, ttl=60)
    calls: list[str] = []
    cache.get("costcenters", _loader([{"Id": "c1", "Number": 1}], calls))

    def settle() -> Any:
        with cache.scope():
            pipe = redis_client.pipeline(transaction=False)
            queued = cache.read_ahead(pipe, ["costcenters"])
            cache.hold_read(queued, pipe.execute())
            return cache.get("costcenters", _loader("not used", calls))

    held = settle()
    assert held == [{"Id": "c1", "Number": 1}]
    assert settle() is held  # the same bytes in Redis: decoded once
    cache.forget("costcenters")
    cache.get("costcenters", _loader([{"Id": "c1", "Number": 2}], calls))
    assert settle() == [{"Id": "c1", "Number": 2}]
    with cache.scope():
        pipe = redis_client.pipeline(transaction=False)
        queued = cache.read_ahead(pipe, ["costcenters"])
        cache.hold_read(queued, pipe.execute())
        cache.forget("costcenters")
        assert cache.get("costcenters", _loader([{"Id": "c2"}], calls)) == [{"Id": "c2"}]
    assert calls == ["load", "load", "load"]


def test_nothing_is_read_ahead_outside_a_scope(
    redis_client: redis.Redis, connection_id: str
) -> None:
    cache = ReferenceCache(redis_client, connection_id=connection_id, ttl=60)
    pipe = redis_client.pipeline(transaction=False)
    assert cache.read_ahead(pipe, ["units"]) == []
    assert len(pipe) == 0
