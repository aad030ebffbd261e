"""Generic reads: ``GET /v2/{resource}`` lists and ``GET /v2/{resource}/{id}``.

Records are stored as written; a few fields are computed on read (an invoice's overdue
state, a cost center's items, switch-dependent shapes). :func:`render` is the one place
that knows which, so lists, single reads, the back office and the dump agree.
"""

from __future__ import annotations

from collections.abc import Callable

from sandbox.core.http import Request, Response
from sandbox.core.store import Record
from sandbox.eekonomi.booking import render_invoice
from sandbox.eekonomi.context import Ctx
from sandbox.eekonomi.costcenters import render_cost_center
from sandbox.eekonomi.invoices import changed_since
from sandbox.eekonomi.odata import envelope
from sandbox.eekonomi.specs import SCHEMA_OF
from sandbox.eekonomi.supplier_invoices import render_supplier_invoice

ApiHandler = Callable[[Request, Ctx], Response]
Renderer = Callable[[Ctx, Record], Record]

_RENDERERS: dict[str, Renderer] = {
    "customerInvoices": render_invoice,
    "supplierInvoices": render_supplier_invoice,
    "costCenters": render_cost_center,
}


def _as_stored(ctx: Ctx, record: Record) -> Record:
    return record


def render(collection: str) -> Renderer:
    """How records of ``collection`` are shown (stored as they are, or computed on read)."""
    return _RENDERERS.get(collection, _as_stored)


def records(ctx: Ctx, collection: str) -> list[Record]:
    """Every record of a collection as the API shows it."""
    show = render(collection)
    return [show(ctx, r) for r in ctx.company.coll(collection).values()]


def list_of(collection: str) -> ApiHandler:
    """The list handler of a collection: OData query, page, envelope."""
    schema = SCHEMA_OF[collection]

    def handler(request: Request, ctx: Ctx) -> Response:
        found = records(ctx, collection)
        if collection == "customerInvoices":
            found = changed_since(request, found)
        return envelope(request, found, schema, ctx.switches, ctx.now())

    return handler


def get_of(collection: str) -> ApiHandler:
    """The ``/{id}`` handler of a collection (404 / 3000 when unknown)."""
    what = collection[:-1] if collection.endswith("s") else collection

    def handler(request: Request, ctx: Ctx) -> Response:
        record = ctx.company.find(collection, request.path_params["id"], what)
        return Response.json(200, render(collection)(ctx, record))

    return handler
