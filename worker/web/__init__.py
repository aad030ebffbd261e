"""The admin web app (issue 18): connect, configure, run and follow the sync in a browser.

Server-rendered pages on Flask, served in production by waitress (``python -m worker
web``, the Procfile's ``web`` process; never Flask's development server). Every page
and action reuses what the CLI uses — the connection registry, the consent flow, the
settings, the run reports and the error list — so the two never disagree.

Security (README → Web app): users and roles in :mod:`worker.web.accounts`; the session
cookie is signed with a key derived from ``SECRET_KEY``, ``HttpOnly``, ``SameSite=Lax``
and ``Secure`` when the app listens beyond loopback; every form carries a CSRF token
(:mod:`worker.web.security`); every connection's page and action checks the user may
see that connection before anything is read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

import redis
from flask import Flask

from config import Settings
from config.checks import is_loopback_host
from worker.crypto import load_key
from worker.private_files import read_or_create_private

HERE = Path(__file__).resolve().parent
DEMO_USER = "demo@example.com"


def create_app(settings: Settings, client: redis.Redis, *, queue: str | None = None) -> Flask:
    """The web app for ``settings`` on Redis ``client``. ``queue``: where transfers are
    sent (``None``: the service's default run queue, as beat sends them)."""
    from worker.web import (  # noqa: PLC0415
        security,
        views_auth,
        views_connection,
        views_connections,
        views_errors,
        views_reports,
    )

    app = Flask(__name__, template_folder=str(HERE / "templates"),
                static_folder=str(HERE / "static"))  # fmt: skip
    app.config.update(
        SECRET_KEY=session_key(settings),
        SESSION_COOKIE_NAME="sync_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=not is_loopback_host(settings.web_host),
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.extensions["sync"] = {"settings": settings, "redis": client, "queue": queue}
    security.install(app)
    for module in (views_auth, views_connections, views_connection, views_errors,
                   views_reports):  # fmt: skip
        app.register_blueprint(module.blueprint)
    return app


def session_key(settings: Settings) -> bytes:
    """The session cookie's signing key: derived from ``SECRET_KEY`` (one secret to keep,
    one to rotate), never the encryption key itself."""
    return hmac.new(load_key(settings), b"web-session-cookie", hashlib.sha256).digest()


def login_file(settings: Settings) -> Path:
    return settings.data_dir / "web.login"


def demo_login(settings: Settings) -> tuple[str, str]:
    """The demo operator's e-mail and password: generated once into DATA_DIR/web.login
    (mode 0600), as Flower's login is; the ``serve`` banner prints it in demo mode."""
    pair = read_or_create_private(
        login_file(settings), lambda: f"{DEMO_USER}:{secrets.token_urlsafe(12)}"
    )
    email, _, password = pair.partition(":")
    return email, password


def serve_web(settings: Settings) -> int:
    """Run the web app under waitress until stopped (the Procfile's ``web`` process).
    In demo mode the demo operator is (re-)created with the generated password."""
    import waitress  # noqa: PLC0415

    from worker.state import redis_client  # noqa: PLC0415
    from worker.web.accounts import OPERATOR, Accounts  # noqa: PLC0415

    client = redis_client()
    if settings.demo:
        email, password = demo_login(settings)
        Accounts(client).add(email, password, OPERATOR, replace=True)
    app = create_app(settings, client)
    waitress.serve(app, host=settings.web_host, port=settings.web_port, threads=8,
                   ident="sync-web")  # fmt: skip
    return 0
