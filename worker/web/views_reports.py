"""A connection's reports of trust (issue 19) in the browser: the comparison report and
the dry run, read only.

Each page calls the very function ``python -m worker compare`` / ``plan all`` calls
(:func:`worker.cli_trust.compare_result`, :func:`worker.cli_trust.plan_result`), so the
page and the CLI's JSON never disagree. Neither writes to either API nor changes what
the sync remembers; both go through :func:`worker.web.security.connection_of` first.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from worker.cli_transfers import _one_line_errors
from worker.cli_trust import compare_result, plan_result
from worker.registry import NAMES
from worker.sync.compare import CATEGORIES
from worker.sync.plan import PLAN_ACTIONS
from worker.web.security import connection_of, login_required

blueprint = Blueprint("reports", __name__)


@blueprint.route("/connections/<connection_id>/compare")
@login_required
def compare(connection_id: str) -> Any:
    connection_of(connection_id)
    problem, result = "", {}
    try:
        result = compare_result(connection_id)
    except _one_line_errors() as exc:
        problem = str(exc)
    return render_template("compare.html", connection_id=connection_id, result=result,
                           categories=CATEGORIES, problem=problem)  # fmt: skip


@blueprint.route("/connections/<connection_id>/plan")
@login_required
def plan(connection_id: str) -> Any:
    connection_of(connection_id)
    problem, result = "", {}
    try:
        result = plan_result(connection_id, list(NAMES))
    except _one_line_errors() as exc:
        problem = str(exc)
    return render_template("plan.html", connection_id=connection_id, result=result,
                           actions=list(PLAN_ACTIONS.values()), problem=problem)  # fmt: skip
