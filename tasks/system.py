"""Liveness tasks: prove the worker runs tasks end to end, and let beat show it is alive."""

from __future__ import annotations

from typing import Any

from tasks.base import SyncTask
from worker import app
from worker.liveness import record_heartbeat, worker_identity
from worker.state import connections, redis_client


@app.task(base=SyncTask, name="sync.ping")
def ping(connection_id: str) -> dict[str, Any]:
    """Answer with the worker's identity; used by ``doctor`` and the stack tests."""
    return {"connection_id": connection_id, "pong": True, **worker_identity()}


@app.task(base=SyncTask, name="sync.heartbeat")
def heartbeat(connection_id: str) -> dict[str, Any]:
    """Record that beat and a worker are alive for this connection (``doctor`` reads it)."""
    return record_heartbeat(redis_client(), connection_id)


@app.task(name="sync.heartbeat_all", acks_late=True)
def heartbeat_all() -> dict[str, int]:
    """Beat's tick: one ``sync.heartbeat`` per known connection."""
    ids = connections(redis_client())
    for connection_id in ids:
        heartbeat.delay(connection_id)
    return {"connections": len(ids)}
