"""Shared setup of the eEkonomi client and OAuth tests (issue 4): the sandbox over real
HTTP with its back office, settings pointing at it, and a connection authorized through
the product's own consent flow.

Why a module of helpers rather than fixtures in ``tests/clients/conftest.py``: that file
belongs to the Severa tests, and the helpers are also needed inside spawned processes
(two workers refreshing one connection, two workers sharing one rate limit), which
cannot receive fixtures — they rebuild everything from the plain values here.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
import requests

from config import Settings, load_settings
from sandbox.core import RateWindow, SandboxServer
from sandbox.eekonomi import RATE_LIMIT, EEkonomiSandbox, demo_data
from schemas.sides import Side
from worker.clients.factory import Clients, build_clients, new_session
from worker.clients.oauth import Company, begin_authorization, complete_authorization, demo_consent
from worker.clients.tokens import TokenStore
from worker.crypto import secret_box


@dataclass
class Sandbox:
    """An eEkonomi sandbox served on 127.0.0.1 (a free port) plus its back office."""

    app: EEkonomiSandbox
    server: SandboxServer
    office: requests.Session = field(default_factory=requests.Session)

    @classmethod
    def start(cls, **switches: Any) -> Sandbox:
        app = EEkonomiSandbox(demo=True, **switches)
        return cls(app, SandboxServer(app, port=0).start())

    def stop(self) -> None:
        """Stop serving without waiting: ``shutdown`` polls every half second, which
        would add that to every test; the daemon thread finishes it in the background."""
        self.office.close()
        threading.Thread(target=self.server.stop, daemon=True).start()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def call(self, method: str, path: str, payload: Any = None, **params: str) -> Any:
        """One back-office call (``/_sandbox/...``); raises on an unexpected status."""
        response = self.office.request(
            method, f"{self.url}/_sandbox/{path}", json=payload, params=params or None, timeout=30
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def seed(self, payload: dict[str, Any], company: str | None = None) -> Any:
        return self.call("POST", "seed", payload, **({"company": company} if company else {}))

    def expire_tokens(self) -> None:
        self.call("POST", "expire-tokens")

    def revoke_refresh_tokens(self) -> None:
        self.call("POST", "revoke-refresh-tokens")

    def fault(self, **fault: Any) -> None:
        self.call("POST", "faults", fault)

    def clear_log(self) -> None:
        self.call("DELETE", "requests")

    def log(self) -> list[dict[str, Any]]:
        """The request log, oldest first (every entry, not only the last 1000)."""
        body = self.call("GET", "requests", limit="100000")
        entries: list[dict[str, Any]] = body["requests"]
        return entries

    def counts(self) -> Counter[str]:
        """``"METHOD /path"`` → requests, e.g. ``counts()["POST /connect/token"]``."""
        return Counter(self.call("GET", "requests", limit="1")["counts"])

    def compress_rate_limit(self, limit: int, window: float) -> None:
        """Make the per-endpoint quota ``limit`` requests per ``window`` seconds instead of
        600 per minute: the same sliding window, on a time scale a test can wait for."""
        self.app.rate_window = RateWindow(RATE_LIMIT, window)
        self.app.rate_scale = limit / RATE_LIMIT

    def edit(self, collection: str, record_id: str, fields: dict[str, Any]) -> Any:
        """A person edits a record in eEkonomi's UI (its change stamp moves)."""
        return self.call("POST", f"ui/{collection}/{record_id}/edit", fields)


def sandbox_settings(port: int, redis_url: str, data_dir: Path, **environ: str) -> Settings:
    """Demo-mode settings (no client ids: the sandbox's demo client) for the sandbox on
    ``port``; a plain port, so spawned processes can build the same settings.

    The demo mode derives the eEkonomi URLs from ``SANDBOX_EEKONOMI_PORT``; the API URL
    variables may only be given together with real client credentials.
    """
    values = {
        "REDIS_URL": redis_url,
        "DATA_DIR": str(data_dir),
        "SANDBOX_EEKONOMI_PORT": str(port),
        "HTTP_TIMEOUT": "10",
        # Scaled up where the limiter is not under test, so it never paces a test.
        "EEKONOMI_REQUESTS_PER_MINUTE": "600000",
        **environ,
    }
    return load_settings(environ=values, env_file=data_dir / "absent.env")


def token_store(settings: Settings, client: redis.Redis, connection_id: str) -> TokenStore:
    return TokenStore(client, secret_box(settings), connection_id=connection_id, api=Side.EEKONOMI)


def authorize(
    settings: Settings,
    client: redis.Redis,
    connection_id: str,
    company: str = "Demokonsult AB",
) -> Company:
    """What ``connect`` does in demo mode: begin → answer the sandbox's forms → complete."""
    session = new_session()
    url, state = begin_authorization(client, settings, connection_id)
    callback = demo_consent(settings, url, session, company=company)
    assert callback.code, callback.error
    assert callback.state == state
    return complete_authorization(
        client, settings, connection_id,
        code=callback.code, state=callback.state,
        store=token_store(settings, client, connection_id), session=session,
    )  # fmt: skip


def clients_for(settings: Settings, client: redis.Redis, connection_id: str) -> Clients:
    """The connection's clients as a worker builds them; retries back off in milliseconds."""
    clients = build_clients(settings, connection_id, redis_client=client)
    clients.eekonomi.transport.backoff = 0.01
    return clients


def many_customers(count: int, first_number: int = 100_000) -> Iterator[dict[str, Any]]:
    """Sparse customer seeds with unique numbers. The ``Id`` is given because the
    sandbox's seed defaults a missing one to the zero GUID (all would merge into one)."""
    terms = demo_data()["termsOfPayments"][0]["Id"]
    for n in range(first_number, first_number + count):
        yield {
            "Id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"customer-{n}")),
            "TermsOfPaymentId": terms,
            "CustomerNumber": str(n),
            "Name": f"Kund {n} AB",
            "InvoicePostalCode": "411 01",
            "InvoiceCity": "Göteborg",
        }


def secrets_issued(app: EEkonomiSandbox) -> set[str]:
    """Every code, access token and refresh token the sandbox handed out, plus the client
    secret: none of them may appear in logs or exception text."""
    with app.lock:
        found = {*app.codes, *app.access_tokens, *app.refresh_tokens}
    return {s for s in found if s} | {"demo-eekonomi-secret"}


def wait_until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.02)


def as_json(value: Any) -> str:
    return json.dumps(value, default=str)
