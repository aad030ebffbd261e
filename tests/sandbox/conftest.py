"""Fixtures shared by the Severa sandbox tests: a settable clock, the sandbox seeded
with the demo data (rate limits off), and an in-process session with a token."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from sandbox.core import SandboxAdapter
from sandbox.severa import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SeveraSandbox, demo_data

SEVERA_API = "http://severa.test/rest-api/v1"


class Clock:
    """A settable clock for the sandbox (token expiry and change times without sleeping)."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2025, 6, 1, 12, 0, tzinfo=UTC)  # after every demo time

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(clock: Clock) -> SeveraSandbox:
    sandbox = SeveraSandbox(clock=clock)
    sandbox.seed_store(demo_data(), replace=True)
    sandbox.rate_limits_enabled = False
    return sandbox


def session_for(app: SeveraSandbox, base: str = "http://severa.test/") -> requests.Session:
    session = requests.Session()
    session.mount(base, SandboxAdapter(app))
    return session


@pytest.fixture
def http(app: SeveraSandbox) -> Iterator[requests.Session]:
    """A session that has a token for the demo client (all scopes)."""
    session = session_for(app)
    answer = session.post(
        f"{SEVERA_API}/token",
        json={"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET},
    )
    session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    session.headers["Client_Id"] = DEMO_CLIENT_ID
    yield session
    session.close()
