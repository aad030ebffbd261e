"""Liveness tasks: prove the worker runs tasks end to end, let beat show it is alive, and
let beat resume runs whose records were lost in transit."""

from __future__ import annotations

import time
from typing import Any

from config import get_settings
from tasks.base import SyncTask, send_parked, send_records
from worker import app, fairness
from worker.connections import registry
from worker.liveness import record_heartbeat, worker_identity
from worker.queues import run_queue_of
from worker.registry import spec_of
from worker.schedule import claim_tick, tick_interval
from worker.state import redis_client
from worker.sync import service


@app.task(base=SyncTask, name="sync.ping")
def ping(connection_id: str) -> dict[str, Any]:
    """Answer with the worker's identity; used by ``doctor`` and the stack tests."""
    return {"connection_id": connection_id, "pong": True, **worker_identity()}


@app.task(base=SyncTask, name="sync.heartbeat")
def heartbeat(connection_id: str) -> dict[str, Any]:
    """Record that beat and a worker are alive for this connection (``doctor`` reads it)."""
    return record_heartbeat(redis_client(), connection_id)


def _per_connection(task: Any) -> dict[str, int]:
    """Send ``task`` once per known connection: how beat's ticks reach every connection
    without beat knowing them (worker/schedule.py)."""
    ids = registry(redis_client()).ids()
    for connection_id in ids:
        task.delay(connection_id)
    return {"connections": len(ids)}


def _claimed(name: str) -> bool:
    """Whether this tick of schedule entry ``name`` runs: with several beats, only the
    first of each interval does (worker.schedule.claim_tick)."""
    return claim_tick(redis_client(), name, tick_interval(get_settings(), name))


DROPPED = {"dropped": "another beat's tick of this interval ran"}


@app.task(name="sync.heartbeat_all", acks_late=True)
def heartbeat_all() -> dict[str, Any]:
    """Beat's tick: one ``sync.heartbeat`` per known connection."""
    if not _claimed("heartbeat"):
        return DROPPED
    return _per_connection(heartbeat)


@app.task(name="sync.schedule_transfers", acks_late=True)
def schedule_transfers() -> dict[str, Any]:
    """Beat's tick for the registers: start each connection's due transfers (R-6.4)."""
    if not _claimed("registers"):
        return DROPPED
    return service.start_due_transfers(
        lambda register, connection_id: app.send_task(spec_of(register).task, args=[connection_id]),
        time.time(),
    )


@app.task(base=SyncTask, name="sync.resume_stalled_runs")
def resume_stalled_runs(connection_id: str) -> dict[str, int]:
    """Send again the records of this connection's runs that settled nothing for longer
    than a lost message takes to come back (stalls.stalled_records): a worker killed
    while it took a message off the queue loses it, and its run would otherwise wait
    for its lock to expire — or its start, when it never finished its fan-out; and the
    connection's parked record tasks when it runs nothing (worker.fairness). Returns
    the records resent per register."""
    resent: dict[str, int] = {}
    waiting = fairness.resend_waiting(redis_client(), connection_id, send_parked)
    if waiting:
        resent["waiting"] = waiting  # parked tasks whose senders were killed
    for stalled in service.stalled_runs(connection_id):
        spec = spec_of(stalled.register)
        if stalled.start:  # it never fanned out in full: its start goes on (same run id)
            app.send_task(spec.task, args=[connection_id], task_id=stalled.run_id,
                          queue=run_queue_of(stalled.queue, stalled.register))  # fmt: skip
            resent[f"{stalled.register} start"] = 1
            continue
        send_records(app.tasks[spec.record_task], connection_id, stalled.run_id,
                     stalled.keys, stalled.queue)  # fmt: skip
        resent[stalled.register] = len(stalled.keys)
    return resent


@app.task(name="sync.resume_stalled_runs_all", acks_late=True)
def resume_stalled_runs_all() -> dict[str, Any]:
    """Beat's tick: one ``sync.resume_stalled_runs`` per known connection."""
    if not _claimed("stalled runs"):
        return DROPPED
    return _per_connection(resume_stalled_runs)
