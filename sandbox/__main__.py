"""``python -m sandbox``: serve the Severa and eEkonomi sandboxes over HTTP on loopback.

The run command of the service starts this in demo mode (no real API credentials), so a
first-time user sees real transfers against stand-ins that follow Visma's contracts.
Both sandboxes start seeded with the demo data (``sandbox/data/*-demo.json``: Severa's
two organizations and eEkonomi's two companies, "Demokonsult AB" and "Demokonsult
Holding AB", each with their own) unless told otherwise; ``--help`` lists the options.
See ``sandbox/README.md``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from sandbox.core import SandboxApp, SandboxServer
from sandbox.eekonomi import EEkonomiSandbox
from sandbox.severa import (
    HOLDING_CLIENT_ID,
    HOLDING_CLIENT_SECRET,
    HOLDING_ORGANIZATION,
    SeveraSandbox,
    holding_demo_data,
)
from sandbox.severa import demo_data as severa_demo_data


def _parse_switches(values: list[str]) -> dict[str, dict[str, Any]]:
    """``severa.name=value`` / ``eekonomi.name=value`` into per-sandbox keyword args.

    Values are read as JSON when they parse (``true``, ``3``), else as plain strings.
    """
    switches: dict[str, dict[str, Any]] = {"severa": {}, "eekonomi": {}}
    for item in values:
        target, _, rest = item.partition(".")
        name, sep, raw = rest.partition("=")
        if target not in switches or not name or not sep:
            raise SystemExit(
                f"--switch {item!r}: expected severa.NAME=VALUE or eekonomi.NAME=VALUE"
            )
        try:
            switches[target][name] = json.loads(raw)
        except json.JSONDecodeError:
            switches[target][name] = raw
    return switches


def _seed(app: SandboxApp, path: str | None, default: dict[str, Any], empty: bool) -> None:
    if empty:
        return
    payload = json.loads(Path(path).read_text(encoding="utf-8")) if path else default
    with app.lock:
        app.seed_store(payload, replace=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Serve local stand-ins for the Visma Severa and Visma eEkonomi APIs.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    parser.add_argument("--severa-port", type=int, default=8001, help="Severa port (8001)")
    parser.add_argument("--eekonomi-port", type=int, default=8002, help="eEkonomi port (8002)")
    parser.add_argument("--severa-seed", help="JSON file in Severa's wire format (default: demo)")
    parser.add_argument(
        "--severa-holding-seed",
        help="the same for Severa's second organization, 'holding' (default: its demo)",
    )
    parser.add_argument(
        "--eekonomi-seed",
        help="JSON file in eEkonomi's wire format for Demokonsult AB (default: demo)",
    )
    parser.add_argument("--empty", action="store_true", help="start with no records at all")
    parser.add_argument(
        "--rate-scale",
        type=float,
        default=1.0,
        help="multiply both vendors' rate limits (benchmarks use e.g. 100)",
    )
    parser.add_argument(
        "--switch",
        action="append",
        default=[],
        metavar="VENDOR.NAME=VALUE",
        help="set an unconfirmed-behaviour switch (see sandbox/docs/*.md), repeatable",
    )
    return parser


def build_eekonomi(args: argparse.Namespace, switches: dict[str, Any]) -> EEkonomiSandbox:
    """The eEkonomi sandbox of ``python -m sandbox``: both demo companies seeded with
    their own data (none with ``--empty``); ``--eekonomi-seed`` replaces the first's."""
    demo = not args.empty
    eekonomi = EEkonomiSandbox(demo=demo, holding_demo=demo, **switches)
    if args.eekonomi_seed and demo:
        _seed(eekonomi, args.eekonomi_seed, {}, empty=False)
    return eekonomi


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    switches = _parse_switches(args.switch)
    severa = SeveraSandbox(**switches["severa"])
    eekonomi = build_eekonomi(args, switches["eekonomi"])
    _seed(severa, args.severa_seed, severa_demo_data(), args.empty)
    holding = severa.organizations[HOLDING_ORGANIZATION]
    _seed(holding, args.severa_holding_seed, holding_demo_data(), args.empty)
    for app in (*severa.organizations.values(), eekonomi):
        app.rate_scale = args.rate_scale
    servers = [
        SandboxServer(severa, args.host, args.severa_port).start(),
        SandboxServer(eekonomi, args.host, args.eekonomi_port).start(),
    ]
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(  # noqa: T201 - the sandbox's own console output
        "\n".join(
            [
                f"Severa sandbox   {servers[0].url}/rest-api   "
                "client id demo-severa-client, secret demo-severa-secret",
                f"                 second organization ({HOLDING_ORGANIZATION}): "
                f"client id {HOLDING_CLIENT_ID}, secret {HOLDING_CLIENT_SECRET}",
                f"eEkonomi sandbox {servers[1].url}/v2  (identity {servers[1].url}/connect/…)  "
                "client demo-eekonomi-client / demo-eekonomi-secret, "
                "login demo@example.com / demo",
                f"back office      {servers[0].url}/_sandbox/…  {servers[1].url}/_sandbox/…",
            ]
        ),
        flush=True,
    )
    stop.wait()
    for server in servers:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
