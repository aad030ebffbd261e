"""What ``bench/chaos.py``'s world must become, and what its back office does in eEkonomi.

:class:`Expected` holds the natural keys of every eligible record, taken from the
generated Severa seed and from what the back office books: the checks
(:mod:`chaos_checks`) compare the sandbox dumps with it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import requests
from invoice_transfer import Plan
from register_transfer import Sandbox

#: The eEkonomi cost center the bench's settings choose for projects (R-3.3).
PROJECT_CENTER = "Projekt"
SUPPLIERS = ("Ahlsell AB", "Dustin Sverige AB", "Elektroskandia Sverige AB", "SJ AB")


@dataclass
class Expected:
    """Natural keys of the eligible records, and what the back office did."""

    customers: set[str]
    articles: set[str]
    projects: set[str]
    #: Severa invoice guid → customer number (every invoice is "to transfer").
    invoices: dict[str, str]
    #: Severa invoice guid → eEkonomi invoice id, of the drafts the back office booked.
    booked: dict[str, str] = field(default_factory=dict)
    #: eEkonomi ids of the drafts it booked (gone, or left beside their invoice).
    booked_drafts: set[str] = field(default_factory=set)
    paid: set[str] = field(default_factory=set)
    #: Supplier cost rows on a project item: row key → project number.
    fee_rows: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, plan: Plan, seed: dict[str, Any]) -> Expected:
        codes = {
            str(a["code"])
            for kind in ("products", "workTypes", "travelExpenseTypes")
            for a in seed[kind]
        }
        return cls(
            customers={str(c["number"]) for c in seed["customers"]},
            articles=codes,
            projects={str(p["number"]) for p in seed["projects"]},
            invoices={guid: str(number) for guid, (number, _) in plan.expected.items()},
        )


def _post(base: str, path: str, body: Any) -> Any:
    answer = requests.post(f"{base}/_sandbox{path}", json=body, timeout=60)
    answer.raise_for_status()
    return answer.json()


def dump(base: str) -> dict[str, Any]:
    answer = requests.get(f"{base}/_sandbox/dump", timeout=300)
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def book_and_pay(box: Sandbox, expected: Expected, rng: random.Random, share: float = 0.6) -> None:
    """A person books ``share`` of the invoices' drafts and pays half of those in full."""
    from schemas.invoices import severa_guid_of

    drafts: dict[str, dict[str, Any]] = {}
    for draft in dump(box.eekonomi)["customerInvoiceDrafts"]:
        guid = severa_guid_of(draft.get("SubscriptionNumber"))
        if guid in expected.invoices and guid not in drafts:
            drafts[guid] = draft
    for guid in sorted(drafts):
        if rng.random() >= share:
            continue
        invoice = _post(box.eekonomi, f"/ui/customerinvoicedrafts/{drafts[guid]['Id']}/convert", {})
        expected.booked[guid] = str(invoice["Id"])
        expected.booked_drafts.add(str(drafts[guid]["Id"]))
        if rng.random() < 0.5:
            _post(box.eekonomi, f"/ui/customerinvoices/{invoice['Id']}/pay", {})
            expected.paid.add(guid)


def book_supplier_invoices(
    box: Sandbox, expected: Expected, count: int, rng: random.Random
) -> None:
    """A person books ``count`` supplier invoices of 1–3 cost rows, each on a project's
    cost-center item (of those the projects transfer made), with VAT and payables."""
    from schemas.supplier_invoices import cost_rows

    centers = dump(box.eekonomi)["costCenters"]
    items = [
        item
        for center in centers
        if center["Name"] == PROJECT_CENTER
        for item in center["Items"]
        if str(item["ShortName"]) in expected.projects
    ]
    if not items:
        raise RuntimeError("no project cost-center item in eEkonomi to book costs on")
    for number in range(count):
        costs = [round(rng.uniform(100, 20_000), 2) for _ in range(rng.randint(1, 3))]
        chosen = [rng.choice(items) for _ in costs]
        net = round(sum(costs), 2)
        vat = round(net * 0.25, 2)
        rows = [
            {"AccountNumber": 4010, "DebetAmount": cost, "CreditAmount": 0,
             "CostCenterItemId1": item["Id"]}
            for cost, item in zip(costs, chosen, strict=True)
        ]  # fmt: skip
        rows += [
            {"AccountNumber": 2641, "DebetAmount": vat, "CreditAmount": 0},
            {"AccountNumber": 2440, "DebetAmount": 0, "CreditAmount": round(net + vat, 2)},
        ]
        invoice = _post(box.eekonomi, "/ui/supplierinvoices", {
            "SupplierName": rng.choice(SUPPLIERS), "InvoiceNumber": f"C-{number + 1}",
            "InvoiceDate": "2026-10-01", "TotalAmount": round(net + vat, 2), "Vat": vat,
            "IsCreditInvoice": False, "CurrencyCode": "SEK", "Rows": rows,
        })  # fmt: skip
        by_id = {item["Id"]: str(item["ShortName"]) for item in items}
        for key, row in cost_rows(invoice):
            expected.fee_rows[key] = by_id[row["CostCenterItemId1"]]
