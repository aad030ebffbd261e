"""Fairness between connections: a cap on each connection's running record tasks.

A record task mostly *waits* — for its endpoint's shared rate limit — inside a worker
process. One firm's initial transfer of 100 000 customers fans out 10 000 record tasks;
without a cap they would fill every process of every worker, each asleep in the same
eEkonomi bucket, while another firm's five-second invoice run waits for a free process.
Celery's own ``rate_limit`` is per worker and per task type, and kombu's Redis transport
has neither per-tenant queues nor fair scheduling between senders, so the cap is ours:

- a record task first takes one of its connection's *running slots*
  (``CONNECTION_MAX_RUNNING``, shared by every worker through Redis);
- when the connection has them all, the task's message is parked in the connection's
  *waiting line* in Redis and the task returns at once, freeing the process for another
  connection's work — no polling, no countdown loop;
- a task that ends gives its slot back and sends the first parked message again (to the
  back of its queue, behind the other connections' tasks that came meanwhile).

A slot held by a killed task expires after the broker's visibility timeout; messages
left waiting then (nothing running to send them on) are sent by beat's stalled-run check
(:func:`resend_waiting`). Why not priorities: kombu's Redis priorities order messages
within one queue only, and a bulk run's tasks already running would still hold every
process; the cap bounds what one connection holds, whatever the queues.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis

from worker.keys import key
from worker.lua import lua_script

_TAKE = lua_script(__file__, "slot_take")
_RELEASE = lua_script(__file__, "slot_release")

#: Sends a parked message again: ``send(message)`` with the dict given to :func:`slot`.
Send = Callable[[dict[str, Any]], None]


def running_key(connection_id: str) -> str:
    return key(connection_id, "running")


def waiting_key(connection_id: str) -> str:
    return key(connection_id, "waiting")


@contextmanager
def slot(
    client: redis.Redis,
    connection_id: str,
    *,
    cap: int,
    lifetime: float,
    message: dict[str, Any],
    send: Send,
) -> Iterator[bool]:
    """Within the block the task holds one of the connection's running slots (``True``)
    — or it holds none (``False``): ``message`` was parked, the task should return.
    ``cap`` 0 turns the cap off. On leaving, the slot is given back and the first parked
    message sent again."""
    if cap <= 0:
        yield True
        return
    token = uuid.uuid4().hex
    keys = [running_key(connection_id), waiting_key(connection_id)]
    taken = int(_TAKE(client, keys, [token, cap, int(lifetime), json.dumps(message)]))
    if not taken:
        yield False
        return
    try:
        yield True
    finally:
        waiting = _RELEASE(client, keys, [token])
        if waiting:
            send(json.loads(waiting))


def resend_waiting(client: redis.Redis, connection_id: str, send: Send) -> int:
    """Send again the parked messages of a connection that runs nothing (its running
    slots all expired: the tasks that would have sent them were killed); how many."""
    client.zremrangebyscore(running_key(connection_id), "-inf", _now_micros(client))
    if client.zcard(running_key(connection_id)):
        return 0
    sent = 0
    while (waiting := client.lpop(waiting_key(connection_id))) is not None:
        send(json.loads(waiting))  # type: ignore[arg-type]
        sent += 1
    return sent


def _now_micros(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1_000_000 + int(micros)
