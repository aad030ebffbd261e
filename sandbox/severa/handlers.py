"""What every Severa resource family shares: the call context, route declarations, and the
generic steps of a read, a create, an update and a delete.

Each resource module (customers, articles, projects, invoices, …) declares its routes
as a tuple of :class:`ApiRoute` and writes its handlers as functions of the request and
its :class:`Ctx`, which carries the organization the call is answered from. The
steps every write repeats (validate the body, apply a JSON Patch, stamp and store) are
here once, so a resource cannot forget one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.core import Request, Response, dig
from sandbox.severa.errors import fail, json_body
from sandbox.severa.paging import Filters, offset_page, token_page
from sandbox.severa.patch import patch_body
from sandbox.severa.validation import Spec, validate

if TYPE_CHECKING:
    from sandbox.severa.tenant import Organization

Record = dict[str, Any]


@dataclass
class Ctx:
    """One data call (named as eEkonomi's call context is): the organization its
    credentials belong to, its client id and the scopes of its access token."""

    organization: Organization
    client_id: str
    scopes: frozenset[str]


Handler = Callable[[Request, Ctx], Response]


@dataclass(frozen=True)
class ApiRoute:
    """One ``/rest-api/v1`` route: the wrapper checks the token and ``scope`` first."""

    method: str
    template: str
    handler: Handler
    scope: str | None


def crud(
    path: str,
    collection: str,
    what: str,
    family: str,
    *,
    list_: Handler | None = None,
    post: Handler | None = None,
    patch: Handler | None = None,
    delete: Handler | bool = False,
) -> tuple[ApiRoute, ...]:
    """The routes of one resource: ``GET path`` (``list_``), ``POST path``, and
    ``GET``/``PATCH``/``DELETE path/{guid}``, with the scopes ``family:read|write|delete``.
    ``delete=True`` deletes an unused record with no further checks."""
    routes = [ApiRoute("GET", f"{path}/{{guid}}", get_one(collection, what), f"{family}:read")]
    if list_ is not None:
        routes.append(ApiRoute("GET", path, list_, f"{family}:read"))
    if post is not None:
        routes.append(ApiRoute("POST", path, post, f"{family}:write"))
    if patch is not None:
        routes.append(ApiRoute("PATCH", f"{path}/{{guid}}", patch, f"{family}:write"))
    remove = delete_one(collection, what) if delete is True else delete
    if callable(remove):
        routes.append(ApiRoute("DELETE", f"{path}/{{guid}}", remove, f"{family}:delete"))
    return tuple(routes)


# -- generic handlers ----------------------------------------------------------------


def get_one(collection: str, what: str) -> Handler:
    def get(request: Request, ctx: Ctx) -> Response:
        org = ctx.organization
        record = org.store.find(collection, request.path_params["guid"], what)
        return Response.json(200, org.view(collection, record))

    return get


def changed_list(collection: str, *, by_token: bool) -> Handler:
    """A list whose only filter is ``changedSince`` (token or offset paging)."""

    def list_records(request: Request, ctx: Ctx) -> Response:
        org = ctx.organization
        filters = Filters().changed_since(request)
        if by_token:
            return token_page(org, request, collection, filters)
        return offset_page(org, request, collection, filters)

    return list_records


def singleton(collection: str) -> Handler:
    """The one record of a one-record collection (organization details, settings)."""

    def get(request: Request, ctx: Ctx) -> Response:
        found = ctx.organization.store[collection].ordered()
        if not found:
            raise fail(404, "InvalidRequest", f"No {collection} in this organization.")
        return Response.json(200, found[0])

    return get


#: Where a settings record is used (collection → [(user, dotted field)]): a record in
#: use cannot be deleted, as in Severa's UI.
_USES: dict[str, list[tuple[str, str]]] = {
    "products": [("projectFees", "product.guid")],
    "workTypes": [("workHours", "workType.guid")],
    "travelExpenseTypes": [("projectTravelExpenses", "travelExpense.guid")],
    "invoiceStatuses": [("invoices", "status.guid")],
    "vatRates": [("customers", "invoicingVat.guid")],
}


def delete_one(collection: str, what: str) -> Handler:
    def delete(request: Request, ctx: Ctx) -> Response:
        store = ctx.organization.store
        record = store.find(collection, request.path_params["guid"], what)
        guid = record["guid"]
        for other, path in _USES.get(collection, []):
            if any(dig(r, path) == guid for r in store[other].records.values()):
                raise fail(400, "InvalidOperation", f"The record is in use ({other}).")
        store[collection].remove(guid)
        return Response.empty(204)

    return delete


# -- the steps of a write ------------------------------------------------------------


def posted(request: Request, ctx: Ctx, spec: Spec) -> Record:
    """The validated body of a ``POST`` (every required field present)."""
    return validate(ctx.organization.store, spec, json_body(request), partial=False)


def patched(
    request: Request,
    ctx: Ctx,
    collection: str,
    what: str,
    spec: Spec,
    guid: str | None = None,
) -> tuple[Record, Record]:
    """The record a ``PATCH`` names and the validated fields its JSON Patch sets."""
    org = ctx.organization
    current = org.store.find(collection, guid or request.path_params["guid"], what)
    body = patch_body(
        request,
        spec,
        current,
        any_case=org.switches.patch_op_case_insensitive,
        currency=org.store.org_currency(),
    )
    return current, validate(org.store, spec, body, partial=True)


def single_default(org: Organization, collection: str, record: Record, flag: str) -> None:
    """Only one record may carry ``flag`` (``isDefault``): setting it clears it elsewhere."""
    if not record.get(flag):
        return
    col = org.store[collection]
    for other in list(col.records.values()):
        if other["guid"] != record["guid"] and other.get(flag):
            col.put({**other, flag: False})


def merged(record: Record, clean: Record) -> Record:
    """The plainest write: the validated fields replace the record's."""
    record.update(clean)
    return record


@dataclass(frozen=True)
class Writes:
    """How a settings-like resource is created and patched: one new-record template,
    one way to apply validated fields, one uniqueness check, the flags only one record
    may carry. ``post`` and ``patch`` are its two handlers."""

    collection: str
    what: str
    spec: Spec
    new: Callable[[Organization], Record]
    apply: Callable[[Record, Record], Record] = merged
    check: Callable[[Organization, Record, str | None], None] | None = None
    single: tuple[str, ...] = ()

    def post(self, request: Request, ctx: Ctx) -> Response:
        org = ctx.organization
        clean = posted(request, ctx, self.spec)
        if self.check is not None:
            self.check(org, clean, None)
        record = self.apply({"guid": org.new_guid(), **self.new(org)}, clean)
        for flag in self.single:
            single_default(org, self.collection, record, flag)
        org.insert(self.collection, record, ctx)
        return Response.json(201, record)

    def patch(self, request: Request, ctx: Ctx) -> Response:
        org = ctx.organization
        current, clean = patched(request, ctx, self.collection, self.what, self.spec)
        if self.check is not None:
            self.check(org, clean, current["guid"])
        record = self.apply(copy.deepcopy(current), clean)
        for flag in self.single:
            single_default(org, self.collection, record, flag)
        org.update(self.collection, record, ctx)
        return Response.json(200, [record])
