"""Log in and out; the operator's page of users."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for

from worker.web.accounts import ROLES, AccountError, Accounts
from worker.web.security import client, client_address, operator_required

blueprint = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path of this app (no scheme, no host, no ``//``): never an open redirect."""
    if not target:
        return url_for("connections.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return url_for("connections.index")
    return target


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    email = request.form.get("email", "").strip().lower()
    password = request.form.get("password", "")
    accounts = Accounts(client())
    if accounts.locked(email, client_address()):
        return render_template(
            "login.html", next=request.form.get("next", ""),
            error="Too many failed logins: wait 15 minutes and try again.",
        ), 429  # fmt: skip
    user = accounts.authenticate(email, password, client_address())
    if user is None:
        return render_template("login.html", next=request.form.get("next", ""),
                               error="Wrong e-mail or password."), 401  # fmt: skip
    session.clear()  # a new session on login: nothing of a pre-login session carries over
    session.permanent = True
    session["user"] = user.email
    return redirect(_safe_next(request.form.get("next")))


@blueprint.route("/logout", methods=["POST"])
def logout() -> Any:
    session.clear()
    return redirect(url_for("auth.login"))


@blueprint.route("/users", methods=["GET", "POST"])
@operator_required
def users() -> Any:
    """The operator adds and removes users (the CLI's ``users add`` does the same)."""
    accounts = Accounts(client())
    if request.method == "POST":
        try:
            added = accounts.add(
                request.form.get("email", ""), request.form.get("password", ""),
                request.form.get("role", ""), request.form.get("connection", "").strip(),
            )  # fmt: skip
        except (AccountError, ValueError) as exc:
            flash(f"Not added: {exc}", "error")
        else:
            flash(f"Added {added.role} {added.email}.", "ok")
        return redirect(url_for("auth.users"))
    return render_template("users.html", users=accounts.all(), roles=ROLES)


@blueprint.route("/users/remove", methods=["POST"])
@operator_required
def remove_user() -> Any:
    email = request.form.get("email", "")
    if not Accounts(client()).remove(email):
        abort(404)
    flash(f"Removed {email}.", "ok")
    return redirect(url_for("auth.users"))
