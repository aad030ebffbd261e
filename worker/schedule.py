"""Beat's schedule: one named entry per periodic job, fanned out per connection by the task.

Several beats (one per host, so that none is a single point of failure) all send every
tick; :func:`claim_tick` lets the first of each interval through and drops the others —
a Redis ``SET NX PX`` per tick name lasting 90 % of the interval. When a beat dies the
others' ticks simply stop being dropped: there is no leader to elect and nothing to
hand over (README → Hosting → Beat).

Beat itself knows nothing of connections: each entry runs a small dispatcher task that
enqueues one task per connection id, so connections can be added without restarting
beat. ``expires`` drops a tick that waited longer than its interval (a stopped worker
must not face a pile of stale ticks when it comes back).
"""

from __future__ import annotations

import os
from typing import Any

import redis

from config import Settings
from worker.keys import PREFIX

#: Per tick name, how many ticks ran and how many another beat had run already.
TICKS_KEY = f"{PREFIX}:beat:ticks"


def build_beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    return {
        "registers": {
            # A one-minute tick; each connection's own interval decides what is due.
            "task": "sync.schedule_transfers",
            "schedule": 60.0,
            "options": {"expires": 60.0},
        },
        "stalled runs": {
            # Resends the records of a run that has been silent past the broker's
            # visibility timeout (stalls.stalled_records); a one-minute look is cheap.
            "task": "sync.resume_stalled_runs_all",
            "schedule": 60.0,
            "options": {"expires": 60.0},
        },
        "alerts": {
            # Tells a person once per change (worker/alerts.py); a look is a few reads.
            "task": "sync.check_alerts_all",
            "schedule": 60.0,
            "options": {"expires": 60.0},
        },
        "heartbeat": {
            "task": "sync.heartbeat_all",
            "schedule": float(settings.heartbeat_interval),
            "options": {"expires": float(settings.heartbeat_interval)},
        },
    }


def claim_tick(client: redis.Redis, name: str, interval: float) -> bool:
    """True for the first tick of ``name`` in the last 90 % of ``interval`` (run it),
    False for another beat's tick of the same interval (drop it). Counted in
    :data:`TICKS_KEY` (``<name>`` ran, ``<name>:dropped``) for monitoring."""
    won = bool(
        client.set(
            f"{PREFIX}:beat:tick:{name}", str(os.getpid()), nx=True, px=max(1, int(interval * 900))
        )  # fmt: skip
    )
    client.hincrby(TICKS_KEY, name if won else f"{name}:dropped", 1)
    return won


def tick_interval(settings: Settings, name: str) -> float:
    """The interval of schedule entry ``name``."""
    return float(build_beat_schedule(settings)[name]["schedule"])
