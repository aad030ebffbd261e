"""The reports of trust in the web app (issue 19): the comparison report and the dry run
of a connection, each the same as the CLI's JSON for it, read only, and hidden (404)
from another connection's admin.

Real parts: waitress on an ephemeral port, the real Redis, both sandboxes over HTTP,
the demo data and a real worker process (tests/web/conftest.py).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner

from tests.sync.test_plan import _state
from tests.web.conftest import Web, WebApp

pytestmark = pytest.mark.integration


def _cli(app: WebApp, *args: str) -> dict[str, Any]:
    from worker.cli import main

    result = CliRunner().invoke(main, [*args, "--json", "--connection", app.world.connection_id])
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.output)
    return parsed


def _counts(html: str, table: str, attribute: str) -> dict[str, dict[str, int]]:
    """{register: {column: count}} read off the page's counts table."""
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    counts: dict[str, dict[str, int]] = {}
    for register, row in re.findall(r'<tr data-register="([^"]+)">(.*?)</tr>', body, re.S):
        cells = re.findall(rf'<td {attribute}="([^"]+)">(\d+)</td>', row)
        counts[register] = {name: int(value) for name, value in cells}
    return counts


def _operator(app: WebApp, make_user: Callable[..., str]) -> Web:
    web = Web(app.url)
    assert web.login(make_user("operator")).status_code == 302
    return web


def test_operator_sees_the_comparison_report_as_the_cli_computes_it(
    web_app: WebApp, make_user: Callable[..., str]
) -> None:
    from worker.sync.compare import CATEGORIES

    web = _operator(web_app, make_user)
    a = web_app.world.connection_id
    before = _state(web_app.world)
    web_app.world.clear_logs()

    page = web.get(f"/connections/{a}/compare")

    assert page.status_code == 200
    assert web_app.world.writes() == []
    assert _state(web_app.world) == before
    expected = _cli(web_app, "compare")
    shown = _counts(page.text, "compare-counts", "data-category")
    assert shown == {name: report["counts"] for name, report in expected.items()}
    assert set(shown) == {"customers", "products", "projects"}
    for category in CATEGORIES:
        assert f"<th>{category}</th>" in page.text
    # The records, too: each only-in-Severa customer the CLI lists is on the page.
    for item in expected["customers"]["only_severa"]:
        assert f"<td>{item['key']}</td>" in page.text
    assert sum(sum(c.values()) for c in shown.values()) > 0
    assert f'href="/connections/{a}/compare"' in web.get(f"/connections/{a}").text


def test_operator_sees_the_dry_run_as_the_cli_computes_it_and_nothing_is_written(
    web_app: WebApp, make_user: Callable[..., str]
) -> None:
    from worker.registry import NAMES
    from worker.sync.plan import PLAN_ACTIONS

    web = _operator(web_app, make_user)
    a = web_app.world.connection_id
    before = _state(web_app.world)
    web_app.world.clear_logs()

    page = web.get(f"/connections/{a}/plan")

    assert page.status_code == 200
    assert web_app.world.writes() == []
    assert _state(web_app.world) == before
    expected = _cli(web_app, "plan", "all")
    shown = _counts(page.text, "plan-counts", "data-action")
    actions = list(PLAN_ACTIONS.values())
    assert shown == {
        name: {a: planned[a] for a in actions}
        for name, planned in expected.items()
        if "refused" not in planned
    }
    assert set(expected) == set(NAMES)
    for name, planned in expected.items():
        if "refused" in planned:
            assert "would not start" in page.text, name
    assert sum(c["create"] for c in shown.values()) > 0
    created = [r for r in expected["customers"]["records"] if r["action"] == "create"]
    assert created
    assert f"<td>{created[0]['key']}</td>" in page.text
    assert f'href="/connections/{a}/plan"' in web.get(f"/connections/{a}").text


def test_admin_of_another_connection_gets_404_for_both_reports(
    web_app: WebApp, make_user: Callable[..., str]
) -> None:
    from worker.connections import registry

    other = f"t-b{uuid.uuid4().hex[:10]}"
    registry(web_app.world.redis).add(other, None)
    admin_b = Web(web_app.url)
    assert admin_b.login(make_user("admin", other)).status_code == 302
    a = web_app.world.connection_id
    web_app.world.clear_logs()
    for page in ("compare", "plan"):
        anonymous = Web(web_app.url).get(f"/connections/{a}/{page}", allow_redirects=False)
        assert anonymous.status_code == 302, page
        assert "/login" in anonymous.headers["Location"], page
        assert admin_b.get(f"/connections/{a}/{page}").status_code == 404, page
        assert admin_b.get(f"/connections/no-such/{page}").status_code == 404, page
    assert web_app.world.writes() == []
    # Its own connection's pages open (no credentials there: a clear message, no 500).
    for page in ("compare", "plan"):
        assert admin_b.get(f"/connections/{other}/{page}").status_code == 200, page
