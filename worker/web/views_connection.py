"""A connection's page, like Visma's settings page in Severa: Severa credentials (with a
test), Connect eEkonomi (the OAuth authorization-code flow, its callback on this app),
the R-3 settings with choices read from the live APIs, a button per transfer, the
status line of each last run (R-4.2) and its progress while it runs.

Each handler calls what the CLI calls: :mod:`worker.connections`, :mod:`worker.clients.oauth`,
:mod:`worker.sync.choices` and :func:`config.company.update`, ``send_task`` as ``run``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from marshmallow import ValidationError

from config import company
from config.company import SETTINGS
from schemas.errors import SyncError
from schemas.sides import Side
from worker.clients.factory import new_session
from worker.clients.oauth import AuthorizationFailed, begin_authorization, complete_authorization
from worker.clients.tokens import TokenStore
from worker.crypto import secret_box
from worker.registry import NAMES, spec_of
from worker.state import register_connection
from worker.sync.runs import Runs
from worker.web.security import (
    client,
    connection_of,
    connections,
    current_user,
    login_required,
    queue,
)
from worker.web.security import settings as app_settings
from worker.web.views_connections import _severa_from_form

blueprint = Blueprint("connection", __name__)

#: Settings chosen from a list (the rest are typed in).
CONSENTS = "eekonomi_consents"


def _company_name(connection_id: str) -> str:
    """The eEkonomi company the connection's consent picked ("" if none or unreadable)."""
    store = TokenStore(client(), secret_box(app_settings()), connection_id=connection_id,
                       api=Side.EEKONOMI)  # fmt: skip
    try:
        tokens = store.load()
    except SyncError:
        return ""
    return str((tokens.company or {}).get("Name", "")) if tokens else ""


def _choices(connection_id: str, state: str) -> tuple[dict[str, list[tuple[str, str]]], str]:
    """The live choices of the settings, or why they cannot be read now."""
    from worker.sync.choices import choices  # noqa: PLC0415

    if state == "needs authorization":
        return {}, "Connect eEkonomi first: the choices are read from both APIs."
    try:
        return choices(connection_id), ""
    except (SyncError, company.SettingsUnreadable) as exc:
        return {}, f"The choices could not be read from the APIs: {exc}"


def _next_runs(values: dict[str, Any], last: dict[str, Any]) -> dict[str, float | None]:
    """When beat next starts each transfer (epoch); None while its settings are missing."""
    found: dict[str, float | None] = {}
    for name in NAMES:
        spec = spec_of(name)
        if company.missing_for(values, spec.requires):
            found[name] = None
            continue
        report = last.get(name)
        interval = 60.0 * float(values.get(spec.interval_setting) or 15)
        found[name] = (report["started_at"] + interval) if report else 0.0
    return found


@blueprint.route("/connections/<connection_id>")
@login_required
def page(connection_id: str) -> Any:
    connection_of(connection_id)
    overview = connections().overview(connection_id)
    try:
        values = company.load(client(), connection_id)
        unreadable = ""
    except company.SettingsUnreadable as exc:
        values, unreadable = {}, str(exc)
    options, choices_problem = _choices(connection_id, overview.state)
    return render_template(
        "connection.html", o=overview, c=overview.connection, names=NAMES,
        settings_list=SETTINGS, values=values, options=options,
        choices_problem=choices_problem, unreadable=unreadable,
        company_name=_company_name(connection_id),
        next_runs=_next_runs(values, overview.last_runs),
        watch=request.args.get("run", ""),
    )  # fmt: skip


@blueprint.route("/connections/<connection_id>/severa", methods=["POST"])
@login_required
def save_severa(connection_id: str) -> Any:
    connection_of(connection_id)
    try:
        connections().add(connection_id, _severa_from_form(), replace=True)
    except SyncError as exc:
        flash(f"Not saved: {exc}", "error")
    else:
        flash("Severa credentials saved.", "ok")
    return redirect(url_for("connection.page", connection_id=connection_id))


@blueprint.route("/connections/<connection_id>/severa/test", methods=["POST"])
@login_required
def test_severa(connection_id: str) -> Any:
    """Log in to Severa with the stored credentials and read one small list."""
    from worker.sync.service import plain_context  # noqa: PLC0415

    connection_of(connection_id)
    try:
        statuses = list(plain_context(connection_id).clients.severa.list_invoice_statuses())
    except SyncError as exc:
        flash(f"Severa test failed: {exc}", "error")
    else:
        flash(f"Severa answered: {len(statuses)} invoice statuses.", "ok")
    return redirect(url_for("connection.page", connection_id=connection_id))


def _redirect_settings() -> Any:
    """The settings with the redirect URI of this app's callback, as the browser sees it."""
    uri = url_for("connection.eekonomi_callback", _external=True)
    return dataclasses.replace(app_settings(), eekonomi_redirect_uri=uri)


@blueprint.route("/connections/<connection_id>/eekonomi", methods=["POST"])
@login_required
def connect_eekonomi(connection_id: str) -> Any:
    """Start the consent: a single-use state, remembered in this session too (so the
    callback knows the connection, and a state from another session is refused)."""
    connection_of(connection_id)
    url, state = begin_authorization(client(), _redirect_settings(), connection_id)
    session[CONSENTS] = {**session.get(CONSENTS, {}), state: connection_id}
    return redirect(url)


@blueprint.route("/eekonomi/callback")
@login_required
def eekonomi_callback() -> Any:
    state = request.args.get("state", "")
    pending = dict(session.get(CONSENTS, {}))
    connection_id = pending.pop(state, None)
    session[CONSENTS] = pending
    if connection_id is None:
        abort(400, "this answer belongs to no consent started in this session: start again")
    connection_of(connection_id)
    back = redirect(url_for("connection.page", connection_id=connection_id))
    code = request.args.get("code")
    if request.args.get("error") or not code:
        flash(f"eEkonomi did not authorize ({request.args.get('error', 'no code')}).", "error")
        return back
    store = TokenStore(client(), secret_box(app_settings()), connection_id=connection_id,
                       api=Side.EEKONOMI)  # fmt: skip
    try:
        picked = complete_authorization(
            client(), _redirect_settings(), connection_id,
            code=code, state=state, store=store, session=new_session(),
        )  # fmt: skip
    except (AuthorizationFailed, SyncError) as exc:
        flash(f"Not connected: {exc}", "error")
        return back
    register_connection(client(), connection_id)
    flash(f"Connected to eEkonomi company {picked.name}.", "ok")
    return back


@blueprint.route("/connections/<connection_id>/settings", methods=["POST"])
@login_required
def save_settings(connection_id: str) -> Any:
    from worker.sync.choices import resolve  # noqa: PLC0415

    connection_of(connection_id)
    changes = {s.name: (request.form.get(s.name, "").strip() or None)
               for s in SETTINGS if s.name in request.form}  # fmt: skip
    try:
        company.update(client(), connection_id, resolve(connection_id, changes),
                       replace_unreadable=True)  # fmt: skip
    except ValidationError as exc:
        flash(f"Not saved: {exc.messages}", "error")
    except (ValueError, SyncError) as exc:
        flash(f"Not saved: {exc}", "error")
    else:
        flash("Settings saved.", "ok")
    return redirect(url_for("connection.page", connection_id=connection_id))


@blueprint.route("/connections/<connection_id>/transfers/<name>", methods=["POST"])
@login_required
def start(connection_id: str, name: str) -> Any:
    """Send the transfer to the worker, as ``run`` and beat do; the page then follows it."""
    from worker import app  # noqa: PLC0415

    connection_of(connection_id)
    if name not in NAMES:
        abort(404)
    options = {"queue": queue()} if queue() else {}
    result = app.send_task(spec_of(name).task, args=[connection_id], **options)
    flash(f"Transfer {name} started.", "ok")
    return redirect(url_for("connection.page", connection_id=connection_id, run=result.id))


@blueprint.route("/connections/<connection_id>/progress.json")
@login_required
def progress(connection_id: str) -> Any:
    """The last run of each transfer, for the page's progress bars (polled)."""
    connection_of(connection_id)
    runs = Runs(client(), connection_id)
    transfers = {}
    for name in NAMES:
        report = runs.last(name)
        transfers[name] = None if report is None else {
            **report.as_dict(), "summary": report.summary(),
        }  # fmt: skip
    watched = request.args.get("run", "")
    seen = runs.get(watched) if watched else None
    return jsonify(
        transfers=transfers,
        run=None if seen is None else {**seen.as_dict(), "summary": seen.summary()},
        refused=_refused(watched) if watched and seen is None else "",
        user=current_user().email,
    )


def _refused(run_id: str) -> str:
    """Why a sent transfer never started a run (its task's answer), or "" while pending."""
    from worker import app  # noqa: PLC0415

    result = app.AsyncResult(run_id)
    if not result.ready():
        return ""
    answer = result.result
    if isinstance(answer, dict):
        return str(answer.get("message") or answer.get("status") or "not started")
    return f"not started: {answer}"
