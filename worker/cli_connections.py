"""``python -m worker connections …``: the connection registry (:mod:`worker.connections`).

Secrets never come from the command line (argv shows in ``ps`` and shell history): the
Severa client secret is asked with a hidden prompt on a terminal, or read as the first
line of standard input otherwise (``… connections add acme < secret.txt``).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

import click

from worker.cli_transfers import _connection_id, _table, _when

if TYPE_CHECKING:
    from worker.connections import ConnectionRegistry

ID = click.argument("connection_id", metavar="ID", callback=_connection_id)


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def _registry() -> ConnectionRegistry:
    from config import SettingsError, get_settings  # noqa: PLC0415
    from worker.connections import registry  # noqa: PLC0415

    try:
        get_settings()
    except SettingsError as exc:
        _fail(str(exc), 2)
    return registry()


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    local = parts.hostname in ("127.0.0.1", "localhost")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise click.BadParameter(
            f"{url!r}: use https:// (http:// only on 127.0.0.1/localhost)",
            param_hint="--severa-url",
        )
    return url.rstrip("/")


def _read_secret() -> str:
    """The Severa client secret: a hidden prompt on a terminal, else stdin's first line."""
    if sys.stdin.isatty():
        secret = str(click.prompt("Severa client secret", hide_input=True, err=True))
    else:
        secret = sys.stdin.readline().strip()
    if not secret:
        _fail("error: no Severa client secret given (type it at the prompt, or pipe it in)")
    return secret


@click.group("connections")
def connections_group() -> None:
    """The connections this deployment serves (one Severa company paired with one
    eEkonomi company each), kept in Redis: changes take effect at beat's next tick in
    every process, without a restart."""


@connections_group.command("add")
@ID
@click.option(
    "--severa-url",
    help="Severa REST API base, e.g. https://api.severa.visma.com/rest-api "
    "(default: SEVERA_BASE_URL).",
)
@click.option("--severa-client-id", help="The firm's Severa client id (Settings → REST API).")
@click.option(
    "--shared-severa",
    is_flag=True,
    help="Use the process settings' Severa client (SEVERA_*) instead of the firm's own: "
    "only for a single-firm deployment, since every such connection reads and writes the "
    "same Severa organization.",
)
@click.option("--replace", is_flag=True, help="Change the credentials of a registered connection.")
def add(connection_id: str, severa_url: str | None, severa_client_id: str | None,
        shared_severa: bool, replace: bool) -> None:  # fmt: skip
    """Register connection ID with its own Severa credentials.

    The client secret is asked with a hidden prompt, or read from standard input when
    it is not a terminal; it is stored encrypted with SECRET_KEY. Either
    --severa-client-id or --shared-severa (the process settings' SEVERA_* client) must
    be given, so that no firm lands in another's Severa organization by omission. Then
    authorize eEkonomi: `python -m worker connect --connection ID`.
    """
    from worker.connections import SeveraCredentials  # noqa: PLC0415
    from worker.errors import ConfigError  # noqa: PLC0415

    if not severa_client_id and not shared_severa:
        _fail(
            f"error: connection {connection_id!r} needs its firm's Severa client: give "
            "--severa-client-id (the secret is then asked), or --shared-severa to use the "
            "SEVERA_* settings' client (one Severa organization for every such connection)"
        )
    registry = _registry()
    credentials = None
    if severa_client_id:
        url = _check_url(severa_url or registry.settings.severa_base_url)
        credentials = SeveraCredentials(url, severa_client_id, _read_secret())
    try:
        connection = registry.add(connection_id, credentials, replace=replace)
    except ConfigError as exc:
        _fail(f"error: {exc}")
    click.echo(
        f"{'changed' if replace else 'added'} connection {connection.id!r} (Severa "
        f"{connection.severa_client_id} at {connection.severa_base_url}, credentials from "
        f"{connection.credentials}); next: `python -m worker connect --connection "
        f"{connection.id}`"
    )


@connections_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_connections(as_json: bool) -> None:
    """Every connection: its state (active / paused / needs authorization), the last
    run of each transfer and its error count."""
    registry = _registry()
    overviews, broken = [], []
    for connection_id in registry.ids():
        try:
            overviews.append(registry.overview(connection_id))
        except Exception as exc:  # noqa: BLE001 - one damaged entry must not hide the others
            broken.append({"id": connection_id, "state": "unreadable", "reason": repr(exc)})
    if as_json:
        click.echo(json.dumps([*(o.as_dict() for o in overviews), *broken], indent=2))
        return
    rows: list[list[Any]] = []
    for entry in broken:
        rows.append([entry["id"], "unreadable", "", "", entry["reason"], ""])
    for overview in overviews:
        runs = {n: r for n, r in overview.last_runs.items() if r}
        last = max(runs.values(), key=lambda r: r["started_at"], default=None)
        rows.append([
            overview.connection.id, overview.state, overview.connection.severa_client_id,
            overview.errors, _last_run(last), f"{len(runs)}/{len(overview.last_runs)}",
        ])  # fmt: skip
    headers = ["connection", "state", "severa client", "errors", "last run", "transfers run"]
    click.echo(_table(headers, rows))


def _last_run(report: dict[str, Any] | None) -> str:
    if report is None:
        return "never"
    return f"{report['transfer']} {report['status']} {_when(report['started_at'])}"


@connections_group.command("show")
@ID
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(connection_id: str, as_json: bool) -> None:
    """One connection: credentials' origin (never the secret), state, the last run of
    each transfer and its error count."""
    from worker.errors import ConfigError  # noqa: PLC0415

    try:
        overview = _registry().overview(connection_id)
    except ConfigError as exc:
        _fail(f"error: {exc}")
    if as_json:
        click.echo(json.dumps(overview.as_dict(), indent=2))
        return
    c = overview.connection
    click.echo(f"connection {c.id}: {overview.state}  {overview.reason}".rstrip())
    click.echo(f"  severa: {c.severa_client_id} at {c.severa_base_url} ({c.credentials})")
    click.echo(f"  errors: {overview.errors} (`errors --connection {c.id}` lists them)")
    for name, report in overview.last_runs.items():
        click.echo(f"  {name:<18} {_last_run(report)}")


@connections_group.command("pause")
@ID
def pause(connection_id: str) -> None:
    """Stop scheduling ID's transfers (a run going on finishes); `resume` restarts them."""
    _change(connection_id, "pause")


@connections_group.command("resume")
@ID
def resume(connection_id: str) -> None:
    """Schedule ID's transfers again from beat's next tick."""
    _change(connection_id, "resume")


def _change(connection_id: str, action: str) -> None:
    from worker.errors import ConfigError  # noqa: PLC0415

    registry = _registry()
    try:
        getattr(registry, action)(connection_id)
        state, reason = registry.state(connection_id)
    except ConfigError as exc:
        _fail(f"error: {exc}")
    click.echo(f"connection {connection_id}: {state}  {reason}".rstrip())


@connections_group.command("remove")
@ID
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--force", is_flag=True, help="Even while a transfer of ID is running.")
def remove(connection_id: str, yes: bool, force: bool) -> None:
    """Unregister ID and delete every Redis key of it (tokens, credentials, settings,
    links, watermarks, error list, run reports) and nothing else. Nothing in Severa or
    eEkonomi is touched."""
    from worker.errors import ConfigError  # noqa: PLC0415

    registry = _registry()
    if not registry.exists(connection_id):  # a damaged entry can still be removed
        _fail(f"error: connection {connection_id!r} is not registered")
    if not yes:
        if not sys.stdin.isatty():
            _fail("error: not a terminal to confirm on: add --yes")
        click.confirm(
            f"Delete every stored key of connection {connection_id!r}?", abort=True, err=True
        )
    try:
        deleted = registry.remove(connection_id, force=force)
    except ConfigError as exc:
        _fail(f"error: {exc}")
    click.echo(f"removed connection {connection_id!r}: {deleted} key(s) deleted")
    if connection_id in registry.settings.connections:
        click.echo(
            f"note: {connection_id!r} is still listed in CONNECTIONS; take it out there, "
            "or it is served again (with nothing stored)"
        )
