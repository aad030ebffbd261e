"""``/v2/customerinvoicedrafts``: what the product writes each Severa invoice as.

A draft takes its customer's invoice address, country and currency when it is saved
(read-only on drafts: values sent are ignored), its totals come from its rows, and
``/convert`` books it (:mod:`sandbox.eekonomi.convert`).
"""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.store import Record
from sandbox.eekonomi.booking import totals
from sandbox.eekonomi.context import Ctx
from sandbox.eekonomi.errors import missing_reference
from sandbox.eekonomi.sales import DRAFT_ROW, customer_for, persons, sales_rows
from sandbox.eekonomi.specs import spec
from sandbox.eekonomi.store import Company
from sandbox.eekonomi.validation import defaults, validate
from sandbox.eekonomi.wire import amount

#: Draft fields where ``null`` means "use the customer's value" (the spec's words).
FROM_CUSTOMER_WHEN_NULL = (
    "InvoiceAddress1",
    "InvoiceAddress2",
    "DeliveryCustomerName",
    "DeliveryAddress1",
    "DeliveryAddress2",
    "DeliveryPostalCode",
    "DeliveryCity",
    "DeliveryCountryCode",
)


def post_draft(request: Request, ctx: Ctx) -> Response:
    return Response.json(201, draft_from(ctx, request.json(), None))


def put_draft(request: Request, ctx: Ctx) -> Response:
    existing = ctx.company.find("customerInvoiceDrafts", request.path_params["id"], "draft")
    return Response.json(200, draft_from(ctx, request.json(), existing))


def delete_draft(request: Request, ctx: Ctx) -> Response:
    draft = ctx.company.find("customerInvoiceDrafts", request.path_params["id"], "draft")
    ctx.company.coll("customerInvoiceDrafts").remove(draft["Id"])
    return Response(200)


def draft_from(ctx: Ctx, body: Any, existing: Record | None) -> Record:
    """Validate a POST/PUT body and store the draft it describes."""
    clean = validate(
        "CustomerInvoiceDraftApi", body, lenient=("EuThirdParty", "RotReducedInvoicingType")
    )
    customer = customer_for(ctx, clean["CustomerId"])
    terms_id = clean.get("TermsOfPaymentId")
    if terms_id and terms_id not in ctx.company.coll("termsOfPayments"):
        raise missing_reference("TermsOfPaymentId", "The terms of payment")
    rows = sales_rows(
        ctx,
        body.get("Rows") if isinstance(body, dict) else None,
        customer,
        row_schema=DRAFT_ROW,
        existing_rows=existing.get("Rows") if existing else None,
        replace_zero_price=bool(clean.get("ReplaceUnitPriceWhenZero")),
    )
    record = {**defaults("CustomerInvoiceDraftApi"), **clean}
    record["Id"] = existing["Id"] if existing else ctx.new_id()
    record["CreatedUtc"] = existing["CreatedUtc"] if existing else ctx.now_iso()
    record["Rows"] = rows
    record["Persons"] = persons(ctx, body, existing.get("Persons") if existing else None)
    record["TermsOfPaymentId"] = terms_id or customer["TermsOfPaymentId"]
    draft_computed(ctx.company, record, customer)
    return ctx.company.coll("customerInvoiceDrafts").put(record)


def _customer_fields(company: Company, customer: Record) -> Record:
    """What a draft copies from its customer when saved (read-only on drafts)."""
    return {
        "CustomerNumber": customer.get("CustomerNumber"),
        "CustomerName": customer.get("Name"),
        "CustomerIsPrivatePerson": bool(customer.get("IsPrivatePerson")),
        "ReverseChargeOnConstructionServices": bool(
            customer.get("ReverseChargeOnConstructionServices")
        ),
        "InvoiceCustomerName": (customer.get("Name") or "")[:50],
        "InvoicePostalCode": customer.get("InvoicePostalCode"),
        "InvoiceCity": customer.get("InvoiceCity"),
        "InvoiceCountryCode": customer.get("InvoiceCountryCode"),
        "InvoiceCurrencyCode": customer.get("CurrencyCode") or company.settings.get("CurrencyCode"),
        "IncludesVat": bool(
            customer.get("IsPrivatePerson") and company.settings.get("ShowPricesExclVatPC")
        ),
        "ContributionMargin": {"Amount": None, "Percentage": None},
        "MaxAllowedTaxReductionAmount": 0.0,
    }


def draft_computed(company: Company, record: Record, customer: Record) -> None:
    """Fields the draft takes from its customer and rows at save time."""
    record.update(_customer_fields(company, customer))
    fields = spec("CustomerInvoiceDraftApi")
    for name in FROM_CUSTOMER_WHEN_NULL:
        if record.get(name) is None:
            value = customer.get(name)
            limit = fields[name].max_length
            record[name] = value[:limit] if isinstance(value, str) and limit else value
    for name in ("SalesDocumentAttachments", "MessageThreads", "Notes", "Persons"):
        record[name] = record.get(name) or []
    sums = totals(company, record["Rows"], record["InvoiceCurrencyCode"] or "SEK")
    record.update(
        TotalAmount=float(sums["total"]),
        TotalVatAmount=float(sums["vat"]),
        TotalRoundings=float(sums["roundings"]),
        TotalAmountBaseCurrency=amount(sums["total"] * sums["rate"]),
        TotalVatAmountBaseCurrency=amount(sums["vat"] * sums["rate"]),
    )
