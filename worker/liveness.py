"""Heartbeats: when did beat and a worker last run a task for a connection."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

import redis

from worker.keys import key


def worker_identity() -> dict[str, Any]:
    return {"hostname": socket.gethostname(), "pid": os.getpid()}


def record_heartbeat(client: redis.Redis, connection_id: str) -> dict[str, Any]:
    now = time.time()
    client.set(key(connection_id, "heartbeat"), f"{now:.3f}")
    return {"connection_id": connection_id, "at": round(now, 3), **worker_identity()}


def last_heartbeat(client: redis.Redis, connection_id: str) -> float | None:
    value = client.get(key(connection_id, "heartbeat"))
    return float(value) if value is not None else None
