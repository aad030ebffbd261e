"""Alert tasks: beat's tick looks for what a person must hear of; delivery retries alone.

Thin, as every task (worker/alerts.py holds the logic). The webhook URL and the
e-mail addresses are read from the settings in the task that sends, never carried in
task arguments (Flower shows them, and a webhook URL is a secret).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from config import get_settings
from tasks.base import SyncTask
from tasks.system import _per_connection
from worker import app
from worker.alerts import deliver, due_alerts, emails_for, send_email, webhook_for
from worker.state import redis_client

log = logging.getLogger(__name__)


@app.task(base=SyncTask, name="sync.check_alerts", bind=True)
def check_alerts(self: SyncTask, connection_id: str) -> dict[str, Any]:
    """What changed for this connection since the last look; each new alert is sent by
    its own ``sync.send_alert`` task (on the tick's queue), so a slow webhook delays
    nothing."""
    queue = (self.request.delivery_info or {}).get("routing_key")
    alerts = due_alerts(redis_client(), connection_id, time.time())
    for alert in alerts:
        send_alert.apply_async(args=[connection_id, alert.payload()], queue=queue)
    return {"alerts": [alert.kind for alert in alerts]}


@app.task(name="sync.check_alerts_all", acks_late=True)
def check_alerts_all() -> dict[str, int]:
    """Beat's tick: one ``sync.check_alerts`` per known connection."""
    return _per_connection(check_alerts)


#: The delivery channels; with both targets set, each gets its own task.
WEBHOOK, EMAIL = "webhook", "email"


@app.task(base=SyncTask, name="sync.send_alert", bind=True)
def send_alert(
    self: SyncTask, connection_id: str, alert: dict[str, Any], channel: str | None = None
) -> dict[str, Any]:
    """POST one alert to the connection's webhook and/or e-mail it to its addresses;
    a failed delivery retries with back-off (SyncTask's policy). With both targets set,
    each channel is sent by its own task, so that a retry of one never repeats the
    other. Without any target the alert is logged instead."""
    settings = get_settings()
    url, emails = webhook_for(settings, connection_id), emails_for(settings, connection_id)
    if not url and not emails:
        log.warning("alert (no ALERT_WEBHOOKS/ALERT_EMAILS target for %s): %s",
                    connection_id, alert["text"])  # fmt: skip
        return {"sent": False, "kind": alert["kind"]}
    if channel is None and url and emails:
        queue = (self.request.delivery_info or {}).get("routing_key")
        for name in (WEBHOOK, EMAIL):
            send_alert.apply_async(args=[connection_id, alert, name], queue=queue)
        return {"sent": "per channel", "kind": alert["kind"]}
    if url and channel in (None, WEBHOOK):
        deliver(url, alert)
    if emails and channel in (None, EMAIL):
        send_email(settings, emails, alert)
    return {"sent": True, "kind": alert["kind"]}
