"""The Severa back office: what a person does in Severa's UI, and extra credentials.

Tests and the demo need changes that no API client can make — a person creates a
customer, edits an address, moves an invoice to "paid", closes a project, invoices
hours — and they must look exactly as Severa would make them (``lastUpdatedDateTime``
bumped, derived fields kept current, numbering by status). These routes sit under
``/_sandbox/`` beside the shared ones of :class:`~sandbox.core.SandboxApp` (dump, seed,
faults, request log), answer loopback clients only, and act on one organization: the
one ``?organization=ID`` names, else the default one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.core import Collection, Request, Response
from sandbox.severa.articles import apply_travel_type
from sandbox.severa.customers import contact_name, refresh_headquarters
from sandbox.severa.errors import SeveraError
from sandbox.severa.identity import ALL_SCOPES, Client, parse_scopes
from sandbox.severa.invoices import refresh_item_invoice_refs, set_invoice_status, with_totals
from sandbox.severa.projects import apply_project
from sandbox.severa.store import COLLECTIONS

if TYPE_CHECKING:
    from sandbox.severa.tenant import Organization

Record = dict[str, Any]
Office = Callable[["Organization", Request], Response]

#: Fields derived from others, recomputed when a person edits a record.
_DERIVED: dict[str, Callable[[Record], Record]] = {
    "travelExpenseTypes": lambda record: apply_travel_type(record, {}),
    "contactPersons": lambda record: {**record, "name": contact_name(record)},
}


class Refused(Exception):  # noqa: N818 - an answer, not a failure of the sandbox
    """A back-office call the sandbox refuses: answered ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def serve(office: Office, org: Organization) -> Callable[[Request], Response]:
    """The route handler of one back-office call on ``org``."""

    def answer(request: Request) -> Response:
        try:
            return office(org, request)
        except Refused as exc:
            return Response.json(exc.status, {"error": exc.message})

    return answer


def _object(request: Request, what: str = "a JSON object") -> Record:
    payload = request.json()
    if not isinstance(payload, dict):
        raise Refused(400, f"send {what}")
    return payload


def _existing(records: Collection, guid: str, what: str = "record") -> Record:
    found = records.get(guid)
    if found is None:
        raise Refused(404, f"no such {what}")
    return found


# == credentials =======================================================================


def add_client(org: Organization, request: Request) -> Response:
    """``{"client_id", "client_secret", "scopes": "a b" | [..]}`` (default: all). A
    client id names one organization: one another organization has is refused."""
    payload = _object(request)
    client_id = str(payload.get("client_id") or "")
    secret = str(payload.get("client_secret") or "")
    if not client_id or not secret:
        raise Refused(400, "client_id and client_secret are required")
    scopes = payload.get("scopes", list(ALL_SCOPES))
    if isinstance(scopes, str):
        scopes = parse_scopes(scopes)
    unknown = [s for s in scopes if s not in ALL_SCOPES]
    if unknown:
        raise Refused(400, f"unknown scopes {unknown}")
    owner = next((o.id for o in org.directory.values() if client_id in o.clients), org.id)
    if owner != org.id:
        raise Refused(409, f"client id {client_id!r} belongs to organization {owner!r}")
    with org.lock:
        org.clients[client_id] = Client(secret, frozenset(scopes))
    return Response.json(201, {"client_id": client_id, "scopes": sorted(scopes)})


# == records, as a person edits them ===================================================


def _collection(org: Organization, request: Request) -> Collection:
    name = request.path_params["collection"]
    for known in COLLECTIONS:
        if known.lower() == name.lower():
            return org.store[known]
    raise Refused(404, f"unknown collection {name!r}")


def create(org: Organization, request: Request) -> Response:
    """Add a record as a person would in Severa's UI (no API validation)."""
    col = _collection(org, request)
    record = _object(request)
    with org.lock:
        record.setdefault("guid", org.new_guid())
        if col.get(str(record["guid"])) is not None:
            raise Refused(409, "a record with this guid exists")
        org.insert(col.name, record, None)
    return Response.json(201, org.view(col.name, record))


def edit(org: Organization, request: Request) -> Response:
    """Merge fields into a record (nested objects merged one level deep) and bump
    ``lastUpdatedDateTime``, as an edit in Severa's UI does; derived fields and the
    records that show this one follow."""
    col = _collection(org, request)
    changes = _object(request, "a JSON object of fields")
    with org.lock:
        record = copy.deepcopy(_existing(col, request.path_params["guid"]))
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(record.get(key), dict):
                record[key] = {**record[key], **value}
            else:
                record[key] = value
        derive = _DERIVED.get(col.name)
        if derive is not None:
            record = derive(record)
        org.update(col.name, record, None)
        _follow_edit(org, col.name, record)
    return Response.json(200, org.view(col.name, record))


def _follow_edit(org: Organization, collection: str, record: Record) -> None:
    """A customer shows its headquarter address; an invoice its rows' totals."""
    store = org.store
    if collection == "addresses":
        refresh_headquarters(store, record["guid"])
    invoice = store["invoices"].get(record.get("invoiceGuid"))
    if collection == "invoiceRows" and invoice is not None:
        org.update("invoices", with_totals(store, dict(invoice)), None)


def delete(org: Organization, request: Request) -> Response:
    col = _collection(org, request)
    with org.lock:
        col.remove(_existing(col, request.path_params["guid"])["guid"])
    return Response.empty(204)


# == invoices and projects, as a person moves them on ==================================


def invoice_status(org: Organization, request: Request) -> Response:
    """``{"status": name or guid}``: move an invoice as a person would (numbering and
    payment date follow the status flags)."""
    wanted = str(request.json().get("status") or "")
    with org.lock:
        invoice = _existing(org.store["invoices"], request.path_params["guid"], "invoice")
        status = org.find_status(wanted)
        if status is None:
            raise Refused(404, f"no invoice status {wanted!r}")
        record = set_invoice_status(org, copy.deepcopy(invoice), status)
        org.update("invoices", record, None)
        refresh_item_invoice_refs(org.store, record)
    return Response.json(200, record)


def close_project(org: Organization, request: Request) -> Response:
    """``{"closed": true|false}`` (default true): close or reopen a project."""
    payload = request.json() if request.body else {}
    closed = bool(payload.get("closed", True)) if isinstance(payload, dict) else True
    with org.lock:
        project = _existing(org.store["projects"], request.path_params["guid"], "project")
        record = apply_project(org, copy.deepcopy(project), {"isClosed": closed})
        org.update("projects", record, None)
    return Response.json(200, record)


def add_invoice(org: Organization, request: Request) -> Response:
    """Add an invoice with rows and their source items; see ``docs/severa.md``."""
    payload = _object(request)
    with org.lock:
        try:
            invoice = org.build_invoice(payload)
        except (KeyError, ValueError) as exc:
            raise Refused(400, str(exc)) from None
        except SeveraError as exc:
            raise Refused(400, exc.details[0]["message"]) from None
    rows = org.store.members("invoiceRows", "invoiceGuid", invoice["guid"])
    return Response.json(201, {"invoice": invoice, "rows": rows})


ROUTES: tuple[tuple[str, str, Office], ...] = (
    ("POST", "/_sandbox/clients", add_client),
    ("POST", "/_sandbox/create/{collection}", create),
    ("POST", "/_sandbox/edit/{collection}/{guid}", edit),
    ("POST", "/_sandbox/delete/{collection}/{guid}", delete),
    ("POST", "/_sandbox/invoices/{guid}/status", invoice_status),
    ("POST", "/_sandbox/projects/{guid}/close", close_project),
    ("POST", "/_sandbox/invoices", add_invoice),
)
