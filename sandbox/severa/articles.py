"""The settings the sync maps articles and VAT from: products, work types,
travel-expense types, VAT rates and currencies.

Products, work types and travel-expense types become eEkonomi articles (R-1.2, R-2.3),
matched by code: Severa keeps product and work-type codes in one namespace when the
organization setting ``uniqueIdentifierForProductsAndWorktypes`` is on, compared
case-insensitively as its SQL Server collation does. Only one work type and one VAT
rate can be the default.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sandbox.core import Request, Response
from sandbox.core.args import bool_arg
from sandbox.severa.errors import invalid
from sandbox.severa.handlers import ApiRoute, Ctx, Writes, crud
from sandbox.severa.paging import Filters, offset_page, token_page
from sandbox.severa.specs import (
    CURRENCY_IN,
    PRODUCT_IN,
    PRODUCT_TYPES,
    TRAVEL_TYPE_IN,
    VAT_RATE_IN,
    WORK_TYPE_IN,
)
from sandbox.severa.store import Store
from sandbox.severa.wire import drop_null_refs, money_of, named, pick

if TYPE_CHECKING:
    from sandbox.severa.tenant import Organization

Record = dict[str, Any]


def _apply_priced(record: Record, clean: Record, moneys: Iterable[str]) -> Record:
    """Money fields become ``MoneyOutputModel``s; account and category sub-models keep
    only what Severa shows of them."""
    money_fields = set(moneys)
    for key, value in clean.items():
        if key in money_fields:
            record[key] = money_of(value)
        elif key in ("salesAccount", "costAccount") and isinstance(value, dict):
            record[key] = pick(value, "guid", "name", "number")
        elif key == "productCategory" and isinstance(value, dict):
            record[key] = named(value)
        else:
            record[key] = value
    return drop_null_refs(
        record,
        (*money_fields, "salesAccount", "costAccount", "productCategory", "type", "expenseClass"),
    )


def _unique_code(org: Organization, clean: Record, own: str | None) -> None:
    """Product and work-type codes share one namespace when the org setting
    ``uniqueIdentifierForProductsAndWorktypes`` is on; compared case-insensitively
    (SQL Server collation)."""
    code = clean.get("code")
    if not isinstance(code, str) or not code.strip():
        return
    if not org.store.first("organizationSettings").get(
        "uniqueIdentifierForProductsAndWorktypes", True
    ):
        return
    wanted = code.strip().lower()
    for other in ("products", "workTypes"):
        for record in org.store[other].records.values():
            if record["guid"] != own and str(record.get("code") or "").strip().lower() == wanted:
                raise invalid(f"The code '{code}' is already in use.", "code")


def apply_travel_type(record: Record, clean: Record) -> Record:
    """A travel-expense type's ``isMileage``/``isDailyAllowance`` follow its class."""
    record = _apply_priced(record, clean, ("unitCost",))
    kind = record.get("expenseClass")
    record["isMileage"] = kind == "Mileage"
    record["isDailyAllowance"] = kind == "DailyAllowance"
    return record


def _new_vat_rate(org: Organization) -> Record:
    country = org.store.org_country()
    return {
        "code": None, "isActive": True, "isDefault": False,
        "countryGuid": country["guid"] if country else None,
    }  # fmt: skip


PRODUCTS = Writes(
    "products", "Product", PRODUCT_IN,
    new=lambda org: {
        "code": None, "isActive": True, "type": "Materials", "measurementUnit": None,
        "vatRate": None, "proposalDescription": None,
    },
    apply=lambda record, clean: _apply_priced(record, clean, ("unitPrice", "unitCost")),
    check=_unique_code,
)  # fmt: skip
WORK_TYPES = Writes(
    "workTypes", "Work type", WORK_TYPE_IN,
    new=lambda org: {"code": None, "isActive": True, "isDefault": False, "isProductive": True},
    apply=lambda record, clean: _apply_priced(record, clean, ("hourCost",)),
    check=_unique_code,
    single=("isDefault",),
)  # fmt: skip
TRAVEL_TYPES = Writes(
    "travelExpenseTypes", "Travel expense type", TRAVEL_TYPE_IN,
    new=lambda org: {
        "code": None, "isActive": True, "includeTime": True, "measurementUnit": None,
        "vatRate": None, "purchaseVatRate": None,
    },
    apply=apply_travel_type,
)  # fmt: skip
VAT_RATES = Writes("vatRates", "VAT rate", VAT_RATE_IN, new=_new_vat_rate, single=("isDefault",))
CURRENCIES = Writes("currencies", "Currency", CURRENCY_IN, new=lambda org: {})


def list_products(request: Request, ctx: Ctx) -> Response:
    org = ctx.organization
    filters = Filters().changed_since(request)
    filters.flag(request, "isActive", "isActive", default=True).equals(request, "code", "code")
    filters.equals(request, "type", "type", PRODUCT_TYPES)
    return token_page(org, request, "products", filters)


def list_work_types(request: Request, ctx: Ctx) -> Response:
    org = ctx.organization
    filters = Filters().changed_since(request).settings(request, "name", "code")
    filters.flag(request, "productive", "isProductive")
    return offset_page(org, request, "workTypes", filters)


def list_travel_types(request: Request, ctx: Ctx) -> Response:
    filters = Filters().settings(request, "name", "code")
    return offset_page(ctx.organization, request, "travelExpenseTypes", filters, default_rows=None)


def list_currencies(request: Request, ctx: Ctx) -> Response:
    filters = Filters().settings(request, "name", "code")
    return offset_page(ctx.organization, request, "currencies", filters)


def list_vat_rates(request: Request, ctx: Ctx) -> Response:
    """Unpaged; the organization's country unless ``countryGuid`` names another."""
    org = ctx.organization
    country = request.arg("countryGuid")
    if not country:
        own = org.store.org_country()
        country = own["guid"] if own else None
    active = bool_arg(request, "active")
    found = [
        r
        for r in org.store["vatRates"].ordered()
        if (country is None or str(r.get("countryGuid") or "").lower() == country.lower())
        and (active is None or bool(r.get("isActive", True)) == active)
    ]
    return Response.json(200, found)


def _country_settings(store: Store, record: Record, salt: str) -> list[Record]:
    """The one country setting (the organization's country) of a product or travel type."""
    country = store.org_country()
    if country is None:
        return []
    out: Record = {
        "guid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{salt}:{record['guid']}")),
        "country": named(country),
        "product": named(record),
        "vatRate": record.get("vatRate"),
        "createdDateTime": record.get("createdDateTime"),
        "lastUpdatedDateTime": record.get("lastUpdatedDateTime"),
    }
    if "purchaseVatRate" in record:
        out["purchaseVatRate"] = record.get("purchaseVatRate")
    return [out]


def product_country(request: Request, ctx: Ctx) -> Response:
    store = ctx.organization.store
    product = store.find("products", request.path_params["productGuid"], "Product")
    return Response.json(200, _country_settings(store, product, "productcountrysettings"))


def travel_type_country(request: Request, ctx: Ctx) -> Response:
    store = ctx.organization.store
    guid = request.path_params["travelExpenseTypeGuid"]
    kind = store.find("travelExpenseTypes", guid, "Travel expense type")
    return Response.json(200, _country_settings(store, kind, "travelexpensetypecountrysettings"))


ROUTES: tuple[ApiRoute, ...] = (
    *crud(
        "/products", "products", "Product", "settings",
        list_=list_products, post=PRODUCTS.post, patch=PRODUCTS.patch, delete=True,
    ),
    ApiRoute(
        "GET", "/products/{productGuid}/productcountrysettings", product_country, "settings:read"
    ),
    *crud(
        "/worktypes", "workTypes", "Work type", "settings",
        list_=list_work_types, post=WORK_TYPES.post, patch=WORK_TYPES.patch, delete=True,
    ),
    *crud(
        "/travelexpensetypes", "travelExpenseTypes", "Travel expense type", "settings",
        list_=list_travel_types, post=TRAVEL_TYPES.post, patch=TRAVEL_TYPES.patch, delete=True,
    ),
    ApiRoute(
        "GET", "/travelexpensetypes/{travelExpenseTypeGuid}/travelexpensetypecountrysettings",
        travel_type_country, "settings:read",
    ),
    *crud(
        "/vatrates", "vatRates", "VAT rate", "settings",
        list_=list_vat_rates, post=VAT_RATES.post, patch=VAT_RATES.patch, delete=True,
    ),
    *crud("/currencies", "currencies", "Currency", "settings",
          list_=list_currencies, patch=CURRENCIES.patch),
)  # fmt: skip
