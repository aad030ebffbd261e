"""The embedded Redis is a real server with append-only persistence."""

from __future__ import annotations

from pathlib import Path

import redis

from worker.embedded_redis import EmbeddedRedis


def test_given_embedded_redis_when_restarted_then_keys_survive(tmp_path: Path) -> None:
    first = EmbeddedRedis(tmp_path)
    with first:
        client = redis.Redis.from_url(first.url)
        client.set("sync:test:persisted", "yes")
        info = client.info()
        assert info["aof_enabled"] == 1
        assert info["maxmemory_policy"] == "noeviction"
        client.close()
    assert (tmp_path / "redis" / "appendonly.aof").stat().st_size > 0

    with EmbeddedRedis(tmp_path) as second:
        client = redis.Redis.from_url(second.url)
        assert client.get("sync:test:persisted") == b"yes"
        client.close()


def test_embedded_redis_listens_on_loopback_only(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path) as server:
        client = redis.Redis.from_url(server.url)
        assert client.config_get("bind")["bind"] == "127.0.0.1"
        client.close()
