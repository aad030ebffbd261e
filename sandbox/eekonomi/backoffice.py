"""eEkonomi's back-office extras: what a person in eEkonomi's UI does, and company admin.

The product must cope with changes it did not make: a customer renumbered in the UI,
a draft booked by hand, an invoice paid, a project finished, a cost-center item
deactivated, a supplier invoice booked from a scanned PDF, a consent withdrawn. These
routes (loopback only, under ``/_sandbox/``) make those happen; each acts on the company
``?company=<id or name>`` names, "Demokonsult AB" without it. Edits merge without API
validation, as the UI validates differently, but derived fields and change stamps move
as they would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sandbox.core.args import json_object
from sandbox.core.errors import ApiError
from sandbox.core.http import Request, Response
from sandbox.core.store import Record
from sandbox.eekonomi.articles import article_computed
from sandbox.eekonomi.booking import apply_payment, render_invoice
from sandbox.eekonomi.constants import stable_id
from sandbox.eekonomi.context import Ctx
from sandbox.eekonomi.convert import convert
from sandbox.eekonomi.customers import customer_computed
from sandbox.eekonomi.drafts import draft_computed
from sandbox.eekonomi.reads import render
from sandbox.eekonomi.sales import customer_for
from sandbox.eekonomi.specs import SCHEMA_OF
from sandbox.eekonomi.supplier_invoices import render_supplier_invoice, supplier_invoice_from
from sandbox.eekonomi.validation import normalize_dates
from sandbox.eekonomi.wire import dec, iso_day

if TYPE_CHECKING:
    from sandbox.eekonomi.app import EEkonomiSandbox

#: Path names of ``/_sandbox/ui/{collection}/{id}/edit`` → store collections.
EDITABLE = {
    "customers": "customers",
    "articles": "articles",
    "projects": "projects",
    "costcenters": "costCenters",
    "costcenteritems": "costCenterItems",
    "customerinvoicedrafts": "customerInvoiceDrafts",
    "customerinvoices": "customerInvoices",
    "supplierinvoices": "supplierInvoices",
}


class BackOffice:
    """The eEkonomi-only ``/_sandbox/`` routes of one app."""

    def __init__(self, app: EEkonomiSandbox) -> None:
        self.app = app

    def routes(self) -> list[tuple[str, str, Callable[[Request], Response]]]:
        return [
            ("GET", "/_sandbox/companies", self.companies),
            ("POST", "/_sandbox/revoke-refresh-tokens", self.revoke),
            ("POST", "/_sandbox/ui/{collection}/{id}/edit", self.edit),
            ("POST", "/_sandbox/ui/customerinvoicedrafts/{id}/convert", self.convert),
            ("POST", "/_sandbox/ui/customerinvoices/{id}/send", self.send),
            ("POST", "/_sandbox/ui/customerinvoices/{id}/pay", self.pay),
            ("POST", "/_sandbox/ui/supplierinvoices", self.book_supplier_invoice),
            ("POST", "/_sandbox/ui/projects/{id}/deactivate", self.deactivate_project),
            ("POST", "/_sandbox/ui/costcenteritems/{id}/deactivate", self.deactivate_item),
        ]

    def _ctx(self, request: Request) -> Ctx:
        return self.app.context(
            self.app.company_for(self.app.resolve_tenant(request.arg("company")))
        )

    def companies(self, request: Request) -> Response:
        """Every company ``?company=`` accepts: id, name, API module, record counts."""
        return Response.json(
            200,
            [
                {"id": c.id, "name": c.name, "apiModule": c.api_module, "counts": c.counts()}
                for c in self.app.companies.values()
            ],
        )

    def revoke(self, request: Request) -> Response:
        """Revoke every refresh token (and access token) issued for a company — what a
        password change or a revoked consent does; the next refresh gets invalid_grant."""
        company = self._ctx(request).company
        with self.app.lock:
            count = self.app.identity.revoke_where(lambda g: g.company_id == company.id)
        return Response.json(200, {"revoked": count, "company": company.id})

    def edit(self, request: Request) -> Response:
        """A person edits a record in eEkonomi's UI: fields merge in (no API validation, no
        full replace), derived fields are recomputed and the change stamp moves."""
        path_name = request.path_params["collection"].lower()
        collection = EDITABLE.get(path_name)
        if collection is None:
            raise ApiError(404, f"unknown collection {path_name!r}")
        ctx = self._ctx(request)
        changes = json_object(request, empty_ok=True)
        with self.app.lock:
            record = ctx.company.find(collection, request.path_params["id"], path_name)
            record.update({k: v for k, v in changes.items() if k != "Id"})
            ctx.company.coll(collection).put(record)  # re-index a new number
            normalize_dates(SCHEMA_OF[collection], record)
            now = ctx.now_iso()
            for stamp in ("ChangedUtc", "ModifiedUtc"):
                if stamp in record:
                    record[stamp] = now
            _recompute(ctx, collection, record)
            return Response.json(200, render(collection)(ctx, record))

    def convert(self, request: Request) -> Response:
        """A person books a draft in the UI (``SendType`` optional), under the switches."""
        ctx = self._ctx(request)
        payload = json_object(request, empty_ok=True)
        with self.app.lock:
            draft = ctx.company.find("customerInvoiceDrafts", request.path_params["id"], "draft")
            invoice = convert(ctx, draft, send_type=payload.get("SendType"))
            return Response.json(201, render_invoice(ctx, invoice))

    def send(self, request: Request) -> Response:
        """Mark an invoice sent: ``{"SendType": 1, "IsNotDelivered": false}``."""
        ctx = self._ctx(request)
        payload = json_object(request, empty_ok=True)
        with self.app.lock:
            invoice = ctx.company.find("customerInvoices", request.path_params["id"], "invoice")
            invoice["SendType"] = int(payload.get("SendType", 1))
            invoice["IsNotDelivered"] = bool(payload.get("IsNotDelivered", False))
            invoice["HasAutoInvoiceError"] = bool(payload.get("HasAutoInvoiceError", False))
            invoice["ModifiedUtc"] = ctx.now_iso()
            return Response.json(200, render_invoice(ctx, invoice))

    def pay(self, request: Request) -> Response:
        """Register a payment: ``{"Amount": 500, "PaymentDate": "2026-05-01"}``; without
        ``Amount`` the rest is paid."""
        ctx = self._ctx(request)
        payload = json_object(request, empty_ok=True)
        with self.app.lock:
            invoice = ctx.company.find("customerInvoices", request.path_params["id"], "invoice")
            given = payload.get("Amount")
            paid = dec(given) if given is not None else dec(invoice["RemainingAmount"])
            apply_payment(ctx, invoice, paid, payload.get("PaymentDate"), touch=True)
            return Response.json(200, render_invoice(ctx, invoice))

    def book_supplier_invoice(self, request: Request) -> Response:
        """Book a supplier invoice as a person would: same rules as ``POST /supplierinvoices``
        (rows must balance), but ``SupplierName`` may stand in for ``SupplierId`` (the
        supplier is created) and amounts may carry more than 2 decimals (imported data)."""
        ctx = self._ctx(request)
        payload = json_object(request, empty_ok=True)
        with self.app.lock:
            if not payload.get("SupplierId") and payload.get("SupplierName"):
                supplier = _supplier_named(ctx, str(payload.pop("SupplierName")))
                payload["SupplierId"] = supplier["Id"]
            invoice = supplier_invoice_from(ctx, payload, origin=0, strict_decimals=False)
            return Response.json(201, render_supplier_invoice(ctx, invoice))

    def deactivate_project(self, request: Request) -> Response:
        """Finish a project in the UI (``Status`` 2, ``EndDate`` today)."""
        ctx = self._ctx(request)
        with self.app.lock:
            project = ctx.company.find("projects", request.path_params["id"], "project")
            project.update(Status=2, EndDate=project.get("EndDate") or iso_day(ctx.today()))
            project["ModifiedUtc"] = ctx.now_iso()
            return Response.json(200, project)

    def deactivate_item(self, request: Request) -> Response:
        """Deactivate a cost-center item in the UI (rows using it then answer 5006)."""
        ctx = self._ctx(request)
        with self.app.lock:
            item = ctx.company.find(
                "costCenterItems", request.path_params["id"], "cost center item"
            )
            item["IsActive"] = False
            return Response.json(200, item)


def _recompute(ctx: Ctx, collection: str, record: Record) -> None:
    if collection == "customers":
        customer_computed(ctx.company, record)
    elif collection == "articles":
        article_computed(ctx.company, record)
    elif collection == "customerInvoiceDrafts":
        draft_computed(ctx.company, record, customer_for(ctx, record["CustomerId"]))


def _supplier_named(ctx: Ctx, name: str) -> Record:
    """The supplier called ``name``, created (with the next number) when there is none."""
    suppliers = ctx.company.coll("suppliers")
    found = next((s for s in suppliers.values() if s["Name"] == name), None)
    if found is not None:
        return found
    supplier = {
        "Id": stable_id("supplier", ctx.company.id, name),
        "SupplierNumber": str(len(suppliers) + 1),
        "Name": name,
    }
    return suppliers.put(supplier)
