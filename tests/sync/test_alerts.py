"""Alerts (issue 17, item 7) against a local HTTP receiver: once per change, not once
per tick; a failed delivery is retried; a transfer never waits for any of it.

Real parts: a Celery worker process runs the transfers, the ticks (``sync.check_alerts``
as beat sends it every minute) and the deliveries; the tokens are revoked in the
eEkonomi sandbox as a password change would.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.sync.conftest import World, run_in_worker, start_worker
from worker.alerts import NEEDS_REAUTHORIZATION, NEW_ERRORS, TRANSFER_FAILED

pytestmark = pytest.mark.integration


class Receiver:
    """A webhook: records what it is sent; answers 500 to the first ``fail_first``."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[dict[str, Any]] = []
        self.attempts = 0
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server protocol
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.attempts += 1
                if receiver.attempts <= receiver.fail_first:
                    self.send_response(500)
                else:
                    receiver.received.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def kinds(self) -> list[str]:
        return sorted(alert["kind"] for alert in self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(fail_first=1)
    yield server
    server.server.shutdown()


def _tick(world: World, celery_app: Any, queue: str) -> None:
    """What beat sends every minute, and time for the deliveries (and a retry)."""
    celery_app.send_task("sync.check_alerts", args=[world.connection_id], queue=queue).get(
        timeout=30
    )


def _settle(receiver: Receiver, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while len(receiver.received) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # anything more would have arrived by now


def test_revoked_tokens_give_one_alert_per_change_however_many_ticks(
    world: World, celery_app: Any, receiver: Receiver
) -> None:
    world.env["ALERT_WEBHOOKS"] = f"{world.connection_id}={receiver.url},*=http://127.0.0.1:9/x"
    worker = start_worker(world, celery_app)
    report = run_in_worker(world, celery_app, "customers", worker.queue)
    assert report["failed"] >= 1  # the demo data's bad customers: the error list fills

    for _ in range(3):
        _tick(world, celery_app, worker.queue)
    _settle(receiver, 1)
    assert receiver.kinds() == [NEW_ERRORS]  # one digest, its first delivery retried
    assert receiver.attempts == 2
    digest = receiver.received[0]
    assert digest["connection"] == world.connection_id
    assert "1050" in digest["text"]
    assert "errors --connection" in digest["text"]

    with world.eekonomi.lock:
        world.eekonomi.identity.revoke_where(lambda grant: True)
    failed = run_in_worker(world, celery_app, "products", worker.queue)
    assert failed["status"] == "failed"
    for _ in range(3):
        _tick(world, celery_app, worker.queue)
    _settle(receiver, 3)
    assert receiver.kinds() == sorted([NEW_ERRORS, NEEDS_REAUTHORIZATION, TRANSFER_FAILED])
    reauth = next(a for a in receiver.received if a["kind"] == NEEDS_REAUTHORIZATION)
    assert f"connect --connection {world.connection_id}" in reauth["text"]
    # A webhook URL is a secret: never in a task's arguments (Flower shows them).
    assert receiver.url not in json.dumps(receiver.received)
