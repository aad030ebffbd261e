"""Local stand-in for the Visma Severa REST API v1 (``/rest-api/v1/...``).

Why it exists: Severa cannot be reached from our machines, and a fake that is kinder
than the real thing hides exactly the bugs that hurt in production. So this sandbox
reproduces Severa's *published contract* (the OpenAPI subset in
``shared/apis/severa-v1.subset.openapi.yaml``) and the behaviour the contract notes
(``shared/apis/severa-notes.md``) describe, quirks included:

* client-credentials tokens from ``POST /v1/token`` (field names matched
  case-insensitively, scopes space- or comma-separated, one-hour access tokens) and
  rotating refresh tokens from ``POST /v1/refreshtoken``; scopes enforced per resource;
  the ``Client_Id`` header tolerated when absent and rejected when it names another
  client;
* two paging styles: opaque ``pageToken`` + ``NextPageToken`` response header on the big
  collections, ``firstRow``/``rowCount`` on the settings lists, and no paging at all on
  VAT rates; ``rowCount`` defaults to 20 and is clamped to 100;
* ``changedSince`` (greater or equal, against ``lastUpdatedDateTime`` or else
  ``createdDateTime``) only where the document has it;
* JSON Patch updates that answer *arrays*, ``POST /v1/projectfees`` and
  ``POST /v1/invoices`` answering arrays too, ``op`` accepted in any case;
* every error as an ``ExceptionModel`` body; 429 with ``Retry-After`` at about ten
  requests per second per client.

Where the notes say a behaviour is unconfirmed, the choice is a keyword-only
constructor switch (see :class:`SeveraSwitches`) with the most likely real behaviour
as default, also settable at run time through ``POST /_sandbox/switches``.

The store keeps records in Severa's wire format (camelCase, nested ``{guid, name}``
references), one dict per collection keyed by guid, in insertion order. Stored
records are never mutated in place (every write replaces the dict), so list answers
can share them without copying. Documentation: ``sandbox/docs/severa.md``.
"""

from __future__ import annotations

import base64
import bisect
import copy
import hashlib
import hmac
import json
import re
import secrets
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from email.utils import formatdate
from pathlib import Path
from typing import Any

from sandbox.core import JSON, RateWindow, Request, Response, SandboxApp

Record = dict[str, Any]

#: The demo data committed beside this module (written by ``sandbox/demo_severa.py``).
DEMO_DATA = Path(__file__).resolve().parent / "data" / "severa-demo.json"

DEMO_CLIENT_ID = "demo-severa-client"
DEMO_CLIENT_SECRET = "demo-severa-secret"  # noqa: S105 - a published sandbox credential

#: Every scope Severa's OpenAPI document declares (``components.securitySchemes``).
ALL_SCOPES: tuple[str, ...] = tuple(
    f"{family}:{kind}"
    for family in (
        "activities",
        "customers",
        "fees",
        "files",
        "hours",
        "invoices",
        "organization",
        "projects",
        "resourceallocations",
        "settings",
        "travels",
        "users",
    )  # fmt: skip
    for kind in ("read", "write", "delete")
    if not (family == "organization" and kind == "delete")
)

#: Store collections, in the order of the dump. The first group has REST resources;
#: the second holds records Severa has but the OpenAPI subset exposes only embedded.
COLLECTIONS: tuple[str, ...] = (
    "organizationDetails", "organizationSettings", "currencies", "vatRates",
    "invoiceStatuses", "products", "workTypes", "travelExpenseTypes", "customers",
    "addresses", "contactPersons", "contactCommunications", "projects", "projectFees",
    "invoices", "invoiceRows", "workHours", "projectTravelExpenses",
    "users", "phases", "countries", "communicationTypes",
)  # fmt: skip

#: Secondary indexes (collection → dotted fields) for the sub-resource lists.
INDEXES: dict[str, tuple[str, ...]] = {
    "addresses": ("customer.guid",),
    "contactPersons": ("customer.guid", "addressGuid"),
    "contactCommunications": ("contact.guid",),
    "projects": ("customer.guid",),
    "projectFees": ("invoiceRowGuid", "project.guid"),
    "invoiceRows": ("invoiceGuid",),
    "workHours": ("invoiceRowGuid", "project.guid"),
    "projectTravelExpenses": ("invoiceRowGuid", "project.guid"),
    "invoices": ("customer.guid",),
}

RATE_LIMIT_MESSAGE = "API calls quota exceeded! maximum admitted {limit} per 1s."


# -- switches ------------------------------------------------------------------------


@dataclass
class SeveraSwitches:
    """Behaviours the notes mark unconfirmed (severa-notes §8); defaults = most likely.

    Every field is a keyword argument of :class:`SeveraSandbox` and a key of
    ``POST /_sandbox/switches``.
    """

    #: Access-token lifetime (observed: 3600 s in real JWTs).
    access_token_seconds: int = 3600
    #: Refresh-token lifetime (unconfirmed; proposal 30 days).
    refresh_token_days: int = 30
    #: ``/v1/refreshtoken`` invalidates the refresh token it was given.
    rotate_refresh_tokens: bool = True
    #: ``POST /v1/token`` also takes ``grant_type=refresh_token`` (seen in one client only).
    token_refresh_grant: bool = False
    #: Reject data calls without a ``Client_Id`` header (the spec says required; live
    #: Severa tolerates its absence). A *mismatching* header is always rejected.
    require_client_id_header: bool = False
    #: HTTP status of an ``InsufficientApiScope`` error.
    scope_error_status: int = 403
    #: ``rowCount`` when the request gives none (token and offset lists).
    default_row_count: int = 20
    #: Largest ``rowCount`` honoured.
    max_row_count: int = 100
    #: Larger ``rowCount`` values are clamped silently (else 400 ``InvalidParameter``).
    clamp_row_count: bool = True
    #: Send ``NextPageToken`` on the last (non-empty) page too; the page after is empty.
    next_page_token_on_last_page: bool = False
    #: Page tokens older than this answer 400 ``InvalidParameter``.
    page_token_ttl_seconds: int = 600
    #: Header carrying the total when ``calculateRowCount=true`` ("" = never sent).
    total_row_count_header: str = "TotalRowCount"
    #: 429 body: ``json`` (ExceptionModel) or ``text`` (the bare message).
    rate_limit_body: str = "json"
    #: ``Retry-After`` seconds on 429 (0 = header not sent).
    rate_limit_retry_after: int = 1
    #: Requests per second per client before 429.
    rate_limit_per_second: int = 10
    #: Give an invoice the next number when it enters a status with ``hasInvoiceNumber``.
    assign_invoice_numbers: bool = True
    #: ``/number`` may be patched on an invoice (the number eEkonomi gave it, R-1.6).
    invoice_number_patchable: bool = True
    #: A project fee with a product takes name/prices/VAT/unit from it when omitted.
    fee_defaults_from_product: bool = True
    #: Project fees may be added to closed projects.
    fees_on_closed_projects: bool = False
    #: Customer names must be unique (case-insensitive), as R-5.1 says Severa requires.
    unique_customer_names: bool = True
    #: JSON Patch ``op`` in any case (``replace``); else only the spec's ``Replace``.
    patch_op_case_insensitive: bool = True
    #: 404 answers carry an ExceptionModel body (else an empty body).
    not_found_body: bool = True
    #: Changing an address or contact also bumps its customer's ``lastUpdatedDateTime``.
    address_change_touches_customer: bool = False


# -- errors --------------------------------------------------------------------------


class SeveraError(Exception):
    """Raised inside handlers; the route wrapper turns it into an ExceptionModel answer."""

    def __init__(self, status: int, kind: str, details: list[Record]) -> None:
        super().__init__(f"{status} {kind}: {details}")
        self.status = status
        self.kind = kind
        self.details = details
        self.headers: list[tuple[str, str]] = []


class TextAnswer(SeveraError):
    """An error answered as plain text (the switchable 429 body), not an ExceptionModel."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status, "InvalidRequest", [])
        self.response = response


def exception_body(status: int, kind: str, details: Iterable[Record]) -> Record:
    """Severa's ``ExceptionModel``: ``{"error": {httpStatusCode, type, details, stack}}``."""
    return {"error": {"httpStatusCode": status, "type": kind, "details": list(details)}}


def detail(message: str, location: str | None = None, identifier: str | None = None) -> Record:
    """One ``ExceptionDetailModel``; ``location`` is ``RequestBody``/``UriParameter``/..."""
    out: Record = {"message": message}
    if location is not None:
        out["location"] = {"type": location, "identifier": identifier, "name": identifier}
    return out


def fail(
    status: int,
    kind: str,
    message: str,
    location: str | None = None,
    identifier: str | None = None,
) -> SeveraError:
    return SeveraError(status, kind, [detail(message, location, identifier)])


def invalid(message: str, identifier: str | None = None, where: str = "RequestBody") -> SeveraError:
    return fail(400, "InvalidParameter", message, where if identifier else None, identifier)


def not_found(what: str, guid: str) -> SeveraError:
    return fail(404, "InvalidParameter", f"{what} '{guid}' was not found.", "PathParameter", "guid")


# -- time ----------------------------------------------------------------------------


def fmt_time(moment: datetime) -> str:
    """Severa date-time on the wire: UTC, milliseconds, ``Z``."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: str) -> datetime:
    """ISO-8601 date or date-time; no offset means UTC (the server's zone)."""
    text = value.strip()
    if not text:
        raise ValueError("empty")
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def dig(record: Mapping[str, Any], dotted: str) -> Any:
    """``dig(r, "customer.guid")``; ``None`` when any step is missing."""
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def money(amount: float | int | None, currency: str | None) -> Record:
    """``MoneyOutputModel``."""
    return {"amount": amount, "currencyCode": currency, "multiCurrencyInfo": []}


def new_guid() -> str:
    return str(uuid.uuid4())


# -- store ---------------------------------------------------------------------------


class Collection:
    """One vendor collection: records by guid in insertion order, a change time per
    record (for ``changedSince``), a sequence number (for keyset page tokens) and the
    secondary indexes of :data:`INDEXES`."""

    def __init__(self, name: str, indexes: Iterable[str] = ()) -> None:
        self.name = name
        self.index_fields = tuple(indexes)
        self.clear()

    def clear(self) -> None:
        self.records: dict[str, Record] = {}
        self.seq: dict[str, int] = {}
        self.changed: dict[str, datetime] = {}
        self.order: list[str] = []
        self.seqs: list[int] = []
        self.indexes: dict[str, dict[str, list[str]]] = {f: {} for f in self.index_fields}
        self._next = 1

    def __len__(self) -> int:
        return len(self.records)

    def get(self, guid: str | None) -> Record | None:
        if not guid:
            return None
        found = self.records.get(guid)
        if found is None and guid.lower() != guid:
            found = self.records.get(guid.lower())
        return found

    def put(self, record: Record) -> Record:
        """Insert or replace (never mutate a stored record: pass a new dict)."""
        guid = str(record["guid"])
        old = self.records.get(guid)
        if old is None:
            self.seq[guid] = self._next
            self.order.append(guid)
            self.seqs.append(self._next)
            self._next += 1
        for name in self.index_fields:
            old_key = dig(old, name) if old is not None else None
            new_key = dig(record, name)
            if old is not None and old_key == new_key:
                continue
            index = self.indexes[name]
            if old_key is not None:
                members = index.get(str(old_key), [])
                if guid in members:
                    members.remove(guid)
            if new_key is not None:
                members = index.setdefault(str(new_key), [])
                members.append(guid)
                if len(members) > 1 and self.seq[members[-2]] > self.seq[guid]:
                    members.sort(key=self.seq.__getitem__)
        self.records[guid] = record
        stamp = record.get("lastUpdatedDateTime") or record.get("createdDateTime")
        try:
            self.changed[guid] = parse_time(str(stamp)) if stamp else datetime.now(UTC)
        except ValueError:
            self.changed[guid] = datetime.now(UTC)
        return record

    def remove(self, guid: str) -> None:
        old = self.records.pop(guid, None)
        if old is None:
            return
        position = bisect.bisect_left(self.seqs, self.seq[guid])
        del self.order[position]
        del self.seqs[position]
        for name in self.index_fields:
            key = dig(old, name)
            if key is not None and guid in self.indexes[name].get(str(key), []):
                self.indexes[name][str(key)].remove(guid)
        del self.seq[guid]
        del self.changed[guid]

    def ordered(self) -> list[Record]:
        return [self.records[g] for g in self.order]

    def by(self, index: str, key: str | None) -> list[str]:
        """Guids whose indexed field equals ``key``, in insertion order."""
        if key is None:
            return []
        return list(self.indexes[index].get(key, []))

    def after(self, last_seq: int, source: list[str] | None = None) -> Iterator[str]:
        """Guids with a sequence number above ``last_seq`` (of ``source`` if given)."""
        if source is None:
            start = bisect.bisect_right(self.seqs, last_seq)
            for position in range(start, len(self.order)):
                yield self.order[position]
        else:
            for guid in source:
                if self.seq.get(guid, 0) > last_seq:
                    yield guid


# -- input validation ----------------------------------------------------------------


@dataclass(frozen=True)
class F:
    """One writable field of an input model.

    ``kind``: ``str``, ``int``, ``num``, ``bool``, ``date``, ``datetime``, ``enum``,
    ``ref`` (``{guid}`` that must exist in ``ref``), ``money``
    (``MoneyInputModelWithNullableAmount``), ``obj`` (kept as given), ``text``
    (``FreeTextModel``: only ``value`` is writable).
    """

    kind: str
    required: bool = False
    min_len: int | None = None
    max_len: int | None = None
    enum: tuple[str, ...] = ()
    ref: str | None = None
    ref_what: str = "record"


PRODUCT_TYPES = ("FixedFees", "Materials", "Subcontracting")
EXPENSE_CLASSES = ("Mileage", "DailyAllowance", "OtherTravelExpense")
ROW_TYPES = ("FlatRate", "Hours", "ProjectFees", "TravelExpenses")

CUSTOMER_IN: dict[str, F] = {
    "name": F("str", required=True, min_len=1),
    "number": F("int"),
    "vatNumber": F("str"),
    "kvkNumber": F("str", max_len=25),
    "isActive": F("bool"),
    "email": F("str"),
    "website": F("str"),
    "notes": F("str"),
    "paymentTerm": F("int"),
    "overdueInterest": F("num"),
    "currency": F("ref", ref="currencies", ref_what="Currency"),
    "invoicingVat": F("ref", ref="vatRates", ref_what="VAT rate"),
    "language": F("obj"),
    "eInvoiceAddress": F("str"),
    "eInvoiceOperator": F("str"),
    "headquarterAddress": F("ref", ref="addresses", ref_what="Address"),
    "owner": F("ref", ref="users", ref_what="User"),
    "industry": F("obj"),
    "invoiceTemplate": F("obj"),
    "pricelist": F("obj"),
    "timezone": F("obj"),
    "annualRevenue": F("int"),
    "numberOfEmployees": F("int"),
}
ADDRESS_IN: dict[str, F] = {
    "addressline": F("str"),
    "postalCode": F("str"),
    "city": F("str"),
    "country": F("ref", ref="countries", ref_what="Country"),
    "countryRegion": F("obj"),
    "phone": F("str"),
    "fax": F("str"),
    "isBillingAddress": F("bool"),
    "isPostalAddress": F("bool"),
    "isVisitAddress": F("bool"),
}
CONTACT_IN: dict[str, F] = {
    "firstName": F("str", required=True, min_len=1),
    "lastName": F("str", required=True, min_len=1),
    "customer": F("ref", required=True, ref="customers", ref_what="Customer"),
    "jobTitle": F("str"),
    "description": F("str"),
    "dateOfBirth": F("date"),
    "addressGuid": F("str"),
    "isActive": F("bool"),
    "isEmailAllowed": F("bool"),
    "role": F("obj"),
    "language": F("obj"),
    "timeZone": F("obj"),
    "salutation": F("enum", enum=("Mr.", "Mrs.", "Ms.")),
    "satisfactionLevel": F("enum", enum=("Unsatisfied", "Neutral", "Satisfied", "Unknown")),
}
COMMUNICATION_IN: dict[str, F] = {
    "value": F("str", required=True, min_len=1),
    "contact": F("ref", required=True, ref="contactPersons", ref_what="Contact"),
    "communicationType": F(
        "ref", required=True, ref="communicationTypes", ref_what="Communication type"
    ),
    "isForbiddenToUse": F("bool"),
}
PRODUCT_IN: dict[str, F] = {
    "name": F("str", required=True, min_len=1),
    "code": F("str"),
    "isActive": F("bool"),
    "type": F("enum", enum=PRODUCT_TYPES),
    "measurementUnit": F("str"),
    "unitPrice": F("money"),
    "unitCost": F("money"),
    "vatRate": F("num"),
    "productCategory": F("obj"),
    "salesAccount": F("obj"),
    "proposalDescription": F("str"),
}
WORK_TYPE_IN: dict[str, F] = {
    "name": F("str", required=True, min_len=1),
    "code": F("str"),
    "hourCost": F("money"),
    "isActive": F("bool"),
    "isDefault": F("bool"),
    "isProductive": F("bool"),
    "salesAccount": F("obj"),
}
TRAVEL_TYPE_IN: dict[str, F] = {
    "name": F("str", required=True, min_len=1),
    "expenseClass": F("enum", required=True, enum=EXPENSE_CLASSES),
    "unitCost": F("money", required=True),
    "code": F("str"),
    "costAccount": F("obj"),
    "includeTime": F("bool"),
    "isActive": F("bool"),
    "measurementUnit": F("str"),
    "productCategory": F("obj"),
    "purchaseVatRate": F("num"),
    "salesAccount": F("obj"),
    "vatRate": F("num"),
}
VAT_RATE_IN: dict[str, F] = {
    "percentage": F("num", required=True),
    "code": F("str", max_len=10),
    "countryGuid": F("str"),
    "isActive": F("bool"),
    "isDefault": F("bool"),
}
CURRENCY_IN: dict[str, F] = {
    "code": F("str"),
    "name": F("str"),
    "symbol": F("str"),
    "rate": F("num"),
    "isActive": F("bool"),
}
INVOICE_STATUS_IN: dict[str, F] = {
    "name": F("str", required=True, min_len=1),
    "isActive": F("bool"),
    "isDefault": F("bool"),
    "isDefaultForCreditNote": F("bool"),
    "isSent": F("bool"),
    "isPaid": F("bool"),
    "isWaitingPayment": F("bool"),
    "isReadOnly": F("bool"),
    "hasInvoiceNumber": F("bool"),
    "sortOrder": F("int"),
}
PROJECT_IN: dict[str, F] = {
    "name": F("str", required=True, min_len=1),
    "customer": F("ref", required=True, ref="customers", ref_what="Customer"),
    "projectOwner": F("ref", required=True, ref="users", ref_what="User"),
    "number": F("int"),
    "billingContact": F("ref", ref="contactPersons", ref_what="Contact"),
    "businessUnit": F("obj"),
    "completionEstimatePercentage": F("int"),
    "costCenter": F("obj"),
    "currency": F("ref", ref="currencies", ref_what="Currency"),
    "customerContact": F("ref", ref="contactPersons", ref_what="Contact"),
    "deadline": F("date"),
    "description": F("str"),
    "expectedOrderDate": F("date"),
    "expectedValue": F("money"),
    "internalName": F("str"),
    "invoiceNotes": F("str"),
    "invoiceTemplate": F("obj"),
    "isClosed": F("bool"),
    "isInternal": F("bool"),
    "isJoiningAllowed": F("bool"),
    "leadSource": F("obj"),
    "orderNumber": F("str"),
    "ourReference": F("str"),
    "paymentTerm": F("int"),
    "probability": F("int"),
    "projectStatus": F("obj"),
    "salesPerson": F("ref", ref="users", ref_what="User"),
    "salesStatus": F("obj"),
    "startDate": F("date"),
    "useOvertimeMultipliers": F("bool"),
    "useProductsFromSetting": F("bool"),
    "useWorktypesFromSetting": F("bool"),
    "yourReference": F("str"),
}
FEE_IN: dict[str, F] = {
    "project": F("ref", required=True, ref="projects", ref_what="Project"),
    "phase": F("ref", ref="phases", ref_what="Phase"),
    "product": F("ref", ref="products", ref_what="Product"),
    "productType": F("enum", enum=PRODUCT_TYPES),
    "name": F("str"),
    "description": F("str"),
    "eventDate": F("date"),
    "quantity": F("num"),
    "measurementUnit": F("str"),
    "unitPrice": F("money"),
    "unitCost": F("money"),
    "vatRate": F("num"),
    "isBillable": F("bool"),
    "billingSchedule": F("enum", enum=("Immediately", "OnDate", "WhenPhaseCompleted", "Recurring")),
    "plannedBillingDate": F("date"),
    "billingDependencyPhase": F("ref", ref="phases", ref_what="Phase"),
    "invoiceQuantity": F("num"),
    "invoiceRowDescription": F("str"),
    "invoiceRowComment": F("str"),
    "invoice": F("ref", ref="invoices", ref_what="Invoice"),
    "user": F("ref", ref="users", ref_what="User"),
    "salesAccount": F("obj"),
    "costCenter": F("obj"),
    "hasVolumePricing": F("bool"),
    "displayPeriodStartDate": F("date"),
}
INVOICE_PATCH: dict[str, F] = {
    "status": F("ref", required=True, ref="invoiceStatuses", ref_what="Invoice status"),
    "date": F("date", required=True),
    "dueDate": F("date", required=True),
    "paymentDate": F("date"),
    "paymentTerm": F("int"),
    "ourReference": F("str"),
    "yourReference": F("str"),
    "orderNumber": F("str"),
    "notes": F("str"),
    "referenceNumber": F("str"),
    "freeText1": F("text"),
    "freeText2": F("text"),
    "number": F("int"),
}
INVOICE_ROW_PATCH: dict[str, F] = {
    "description": F("str"),
    "quantity": F("num", required=True),
    "measurementUnit": F("str"),
    "unitPrice": F("money"),
    "vatRate": F("num"),
    "sortOrder": F("int"),
}
CREATE_INVOICE_IN: dict[str, F] = {
    "projects": F("obj", required=True),
    "billingCustomerGuid": F("str"),
    "date": F("date"),
    "invoiceStatusGuid": F("str"),
    "groupProjects": F("bool"),
}


# -- the app -------------------------------------------------------------------------


@dataclass
class Caller:
    """Who makes a data call: the client id and the scopes of its access token."""

    client_id: str
    scopes: frozenset[str]


@dataclass
class _Token:
    client_id: str
    scopes: frozenset[str]
    expires: datetime


@dataclass
class _Client:
    secret: str
    scopes: frozenset[str]
    user_guid: str | None = None


Handler = Callable[[Request, Caller], Response]


@dataclass
class _Filters:
    """Predicates of one list request, evaluated per record."""

    tests: list[Callable[[Record], bool]] = field(default_factory=list)

    def add(self, test: Callable[[Record], bool]) -> None:
        self.tests.append(test)

    def __call__(self, record: Record) -> bool:
        return all(test(record) for test in self.tests)


class SeveraSandbox(SandboxApp):
    """The Severa REST API v1 sandbox; see the module docstring and ``docs/severa.md``.

    ``clock`` (tests) returns the current aware time; writes get strictly increasing
    millisecond timestamps so ``changedSince`` is deterministic.
    """

    name = "severa"

    def __init__(self, *, clock: Callable[[], datetime] | None = None, **switches: Any) -> None:
        self.switches = SeveraSwitches(**switches)
        self.clock = clock or (lambda: datetime.now(UTC))
        self._last_stamp: datetime | None = None
        self._stamp_lock = threading.Lock()
        self.store: dict[str, Collection] = {
            name: Collection(name, INDEXES.get(name, ())) for name in COLLECTIONS
        }
        self.clients: dict[str, _Client] = {
            DEMO_CLIENT_ID: _Client(DEMO_CLIENT_SECRET, frozenset(ALL_SCOPES))
        }
        self.access_tokens: dict[str, _Token] = {}
        self.refresh_tokens: dict[str, _Token] = {}
        self._page_key = secrets.token_bytes(16)
        self._jwt_key = secrets.token_bytes(32)
        self.rate = RateWindow(self.switches.rate_limit_per_second, 1.0)
        super().__init__()
        self._routes()

    # == plumbing =======================================================================

    def handle(self, request: Request) -> Response:
        """Every answer carries a ``Date`` header: clients take their incremental-sync
        watermark from it, as from IIS in front of the real Severa."""
        response = super().handle(request)
        if response.header("Date") is None:
            response.headers.append(("Date", formatdate(usegmt=True)))
        return response

    def now(self) -> datetime:
        """The time of a write: strictly increasing at millisecond resolution."""
        moment = self.clock().astimezone(UTC)
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        with self._stamp_lock:
            if self._last_stamp is not None and moment <= self._last_stamp:
                moment = self._last_stamp + timedelta(milliseconds=1)
            self._last_stamp = moment
        return moment

    def error(self, status: int, kind: str, details: list[Record]) -> Response:
        return Response.json(status, exception_body(status, kind, details))

    def fault_body(self, status: int) -> JSON:
        kind = {401: "AuthenticationRequired", 403: "PermissionDenied", 429: "InvalidRequest"}
        return exception_body(
            status,
            kind.get(status, "InternalSystemError" if status >= 500 else "InvalidRequest"),
            [detail(f"Injected fault: HTTP {status}")],
        )

    def not_found(self, request: Request) -> Response:
        if not self.switches.not_found_body:
            return Response.empty(404)
        return self.error(
            404, "InvalidRequest", [detail(f"No resource at {request.method} {request.path}")]
        )

    def method_not_allowed(self, request: Request) -> Response:
        return self.error(
            405, "InvalidRequest", [detail(f"{request.method} is not allowed on {request.path}")]
        )

    def internal_error(self, request: Request, exc: Exception) -> Response:
        return self.error(500, "InternalSystemError", [detail(f"{type(exc).__name__}: {exc}")])

    def _answer(self, error: SeveraError) -> Response:
        if isinstance(error, TextAnswer):
            return error.response
        if error.status == 404 and not self.switches.not_found_body:
            return Response.empty(404)
        response = self.error(error.status, error.kind, error.details)
        response.headers.extend(error.headers)
        return response

    def api(self, method: str, template: str, handler: Handler, scope: str | None) -> None:
        """Register ``/rest-api/{v1|v1.0}{template}``: rate limit, bearer token,
        ``Client_Id`` header and ``scope`` are checked before ``handler`` runs."""

        def wrapped(request: Request) -> Response:
            version = request.path_params.pop("version", "v1").lower()
            try:
                if version not in ("v1", "v1.0"):
                    raise fail(
                        400, "InvalidApiVersion", f"API version '{version}' is not supported."
                    )
                caller = self._authenticate(request)
                self._rate_check(caller.client_id if caller else self._anonymous(request))
                if caller is None:
                    raise fail(401, "AuthenticationRequired", "Authorization has been denied.")
                if scope is not None and scope not in caller.scopes:
                    raise fail(
                        self.switches.scope_error_status,
                        "InsufficientApiScope",
                        f"The access token does not have the scope '{scope}'.",
                    )
                with self.lock:
                    return handler(request, caller)
            except SeveraError as exc:
                return self._answer(exc)

        self.route(method, "/rest-api/{version}" + template, wrapped)

    def public(self, method: str, template: str, handler: Callable[[Request], Response]) -> None:
        """Register an unauthenticated ``/rest-api/{v1|v1.0}`` route (token endpoints)."""

        def wrapped(request: Request) -> Response:
            version = request.path_params.pop("version", "v1").lower()
            try:
                if version not in ("v1", "v1.0"):
                    raise fail(
                        400, "InvalidApiVersion", f"API version '{version}' is not supported."
                    )
                self._rate_check(request.headers.get("Client_Id") or self._anonymous(request))
                with self.lock:
                    return handler(request)
            except SeveraError as exc:
                return self._answer(exc)

        self.route(method, "/rest-api/{version}" + template, wrapped)

    @staticmethod
    def _anonymous(request: Request) -> str:
        return f"anonymous@{request.client}"

    def _rate_check(self, key: str) -> None:
        if not self.rate_limits_enabled:
            return
        self.rate.limit = self.switches.rate_limit_per_second
        wait = self.rate.hit(key, self.rate_scale)
        if wait is None:
            return
        message = RATE_LIMIT_MESSAGE.format(limit=self.switches.rate_limit_per_second)
        error = fail(429, "InvalidRequest", message)
        if self.switches.rate_limit_retry_after > 0:
            error.headers.append(("Retry-After", str(self.switches.rate_limit_retry_after)))
        if self.switches.rate_limit_body == "text":
            answer = Response.text(429, message)
            answer.headers.extend(error.headers)
            raise TextAnswer(answer)
        raise error

    # == auth ===========================================================================

    def _authenticate(self, request: Request) -> Caller | None:
        header = request.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        found = self.access_tokens.get(token.strip())
        if found is None or found.expires <= self.clock():
            return None
        client_header = request.headers.get("Client_Id")
        if client_header is None and self.switches.require_client_id_header:
            raise fail(
                401, "AuthenticationRequired", "The Client_Id header is required.",
                "RequestHeader", "Client_Id",
            )  # fmt: skip
        if client_header is not None and client_header.strip() != found.client_id:
            raise fail(
                401, "AuthenticationRequired",
                "The Client_Id header does not match the access token.",
                "RequestHeader", "Client_Id",
            )  # fmt: skip
        return Caller(found.client_id, found.scopes)

    def _issue(self, client_id: str, scopes: frozenset[str]) -> Response:
        now = self.clock().astimezone(UTC)
        access_expires = now + timedelta(seconds=self.switches.access_token_seconds)
        refresh_expires = now + timedelta(days=self.switches.refresh_token_days)
        access = self._jwt(client_id, scopes, now, access_expires)
        refresh = secrets.token_urlsafe(48)
        self.access_tokens[access] = _Token(client_id, scopes, access_expires)
        self.refresh_tokens[refresh] = _Token(client_id, scopes, refresh_expires)
        self._prune_tokens(now)
        return Response.json(
            200,
            {
                "access_token": access,
                "access_token_type": "Bearer",
                "access_token_expires_in": self.switches.access_token_seconds,
                "access_token_expires_utc": fmt_time(access_expires),
                "refresh_token": refresh,
                "refresh_token_expires_in": self.switches.refresh_token_days * 86400,
                "refresh_token_expires_utc": fmt_time(refresh_expires),
                "scope": " ".join(sorted(scopes)),
            },
        )

    def _prune_tokens(self, now: datetime) -> None:
        if len(self.access_tokens) > 10_000:
            for key in [k for k, t in self.access_tokens.items() if t.expires <= now]:
                del self.access_tokens[key]

    def _jwt(self, client_id: str, scopes: frozenset[str], now: datetime, exp: datetime) -> str:
        """An HS512 JWT like Severa's (issuer ``Severa_PublicRest_API``); the sandbox
        looks tokens up rather than verifying them, so expiry can be forced."""

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

        header = b64(json.dumps({"alg": "HS512", "typ": "JWT"}).encode())
        claims = {
            "iss": "Severa_PublicRest_API",
            "aud": "Severa_PublicRest_API",
            "client_id": client_id,
            "scope": " ".join(sorted(scopes)),
            "jti": secrets.token_hex(8),
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(exp.timestamp()),
        }
        payload = b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._jwt_key, f"{header}.{payload}".encode(), hashlib.sha512)
        return f"{header}.{payload}.{b64(signature.digest())}"

    def _token(self, request: Request) -> Response:
        body = _json_body(request)
        if not isinstance(body, dict):
            raise invalid("The request body must be a ClientCredentials object.")
        fields_ = {str(k).lower(): v for k, v in body.items()}
        grant = str(fields_.get("grant_type") or "").lower()
        if grant == "refresh_token" and self.switches.token_refresh_grant:
            return self._refresh(str(fields_.get("refresh_token") or ""))
        client_id = fields_.get("client_id")
        secret = fields_.get("client_secret")
        missing = [
            name for name, value in (("client_id", client_id), ("client_secret", secret))
            if not isinstance(value, str) or not value
        ]  # fmt: skip
        if missing:
            raise SeveraError(
                400, "InvalidParameter",
                [detail(f"The {name} field is required.", "RequestBody", name) for name in missing],
            )  # fmt: skip
        assert isinstance(client_id, str)  # noqa: S101 - narrowing for mypy
        assert isinstance(secret, str)  # noqa: S101 - narrowing for mypy
        client = self.clients.get(client_id)
        if client is None or not hmac.compare_digest(client.secret, secret):
            raise fail(401, "AuthenticationRequired", "Invalid client credentials.")
        header = request.headers.get("Client_Id")
        if header is not None and header.strip() != client_id:
            raise fail(
                401, "AuthenticationRequired", "The Client_Id header does not match client_id.",
                "RequestHeader", "Client_Id",
            )  # fmt: skip
        requested = fields_.get("scope")
        scopes = client.scopes
        if isinstance(requested, str) and requested.strip():
            asked = {s for s in re.split(r"[\s,]+", requested.strip()) if s}
            unknown = sorted(s for s in asked if s not in ALL_SCOPES)
            if unknown:
                raise invalid(f"Unknown scope(s): {', '.join(unknown)}.", "scope")
            refused = sorted(asked - client.scopes)
            if refused:
                raise fail(
                    self.switches.scope_error_status, "InsufficientApiScope",
                    f"The client credentials do not allow the scope(s): {', '.join(refused)}.",
                    "RequestBody", "scope",
                )  # fmt: skip
            scopes = frozenset(asked)
        return self._issue(client_id, scopes)

    def _refresh_token(self, request: Request) -> Response:
        body = _json_body(request)
        if isinstance(body, dict):  # tolerate {"refresh_token": "..."} as well
            lowered = {str(k).lower(): v for k, v in body.items()}
            body = lowered.get("refresh_token") or lowered.get("refreshtoken")
        if not isinstance(body, str) or not body:
            raise invalid("The body must be the refresh token as a JSON string.", "refreshToken")
        return self._refresh(body)

    def _refresh(self, token: str) -> Response:
        found = self.refresh_tokens.get(token)
        if found is None or found.expires <= self.clock():
            raise fail(401, "AuthenticationRequired", "The refresh token is invalid or expired.")
        if self.switches.rotate_refresh_tokens:
            del self.refresh_tokens[token]
        client = self.clients.get(found.client_id)
        if client is None:
            raise fail(401, "AuthenticationRequired", "The client credentials were removed.")
        return self._issue(found.client_id, found.scopes & client.scopes)

    def expire_tokens(self) -> int:
        """Every issued access token expires now (refresh tokens stay valid)."""
        past = self.clock() - timedelta(seconds=1)
        for token in self.access_tokens.values():
            token.expires = past
        return len(self.access_tokens)

    # == routes =========================================================================

    def _routes(self) -> None:
        for prefix in ("/rest-api", ""):
            self.route("GET", f"{prefix}/heartbeat/server", self._heartbeat)
            self.route("GET", f"{prefix}/heartbeat/database", self._heartbeat)
            self.route("GET", f"{prefix}/heartbeat/authorized", self._heartbeat_authorized)
        self.public("POST", "/token", self._token)
        self.public("POST", "/refreshtoken", self._refresh_token)

        api = self.api
        cr, cw, cd = "customers:read", "customers:write", "customers:delete"
        sr, sw, sd = "settings:read", "settings:write", "settings:delete"
        # customers and their addresses, contacts, communications
        api("GET", "/customers", self._list_customers, cr)
        api("POST", "/customers", self._post_customer, cw)
        api("GET", "/customers/{guid}", self._getter("customers", "Customer"), cr)
        api("PATCH", "/customers/{guid}", self._patch_customer, cw)
        api("DELETE", "/customers/{guid}", self._delete_customer, cd)
        api("GET", "/customers/{customerGuid}/addresses", self._list_customer_addresses, cr)
        api("POST", "/customers/{customerGuid}/addresses", self._post_address, cw)
        api("GET", "/customers/{customerGuid}/contactpersons", self._list_customer_contacts, cr)
        api("GET", "/addresses", self._list_addresses, cr)
        api("GET", "/addresses/{guid}", self._getter("addresses", "Address"), cr)
        api("PATCH", "/addresses/{guid}", self._patch_address, cw)
        api("DELETE", "/addresses/{guid}", self._deleter("addresses", "Address"), cd)
        api("GET", "/contactpersons", self._list_contacts, cr)
        api("POST", "/contactpersons", self._post_contact, cw)
        api("GET", "/contactpersons/{guid}", self._getter("contactPersons", "Contact"), cr)
        api("PATCH", "/contactpersons/{guid}", self._patch_contact, cw)
        api("DELETE", "/contactpersons/{guid}", self._deleter("contactPersons", "Contact"), cd)
        api("GET", "/contactcommunications", self._list_communications, cr)
        api("POST", "/contactcommunications", self._post_communication, cw)
        api(
            "GET", "/contactcommunications/{guid}",
            self._getter("contactCommunications", "Contact communication"), cr,
        )  # fmt: skip
        api("PATCH", "/contactcommunications/{guid}", self._patch_communication, cw)
        api(
            "DELETE", "/contactcommunications/{guid}",
            self._deleter("contactCommunications", "Contact communication"), cd,
        )  # fmt: skip
        api(
            "GET", "/contacts/{contactGuid}/contactcommunications",
            self._list_contact_communications, cr,
        )  # fmt: skip
        # settings
        api("GET", "/products", self._list_products, sr)
        api("POST", "/products", self._post_product, sw)
        api("GET", "/products/{guid}", self._getter("products", "Product"), sr)
        api("PATCH", "/products/{guid}", self._patch_product, sw)
        api("DELETE", "/products/{guid}", self._deleter("products", "Product"), sd)
        api("GET", "/products/{productGuid}/productcountrysettings", self._product_country, sr)
        api("GET", "/worktypes", self._list_work_types, sr)
        api("POST", "/worktypes", self._post_work_type, sw)
        api("GET", "/worktypes/{guid}", self._getter("workTypes", "Work type"), sr)
        api("PATCH", "/worktypes/{guid}", self._patch_work_type, sw)
        api("DELETE", "/worktypes/{guid}", self._deleter("workTypes", "Work type"), sd)
        api("GET", "/travelexpensetypes", self._list_travel_types, sr)
        api("POST", "/travelexpensetypes", self._post_travel_type, sw)
        api(
            "GET", "/travelexpensetypes/{guid}",
            self._getter("travelExpenseTypes", "Travel expense type"), sr,
        )  # fmt: skip
        api("PATCH", "/travelexpensetypes/{guid}", self._patch_travel_type, sw)
        api(
            "DELETE", "/travelexpensetypes/{guid}",
            self._deleter("travelExpenseTypes", "Travel expense type"), sd,
        )  # fmt: skip
        api(
            "GET", "/travelexpensetypes/{travelExpenseTypeGuid}/travelexpensetypecountrysettings",
            self._travel_type_country, sr,
        )  # fmt: skip
        api("GET", "/vatrates", self._list_vat_rates, sr)
        api("POST", "/vatrates", self._post_vat_rate, sw)
        api("GET", "/vatrates/{guid}", self._getter("vatRates", "VAT rate"), sr)
        api("PATCH", "/vatrates/{guid}", self._patch_vat_rate, sw)
        api("DELETE", "/vatrates/{guid}", self._deleter("vatRates", "VAT rate"), sd)
        api("GET", "/currencies", self._list_currencies, sr)
        api("GET", "/currencies/{guid}", self._getter("currencies", "Currency"), sr)
        api("PATCH", "/currencies/{guid}", self._patch_currency, sw)
        api("GET", "/invoicestatuses", self._list_invoice_statuses, sr)
        api("POST", "/invoicestatuses", self._post_invoice_status, sw)
        api(
            "GET", "/invoicestatuses/{guid}",
            self._getter("invoiceStatuses", "Invoice status"), sr,
        )  # fmt: skip
        api("PATCH", "/invoicestatuses/{guid}", self._patch_invoice_status, sw)
        api(
            "DELETE", "/invoicestatuses/{guid}",
            self._deleter("invoiceStatuses", "Invoice status"), sd,
        )  # fmt: skip
        api(
            "GET",
            "/organizationdetails",
            self._singleton("organizationDetails"),
            "organization:read",
        )
        api(
            "GET",
            "/organizationsettings",
            self._singleton("organizationSettings"),
            "organization:read",
        )
        # projects and fees
        pr, pw = "projects:read", "projects:write"
        api("GET", "/projects", self._list_projects, pr)
        api("POST", "/projects", self._post_project, pw)
        api("GET", "/projects/{guid}", self._getter("projects", "Project"), pr)
        api("PATCH", "/projects/{guid}", self._patch_project, pw)
        api("GET", "/projectfees", self._list_fees, "fees:read")
        api("POST", "/projectfees", self._post_fee, "fees:write")
        api("GET", "/projectfees/{guid}", self._getter("projectFees", "Project fee"), "fees:read")
        api("PATCH", "/projectfees/{guid}", self._patch_fee, "fees:write")
        api("DELETE", "/projectfees/{guid}", self._delete_fee, "fees:delete")
        # invoices
        ir, iw = "invoices:read", "invoices:write"
        api("GET", "/invoices", self._list_invoices, ir)
        api("POST", "/invoices", self._post_invoice, iw)
        api("GET", "/invoices/{guid}", self._getter("invoices", "Invoice"), ir)
        api("PATCH", "/invoices/{guid}", self._patch_invoice, iw)
        api("GET", "/invoices/{invoiceGuid}/invoicerows", self._list_invoice_rows_of, ir)
        api("GET", "/invoicerows", self._list_invoice_rows, ir)
        api("GET", "/invoicerows/{guid}", self._getter("invoiceRows", "Invoice row"), ir)
        api("PATCH", "/invoicerows/{guid}", self._patch_invoice_row, iw)
        api("GET", "/invoicerows/{invoiceRowGuid}/projectfees", self._row_fees, ir)
        api("GET", "/invoicerows/{invoiceRowGuid}/workhours", self._row_hours, ir)
        api("GET", "/invoicerows/{invoiceRowGuid}/projecttravelexpenses", self._row_travels, ir)

        # back office (loopback only, see SandboxApp)
        self.route("GET", "/_sandbox/switches", self._bo_get_switches)
        self.route("POST", "/_sandbox/switches", self._bo_set_switches)
        self.route("POST", "/_sandbox/clients", self._bo_add_client)
        self.route("POST", "/_sandbox/create/{collection}", self._bo_create)
        self.route("POST", "/_sandbox/edit/{collection}/{guid}", self._bo_edit)
        self.route("POST", "/_sandbox/delete/{collection}/{guid}", self._bo_delete)
        self.route("POST", "/_sandbox/invoices/{guid}/status", self._bo_invoice_status)
        self.route("POST", "/_sandbox/projects/{guid}/close", self._bo_close_project)
        self.route("POST", "/_sandbox/invoices", self._bo_add_invoice)

    # == heartbeat ======================================================================

    def _heartbeat(self, request: Request) -> Response:
        return Response.text(200, "OK")

    def _heartbeat_authorized(self, request: Request) -> Response:
        try:
            caller = self._authenticate(request)
        except SeveraError as exc:
            return self._answer(exc)
        if caller is None:
            return self.error(
                401, "AuthenticationRequired", [detail("Authorization has been denied.")]
            )
        return Response.empty(204)

    # == generic helpers ================================================================

    def col(self, name: str) -> Collection:
        return self.store[name]

    def _user(self, guid: str | None) -> Record | None:
        user = self.col("users").get(guid)
        if user is None:
            return None
        return {
            "guid": user["guid"],
            "code": user.get("code"),
            "firstName": user.get("firstName"),
            "lastName": user.get("lastName"),
            "name": user.get("name"),
        }

    def _actor(self, caller: Caller | None) -> Record:
        """The user Severa records as author: the API user, or a person for back office."""
        users = self.col("users")
        wanted = "API" if caller is not None else "UI"
        for record in users.ordered():
            if record.get("_role") == wanted:
                found = self._user(record["guid"])
                if found is not None:
                    return found
        return {
            "guid": "00000000-0000-0000-0000-000000000001",
            "firstName": "REST",
            "lastName": "API",
            "name": "REST API",
            "code": None,
        }

    def _created(self, record: Record, caller: Caller | None) -> Record:
        record["createdDateTime"] = fmt_time(self.now())
        record["createdBy"] = self._actor(caller)
        record["lastUpdatedDateTime"] = None
        record.pop("lastUpdatedBy", None)  # a $ref sub-model: omitted, never null
        return record

    def _touched(self, record: Record, caller: Caller | None) -> Record:
        record["lastUpdatedDateTime"] = fmt_time(self.now())
        record["lastUpdatedBy"] = self._actor(caller)
        return record

    def _org_currency(self) -> str:
        details = self.col("organizationDetails").ordered()
        if details:
            code = dig(details[0], "currency.code")
            if isinstance(code, str):
                return code
        return "SEK"

    def _settings(self) -> Record:
        found = self.col("organizationSettings").ordered()
        return found[0] if found else {}

    def _bump_setting(self, name: str, used: int) -> None:
        settings = self._settings()
        if not settings:
            return
        if int(settings.get(name) or 0) <= used:
            self.col("organizationSettings").put({**settings, name: used + 1})

    def _next_number(self, collection: str, setting: str) -> int:
        """Next free number: the org setting, but never one already taken."""
        taken = {r.get("number") for r in self.col(collection).records.values()}
        candidate = int(self._settings().get(setting) or 1)
        while candidate in taken:
            candidate += 1
        return candidate

    def view(self, collection: str, record: Record) -> Record:
        """The wire form of a stored record (derived fields filled in)."""
        if collection == "addresses":
            contacts = self.col("contactPersons")
            linked = [
                {"guid": g, "name": contacts.records[g].get("name")}
                for g in contacts.by("addressGuid", record.get("guid"))
            ]
            return {**record, "contacts": linked}
        if collection == "contactPersons":
            emails: list[str] = []
            phones: list[str] = []
            comms = self.col("contactCommunications")
            for g in comms.by("contact.guid", record.get("guid")):
                comm = comms.records[g]
                kind = dig(comm, "communicationType.type")
                if kind == "EmailAddress":
                    emails.append(str(comm.get("value")))
                elif kind in ("Phone", "MobilePhone", "IPPhone"):
                    phones.append(str(comm.get("value")))
            return {**record, "emails": emails, "phoneNumbers": phones}
        return record

    def _find(self, collection: str, guid: str, what: str) -> Record:
        found = self.col(collection).get(guid)
        if found is None:
            raise not_found(what, guid)
        return found

    def _getter(self, collection: str, what: str) -> Handler:
        def get_one(request: Request, caller: Caller) -> Response:
            record = self._find(collection, request.path_params["guid"], what)
            return Response.json(200, self.view(collection, record))

        return get_one

    def _singleton(self, collection: str) -> Handler:
        def get_single(request: Request, caller: Caller) -> Response:
            found = self.col(collection).ordered()
            if not found:
                raise fail(404, "InvalidRequest", f"No {collection} in this organization.")
            return Response.json(200, found[0])

        return get_single

    def _deleter(self, collection: str, what: str) -> Handler:
        def delete_one(request: Request, caller: Caller) -> Response:
            guid = request.path_params["guid"]
            record = self._find(collection, guid, what)
            self._check_unused(collection, record)
            self.col(collection).remove(record["guid"])
            return Response.empty(204)

        return delete_one

    def _check_unused(self, collection: str, record: Record) -> None:
        guid = record["guid"]
        uses: dict[str, list[tuple[str, str]]] = {
            "products": [("projectFees", "product.guid")],
            "workTypes": [("workHours", "workType.guid")],
            "travelExpenseTypes": [("projectTravelExpenses", "travelExpense.guid")],
            "invoiceStatuses": [("invoices", "status.guid")],
            "vatRates": [("customers", "invoicingVat.guid")],
        }
        for other, path in uses.get(collection, []):
            if any(dig(r, path) == guid for r in self.col(other).records.values()):
                raise fail(400, "InvalidOperation", f"The record is in use ({other}).")

    # == parameters =====================================================================

    def _bool_arg(self, request: Request, name: str) -> bool | None:
        raw = request.arg(name)
        if raw is None or raw == "":
            return None
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise invalid(f"The value '{raw}' is not valid for {name}.", name, "UriParameter")

    def _int_arg(self, request: Request, name: str) -> int | None:
        raw = request.arg(name)
        if raw is None or raw == "":
            return None
        try:
            return int(raw)
        except ValueError:
            raise invalid(
                f"The value '{raw}' is not valid for {name}.", name, "UriParameter"
            ) from None

    def _time_arg(self, request: Request, name: str) -> datetime | None:
        raw = request.arg(name)
        if raw is None or raw == "":
            return None
        try:
            return parse_time(raw)
        except ValueError:
            raise invalid(
                f"The value '{raw}' is not valid for {name}.", name, "UriParameter"
            ) from None

    def _ints_arg(self, request: Request, name: str) -> set[int]:
        out: set[int] = set()
        for raw in request.args(name):
            for part in raw.split(","):
                if part.strip():
                    try:
                        out.add(int(part))
                    except ValueError:
                        raise invalid(
                            f"The value '{part}' is not valid for {name}.", name, "UriParameter"
                        ) from None
        return out

    def _strs_arg(self, request: Request, name: str) -> set[str]:
        return {
            v.strip().lower() for raw in request.args(name) for v in raw.split(",") if v.strip()
        }

    def _row_count(self, request: Request, default: int | None) -> int | None:
        rows = self._int_arg(request, "rowCount")
        if rows is None:
            return default
        if rows < 1:
            raise invalid("rowCount must be at least 1.", "rowCount", "UriParameter")
        if rows > self.switches.max_row_count:
            if not self.switches.clamp_row_count:
                raise invalid(
                    f"rowCount must be at most {self.switches.max_row_count}.",
                    "rowCount", "UriParameter",
                )  # fmt: skip
            rows = self.switches.max_row_count
        return rows

    def _changed_filter(self, request: Request, collection: str, filters: _Filters) -> None:
        since = self._time_arg(request, "changedSince")
        if since is None:
            return
        changed = self.col(collection).changed
        filters.add(lambda r: changed.get(r["guid"], since) >= since)

    # -- token paging ------------------------------------------------------------------

    def _signature(self, request: Request) -> str:
        items = sorted(
            (k.lower(), v)
            for k, vs in request.query.items()
            for v in vs
            if k.lower() not in ("pagetoken", "rowcount")
        )
        text = request.path.lower().replace("/v1.0/", "/v1/") + json.dumps(items)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def _encode_page_token(self, last_seq: int, signature: str) -> str:
        payload = f"{last_seq}:{signature}:{int(self.clock().timestamp())}"
        mac = hmac.new(self._page_key, payload.encode(), hashlib.sha256).hexdigest()[:16]
        return base64.urlsafe_b64encode(f"{payload}:{mac}".encode()).decode().rstrip("=")

    def _decode_page_token(self, token: str, signature: str) -> int:
        bad = invalid("The page token is not valid.", "pageToken", "UriParameter")
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            last, sig, issued, mac = text.split(":")
        except (ValueError, UnicodeDecodeError):
            raise bad from None
        expected = hmac.new(self._page_key, f"{last}:{sig}:{issued}".encode(), hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest()[:16], mac):
            raise bad
        if sig != signature:
            raise invalid(
                "The page token was issued for other filters; repeat the same filters.",
                "pageToken", "UriParameter",
            )  # fmt: skip
        age = self.clock().timestamp() - int(issued)
        if age > self.switches.page_token_ttl_seconds:
            raise invalid("The page token has expired.", "pageToken", "UriParameter")
        return int(last)

    def token_page(
        self,
        request: Request,
        collection: str,
        filters: _Filters,
        source: list[str] | None = None,
    ) -> Response:
        """One page of a token-paged list; ``NextPageToken`` header when more follow."""
        rows = self._row_count(request, self.switches.default_row_count) or 1
        signature = self._signature(request)
        token = request.arg("pageToken")
        last = self._decode_page_token(token, signature) if token else 0
        col = self.col(collection)
        page: list[Record] = []
        last_seq = last
        more = False
        for guid in col.after(last, source):
            record = col.records[guid]
            if not filters(record):
                continue
            if len(page) == rows:
                more = True
                break
            page.append(self.view(collection, record))
            last_seq = col.seq[guid]
        headers: list[tuple[str, str]] = []
        if more or (self.switches.next_page_token_on_last_page and page):
            headers.append(("NextPageToken", self._encode_page_token(last_seq, signature)))
        return Response.json(200, page, headers)

    # -- offset paging -----------------------------------------------------------------

    def offset_page(
        self,
        request: Request,
        collection: str,
        filters: _Filters,
        source: list[str] | None = None,
        *,
        default_rows: int | None = -1,
    ) -> Response:
        """One page of a ``firstRow``/``rowCount`` list (sorted by ``sortings`` if given)."""
        rows = self._row_count(
            request, self.switches.default_row_count if default_rows == -1 else default_rows
        )
        first = self._int_arg(request, "firstRow") or 0
        if first < 0:
            raise invalid("firstRow must not be negative.", "firstRow", "UriParameter")
        col = self.col(collection)
        guids = col.order if source is None else source
        sortings = self._sortings(request)
        count_total = self._bool_arg(request, "calculateRowCount") is True
        if not filters.tests and not sortings and not count_total:
            chosen = guids[first : first + rows if rows is not None else None]
            page = [self.view(collection, col.records[g]) for g in chosen]
            return Response.json(200, page)
        matched = [col.records[g] for g in guids if filters(col.records[g])]
        for key, descending, nulls_first in reversed(sortings):
            matched.sort(key=_value_key(key), reverse=descending)
            if nulls_first is not None:
                matched.sort(key=_nulls_key(key, nulls_first))
        chosen_records = matched[first : first + rows if rows is not None else None]
        headers: list[tuple[str, str]] = []
        if count_total and self.switches.total_row_count_header:
            headers.append((self.switches.total_row_count_header, str(len(matched))))
        return Response.json(200, [self.view(collection, r) for r in chosen_records], headers)

    def _sortings(self, request: Request) -> list[tuple[str, bool, bool | None]]:
        found: dict[str, dict[str, str]] = {}
        for key, values in request.query.items():
            match = re.fullmatch(r"sortings\[(\d+)\]\.(key|value)", key, re.IGNORECASE)
            if match:
                found.setdefault(match.group(1), {})[match.group(2).lower()] = values[0]
        out: list[tuple[str, bool, bool | None]] = []
        for position in sorted(found, key=int):
            item = found[position]
            name = item.get("key")
            direction = (item.get("value") or "Asc").lower()
            if not name:
                raise invalid("A sorting needs a key.", "sortings", "UriParameter")
            if direction not in (
                "asc", "desc", "ascnullsfirst", "ascnullslast", "descnullsfirst", "descnullslast",
            ):  # fmt: skip
                raise invalid(f"Unknown sort direction '{direction}'.", "sortings", "UriParameter")
            nulls: bool | None = None
            if direction.endswith("nullsfirst"):
                nulls = True
            elif direction.endswith("nullslast"):
                nulls = False
            out.append((name, direction.startswith("desc"), nulls))
        return out

    # == validation =====================================================================

    def validate(
        self, spec: Mapping[str, F], body: Any, *, partial: bool, what: str = "body"
    ) -> Record:
        """Check a write body against ``spec``: unknown and read-only fields are
        ignored, as ASP.NET does; type, length, enum and reference errors answer 400
        ``InvalidParameter`` with one detail per field."""
        if not isinstance(body, dict):
            raise invalid(f"The request {what} must be a JSON object.")
        lowered = {name.lower(): name for name in spec}
        clean: Record = {}
        errors: list[Record] = []
        for key, value in body.items():
            name = lowered.get(str(key).lower())
            if name is None:
                continue
            try:
                clean[name] = self._coerce(name, spec[name], value)
            except ValueError as exc:
                errors.append(detail(str(exc), "RequestBody", name))
        for name, spec_field in spec.items():
            if not spec_field.required:
                continue
            present = name in clean
            if (not partial and not present) or (present and clean[name] is None):
                errors.append(detail(f"The {name} field is required.", "RequestBody", name))
        if errors:
            raise SeveraError(400, "InvalidParameter", errors)
        return clean

    def _coerce(self, name: str, spec: F, value: Any) -> Any:
        if value is None:
            return None
        kind = spec.kind
        if kind == "str":
            if not isinstance(value, str):
                raise ValueError(f"{name} must be a string.")
            if spec.min_len is not None and len(value) < spec.min_len:
                raise ValueError(
                    f"The field {name} must be a string with a minimum length of {spec.min_len}."
                )
            if spec.max_len is not None and len(value) > spec.max_len:
                raise ValueError(
                    f"The field {name} must be a string with a maximum length of {spec.max_len}."
                )
            return value
        if kind == "int":
            if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{name} must be an integer.")
            return value
        if kind == "num":
            if isinstance(value, str):
                try:
                    value = float(value) if not re.fullmatch(r"-?\d+", value) else int(value)
                except ValueError:
                    raise ValueError(f"{name} must be a number.") from None
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number.")
            return value
        if kind == "bool":
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false.")
            return value
        if kind in ("date", "datetime"):
            if not isinstance(value, str):
                raise ValueError(f"{name} must be a date.")
            try:
                parsed = parse_time(value)
            except ValueError:
                raise ValueError(f"The value '{value}' is not a valid date for {name}.") from None
            return value[:10] if kind == "date" else fmt_time(parsed)
        if kind == "enum":
            if isinstance(value, str):
                for option in spec.enum:
                    if option.lower() == value.lower():
                        return option
            raise ValueError(f"{name} must be one of: {', '.join(spec.enum)}.")
        if kind == "ref":
            if isinstance(value, str):
                value = {"guid": value}
            if not isinstance(value, dict):
                raise ValueError(f"{name} must be an object with a guid.")
            guid = value.get("guid")
            if guid is None or guid == "":
                if spec.required:
                    raise ValueError(f"The {name}.guid field is required.")
                return None
            if not isinstance(guid, str):
                raise ValueError(f"{name}.guid must be a string.")
            if spec.ref and self.col(spec.ref).get(guid) is None:
                raise ValueError(f"{spec.ref_what} '{guid}' was not found.")
            found = self.col(spec.ref).get(guid) if spec.ref else None
            return {"guid": found["guid"] if found else guid}
        if kind == "money":
            if not isinstance(value, dict):
                raise ValueError(f"{name} must be an object with amount and currencyCode.")
            code = value.get("currencyCode")
            if not isinstance(code, str) or not code:
                raise ValueError(f"The {name}.currencyCode field is required.")
            known = {str(c.get("code")).upper() for c in self.col("currencies").records.values()}
            if known and code.upper() not in known:
                raise ValueError(f"Currency '{code}' is not in use in this organization.")
            amount = self._coerce(f"{name}.amount", F("num"), value.get("amount"))
            return {"amount": amount, "currencyCode": code.upper()}
        if kind == "text":
            if isinstance(value, str):
                return {"value": value}
            if not isinstance(value, dict):
                raise ValueError(f"{name} must be an object with a value.")
            text = value.get("value")
            if text is not None and not isinstance(text, str):
                raise ValueError(f"{name}.value must be a string.")
            return {"value": text}
        if kind == "obj":
            if not isinstance(value, dict | list):
                raise ValueError(f"{name} must be an object.")
            return value
        raise ValueError(f"{name}: unsupported field")  # pragma: no cover

    def patch_body(self, request: Request, spec: Mapping[str, F], current: Record) -> Record:
        """Turn a JSON Patch document into a partial input body for ``spec``.

        ``/field`` and one level below (``/customer/guid``, ``/unitPrice/amount``,
        ``/freeText1/value``) are supported; ``op`` ``replace``/``add`` set, ``remove``
        clears, ``copy``/``move`` copy a top-level field. Values may be typed JSON or the
        strings the spec's ``PatchOperation.value`` declares."""
        ops = _json_body(request)
        if not isinstance(ops, list) or not ops:
            raise invalid("The body must be a non-empty JSON Patch array.", "patchDocument")
        lowered = {name.lower(): name for name in spec}
        body: Record = {}
        for position, op in enumerate(ops):
            where = f"patchDocument[{position}]"
            if not isinstance(op, dict):
                raise invalid("A patch operation must be an object.", where)
            verb = op.get("op")
            if not isinstance(verb, str):
                raise invalid("The op field is required.", f"{where}.op")
            if not self.switches.patch_op_case_insensitive and verb not in (
                "Add", "Copy", "Move", "Remove", "Replace",
            ):  # fmt: skip
                raise invalid(f"Unknown patch op '{verb}'.", f"{where}.op")
            verb = verb.lower()
            if verb not in ("add", "copy", "move", "remove", "replace", "test"):
                raise invalid(f"Unknown patch op '{op.get('op')}'.", f"{where}.op")
            path = op.get("path")
            if not isinstance(path, str) or not path.startswith("/"):
                raise invalid("The path must be a JSON pointer like /name.", f"{where}.path")
            parts = [p for p in path.strip("/").split("/") if p]
            if not parts or len(parts) > 2 or parts[0].lower() not in lowered:
                raise invalid(f"The path '{path}' cannot be patched.", f"{where}.path")
            name = lowered[parts[0].lower()]
            value: Any = op.get("value")
            if verb == "test":
                continue
            if verb == "remove":
                value = None
            elif verb in ("copy", "move"):
                source = str(op.get("from") or "").strip("/")
                if source.lower() not in lowered:
                    raise invalid(
                        f"The from path '{op.get('from')}' is not valid.", f"{where}.from"
                    )
                value = body.get(lowered[source.lower()], current.get(lowered[source.lower()]))
            if len(parts) == 2:
                sub = parts[1]
                base = body.get(name)
                if not isinstance(base, dict):
                    existing = current.get(name)
                    base = dict(existing) if isinstance(existing, dict) else {}
                    if spec[name].kind == "money":
                        base = {
                            "amount": base.get("amount"),
                            "currencyCode": base.get("currencyCode") or self._org_currency(),
                        }
                    elif spec[name].kind == "text":
                        base = {"value": base.get("value")}
                    elif spec[name].kind == "ref":
                        base = {"guid": base.get("guid")}
                known = {k.lower(): k for k in base} | {"guid": "guid"}
                key = known.get(sub.lower())
                if key is None:
                    raise invalid(f"The path '{path}' cannot be patched.", f"{where}.path")
                value = {**base, key: value}
            body[name] = value
        return body

    # == uniqueness =====================================================================

    def _unique_code(self, collection: str, code: Any, own: str | None) -> None:
        """Product and work-type codes share one namespace when the org setting
        ``uniqueIdentifierForProductsAndWorktypes`` is on; compared case-insensitively
        (SQL Server collation)."""
        if not isinstance(code, str) or not code.strip():
            return
        if not self._settings().get("uniqueIdentifierForProductsAndWorktypes", True):
            return
        wanted = code.strip().lower()
        for other in ("products", "workTypes"):
            for record in self.col(other).records.values():
                if (
                    record["guid"] != own
                    and str(record.get("code") or "").strip().lower() == wanted
                ):
                    raise invalid(f"The code '{code}' is already in use.", "code")
        del collection

    def _unique_number(self, collection: str, number: Any, own: str | None, what: str) -> None:
        if number is None:
            return
        for record in self.col(collection).records.values():
            if record.get("number") == number and record["guid"] != own:
                raise invalid(f"{what} number {number} is already in use.", "number")

    # == customers ======================================================================

    def _list_customers(self, request: Request, caller: Caller) -> Response:
        filters = _Filters()
        self._changed_filter(request, "customers", filters)
        active = self._bool_arg(request, "isActive")
        if active is not None:
            filters.add(lambda r: bool(r.get("isActive", True)) == active)
        internal = self._bool_arg(request, "isInternal")
        if internal:
            filters.add(lambda r: bool(r.get("isInternal")))
        numbers = self._ints_arg(request, "numbers")
        if numbers:
            filters.add(lambda r: r.get("number") in numbers)
        names = self._strs_arg(request, "customerNames")
        if names:
            filters.add(lambda r: str(r.get("name") or "").lower() in names)
        emails = self._strs_arg(request, "emailAddresses")
        if emails:
            filters.add(lambda r: str(r.get("email") or "").lower() in emails)
        owners = self._strs_arg(request, "customerOwnerGuids")
        if owners:
            filters.add(lambda r: str(dig(r, "owner.guid") or "").lower() in owners)
        return self.token_page(request, "customers", filters)

    def _customer_checks(self, merged: Record, own: str | None) -> None:
        self._unique_number("customers", merged.get("number"), own, "Customer")
        if self.switches.unique_customer_names:
            wanted = str(merged.get("name") or "").strip().lower()
            for record in self.col("customers").records.values():
                if (
                    record["guid"] != own
                    and str(record.get("name") or "").strip().lower() == wanted
                ):
                    raise invalid(
                        f"A customer named '{merged.get('name')}' already exists.", "name"
                    )

    def _apply_customer(self, record: Record, clean: Record) -> Record:
        for key, value in clean.items():
            if key == "currency":
                cur = self.col("currencies").get(value["guid"]) if value else None
                record[key] = (
                    {k: cur.get(k) for k in ("guid", "code", "name", "symbol")} if cur else None
                )
            elif key == "invoicingVat":
                vat = self.col("vatRates").get(value["guid"]) if value else None
                record[key] = (
                    {
                        "guid": vat["guid"],
                        "code": vat.get("code"),
                        "percentage": vat.get("percentage"),
                    }
                    if vat
                    else None
                )
            elif key == "headquarterAddress":
                record[key] = self._address_summary(value["guid"]) if value else None
            elif key == "owner":
                record[key] = self._user(value["guid"]) if value else None
            else:
                record[key] = value
        return _drop_null_refs(record, _CUSTOMER_REFS)

    def _address_summary(self, guid: str) -> Record | None:
        address = self.col("addresses").get(guid)
        if address is None:
            return None
        return {
            "guid": address["guid"],
            "addressline": address.get("addressline"),
            "postalCode": address.get("postalCode"),
            "city": address.get("city"),
            "country": dig(address, "country.name"),
        }

    def _post_customer(self, request: Request, caller: Caller) -> Response:
        clean = self.validate(CUSTOMER_IN, _json_body(request), partial=False)
        self._customer_checks(clean, None)
        record: Record = {
            "guid": new_guid(),
            "number": None,
            "isActive": True,
            "isInternal": False,
            "vatNumber": None,
            "email": None,
            "website": None,
            "notes": None,
            "paymentTerm": None,
            "overdueInterest": None,
            "eInvoiceAddress": None,
            "eInvoiceOperator": None,
            "kvkNumber": None,
            "annualRevenue": None,
            "numberOfEmployees": None,
        }
        record = self._apply_customer(record, clean)
        if "currency" not in clean:
            record = self._apply_customer(record, {"currency": self._org_currency_ref()})
        if record.get("number") is None:
            record["number"] = self._next_number("customers", "nextCustomerNumber")
        self._bump_setting("nextCustomerNumber", int(record["number"]))
        self.col("customers").put(self._created(record, caller))
        return Response.json(201, record)

    def _org_currency_ref(self) -> Record | None:
        code = self._org_currency()
        for cur in self.col("currencies").records.values():
            if cur.get("code") == code:
                return {"guid": cur["guid"]}
        return None

    def _patch_customer(self, request: Request, caller: Caller) -> Response:
        current = self._find("customers", request.path_params["guid"], "Customer")
        body = self.patch_body(request, CUSTOMER_IN, current)
        clean = self.validate(CUSTOMER_IN, body, partial=True)
        record = self._apply_customer(copy.deepcopy(current), clean)
        self._customer_checks(record, current["guid"])
        self.col("customers").put(self._touched(record, caller))
        return Response.json(200, [record])

    def _delete_customer(self, request: Request, caller: Caller) -> Response:
        current = self._find("customers", request.path_params["guid"], "Customer")
        guid = current["guid"]
        if self.col("projects").by("customer.guid", guid) or self.col("invoices").by(
            "customer.guid", guid
        ):
            raise fail(
                400, "InvalidOperation", "A customer with projects or invoices cannot be deleted."
            )
        for g in self.col("addresses").by("customer.guid", guid):
            self.col("addresses").remove(g)
        for g in self.col("contactPersons").by("customer.guid", guid):
            self.col("contactPersons").remove(g)
        self.col("customers").remove(guid)
        return Response.empty(204)

    def _touch_customer(self, guid: str | None, caller: Caller | None) -> None:
        if not self.switches.address_change_touches_customer:
            return
        customer = self.col("customers").get(guid)
        if customer is not None:
            self.col("customers").put(self._touched(dict(customer), caller))

    # -- addresses ---------------------------------------------------------------------

    def _list_addresses(self, request: Request, caller: Caller) -> Response:
        filters = _Filters()
        self._changed_filter(request, "addresses", filters)
        return self.offset_page(request, "addresses", filters)

    def _list_customer_addresses(self, request: Request, caller: Caller) -> Response:
        customer = self._find("customers", request.path_params["customerGuid"], "Customer")
        source = self.col("addresses").by("customer.guid", customer["guid"])
        return self.offset_page(request, "addresses", _Filters(), source)

    def _apply_address(self, record: Record, clean: Record) -> Record:
        for key, value in clean.items():
            if key == "country":
                country = self.col("countries").get(value["guid"]) if value else None
                record[key] = (
                    {
                        "guid": country["guid"],
                        "name": country.get("name"),
                        "englishName": country.get("englishName"),
                        "hasRegions": country.get("hasRegions") or "NoRegion",
                    }
                    if country
                    else None
                )
            else:
                record[key] = value
        return _drop_null_refs(record, ("country", "countryRegion", "customer"))

    def _post_address(self, request: Request, caller: Caller) -> Response:
        customer = self._find("customers", request.path_params["customerGuid"], "Customer")
        clean = self.validate(ADDRESS_IN, _json_body(request), partial=False)
        record: Record = {
            "guid": new_guid(),
            "addressline": None,
            "postalCode": None,
            "city": None,
            "phone": None,
            "fax": None,
            "isBillingAddress": False,
            "isPostalAddress": False,
            "isVisitAddress": False,
            "customer": {
                "guid": customer["guid"],
                "name": customer.get("name"),
                "number": customer.get("number"),
            },
        }
        record = self._apply_address(record, clean)
        self.col("addresses").put(self._created(record, caller))
        self._touch_customer(customer["guid"], caller)
        return Response.json(201, self.view("addresses", record))

    def _patch_address(self, request: Request, caller: Caller) -> Response:
        current = self._find("addresses", request.path_params["guid"], "Address")
        clean = self.validate(
            ADDRESS_IN, self.patch_body(request, ADDRESS_IN, current), partial=True
        )
        record = self._apply_address(copy.deepcopy(current), clean)
        self.col("addresses").put(self._touched(record, caller))
        self._refresh_headquarters(record["guid"])
        self._touch_customer(dig(record, "customer.guid"), caller)
        return Response.json(200, [self.view("addresses", record)])

    def _refresh_headquarters(self, address_guid: str) -> None:
        """Customers show their headquarter address as a read-only snapshot: refresh it."""
        customers = self.col("customers")
        for customer in list(customers.records.values()):
            if dig(customer, "headquarterAddress.guid") == address_guid:
                customers.put(
                    {**customer, "headquarterAddress": self._address_summary(address_guid)}
                )

    # -- contacts ----------------------------------------------------------------------

    def _contact_filters(self, request: Request) -> _Filters:
        filters = _Filters()
        active = self._bool_arg(request, "active")
        if active is not None:
            filters.add(lambda r: bool(r.get("isActive", True)) == active)
        text = (request.arg("textToSearch") or "").strip().lower()
        if text:
            filters.add(lambda r: text in str(r.get("name") or "").lower())
        return filters

    def _list_contacts(self, request: Request, caller: Caller) -> Response:
        filters = self._contact_filters(request)
        self._changed_filter(request, "contactPersons", filters)
        return self.offset_page(request, "contactPersons", filters)

    def _list_customer_contacts(self, request: Request, caller: Caller) -> Response:
        customer = self._find("customers", request.path_params["customerGuid"], "Customer")
        source = self.col("contactPersons").by("customer.guid", customer["guid"])
        return self.offset_page(request, "contactPersons", self._contact_filters(request), source)

    def _apply_contact(self, record: Record, clean: Record) -> Record:
        for key, value in clean.items():
            if key == "customer":
                customer = self.col("customers").get(value["guid"])
                assert customer is not None  # noqa: S101 - validated reference
                record[key] = {
                    "guid": customer["guid"],
                    "name": customer.get("name"),
                    "number": customer.get("number"),
                }
            else:
                record[key] = value
        address_guid = record.get("addressGuid")
        if address_guid:
            address = self.col("addresses").get(address_guid)
            if address is None:
                raise invalid(f"Address '{address_guid}' was not found.", "addressGuid")
            if dig(address, "customer.guid") != dig(record, "customer.guid"):
                raise invalid("The address belongs to another customer.", "addressGuid")
            record["addressGuid"] = address["guid"]
        record["name"] = f"{record.get('firstName') or ''} {record.get('lastName') or ''}".strip()
        return _drop_null_refs(
            record, ("customer", "language", "role", "timeZone", "salutation", "satisfactionLevel")
        )

    def _post_contact(self, request: Request, caller: Caller) -> Response:
        clean = self.validate(CONTACT_IN, _json_body(request), partial=False)
        record: Record = {
            "guid": new_guid(),
            "jobTitle": None,
            "description": None,
            "dateOfBirth": None,
            "addressGuid": None,
            "isActive": True,
            "isDeleted": False,
            "isEmailAllowed": False,
        }
        record = self._apply_contact(record, clean)
        self.col("contactPersons").put(self._created(record, caller))
        self._touch_customer(dig(record, "customer.guid"), caller)
        return Response.json(201, self.view("contactPersons", record))

    def _patch_contact(self, request: Request, caller: Caller) -> Response:
        current = self._find("contactPersons", request.path_params["guid"], "Contact")
        clean = self.validate(
            CONTACT_IN, self.patch_body(request, CONTACT_IN, current), partial=True
        )
        record = self._apply_contact(copy.deepcopy(current), clean)
        self.col("contactPersons").put(self._touched(record, caller))
        self._touch_customer(dig(record, "customer.guid"), caller)
        return Response.json(200, [self.view("contactPersons", record)])

    # -- contact communications ---------------------------------------------------------

    def _list_communications(self, request: Request, caller: Caller) -> Response:
        filters = _Filters()
        self._changed_filter(request, "contactCommunications", filters)
        self._communication_filters(request, filters)
        return self.offset_page(request, "contactCommunications", filters)

    def _communication_filters(self, request: Request, filters: _Filters) -> None:
        active = self._bool_arg(request, "active")
        if active is not None:
            filters.add(lambda r: (not r.get("isForbiddenToUse")) == active)
        text = (request.arg("textToSearch") or "").strip().lower()
        if text:
            filters.add(lambda r: text in str(r.get("value") or "").lower())

    def _list_contact_communications(self, request: Request, caller: Caller) -> Response:
        contact = self._find("contactPersons", request.path_params["contactGuid"], "Contact")
        filters = _Filters()
        self._communication_filters(request, filters)
        col = self.col("contactCommunications")
        found = [
            col.records[g]
            for g in col.by("contact.guid", contact["guid"])
            if filters(col.records[g])
        ]
        return Response.json(200, found)

    def _apply_communication(self, record: Record, clean: Record) -> Record:
        for key, value in clean.items():
            if key == "contact":
                contact = self.col("contactPersons").get(value["guid"])
                assert contact is not None  # noqa: S101 - validated reference
                record[key] = {"guid": contact["guid"], "name": contact.get("name")}
            elif key == "communicationType":
                kind = self.col("communicationTypes").get(value["guid"])
                assert kind is not None  # noqa: S101 - validated reference
                record[key] = {
                    "guid": kind["guid"],
                    "name": kind.get("name"),
                    "type": kind.get("type"),
                    "isActive": kind.get("isActive", True),
                }
            else:
                record[key] = value
        return record

    def _post_communication(self, request: Request, caller: Caller) -> Response:
        clean = self.validate(COMMUNICATION_IN, _json_body(request), partial=False)
        record: Record = {"guid": new_guid(), "isForbiddenToUse": True}
        record = self._apply_communication(record, clean)
        self.col("contactCommunications").put(self._created(record, caller))
        return Response.json(201, record)

    def _patch_communication(self, request: Request, caller: Caller) -> Response:
        """The one PATCH the document answers with a single object, not an array."""
        current = self._find(
            "contactCommunications", request.path_params["guid"], "Contact communication"
        )
        clean = self.validate(
            COMMUNICATION_IN, self.patch_body(request, COMMUNICATION_IN, current), partial=True
        )
        record = self._apply_communication(copy.deepcopy(current), clean)
        self.col("contactCommunications").put(self._touched(record, caller))
        return Response.json(200, record)

    # == settings: products, work types, travel-expense types ==========================

    def _apply_priced(self, record: Record, clean: Record, money_fields: Iterable[str]) -> Record:
        moneys = set(money_fields)
        for key, value in clean.items():
            if key in moneys:
                record[key] = money(value["amount"], value["currencyCode"]) if value else None
            elif key in ("salesAccount", "costAccount") and isinstance(value, dict):
                record[key] = pick(value, "guid", "name", "number")
            elif key == "productCategory" and isinstance(value, dict):
                record[key] = {"guid": value.get("guid"), "name": value.get("name")}
            else:
                record[key] = value
        return _drop_null_refs(
            record,
            (*moneys, "salesAccount", "costAccount", "productCategory", "type", "expenseClass"),
        )

    def _list_products(self, request: Request, caller: Caller) -> Response:
        filters = _Filters()
        self._changed_filter(request, "products", filters)
        active = self._bool_arg(request, "isActive")
        if active is not None:
            filters.add(lambda r: bool(r.get("isActive", True)) == active)
        code = request.arg("code")
        if code:
            filters.add(lambda r: str(r.get("code") or "").lower() == code.lower())
        kind = request.arg("type")
        if kind:
            if kind.lower() not in [t.lower() for t in PRODUCT_TYPES]:
                raise invalid(f"The value '{kind}' is not valid for type.", "type", "UriParameter")
            filters.add(lambda r: str(r.get("type") or "").lower() == kind.lower())
        return self.token_page(request, "products", filters)

    def _post_product(self, request: Request, caller: Caller) -> Response:
        clean = self.validate(PRODUCT_IN, _json_body(request), partial=False)
        self._unique_code("products", clean.get("code"), None)
        record: Record = {
            "guid": new_guid(), "code": None, "isActive": True, "type": "Materials",
            "measurementUnit": None, "vatRate": None, "proposalDescription": None,
        }  # fmt: skip
        record = self._apply_priced(record, clean, ("unitPrice", "unitCost"))
        self.col("products").put(self._created(record, caller))
        return Response.json(201, record)

    def _patch_product(self, request: Request, caller: Caller) -> Response:
        current = self._find("products", request.path_params["guid"], "Product")
        clean = self.validate(
            PRODUCT_IN, self.patch_body(request, PRODUCT_IN, current), partial=True
        )
        if "code" in clean:
            self._unique_code("products", clean["code"], current["guid"])
        record = self._apply_priced(copy.deepcopy(current), clean, ("unitPrice", "unitCost"))
        self.col("products").put(self._touched(record, caller))
        return Response.json(200, [record])

    def _product_country(self, request: Request, caller: Caller) -> Response:
        product = self._find("products", request.path_params["productGuid"], "Product")
        return Response.json(200, self._country_settings(product, "productcountrysettings"))

    def _country_settings(self, record: Record, salt: str) -> list[Record]:
        country = self._org_country()
        if country is None:
            return []
        out: Record = {
            "guid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{salt}:{record['guid']}")),
            "country": {"guid": country["guid"], "name": country.get("name")},
            "product": {"guid": record["guid"], "name": record.get("name")},
            "vatRate": record.get("vatRate"),
            "createdDateTime": record.get("createdDateTime"),
            "lastUpdatedDateTime": record.get("lastUpdatedDateTime"),
        }
        if "purchaseVatRate" in record:
            out["purchaseVatRate"] = record.get("purchaseVatRate")
        return [out]

    def _org_country(self) -> Record | None:
        details = self.col("organizationDetails").ordered()
        guid = dig(details[0], "country.guid") if details else None
        return self.col("countries").get(guid) if guid else None

    def _list_work_types(self, request: Request, caller: Caller) -> Response:
        filters = _Filters()
        self._changed_filter(request, "workTypes", filters)
        self._settings_filters(request, filters, ("name", "code"))
        productive = self._bool_arg(request, "productive")
        if productive is not None:
            filters.add(lambda r: bool(r.get("isProductive")) == productive)
        return self.offset_page(request, "workTypes", filters)

    def _settings_filters(
        self, request: Request, filters: _Filters, searched: tuple[str, ...]
    ) -> None:
        active = self._bool_arg(request, "active")
        if active is not None:
            filters.add(lambda r: bool(r.get("isActive", True)) == active)
        code = request.arg("code")
        if code:
            filters.add(lambda r: str(r.get("code") or "").lower() == code.lower())
        text = (request.arg("textToSearch") or "").strip().lower()
        if text:
            filters.add(lambda r: any(text in str(r.get(k) or "").lower() for k in searched))

    def _post_work_type(self, request: Request, caller: Caller) -> Response:
        clean = self.validate(WORK_TYPE_IN, _json_body(request), partial=False)
        self._unique_code("workTypes", clean.get("code"), None)
        record: Record = {
            "guid": new_guid(), "code": None, "isActive": True, "isDefault": False,
            "isProductive": True,
        }  # fmt: skip
        record = self._apply_priced(record, clean, ("hourCost",))
        self._single_default("workTypes", record)
        self.col("workTypes").put(self._created(record, caller))
        return Response.json(201, record)

    def _patch_work_type(self, request: Request, caller: Caller) -> Response:
        current = self._find("workTypes", request.path_params["guid"], "Work type")
        clean = self.validate(
            WORK_TYPE_IN, self.patch_body(request, WORK_TYPE_IN, current), partial=True
        )
        if "code" in clean:
            self._unique_code("workTypes", clean["code"], current["guid"])
        record = self._apply_priced(copy.deepcopy(current), clean, ("hourCost",))
        self._single_default("workTypes", record)
        self.col("workTypes").put(self._touched(record, caller))
        return Response.json(200, [record])

    def _single_default(self, collection: str, record: Record, flag: str = "isDefault") -> None:
        """Only one record may carry ``flag``: setting it clears it elsewhere."""
        if not record.get(flag):
            return
        col = self.col(collection)
        for other in list(col.records.values()):
            if other["guid"] != record["guid"] and other.get(flag):
                col.put({**other, flag: False})

    def _list_travel_types(self, request: Request, caller: Caller) -> Response:
        filters = _Filters()
        self._settings_filters(request, filters, ("name", "code"))
        return self.offset_page(request, "travelExpenseTypes", filters, default_rows=None)

    def _apply_travel_type(self, record: Record, clean: Record) -> Record:
        record = self._apply_priced(record, clean, ("unitCost",))
        kind = record.get("expenseClass")
        record["isMileage"] = kind == "Mileage"
        record["isDailyAllowance"] = kind == "DailyAllowance"
        return record

    def _post_travel_type(self, request: Request, caller: Caller) -> Response:
        clean = self.validate(TRAVEL_TYPE_IN, _json_body(request), partial=False)
        record: Record = {
            "guid": new_guid(), "code": None, "isActive": True, "includeTime": True,
            "measurementUnit": None, "vatRate": None, "purchaseVatRate": None,
        }  # fmt: skip
        record = self._apply_travel_type(record, clean)
        self.col("travelExpenseTypes").put(self._created(record, caller))
        return Response.json(201, record)

    def _patch_travel_type(self, request: Request, caller: Caller) -> Response:
        current = self._find(
            "travelExpenseTypes", request.path_params["guid"], "Travel expense type"
        )
        clean = self.validate(
            TRAVEL_TYPE_IN, self.patch_body(request, TRAVEL_TYPE_IN, current), partial=True
        )
        record = self._apply_travel_type(copy.deepcopy(current), clean)
        self.col("travelExpenseTypes").put(self._touched(record, caller))
        return Response.json(200, [record])

    def _travel_type_country(self, request: Request, caller: Caller) -> Response:
        kind = self._find(
            "travelExpenseTypes",
            request.path_params["travelExpenseTypeGuid"],
            "Travel expense type",
        )
        return Response.json(200, self._country_settings(kind, "travelexpensetypecountrysettings"))

    # -- VAT rates, currencies, invoice statuses ---------------------------------------

    def _list_vat_rates(self, request: Request, caller: Caller) -> Response:
        country = request.arg("countryGuid")
        if not country:
            org = self._org_country()
            country = org["guid"] if org else None
        active = self._bool_arg(request, "active")
        found = [
            r
            for r in self.col("vatRates").ordered()
            if (country is None or str(r.get("countryGuid") or "").lower() == country.lower())
            and (active is None or bool(r.get("isActive", True)) == active)
        ]
        return Response.json(200, found)

    def _post_vat_rate(self, request: Request, caller: Caller) -> Response:
        clean = self.validate(VAT_RATE_IN, _json_body(request), partial=False)
        org = self._org_country()
        record: Record = {
            "guid": new_guid(), "code": None, "isActive": True, "isDefault": False,
            "countryGuid": org["guid"] if org else None,
        }  # fmt: skip
        record.update(clean)
        self._single_default("vatRates", record)
        self.col("vatRates").put(self._created(record, caller))
        return Response.json(201, record)

    def _patch_vat_rate(self, request: Request, caller: Caller) -> Response:
        current = self._find("vatRates", request.path_params["guid"], "VAT rate")
        clean = self.validate(
            VAT_RATE_IN, self.patch_body(request, VAT_RATE_IN, current), partial=True
        )
        record = {**current, **clean}
        self._single_default("vatRates", record)
        self.col("vatRates").put(self._touched(record, caller))
        return Response.json(200, [record])

    def _list_currencies(self, request: Request, caller: Caller) -> Response:
        filters = _Filters()
        self._settings_filters(request, filters, ("name", "code"))
        return self.offset_page(request, "currencies", filters)

    def _patch_currency(self, request: Request, caller: Caller) -> Response:
        current = self._find("currencies", request.path_params["guid"], "Currency")
        clean = self.validate(
            CURRENCY_IN, self.patch_body(request, CURRENCY_IN, current), partial=True
        )
        record = {**current, **clean}
        self.col("currencies").put(self._touched(record, caller))
        return Response.json(200, [record])

    def _list_invoice_statuses(self, request: Request, caller: Caller) -> Response:
        filters = _Filters()
        self._settings_filters(request, filters, ("name",))
        return self.offset_page(request, "invoiceStatuses", filters)

    def _post_invoice_status(self, request: Request, caller: Caller) -> Response:
        clean = self.validate(INVOICE_STATUS_IN, _json_body(request), partial=False)
        record: Record = {
            "guid": new_guid(), "isActive": True, "isDefault": False,
            "isDefaultForCreditNote": False, "isSent": False, "isPaid": False,
            "isWaitingPayment": False, "isReadOnly": False, "hasInvoiceNumber": False,
            "sortOrder": len(self.col("invoiceStatuses")) + 1,
        }  # fmt: skip
        record.update(clean)
        self._single_default("invoiceStatuses", record)
        self._single_default("invoiceStatuses", record, "isDefaultForCreditNote")
        self.col("invoiceStatuses").put(self._created(record, caller))
        return Response.json(201, record)

    def _patch_invoice_status(self, request: Request, caller: Caller) -> Response:
        current = self._find("invoiceStatuses", request.path_params["guid"], "Invoice status")
        clean = self.validate(
            INVOICE_STATUS_IN, self.patch_body(request, INVOICE_STATUS_IN, current), partial=True
        )
        record = {**current, **clean}
        self._single_default("invoiceStatuses", record)
        self._single_default("invoiceStatuses", record, "isDefaultForCreditNote")
        self.col("invoiceStatuses").put(self._touched(record, caller))
        return Response.json(200, [record])

    # == projects =======================================================================

    def _list_projects(self, request: Request, caller: Caller) -> Response:
        filters = _Filters()
        self._changed_filter(request, "projects", filters)
        for arg, path in (
            ("customerGuids", "customer.guid"),
            ("projectGuids", "guid"),
            ("projectOwnerGuids", "projectOwner.guid"),
            ("salesPersonGuids", "salesPerson.guid"),
            ("businessUnitGuids", "businessUnit.guid"),
        ):
            wanted = self._strs_arg(request, arg)
            if wanted:
                filters.add(_field_in(path, wanted))
        numbers = self._ints_arg(request, "numbers")
        if numbers:
            filters.add(lambda r: r.get("number") in numbers)
        closed = self._bool_arg(request, "isClosed")
        if closed is not None:
            filters.add(lambda r: bool(r.get("isClosed")) == closed)
        internal = self._bool_arg(request, "internal")
        if internal is not None:
            filters.add(lambda r: bool(r.get("isInternal")) == internal)
        currency = (request.arg("currencyGuid") or "").lower()
        if currency:
            filters.add(lambda r: str(dig(r, "currency.guid") or "").lower() == currency)
        return self.token_page(request, "projects", filters)

    def _apply_project(self, record: Record, clean: Record) -> Record:
        for key, value in clean.items():
            if key == "customer":
                customer = self.col("customers").get(value["guid"])
                assert customer is not None  # noqa: S101 - validated reference
                record[key] = {
                    "guid": customer["guid"],
                    "name": customer.get("name"),
                    "number": customer.get("number"),
                }
            elif key in ("projectOwner", "salesPerson"):
                record[key] = self._user(value["guid"]) if value else None
            elif key in ("billingContact", "customerContact"):
                contact = self.col("contactPersons").get(value["guid"]) if value else None
                if contact is None:
                    record[key] = None
                elif key == "billingContact":
                    record[key] = {
                        "guid": contact["guid"], "firstName": contact.get("firstName"),
                        "lastName": contact.get("lastName"), "name": contact.get("name"),
                        "code": None,
                    }  # fmt: skip
                else:
                    record[key] = {
                        "guid": contact["guid"], "firstName": contact.get("firstName"),
                        "lastName": contact.get("lastName"), "name": contact.get("name"),
                        "isDeleted": bool(contact.get("isDeleted")),
                    }  # fmt: skip
            elif key == "currency":
                cur = self.col("currencies").get(value["guid"]) if value else None
                record[key] = (
                    {k: cur.get(k) for k in ("guid", "code", "name", "symbol")} if cur else None
                )
            elif key == "expectedValue":
                record[key] = money(value["amount"], value["currencyCode"]) if value else None
            elif key == "useWorktypesFromSetting":
                record["useWorkTypesFromSetting"] = value  # output spells it with capital T
            elif key == "isClosed":
                if value and not record.get("isClosed"):
                    record["closedDate"] = self.now().date().isoformat()
                elif not value:
                    record["closedDate"] = None
                record[key] = bool(value)
            elif key == "businessUnit" and isinstance(value, dict):
                if not value.get("guid"):
                    raise invalid("The businessUnit.guid field is required.", "businessUnit")
                record[key] = {"guid": value["guid"], "name": value.get("name")}
            else:
                record[key] = value
        return _drop_null_refs(record, _PROJECT_REFS)

    def _post_project(self, request: Request, caller: Caller) -> Response:
        clean = self.validate(PROJECT_IN, _json_body(request), partial=False)
        self._unique_number("projects", clean.get("number"), None, "Project")
        guid = new_guid()
        record: Record = {
            "guid": guid, "number": None, "isClosed": False, "closedDate": None,
            "isInternal": False, "isJoiningAllowed": True, "isMileageBillable": True,
            "isDailyAllowanceBillable": True, "isOtherTravelExpensesBillable": True,
            "description": None, "internalName": None, "invoiceNotes": None,
            "orderNumber": None, "ourReference": None, "yourReference": None,
            "paymentTerm": None, "probability": None, "startDate": None, "deadline": None,
            "expectedOrderDate": None, "keywords": [], "useOvertimeMultipliers": True,
            "useProductsFromSetting": True, "useWorkTypesFromSetting": True,
        }  # fmt: skip
        if "currency" not in clean:
            clean["currency"] = self._org_currency_ref()
        record = self._apply_project(record, clean)
        if record.get("number") is None:
            record["number"] = self._next_number("projects", "nextProjectNumber")
        self._bump_setting("nextProjectNumber", int(record["number"]))
        phase = self._created(
            {
                "guid": new_guid(),
                "name": record["name"],
                "project": {"guid": guid, "name": record["name"]},
            },
            caller,
        )
        self.col("phases").put(phase)
        record["rootPhase"] = {"guid": phase["guid"], "name": phase["name"]}
        self.col("projects").put(self._created(record, caller))
        return Response.json(201, record)

    def _patch_project(self, request: Request, caller: Caller) -> Response:
        current = self._find("projects", request.path_params["guid"], "Project")
        clean = self.validate(
            PROJECT_IN, self.patch_body(request, PROJECT_IN, current), partial=True
        )
        if "number" in clean:
            self._unique_number("projects", clean["number"], current["guid"], "Project")
        record = self._apply_project(copy.deepcopy(current), clean)
        self.col("projects").put(self._touched(record, caller))
        return Response.json(200, [record])

    # -- project fees ------------------------------------------------------------------

    def _list_fees(self, request: Request, caller: Caller) -> Response:
        filters = _Filters()
        self._changed_filter(request, "projectFees", filters)
        return self.token_page(request, "projectFees", filters)

    def _apply_fee(self, record: Record, clean: Record, *, creating: bool) -> Record:
        product: Record | None = None
        for key, value in clean.items():
            if key == "project":
                project = self.col("projects").get(value["guid"])
                assert project is not None  # noqa: S101 - validated reference
                if project.get("isClosed") and not self.switches.fees_on_closed_projects:
                    raise fail(
                        400, "InvalidOperation", "Fees cannot be added to a closed project.",
                        "RequestBody", "project",
                    )  # fmt: skip
                record["project"] = {
                    "guid": project["guid"], "name": project.get("name"), "companyGuid": None,
                }  # fmt: skip
                customer = project.get("customer") or {}
                record["customer"] = {
                    "guid": customer.get("guid"), "name": customer.get("name"),
                    "number": customer.get("number"),
                }  # fmt: skip
                root = project.get("rootPhase")
                if creating and "phase" not in clean and isinstance(root, dict):
                    record["phase"] = {"guid": root.get("guid"), "name": root.get("name")}
            elif key in ("phase", "billingDependencyPhase"):
                phase = self.col("phases").get(value["guid"]) if value else None
                if phase is not None and dig(phase, "project.guid") != dig(record, "project.guid"):
                    raise invalid("The phase belongs to another project.", key)
                record[key] = (
                    None if phase is None
                    else {"guid": phase["guid"], "name": phase.get("name")}
                    | ({"isCompleted": False} if key == "billingDependencyPhase" else {})
                )  # fmt: skip
            elif key == "product":
                product = self.col("products").get(value["guid"]) if value else None
                record[key] = (
                    {
                        "guid": product["guid"],
                        "name": product.get("name"),
                        "code": product.get("code"),
                    }
                    if product
                    else None
                )
            elif key in ("unitPrice", "unitCost"):
                record[key] = money(value["amount"], value["currencyCode"]) if value else None
            elif key == "user":
                user = self._user(value["guid"]) if value else None
                record[key] = (
                    {
                        "guid": user["guid"],
                        "code": user.get("code"),
                        "name": user.get("name"),
                        "companyGuid": None,
                    }
                    if user
                    else None
                )
            elif key == "invoice":
                invoice = self.col("invoices").get(value["guid"]) if value else None
                record[key] = (
                    {
                        "guid": invoice["guid"],
                        "number": invoice.get("number"),
                        "date": invoice.get("date"),
                    }
                    if invoice
                    else None
                )
            elif key in ("salesAccount", "costCenter") and isinstance(value, dict):
                record[key] = {"guid": value.get("guid"), "name": value.get("name")}
            else:
                record[key] = value
        if creating and product is not None and self.switches.fee_defaults_from_product:
            for name in ("name", "measurementUnit", "vatRate", "unitPrice", "unitCost"):
                if clean.get(name) is None and product.get(name) is not None:
                    record[name] = copy.deepcopy(product[name])
            if clean.get("productType") is None and product.get("type"):
                record["productType"] = product["type"]
        return _drop_null_refs(record, _FEE_REFS)

    def _post_fee(self, request: Request, caller: Caller) -> Response:
        """``POST /v1/projectfees`` answers 201 with an *array* (the document says so)."""
        clean = self.validate(FEE_IN, _json_body(request), partial=False)
        record: Record = {
            "guid": new_guid(), "name": None, "description": None, "eventDate": None,
            "quantity": 0, "measurementUnit": None, "vatRate": None, "isBillable": True,
            "billingSchedule": "Immediately", "plannedBillingDate": None,
            "invoiceQuantity": None, "invoiceRowDescription": None, "invoiceRowComment": None,
            "invoiceRowGuid": None, "isRecurrenceRule": False, "recurrenceRuleGuid": None,
            "hasVolumePricing": False, "displayPeriodStartDate": None, "productType": None,
        }  # fmt: skip
        record = self._apply_fee(record, clean, creating=True)
        if record.get("eventDate") is None:
            record["eventDate"] = self.now().date().isoformat()
        self.col("projectFees").put(self._created(record, caller))
        return Response.json(201, [record])

    def _patch_fee(self, request: Request, caller: Caller) -> Response:
        """The path may list several guids, comma-separated; all get the same patch."""
        guids = [g.strip() for g in request.path_params["guid"].split(",") if g.strip()]
        currents = [self._find("projectFees", g, "Project fee") for g in guids]
        updated: list[Record] = []
        for current in currents:
            if current.get("invoice"):
                raise fail(400, "InvalidOperation", "An invoiced project fee cannot be changed.")
            clean = self.validate(FEE_IN, self.patch_body(request, FEE_IN, current), partial=True)
            updated.append(self._apply_fee(copy.deepcopy(current), clean, creating=False))
        for record in updated:
            self.col("projectFees").put(self._touched(record, caller))
        return Response.json(200, updated)

    def _delete_fee(self, request: Request, caller: Caller) -> Response:
        current = self._find("projectFees", request.path_params["guid"], "Project fee")
        if current.get("invoice"):
            raise fail(400, "InvalidOperation", "An invoiced project fee cannot be deleted.")
        self.col("projectFees").remove(current["guid"])
        return Response.empty(204)

    # == invoices =======================================================================

    def _list_invoices(self, request: Request, caller: Caller) -> Response:
        filters = _Filters()
        self._changed_filter(request, "invoices", filters)
        statuses = self._strs_arg(request, "invoiceStatusGuids")
        if statuses:
            filters.add(lambda r: str(dig(r, "status.guid") or "").lower() in statuses)
        customers = self._strs_arg(request, "customerGuids")
        if customers:
            filters.add(lambda r: str(dig(r, "customer.guid") or "").lower() in customers)
        projects = self._strs_arg(request, "projectGuids")
        if projects:
            filters.add(
                lambda r: any(
                    str(p.get("guid")).lower() in projects for p in r.get("projects") or []
                )
            )
        numbers = self._ints_arg(request, "numbers")
        if numbers:
            filters.add(lambda r: r.get("number") in numbers)
        references = self._strs_arg(request, "referenceNumbers")
        if references:
            filters.add(lambda r: str(r.get("referenceNumber") or "").lower() in references)
        start = self._time_arg(request, "startDate")
        if start is not None:
            filters.add(lambda r: str(r.get("date") or "") >= start.date().isoformat())
        end = self._time_arg(request, "endDate")
        if end is not None:
            filters.add(lambda r: str(r.get("date") or "9999") <= end.date().isoformat())
        paid = self._time_arg(request, "paymentDateStart")
        if paid is not None:
            filters.add(lambda r: str(r.get("paymentDate") or "") >= paid.date().isoformat())
        for arg in ("minimumTotalExcludingTax", "maximumTotalExcludingTax"):
            raw = request.arg(arg)
            if raw:
                try:
                    limit = float(raw)
                except ValueError:
                    raise invalid(
                        f"The value '{raw}' is not valid for {arg}.", arg, "UriParameter"
                    ) from None
                filters.add(_total_test(limit, arg.startswith("minimum")))
        return self.token_page(request, "invoices", filters)

    def _status_sub(self, status: Record) -> Record:
        return {
            "guid": status["guid"],
            "name": status.get("name"),
            "isPaid": bool(status.get("isPaid")),
            "isSent": bool(status.get("isSent")),
            "isWaitingPayment": bool(status.get("isWaitingPayment")),
        }

    def set_invoice_status(self, invoice: Record, status: Record) -> Record:
        """Move ``invoice`` (a fresh copy) into ``status``: numbering and payment date
        follow the status flags, as in Severa's UI."""
        invoice["status"] = self._status_sub(status)
        if (
            status.get("hasInvoiceNumber")
            and invoice.get("number") is None
            and self.switches.assign_invoice_numbers
        ):
            number = self._next_number("invoices", "nextInvoiceNumber")
            invoice["number"] = number
            self._bump_setting("nextInvoiceNumber", number)
        if status.get("isPaid") and not invoice.get("paymentDate"):
            invoice["paymentDate"] = self.now().date().isoformat()
        if status.get("isSent") and not invoice.get("entryDate"):
            invoice["entryDate"] = invoice.get("date")
        return invoice

    def _patch_invoice(self, request: Request, caller: Caller) -> Response:
        """JSON Patch of the unpublished ``InvoiceInputModel`` (severa-notes §6.14);
        an invoice in a read-only status accepts only a status or payment change."""
        current = self._find("invoices", request.path_params["guid"], "Invoice")
        spec = dict(INVOICE_PATCH)
        if not self.switches.invoice_number_patchable:
            del spec["number"]
        body = self.patch_body(request, spec, current)
        clean = self.validate(spec, body, partial=True)
        status_now = self.col("invoiceStatuses").get(dig(current, "status.guid")) or {}
        if status_now.get("isReadOnly") and set(clean) - {"status", "paymentDate"}:
            raise fail(
                400, "InvalidOperation",
                f"The invoice is in the read-only status '{status_now.get('name')}'.",
            )  # fmt: skip
        if "number" in clean:
            self._unique_number("invoices", clean["number"], current["guid"], "Invoice")
        record = copy.deepcopy(current)
        new_status: Record | None = None
        for key, value in clean.items():
            if key == "status":
                new_status = self.col("invoiceStatuses").get(value["guid"])
            elif key in ("freeText1", "freeText2"):
                text = value.get("value") if value else None
                record[key] = _free_text(text)
            else:
                record[key] = value
        if new_status is not None:
            if not new_status.get("isActive", True):
                raise invalid("The invoice status is not active.", "status")
            record = self.set_invoice_status(record, new_status)
        if "number" in clean and clean["number"] is not None:
            self._bump_setting("nextInvoiceNumber", int(clean["number"]))
        self.col("invoices").put(self._touched(record, caller))
        self._refresh_item_invoice_refs(record)
        return Response.json(200, [record])

    def _refresh_item_invoice_refs(self, invoice: Record) -> None:
        """Source items show ``invoice {guid, number, date}``: keep number/date current."""
        ref = {
            "guid": invoice["guid"],
            "number": invoice.get("number"),
            "date": invoice.get("date"),
        }
        for row_guid in self.col("invoiceRows").by("invoiceGuid", invoice["guid"]):
            for name in ("projectFees", "workHours", "projectTravelExpenses"):
                col = self.col(name)
                for g in col.by("invoiceRowGuid", row_guid):
                    item = col.records[g]
                    if item.get("invoice") != ref:
                        col.put({**item, "invoice": ref})

    def _list_invoice_rows(self, request: Request, caller: Caller) -> Response:
        filters = _Filters()
        self._changed_filter(request, "invoiceRows", filters)
        return self.token_page(request, "invoiceRows", filters)

    def _list_invoice_rows_of(self, request: Request, caller: Caller) -> Response:
        invoice = self._find("invoices", request.path_params["invoiceGuid"], "Invoice")
        filters = _Filters()
        row_type = request.arg("rowType")
        if row_type:
            if row_type.lower() not in [t.lower() for t in ROW_TYPES]:
                raise invalid(
                    f"The value '{row_type}' is not valid for rowType.", "rowType", "UriParameter"
                )
            filters.add(lambda r: str(r.get("rowType")).lower() == row_type.lower())
        source = self.col("invoiceRows").by("invoiceGuid", invoice["guid"])
        return self.token_page(request, "invoiceRows", filters, source)

    def _patch_invoice_row(self, request: Request, caller: Caller) -> Response:
        current = self._find("invoiceRows", request.path_params["guid"], "Invoice row")
        invoice = self.col("invoices").get(current.get("invoiceGuid"))
        status = self.col("invoiceStatuses").get(dig(invoice or {}, "status.guid")) or {}
        if status.get("isReadOnly"):
            raise fail(
                400,
                "InvalidOperation",
                f"The invoice is in the read-only status '{status.get('name')}'.",
            )
        clean = self.validate(
            INVOICE_ROW_PATCH, self.patch_body(request, INVOICE_ROW_PATCH, current), partial=True
        )
        record = copy.deepcopy(current)
        for key, value in clean.items():
            if key == "unitPrice":
                record[key] = money(
                    value["amount"] if value else None, self._invoice_currency(invoice)
                )
            else:
                record[key] = value
        self.col("invoiceRows").put(self._touched(record, caller))
        if invoice is not None:
            self.col("invoices").put(self._touched(self._with_totals(dict(invoice)), caller))
        return Response.json(200, [record])

    def _invoice_currency(self, invoice: Record | None) -> str:
        code = dig(invoice or {}, "currency.code")
        return str(code) if code else self._org_currency()

    def _with_totals(self, invoice: Record) -> Record:
        """Totals of an invoice from its rows (rounded per row, as invoices are)."""
        currency = self._invoice_currency(invoice)
        rows = [
            self.col("invoiceRows").records[g]
            for g in self.col("invoiceRows").by("invoiceGuid", invoice["guid"])
        ]
        by_type: dict[str, float] = {t: 0.0 for t in ROW_TYPES}
        net = tax = hours = 0.0
        for row in rows:
            line = round(
                float(row.get("quantity") or 0) * float(dig(row, "unitPrice.amount") or 0), 2
            )
            net += line
            tax += round(line * float(row.get("vatRate") or 0) / 100, 2)
            by_type[str(row.get("rowType") or "ProjectFees")] = (
                by_type.get(str(row.get("rowType")), 0.0) + line
            )
            if row.get("rowType") == "Hours":
                hours += float(row.get("quantity") or 0)
        invoice["totalExcludingTax"] = money(round(net, 2), currency)
        invoice["totalTax"] = money(round(tax, 2), currency)
        invoice["totalIncludingTax"] = money(round(net + tax, 2), currency)
        invoice["workHoursTotalExcludingTax"] = money(round(by_type["Hours"], 2), currency)
        invoice["projectFeesTotalExcludingTax"] = money(round(by_type["ProjectFees"], 2), currency)
        invoice["projectTravelExpensesTotalExcludingTax"] = money(
            round(by_type["TravelExpenses"], 2), currency
        )
        invoice["flatRatesTotalExcludingTax"] = money(round(by_type["FlatRate"], 2), currency)
        invoice["workHoursQuantity"] = round(hours, 2)
        return invoice

    def _row_items(self, request: Request, collection: str, filters: _Filters) -> Response:
        row = self._find("invoiceRows", request.path_params["invoiceRowGuid"], "Invoice row")
        source = self.col(collection).by("invoiceRowGuid", row["guid"])
        return self.token_page(request, collection, filters, source)

    def _row_fees(self, request: Request, caller: Caller) -> Response:
        filters = _Filters()
        kind = request.arg("productType")
        if kind:
            filters.add(lambda r: str(r.get("productType") or "").lower() == kind.lower())
        return self._row_items(request, "projectFees", filters)

    def _row_hours(self, request: Request, caller: Caller) -> Response:
        return self._row_items(request, "workHours", _Filters())

    def _row_travels(self, request: Request, caller: Caller) -> Response:
        filters = _Filters()
        kind = request.arg("expenseClass")
        if kind:
            filters.add(
                lambda r: str(dig(r, "travelExpense.expenseClass") or "").lower() == kind.lower()
            )
        return self._row_items(request, "projectTravelExpenses", filters)

    # -- invoice creation ---------------------------------------------------------------

    def _post_invoice(self, request: Request, caller: Caller) -> Response:
        """Invoices are created *from projects*: their uninvoiced billable fees, hours and
        travel expenses become rows (fees one by one; hours per work type; travel
        expenses per type). Answers 201 with an array of invoices."""
        clean = self.validate(CREATE_INVOICE_IN, _json_body(request), partial=False)
        projects_in = clean["projects"]
        if not isinstance(projects_in, list) or not projects_in:
            raise invalid("At least one project is required.", "projects")
        projects: list[Record] = []
        for position, item in enumerate(projects_in):
            guid = item.get("guid") if isinstance(item, dict) else None
            project = self.col("projects").get(guid) if isinstance(guid, str) else None
            if project is None:
                raise invalid(f"Project '{guid}' was not found.", f"projects[{position}].guid")
            projects.append(project)
        status = self._default_status(clean.get("invoiceStatusGuid"))
        billing = clean.get("billingCustomerGuid")
        if billing and self.col("customers").get(billing) is None:
            raise invalid(f"Customer '{billing}' was not found.", "billingCustomerGuid")
        groups = [projects] if clean.get("groupProjects") else [[p] for p in projects]
        if clean.get("groupProjects") and len({dig(p, "customer.guid") for p in projects}) > 1:
            raise fail(400, "InvalidOperation", "Grouped projects must have the same customer.")
        created: list[Record] = []
        for group in groups:
            rows = self._uninvoiced_rows(group)
            if not rows:
                continue
            created.append(
                self.create_invoice(
                    customer_guid=str(dig(group[0], "customer.guid")),
                    project_guids=[p["guid"] for p in group],
                    status=status,
                    rows=rows,
                    header={"date": clean.get("date")} if clean.get("date") else {},
                    billing_customer_guid=billing,
                    caller=caller,
                )
            )
        if not created:
            raise fail(400, "InvalidOperation", "The projects have nothing to invoice.")
        return Response.json(201, created)

    def _default_status(self, guid: str | None) -> Record:
        statuses = self.col("invoiceStatuses")
        if guid:
            found = statuses.get(guid)
            if found is None:
                raise invalid(f"Invoice status '{guid}' was not found.", "invoiceStatusGuid")
            return found
        for record in statuses.ordered():
            if record.get("isDefault"):
                return record
        ordered = statuses.ordered()
        if not ordered:
            raise fail(400, "ConfigurationError", "The organization has no invoice statuses.")
        return ordered[0]

    def _uninvoiced_rows(self, projects: list[Record]) -> list[Record]:
        rows: list[Record] = []
        for project in projects:
            fees = self.col("projectFees")
            for g in fees.by("project.guid", project["guid"]):
                fee = fees.records[g]
                if fee.get("invoice") or fee.get("isBillable") is False:
                    continue
                rows.append({
                    "rowType": "ProjectFees",
                    "description": fee.get("invoiceRowDescription") or fee.get("name"),
                    "quantity": fee.get("invoiceQuantity") or fee.get("quantity") or 0,
                    "measurementUnit": fee.get("measurementUnit"),
                    "unitPrice": dig(fee, "unitPrice.amount") or 0,
                    "vatRate": fee.get("vatRate"),
                    "code": [c for c in [dig(fee, "product.code")] if c],
                    "items": [("projectFees", g)],
                })  # fmt: skip
            for collection, key, row_type in (
                ("workHours", "workType", "Hours"),
                ("projectTravelExpenses", "travelExpense", "TravelExpenses"),
            ):
                col = self.col(collection)
                grouped: dict[str, list[str]] = {}
                for g in col.by("project.guid", project["guid"]):
                    item = col.records[g]
                    if item.get("invoice") or item.get("isBillable") is False:
                        continue
                    grouped.setdefault(str(dig(item, f"{key}.guid")), []).append(g)
                for members in grouped.values():
                    first = col.records[members[0]]
                    quantity = sum(float(col.records[g].get("quantity") or 0) for g in members)
                    amount = sum(
                        float(col.records[g].get("quantity") or 0)
                        * float(dig(col.records[g], "unitPrice.amount") or 0)
                        for g in members
                    )
                    code = dig(first, f"{key}.code")
                    rows.append({
                        "rowType": row_type,
                        "description": dig(first, f"{key}.name"),
                        "quantity": round(quantity, 2),
                        "measurementUnit": (
                            "h" if row_type == "Hours" else first.get("measurementUnit")
                        ),
                        "unitPrice": round(amount / quantity, 2) if quantity else 0,
                        "vatRate": first.get("vatRate", 25),
                        "code": [code] if code else [],
                        "items": [(collection, g) for g in members],
                    })  # fmt: skip
        return rows

    def create_invoice(
        self,
        *,
        customer_guid: str,
        project_guids: list[str],
        status: Record,
        rows: list[Record],
        header: Mapping[str, Any],
        billing_customer_guid: str | None = None,
        caller: Caller | None = None,
        guid: str | None = None,
    ) -> Record:
        """Create an invoice with ``rows`` and link their source items to it.

        A row is ``{rowType, description, quantity, measurementUnit, unitPrice (number),
        vatRate, code: [..], items: [(collection, guid), ...]}``."""
        customer = self.col("customers").get(customer_guid)
        if customer is None:
            raise invalid(f"Customer '{customer_guid}' was not found.", "customer")
        billing = self.col("customers").get(billing_customer_guid) or customer
        currency_ref = customer.get("currency") or {}
        currency = self.col("currencies").get(currency_ref.get("guid")) or {}
        today = self.now().date()
        invoice_date = str(header.get("date") or today.isoformat())
        term = int(header.get("paymentTerm") or customer.get("paymentTerm") or 30)
        due = str(
            header.get("dueDate")
            or (date.fromisoformat(invoice_date) + timedelta(days=term)).isoformat()
        )
        address = self._billing_address(billing["guid"])
        org = (self.col("organizationDetails").ordered() or [{}])[0]
        projects = [self.col("projects").get(g) for g in project_guids]
        invoice: Record = {
            "guid": guid or new_guid(),
            "number": header.get("number"),
            "date": invoice_date,
            "dueDate": due,
            "entryDate": None,
            "paymentDate": header.get("paymentDate"),
            "paymentTerm": term,
            "overdueInterest": float(customer.get("overdueInterest") or 8.0),
            "referenceNumber": header.get("referenceNumber"),
            "customer": {
                "guid": customer["guid"],
                "name": customer.get("name"),
                "number": customer.get("number"),
            },
            "billingCustomer": {
                "guid": billing["guid"],
                "name": billing.get("name"),
                "number": billing.get("number"),
            },
            "projects": [
                {"guid": p["guid"], "name": p.get("name"), "number": p.get("number")}
                for p in projects
                if p
            ],
            "ourReference": header.get("ourReference"),
            "yourReference": header.get("yourReference"),
            "orderNumber": header.get("orderNumber"),
            "notes": header.get("notes"),
            "freeText1": _free_text(header.get("freeText1")),
            "freeText2": _free_text(header.get("freeText2")),
            "receiverCustomerName": billing.get("name"),
            "receiverContactName": header.get("receiverContactName"),
            "receiverContactEmail": header.get("receiverContactEmail"),
            "receiverContactGuid": None,
            "receiverVatNumber": billing.get("vatNumber"),
            "receiverKvkNumber": None,
            "receiverAddress": {
                "addressline": (address or {}).get("addressline"),
                "postalCode": (address or {}).get("postalCode"),
                "city": (address or {}).get("city"),
                "state": None,
                "country": dig(address or {}, "country.name"),
            },
            "senderName": org.get("name"),
            "senderVatNumber": org.get("vatNumber"),
            "senderKvkNumber": None,
            "senderContactName": None,
            "senderContactGuid": None,
            "senderAddress": {
                "addressline": org.get("address"),
                "postalCode": org.get("postalCode"),
                "city": org.get("city"),
                "state": None,
                "country": dig(org, "country.name"),
            },  # fmt: skip
            "currency": {
                "guid": currency.get("guid") or new_guid(),
                "code": currency.get("code") or self._org_currency(),
                "name": currency.get("name"),
                "symbol": currency.get("symbol"),
            },  # fmt: skip
            "currencyRate": float(currency.get("rate") or 1.0),
            "isCreditNote": bool(header.get("isCreditNote")),
            "workHourValueAddedTax": 25.0,
            "invoiceNumberBusinessUnitGuid": None,
            "canBeDeleted": True,
        }
        for link in ("creditNoteInvoice", "reimburseInvoice"):
            if isinstance(header.get(link), dict):
                invoice[link] = header[link]
        invoice = self.set_invoice_status(invoice, status)
        self._created(invoice, caller)
        if header.get("createdDateTime"):
            invoice["createdDateTime"] = header["createdDateTime"]
        self.col("invoices").put(invoice)
        ref = {
            "guid": invoice["guid"],
            "number": invoice.get("number"),
            "date": invoice.get("date"),
        }
        for position, spec in enumerate(rows, start=1):
            row_guid = str(spec.get("guid") or new_guid())
            row: Record = {
                "guid": row_guid,
                "invoiceGuid": invoice["guid"],
                "rowType": spec.get("rowType", "ProjectFees"),
                "category": {"Hours": "Hours", "TravelExpenses": "Travels"}.get(
                    str(spec.get("rowType")), "ProjectFees"
                ),
                "code": list(spec.get("code") or []) or None,
                "description": spec.get("description"),
                "quantity": spec.get("quantity", 1),
                "measurementUnit": spec.get("measurementUnit"),
                "unitPrice": money(spec.get("unitPrice", 0), invoice["currency"]["code"]),
                "vatRate": spec.get("vatRate"),
                "sortOrder": position,
                "flatRateGuid": None,
                "hasInvoiceComment": False,
            }
            self.col("invoiceRows").put(self._created(row, caller))
            for collection, item_guid in spec.get("items") or []:
                col = self.col(collection)
                item = col.records[item_guid]
                linked = {**item, "invoice": ref, "invoiceRowGuid": row_guid}
                if collection == "workHours":
                    linked["billableStatus"] = "Billable"
                col.put(linked)
        invoice = self._with_totals(dict(invoice))
        self.col("invoices").put(invoice)
        return invoice

    def _billing_address(self, customer_guid: str) -> Record | None:
        addresses = [
            self.col("addresses").records[g]
            for g in self.col("addresses").by("customer.guid", customer_guid)
        ]
        for address in addresses:
            if address.get("isBillingAddress"):
                return address
        return addresses[0] if addresses else None

    # == dump / seed ====================================================================

    def dump_store(self) -> dict[str, Any]:
        """Every collection, records in wire format (plus the documented extras)."""
        with self.lock:
            return {name: copy.deepcopy(col.ordered()) for name, col in self.store.items()}

    def seed_store(self, payload: dict[str, Any], *, replace: bool) -> dict[str, int]:
        """Load records shaped like :meth:`dump_store`; ``replace`` empties every
        collection first. Records keep their guids and timestamps (a missing guid or
        ``createdDateTime`` is filled in); no validation, as befits a database restore."""
        unknown = sorted(set(payload) - set(COLLECTIONS) - {"_meta"})
        if unknown:
            raise ValueError(f"unknown Severa collections: {', '.join(unknown)}")
        with self.lock:
            if replace:
                for col in self.store.values():
                    col.clear()
            counts: dict[str, int] = {}
            for name in COLLECTIONS:
                records = payload.get(name)
                if records is None:
                    continue
                if not isinstance(records, list):
                    raise ValueError(f"{name} must be a list of records")
                col = self.col(name)
                for record in records:
                    item = copy.deepcopy(record)
                    item.setdefault("guid", new_guid())
                    item["guid"] = str(item["guid"])
                    item.setdefault("createdDateTime", fmt_time(self.now()))
                    col.put(item)
                counts[name] = len(records)
            return counts

    # == back office ====================================================================

    def _bo_get_switches(self, request: Request) -> Response:
        return Response.json(200, asdict(self.switches))

    def _bo_set_switches(self, request: Request) -> Response:
        payload = request.json()
        if not isinstance(payload, dict):
            return Response.json(400, {"error": "send a JSON object of switches"})
        known = {f.name: f for f in fields(SeveraSwitches)}
        current = asdict(self.switches)
        for name, value in payload.items():
            if name not in known:
                return Response.json(400, {"error": f"unknown switch {name!r}"})
            expected = type(current[name])
            if (expected is int and isinstance(value, bool)) or not isinstance(value, expected):
                return Response.json(400, {"error": f"{name} must be {expected.__name__}"})
            current[name] = value
        self.switches = SeveraSwitches(**current)
        return Response.json(200, current)

    def _bo_add_client(self, request: Request) -> Response:
        """``{"client_id", "client_secret", "scopes": "a b" | [..]}`` (default: all)."""
        payload = request.json()
        client_id = str(payload.get("client_id") or "")
        secret = str(payload.get("client_secret") or "")
        if not client_id or not secret:
            return Response.json(400, {"error": "client_id and client_secret are required"})
        scopes = payload.get("scopes", list(ALL_SCOPES))
        if isinstance(scopes, str):
            scopes = [s for s in re.split(r"[\s,]+", scopes) if s]
        unknown = [s for s in scopes if s not in ALL_SCOPES]
        if unknown:
            return Response.json(400, {"error": f"unknown scopes {unknown}"})
        with self.lock:
            self.clients[client_id] = _Client(secret, frozenset(scopes))
        return Response.json(201, {"client_id": client_id, "scopes": sorted(scopes)})

    def _bo_collection(self, request: Request) -> Collection:
        name = request.path_params["collection"]
        for known in COLLECTIONS:
            if known.lower() == name.lower():
                return self.col(known)
        raise KeyError(name)

    def _bo_create(self, request: Request) -> Response:
        """Add a record as a person would in Severa's UI (no API validation)."""
        try:
            col = self._bo_collection(request)
        except KeyError as exc:
            return Response.json(404, {"error": f"unknown collection {exc}"})
        record = request.json()
        if not isinstance(record, dict):
            return Response.json(400, {"error": "send a JSON object"})
        with self.lock:
            record.setdefault("guid", new_guid())
            if col.get(str(record["guid"])) is not None:
                return Response.json(409, {"error": "a record with this guid exists"})
            self._created(record, None)
            col.put(record)
        return Response.json(201, self.view(col.name, record))

    def _bo_edit(self, request: Request) -> Response:
        """Merge fields into a record (nested objects merged one level deep) and bump
        ``lastUpdatedDateTime``, as an edit in Severa's UI does."""
        try:
            col = self._bo_collection(request)
        except KeyError as exc:
            return Response.json(404, {"error": f"unknown collection {exc}"})
        changes = request.json()
        if not isinstance(changes, dict):
            return Response.json(400, {"error": "send a JSON object of fields"})
        with self.lock:
            current = col.get(request.path_params["guid"])
            if current is None:
                return Response.json(404, {"error": "no such record"})
            record = copy.deepcopy(current)
            for key, value in changes.items():
                if isinstance(value, dict) and isinstance(record.get(key), dict):
                    record[key] = {**record[key], **value}
                else:
                    record[key] = value
            if col.name == "travelExpenseTypes":
                record = self._apply_travel_type(record, {})
            if col.name == "contactPersons":
                record["name"] = (
                    f"{record.get('firstName') or ''} {record.get('lastName') or ''}".strip()
                )
            col.put(self._touched(record, None))
            if col.name == "addresses":
                self._refresh_headquarters(record["guid"])
            if col.name == "invoiceRows" and record.get("invoiceGuid"):
                invoice = self.col("invoices").get(record["invoiceGuid"])
                if invoice is not None:
                    self.col("invoices").put(self._touched(self._with_totals(dict(invoice)), None))
        return Response.json(200, self.view(col.name, record))

    def _bo_delete(self, request: Request) -> Response:
        try:
            col = self._bo_collection(request)
        except KeyError as exc:
            return Response.json(404, {"error": f"unknown collection {exc}"})
        with self.lock:
            current = col.get(request.path_params["guid"])
            if current is None:
                return Response.json(404, {"error": "no such record"})
            col.remove(current["guid"])
        return Response.empty(204)

    def _bo_invoice_status(self, request: Request) -> Response:
        """``{"status": name or guid}``: move an invoice as a person would (numbering and
        payment date follow the status flags)."""
        payload = request.json()
        wanted = str(payload.get("status") or "")
        with self.lock:
            invoice = self.col("invoices").get(request.path_params["guid"])
            if invoice is None:
                return Response.json(404, {"error": "no such invoice"})
            status = self.find_status(wanted)
            if status is None:
                return Response.json(404, {"error": f"no invoice status {wanted!r}"})
            record = self.set_invoice_status(copy.deepcopy(invoice), status)
            self.col("invoices").put(self._touched(record, None))
            self._refresh_item_invoice_refs(record)
        return Response.json(200, record)

    def find_status(self, name_or_guid: str) -> Record | None:
        statuses = self.col("invoiceStatuses")
        found = statuses.get(name_or_guid)
        if found is not None:
            return found
        for record in statuses.ordered():
            if str(record.get("name")).lower() == name_or_guid.lower():
                return record
        return None

    def _bo_close_project(self, request: Request) -> Response:
        """``{"closed": true|false}`` (default true): close or reopen a project."""
        payload = request.json() if request.body else {}
        closed = bool(payload.get("closed", True)) if isinstance(payload, dict) else True
        with self.lock:
            project = self.col("projects").get(request.path_params["guid"])
            if project is None:
                return Response.json(404, {"error": "no such project"})
            record = self._apply_project(copy.deepcopy(project), {"isClosed": closed})
            self.col("projects").put(self._touched(record, None))
        return Response.json(200, record)

    def _bo_add_invoice(self, request: Request) -> Response:
        """Add an invoice with rows and their source items; see ``docs/severa.md``."""
        payload = request.json()
        if not isinstance(payload, dict):
            return Response.json(400, {"error": "send a JSON object"})
        with self.lock:
            try:
                invoice = self.build_invoice(payload)
            except (KeyError, ValueError) as exc:
                return Response.json(400, {"error": str(exc)})
            except SeveraError as exc:
                return Response.json(400, {"error": exc.details[0]["message"]})
        rows = [
            self.col("invoiceRows").records[g]
            for g in self.col("invoiceRows").by("invoiceGuid", invoice["guid"])
        ]
        return Response.json(201, {"invoice": invoice, "rows": rows})

    def _lookup(self, collection: str, key: Any, *fields_: str) -> Record:
        """A record by guid or by one of ``fields_`` (e.g. a customer by number)."""
        col = self.col(collection)
        found = col.get(str(key))
        if found is not None:
            return found
        for record in col.ordered():
            if any(record.get(f) == key or str(record.get(f)) == str(key) for f in fields_):
                return record
        raise KeyError(f"no {collection} record {key!r}")

    def build_invoice(self, payload: Record) -> Record:
        customer = self._lookup("customers", payload["customer"], "number", "name")
        projects = [
            self._lookup("projects", p, "number", "name") for p in payload.get("projects", [])
        ]
        status = self.find_status(str(payload.get("status") or "")) or self._default_status(None)
        rows: list[Record] = []
        for row in payload.get("rows", []):
            items: list[tuple[str, str]] = []
            for item in row.get("items", []):
                items.append(self.add_source_item(item, projects, customer))
            code = row.get("code")
            rows.append(
                {**row, "code": [code] if isinstance(code, str) else (code or []), "items": items}
            )
        header = {
            k: v for k, v in payload.items() if k not in ("customer", "projects", "status", "rows")
        }
        return self.create_invoice(
            customer_guid=customer["guid"],
            project_guids=[p["guid"] for p in projects],
            status=status,
            rows=rows,
            header=header,
        )

    def add_source_item(
        self, item: Record, projects: list[Record], customer: Record
    ) -> tuple[str, str]:
        """Create one source item (``kind``: projectFee, workHour, travelExpense)."""
        project = (
            self._lookup("projects", item["project"], "number", "name")
            if "project" in item
            else projects[0]
        )
        kind = item.get("kind", "projectFee")
        currency = self._org_currency()
        base: Record = {
            "guid": item.get("guid") or new_guid(),
            "project": {"guid": project["guid"], "name": project.get("name"), "companyGuid": None},
            "customer": {
                "guid": customer["guid"],
                "name": customer.get("name"),
                "number": customer.get("number"),
            },
            "eventDate": item.get("eventDate") or self.now().date().isoformat(),
            "quantity": item.get("quantity", 1),
            "description": item.get("description"),
            "unitPrice": money(item.get("unitPrice", 0), currency),
            "unitCost": money(item.get("unitCost", 0), currency),
            "isBillable": True,
            "invoiceRowGuid": None,
        }
        root = project.get("rootPhase") or {"guid": new_guid(), "name": project.get("name")}
        if kind == "projectFee":
            product = (
                self._lookup("products", item["product"], "code", "name")
                if item.get("product")
                else None
            )
            record = {
                **base, "name": item.get("name") or (product or {}).get("name"),
                "phase": {"guid": root["guid"], "name": root.get("name")},
                "product": pick(product, "guid", "name", "code") if product else None,
                "productType": (product or {}).get("type", "Materials"),
                "measurementUnit": (
                    item.get("measurementUnit") or (product or {}).get("measurementUnit")
                ),
                "vatRate": item.get("vatRate", (product or {}).get("vatRate", 25.0)),
                "billingSchedule": "Immediately", "isRecurrenceRule": False,
                "hasVolumePricing": False,
            }  # fmt: skip
            collection = "projectFees"
        elif kind == "workHour":
            work_type = self._lookup("workTypes", item["workType"], "code", "name")
            record = {
                **base,
                "workType": pick(work_type, "guid", "code", "name"),
                "phase": {**pick(root, "guid", "name"), "isCompleted": False, "isLocked": False},
                "project": {
                    **base["project"], "number": project.get("number"),
                    "isClosed": bool(project.get("isClosed")),
                },
                "billableStatus": "Billable", "isApproved": True, "isModifiable": False,
                "isProductive": True, "invoiceQuantity": None,
            }  # fmt: skip
            collection = "workHours"
        else:
            travel = self._lookup("travelExpenseTypes", item["travelExpense"], "code", "name")
            record = {
                **base,
                "travelExpense": {
                    **pick(travel, "guid", "code", "name", "expenseClass"),
                    "includeTime": bool(travel.get("includeTime")),
                },
                "phase": {"guid": root["guid"], "name": root.get("name")},
                "project": {**base["project"], "number": project.get("number"),
                            "isInternal": False},
                "customer": {"guid": customer["guid"], "name": customer.get("name")},
                "measurementUnit": travel.get("measurementUnit"),
                "vatRate": item.get("vatRate", 25.0),
                "billingSchedule": "Immediately", "attachmentCount": 0,
                "travelReimbursementRequired": False,
            }  # fmt: skip
            collection = "projectTravelExpenses"
        users = self.col("users").ordered()
        if users:
            user = users[0]
            if collection == "workHours":
                record["user"] = pick(user, "guid", "firstName", "lastName", "name", "code")
            else:
                record["user"] = {
                    "guid": user["guid"],
                    "code": user.get("code"),
                    "name": user.get("name"),
                    "companyGuid": None,
                }
        record = {k: v for k, v in record.items() if v is not None or k not in _ITEM_REFS}
        self.col(collection).put(self._created(record, None))
        return collection, record["guid"]


# -- helpers -------------------------------------------------------------------------

#: Sub-model fields that the document types as ``$ref`` objects: Severa omits rather
#: than nulls them here, because a ``$ref`` property cannot be ``null`` in OpenAPI 3.0.
_CUSTOMER_REFS = (
    "currency", "invoicingVat", "language", "headquarterAddress", "owner", "industry",
    "invoiceTemplate", "pricelist", "timezone", "createdBy", "lastUpdatedBy",
)  # fmt: skip
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


def pick(record: Mapping[str, Any], *names: str) -> Record:
    """``{name: record.get(name)}`` for ``names``: a reference sub-model."""
    return {name: record.get(name) for name in names}


def _drop_null_refs(record: Record, names: Iterable[str]) -> Record:
    for name in names:
        if name in record and record[name] is None:
            del record[name]
    if record.get("lastUpdatedBy") is None:
        record.pop("lastUpdatedBy", None)
    return record


def _free_text(text: Any) -> Record:
    """``FreeTextModel2``: the writable ``value`` plus its read-only renderings."""
    value = None if text is None else str(text)
    return {
        "value": value,
        "text": value,
        "plainText": value,
        "allowTags": False,
        "tagContext": None,
    }


def _field_in(path: str, wanted: set[str]) -> Callable[[Record], bool]:
    def test(record: Record) -> bool:
        return str(dig(record, path) or "").lower() in wanted

    return test


def _total_test(limit: float, minimum: bool) -> Callable[[Record], bool]:
    def test(record: Record) -> bool:
        total = float(dig(record, "totalExcludingTax.amount") or 0)
        return total >= limit if minimum else total <= limit

    return test


def _value_key(name: str) -> Callable[[Record], tuple[int, Any]]:
    def key(record: Record) -> tuple[int, Any]:
        return _sort_key(record.get(name))

    return key


def _nulls_key(name: str, nulls_first: bool) -> Callable[[Record], bool]:
    def key(record: Record) -> bool:
        return (record.get(name) is None) != nulls_first

    return key


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, bool | int | float):
        return (1, float(value))
    if isinstance(value, dict):
        return (2, str(value.get("name") or value.get("guid") or ""))
    return (2, str(value).lower())


def _json_body(request: Request) -> Any:
    if not request.body:
        return None
    try:
        return request.json()
    except ValueError:
        raise fail(400, "InvalidRequest", "The request body is not valid JSON.") from None


def demo_data() -> dict[str, Any]:
    """The committed demo organization (``sandbox/data/severa-demo.json``)."""
    with DEMO_DATA.open(encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded
