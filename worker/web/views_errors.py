"""A connection's error list (R-4.3) and run history, in the browser.

Retry of one entry does what ``errors retry`` does — :func:`worker.sync.engine.resync_record`
in this process, as a one-record run under the register's lock, its outcome shown at
once. Retry *all* starts each listed register's transfer in the worker instead: a run
tries every record of its error list again (R-6.2), at the API's rate, without holding
the browser's request for as long as hundreds of records take. Dismiss does what
``errors dismiss`` does. The operator's run history links each run to its task in Flower (the
run id is the Celery task id).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from config import company
from schemas.errors import SyncError
from worker.registry import NAMES, register_named, spec_of
from worker.sync.errorlist import RECORD, ErrorList
from worker.sync.runs import Runs
from worker.web.security import (
    client,
    connection_of,
    current_user,
    login_required,
    queue,
    settings,
)

blueprint = Blueprint("errors", __name__)


def _back(connection_id: str) -> Any:
    query: dict[str, Any] = {k: v for k in ("register", "search") if (v := request.form.get(k))}
    return redirect(url_for("errors.page", connection_id=connection_id, **query))


@blueprint.route("/connections/<connection_id>/errors")
@login_required
def page(connection_id: str) -> Any:
    connection_of(connection_id)
    register = request.args.get("register") or None
    if register is not None and register not in NAMES:
        abort(404)
    search = request.args.get("search", "").strip() or None
    entries = list(ErrorList(client(), connection_id).entries(register=register, search=search))
    return render_template("errors.html", connection_id=connection_id, entries=entries,
                           names=NAMES, register=register or "", search=search or "",
                           RECORD=RECORD)  # fmt: skip


def _retry(connection_id: str, wanted: list[tuple[str, str]]) -> tuple[int, list[str]]:
    """Re-sync each (register, natural key) now; (how many failed, one line each)."""
    from worker.sync.engine import RunRefused, resync_record  # noqa: PLC0415
    from worker.sync.service import context_for  # noqa: PLC0415

    ctx = context_for(connection_id)
    failed, lines = 0, []
    for register, natural_key in wanted:
        try:
            outcome = resync_record(ctx, register_named(register), natural_key, uuid.uuid4().hex)
        except (SyncError, company.SettingsUnreadable, RunRefused) as exc:
            failed += 1
            lines.append(f"{register} {natural_key}: not retried: {exc}")
            continue
        failed += outcome.counter == "failed"
        lines.append(f"{register} {natural_key}: {outcome.counter} {outcome.detail}".rstrip())
    return failed, lines


def _retry_in_worker(connection_id: str, wanted: list[tuple[str, str]]) -> Any:
    """Start the transfer of each register with listed records; its run retries them."""
    from worker import app  # noqa: PLC0415

    options = {"queue": queue()} if queue() else {}
    registers = sorted({register for register, _ in wanted})
    runs = [str(app.send_task(spec_of(name).task, args=[connection_id], **options).id)
            for name in registers]  # fmt: skip
    flash(f"Retrying {len(wanted)} record(s): the {', '.join(registers)} transfer(s) started; "
          "each run tries every listed record again.", "ok")  # fmt: skip
    if len(runs) == 1:  # the page follows that run's progress
        return redirect(url_for("connection.page", connection_id=connection_id, run=runs[0]))
    return redirect(url_for("connection.page", connection_id=connection_id))


@blueprint.route("/connections/<connection_id>/errors/retry", methods=["POST"])
@login_required
def retry(connection_id: str) -> Any:
    """Retry one entry (``register`` + ``record_key``) or, with ``all``, every listed
    record entry (of ``register`` when given)."""
    connection_of(connection_id)
    register = request.form.get("register") or None
    if register is not None and register not in NAMES:
        abort(404)
    errors = ErrorList(client(), connection_id)
    if request.form.get("all"):
        wanted = [(e.register, e.record_key) for e in errors.entries(register=register)
                  if e.kind == RECORD]  # fmt: skip
        if not wanted:
            flash("Nothing to retry.", "ok")
            return _back(connection_id)
        return _retry_in_worker(connection_id, wanted)
    key = request.form.get("record_key", "")
    if register is None or not key:
        abort(400, "name the entry to retry (register and record key)")
    wanted = [(register, key)]
    try:
        failed, lines = _retry(connection_id, wanted)
    except (SyncError, company.SettingsUnreadable) as exc:
        flash(f"Not retried: {exc}", "error")
        return _back(connection_id)
    for line in lines[:20]:
        flash(line, "error" if "failed" in line or "not retried" in line else "ok")
    flash(f"Retried {len(wanted)} record(s), {failed} failed.", "error" if failed else "ok")
    return _back(connection_id)


@blueprint.route("/connections/<connection_id>/errors/dismiss", methods=["POST"])
@login_required
def dismiss(connection_id: str) -> Any:
    connection_of(connection_id)
    register = request.form.get("register", "")
    direction = request.form.get("direction", "")
    key = request.form.get("record_key", "")
    if not ErrorList(client(), connection_id).resolve(register, direction, key):
        abort(404)
    flash(f"Dismissed {register} {key}.", "ok")
    return _back(connection_id)


@blueprint.route("/connections/<connection_id>/runs")
@login_required
def runs(connection_id: str) -> Any:
    connection_of(connection_id)
    history = Runs(client(), connection_id)
    reports = {name: history.history(name, 10) for name in NAMES}
    flower = ""
    if current_user().is_operator:
        flower = f"http://{settings().flower_host}:{settings().flower_port}"
    return render_template("runs.html", connection_id=connection_id, reports=reports,
                           flower=flower)  # fmt: skip
