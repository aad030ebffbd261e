"""Client tests over real HTTP: a Severa sandbox on 127.0.0.1 and clients wired as in
production (session, encrypted token store, Redis rate limiter) against the real Redis.

The clients are built with :func:`worker.clients.factory.build_severa` from explicit
values, so no settings environment is needed. Every exchange is checked against the
OpenAPI document by the autouse contract checker of ``tests/conftest.py``.

Unless a test is about rate limits, the sandbox's limit is scaled up a hundredfold and
the client's limiter is set wide open, so tests spend no time waiting.
"""

from __future__ import annotations

import copy
import fnmatch
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
import requests
from cryptography.fernet import Fernet

from sandbox.core import Request, Response, SandboxServer
from sandbox.severa import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SeveraSandbox, demo_data
from worker.clients.auth import SEVERA_SCOPES
from worker.clients.factory import SeveraConnection, build_severa
from worker.clients.ratelimit import Rate
from worker.crypto import SecretBox
from worker.keys import key

#: A limiter that never makes a test wait.
OPEN = Rate(10_000.0, 10_000)

#: Timestamp of bulk records: long before any test runs, so ``changedSince`` sees only
#: what a test changes.
BULK_CREATED = "2024-01-02T03:04:05.000Z"


class GarblingSeveraSandbox(SeveraSandbox):
    """The Severa sandbox behind a misbehaving proxy: :meth:`garble_next` replaces the
    body (and optionally the status) of the next matching answers with something that
    is not JSON, *after* the sandbox answered and the contract checker saw the genuine
    answer — Severa keeps its contract, the path to it does not (an HTML error page of
    a load balancer, a truncated body)."""

    def __init__(self, **switches: Any) -> None:
        super().__init__(**switches)
        self._garbles: list[dict[str, Any]] = []
        self._garble_lock = threading.Lock()

    def garble_next(
        self,
        method: str,
        path: str,
        *,
        times: int = 1,
        status: int | None = None,
        body: bytes = b"<html><body><h1>502 Bad Gateway</h1></body></html>",
        content_type: str = "text/html",
    ) -> None:
        with self._garble_lock:
            self._garbles.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "times": times,
                    "status": status,
                    "body": body,
                    "content_type": content_type,
                }
            )

    def clear_garbles(self) -> None:
        with self._garble_lock:
            self._garbles.clear()

    def handle(self, request: Request) -> Response:
        response = super().handle(request)
        with self._garble_lock:
            for garble in self._garbles:
                if garble["method"] == request.method.upper() and fnmatch.fnmatchcase(
                    request.path, garble["path"]
                ):
                    garble["times"] -= 1
                    if garble["times"] <= 0:
                        self._garbles.remove(garble)
                    return Response(
                        garble["status"] or response.status,
                        garble["body"],
                        [("Content-Type", garble["content_type"])],
                    )
        return response


@dataclass
class Severa:
    """One sandbox served over HTTP plus what a test needs to drive and inspect it."""

    app: GarblingSeveraSandbox
    server: SandboxServer
    redis: redis.Redis
    redis_url: str
    connection_id: str
    secret_key: bytes = field(default_factory=Fernet.generate_key)
    office: requests.Session = field(default_factory=requests.Session)

    @property
    def base_url(self) -> str:
        return f"{self.server.url}/rest-api"

    @property
    def box(self) -> SecretBox:
        return SecretBox(self.secret_key)

    def build(
        self,
        *,
        connection_id: str | None = None,
        rate: Rate = OPEN,
        timeout: float = 5.0,
        client_id: str = DEMO_CLIENT_ID,
        client_secret: str = DEMO_CLIENT_SECRET,
        scopes: str = SEVERA_SCOPES,
        clock: Any = time.time,
        fast_retries: bool = True,
    ) -> SeveraConnection:
        """A client for this sandbox; ``fast_retries`` shrinks the back-off between
        retries (not the waits for 429) so retry tests do not sleep for seconds."""
        built = build_severa(
            base_url=self.base_url,
            client_id=client_id,
            client_secret=client_secret,
            connection_id=connection_id or self.connection_id,
            redis_client=self.redis,
            box=self.box,
            timeout=timeout,
            rate=rate,
            scopes=scopes,
            clock=clock,
        )
        if fast_retries:
            built.client.transport.backoff = 0.01
            built.auth.transport.backoff = 0.01
        return built

    # -- back office ---------------------------------------------------------------

    def back_office(self, method: str, path: str, body: Any = None) -> Any:
        response = self.office.request(method, f"{self.server.url}/_sandbox{path}", json=body)
        assert response.status_code < 400, response.text
        return response.json() if response.content else None

    def fault(self, **fault: Any) -> None:
        self.back_office("POST", "/faults", fault)

    def switches(self, **values: Any) -> None:
        self.back_office("POST", "/switches", values)

    def requests(self) -> list[dict[str, Any]]:
        """The sandbox's request log (vendor paths only), oldest first."""
        log: list[dict[str, Any]] = self.back_office("GET", "/requests?limit=100000")["requests"]
        return log

    def count(self, method: str, path: str, status: int | None = None) -> int:
        return sum(
            1
            for entry in self.requests()
            if entry["method"] == method
            and entry["path"] == path
            and (status is None or entry["status"] == status)
        )

    def token_requests(self) -> int:
        return self.count("POST", "/rest-api/v1/token")

    def wait_for_requests(self, method: str, path: str, count: int, timeout: float = 5.0) -> None:
        """Wait until the server logged ``count`` such requests (a delayed answer the
        client gave up on finishes in the background)."""
        deadline = time.monotonic() + timeout
        while self.count(method, path) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def token_key(self, connection_id: str | None = None) -> str:
        return key(connection_id or self.connection_id, "tokens", "severa")


@pytest.fixture
def severa_app() -> GarblingSeveraSandbox:
    app = GarblingSeveraSandbox()
    app.seed_store(demo_data(), replace=True)
    app.rate_scale = 100.0
    return app


@pytest.fixture
def severa(
    severa_app: GarblingSeveraSandbox,
    redis_url: str,
    redis_client: redis.Redis,
    connection_id: str,
) -> Iterator[Severa]:
    server = SandboxServer(severa_app, port=0).start()
    env = Severa(
        app=severa_app,
        server=server,
        redis=redis_client,
        redis_url=redis_url,
        connection_id=connection_id,
    )
    try:
        yield env
    finally:
        env.office.close()
        # Stopping waits out the server loop's half-second poll; nothing is sent any
        # more, so let that happen in the background instead of in every test.
        threading.Thread(target=server.stop, daemon=True).start()
        for name in redis_client.scan_iter(match=key(connection_id, "*")):
            redis_client.delete(name)


# -- bulk data ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def bulk_payload() -> dict[str, Any]:
    """2 500 customers, each with one address, in Severa's wire format (built once)."""
    demo = demo_data()
    customer_template = {
        k: v for k, v in demo["customers"][0].items() if k not in ("headquarterAddress",)
    }
    address_template = next(a for a in demo["addresses"] if not a.get("contacts"))
    customers: list[dict[str, Any]] = []
    addresses: list[dict[str, Any]] = []
    for index in range(2500):
        guid = str(uuid.UUID(int=0xB0 << 120 | index))
        customer = copy.deepcopy(customer_template)
        customer.update(
            guid=guid,
            name=f"Bulkkund {index:04d} AB",
            number=200_000 + index,
            email=f"kund{index}@example.se",
            createdDateTime=BULK_CREATED,
            lastUpdatedDateTime=None,
        )
        customers.append(customer)
        address = copy.deepcopy(address_template)
        address.update(
            guid=str(uuid.UUID(int=0xA0 << 120 | index)),
            addressline=f"Bulkgatan {index}",
            customer={"guid": guid, "name": customer["name"], "number": customer["number"]},
            createdDateTime=BULK_CREATED,
            lastUpdatedDateTime=None,
        )
        addresses.append(address)
    return {"customers": customers, "addresses": addresses}


@pytest.fixture
def bulk(severa: Severa, bulk_payload: dict[str, Any]) -> dict[str, Any]:
    """The bulk records, added to the demo organization's 50 customers and 86 addresses."""
    severa.app.seed_store(bulk_payload, replace=False)
    return bulk_payload


def utc_now() -> datetime:
    return datetime.now(UTC)


def a_while_ago(seconds: float = 5.0) -> datetime:
    return utc_now() - timedelta(seconds=seconds)
