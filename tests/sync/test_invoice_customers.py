"""Issue 20: before an invoice's draft its customer is re-synced only when it changed
since it was last synced — real worker processes, the real Redis, both sandboxes over
HTTP, the demo data."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest
import requests

from tests.sync.conftest import World, run_in_worker, start_worker
from tests.sync.test_invoices import (
    _assert_each_invoice_once,
    _customer_number,
    _store,
    _to_transfer,
    transfer_registers,
)

pytestmark = pytest.mark.integration

UNCHANGED, CHANGED = "1001", "1002"


def _requests_about(app: Any, number: str, guid: str, eekonomi_id: str) -> list[str]:
    """The requests that read or wrote one customer (by number, Severa guid or id)."""
    found = []
    for entry in app.log:
        query = unquote(entry.query)
        by_number = "/customers" in entry.path and f"'{number}'" in query
        by_number |= "/customers" in entry.path and f"numbers={number}" in query
        by_id = any(part and part in entry.path for part in (guid, eekonomi_id))
        if by_number or by_id:
            found.append(f"{entry.method} {entry.path}?{query}")
    return found


def test_given_one_customer_changed_in_severa_then_only_it_is_reread_and_rewritten_before_its_draft(  # noqa: E501
    world: World, celery_app: Any
) -> None:
    """After the customers run, a person moves customer 1002 to another city in Severa;
    1001 stays as it was. The invoice run brings 1002 up to date in eEkonomi before its
    draft (the draft copies the eEkonomi customer's address) and neither reads nor
    writes 1001 — the binding and the customers' watermark say it did not change."""
    invoices = _to_transfer(world)
    worker = start_worker(world, celery_app)
    transfer_registers(world, celery_app, worker.queue)
    severa = {str(c["number"]): c for c in _store(world, "severa", "customers")}
    eekonomi = {c["CustomerNumber"]: c for c in _store(world, "eekonomi", "customers")}
    address = next(
        a
        for a in _store(world, "severa", "addresses")
        if a["customer"]["guid"] == severa[CHANGED]["guid"]
    )
    edited = requests.post(
        f"{world.severa_url}/_sandbox/edit/addresses/{address['guid']}",
        json={"postalCode": "598 30", "city": "Vimmerby"},
        timeout=10,
    )
    assert edited.status_code == 200, edited.text
    assert eekonomi[CHANGED]["InvoiceCity"] != "Vimmerby"
    world.clear_logs()

    report = run_in_worker(world, celery_app, "invoices", worker.queue)

    assert report["status"] == "finished"
    _assert_each_invoice_once(world, invoices)
    untouched = [
        *_requests_about(world.severa, UNCHANGED, severa[UNCHANGED]["guid"], ""),
        *_requests_about(world.eekonomi, UNCHANGED, "", eekonomi[UNCHANGED]["Id"]),
    ]
    assert untouched == []
    changed = _requests_about(world.eekonomi, CHANGED, "", eekonomi[CHANGED]["Id"])
    assert f"PUT /v2/customers/{eekonomi[CHANGED]['Id']}?" in changed, changed
    now = {c["CustomerNumber"]: c for c in _store(world, "eekonomi", "customers")}
    assert (now[CHANGED]["InvoicePostalCode"], now[CHANGED]["InvoiceCity"]) == (
        "598 30",
        "Vimmerby",
    )
    drafts = [
        d
        for d in _store(world, "eekonomi", "customerInvoiceDrafts")
        if str(d.get("SubscriptionNumber")).removeprefix("severa:") in invoices
    ]
    cities = {
        _customer_number(invoices[str(d["SubscriptionNumber"]).removeprefix("severa:")]): d[
            "InvoiceCity"
        ]
        for d in drafts
    }
    assert cities[CHANGED] == "Vimmerby"
    assert cities[UNCHANGED] == eekonomi[UNCHANGED]["InvoiceCity"]
