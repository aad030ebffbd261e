"""The comparison report (issue 19): both sides of customers, products and projects by
natural key, read only. Real worker, real Redis, both sandboxes over HTTP, the demo
data plus edits that make each category."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from tests.sync.conftest import World, run_in_worker, start_worker
from tests.sync.test_plan import _state

pytestmark = pytest.mark.integration


def _compare(world: World, *args: str) -> Any:
    from worker.cli import main

    result = CliRunner().invoke(main, ["compare", *args, "--connection", world.connection_id])
    assert result.exit_code == 0, result.output
    return result.output


def _keys(report: dict[str, Any], category: str) -> set[str]:
    return {item["key"] for item in report[category]}


def _reads(world: World) -> dict[str, int]:
    """GETs per path (ids and query left out) the sandboxes answered."""
    counts: dict[str, int] = {}
    for app in (world.severa, world.eekonomi):
        for entry in app.log:
            if entry.method == "GET":
                path = "/".join(p for p in entry.path.split("?")[0].split("/")[:4])
                counts[path] = counts.get(path, 0) + 1
    return counts


def test_compare_before_go_live_sorts_every_record_and_reads_only(world: World) -> None:
    before = _state(world)
    world.clear_logs()

    reports = json.loads(_compare(world, "--json"))

    assert world.writes() == []
    assert _state(world) == before
    customers, products, projects = (reports[r] for r in ("customers", "products", "projects"))
    # Nothing is linked before the first transfer.
    for report in reports.values():
        assert report["linked_equal"] == report["linked_different"] == []
    # Severa-only customers would be created in eEkonomi; eEkonomi-only in Severa.
    assert "1006" in _keys(customers, "only_severa")
    assert "1001" in _keys(customers, "matched_not_linked")
    assert {"5001", "5002"} <= _keys(customers, "only_eekonomi")
    # Refused, each with its rule and what to do.
    refused = {item["key"]: item for item in customers["refused"]}
    # ... exactly the customers a transfer would fail (tests/sync/test_plan.py).
    assert set(refused) == {"K-77", "5004", "1049", "1050", "1039"}
    assert "not numeric" in refused["K-77"]["reason"]
    assert "Severa already has a customer named" in refused["5004"]["reason"]
    assert refused["1049"]["rule"] == "R-2.1"
    assert "longer than 50 characters" in refused["1039"]["reason"]
    # Matched by key but not linked: articles on both sides (HW-100, KONS-SR).
    assert {"hw-100", "kons-sr"} <= _keys(products, "matched_not_linked")
    hw = next(i for i in products["matched_not_linked"] if i["key"] == "hw-100")
    assert hw["fields"]["net_price"] == {"severa": "12500", "eekonomi": "4500"}
    product_refusals = {item["key"]: item for item in products["refused"]}
    assert product_refusals["lic-01"]["rule"] == "R-2.3"
    assert any(r["rule"] == "R-2.3" for r in product_refusals.values() if "guid:" in r["key"])
    assert projects["only_severa"]
    assert [r["key"] for r in projects["refused"]] == ["1000000021"]
    assert "longer than 9 characters" in projects["refused"][0]["reason"]
    assert "0999" in _keys(projects, "only_eekonomi")
    # About one list read per resource: no record is read one by one.
    reads = _reads(world)
    assert max(reads.values()) <= 3, reads


def test_compare_after_a_transfer_shows_linked_records_and_their_differences(
    world: World, celery_app: Any
) -> None:
    worker = start_worker(world, celery_app)
    run_in_worker(world, celery_app, "customers", worker.queue)
    customer = next(
        c for c in world.eekonomi.dump_store()["customers"] if c["CustomerNumber"] == "1002"
    )
    answer = requests.post(
        f"{world.eekonomi_url}/_sandbox/ui/customers/{customer['Id']}/edit",
        json={"Telephone": "08-999 99 99"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text

    report = json.loads(_compare(world, "--register", "customers", "--json"))["customers"]

    assert "1001" in _keys(report, "linked_equal")
    (different,) = [i for i in report["linked_different"] if i["key"] == "1002"]
    assert different["fields"]["phone"]["eekonomi"] == "08-999 99 99"
    assert different["fields"]["phone"]["severa"] != "08-999 99 99"
    csv_text = _compare(world, "--register", "customers", "--csv")
    assert "customers,linked_different,1002," in csv_text
    assert ",phone," in csv_text
