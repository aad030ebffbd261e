"""``/v2/customerinvoices``: booked invoices, read back by the product for Severa.

Read-time state (:func:`~sandbox.eekonomi.booking.render_invoice`): an unpaid invoice
past its due date answers ``PaymentStatus`` 2 (Overdue) — computed, as in eEkonomi, not
stored. ``modifiedSinceUtc`` lists what
changed since a watermark. ``POST`` books a new invoice, or with ``CreatedFromDraftId``
books that draft (the documented purpose of the field).
"""

from __future__ import annotations

from datetime import timedelta

from sandbox.core.args import date_arg
from sandbox.core.http import Request, Response
from sandbox.core.store import Record
from sandbox.eekonomi.booking import book, render_invoice
from sandbox.eekonomi.context import Ctx
from sandbox.eekonomi.convert import convert
from sandbox.eekonomi.errors import invalid
from sandbox.eekonomi.sales import INVOICE_ROW, customer_for, persons, sales_rows
from sandbox.eekonomi.validation import validate
from sandbox.eekonomi.wire import iso_day, parse_moment

#: Required on ``CustomerInvoiceApi`` by the document, defaulted by the service (§6.7).
LENIENT = ("EuThirdParty", "RotReducedInvoicingType", "Rows")


def changed_since(request: Request, records: list[Record]) -> list[Record]:
    """The ``modifiedSinceUtc`` filter of the invoice list (6001 on a bad date)."""
    moment = date_arg(request, "modifiedSinceUtc", strict=True)
    if moment is None:
        return records
    return [r for r in records if r.get("ModifiedUtc") and parse_moment(r["ModifiedUtc"]) >= moment]


def header_dates(ctx: Ctx, header: Record, customer: Record) -> None:
    """``InvoiceDate`` (default today) and ``DueDate`` (default: + the terms' days)."""
    day = parse_moment(header["InvoiceDate"]).date() if header.get("InvoiceDate") else ctx.today()
    terms_id = header.get("TermsOfPaymentId") or customer["TermsOfPaymentId"]
    terms = ctx.company.coll("termsOfPayments").get(terms_id) or {}
    header["InvoiceDate"] = iso_day(day)
    if not header.get("DueDate"):
        header["DueDate"] = iso_day(day + timedelta(days=int(terms.get("NumberOfDays") or 0)))


def post_invoice(request: Request, ctx: Ctx) -> Response:
    """``POST /customerinvoices``: book a new invoice, or a draft via ``CreatedFromDraftId``."""
    body = request.json()
    lowered = {k.lower(): v for k, v in body.items()} if isinstance(body, dict) else {}
    draft_id = str(lowered.get("createdfromdraftid") or "").lower()
    if draft_id:
        draft = ctx.company.find("customerInvoiceDrafts", draft_id, "draft")
        send_type = lowered.get("sendtype")
        invoice = convert(ctx, draft, send_type=send_type if isinstance(send_type, int) else None)
        invoice["CreatedFromDraftId"] = draft["Id"]  # the documented purpose of the field
        return Response.json(201, render_invoice(ctx, invoice))
    clean = validate("CustomerInvoiceApi", body, lenient=LENIENT)
    customer = customer_for(ctx, clean["CustomerId"])
    rows = sales_rows(
        ctx,
        lowered.get("rows"),
        customer,
        row_schema=INVOICE_ROW,
        existing_rows=None,
        replace_zero_price=bool(clean.get("ReplaceUnitPriceWhenZero")),
    )
    if not any(not r.get("IsTextRow") for r in rows):
        raise invalid("Rows", "The invoice needs at least one article row.")
    header_dates(ctx, clean, customer)
    clean["CreatedFromDraftId"] = None
    clean["Persons"] = persons(ctx, body, None)
    invoice = book(ctx, clean, rows, customer)
    return Response.json(201, render_invoice(ctx, invoice))


def invoice_pdf(request: Request, ctx: Ctx) -> Response:
    invoice = ctx.company.find("customerInvoices", request.path_params["id"], "customer invoice")
    url = f"https://eaccounting.sandbox.invalid/pdf/{invoice['Id']}.pdf"
    return Response.json(200, {"Url": url})
