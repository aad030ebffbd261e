"""Alerts by e-mail (issue 17) against a real SMTP receiver on 127.0.0.1: one e-mail
per change, not one per tick; an unreachable server makes the delivery retry.

Real parts: a Celery worker process runs the transfers, the ticks (``sync.check_alerts``
as beat sends it) and the deliveries over smtplib; the tokens are revoked in the
eEkonomi sandbox as a password change would.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.smtp_receiver import SmtpReceiver
from tests.sync.conftest import World, run_in_worker, start_worker
from worker.alerts import NEEDS_REAUTHORIZATION

pytestmark = pytest.mark.integration


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    server = SmtpReceiver()
    yield server
    server.close()


def _wait_for(smtp: SmtpReceiver, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while len(smtp.messages) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # anything more would have arrived by now


def test_needing_reauthorization_is_emailed_once_however_many_ticks(
    world: World, celery_app: Any, smtp: SmtpReceiver
) -> None:
    cid = world.connection_id
    world.env["SMTP_URL"] = f"smtp://127.0.0.1:{smtp.port}"
    world.env["ALERT_EMAILS"] = f"{cid}=ops@example.com;it@example.com,*=other@example.com"
    world.env["ALERT_FROM"] = "sync@example.com"
    worker = start_worker(world, celery_app)
    with world.eekonomi.lock:
        world.eekonomi.identity.revoke_where(lambda grant: True)
    failed = run_in_worker(world, celery_app, "products", worker.queue)
    assert failed["status"] == "failed"

    for _ in range(3):
        celery_app.send_task("sync.check_alerts", args=[cid], queue=worker.queue).get(timeout=30)
    _wait_for(smtp, 1)
    subjects = [str(m["Subject"]) for m in smtp.messages]
    reauth = f"[severa-sync] {cid}: {NEEDS_REAUTHORIZATION}"
    assert subjects.count(reauth) == 1, subjects
    assert len(subjects) == len(set(subjects))  # every alert once, not once per tick
    message = smtp.messages[subjects.index(reauth)]
    assert f"connect --connection {cid}" in message.get_content()
    assert str(message["From"]) == "sync@example.com"
    assert smtp.envelopes[0][1] == ["ops@example.com", "it@example.com"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_smtp_server_makes_the_delivery_retry(world: World, celery_app: Any) -> None:
    port = _free_port()  # nothing listens here until the receiver starts below
    world.env["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    world.env["ALERT_EMAILS"] = "*=ops@example.com"
    world.env["TASK_RETRY_BACKOFF_MAX"] = "2"
    worker = start_worker(world, celery_app)
    alert = {"connection": world.connection_id, "kind": "new_errors", "text": "x", "details": {}}
    result = celery_app.send_task(
        "sync.send_alert", args=[world.connection_id, alert], queue=worker.queue
    )
    time.sleep(3.0)  # the first attempts find no server and are retried
    assert not result.ready()
    smtp = SmtpReceiver(port)
    try:
        assert result.get(timeout=60) == {"sent": True, "kind": "new_errors"}
        assert len(smtp.messages) == 1
    finally:
        smtp.close()


def test_with_both_targets_a_failing_email_retries_alone_and_the_webhook_gets_one_post(
    world: World, celery_app: Any
) -> None:
    from tests.sync.test_alerts import Receiver

    port = _free_port()  # nothing listens here until the receiver starts below
    hook = Receiver()
    world.env["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    world.env["ALERT_EMAILS"] = "*=ops@example.com"
    world.env["ALERT_WEBHOOKS"] = f"*={hook.url}"
    world.env["TASK_RETRY_BACKOFF_MAX"] = "2"
    world.env["TASK_MAX_RETRIES"] = "40"  # the e-mail is still retrying when the server starts
    worker = start_worker(world, celery_app)
    alert = {"connection": world.connection_id, "kind": "new_errors", "text": "x", "details": {}}
    celery_app.send_task("sync.send_alert", args=[world.connection_id, alert], queue=worker.queue)
    time.sleep(6.0)  # the e-mail's attempts find no server and are retried
    smtp = SmtpReceiver(port)
    try:
        _wait_for(smtp, 1, timeout=60)
        assert len(smtp.messages) == 1
        assert hook.attempts == 1  # posted once, not again with each e-mail retry
    finally:
        smtp.close()
        hook.server.shutdown()
