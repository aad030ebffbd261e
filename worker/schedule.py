"""Beat's schedule: one named entry per periodic job, fanned out per connection by the task.

Beat itself knows nothing of connections: each entry runs a small dispatcher task that
enqueues one task per connection id, so connections can be added without restarting
beat. ``expires`` drops a tick that waited longer than its interval (a stopped worker
must not face a pile of stale ticks when it comes back).
"""

from __future__ import annotations

from typing import Any

from config import Settings


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
            # visibility timeout (engine.stalled_records); a one-minute look is cheap.
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
