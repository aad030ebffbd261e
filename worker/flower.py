"""Flower, started with the service's access policy: always a login, only known host names.

Flower shows task arguments and results and can send, revoke and rate-limit tasks and
shut workers down, so no request reaches it without a login:

* Basic auth always: ``FLOWER_BASIC_AUTH`` when set, else a login generated once into
  ``DATA_DIR/flower.login`` (mode 0600) — the ``serve`` banner shows it in demo mode.
  Flower's ``FLOWER_UNAUTHENTICATED_API`` switch is never set and is removed from the
  environment: with it and no login, Flower answers ``Access-Control-Allow-Origin: *``
  and skips its cross-site check, so any web page the operator opens could queue tasks.
  With a login, Flower itself refuses unsafe requests whose ``Sec-Fetch-Site`` or
  ``Origin`` is another site (403), even when the browser holds the credentials.
* A Host allow-list (``FLOWER_ALLOWED_HOSTS``): Flower does not check the ``Host``
  header, so a DNS-rebinding page could reach a loopback Flower under its own name.
  :mod:`worker.flower_app` runs Flower's tornado application with that check.
* ``/metrics`` needs the login too (Prometheus scrapes with ``basic_auth``);
  ``/healthcheck`` answers ``OK`` to anyone who may connect, and nothing else.

Flower runs in this process (``python -m worker flower``, the Procfile's ``flower``):
its options are set here, so credentials never appear on a command line.
"""

from __future__ import annotations

import ipaddress
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from config import Settings
from config.checks import is_loopback_host
from worker.private_files import read_or_create_private

LOOPBACK = "127.0.0.1"
GENERATED_USER = "sync"
#: Seconds after which Flower forgets an offline worker's metrics.
PURGE_OFFLINE_WORKERS = 300


class FlowerRefused(RuntimeError):
    """Flower would be exposed without credentials."""


@dataclass(frozen=True)
class FlowerLogin:
    """Flower's accepted ``user:password`` pairs and where they came from."""

    pairs: tuple[str, ...] = field(repr=False)
    #: ``FLOWER_BASIC_AUTH``, or the path of the generated login file.
    source: str

    @property
    def generated(self) -> bool:
        return self.source != "FLOWER_BASIC_AUTH"

    @property
    def user(self) -> str:
        return self.pairs[0].partition(":")[0]

    @property
    def password(self) -> str:
        return self.pairs[0].partition(":")[2]


@dataclass(frozen=True)
class FlowerOptions:
    """Everything Flower is started with (see :func:`flower_options`)."""

    address: str
    port: int
    login: FlowerLogin
    allowed_hosts: frozenset[str]
    purge_offline_workers: int = PURGE_OFFLINE_WORKERS


def login_file(settings: Settings) -> Path:
    return settings.data_dir / "flower.login"


def flower_login(settings: Settings) -> FlowerLogin:
    """``FLOWER_BASIC_AUTH``, or the generated login (created on first use, mode 0600)."""
    if settings.flower_basic_auth:
        pairs = tuple(p.strip() for p in settings.flower_basic_auth.split(",") if p.strip())
        return FlowerLogin(pairs, "FLOWER_BASIC_AUTH")
    path = login_file(settings)
    pair = read_or_create_private(path, lambda: f"{GENERATED_USER}:{secrets.token_urlsafe(18)}")
    return FlowerLogin((pair,), str(path))


def host_name(host_header: str) -> str:
    """The host name of a ``Host`` header, lower-case, without port, brackets or the
    trailing dot (``LocalHost.:5555`` → ``localhost``, ``[::1]:5555`` → ``::1``)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def allowed_hosts(settings: Settings) -> frozenset[str]:
    """``FLOWER_ALLOWED_HOSTS``, or by default FLOWER_HOST and the loopback names (never
    an unspecified address such as 0.0.0.0: no browser should name Flower by it)."""
    if settings.flower_allowed_hosts:
        return frozenset(host_name(h) for h in settings.flower_allowed_hosts)
    names = {"localhost", "127.0.0.1", "::1"}
    host = host_name(settings.flower_host)
    try:
        unspecified = ipaddress.ip_address(host).is_unspecified
    except ValueError:
        unspecified = False
    if not unspecified:
        names.add(host)
    return frozenset(names)


def flower_options(settings: Settings) -> FlowerOptions:
    """Flower's address, port, login and host allow-list; raises :class:`FlowerRefused`
    when it would listen beyond loopback with a login nobody chose."""
    if not settings.flower_basic_auth and not is_loopback_host(settings.flower_host):
        raise FlowerRefused(
            f"FLOWER_HOST is {settings.flower_host!r} but FLOWER_BASIC_AUTH is not set: "
            "Flower only listens beyond 127.0.0.1 with credentials you chose"
        )
    return FlowerOptions(
        address=settings.flower_host,
        port=settings.flower_port,
        login=flower_login(settings),
        allowed_hosts=allowed_hosts(settings),
    )


def serve_flower(settings: Settings) -> int:
    """Run Flower in this process until it is stopped; the exit code."""
    try:
        options = flower_options(settings)
    except FlowerRefused as exc:
        print(str(exc), file=sys.stderr)  # noqa: T201 - start-up refusal for the user
        return 2
    from worker.flower_app import run_flower  # noqa: PLC0415 - tornado only when serving

    run_flower(options)
    return 0
