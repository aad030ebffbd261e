"""Booking a draft: the API's ``/convert`` and the UI's "Bokför", under the switches.

The product's invoice flow ends here, and what happens is partly unconfirmed (notes §8):
whether the invoice links back to its draft (``CreatedFromDraftId``), whether the draft
disappears, whether references survive. Those are switches; the rest is documented:
the invoice date is today unless the draft's is in the future (or kept with
``keepOriginalDraftDate``), the due date follows the terms, a coding without a sales
account refuses (4024), and totals sent for validation must agree (2000).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sandbox.core.args import bool_arg
from sandbox.core.http import Request, Response
from sandbox.core.store import Record
from sandbox.eekonomi.booking import book, render_invoice
from sandbox.eekonomi.context import Ctx
from sandbox.eekonomi.errors import (
    EEkonomiError,
    FieldError,
    field_error,
    invalid,
    validation_error,
)
from sandbox.eekonomi.sales import customer_for
from sandbox.eekonomi.specs import spec
from sandbox.eekonomi.validation import defaults, validate
from sandbox.eekonomi.wire import dec, iso_day, parse_moment

REFERENCES = (
    "YourReference",
    "OurReference",
    "BuyersOrderReference",
    "ContractNumber",
    "SubscriptionNumber",
)


def convert_draft(request: Request, ctx: Ctx) -> Response:
    """``POST /customerinvoicedrafts/{id}/convert`` (optional validation body)."""
    draft = ctx.company.find("customerInvoiceDrafts", request.path_params["id"], "draft")
    body = None
    if request.body.strip():
        body = validate("CustomerInvoiceDraftValidationApi", request.json())
        body["Rows"] = request.json().get("Rows")
    invoice = convert(
        ctx,
        draft,
        keep_date=bool(bool_arg(request, "keepOriginalDraftDate", False)),
        override_company=bool(bool_arg(request, "overrideCompanyKeepOriginalDraftDate", False)),
        validation=body,
    )
    return Response.json(201, render_invoice(ctx, invoice))


def _check_sales_accounts(ctx: Ctx, draft: Record) -> None:
    company = ctx.company
    for row in draft["Rows"]:
        if row.get("IsTextRow"):
            continue
        article = company.coll("articles").get(row.get("ArticleId") or "") or {}
        coding = company.coll("articleAccountCodings").get(article.get("CodingId") or "") or {}
        if coding.get("DomesticSalesSubjectToVatAccountNumber") is None:
            raise EEkonomiError(
                400,
                4024,
                "SalesAccountNumberMissingException - "
                f"coding '{coding.get('Name')}' has no sales account",
            )


def _dates(ctx: Ctx, draft: Record, keep: bool) -> tuple[date, str]:
    """The invoice date and due date of a draft booked today."""
    today = ctx.today()
    draft_day = parse_moment(draft["InvoiceDate"]).date() if draft.get("InvoiceDate") else None
    if keep:
        invoice_day = draft_day or parse_moment(draft["CreatedUtc"]).date()
    else:
        invoice_day = draft_day if draft_day and draft_day > today else today
    if keep and draft.get("DueDate"):
        return invoice_day, draft["DueDate"]
    terms = ctx.company.coll("termsOfPayments").get(draft.get("TermsOfPaymentId") or "") or {}
    return invoice_day, iso_day(invoice_day + timedelta(days=int(terms.get("NumberOfDays") or 0)))


def convert(
    ctx: Ctx,
    draft: Record,
    *,
    keep_date: bool = False,
    override_company: bool = False,
    validation: Record | None = None,
    send_type: int | None = None,
) -> Record:
    """Book a draft as a customer invoice (the API's ``/convert`` and the UI's "Bokför")."""
    if not any(not r.get("IsTextRow") for r in draft.get("Rows") or []):
        raise invalid("Rows", "The draft has no article rows to invoice.")
    customer = customer_for(ctx, draft["CustomerId"])
    if validation:
        check_validation(draft, validation)
    _check_sales_accounts(ctx, draft)
    company_keeps = bool(ctx.company.settings.get("KeepOriginalDraftDate"))
    keep = keep_date if override_company else keep_date or company_keeps
    invoice_day, due = _dates(ctx, draft, keep)
    fields = spec("CustomerInvoiceApi")
    header = {k: draft.get(k) for k in fields if k in draft and not fields[k].readonly}
    if not ctx.switches.convert_keeps_references:
        header.update(dict.fromkeys(REFERENCES))
    header.update(InvoiceDate=iso_day(invoice_day), DueDate=due, SendType=send_type)
    header["CreatedFromDraftId"] = (
        draft["Id"] if ctx.switches.convert_sets_created_from_draft_id else None
    )
    rows = [invoice_row_from_draft(ctx, r) for r in draft["Rows"]]
    invoice = book(ctx, header, rows, customer, from_draft=draft)
    if ctx.switches.convert_deletes_draft:
        ctx.company.coll("customerInvoiceDrafts").remove(draft["Id"])
    return invoice


def _differs(theirs: object, ours: object) -> bool:
    return theirs is not None and abs(dec(theirs) - dec(ours)) > Decimal("0.005")


def check_validation(draft: Record, validation: Record) -> None:
    """Totals the client sent with ``/convert`` must agree with the draft's (2000)."""
    errors: list[FieldError] = []
    for name, ours in (
        ("TotalAmountInvoiceCurrency", draft["TotalAmount"]),
        ("TotalVatAmountInvoiceCurrency", draft["TotalVatAmount"]),
        ("TotalRoundingsInvoiceCurrency", draft["TotalRoundings"]),
    ):
        theirs = validation.get(name)
        if _differs(theirs, ours):
            errors.append(field_error(name, f"{name} is {ours}, not {theirs}."))
    by_line = {r["LineNumber"]: r for r in draft["Rows"]}
    for check in validation.get("Rows") or []:
        if not isinstance(check, dict):
            continue
        row = by_line.get(check.get("LineNumber"))
        expected = check.get("TotalAmountNoVatInvoiceCurrency")
        if row is not None and _differs(expected, row["Amount"]):
            errors.append(
                field_error(
                    f"Rows[{row['LineNumber']}]", f"Row amount is {row['Amount']}, not {expected}."
                )
            )
    if errors:
        raise validation_error(errors)


def invoice_row_from_draft(ctx: Ctx, row: Record) -> Record:
    out = defaults("CustomerInvoiceRowApi")
    out.update({k: row[k] for k in out if k in row})
    out["Id"] = ctx.new_id()
    out["AmountNoVat"] = row.get("Amount") or 0.0
    out["PercentVat"] = row.get("VatRate") or 0.0
    out["IsVatFree"] = False
    out["ContributionMargin"] = {"Amount": None, "Percentage": None}
    return out
