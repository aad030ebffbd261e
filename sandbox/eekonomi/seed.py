"""Dump and seed: a company's store in the API's own wire format, both ways.

Tests, the demo and the benchmarks load data the way a database restore would — no API
validation, no rate limit — but the records must still look as if eEkonomi had made
them. So a seed may be *sparse*: missing fields get their defaults, derived fields
(names, unit data, the terms' copy, draft totals) are filled, and an invoice given only
customer + rows is booked for real (amounts, OCR, voucher). A dump seeded into a fresh
sandbox dumps identically.
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.core.store import Record
from sandbox.eekonomi.articles import article_computed
from sandbox.eekonomi.booking import (
    apply_payment,
    book,
    customer_amounts,
    ocr_number,
    unpaid_by_customer,
)
from sandbox.eekonomi.context import Ctx
from sandbox.eekonomi.customers import customer_computed
from sandbox.eekonomi.drafts import draft_computed
from sandbox.eekonomi.invoices import LENIENT, header_dates
from sandbox.eekonomi.reads import records
from sandbox.eekonomi.registers import default_settings
from sandbox.eekonomi.sales import DRAFT_ROW, INVOICE_ROW, customer_for, sales_rows
from sandbox.eekonomi.specs import SCHEMA_OF, spec
from sandbox.eekonomi.store import COLLECTIONS
from sandbox.eekonomi.supplier_invoices import ACCOUNT_NAMES
from sandbox.eekonomi.validation import defaults, validate
from sandbox.eekonomi.wire import dec, normal_time


def dump_company(ctx: Ctx) -> dict[str, Any]:
    """One key per collection, records as the API shows them (deep copies)."""
    out: dict[str, Any] = {"companySettings": copy.deepcopy(ctx.company.settings)}
    for name in COLLECTIONS:
        if name != "companySettings":
            out[name] = copy.deepcopy(records(ctx, name))
    return out


def empty_payload() -> dict[str, Any]:
    return {name: [] for name in COLLECTIONS if name != "companySettings"}


def seed_company(ctx: Ctx, payload: dict[str, Any], *, replace: bool) -> dict[str, int]:
    """Load wire-format records (``replace``: into an emptied company); counts per name."""
    company = ctx.company
    if replace:
        company.clear()
    if "companySettings" in payload or replace:
        kept = company.settings if not replace else {}
        given = {**kept, **payload.get("companySettings", {})}
        company.settings = default_settings(company, given)
    counts: dict[str, int] = {}
    for name in COLLECTIONS:
        if name == "companySettings" or name not in payload:
            continue
        given_records = payload[name]
        if not isinstance(given_records, list):
            raise ValueError(f"{name} must be a list of records")
        for raw in given_records:
            seed_record(ctx, name, copy.deepcopy(raw))
        counts[name] = len(given_records)
    known = unpaid_by_customer(company)
    for customer in company.coll("customers").values():
        customer_amounts(customer, known)
    return counts


def _completed(ctx: Ctx, name: str, raw: Record) -> Record:
    """A sparse record with its defaults, a lower-case id and normalized date-times."""
    schema = SCHEMA_OF[name]
    record = {**defaults(schema), **raw}
    if name not in ("countries", "currencies"):
        record["Id"] = str(record.get("Id") or ctx.new_id()).lower()
    now = ctx.now_iso()
    for f in spec(schema).values():
        if f.kind != "datetime":
            continue
        if isinstance(record.get(f.name), str):
            record[f.name] = normal_time(record[f.name])
        elif not f.nullable and not record.get(f.name):
            record[f.name] = now
    return record


def seed_record(ctx: Ctx, name: str, raw: Record) -> None:
    """Store one seeded record, completing what eEkonomi would have derived."""
    company = ctx.company
    if name == "suppliers":
        record = {"Id": raw.get("Id") or ctx.new_id(), **raw}
        record["Id"] = record["Id"].lower()
        company.coll(name).put(record)
        return
    record = _completed(ctx, name, raw)
    if name == "costCenters":
        _seed_cost_center(ctx, record)
        return
    if name == "customerInvoices" and "TotalAmount" not in raw:
        _seed_invoice(ctx, record, raw)
        return
    _derive(ctx, name, record, raw)
    company.coll(name).put(record)


def _derive(ctx: Ctx, name: str, record: Record, raw: Record) -> None:
    company = ctx.company
    if name == "customers":
        customer_computed(company, record, unpaid=False)  # one pass at the end
    elif name == "articles":
        article_computed(company, record)
    elif name == "projects":
        customer = company.coll("customers").get(record.get("CustomerId") or "")
        record["CustomerName"] = customer["Name"] if customer else None
    elif name == "customerInvoiceDrafts":
        _seed_draft(ctx, record, raw)
    elif name == "supplierInvoices":
        for index, row in enumerate(record.get("Rows") or []):
            row.update({**defaults("SupplierInvoiceRowApi"), **row})
            row["Id"] = str(row.get("Id") or ctx.new_id()).lower()
            row["LineNumber"] = row.get("LineNumber") or index + 1
            row["AccountName"] = row.get("AccountName") or ACCOUNT_NAMES.get(
                int(row["AccountNumber"])
            )


def _seed_cost_center(ctx: Ctx, record: Record) -> None:
    items = record.pop("Items", None) or []
    ctx.company.coll("costCenters").put(record)
    for given in items:
        item = {**defaults("CostCenterItemApi"), **given, "CostCenterId": record["Id"]}
        item["Id"] = str(item.get("Id") or ctx.new_id()).lower()
        item["CreatedUtc"] = item.get("CreatedUtc") or ctx.now_iso()
        ctx.company.coll("costCenterItems").put(item)


def _seed_draft(ctx: Ctx, record: Record, raw: Record) -> None:
    """A draft given without totals gets its rows and totals computed."""
    customer = ctx.company.coll("customers").get(record.get("CustomerId") or "")
    if customer is None or "TotalAmount" in raw:
        return
    record["Rows"] = sales_rows(
        ctx,
        raw.get("Rows"),
        customer,
        row_schema=DRAFT_ROW,
        existing_rows=None,
        replace_zero_price=False,
    )
    record["TermsOfPaymentId"] = record.get("TermsOfPaymentId") or customer["TermsOfPaymentId"]
    draft_computed(ctx.company, record, customer)


def _seed_invoice(ctx: Ctx, record: Record, raw: Record) -> None:
    """A sparse invoice seed is booked for real: customer, rows and dates in, amounts,
    OCR and voucher out. ``InvoiceNumber``/``CreatedUtc``/``ModifiedUtc``/``SendType``
    are kept when given; ``PaidAmount`` + ``PaymentDate`` register a payment."""
    company = ctx.company
    customer = customer_for(ctx, record.get("CustomerId"))
    rows = sales_rows(
        ctx,
        raw.get("Rows"),
        customer,
        row_schema=INVOICE_ROW,
        existing_rows=None,
        replace_zero_price=False,
    )
    header_in = {k: v for k, v in raw.items() if k not in ("Rows", "PaidAmount")}
    header = validate("CustomerInvoiceApi", header_in, lenient=LENIENT)
    header_dates(ctx, header, customer)
    invoice = book(ctx, header, rows, customer)
    invoices = company.coll("customerInvoices")
    invoices.remove(invoice["Id"])
    invoice["Id"] = record["Id"]
    for name in ("CreatedUtc", "ModifiedUtc"):
        if raw.get(name) is not None:
            invoice[name] = normal_time(raw[name])
    if raw.get("InvoiceNumber") is not None:
        invoice["InvoiceNumber"] = raw["InvoiceNumber"]
    number = int(invoice["InvoiceNumber"])
    if company.settings.get("UsesPaymentReferenceNumber"):
        invoice["PaymentReferenceNumber"] = ocr_number(number)
    invoice["VoucherNumber"] = f"KF{number}"
    invoices.put(invoice)
    if raw.get("PaidAmount"):
        apply_payment(ctx, invoice, dec(raw["PaidAmount"]), raw.get("PaymentDate"), touch=False)
