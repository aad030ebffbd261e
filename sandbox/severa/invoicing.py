"""Making invoices: from projects through the API, or as a person does in the back office.

Severa creates invoices *from projects*: ``POST /v1/invoices`` turns the projects'
uninvoiced billable fees, hours and travel expenses into rows (fees one by one, hours
per work type, travel expenses per type) and answers 201 with an array. The back office
(and the demo generator) builds an invoice from explicit rows and source items instead.
Both end in :func:`create_invoice`, so an invoice looks the same however it was made:
header from the customer, billing address and organization; rows linked to their
source items; status flags applied; totals from the rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sandbox.core import Request, Response, as_decimal, dig, round_money
from sandbox.severa.errors import fail, invalid
from sandbox.severa.handlers import ApiRoute, Ctx, posted
from sandbox.severa.invoices import default_status, find_status, set_invoice_status, with_totals
from sandbox.severa.projects import add_source_item
from sandbox.severa.specs import CREATE_INVOICE_IN
from sandbox.severa.store import Store
from sandbox.severa.wire import customer_ref, free_text, invoice_ref, money_output, pick

if TYPE_CHECKING:
    from sandbox.severa.tenant import Organization

Record = dict[str, Any]

#: Source items billed one row per work type / travel-expense type.
_GROUPED_ITEMS = (
    ("workHours", "workType", "Hours"),
    ("projectTravelExpenses", "travelExpense", "TravelExpenses"),
)


# == POST /v1/invoices =================================================================


def post_invoice(request: Request, ctx: Ctx) -> Response:
    """Invoices are created *from projects*: their uninvoiced billable fees, hours and
    travel expenses become rows. Answers 201 with an array of invoices (one per
    project, or one for all with ``groupProjects``)."""
    org = ctx.organization
    store = org.store
    clean = posted(request, ctx, CREATE_INVOICE_IN)
    projects = _projects(store, clean["projects"])
    status = default_status(store, clean.get("invoiceStatusGuid"))
    billing = clean.get("billingCustomerGuid")
    if billing and store["customers"].get(billing) is None:
        raise invalid(f"Customer '{billing}' was not found.", "billingCustomerGuid")
    grouped = bool(clean.get("groupProjects"))
    if grouped and len({dig(p, "customer.guid") for p in projects}) > 1:
        raise fail(400, "InvalidOperation", "Grouped projects must have the same customer.")
    created: list[Record] = []
    for group in [projects] if grouped else [[p] for p in projects]:
        rows = uninvoiced_rows(store, group)
        if rows:
            invoice = create_invoice(
                org,
                customer_guid=str(dig(group[0], "customer.guid")),
                project_guids=[p["guid"] for p in group],
                status=status,
                rows=rows,
                header={"date": clean.get("date")} if clean.get("date") else {},
                billing_customer_guid=billing,
                ctx=ctx,
            )
            created.append(invoice)
    if not created:
        raise fail(400, "InvalidOperation", "The projects have nothing to invoice.")
    return Response.json(201, created)


def _projects(store: Store, projects_in: Any) -> list[Record]:
    if not isinstance(projects_in, list) or not projects_in:
        raise invalid("At least one project is required.", "projects")
    projects: list[Record] = []
    for position, item in enumerate(projects_in):
        guid = item.get("guid") if isinstance(item, dict) else None
        project = store["projects"].get(guid) if isinstance(guid, str) else None
        if project is None:
            raise invalid(f"Project '{guid}' was not found.", f"projects[{position}].guid")
        projects.append(project)
    return projects


def uninvoiced_rows(store: Store, projects: list[Record]) -> list[Record]:
    """The rows the projects' uninvoiced billable items make, project by project."""
    rows: list[Record] = []
    for project in projects:
        rows.extend(_fee_rows(store, project))
        for collection, key, row_type in _GROUPED_ITEMS:
            rows.extend(_grouped_rows(store, project, collection, key, row_type))
    return rows


def _to_invoice(item: Record) -> bool:
    return not item.get("invoice") and item.get("isBillable") is not False


def _fee_rows(store: Store, project: Record) -> list[Record]:
    """One row per fee."""
    return [
        {
            "rowType": "ProjectFees",
            "description": fee.get("invoiceRowDescription") or fee.get("name"),
            "quantity": fee.get("invoiceQuantity") or fee.get("quantity") or 0,
            "measurementUnit": fee.get("measurementUnit"),
            "unitPrice": dig(fee, "unitPrice.amount") or 0,
            "vatRate": fee.get("vatRate"),
            "code": [c for c in [dig(fee, "product.code")] if c],
            "items": [("projectFees", fee["guid"])],
        }
        for fee in store.members("projectFees", "project.guid", project["guid"])
        if _to_invoice(fee)
    ]


def _grouped_rows(
    store: Store, project: Record, collection: str, key: str, row_type: str
) -> list[Record]:
    """One row per work type (hours) or travel-expense type, at the average price."""
    grouped: dict[str, list[Record]] = {}
    for item in store.members(collection, "project.guid", project["guid"]):
        if _to_invoice(item):
            grouped.setdefault(str(dig(item, f"{key}.guid")), []).append(item)
    rows: list[Record] = []
    for members in grouped.values():
        first = members[0]
        quantities = [as_decimal(m.get("quantity")) for m in members]
        prices = [as_decimal(dig(m, "unitPrice.amount")) for m in members]
        quantity = sum(quantities, Decimal(0))
        amount = sum((q * p for q, p in zip(quantities, prices, strict=True)), Decimal(0))
        code = dig(first, f"{key}.code")
        rows.append({
            "rowType": row_type,
            "description": dig(first, f"{key}.name"),
            "quantity": float(round_money(quantity)),
            "measurementUnit": "h" if row_type == "Hours" else first.get("measurementUnit"),
            "unitPrice": float(round_money(amount / quantity)) if quantity else 0,
            "vatRate": first.get("vatRate", 25),
            "code": [code] if code else [],
            "items": [(collection, m["guid"]) for m in members],
        })  # fmt: skip
    return rows


# == one invoice =======================================================================


def create_invoice(
    org: Organization,
    *,
    customer_guid: str,
    project_guids: list[str],
    status: Record,
    rows: list[Record],
    header: Mapping[str, Any],
    billing_customer_guid: str | None = None,
    ctx: Ctx | None = None,
    guid: str | None = None,
) -> Record:
    """Create an invoice with ``rows`` and link their source items to it.

    A row is ``{rowType, description, quantity, measurementUnit, unitPrice (number),
    vatRate, code: [..], items: [(collection, guid), ...]}``."""
    store = org.store
    customer = store["customers"].get(customer_guid)
    if customer is None:
        raise invalid(f"Customer '{customer_guid}' was not found.", "customer")
    billing = store["customers"].get(billing_customer_guid) or customer
    invoice = _header(org, customer, billing, project_guids, header, guid)
    invoice = set_invoice_status(org, invoice, status)
    org.created(invoice, ctx)
    if header.get("createdDateTime"):
        invoice["createdDateTime"] = header["createdDateTime"]
    store["invoices"].put(invoice)
    _add_rows(org, invoice, rows, ctx)
    return store["invoices"].put(with_totals(store, dict(invoice)))


def _header(
    org: Organization,
    customer: Record,
    billing: Record,
    project_guids: list[str],
    header: Mapping[str, Any],
    guid: str | None,
) -> Record:
    """The invoice without rows: dates and terms, parties, references, currency."""
    store = org.store
    today = org.now().date()
    invoice_date = str(header.get("date") or today.isoformat())
    term = int(header.get("paymentTerm") or customer.get("paymentTerm") or 30)
    due = (
        header.get("dueDate")
        or (date.fromisoformat(invoice_date) + timedelta(days=term)).isoformat()
    )
    projects = [store["projects"].get(g) for g in project_guids]
    invoice: Record = {
        "guid": guid or org.new_guid(),
        "number": header.get("number"),
        "date": invoice_date,
        "dueDate": str(due),
        "entryDate": None,
        "paymentDate": header.get("paymentDate"),
        "paymentTerm": term,
        "overdueInterest": float(customer.get("overdueInterest") or 8.0),
        "referenceNumber": header.get("referenceNumber"),
        "customer": customer_ref(customer),
        "billingCustomer": customer_ref(billing),
        "projects": [pick(p, "guid", "name", "number") for p in projects if p],
        **pick(header, "ourReference", "yourReference", "orderNumber", "notes"),
        "freeText1": free_text(header.get("freeText1")),
        "freeText2": free_text(header.get("freeText2")),
        **_receiver(billing, billing_address(store, billing["guid"]) or {}, header),
        **_sender(store.first("organizationDetails")),
        **_currency(org, customer),
        "isCreditNote": bool(header.get("isCreditNote")),
        "workHourValueAddedTax": 25.0,
        "invoiceNumberBusinessUnitGuid": None,
        "canBeDeleted": True,
    }
    for link in ("creditNoteInvoice", "reimburseInvoice"):
        if isinstance(header.get(link), dict):
            invoice[link] = header[link]
    return invoice


def _address(line: Any, postal_code: Any, city: Any, country: Any) -> Record:
    return {
        "addressline": line,
        "postalCode": postal_code,
        "city": city,
        "state": None,
        "country": country,
    }


def _receiver(billing: Record, address: Record, header: Mapping[str, Any]) -> Record:
    """Who the invoice goes to: the billing customer at its billing address."""
    return {
        "receiverCustomerName": billing.get("name"),
        "receiverContactName": header.get("receiverContactName"),
        "receiverContactEmail": header.get("receiverContactEmail"),
        "receiverContactGuid": None,
        "receiverVatNumber": billing.get("vatNumber"),
        "receiverKvkNumber": None,
        "receiverAddress": _address(
            address.get("addressline"),
            address.get("postalCode"),
            address.get("city"),
            dig(address, "country.name"),
        ),
    }


def _sender(details: Record) -> Record:
    """Who sends it: the organization, from its details."""
    return {
        "senderName": details.get("name"),
        "senderVatNumber": details.get("vatNumber"),
        "senderKvkNumber": None,
        "senderContactName": None,
        "senderContactGuid": None,
        "senderAddress": _address(
            details.get("address"),
            details.get("postalCode"),
            details.get("city"),
            dig(details, "country.name"),
        ),
    }


def _currency(org: Organization, customer: Record) -> Record:
    """The customer's currency (the organization's when it has none)."""
    found = org.store["currencies"].get((customer.get("currency") or {}).get("guid")) or {}
    return {
        "currency": {
            "guid": found.get("guid") or org.new_guid(),
            "code": found.get("code") or org.store.org_currency(),
            "name": found.get("name"),
            "symbol": found.get("symbol"),
        },
        "currencyRate": float(found.get("rate") or 1.0),
    }


def billing_address(store: Store, customer_guid: str) -> Record | None:
    """The customer's first billing address, else its first address."""
    addresses = store.members("addresses", "customer.guid", customer_guid)
    for address in addresses:
        if address.get("isBillingAddress"):
            return address
    return addresses[0] if addresses else None


def _add_rows(org: Organization, invoice: Record, rows: list[Record], ctx: Ctx | None) -> None:
    """Store the rows in order and link each row's source items to it."""
    ref = invoice_ref(invoice)
    for position, spec in enumerate(rows, start=1):
        row_guid = str(spec.get("guid") or org.new_guid())
        row_type = spec.get("rowType", "ProjectFees")
        row: Record = {
            "guid": row_guid,
            "invoiceGuid": invoice["guid"],
            "rowType": row_type,
            "category": {"Hours": "Hours", "TravelExpenses": "Travels"}.get(
                str(spec.get("rowType")), "ProjectFees"
            ),
            "code": list(spec.get("code") or []) or None,
            "description": spec.get("description"),
            "quantity": spec.get("quantity", 1),
            "measurementUnit": spec.get("measurementUnit"),
            "unitPrice": money_output(spec.get("unitPrice", 0), invoice["currency"]["code"]),
            "vatRate": spec.get("vatRate"),
            "sortOrder": position,
            "flatRateGuid": None,
            "hasInvoiceComment": False,
        }
        org.insert("invoiceRows", row, ctx)
        for collection, item_guid in spec.get("items") or []:
            col = org.store[collection]
            linked = {**col.records[item_guid], "invoice": ref, "invoiceRowGuid": row_guid}
            if collection == "workHours":
                linked["billableStatus"] = "Billable"
            col.put(linked)


# == the back office's invoices ========================================================


def build_invoice(org: Organization, payload: Record) -> Record:
    """An invoice from explicit rows and source items (``POST /_sandbox/invoices``):
    customer, projects and codes by guid, number or name; see ``docs/severa.md``."""
    store = org.store
    customer = store.lookup("customers", payload["customer"], "number", "name")
    projects = [store.lookup("projects", p, "number", "name") for p in payload.get("projects", [])]
    status = find_status(org, str(payload.get("status") or "")) or default_status(store, None)
    rows: list[Record] = []
    for row in payload.get("rows", []):
        items = [add_source_item(org, item, projects, customer) for item in row.get("items", [])]
        code = row.get("code")
        rows.append(
            {**row, "code": [code] if isinstance(code, str) else (code or []), "items": items}
        )
    header = {
        k: v for k, v in payload.items() if k not in ("customer", "projects", "status", "rows")
    }
    return create_invoice(
        org,
        customer_guid=customer["guid"],
        project_guids=[p["guid"] for p in projects],
        status=status,
        rows=rows,
        header=header,
    )


ROUTES: tuple[ApiRoute, ...] = (ApiRoute("POST", "/invoices", post_invoice, "invoices:write"),)
