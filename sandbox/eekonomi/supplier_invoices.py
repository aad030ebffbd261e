"""``/v2/supplierinvoices``: purchase costs the product carries to Severa projects.

Rows are bookkeeping rows (``DebetAmount``/``CreditAmount`` — the API's spelling) that
must balance (4032) and reference cost-center items and projects like sales rows do.
``RemainingAmount`` is a liability: negative on a normal invoice, positive on a credit
(notes §7.7). Whether booked invoices also list their VAT and payables rows is a switch.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.money import decimals_of, round_money
from sandbox.core.store import Record
from sandbox.eekonomi.context import Ctx
from sandbox.eekonomi.errors import EEkonomiError, invalid, missing_reference
from sandbox.eekonomi.sales import row_references
from sandbox.eekonomi.validation import defaults, validate
from sandbox.eekonomi.wire import dec, iso_day, parse_moment

ROW = "SupplierInvoiceRowApi"

ACCOUNT_NAMES = {
    2440: "Leverantörsskulder",
    2640: "Ingående moms",
    2641: "Debiterad ingående moms",
    2645: "Beräknad ingående moms på förvärv från utlandet",
    4010: "Inköp material och varor",
    4600: "Legoarbeten och underentreprenader",
    5410: "Förbrukningsinventarier",
    5611: "Drivmedel för personbilar",
    5800: "Resekostnader",
    5810: "Biljetter",
    5831: "Kost och logi i Sverige",
    6212: "Mobiltelefon",
    6540: "IT-tjänster",
    6550: "Konsultarvoden",
}


def is_vat_or_payables(account: Any) -> bool:
    return isinstance(account, int) and (account == 2440 or 2600 <= account <= 2699)


def render_supplier_invoice(ctx: Ctx, record: Record) -> Record:
    """Under the switches: without VAT/payables rows, or with date-only due dates."""
    with_all_rows = ctx.switches.supplier_rows_include_vat_and_payables
    date_only = ctx.switches.date_only_due_dates
    if with_all_rows and not date_only:
        return record
    out = dict(record)
    if not with_all_rows:
        out["Rows"] = [
            r for r in record.get("Rows") or [] if not is_vat_or_payables(r.get("AccountNumber"))
        ]
    if date_only and out.get("DueDate"):
        out["DueDate"] = out["DueDate"][:10]
    return out


def post_supplier_invoice(request: Request, ctx: Ctx) -> Response:
    invoice = supplier_invoice_from(ctx, request.json(), origin=2)
    return Response.json(201, render_supplier_invoice(ctx, invoice))


def _row(ctx: Ctx, raw: Any, index: int, strict_decimals: bool) -> Record:
    prefix = f"Rows[{index}]."
    row = {**defaults(ROW), **validate(ROW, raw, prefix=prefix)}
    if not row.get("AccountNumber"):
        raise invalid(prefix + "AccountNumber", "The AccountNumber field is required.")
    if strict_decimals:
        for name in ("DebetAmount", "CreditAmount"):
            if decimals_of(row[name]) > 2:
                raise invalid(prefix + name, f"{name} allows at most 2 decimals.")
    row_references(ctx, row, prefix)
    number = int(row["AccountNumber"])
    row["Id"] = ctx.new_id()
    row["LineNumber"] = index + 1
    row["AccountName"] = ACCOUNT_NAMES.get(number, f"Konto {number}")
    return row


def _rows(ctx: Ctx, raw_rows: Any, strict_decimals: bool) -> list[Record]:
    rows = [_row(ctx, raw, i, strict_decimals) for i, raw in enumerate(raw_rows or [])]
    debit = sum((dec(r["DebetAmount"]) for r in rows), dec(0))
    credit = sum((dec(r["CreditAmount"]) for r in rows), dec(0))
    if rows and round_money(debit) != round_money(credit):
        raise EEkonomiError(
            400,
            4032,
            f"SupplierInvoiceDoesntBalanceException - debit {debit} does not equal credit {credit}",
        )
    return rows


def _booked(ctx: Ctx, clean: Record, supplier: Record, origin: int) -> Record:
    """What booking adds: number, voucher, dates, remaining amount, statuses."""
    company = ctx.company
    number = max([0, *(i.get("Number") or 0 for i in company.coll("supplierInvoices").values())])
    number += 1
    day = parse_moment(clean["InvoiceDate"]).date() if clean.get("InvoiceDate") else ctx.today()
    total = dec(clean["TotalAmount"])
    home = company.settings.get("CurrencyCode")
    now = ctx.now_iso()
    return {
        "Id": ctx.new_id(),
        "InvoiceDate": iso_day(day),
        "DueDate": clean.get("DueDate") or iso_day(day + timedelta(days=30)),
        "SupplierName": supplier.get("Name"),
        "SupplierNumber": supplier.get("SupplierNumber"),
        "CurrencyCode": clean.get("CurrencyCode") or home,
        "CurrencyRate": float(clean.get("CurrencyRate") or 1.0),
        "Number": number,
        "NumberSeries": "LF",
        "VoucherNumber": f"LF{number}",
        "VoucherId": ctx.new_id(),
        "CreatedUtc": now,
        "ModifiedUtc": now,
        # A liability: negative on a normal invoice, positive on a credit (notes §7.7).
        "RemainingAmount": float(-total),
        "RemainingAmountInvoiceCurrency": float(-total),
        "Status": 1,
        "PaymentStatus": 3,
        "PaymentFileStatus": 0,
        "IsDomestic": (clean.get("CurrencyCode") or "SEK") == home,
        "SupplierInvoiceOrigin": origin,
        "OffsetInvoiceIds": [],
        "AllocationPeriods": [],
        "Attachments": [],
        "MessageThreads": [],
        "Notes": [],
        "BankAccountId": company.bank_account_id,
    }


def supplier_invoice_from(
    ctx: Ctx, body: Any, *, origin: int, strict_decimals: bool = True
) -> Record:
    """Validate and book a supplier invoice (``origin`` 2: the API, 0: the UI)."""
    clean = validate("SupplierInvoiceApi", body)
    supplier = ctx.company.coll("suppliers").get(clean["SupplierId"] or "")
    if supplier is None:
        raise missing_reference("SupplierId", "The supplier")
    rows = _rows(ctx, body.get("Rows") if isinstance(body, dict) else None, strict_decimals)
    booked = _booked(ctx, clean, supplier, origin)
    record = {**defaults("SupplierInvoiceApi"), **clean, "Rows": rows}
    record.update(booked)
    return ctx.company.coll("supplierInvoices").put(record)
