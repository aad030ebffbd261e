"""``python -m worker users …`` and ``python -m worker web``: the admin web app's accounts
and process (:mod:`worker.web`).

Passwords never come from the command line (argv shows in ``ps`` and shell history):
a hidden prompt on a terminal, asked twice, or the first line of standard input
otherwise (``… users add ann@example.com --role operator < password.txt``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, NoReturn

import click

from worker.cli_transfers import _table

if TYPE_CHECKING:
    from worker.web.accounts import Accounts


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(code)


def _read_password() -> str:
    if sys.stdin.isatty():
        return str(click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))
    return sys.stdin.readline().rstrip("\r\n")


def _accounts() -> Accounts:
    from config import SettingsError, get_settings  # noqa: PLC0415
    from worker.state import redis_client  # noqa: PLC0415
    from worker.web.accounts import Accounts  # noqa: PLC0415

    try:
        get_settings()
    except SettingsError as exc:
        _fail(str(exc), 2)
    return Accounts(redis_client())


@click.group("users")
def users_group() -> None:
    """Accounts of the admin web app. An operator sees and acts on every connection;
    an admin (a firm's finance admin) only on its own connection."""


@users_group.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["operator", "admin"]), required=True,
              help="operator: every connection; admin: only --connection.")  # fmt: skip
@click.option("--connection", "connection_id", default="",
              help="The admin's connection id (required for --role admin).")  # fmt: skip
@click.option("--replace", is_flag=True, help="Change the password, role or connection.")
def add(email: str, role: str, connection_id: str, replace: bool) -> None:
    """Add a web user EMAIL. The password (10 characters or more) is asked with a hidden
    prompt, or read from standard input when it is not a terminal; only its argon2
    hash is stored."""
    from worker.web.accounts import AccountError  # noqa: PLC0415

    accounts = _accounts()
    try:
        user = accounts.add(email, _read_password(), role, connection_id, replace=replace)
    except (AccountError, ValueError) as exc:
        _fail(f"error: {exc}")
    where = f"connection {user.connection_id}" if user.connection_id else "every connection"
    click.echo(f"{'changed' if replace else 'added'} {user.role} {user.email} ({where})")


@users_group.command("list")
def list_users() -> None:
    """Every web user with its role and connection."""
    accounts = _accounts()
    rows = [[u.email, u.role, u.connection_id or "(every)"] for u in accounts.all()]
    click.echo(_table(["e-mail", "role", "connection"], rows))


@users_group.command("remove")
@click.argument("email")
def remove(email: str) -> None:
    """Remove a web user; its open sessions end at their next request."""
    accounts = _accounts()
    if not accounts.remove(email):
        _fail(f"error: no user {email}")
    click.echo(f"removed {email}")


@click.command("web")
def web() -> NoReturn:
    """Serve the admin web app with waitress on WEB_HOST:WEB_PORT (the Procfile's `web`
    process; `serve` starts it). Users: `python -m worker users add`."""
    import redis  # noqa: PLC0415

    from config import SettingsError, get_settings  # noqa: PLC0415
    from worker.web import serve_web  # noqa: PLC0415

    try:
        settings = get_settings()
    except SettingsError as exc:
        _fail(str(exc), 2)
    try:
        sys.exit(serve_web(settings))
    except redis.ConnectionError as exc:
        _fail(f"the web app cannot reach Redis: {exc} (is `serve` running? check REDIS_URL)")
    except OSError as exc:  # the port is taken, say: one line, not a traceback
        _fail(f"the web app cannot listen on {settings.web_host}:{settings.web_port}: {exc} "
              "(set WEB_HOST / WEB_PORT)")  # fmt: skip


COMMANDS = [users_group, web]
