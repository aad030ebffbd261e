"""Whether a connection can run transfers, and if not, the one message that says why.

When eEkonomi refuses a refresh token (``invalid_grant``) no retry can help: the
connection is set to *needs re-authorization*, its transfers stop with one clear
message, and nothing retries until a person runs ``connect`` again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis

from worker.keys import key

OK = "ok"
NEEDS_REAUTHORIZATION = "needs_reauthorization"


@dataclass(frozen=True)
class ConnectionStatus:
    state: str
    reason: str = ""
    since: float = 0.0

    @property
    def ok(self) -> bool:
        return self.state == OK


def get_status(client: redis.Redis, connection_id: str) -> ConnectionStatus:
    raw = client.hgetall(key(connection_id, "status"))
    if not raw:
        return ConnectionStatus(OK)
    values = {_text(k): _text(v) for k, v in raw.items()}
    return ConnectionStatus(
        values.get("state", OK), values.get("reason", ""), float(values.get("since", 0))
    )


def mark_needs_reauthorization(client: redis.Redis, connection_id: str, reason: str) -> None:
    client.hset(
        key(connection_id, "status"),
        mapping={"state": NEEDS_REAUTHORIZATION, "reason": reason, "since": f"{time.time():.3f}"},
    )


def mark_ok(client: redis.Redis, connection_id: str) -> None:
    client.delete(key(connection_id, "status"))


def _text(value: bytes | str) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value
