"""Flower, started with the service's auth policy.

Flower shows task arguments and results, so it is protected: basic auth from
``FLOWER_BASIC_AUTH`` when set, and it refuses to listen beyond 127.0.0.1 without it.
Credentials travel in Flower's own ``FLOWER_BASIC_AUTH`` environment variable, never
on the command line (where ``ps`` would show them). Without credentials on loopback,
Flower's HTTP API is enabled explicitly (Flower 2 disables it without auth) so the
local user and the tests can query it.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

from config import Settings

LOOPBACK = "127.0.0.1"


class FlowerRefused(RuntimeError):
    """Flower would be exposed without credentials."""


def flower_command(settings: Settings) -> tuple[list[str], dict[str, str]]:
    """The argv and extra environment for Flower; raises :class:`FlowerRefused`."""
    env: dict[str, str] = {}
    if settings.flower_basic_auth:
        env["FLOWER_BASIC_AUTH"] = settings.flower_basic_auth
    elif settings.flower_host != LOOPBACK:
        raise FlowerRefused(
            f"FLOWER_HOST is {settings.flower_host!r} but FLOWER_BASIC_AUTH is not set: "
            "Flower only listens beyond 127.0.0.1 with credentials"
        )
    else:
        env["FLOWER_UNAUTHENTICATED_API"] = "true"
    argv = [
        sys.executable, "-m", "celery", "-A", "worker", "flower",
        f"--address={settings.flower_host}",
        f"--port={settings.flower_port}",
        "--persistent=False",
        "--purge_offline_workers=300",
    ]  # fmt: skip
    return argv, env


def exec_flower(settings: Settings) -> NoReturn:
    try:
        argv, extra = flower_command(settings)
    except FlowerRefused as exc:
        print(str(exc), file=sys.stderr)  # noqa: T201 - start-up refusal for the user
        sys.exit(2)
    os.execve(argv[0], argv, {**os.environ, **extra})
