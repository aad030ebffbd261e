"""Access to the Redis that holds all sync state (one client per process)."""

from __future__ import annotations

import functools

import redis

from config import get_settings
from worker.embedded_redis_url import resolve_redis_url
from worker.keys import CONNECTIONS_KEY, check_connection_id


@functools.cache
def redis_client() -> redis.Redis:
    """The process-wide Redis client (decoded strings, short connect timeout)."""
    url = resolve_redis_url(get_settings())
    return redis.Redis.from_url(
        url, decode_responses=True, socket_connect_timeout=5, health_check_interval=30
    )


def connections(client: redis.Redis) -> list[str]:
    """Connection ids served here: those in settings plus any registered in Redis
    (paused ones too; :meth:`worker.connections.ConnectionRegistry.active_ids` leaves
    them out)."""
    configured = list(get_settings().connections)
    registered = sorted(str(c) for c in client.smembers(CONNECTIONS_KEY))
    return list(dict.fromkeys([*configured, *registered]))


def register_connection(client: redis.Redis, connection_id: str) -> None:
    client.sadd(CONNECTIONS_KEY, check_connection_id(connection_id))
