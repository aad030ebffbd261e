"""Fetch supplier invoices end to end (R-1.5, R-5.5, R-6.1, R-6.2): real worker processes,
the real Redis, both sandboxes over HTTP on 127.0.0.1.

Both demo companies number their projects alike (Severa project ``1001`` is eEkonomi's
cost-center item and project ``1001``, R-5.3); each test first transfers the projects so
the items are linked, and then fetches the supplier invoices.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import pytest
import requests

from config import company
from sandbox.core import Fault
from tests.sync.conftest import (
    World,
    kill_workers,
    run_in_worker,
    start_worker,
    wait_for_run_as_beat_would,
)
from worker.sync.errorlist import ErrorList

pytestmark = pytest.mark.integration

#: The demo's cost rows on projects → (Severa project number, cost), by R-5.5's text (a
#: fee's name; its description ends in the row's marker after that text).
EXPECTED = {
    "2026-03-04 LF1 Dustin Sverige AB": [(1001, 8000)],
    "2026-04-16 LF2 SJ AB": [(1002, 1161.32)],
    "2026-05-20 LF4 Circle K Sverige AB": [(1001, 300), (1003, 500)],
    "2026-06-02 LF5 Elektroskandia Sverige AB": [(1001, 5000)],
    "2026-06-09 LF6 Elektroskandia Sverige AB": [(1001, -1200)],  # the credit note
}


def _prepare(world: World, celery_app: Any) -> str:
    """Start a worker and link the projects (1001–1003 exist on both sides)."""
    worker = start_worker(world, celery_app)
    assert run_in_worker(world, celery_app, "projects", worker.queue)["updated"] == 3
    return worker.queue


def _fees(world: World) -> list[dict[str, Any]]:
    """The fees the transfer made (the demo's own fees carry a product name)."""
    return [
        f
        for f in world.severa.dump_store()["projectFees"]
        if f.get("description") and " LF" in f["description"]
    ]


def _numbers(world: World) -> dict[str, int]:
    return {p["guid"]: p["number"] for p in world.severa.dump_store()["projects"]}


def _by_description(world: World) -> dict[str, list[tuple[int, float]]]:
    numbers = _numbers(world)
    found: dict[str, list[tuple[int, float]]] = {}
    for fee in _fees(world):
        found.setdefault(fee["name"], []).append(
            (numbers[fee["project"]["guid"]], fee["unitCost"]["amount"])
        )
    return {k: sorted(v) for k, v in found.items()}


def _bindings(world: World) -> dict[str, dict[str, Any]]:
    raw = world.redis.hgetall(f"sync:conn:{world.connection_id}:bindings:supplier_invoices")
    return {str(k): json.loads(v) for k, v in raw.items()}


def _errors(world: World) -> dict[str, str]:
    return {
        e.record.number: e.reason
        for e in ErrorList(world.redis, world.connection_id).entries(register="supplier_invoices")
    }


def _assert_one_fee_per_row(world: World) -> None:
    counts = Counter(
        (f["name"], f["project"]["guid"], f["unitCost"]["amount"]) for f in _fees(world)
    )
    assert [k for k, n in counts.items() if n > 1] == []
    assert _by_description(world) == EXPECTED


def _bo(world: World, side: str, path: str, body: Any) -> Any:
    base = world.eekonomi_url if side == "eekonomi" else world.severa_url
    response = requests.post(f"{base}/_sandbox{path}", json=body, timeout=10)
    assert response.ok, response.text
    return response.json()


def _supplier_invoice(world: World, voucher: str) -> dict[str, Any]:
    found = [
        i for i in world.eekonomi.dump_store()["supplierInvoices"] if i["VoucherNumber"] == voucher
    ]
    return found[0]


@pytest.mark.parametrize("billable", [True, False], ids=["billable", "not-billable"])
def test_r_5_5_given_the_demo_data_then_the_right_rows_become_the_right_fees(
    world: World, celery_app: Any, billable: bool
) -> None:
    company.update(world.redis, world.connection_id, {"supplier_invoices_billable": billable})
    queue = _prepare(world, celery_app)

    report = run_in_worker(world, celery_app, "supplier_invoices", queue)

    assert report["status"] == "finished"
    assert (report["created"], report["failed"]) == (6, 1)
    assert _by_description(world) == EXPECTED
    bound = {b["severa_id"]: key for key, b in _bindings(world).items()}
    for fee in _fees(world):
        cost = fee["unitCost"]["amount"]
        # R-5.5's text, and the row's marker after it (issue 14 item 7).
        assert fee["description"] == f"{fee['name']} (eekonomi:{bound[fee['guid']]})"
        assert fee["eventDate"] == fee["name"][:10]
        assert (fee["quantity"], fee["vatRate"], fee["isBillable"]) == (1, 25, billable)
        assert fee["unitPrice"]["amount"] == (cost if billable else 0)
        assert fee["unitCost"]["currencyCode"] == "SEK"
    # Scandic's row was imported with four decimals: listed, the rest unaffected.
    assert "more decimals than Severa keeps" in _errors(world)["LF3 row 1"]

    world.clear_logs()
    again = run_in_worker(world, celery_app, "supplier_invoices", queue)
    assert again["created"] == again["updated"] == 0
    assert world.writes() == []


def test_r_6_1_given_sigkill_during_a_create_then_each_row_has_exactly_one_fee(
    world: World, celery_app: Any
) -> None:
    queue = _prepare(world, celery_app)
    # The worker dies while its POST is on the wire; Severa still makes the fee.
    world.severa.add_fault(
        Fault("/rest-api/v1/projectfees", method="POST", action="delay", delay=2.0)
    )
    result = celery_app.send_task(  # type: ignore[attr-defined]
        "sync.fetch_supplier_invoices", args=[world.connection_id], queue=queue
    )
    deadline = time.monotonic() + 30
    while world.severa.faults and time.monotonic() < deadline:
        time.sleep(0.05)
    assert world.severa.faults == [], "the armed fault was never hit"
    time.sleep(0.3)
    kill_workers(world)
    time.sleep(2.5)  # let the sandbox finish the write the worker gave up
    start_worker(world, celery_app, queue=queue)

    report = wait_for_run_as_beat_would(world, celery_app, str(result.id), queue, 120)

    assert report["status"] == "finished"
    _assert_one_fee_per_row(world)
    world.clear_logs()
    again = run_in_worker(world, celery_app, "supplier_invoices", queue)
    assert again["created"] == again["updated"] == 0
    assert world.writes() == []


def test_r_6_1_given_write_then_drop_on_fee_creates_then_each_row_has_exactly_one_fee(
    world: World, celery_app: Any
) -> None:
    queue = _prepare(world, celery_app)
    world.severa.add_fault(
        Fault("/rest-api/v1/projectfees", method="POST", action="write_then_drop", times=3)
    )

    report = run_in_worker(world, celery_app, "supplier_invoices", queue)

    assert report["status"] == "finished"
    assert len([e for e in world.severa.log if e.status == 0]) == 3
    assert (report["created"], report["failed"]) == (6, 1)
    _assert_one_fee_per_row(world)
    assert not any("kept failing" in reason for reason in _errors(world).values())
    world.clear_logs()
    again = run_in_worker(world, celery_app, "supplier_invoices", queue)
    assert again["created"] == again["updated"] == 0
    assert world.writes() == []


def _change_cost(world: World, voucher: str, amount: float) -> None:
    """A person corrects the first cost row of a booked supplier invoice in eEkonomi."""
    invoice = _supplier_invoice(world, voucher)
    rows = [dict(r) for r in invoice["Rows"]]
    rows[0]["DebetAmount" if rows[0]["DebetAmount"] else "CreditAmount"] = abs(amount)
    _bo(world, "eekonomi", f"/ui/supplierinvoices/{invoice['Id']}/edit", {"Rows": rows})


def test_given_a_row_changed_after_transfer_then_its_fee_is_updated_unless_invoiced(
    world: World, celery_app: Any
) -> None:
    queue = _prepare(world, celery_app)
    run_in_worker(world, celery_app, "supplier_invoices", queue)
    fees = {f["name"]: f for f in _fees(world)}
    count = len(_fees(world))
    # Severa invoices the Elektroskandia fee (a person does, in Severa's UI).
    invoiced = fees["2026-06-02 LF5 Elektroskandia Sverige AB"]
    some_invoice = world.severa.dump_store()["invoices"][0]
    on_invoice = {"guid": some_invoice["guid"], "number": 10042, "date": "2026-07-01"}
    _bo(world, "severa", f"/edit/projectFees/{invoiced['guid']}", {"invoice": on_invoice})
    _change_cost(world, "LF1", 8500)
    _change_cost(world, "LF5", 5250)

    report = run_in_worker(world, celery_app, "supplier_invoices", queue)

    assert (report["updated"], report["failed"]) == (1, 2)  # LF5 listed, LF3 still listed
    after = {f["name"]: f for f in _fees(world)}
    dustin = after["2026-03-04 LF1 Dustin Sverige AB"]
    assert dustin["guid"] == fees["2026-03-04 LF1 Dustin Sverige AB"]["guid"]
    assert (dustin["unitCost"]["amount"], dustin["unitPrice"]["amount"]) == (8500, 8500)
    assert after["2026-06-02 LF5 Elektroskandia Sverige AB"]["unitCost"]["amount"] == 5000
    reason = _errors(world)["LF5 row 1"]
    assert "invoiced in Severa (invoice 10042)" in reason
    assert "unit cost 5000 → 5250" in reason
    assert len(_fees(world)) == count


def test_r_6_2_given_rows_on_an_unlinked_or_closed_project_then_they_are_listed_and_the_rest_transfer(  # noqa: E501
    world: World, celery_app: Any
) -> None:
    queue = _prepare(world, celery_app)
    project_1003 = next(p for p in world.severa.dump_store()["projects"] if p["number"] == 1003)
    _bo(world, "severa", f"/projects/{project_1003['guid']}/close", {"closed": True})
    # A purchase booked on the old eEkonomi project item 0999, which Severa does not have.
    items = [i for c in world.eekonomi.dump_store()["costCenters"] for i in c["Items"]]
    old = next(i for i in items if i["ShortName"] == "0999")
    _bo(world, "eekonomi", f"/ui/costcenteritems/{old['Id']}/edit", {"IsActive": True})
    _bo(world, "eekonomi", "/ui/supplierinvoices", {
        "SupplierName": "Ahlsell AB", "InvoiceNumber": "A-1", "InvoiceDate": "2026-10-01",
        "TotalAmount": 125.0, "Vat": 25.0, "IsCreditInvoice": False, "CurrencyCode": "SEK",
        "Rows": [
            {"AccountNumber": 4010, "DebetAmount": 100.0, "CreditAmount": 0,
             "CostCenterItemId1": old["Id"]},
            {"AccountNumber": 2641, "DebetAmount": 25.0, "CreditAmount": 0},
            {"AccountNumber": 2440, "DebetAmount": 0, "CreditAmount": 125.0},
        ],
    })  # fmt: skip

    report = run_in_worker(world, celery_app, "supplier_invoices", queue)

    assert (report["created"], report["failed"]) == (5, 3)
    errors = _errors(world)
    assert "Severa project 1003" in errors["LF4 row 1"]
    assert "is closed" in errors["LF4 row 1"]
    assert "cost-center item 0999 is not linked to a Severa project" in errors["LF8 row 1"]
    assert "more decimals" in errors["LF3 row 1"]
    assert {d for d, _ in _by_description(world).items()} == set(EXPECTED)


def test_r_4_1_fetch_supplier_invoices_runs_from_the_cli_and_beat_hourly(world: World) -> None:
    from click.testing import CliRunner

    from worker.cli import main
    from worker.registry import spec_of
    from worker.sync.service import due_transfers

    assert spec_of("supplier_invoices").task == "sync.fetch_supplier_invoices"
    cli = ["--now", "--connection", world.connection_id]
    CliRunner().invoke(main, ["run", "projects", *cli])
    result = CliRunner().invoke(main, ["run", "supplier_invoices", *cli])
    assert "supplier_invoices: 6 created, 0 updated, 0 unchanged, 1 failed" in result.output
    assert result.exit_code == 1  # the Scandic row is listed
    now = time.time()
    assert "supplier_invoices" not in due_transfers(world.connection_id, now + 15 * 60 + 1)
    assert "supplier_invoices" in due_transfers(world.connection_id, now + 60 * 60 + 1)
    company.update(world.redis, world.connection_id, {"supplier_invoice_interval_minutes": 5})
    assert "supplier_invoices" in due_transfers(world.connection_id, now + 5 * 60 + 1)
