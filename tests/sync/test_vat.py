"""VAT right the first time (R-5.2, R-5.4, issue 19): an article from Severa gets the
coding of its Severa item's VAT rate, an update never changes an article's coding, and
a totals warning names the rows whose VAT differs. Real worker, real Redis, both
sandboxes over HTTP, the demo data."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests

from schemas.invoices import vat_differences
from tests.sync.conftest import World, run_in_worker, start_worker
from tests.sync.test_invoices import fix_lic_collision
from worker.sync.errorlist import WARNING, ErrorList

pytestmark = pytest.mark.integration


def _store(world: World, side: str, collection: str) -> list[dict[str, Any]]:
    app = world.severa if side == "severa" else world.eekonomi
    return list(app.dump_store()[collection])


def _coding_names(world: World) -> dict[str, str]:
    """Article number → the name of its coding, as eEkonomi has it."""
    names = {c["Id"]: c["Name"] for c in _store(world, "eekonomi", "articleAccountCodings")}
    return {a["Number"]: names[a["CodingId"]] for a in _store(world, "eekonomi", "articles")}


def _transfer_all(world: World, celery_app: Any) -> str:
    fix_lic_collision(world)
    worker = start_worker(world, celery_app)
    for register in ("customers", "products", "projects", "invoices"):
        report = run_in_worker(world, celery_app, register, worker.queue)
        assert report["status"] == "finished", report
    return worker.queue


def _severa_rows(world: World) -> dict[str, list[dict[str, Any]]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for row in _store(world, "severa", "invoiceRows"):
        rows.setdefault(row["invoiceGuid"], []).append(row)
    return rows


def test_demo_articles_get_their_severa_vat_and_drafts_carry_it(
    world: World, celery_app: Any
) -> None:
    _transfer_all(world, celery_app)

    codings = _coding_names(world)
    # the coding of the Severa item's VAT rate; the default where none is known.
    assert codings["MIL"] == "Momsfri försäljning/export"  # mileage, 0 %
    assert codings["TRAKT"] == "Momsfri försäljning/export"  # daily allowance, 0 %
    assert codings["RESA"] == "Varor 6% moms"
    assert codings["BOK-01"] == "Varor 6% moms"
    assert codings["LUN-01"] == "Varor 12% moms"
    assert codings["UTB-01"] == "Tjänster 25% moms"
    assert codings["KONS-JR"] == "Tjänster 25% moms"  # work types carry no VAT rate
    # An existing article keeps the coding a person chose, though Severa updated it.
    assert codings["HW-100"] == "Varor 25% moms"
    hw = next(a for a in _store(world, "eekonomi", "articles") if a["Number"] == "HW-100")
    assert Decimal(str(hw["NetPrice"])) == Decimal("12500")  # the update did happen
    assert Decimal(str(hw["GrossPrice"])) == Decimal("15625")

    # Every draft row carries the VAT of its Severa row ...
    rows = _severa_rows(world)
    drafts = [
        d
        for d in _store(world, "eekonomi", "customerInvoiceDrafts")
        if str(d.get("SubscriptionNumber") or "").startswith("severa:")
    ]
    assert len(drafts) >= 7
    for draft in drafts:
        guid = draft["SubscriptionNumber"].removeprefix("severa:")
        assert vat_differences(rows[guid], draft["Rows"]) == [], guid
    # ... so no totals warning is left but the demo's 4-decimal price (rounding).
    warnings = [
        e
        for e in ErrorList(world.redis, world.connection_id).entries(register="invoices")
        if e.kind == WARNING
    ]
    assert all("VAT differs" not in w.reason for w in warnings), [w.reason for w in warnings]
    assert len(warnings) <= 1, [w.reason for w in warnings]
    for warning in warnings:
        assert "4928.70 excl. VAT" in warning.reason


def test_a_totals_warning_names_the_rows_whose_vat_differs(world: World, celery_app: Any) -> None:
    """A person gave the mileage article a 25 % coding in eEkonomi before the invoices
    came: the draft's mileage rows carry 25 %, and the warning says which rows."""
    fix_lic_collision(world)
    worker = start_worker(world, celery_app)
    for register in ("customers", "products", "projects"):
        run_in_worker(world, celery_app, register, worker.queue)
    services = next(
        c["Id"]
        for c in _store(world, "eekonomi", "articleAccountCodings")
        if c["Name"] == "Tjänster 25% moms"
    )
    mil = next(a for a in _store(world, "eekonomi", "articles") if a["Number"] == "MIL")
    answer = requests.post(
        f"{world.eekonomi_url}/_sandbox/ui/articles/{mil['Id']}/edit",
        json={"CodingId": services},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text

    run_in_worker(world, celery_app, "invoices", worker.queue)

    reasons = [
        e.reason
        for e in ErrorList(world.redis, world.connection_id).entries(register="invoices")
        if e.kind == WARNING
    ]
    mileage = [r for r in reasons if "Milersättning" in r]
    assert len(mileage) == 1, reasons
    assert "VAT differs on row 3 'Milersättning' (MIL): Severa 0 %, eEkonomi 25 %" in (mileage[0])
