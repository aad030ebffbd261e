"""The connections list (``/``) and the operator's add / pause / resume / remove.

An operator sees every connection; an admin sees only its own row here and none of
the operator's buttons (the actions answer 403 to an admin however they are sent).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for

from worker.connections import ConnectionBusy, ConnectionRegistry, Overview, SeveraCredentials
from worker.errors import ConfigError
from worker.keys import InvalidConnectionId
from worker.registry import NAMES
from worker.web.security import (
    connection_of,
    connections,
    current_user,
    login_required,
    operator_required,
    settings,
)

blueprint = Blueprint("connections", __name__)


def _registry() -> ConnectionRegistry:
    return connections()


def shown_state(overview: Overview) -> str:
    """The list's state: the registry's, or *failing* when an active connection's last
    run of some transfer failed as a whole (API down, settings refused)."""
    failed = [r for r in overview.last_runs.values() if r and r.get("status") == "failed"]
    return "failing" if overview.state == "active" and failed else overview.state


@blueprint.route("/")
@login_required
def index() -> Any:
    user = current_user()
    reg = _registry()
    ids = [c for c in reg.ids() if user.may_see(c)]
    rows = []
    for connection_id in ids:
        try:
            rows.append(reg.overview(connection_id))
        except ConfigError as exc:  # one unreadable connection never hides the others
            flash(f"{connection_id}: {exc}", "error")
    return render_template("connections.html", rows=rows, names=NAMES, shown_state=shown_state)


def _severa_from_form() -> SeveraCredentials | None:
    client_id = request.form.get("severa_client_id", "").strip()
    if not client_id:
        if request.form.get("shared_severa"):
            return None  # the SEVERA_* settings' client, asked for on purpose
        raise ConfigError(
            "give the firm's Severa client id and secret, or tick \"the service's own "
            'Severa client" (every connection so added shares one Severa organization)'
        )
    url = (request.form.get("severa_url", "").strip() or settings().severa_base_url).rstrip("/")
    parts = urlsplit(url)
    local = parts.hostname in ("127.0.0.1", "localhost")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise ConfigError(f"{url!r}: use https:// (http:// only on 127.0.0.1/localhost)")
    secret = request.form.get("severa_client_secret", "")
    if not secret:
        raise ConfigError("give the Severa client secret with the client id")
    return SeveraCredentials(url, client_id, secret)


@blueprint.route("/connections", methods=["POST"])
@operator_required
def add() -> Any:
    connection_id = request.form.get("connection_id", "").strip()
    try:
        connection = _registry().add(connection_id, _severa_from_form())
    except (ConfigError, InvalidConnectionId) as exc:
        flash(f"Not added: {exc}", "error")
        return redirect(url_for("connections.index"))
    flash(f"Added connection {connection.id}: now connect eEkonomi.", "ok")
    return redirect(url_for("connection.page", connection_id=connection.id))


@blueprint.route("/connections/<connection_id>/pause", methods=["POST"])
@operator_required
def pause(connection_id: str) -> Any:
    _registry().pause(connection_of(connection_id))
    flash(f"Paused {connection_id}: beat schedules none of its transfers.", "ok")
    return redirect(url_for("connections.index"))


@blueprint.route("/connections/<connection_id>/resume", methods=["POST"])
@operator_required
def resume(connection_id: str) -> Any:
    _registry().resume(connection_of(connection_id))
    flash(f"Resumed {connection_id}.", "ok")
    return redirect(url_for("connections.index"))


@blueprint.route("/connections/<connection_id>/remove", methods=["GET"])
@operator_required
def confirm_remove(connection_id: str) -> Any:
    """What removing would delete, and a form that asks for the connection's id: one
    click on a list must not delete a firm's links, tokens and history."""
    reg = _registry()
    overview = reg.overview(connection_of(connection_id))
    keys = sum(1 for _ in reg.keys_of(connection_id))
    return render_template("remove.html", overview=overview, keys=keys,
                           busy=reg.running(connection_id))  # fmt: skip


@blueprint.route("/connections/<connection_id>/remove", methods=["POST"])
@operator_required
def remove(connection_id: str) -> Any:
    """Delete every key of the connection once its id is typed to confirm; refused
    while a transfer runs (its record tasks would write keys again after)."""
    connection_of(connection_id)
    again = redirect(url_for("connections.confirm_remove", connection_id=connection_id))
    if request.form.get("confirm", "").strip() != connection_id:
        flash(f"Not removed: type {connection_id} to confirm.", "error")
        return again
    try:
        deleted = _registry().remove(connection_id)
    except ConnectionBusy:
        flash(f"Not removed: {connection_id} is transferring. Pause it, wait until no run "
              "is going on, then remove it.", "error")  # fmt: skip
        return again
    flash(f"Removed {connection_id} ({deleted} keys deleted).", "ok")
    return redirect(url_for("connections.index"))
