"""``/v2/customers``: the register the product creates and updates most.

Rules the product meets here: ``CustomerNumber`` is unique (and auto-assigned as the
highest numeric + 1 when omitted), ``TermsOfPaymentId`` must exist, country and currency
codes must be known, ``ReverseChargeOnConstructionServices`` needs a ``VatNumber``, the
``VatNumber`` goes through VIES (a switch), PUT is a full replace, and a customer with
invoices, drafts or projects cannot be deleted (4001).
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.store import Record
from sandbox.eekonomi.booking import refresh_unpaid
from sandbox.eekonomi.context import Ctx
from sandbox.eekonomi.errors import (
    EEkonomiError,
    FieldError,
    duplicate,
    field_error,
    missing_reference,
    validation_error,
)
from sandbox.eekonomi.store import Company
from sandbox.eekonomi.validation import defaults, readonly_of, validate


def post_customer(request: Request, ctx: Ctx) -> Response:
    return Response.json(201, customer_from(ctx, request.json(), None))


def put_customer(request: Request, ctx: Ctx) -> Response:
    existing = ctx.company.find("customers", request.path_params["id"], "customer")
    return Response.json(200, customer_from(ctx, request.json(), existing))


def delete_customer(request: Request, ctx: Ctx) -> Response:
    customer = ctx.company.find("customers", request.path_params["id"], "customer")
    used = any(
        ctx.company.coll(name).by("customer", customer["Id"])
        for name in ("customerInvoices", "customerInvoiceDrafts", "projects")
    )
    if used:
        raise EEkonomiError(
            400,
            4001,
            "CanNotBeDeletedException - The customer has transactions; set IsActive=false",
        )
    ctx.company.coll("customers").remove(customer["Id"])
    return Response(200)


def _code_errors(company: Company, clean: Record) -> list[FieldError]:
    """Country and currency codes the company knows (upper-cased in ``clean``)."""
    errors = []
    countries = company.coll("countries")
    for name in ("InvoiceCountryCode", "DeliveryCountryCode"):
        code = clean.get(name)
        if code and countries.get(code.upper()) is None:
            errors.append(field_error(name, f"The country code '{code}' is not valid."))
        elif code:
            clean[name] = code.upper()
    currency = clean.get("CurrencyCode")
    if currency is None:
        clean["CurrencyCode"] = company.settings.get("CurrencyCode", "SEK")
    elif company.coll("currencies").get(currency.upper()) is None:
        errors.append(field_error("CurrencyCode", f"The currency '{currency}' is not valid."))
    return errors


def _check(ctx: Ctx, clean: Record) -> None:
    if ctx.company.coll("termsOfPayments").get(clean["TermsOfPaymentId"] or "") is None:
        raise missing_reference("TermsOfPaymentId", "The terms of payment")
    errors = _code_errors(ctx.company, clean)
    if clean.get("ReverseChargeOnConstructionServices") and not clean.get("VatNumber"):
        message = "VatNumber is required when ReverseChargeOnConstructionServices is true."
        errors.append(field_error("VatNumber", message))
    if len(clean.get("EmailAddresses") or []) > 5:
        errors.append(field_error("EmailAddresses", "At most 5 email addresses are allowed."))
    if errors:
        raise validation_error(errors)
    vat_number_check(ctx, clean.get("VatNumber"))


def vat_number_check(ctx: Ctx, vat_number: str | None) -> None:
    """The VIES check, under the ``vies_check`` switch (4025, or 503 / 5001 when down)."""
    if not vat_number or ctx.switches.vies_check == "off":
        return
    if ctx.switches.vies_check == "unavailable":
        raise EEkonomiError(
            503, 5001, "CantReachSystemDependencyException - VIES did not answer in time"
        )
    compact = vat_number.replace(" ", "").upper()
    valid = bool(re.fullmatch(r"[A-Z]{2}[0-9A-Z]{8,12}", compact))
    if compact.startswith("SE"):
        valid = bool(re.fullmatch(r"SE\d{10}01", compact))
    if not valid:
        message = f"InvalidVatNumberException - VAT number '{vat_number}' is not valid (VIES)"
        raise EEkonomiError(400, 4025, message, [field_error("VatNumber", message, "4025")])


def customer_from(ctx: Ctx, body: Any, existing: Record | None) -> Record:
    """Validate a POST/PUT body and store the customer it describes."""
    clean = validate("CustomerApi", body)
    _check(ctx, clean)
    own_id = existing["Id"] if existing else None
    customers = ctx.company.coll("customers")
    number = clean.get("CustomerNumber")
    if not number:
        clean["CustomerNumber"] = str(next_customer_number(ctx.company))
    elif customers.holder("number", number, other_than=own_id):
        raise duplicate(ctx.switches.duplicate_number_error, "CustomerNumber", number)
    record = defaults("CustomerApi")
    record.update(readonly_of("CustomerApi", existing))
    record.update(clean)
    record["Id"] = own_id or ctx.new_id()
    record["ChangedUtc"] = ctx.now_iso()
    customer_computed(ctx.company, record)
    return customers.put(record)


def customer_computed(company: Company, record: Record, *, unpaid: bool = True) -> None:
    """Fields eEkonomi derives: the account payments are registered on, the terms'
    copy, empty lists, unpaid amounts."""
    record["PayToAccountId"] = record.get("PayToAccountId") or company.bank_account_id
    terms = company.coll("termsOfPayments").get(record.get("TermsOfPaymentId") or "")
    if terms is not None:
        record["TermsOfPayment"] = dict(terms)
    record.pop("DirectDebitCustomerSettings", None)
    for name in ("MessageThreads", "Notes", "CustomerLabels"):
        if record.get(name) is None:
            record[name] = []
    record["IsFutureInvoiceDateAllowed"] = bool(record.get("IsFutureInvoiceDateAllowed"))
    if unpaid:
        refresh_unpaid(company, record)


def next_customer_number(company: Company) -> int:
    numbers = [
        int(c["CustomerNumber"])
        for c in company.coll("customers").values()
        if str(c.get("CustomerNumber") or "").isdigit()
    ]
    return max(numbers, default=0) + 1
