"""Command-line interface: ``python -m worker COMMAND`` (see ``--help``)."""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import click

from config import VARIABLES, Settings, SettingsError, get_settings


def _settings_or_exit() -> Settings:
    try:
        return get_settings()
    except SettingsError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Severa ⇄ eEkonomi sync: run the service and inspect it.

    Settings come from environment variables and an optional .env file; `config`
    lists them. Without REDIS_URL the service uses its embedded Redis; without API
    credentials it runs in demo mode against the local sandboxes.
    """


@main.command()
def serve() -> None:
    """Start the whole service (what `make run` does): Redis (embedded unless
    REDIS_URL is set), the sandboxes in demo mode, worker, beat, Flower and the web app.
    Ctrl-C stops everything."""
    from worker.supervisor import run as run_service  # noqa: PLC0415

    sys.exit(run_service(_settings_or_exit()))


@main.command()
@click.option("--timeout", default=3.0, show_default=True, help="Seconds per network check.")
def doctor(timeout: float) -> None:
    """Check settings, Redis, workers, beat and the APIs, then each connection: its
    credentials accepted by both APIs, settings complete, each transfer's last successful
    run within its interval, no stuck run, the error list. One line per check with what
    to do. Exits 1 when a check fails, 2 when only warnings need a look, else 0."""
    from worker.doctor import FAIL, WARN, run_checks  # noqa: PLC0415

    seen = set()
    for check in run_checks(timeout=timeout):
        click.echo(check.line())
        seen.add(check.status)
    sys.exit(1 if FAIL in seen else 2 if WARN in seen else 0)


@main.command("config")
def show_config() -> None:
    """Show every setting with its current value (secrets only as set / not set,
    passwords in URLs masked)."""
    settings = _settings_or_exit()
    width = max(len(v.name) for v in VARIABLES)
    for name, value in settings.describe():
        click.echo(f"{name:<{width}}  {value}")


@main.command()
@click.option(
    "--connection",
    "connection_id",
    default="default",
    show_default=True,
    help="Connection id (one Severa company paired with one eEkonomi company).",
)
@click.option(
    "--timeout",
    default=300.0,
    show_default=True,
    help="Seconds to wait for the browser to come back.",
)
def connect(connection_id: str, timeout: float) -> None:
    """Authorize eEkonomi for a connection (OAuth consent; R-2.6, R-3.0).

    Prints the authorize URL, receives the answer on EEKONOMI_REDIRECT_URI, checks its
    state, and shows which eEkonomi company was picked. In demo mode the program fills
    in the sandbox's consent form itself.
    """
    from worker.connect import connect_eekonomi  # noqa: PLC0415

    settings = _settings_or_exit()
    try:
        company = connect_eekonomi(settings, connection_id, timeout=timeout, echo=click.echo)
    except Exception as exc:  # noqa: BLE001 - shown to the user with what to do
        click.echo(f"connect failed: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"Connected {connection_id!r} to eEkonomi company {company.name!r}"
        + (f" ({company.corporate_identity_number})" if company.corporate_identity_number else "")
    )


@main.command("new-secret-key")
def new_secret_key() -> None:
    """Print a new random SECRET_KEY (Fernet) for encrypting tokens at rest."""
    from cryptography.fernet import Fernet  # noqa: PLC0415

    click.echo(Fernet.generate_key().decode("ascii"))


@main.command("rotate-secrets")
def rotate_secrets() -> None:
    """Re-seal every stored token and Severa secret with the current SECRET_KEY.

    After changing SECRET_KEY (with the former key in SECRET_KEY_PREVIOUS), run this
    once: when it reports nothing left sealed with an old key, SECRET_KEY_PREVIOUS can
    be removed. Tokens are also re-sealed one by one as the service reads them.
    """
    from worker.clients.tokens import reseal_all  # noqa: PLC0415
    from worker.connections import registry  # noqa: PLC0415
    from worker.crypto import secret_box  # noqa: PLC0415
    from worker.state import redis_client  # noqa: PLC0415

    settings = _settings_or_exit()
    report = reseal_all(redis_client(), secret_box(settings))
    resealed, unreadable = registry().reseal()
    report.resealed.extend(["severa secret"] * resealed)
    report.unreadable.extend(f"severa secret of {c} (`connections add {c} --replace`)"
                             for c in unreadable)  # fmt: skip
    click.echo(
        f"re-sealed with SECRET_KEY: {len(report.resealed)}; "
        f"already current: {len(report.current)}; unreadable: {len(report.unreadable)}"
    )
    for name in report.unreadable:
        click.echo(
            f"  unreadable: {name} (Severa tokens are fetched again by themselves; "
            "for eEkonomi run `python -m worker connect --connection ID`)"
        )
    if not report.unreadable:
        click.echo("Nothing is sealed with an old key: SECRET_KEY_PREVIOUS can be removed.")


@main.command(hidden=True)
def flower() -> NoReturn:
    """Run Flower with the service's access policy (the Procfile's `flower` process)."""
    from worker.flower import serve_flower  # noqa: PLC0415

    sys.exit(serve_flower(_settings_or_exit()))


@main.command("embedded-redis", hidden=True)
def embedded_redis() -> NoReturn:
    """Run the embedded redis-server in the foreground (the Procfile's `redis` process)."""
    from worker.embedded_redis import exec_server  # noqa: PLC0415

    settings = _settings_or_exit()
    port = int(os.environ.get("EMBEDDED_REDIS_PORT") or settings.embedded_redis_port)
    if not port:
        click.echo("EMBEDDED_REDIS_PORT: a port is required (`run` picks one)", err=True)
        sys.exit(2)
    exec_server(settings.data_dir, port)


def run() -> None:
    """The console command ``severa-sync`` (and ``python -m worker``): :func:`main`, with
    a Redis that is not there reported in one line saying what to start — every command
    but ``serve`` needs the service's Redis, and a new user's first mistake is calling
    one before the service runs."""
    import redis  # noqa: PLC0415
    from kombu.exceptions import OperationalError  # noqa: PLC0415

    from worker.embedded_redis_url import NoRedisConfigured  # noqa: PLC0415

    try:
        main(prog_name=os.path.basename(sys.argv[0]) or "severa-sync")
    except SettingsError as exc:  # read by a command's first use of the settings
        click.echo(str(exc), err=True)
        sys.exit(2)
    except NoRedisConfigured as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(3)
    except (redis.ConnectionError, redis.TimeoutError, OperationalError) as exc:
        from config.redact import redact  # noqa: PLC0415

        click.echo(
            redact(f"error: Redis does not answer ({exc}): start the service (`make run` "
                   "or `severa-sync serve`), or the Redis that REDIS_URL names"),
            err=True,
        )  # fmt: skip
        sys.exit(3)


def _add_transfer_commands() -> None:
    from worker.cli_transfers import COMMANDS  # noqa: PLC0415
    from worker.cli_trust import COMMANDS as TRUST  # noqa: PLC0415

    for command in [*COMMANDS, *TRUST]:
        main.add_command(command)
    from worker.cli_connections import connections_group  # noqa: PLC0415

    main.add_command(connections_group)
    from worker.cli_users import COMMANDS as WEB_COMMANDS  # noqa: PLC0415

    for command in WEB_COMMANDS:
        main.add_command(command)


_add_transfer_commands()
