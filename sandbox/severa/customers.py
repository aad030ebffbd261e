"""Customers and what hangs off them: addresses, contact persons, communications.

The sync reads customers with their addresses and contacts (R-5.1) and writes new ones
when eEkonomi is the master; Severa requires unique customer names and numbers, and
shows a customer's headquarter address and a contact's e-mails and phone numbers as
read-only snapshots derived from other records. Those derived fields are filled in
when a record is shown (:data:`VIEWS`) or, for the headquarter snapshot, refreshed
whenever the address changes.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from sandbox.core import Request, Response, dig
from sandbox.core.args import bool_arg
from sandbox.severa.errors import fail, invalid
from sandbox.severa.handlers import ApiRoute, Ctx, changed_list, crud, patched, posted
from sandbox.severa.paging import Filters, offset_page, token_page
from sandbox.severa.specs import ADDRESS_IN, COMMUNICATION_IN, CONTACT_IN, CUSTOMER_IN
from sandbox.severa.store import Store
from sandbox.severa.validation import Spec
from sandbox.severa.wire import currency_ref, customer_ref, drop_null_refs, named, pick

if TYPE_CHECKING:
    from collections.abc import Callable

    from sandbox.severa.tenant import Organization

Record = dict[str, Any]

#: Sub-model fields that the document types as ``$ref`` objects (omitted when null).
CUSTOMER_REFS = (
    "currency", "invoicingVat", "language", "headquarterAddress", "owner", "industry",
    "invoiceTemplate", "pricelist", "timezone", "createdBy", "lastUpdatedBy",
)  # fmt: skip
_CONTACT_REFS = ("customer", "language", "role", "timeZone", "salutation", "satisfactionLevel")

_NEW_CUSTOMER: Record = {
    "number": None, "isActive": True, "isInternal": False, "vatNumber": None, "email": None,
    "website": None, "notes": None, "paymentTerm": None, "overdueInterest": None,
    "eInvoiceAddress": None, "eInvoiceOperator": None, "kvkNumber": None,
    "annualRevenue": None, "numberOfEmployees": None,
}  # fmt: skip
_NEW_ADDRESS: Record = {
    "addressline": None, "postalCode": None, "city": None, "phone": None, "fax": None,
    "isBillingAddress": False, "isPostalAddress": False, "isVisitAddress": False,
}  # fmt: skip
_NEW_CONTACT: Record = {
    "jobTitle": None, "description": None, "dateOfBirth": None, "addressGuid": None,
    "isActive": True, "isDeleted": False, "isEmailAllowed": False,
}  # fmt: skip


# == customers =========================================================================


def list_customers(request: Request, ctx: Ctx) -> Response:
    org = ctx.organization
    filters = Filters().changed_since(request)
    filters.flag(request, "isActive", "isActive", default=True)
    if bool_arg(request, "isInternal"):  # false does not narrow: every customer is listed
        filters.add(lambda r: bool(r.get("isInternal")))
    filters.numbers(request).one_of(request, "customerNames", "name")
    filters.one_of(request, "emailAddresses", "email")
    filters.one_of(request, "customerOwnerGuids", "owner.guid")
    return token_page(org, request, "customers", filters)


def _check_customer(org: Organization, merged: Record, own: str | None) -> None:
    """Numbers are unique; names too (case-insensitive), unless switched off."""
    org.store.unique_number("customers", merged.get("number"), own, "Customer")
    if not org.switches.unique_customer_names:
        return
    wanted = str(merged.get("name") or "").strip().lower()
    for record in org.store["customers"].records.values():
        if record["guid"] != own and str(record.get("name") or "").strip().lower() == wanted:
            raise invalid(f"A customer named '{merged.get('name')}' already exists.", "name")


def _apply_customer(store: Store, record: Record, clean: Record) -> Record:
    embedded: dict[str, tuple[str, Callable[[Record], Record | None]]] = {
        "currency": ("currencies", currency_ref),
        "invoicingVat": ("vatRates", lambda vat: pick(vat, "guid", "code", "percentage")),
        "headquarterAddress": ("addresses", lambda a: address_summary(store, a["guid"])),
        "owner": ("users", lambda user: store.user(user["guid"])),
    }
    for key, value in clean.items():
        if key in embedded:
            collection, shape = embedded[key]
            found = store[collection].get(value["guid"]) if value else None
            record[key] = shape(found) if found is not None else None
        else:
            record[key] = value
    return drop_null_refs(record, CUSTOMER_REFS)


def address_summary(store: Store, guid: str) -> Record | None:
    """The read-only ``headquarterAddress`` snapshot of a customer."""
    address = store["addresses"].get(guid)
    if address is None:
        return None
    summary = pick(address, "guid", "addressline", "postalCode", "city")
    return {**summary, "country": dig(address, "country.name")}


def post_customer(request: Request, ctx: Ctx) -> Response:
    org = ctx.organization
    clean = posted(request, ctx, CUSTOMER_IN)
    _check_customer(org, clean, None)
    record = _apply_customer(org.store, {"guid": org.new_guid(), **_NEW_CUSTOMER}, clean)
    if "currency" not in clean:
        record = _apply_customer(org.store, record, {"currency": org.store.org_currency_ref()})
    if record.get("number") is None:
        record["number"] = org.store.next_number("customers", "nextCustomerNumber")
    org.store.bump_setting("nextCustomerNumber", int(record["number"]))
    org.insert("customers", record, ctx)
    return Response.json(201, record)


def _patch(
    request: Request,
    ctx: Ctx,
    collection: str,
    what: str,
    spec: Spec,
    apply: Callable[[Store, Record, Record], Record],
    check: Callable[[Organization, Record, str | None], None] | None = None,
) -> Record:
    """Find the record, apply its JSON Patch, check the result and store it."""
    org = ctx.organization
    current, clean = patched(request, ctx, collection, what, spec)
    record = apply(org.store, copy.deepcopy(current), clean)
    if check is not None:
        check(org, record, current["guid"])
    return org.update(collection, record, ctx)


def patch_customer(request: Request, ctx: Ctx) -> Response:
    record = _patch(
        request, ctx, "customers", "Customer", CUSTOMER_IN, _apply_customer, _check_customer
    )
    return Response.json(200, [record])


def delete_customer(request: Request, ctx: Ctx) -> Response:
    """Only a customer without projects and invoices; its addresses and contacts go too."""
    store = ctx.organization.store
    guid = store.find("customers", request.path_params["guid"], "Customer")["guid"]
    if store["projects"].by("customer.guid", guid) or store["invoices"].by("customer.guid", guid):
        raise fail(
            400, "InvalidOperation", "A customer with projects or invoices cannot be deleted."
        )
    for collection in ("addresses", "contactPersons"):
        for g in store[collection].by("customer.guid", guid):
            store[collection].remove(g)
    store["customers"].remove(guid)
    return Response.empty(204)


def _touch_customer(org: Organization, guid: str | None, ctx: Ctx | None) -> None:
    if not org.switches.address_change_touches_customer:
        return
    customer = org.store["customers"].get(guid)
    if customer is not None:
        org.update("customers", dict(customer), ctx)


# == addresses =========================================================================


def list_customer_addresses(request: Request, ctx: Ctx) -> Response:
    org = ctx.organization
    customer = org.store.find("customers", request.path_params["customerGuid"], "Customer")
    source = org.store["addresses"].by("customer.guid", customer["guid"])
    return offset_page(org, request, "addresses", Filters(), source)


def _country(country: Record) -> Record:
    return {
        **pick(country, "guid", "name", "englishName"),
        "hasRegions": country.get("hasRegions") or "NoRegion",
    }


def _apply_address(store: Store, record: Record, clean: Record) -> Record:
    for key, value in clean.items():
        record[key] = store.embed("countries", value, _country) if key == "country" else value
    return drop_null_refs(record, ("country", "countryRegion", "customer"))


def post_address(request: Request, ctx: Ctx) -> Response:
    org = ctx.organization
    customer = org.store.find("customers", request.path_params["customerGuid"], "Customer")
    clean = posted(request, ctx, ADDRESS_IN)
    record = {"guid": org.new_guid(), **_NEW_ADDRESS, "customer": customer_ref(customer)}
    record = _apply_address(org.store, record, clean)
    org.insert("addresses", record, ctx)
    _touch_customer(org, customer["guid"], ctx)
    return Response.json(201, address_view(org, record))


def patch_address(request: Request, ctx: Ctx) -> Response:
    org = ctx.organization
    record = _patch(request, ctx, "addresses", "Address", ADDRESS_IN, _apply_address)
    refresh_headquarters(org.store, record["guid"])
    _touch_customer(org, dig(record, "customer.guid"), ctx)
    return Response.json(200, [address_view(org, record)])


def refresh_headquarters(store: Store, address_guid: str) -> None:
    """Customers show their headquarter address as a read-only snapshot: refresh it."""
    customers = store["customers"]
    for customer in list(customers.records.values()):
        if dig(customer, "headquarterAddress.guid") == address_guid:
            customers.put({**customer, "headquarterAddress": address_summary(store, address_guid)})


def address_view(org: Organization, record: Record) -> Record:
    """An address lists the contacts linked to it."""
    contacts = org.store["contactPersons"]
    linked = [
        {"guid": g, "name": contacts.records[g].get("name")}
        for g in contacts.by("addressGuid", record.get("guid"))
    ]
    return {**record, "contacts": linked}


# == contact persons ===================================================================


def _contact_filters(request: Request) -> Filters:
    return Filters().flag(request, "active", "isActive", default=True).text(request, "name")


def list_contacts(request: Request, ctx: Ctx) -> Response:
    org = ctx.organization
    filters = _contact_filters(request).changed_since(request)
    return offset_page(org, request, "contactPersons", filters)


def list_customer_contacts(request: Request, ctx: Ctx) -> Response:
    org = ctx.organization
    customer = org.store.find("customers", request.path_params["customerGuid"], "Customer")
    source = org.store["contactPersons"].by("customer.guid", customer["guid"])
    return offset_page(org, request, "contactPersons", _contact_filters(request), source)


def contact_name(record: Record) -> str:
    return f"{record.get('firstName') or ''} {record.get('lastName') or ''}".strip()


def _apply_contact(store: Store, record: Record, clean: Record) -> Record:
    for key, value in clean.items():
        record[key] = store.embed("customers", value, customer_ref) if key == "customer" else value
    address_guid = record.get("addressGuid")
    if address_guid:
        address = store["addresses"].get(address_guid)
        if address is None:
            raise invalid(f"Address '{address_guid}' was not found.", "addressGuid")
        if dig(address, "customer.guid") != dig(record, "customer.guid"):
            raise invalid("The address belongs to another customer.", "addressGuid")
        record["addressGuid"] = address["guid"]
    record["name"] = contact_name(record)
    return drop_null_refs(record, _CONTACT_REFS)


def post_contact(request: Request, ctx: Ctx) -> Response:
    org = ctx.organization
    clean = posted(request, ctx, CONTACT_IN)
    record = _apply_contact(org.store, {"guid": org.new_guid(), **_NEW_CONTACT}, clean)
    org.insert("contactPersons", record, ctx)
    _touch_customer(org, dig(record, "customer.guid"), ctx)
    return Response.json(201, contact_view(org, record))


def patch_contact(request: Request, ctx: Ctx) -> Response:
    org = ctx.organization
    record = _patch(request, ctx, "contactPersons", "Contact", CONTACT_IN, _apply_contact)
    _touch_customer(org, dig(record, "customer.guid"), ctx)
    return Response.json(200, [contact_view(org, record)])


def contact_view(org: Organization, record: Record) -> Record:
    """A contact shows its e-mail addresses and phone numbers from its communications."""
    emails: list[str] = []
    phones: list[str] = []
    for comm in org.store.members("contactCommunications", "contact.guid", record.get("guid")):
        kind = dig(comm, "communicationType.type")
        if kind == "EmailAddress":
            emails.append(str(comm.get("value")))
        elif kind in ("Phone", "MobilePhone", "IPPhone"):
            phones.append(str(comm.get("value")))
    return {**record, "emails": emails, "phoneNumbers": phones}


# == contact communications ============================================================


def _communication_filters(request: Request, filters: Filters) -> Filters:
    filters.flag(request, "active", "isForbiddenToUse", negated=True)
    return filters.text(request, "value")


def list_communications(request: Request, ctx: Ctx) -> Response:
    org = ctx.organization
    filters = Filters().changed_since(request)
    _communication_filters(request, filters)
    return offset_page(org, request, "contactCommunications", filters)


def list_contact_communications(request: Request, ctx: Ctx) -> Response:
    store = ctx.organization.store
    contact = store.find("contactPersons", request.path_params["contactGuid"], "Contact")
    filters = _communication_filters(request, Filters())
    found = store.members("contactCommunications", "contact.guid", contact["guid"])
    return Response.json(200, [r for r in found if filters(r)])


def _communication_type(kind: Record) -> Record:
    return {**pick(kind, "guid", "name", "type"), "isActive": kind.get("isActive", True)}


def _apply_communication(store: Store, record: Record, clean: Record) -> Record:
    for key, value in clean.items():
        if key == "contact":
            record[key] = store.embed("contactPersons", value, named)
        elif key == "communicationType":
            record[key] = store.embed("communicationTypes", value, _communication_type)
        else:
            record[key] = value
    return record


def post_communication(request: Request, ctx: Ctx) -> Response:
    org = ctx.organization
    clean = posted(request, ctx, COMMUNICATION_IN)
    record = {"guid": org.new_guid(), "isForbiddenToUse": True}
    record = _apply_communication(org.store, record, clean)
    org.insert("contactCommunications", record, ctx)
    return Response.json(201, record)


def patch_communication(request: Request, ctx: Ctx) -> Response:
    """The one PATCH the document answers with a single object, not an array."""
    record = _patch(
        request, ctx, "contactCommunications", "Contact communication", COMMUNICATION_IN,
        _apply_communication,
    )  # fmt: skip
    return Response.json(200, record)


VIEWS: dict[str, Callable[[Organization, Record], Record]] = {
    "addresses": address_view,
    "contactPersons": contact_view,
}

_READ = "customers:read"
ROUTES: tuple[ApiRoute, ...] = (
    *crud(
        "/customers", "customers", "Customer", "customers",
        list_=list_customers, post=post_customer, patch=patch_customer, delete=delete_customer,
    ),
    ApiRoute("GET", "/customers/{customerGuid}/addresses", list_customer_addresses, _READ),
    ApiRoute("POST", "/customers/{customerGuid}/addresses", post_address, "customers:write"),
    ApiRoute("GET", "/customers/{customerGuid}/contactpersons", list_customer_contacts, _READ),
    *crud(
        "/addresses", "addresses", "Address", "customers",
        list_=changed_list("addresses", by_token=False), patch=patch_address, delete=True,
    ),
    *crud(
        "/contactpersons", "contactPersons", "Contact", "customers",
        list_=list_contacts, post=post_contact, patch=patch_contact, delete=True,
    ),
    *crud(
        "/contactcommunications", "contactCommunications", "Contact communication", "customers",
        list_=list_communications, post=post_communication, patch=patch_communication,
        delete=True,
    ),
    ApiRoute(
        "GET", "/contacts/{contactGuid}/contactcommunications", list_contact_communications, _READ
    ),
)  # fmt: skip
