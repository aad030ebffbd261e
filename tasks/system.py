"""Liveness tasks: prove the worker runs tasks end to end, and let beat show it is alive."""

from __future__ import annotations

import time
from typing import Any

from tasks.base import SyncTask
from worker import app
from worker.liveness import record_heartbeat, worker_identity
from worker.state import connections, redis_client
from worker.sync import service


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


@app.task(name="sync.schedule_transfers", acks_late=True)
def schedule_transfers() -> dict[str, list[str]]:
    """Beat's tick for the registers: start each connection's due transfers (R-6.4)."""
    return service.start_due_transfers(
        lambda register, connection_id: app.send_task(
            service.task_name(register), args=[connection_id]
        ),
        time.time(),
    )
