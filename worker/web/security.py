"""Who is logged in, what they may see, and the CSRF check of every form.

Every state-changing request is a POST carrying the session's CSRF token (a hidden
``csrf_token`` field, or the ``X-CSRF-Token`` header); one without it, or with another
session's, is refused with 400 before any view runs. The token lives in the signed
session cookie, which SameSite=Lax already keeps off cross-site POSTs: the token is the
second lock, for browsers and proxies that do not honour SameSite.

:func:`connection_of` is the one gate of a connection's pages and actions: a user who
may not see the connection gets 404, exactly as for a connection that does not exist,
so an admin learns nothing of the other firms — not even their ids.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

import redis
from flask import Flask, abort, current_app, g, redirect, request, session, url_for

from config import Settings
from worker.connections import ConnectionRegistry
from worker.keys import InvalidConnectionId
from worker.web.accounts import Accounts, User

F = TypeVar("F", bound=Callable[..., Any])


def settings() -> Settings:
    return cast(Settings, current_app.extensions["sync"]["settings"])


def client() -> redis.Redis:
    return cast(redis.Redis, current_app.extensions["sync"]["redis"])


def connections() -> ConnectionRegistry:
    """The connection registry with this app's settings and Redis."""
    from worker.crypto import secret_box  # noqa: PLC0415

    return ConnectionRegistry(client(), settings(), secret_box(settings()))


def queue() -> str | None:
    return cast("str | None", current_app.extensions["sync"]["queue"])


def csrf_token() -> str:
    """This session's CSRF token (made on first use)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


def _check_csrf() -> None:
    if request.method != "POST":
        return
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(str(sent), str(expected)):
        abort(400, "the form's CSRF token is missing or stale: reload the page and try again")


def _load_user() -> None:
    email = session.get("user")
    g.user = Accounts(client()).get(str(email)) if email else None
    if email and g.user is None:  # removed meanwhile: its sessions end at once
        session.pop("user", None)


def _headers(response: Any) -> Any:
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; frame-ancestors 'none'",
    )
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def install(app: Flask) -> None:
    app.before_request(_check_csrf)
    app.before_request(_load_user)
    app.after_request(_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.filters["when"] = _when


def _when(epoch: float) -> str:
    from worker.cli_transfers import _when as when  # noqa: PLC0415 - the CLI's format

    return when(epoch)


def current_user() -> User:
    user = g.get("user")
    if user is None:
        abort(401)
    return cast(User, user)


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            if request.method == "GET" and not request.path.endswith(".json"):
                return redirect(url_for("auth.login", next=request.full_path))
            abort(401)
        return view(*args, **kwargs)

    return cast(F, wrapped)


def operator_required(view: F) -> F:
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user().is_operator:
            abort(403, "only an operator may do this")
        return view(*args, **kwargs)

    return cast(F, wrapped)


def connection_of(connection_id: str) -> str:
    """``connection_id`` if the user may see it and it is served here; else 404."""
    user = current_user()
    if not user.may_see(connection_id):
        abort(404)
    try:
        if not connections().exists(connection_id):
            abort(404)
    except InvalidConnectionId:
        abort(404)
    return connection_id


def client_address() -> str:
    """The client's address for rate limiting: the socket's peer (a proxy in front
    should be trusted explicitly before X-Forwarded-For is; it is not, here)."""
    return request.remote_addr or "unknown"
