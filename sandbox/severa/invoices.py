"""Invoices, their rows, the rows' source items, and invoice statuses.

The sync lists invoices in the "to transfer" status, reads their rows and source
items, and moves them on by status (R-3.6); it writes back the number eEkonomi gave
(R-1.6). Severa publishes no input model for invoices, so what may be patched follows
the notes' proposal (severa-notes §6.14): an invoice in a read-only status (paid,
cancelled) takes only a status or payment change. A status decides numbering and the
payment date, as in Severa's UI; totals follow the rows, rounded per row.
Creating invoices from projects is :mod:`sandbox.severa.invoicing`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.core import Request, Response, as_decimal, dig, round_money
from sandbox.core.args import date_arg, strs_arg
from sandbox.severa.errors import fail, invalid, invalid_arg, read_only
from sandbox.severa.handlers import ApiRoute, Ctx, Writes, changed_list, crud, patched
from sandbox.severa.paging import Filters, offset_page, token_page
from sandbox.severa.specs import INVOICE_PATCH, INVOICE_ROW_PATCH, INVOICE_STATUS_IN, ROW_TYPES
from sandbox.severa.store import Store
from sandbox.severa.wire import free_text, invoice_ref, money_output, pick

if TYPE_CHECKING:
    from sandbox.severa.tenant import Organization

Record = dict[str, Any]

#: The collections of an invoice row's source items.
SOURCE_ITEMS = ("projectFees", "workHours", "projectTravelExpenses")

#: Per-type totals of an invoice (field → row type).
_TYPE_TOTALS = {
    "workHoursTotalExcludingTax": "Hours",
    "projectFeesTotalExcludingTax": "ProjectFees",
    "projectTravelExpensesTotalExcludingTax": "TravelExpenses",
    "flatRatesTotalExcludingTax": "FlatRate",
}

#: Date filters of the invoice list: (parameter, field, on or after (else on or before)).
_DATE_FILTERS = (
    ("startDate", "date", True),
    ("endDate", "date", False),
    ("paymentDateStart", "paymentDate", True),
)


# == invoices ==========================================================================


def list_invoices(request: Request, ctx: Ctx) -> Response:
    org = ctx.organization
    filters = Filters().changed_since(request)
    filters.one_of(request, "invoiceStatusGuids", "status.guid")
    filters.one_of(request, "customerGuids", "customer.guid")
    projects = strs_arg(request, "projectGuids")
    if projects:
        filters.add(
            lambda r: any(str(p.get("guid")).lower() in projects for p in r.get("projects") or [])
        )
    filters.numbers(request).one_of(request, "referenceNumbers", "referenceNumber")
    for arg, name, after in _DATE_FILTERS:
        moment = date_arg(request, arg)
        if moment is not None:
            filters.add(_day_test(name, moment.date().isoformat(), after))
    for arg in ("minimumTotalExcludingTax", "maximumTotalExcludingTax"):
        raw = request.arg(arg)
        if raw:
            try:
                limit = float(raw)
            except ValueError:
                raise invalid_arg(arg, raw) from None
            filters.add(_total_test(limit, arg.startswith("minimum")))
    return token_page(org, request, "invoices", filters)


def _day_test(name: str, day: str, after: bool) -> Callable[[Record], bool]:
    if after:
        return lambda r: str(r.get(name) or "") >= day
    return lambda r: str(r.get(name) or "9999") <= day


def _total_test(limit: float, minimum: bool) -> Callable[[Record], bool]:
    def test(record: Record) -> bool:
        total = float(dig(record, "totalExcludingTax.amount") or 0)
        return total >= limit if minimum else total <= limit

    return test


def set_invoice_status(org: Organization, invoice: Record, status: Record) -> Record:
    """Move ``invoice`` (a fresh copy) into ``status``: numbering and payment date
    follow the status flags, as in Severa's UI."""
    invoice["status"] = {
        **pick(status, "guid", "name"),
        "isPaid": bool(status.get("isPaid")),
        "isSent": bool(status.get("isSent")),
        "isWaitingPayment": bool(status.get("isWaitingPayment")),
    }
    if (
        status.get("hasInvoiceNumber")
        and invoice.get("number") is None
        and org.switches.assign_invoice_numbers
    ):
        number = org.store.next_number("invoices", "nextInvoiceNumber")
        invoice["number"] = number
        org.store.bump_setting("nextInvoiceNumber", number)
    if status.get("isPaid") and not invoice.get("paymentDate"):
        invoice["paymentDate"] = org.now().date().isoformat()
    if status.get("isSent") and not invoice.get("entryDate"):
        invoice["entryDate"] = invoice.get("date")
    return invoice


def patch_invoice(request: Request, ctx: Ctx) -> Response:
    """JSON Patch of the unpublished ``InvoiceInputModel`` (severa-notes §6.14);
    an invoice in a read-only status accepts only a status or payment change."""
    org = ctx.organization
    store = org.store
    spec = dict(INVOICE_PATCH)
    if not org.switches.invoice_number_patchable:
        del spec["number"]
    current, clean = patched(request, ctx, "invoices", "Invoice", spec)
    status_now = store["invoiceStatuses"].get(dig(current, "status.guid")) or {}
    if status_now.get("isReadOnly") and set(clean) - {"status", "paymentDate"}:
        raise read_only(status_now.get("name"))
    store.unique_number("invoices", clean.get("number"), current["guid"], "Invoice")
    record = copy.deepcopy(current)
    new_status: Record | None = None
    for key, value in clean.items():
        if key == "status":
            new_status = store["invoiceStatuses"].get(value["guid"])
        elif key in ("freeText1", "freeText2"):
            record[key] = free_text(value.get("value") if value else None)
        else:
            record[key] = value
    if new_status is not None:
        if not new_status.get("isActive", True):
            raise invalid("The invoice status is not active.", "status")
        record = set_invoice_status(org, record, new_status)
    if clean.get("number") is not None:
        store.bump_setting("nextInvoiceNumber", int(clean["number"]))
    org.update("invoices", record, ctx)
    refresh_item_invoice_refs(store, record)
    return Response.json(200, [record])


def refresh_item_invoice_refs(store: Store, invoice: Record) -> None:
    """Source items show ``invoice {guid, number, date}``: keep number/date current."""
    ref = invoice_ref(invoice)
    for row_guid in store["invoiceRows"].by("invoiceGuid", invoice["guid"]):
        for name in SOURCE_ITEMS:
            for item in store.members(name, "invoiceRowGuid", row_guid):
                if item.get("invoice") != ref:
                    store[name].put({**item, "invoice": ref})


# == invoice rows and their source items ===============================================


def list_invoice_rows_of(request: Request, ctx: Ctx) -> Response:
    org = ctx.organization
    invoice = org.store.find("invoices", request.path_params["invoiceGuid"], "Invoice")
    filters = Filters().equals(request, "rowType", "rowType", ROW_TYPES)
    source = org.store["invoiceRows"].by("invoiceGuid", invoice["guid"])
    return token_page(org, request, "invoiceRows", filters, source)


def patch_invoice_row(request: Request, ctx: Ctx) -> Response:
    """A row of an invoice in a read-only status cannot change; the invoice's totals
    follow the row."""
    org = ctx.organization
    store = org.store
    current = store.find("invoiceRows", request.path_params["guid"], "Invoice row")
    invoice = store["invoices"].get(current.get("invoiceGuid"))
    status = store["invoiceStatuses"].get(dig(invoice or {}, "status.guid")) or {}
    if status.get("isReadOnly"):
        raise read_only(status.get("name"))
    _, clean = patched(request, ctx, "invoiceRows", "Invoice row", INVOICE_ROW_PATCH)
    record = copy.deepcopy(current)
    for key, value in clean.items():
        if key == "unitPrice":
            amount = value["amount"] if value else None
            record[key] = money_output(amount, invoice_currency(store, invoice))
        else:
            record[key] = value
    org.update("invoiceRows", record, ctx)
    if invoice is not None:
        org.update("invoices", with_totals(store, dict(invoice)), ctx)
    return Response.json(200, [record])


def invoice_currency(store: Store, invoice: Record | None) -> str:
    code = dig(invoice or {}, "currency.code")
    return str(code) if code else store.org_currency()


def with_totals(store: Store, invoice: Record) -> Record:
    """Totals of an invoice from its rows: each row's amount and VAT rounded to cents
    (half away from zero), then summed, as invoices are."""
    currency = invoice_currency(store, invoice)
    by_type: dict[str, Decimal] = {t: Decimal(0) for t in ROW_TYPES}
    net = tax = hours = Decimal(0)
    for row in store.members("invoiceRows", "invoiceGuid", invoice["guid"]):
        quantity = as_decimal(row.get("quantity"))
        line = round_money(quantity * as_decimal(dig(row, "unitPrice.amount")))
        net += line
        tax += round_money(line * as_decimal(row.get("vatRate")) / 100)
        kind = str(row.get("rowType") or "ProjectFees")
        by_type[kind] = by_type.get(kind, Decimal(0)) + line
        if kind == "Hours":
            hours += quantity
    invoice["totalExcludingTax"] = money_output(net, currency)
    invoice["totalTax"] = money_output(tax, currency)
    invoice["totalIncludingTax"] = money_output(net + tax, currency)
    for name, kind in _TYPE_TOTALS.items():
        invoice[name] = money_output(by_type[kind], currency)
    invoice["workHoursQuantity"] = float(round_money(hours))
    return invoice


def _row_items(request: Request, ctx: Ctx, collection: str, filters: Filters) -> Response:
    org = ctx.organization
    row = org.store.find("invoiceRows", request.path_params["invoiceRowGuid"], "Invoice row")
    source = org.store[collection].by("invoiceRowGuid", row["guid"])
    return token_page(org, request, collection, filters, source)


def row_fees(request: Request, ctx: Ctx) -> Response:
    filters = Filters().equals(request, "productType", "productType")
    return _row_items(request, ctx, "projectFees", filters)


def row_hours(request: Request, ctx: Ctx) -> Response:
    return _row_items(request, ctx, "workHours", Filters())


def row_travels(request: Request, ctx: Ctx) -> Response:
    filters = Filters().equals(request, "expenseClass", "travelExpense.expenseClass")
    return _row_items(request, ctx, "projectTravelExpenses", filters)


# == invoice statuses ==================================================================


def list_invoice_statuses(request: Request, ctx: Ctx) -> Response:
    filters = Filters().settings(request, "name")
    return offset_page(ctx.organization, request, "invoiceStatuses", filters)


def _new_status(org: Organization) -> Record:
    return {
        "isActive": True, "isDefault": False, "isDefaultForCreditNote": False,
        "isSent": False, "isPaid": False, "isWaitingPayment": False, "isReadOnly": False,
        "hasInvoiceNumber": False, "sortOrder": len(org.store["invoiceStatuses"]) + 1,
    }  # fmt: skip


STATUSES = Writes(
    "invoiceStatuses", "Invoice status", INVOICE_STATUS_IN,
    new=_new_status, single=("isDefault", "isDefaultForCreditNote"),
)  # fmt: skip


def find_status(org: Organization, name_or_guid: str) -> Record | None:
    """An invoice status by guid or (case-insensitive) name."""
    statuses = org.store["invoiceStatuses"]
    found = statuses.get(name_or_guid)
    if found is not None:
        return found
    for record in statuses.ordered():
        if str(record.get("name")).lower() == name_or_guid.lower():
            return record
    return None


def default_status(store: Store, guid: str | None) -> Record:
    """The status an invoice is created in: the named one, else the default, else the
    first; 400 when the organization has none."""
    statuses = store["invoiceStatuses"]
    if guid:
        found = statuses.get(guid)
        if found is None:
            raise invalid(f"Invoice status '{guid}' was not found.", "invoiceStatusGuid")
        return found
    ordered = statuses.ordered()
    for record in ordered:
        if record.get("isDefault"):
            return record
    if not ordered:
        raise fail(400, "ConfigurationError", "The organization has no invoice statuses.")
    return ordered[0]


_READ = "invoices:read"
ROUTES: tuple[ApiRoute, ...] = (
    *crud("/invoices", "invoices", "Invoice", "invoices", list_=list_invoices, patch=patch_invoice),
    ApiRoute("GET", "/invoices/{invoiceGuid}/invoicerows", list_invoice_rows_of, _READ),
    *crud(
        "/invoicerows", "invoiceRows", "Invoice row", "invoices",
        list_=changed_list("invoiceRows", by_token=True), patch=patch_invoice_row,
    ),
    ApiRoute("GET", "/invoicerows/{invoiceRowGuid}/projectfees", row_fees, _READ),
    ApiRoute("GET", "/invoicerows/{invoiceRowGuid}/workhours", row_hours, _READ),
    ApiRoute("GET", "/invoicerows/{invoiceRowGuid}/projecttravelexpenses", row_travels, _READ),
    *crud(
        "/invoicestatuses", "invoiceStatuses", "Invoice status", "settings",
        list_=list_invoice_statuses, post=STATUSES.post, patch=STATUSES.patch, delete=True,
    ),
)  # fmt: skip
