"""What ``run`` does by itself in demo mode, once the processes are up.

A first-time user runs one command with no configuration and should see a real
connection happen: the eEkonomi consent is completed against the sandbox through the
very code path ``connect`` uses (the program answers the sandbox's login and company
forms), so the demo exercises the real OAuth flow, token encryption and storage.

The bootstrap waits for Redis and both sandboxes, connects the ``default`` connection
when it has no eEkonomi authorization yet (or needs re-authorization), and reports what
it did. It never stops the service: a failure is printed with what to do.

Then it applies settings that fit the demo data (only those not set yet, so a user's
own choices survive a restart) and starts a first transfer of each register through
the worker, so the runs show in Flower and their reports here.

The demo hosts **two company pairs** (issue 16), as a hosted deployment would:
``default`` (Severa's default sandbox organization, through the ``SEVERA_*`` settings,
with eEkonomi's "Demokonsult AB") and ``holding`` (Severa's second organization, with its
own credentials in the connection registry, and "Demokonsult Holding AB"). Each line
it prints names its connection.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import redis

from config import Settings
from schemas.sides import Side
from worker.clients.tokens import TokenStore
from worker.connect import connect_eekonomi
from worker.connection_status import get_status
from worker.crypto import secret_box
from worker.embedded_redis import wait_until_ready

DEMO_CONNECTION = "default"


@dataclass(frozen=True)
class DemoPair:
    """One demo connection: its Severa client (None: the settings') and eEkonomi company."""

    connection_id: str
    eekonomi_company: str
    severa_client_id: str | None = None
    severa_client_secret: str = field(default="", repr=False)
    settings: dict[str, str] = field(default_factory=dict)


#: The Severa sandbox's second organization "holding" answers these (published) credentials.
HOLDING_SEVERA_CLIENT_ID = "demo-severa-client-2"
HOLDING_SEVERA_CLIENT_SECRET = "demo-severa-secret-2"  # noqa: S105 - the public sandbox secret

#: Settings that fit the sandboxes' demo data, by name (looked up like `settings set`).
DEMO_SETTINGS = {
    "customers_master": "severa",
    "products_master": "severa",
    "cost_center_id": "Projekt",
    "default_article_number": "ALLM",
    "supplier_invoices_billable": "true",
    "status_to_transfer": "Att överföra",
    "status_transferred": "Överförd",
    "status_sent": "Skickad",
    "status_paid": "Betald",
}

DEMO_PAIRS = (
    DemoPair(DEMO_CONNECTION, "Demokonsult AB", settings=DEMO_SETTINGS),
    DemoPair(
        "holding",
        "Demokonsult Holding AB",
        HOLDING_SEVERA_CLIENT_ID,
        HOLDING_SEVERA_CLIENT_SECRET,
        # The holding company's books: cost center "Bolag", its own articles.
        {**DEMO_SETTINGS, "cost_center_id": "Bolag", "default_article_number": "KONC-TIM"},
    ),  # fmt: skip
)


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
    eekonomi_company: str = "Demokonsult AB",
) -> bool:
    """Connect the demo connection to the eEkonomi sandbox if needed; True when ready."""
    try:
        wait_until_ready(redis_url, timeout)
        wait_for_port(settings.severa_base_url, timeout)
        wait_for_port(settings.eekonomi_identity_url, timeout)
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        store = TokenStore(
            client, secret_box(settings), connection_id=connection_id, api=Side.EEKONOMI
        )
        if store.load() is not None and get_status(client, connection_id).ok:
            echo(f"demo: connection {connection_id!r} is already authorized in eEkonomi")
            return True
        company = connect_eekonomi(
            settings, connection_id, echo=echo, client=client, demo_company=eekonomi_company
        )
    except Exception as exc:  # noqa: BLE001 - the demo must say what failed, not crash the stack
        echo(
            f"demo: could not connect {connection_id!r} to the eEkonomi sandbox: {exc} "
            "(run `python -m worker connect` to try again)"
        )
        return False
    echo(f"demo: connected {connection_id!r} to eEkonomi company {company.name!r}")
    return True


def apply_demo_settings(
    redis_url: str,
    connection_id: str,
    echo: Callable[[str], None],
    choices: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Set what is not set yet to the demo's choices; print every setting."""
    from config import company  # noqa: PLC0415
    from worker.sync.choices import resolve  # noqa: PLC0415

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    current = company.load(client, connection_id)
    wanted = DEMO_SETTINGS if choices is None else choices
    unset = {k: v for k, v in wanted.items() if current.get(k) in (None, "")}
    stored = company.update(client, connection_id, resolve(connection_id, unset))
    for name, value in stored.items():
        echo(f"demo: setting {name} = {value}")
    return stored


def first_transfers(
    redis_url: str,
    connection_id: str,
    echo: Callable[[str], None],
    registers: tuple[str, ...] | None = None,
    timeout: float = 600.0,
) -> None:
    """Start each register's transfer in the worker and print its report when done:
    every register in :mod:`worker.registry`'s order unless ``registers`` says
    otherwise (supplier invoices come last: they need the projects linked)."""
    from worker import app  # noqa: PLC0415
    from worker.registry import NAMES, spec_of  # noqa: PLC0415
    from worker.sync.runs import Runs  # noqa: PLC0415

    runs = Runs(redis.Redis.from_url(redis_url, decode_responses=True), connection_id)
    for register in registers or NAMES:
        result = app.send_task(spec_of(register).task, args=[connection_id])
        echo(f"demo: started transfer of {register} (task {result.id}, see Flower)")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            report = runs.get(result.id)
            if report is not None and report.status not in ("running", "finishing"):
                echo(f"demo: {report.summary()}")
                break
            if report is None and result.ready():
                echo(f"demo: {register} did not start: {result.result}")
                break
            time.sleep(0.5)


def register_demo_pair(settings: Settings, redis_url: str, pair: DemoPair) -> None:
    """Register the pair's connection with its Severa credentials (once)."""
    from worker.connections import ConnectionRegistry, SeveraCredentials  # noqa: PLC0415

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    registry = ConnectionRegistry(client, settings, secret_box(settings))
    if registry.exists(pair.connection_id):
        return
    credentials = None
    if pair.severa_client_id:
        credentials = SeveraCredentials(
            settings.severa_base_url, pair.severa_client_id, pair.severa_client_secret
        )
    registry.add(pair.connection_id, credentials)


def run_demo(settings: Settings, redis_url: str, echo: Callable[[str], None] = print) -> None:
    """The whole demo bootstrap (see the module docstring), for each pair in turn."""
    for pair in DEMO_PAIRS:
        say = _prefixed(echo, pair.connection_id)
        try:
            register_demo_pair(settings, redis_url, pair)
        except Exception as exc:  # noqa: BLE001 - the demo must say what failed, not crash
            say(f"demo: could not register {pair.connection_id!r}: {exc}")
            continue
        if not bootstrap_demo(settings, redis_url, echo=say, connection_id=pair.connection_id,
                              eekonomi_company=pair.eekonomi_company):  # fmt: skip
            continue
        try:
            apply_demo_settings(redis_url, pair.connection_id, say, pair.settings)
            first_transfers(redis_url, pair.connection_id, say)
        except Exception as exc:  # noqa: BLE001 - the demo must say what failed, not crash
            say(f"demo: the first transfers did not complete: {exc}")
            continue
        say(
            f"demo: done; `python -m worker status --connection {pair.connection_id}` and "
            "`errors` show the results"
        )
    echo("demo: `python -m worker connections list` shows both connections")


def _prefixed(echo: Callable[[str], None], connection_id: str) -> Callable[[str], None]:
    """Each demo line names its connection: ``demo [holding]: …``."""

    def say(line: str) -> None:
        text = line.removeprefix("demo:").lstrip()
        echo(f"demo [{connection_id}]: {text}")

    return say
