"""Projects and what is billed on them: project fees, work hours, travel expenses.

A project belongs to one customer and has a root phase; fees are added to it through
the API (``POST /v1/projectfees`` answers an array), hours and travel expenses exist
only as the source items of invoice rows (the OpenAPI subset has no route to write
them). An invoiced item can no longer be changed or deleted, and a closed project
takes no new fees unless switched.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.core import Request, Response, dig
from sandbox.severa.errors import fail, invalid
from sandbox.severa.handlers import ApiRoute, Ctx, changed_list, crud, patched, posted
from sandbox.severa.paging import Filters, token_page
from sandbox.severa.specs import FEE_IN, PROJECT_IN
from sandbox.severa.wire import (
    currency_ref,
    customer_ref,
    drop_null_refs,
    invoice_ref,
    money_of,
    money_output,
    named,
    pick,
    user_ref,
)

if TYPE_CHECKING:
    from sandbox.severa.tenant import Organization

Record = dict[str, Any]

#: Sub-model fields that the document types as ``$ref`` objects (omitted when null).
_PROJECT_REFS = (
    "customer", "businessUnit", "projectOwner", "salesPerson", "billingContact",
    "customerContact", "currency", "costCenter", "projectStatus", "salesStatus",
    "defaultWorkType", "leadSource", "pricelist", "invoiceTemplate", "expectedValue",
    "rootPhase",
)  # fmt: skip
_FEE_REFS = (
    "phase", "product", "productType", "unitPrice", "unitCost", "user", "invoice",
    "salesAccount", "costCenter", "billingDependencyPhase", "billingSchedule",
)  # fmt: skip
_ITEM_REFS = ("product", "phase", "invoice", "workType", "travelExpense", "user")

_NEW_PROJECT: Record = {
    "number": None, "isClosed": False, "closedDate": None, "isInternal": False,
    "isJoiningAllowed": True, "isMileageBillable": True, "isDailyAllowanceBillable": True,
    "isOtherTravelExpensesBillable": True, "description": None, "internalName": None,
    "invoiceNotes": None, "orderNumber": None, "ourReference": None, "yourReference": None,
    "paymentTerm": None, "probability": None, "startDate": None, "deadline": None,
    "expectedOrderDate": None, "keywords": [], "useOvertimeMultipliers": True,
    "useProductsFromSetting": True, "useWorkTypesFromSetting": True,
}  # fmt: skip
_NEW_FEE: Record = {
    "name": None, "description": None, "eventDate": None, "quantity": 0,
    "measurementUnit": None, "vatRate": None, "isBillable": True,
    "billingSchedule": "Immediately", "plannedBillingDate": None, "invoiceQuantity": None,
    "invoiceRowDescription": None, "invoiceRowComment": None, "invoiceRowGuid": None,
    "isRecurrenceRule": False, "recurrenceRuleGuid": None, "hasVolumePricing": False,
    "displayPeriodStartDate": None, "productType": None,
}  # fmt: skip

_PROJECT_FILTERS = (
    ("customerGuids", "customer.guid"),
    ("projectGuids", "guid"),
    ("projectOwnerGuids", "projectOwner.guid"),
    ("salesPersonGuids", "salesPerson.guid"),
    ("businessUnitGuids", "businessUnit.guid"),
)


#: Sets one validated field on a record (some fields set more than their own key).
Setter = Callable[["Organization", Record, str, Any], None]


def _embedder(collection: str, shape: Callable[[Record], Record]) -> Setter:
    """A reference field shown as ``shape`` of the record it names."""

    def set_field(org: Organization, record: Record, key: str, value: Any) -> None:
        record[key] = org.store.embed(collection, value, shape)

    return set_field


def _set_money(org: Organization, record: Record, key: str, value: Any) -> None:
    record[key] = money_of(value)


def _set_named(org: Organization, record: Record, key: str, value: Any) -> None:
    record[key] = named(value) if isinstance(value, dict) else value


# == projects ==========================================================================


def list_projects(request: Request, ctx: Ctx) -> Response:
    org = ctx.organization
    filters = Filters().changed_since(request)
    for arg, path in _PROJECT_FILTERS:
        filters.one_of(request, arg, path)
    filters.numbers(request).flag(request, "isClosed", "isClosed")
    filters.flag(request, "internal", "isInternal").equals(request, "currencyGuid", "currency.guid")
    return token_page(org, request, "projects", filters)


def _set_contact(org: Organization, record: Record, key: str, value: Any) -> None:
    """A billing contact shows a ``code``; a customer contact whether it was deleted."""
    contact = org.store["contactPersons"].get(value["guid"]) if value else None
    if contact is None:
        record[key] = None
        return
    shown = pick(contact, "guid", "firstName", "lastName", "name")
    if key == "billingContact":
        record[key] = {**shown, "code": None}
    else:
        record[key] = {**shown, "isDeleted": bool(contact.get("isDeleted"))}


def _set_closed(org: Organization, record: Record, key: str, value: Any) -> None:
    """Closing stamps ``closedDate`` (once); reopening clears it."""
    if value and not record.get("isClosed"):
        record["closedDate"] = org.now().date().isoformat()
    elif not value:
        record["closedDate"] = None
    record[key] = bool(value)


def _set_business_unit(org: Organization, record: Record, key: str, value: Any) -> None:
    if isinstance(value, dict):
        if not value.get("guid"):
            raise invalid("The businessUnit.guid field is required.", "businessUnit")
        value = named(value)
    record[key] = value


def _set_user(org: Organization, record: Record, key: str, value: Any) -> None:
    record[key] = org.store.user(value["guid"]) if value else None


def _set_work_types_flag(org: Organization, record: Record, key: str, value: Any) -> None:
    record["useWorkTypesFromSetting"] = value  # the output model spells it with a capital T


_PROJECT_FIELDS: dict[str, Setter] = {
    "customer": _embedder("customers", customer_ref),
    "projectOwner": _set_user,
    "salesPerson": _set_user,
    "billingContact": _set_contact,
    "customerContact": _set_contact,
    "currency": _embedder("currencies", currency_ref),
    "expectedValue": _set_money,
    "useWorktypesFromSetting": _set_work_types_flag,
    "isClosed": _set_closed,
    "businessUnit": _set_business_unit,
}


def apply_project(org: Organization, record: Record, clean: Record) -> Record:
    for key, value in clean.items():
        setter = _PROJECT_FIELDS.get(key)
        if setter is None:
            record[key] = value
        else:
            setter(org, record, key, value)
    return drop_null_refs(record, _PROJECT_REFS)


def post_project(request: Request, ctx: Ctx) -> Response:
    """A new project gets the next free number and a root phase of its own name."""
    org = ctx.organization
    clean = posted(request, ctx, PROJECT_IN)
    org.store.unique_number("projects", clean.get("number"), None, "Project")
    guid = org.new_guid()
    record = {"guid": guid, **copy.deepcopy(_NEW_PROJECT)}
    if "currency" not in clean:
        clean["currency"] = org.store.org_currency_ref()
    record = apply_project(org, record, clean)
    if record.get("number") is None:
        record["number"] = org.store.next_number("projects", "nextProjectNumber")
    org.store.bump_setting("nextProjectNumber", int(record["number"]))
    phase = {"guid": org.new_guid(), "name": record["name"], "project": named(record)}
    org.insert("phases", phase, ctx)
    record["rootPhase"] = named(phase)
    org.insert("projects", record, ctx)
    return Response.json(201, record)


def patch_project(request: Request, ctx: Ctx) -> Response:
    org = ctx.organization
    current, clean = patched(request, ctx, "projects", "Project", PROJECT_IN)
    org.store.unique_number("projects", clean.get("number"), current["guid"], "Project")
    record = apply_project(org, copy.deepcopy(current), clean)
    org.update("projects", record, ctx)
    return Response.json(200, [record])


# == project fees ======================================================================


def _set_fee_project(org: Organization, record: Record, value: Any, root_phase: bool) -> None:
    """A fee shows its project, the project's customer and (new) its root phase."""
    project = org.store["projects"].get(value["guid"])
    assert project is not None  # noqa: S101 - validated reference
    if project.get("isClosed") and not org.switches.fees_on_closed_projects:
        raise fail(
            400, "InvalidOperation", "Fees cannot be added to a closed project.",
            "RequestBody", "project",
        )  # fmt: skip
    record["project"] = {**named(project), "companyGuid": None}
    record["customer"] = customer_ref(project.get("customer") or {})
    root = project.get("rootPhase")
    if root_phase and isinstance(root, dict):
        record["phase"] = named(root)


def _set_phase(org: Organization, record: Record, key: str, value: Any) -> None:
    """A phase of the fee's own project (a billing dependency shows ``isCompleted``)."""
    phase = org.store["phases"].get(value["guid"]) if value else None
    if phase is not None and dig(phase, "project.guid") != dig(record, "project.guid"):
        raise invalid("The phase belongs to another project.", key)
    extra = {"isCompleted": False} if key == "billingDependencyPhase" else {}
    record[key] = None if phase is None else named(phase) | extra


def _set_fee_user(org: Organization, record: Record, key: str, value: Any) -> None:
    user = org.store.user(value["guid"]) if value else None
    record[key] = user_ref(user) if user else None


_FEE_FIELDS: dict[str, Setter] = {
    "phase": _set_phase,
    "billingDependencyPhase": _set_phase,
    "product": _embedder("products", lambda p: pick(p, "guid", "name", "code")),
    "unitPrice": _set_money,
    "unitCost": _set_money,
    "user": _set_fee_user,
    "invoice": _embedder("invoices", invoice_ref),
    "salesAccount": _set_named,
    "costCenter": _set_named,
}


def _apply_fee(org: Organization, record: Record, clean: Record, *, creating: bool) -> Record:
    for key, value in clean.items():
        if key == "project":
            _set_fee_project(org, record, value, creating and "phase" not in clean)
        elif key in _FEE_FIELDS:
            _FEE_FIELDS[key](org, record, key, value)
        else:
            record[key] = value
    product = org.store["products"].get(dig(clean, "product.guid"))
    if creating and product is not None and org.switches.fee_defaults_from_product:
        for name in ("name", "measurementUnit", "vatRate", "unitPrice", "unitCost"):
            if clean.get(name) is None and product.get(name) is not None:
                record[name] = copy.deepcopy(product[name])
        if clean.get("productType") is None and product.get("type"):
            record["productType"] = product["type"]
    return drop_null_refs(record, _FEE_REFS)


def post_fee(request: Request, ctx: Ctx) -> Response:
    """``POST /v1/projectfees`` answers 201 with an *array* (the document says so)."""
    org = ctx.organization
    clean = posted(request, ctx, FEE_IN)
    record = _apply_fee(org, {"guid": org.new_guid(), **_NEW_FEE}, clean, creating=True)
    if record.get("eventDate") is None:
        record["eventDate"] = org.now().date().isoformat()
    org.insert("projectFees", record, ctx)
    return Response.json(201, [record])


def patch_fee(request: Request, ctx: Ctx) -> Response:
    """The path may list several guids, comma-separated; all get the same patch."""
    org = ctx.organization
    guids = [g.strip() for g in request.path_params["guid"].split(",") if g.strip()]
    currents = [org.store.find("projectFees", g, "Project fee") for g in guids]
    updated: list[Record] = []
    for current in currents:
        if current.get("invoice"):
            raise fail(400, "InvalidOperation", "An invoiced project fee cannot be changed.")
        _, clean = patched(request, ctx, "projectFees", "Project fee", FEE_IN, current["guid"])
        updated.append(_apply_fee(org, copy.deepcopy(current), clean, creating=False))
    for record in updated:
        org.update("projectFees", record, ctx)
    return Response.json(200, updated)


def delete_fee(request: Request, ctx: Ctx) -> Response:
    store = ctx.organization.store
    current = store.find("projectFees", request.path_params["guid"], "Project fee")
    if current.get("invoice"):
        raise fail(400, "InvalidOperation", "An invoiced project fee cannot be deleted.")
    store["projectFees"].remove(current["guid"])
    return Response.empty(204)


# == source items made by a person (back office, demo) =================================


@dataclass(frozen=True)
class _Source:
    """What a source item is made from: the back office's description of it, the
    fields every kind shares, its project and phase, and its article (product, work
    type or travel-expense type; ``{}`` for a fee without a product)."""

    item: Record
    base: Record
    project: Record
    root: Record
    article: Record


def add_source_item(
    org: Organization, item: Record, projects: list[Record], customer: Record
) -> tuple[str, str]:
    """Create one source item (``kind``: projectFee, workHour, travelExpense) on the
    item's project (by guid, number or name) or the first of ``projects``."""
    store = org.store
    project = (
        store.lookup("projects", item["project"], "number", "name")
        if "project" in item
        else projects[0]
    )
    collection, articles, key, build = _KINDS.get(
        item.get("kind", "projectFee"), _KINDS["travelExpense"]
    )
    if collection == "projectFees" and not item.get(key):
        article: Record = {}
    else:
        article = store.lookup(articles, item[key], "code", "name")
    currency = store.org_currency()
    base: Record = {
        "guid": item.get("guid") or org.new_guid(),
        "project": {**named(project), "companyGuid": None},
        "customer": customer_ref(customer),
        "eventDate": item.get("eventDate") or org.now().date().isoformat(),
        "quantity": item.get("quantity", 1),
        "description": item.get("description"),
        "unitPrice": money_output(item.get("unitPrice", 0), currency),
        "unitCost": money_output(item.get("unitCost", 0), currency),
        "isBillable": True,
        "invoiceRowGuid": None,
    }
    root = project.get("rootPhase") or {"guid": org.new_guid(), "name": project.get("name")}
    record = build(_Source(item, base, project, root, article))
    users = store["users"].ordered()
    if users:
        shown = ("guid", "firstName", "lastName", "name", "code")
        record["user"] = pick(users[0], *shown) if collection == "workHours" else user_ref(users[0])
    record = {k: v for k, v in record.items() if v is not None or k not in _ITEM_REFS}
    org.insert(collection, record, None)
    return collection, record["guid"]


def _fee_item(source: _Source) -> Record:
    item, product = source.item, source.article
    return {
        **source.base, "name": item.get("name") or product.get("name"),
        "phase": named(source.root),
        "product": pick(product, "guid", "name", "code") if product else None,
        "productType": product.get("type", "Materials"),
        "measurementUnit": item.get("measurementUnit") or product.get("measurementUnit"),
        "vatRate": item.get("vatRate", product.get("vatRate", 25.0)),
        "billingSchedule": "Immediately", "isRecurrenceRule": False, "hasVolumePricing": False,
    }  # fmt: skip


def _hour_item(source: _Source) -> Record:
    project = source.project
    return {
        **source.base,
        "workType": pick(source.article, "guid", "code", "name"),
        "phase": {**named(source.root), "isCompleted": False, "isLocked": False},
        "project": {
            **source.base["project"], "number": project.get("number"),
            "isClosed": bool(project.get("isClosed")),
        },
        "billableStatus": "Billable", "isApproved": True, "isModifiable": False,
        "isProductive": True, "invoiceQuantity": None,
    }  # fmt: skip


def _travel_item(source: _Source) -> Record:
    travel, base = source.article, source.base
    return {
        **base,
        "travelExpense": {
            **pick(travel, "guid", "code", "name", "expenseClass"),
            "includeTime": bool(travel.get("includeTime")),
        },
        "phase": named(source.root),
        "project": {**base["project"], "number": source.project.get("number"),
                    "isInternal": False},
        "customer": named(base["customer"]),
        "measurementUnit": travel.get("measurementUnit"),
        "vatRate": source.item.get("vatRate", 25.0),
        "billingSchedule": "Immediately", "attachmentCount": 0,
        "travelReimbursementRequired": False,
    }  # fmt: skip


#: kind → (its collection, the articles it names, the item's key for one, its builder);
#: an unknown kind is a travel expense, as the back office has always taken it.
_KINDS: dict[Any, tuple[str, str, str, Callable[[_Source], Record]]] = {
    "projectFee": ("projectFees", "products", "product", _fee_item),
    "workHour": ("workHours", "workTypes", "workType", _hour_item),
    "travelExpense": ("projectTravelExpenses", "travelExpenseTypes", "travelExpense", _travel_item),
}


ROUTES: tuple[ApiRoute, ...] = (
    *crud(
        "/projects", "projects", "Project", "projects",
        list_=list_projects, post=post_project, patch=patch_project,
    ),
    *crud(
        "/projectfees", "projectFees", "Project fee", "fees",
        list_=changed_list("projectFees", by_token=True), post=post_fee, patch=patch_fee,
        delete=delete_fee,
    ),
)  # fmt: skip
