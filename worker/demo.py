"""What ``run`` does by itself in demo mode, once the processes are up.

A first-time user runs one command with no configuration and should see a real
connection happen: the eEkonomi consent is completed against the sandbox through the
very code path ``connect`` uses (the program answers the sandbox's login and company
forms), so the demo exercises the real OAuth flow, token encryption and storage.

The bootstrap waits for Redis and both sandboxes, connects the ``default`` connection
when it has no eEkonomi authorization yet (or needs re-authorization), and reports what
it did. It never stops the service: a failure is printed with what to do.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import redis

from config import Settings
from worker.clients.http import EEKONOMI
from worker.clients.tokens import TokenStore
from worker.connect import connect_eekonomi
from worker.connection_status import get_status
from worker.crypto import secret_box
from worker.embedded_redis import wait_until_ready

DEMO_CONNECTION = "default"


def wait_for_port(url: str, timeout: float) -> None:
    """Block until something accepts TCP connections at ``url``'s host and port."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing answers at {host}:{port} in {timeout:.0f}s") from None
            time.sleep(0.2)


def bootstrap_demo(
    settings: Settings,
    redis_url: str,
    *,
    echo: Callable[[str], None] = print,
    timeout: float = 60.0,
    connection_id: str = DEMO_CONNECTION,
) -> bool:
    """Connect the demo connection to the eEkonomi sandbox if needed; True when ready."""
    try:
        wait_until_ready(redis_url, timeout)
        wait_for_port(settings.severa_base_url, timeout)
        wait_for_port(settings.eekonomi_identity_url, timeout)
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        store = TokenStore(client, secret_box(settings), connection_id=connection_id, api=EEKONOMI)
        if store.load() is not None and get_status(client, connection_id).ok:
            echo(f"demo: connection {connection_id!r} is already authorized in eEkonomi")
            return True
        company = connect_eekonomi(settings, connection_id, echo=echo)
    except Exception as exc:  # noqa: BLE001 - the demo must say what failed, not crash the stack
        echo(
            f"demo: could not connect {connection_id!r} to the eEkonomi sandbox: {exc} "
            "(run `python -m worker connect` to try again)"
        )
        return False
    echo(f"demo: connected {connection_id!r} to eEkonomi company {company.name!r}")
    return True
