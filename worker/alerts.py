"""Alerts: a person is told once when a connection needs them — not once per tick.

Beat's one-minute tick asks, per connection (``sync.check_alerts``), what changed since
the last look (:func:`due_alerts`, from the same health reading as the metrics and
``doctor``):

* the connection **needs re-authorization** (sent when it starts; again only after it
  was fixed and broke anew);
* a transfer **failed as a whole** (sent when its last run fails after one that went
  through, or after the previous alert: once per failing spell);
* **new error-list entries**: one digest of the entries first seen since the last
  digest, at most once per the connection's register interval.

What was alerted is stored first, then the alert is handed to ``sync.send_alert``,
which POSTs it to the connection's webhook (``ALERT_WEBHOOKS``) and/or e-mails it
(``ALERT_EMAILS`` over ``SMTP_URL``), and retries a failed delivery with back-off.
Transfers never wait for any of it: the tick and the delivery are tasks of their own.
"""

from __future__ import annotations

import json
import smtplib
import ssl
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
import requests

from config import Settings
from worker.errors import TransientError
from worker.health import NEEDS_AUTHORIZATION, connection_health
from worker.keys import key
from worker.sync.errorlist import ErrorList
from worker.sync.runs import FAILED, FINISHED

NEEDS_REAUTHORIZATION = "needs_reauthorization"
TRANSFER_FAILED = "transfer_failed"
NEW_ERRORS = "new_errors"
#: Entries named in one digest; the rest are counted.
DIGEST_LINES = 10
CLI = "severa-sync"


@dataclass(frozen=True)
class Alert:
    connection: str
    kind: str
    text: str
    details: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The JSON body POSTed (``text`` reads well in Slack and Teams webhooks)."""
        return asdict(self)


def _targets(value: str | None, connection_id: str) -> str | None:
    """The connection's own target in ``CONNECTION=…`` pairs, else the ``*`` one."""
    targets: dict[str, str] = {}
    for pair in (value or "").split(","):
        name, sep, target = pair.partition("=")
        if sep:
            targets[name.strip()] = target.strip()
    return targets.get(connection_id) or targets.get("*")


def webhook_for(settings: Settings, connection_id: str) -> str | None:
    """The connection's webhook URL from ``ALERT_WEBHOOKS`` (its own, else ``*``)."""
    return _targets(settings.alert_webhooks, connection_id)


def emails_for(settings: Settings, connection_id: str) -> list[str]:
    """The connection's addresses from ``ALERT_EMAILS`` (its own, else ``*``); none
    without ``SMTP_URL``, since there is no server to hand them to."""
    if not settings.smtp_url:
        return []
    found = _targets(settings.alert_emails, connection_id) or ""
    return [address.strip() for address in found.split(";") if address.strip()]


def due_alerts(client: redis.Redis, connection_id: str, now: float) -> list[Alert]:
    """The alerts this look owes a person; what they cover is stored as alerted."""
    state_key = key(connection_id, "alerts")
    alerted = {str(k): str(v) for k, v in client.hgetall(state_key).items()}
    health = connection_health(client, connection_id, now)
    found: list[Alert] = []
    changes: dict[Any, Any] = {}
    cid = connection_id
    reauth = health.state == NEEDS_AUTHORIZATION
    if reauth and alerted.get("state") != NEEDS_AUTHORIZATION:
        fix = f"`{CLI} connect --connection {cid}`"
        text = (f"{cid}: needs re-authorization ({health.reason}); transfers are stopped "
                f"until you run {fix}")  # fmt: skip
        found.append(Alert(cid, NEEDS_REAUTHORIZATION, text))
    changes["state"] = health.state
    for transfer in health.transfers:
        last, name = transfer.last, f"failing:{transfer.transfer}"
        if last is None or last.status not in (FAILED, FINISHED):
            continue
        if last.status == FINISHED:
            changes[name] = ""
        elif not alerted.get(name):
            changes[name] = last.run_id
            found.append(Alert(cid, TRANSFER_FAILED,
                               f"{cid}: transfer of {transfer.transfer} failed: {last.message}",
                               {"transfer": transfer.transfer, "run_id": last.run_id}))  # fmt: skip
    digest = _digest(client, health.transfers, alerted, now, cid)
    if digest is not None:
        found.append(digest)
        changes["digest_at"] = f"{now:.3f}"
    client.hset(state_key, mapping=changes)
    return found


def _digest(
    client: redis.Redis, transfers: Any, alerted: dict[str, str], now: float, cid: str
) -> Alert | None:
    """New error-list entries since the last digest, if an interval has passed."""
    last = float(alerted.get("digest_at") or 0)
    interval = min((t.interval for t in transfers if t.interval), default=900.0)
    if now - last < interval:
        return None
    errors = ErrorList(client, cid)
    # Only entries seen since the last digest can be new: read those alone.
    recent = [str(i) for i in client.zrangebyscore(errors.order_key, f"({last}", "+inf")]
    found = (errors.get(*i.split("|", 2)) for i in recent)
    new = [e for e in found if e is not None and e.first_seen > last]
    if not new:
        return None
    # The reason names the record already (number, name): the register says where.
    lines = [f"{e.register}: {e.reason}" for e in new[:DIGEST_LINES]]
    more = f"\n… and {len(new) - DIGEST_LINES} more" if len(new) > DIGEST_LINES else ""
    head = (f"{cid}: {len(new)} new record(s) in the error list "
            f"(`{CLI} errors --connection {cid}` says what to fix):")  # fmt: skip
    text = "\n".join([head, *lines]) + more
    return Alert(cid, NEW_ERRORS, text, {"count": len(new)})


def deliver(url: str, alert: dict[str, Any], timeout: float = 10.0) -> None:
    """POST the alert; a failure is transient (the task retries it with back-off)."""
    try:
        answer = requests.post(url, data=json.dumps(alert), timeout=timeout,
                               headers={"Content-Type": "application/json"})  # fmt: skip
    except requests.RequestException as exc:
        raise TransientError(f"alert webhook unreachable: {type(exc).__name__}") from None
    if answer.status_code >= 300:
        raise TransientError(f"alert webhook answered HTTP {answer.status_code}")


def send_email(
    settings: Settings, to: list[str], alert: dict[str, Any], timeout: float = 10.0
) -> None:
    """E-mail the alert over ``SMTP_URL``: ``smtps://`` is TLS from the start; ``smtp://``
    upgrades with STARTTLS when the server offers it. A failure is transient (the task
    retries it); its message names no URL, as the URL carries the password."""
    url = urlsplit(settings.smtp_url or "")
    message = EmailMessage()
    message["Subject"] = f"[severa-sync] {alert['connection']}: {alert['kind']}"
    message["From"] = settings.alert_from
    message["To"] = ", ".join(to)
    message.set_content(alert["text"])
    host, tls = url.hostname or "localhost", ssl.create_default_context()
    try:
        if url.scheme == "smtps":
            server: smtplib.SMTP = smtplib.SMTP_SSL(
                host, url.port or 465, timeout=timeout, context=tls
            )
        else:
            server = smtplib.SMTP(host, url.port or 25, timeout=timeout)
        with server:
            server.ehlo()
            if url.scheme == "smtp" and server.has_extn("starttls"):
                server.starttls(context=tls)
                server.ehlo()
            if url.username:
                server.login(unquote(url.username), unquote(url.password or ""))
            server.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise TransientError(f"alert e-mail not delivered: {type(exc).__name__}") from None
