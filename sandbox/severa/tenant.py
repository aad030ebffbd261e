"""One Severa organization: its records, credentials, switches, faults and request log.

Severa is one service with many customer organizations; API credentials belong to one
organization, and a call sees that organization's records only. The sandbox models
each organization as a whole :class:`~sandbox.core.SandboxApp` of its own — store,
clients and tokens, switches, rate-limit window, armed faults, request log — so
everything the back office shows or changes for one organization leaves every other
untouched. :class:`~sandbox.severa.app.SeveraSandbox` serves them all on one port and
hands each request to the organization its credentials (or ``?organization=``) name.

Here the routes of every resource module are registered behind one wrapper that checks,
in Severa's order, the API version, the bearer token, the rate limit and the scope.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sandbox.core import (
    JSON,
    BadArgument,
    Clock,
    Collection,
    RateWindow,
    Request,
    Response,
    SandboxApp,
    utc_ms,
)
from sandbox.severa import (
    articles,
    backoffice,
    customers,
    identity,
    invoices,
    invoicing,
    organization,
    projects,
)
from sandbox.severa.errors import (
    SeveraError,
    TextAnswer,
    denied,
    detail,
    exception_body,
    fail,
    invalid,
)
from sandbox.severa.handlers import ApiRoute, Ctx
from sandbox.severa.identity import Client, Token
from sandbox.severa.paging import PageTokens
from sandbox.severa.store import Store
from sandbox.severa.switches import SeveraSwitches
from sandbox.severa.wire import new_guid

Record = dict[str, Any]
OrganizationHandler = Callable[["Organization", Request], Response]

RATE_LIMIT_MESSAGE = "API calls quota exceeded! maximum admitted {limit} per 1s."

#: The resource families, each declaring its own routes.
API_ROUTES: tuple[ApiRoute, ...] = (
    *customers.ROUTES,
    *articles.ROUTES,
    *organization.ROUTES,
    *projects.ROUTES,
    *invoices.ROUTES,
    *invoicing.ROUTES,
)

#: How a collection's records are shown when they carry derived fields.
VIEWS: dict[str, Callable[[Organization, Record], Record]] = dict(customers.VIEWS)

#: The user Severa records as author when no user of the organization is marked.
_REST_API_USER: Record = {
    "guid": "00000000-0000-0000-0000-000000000001",
    "firstName": "REST",
    "lastName": "API",
    "name": "REST API",
    "code": None,
}


class Organization(SandboxApp):
    """One Severa organization as a sandbox app; see the module docstring.

    ``clock`` is the sandbox's :class:`~sandbox.core.Clock` (shared by every
    organization); writes get strictly increasing millisecond timestamps from it, so
    ``changedSince`` is deterministic. ``guid_source`` makes
    new guids (the demo generator swaps in a deterministic one).
    """

    name = "severa"

    def __init__(
        self,
        organization_id: str,
        *,
        clock: Clock,
        switches: SeveraSwitches,
        clients: Mapping[str, Client] | None = None,
    ) -> None:
        self.id = organization_id
        self.switches = replace(switches)
        self.clock = clock
        self.guid_source: Callable[[], str] = new_guid
        self._last_stamp: datetime | None = None
        self._stamp_lock = threading.Lock()
        self.store = Store()
        self.clients: dict[str, Client] = dict(clients or {})
        self.access_tokens: dict[str, Token] = {}
        self.refresh_tokens: dict[str, Token] = {}
        self.page_tokens = PageTokens()
        self.jwt_key = secrets.token_bytes(32)
        self.rate = RateWindow(self.switches.rate_limit_per_second, 1.0)
        #: Every organization of the sandbox by id (client ids are unique across them).
        self.directory: dict[str, Organization] = {organization_id: self}
        super().__init__()
        self._register()

    def _register(self) -> None:
        for prefix in ("/rest-api", ""):
            for path, beat in identity.HEARTBEATS:
                self.route("GET", prefix + path, partial(beat, self))
        for method, template, handler in identity.PUBLIC_ROUTES:
            self.public(method, template, handler)
        for route in API_ROUTES:
            self.api(route)
        for method, template, office in backoffice.ROUTES:
            self.route(method, template, backoffice.serve(office, self))

    # == routing ========================================================================

    def api(self, route: ApiRoute) -> None:
        """Register ``/rest-api/{v1|v1.0}{template}``: rate limit, bearer token,
        ``Client_Id`` header and scope are checked before the handler runs."""

        def call(request: Request) -> Response:
            ctx = identity.authenticate(self, request)
            self.rate_check(ctx.client_id if ctx else _anonymous(request))
            if ctx is None:
                raise denied("Authorization has been denied.")
            if route.scope is not None and route.scope not in ctx.scopes:
                raise fail(
                    self.switches.scope_error_status,
                    "InsufficientApiScope",
                    f"The access token does not have the scope '{route.scope}'.",
                )
            with self.lock:
                return route.handler(request, ctx)

        self.route(route.method, "/rest-api/{version}" + route.template, self._versioned(call))

    def public(self, method: str, template: str, handler: OrganizationHandler) -> None:
        """Register an unauthenticated ``/rest-api/{v1|v1.0}`` route (token endpoints)."""

        def call(request: Request) -> Response:
            self.rate_check(request.headers.get("Client_Id") or _anonymous(request))
            with self.lock:
                return handler(self, request)

        self.route(method, "/rest-api/{version}" + template, self._versioned(call))

    def _versioned(self, call: Callable[[Request], Response]) -> Callable[[Request], Response]:
        """``v1`` and ``v1.0`` only; a raised :class:`SeveraError` becomes its answer."""

        def wrapped(request: Request) -> Response:
            version = request.path_params.pop("version", "v1").lower()
            try:
                if version not in ("v1", "v1.0"):
                    raise fail(
                        400, "InvalidApiVersion", f"API version '{version}' is not supported."
                    )
                return call(request)
            except SeveraError as exc:
                return self.answer(exc)

        return wrapped

    def rate_check(self, key: str) -> None:
        """About ten requests per second per client; 429 (JSON or text) beyond."""
        if not self.rate_limits_enabled:
            return
        limit = self.switches.rate_limit_per_second
        self.rate.limit = limit
        if self.rate.hit(key, self.rate_scale) is None:
            return
        message = RATE_LIMIT_MESSAGE.format(limit=limit)
        error = fail(429, "InvalidRequest", message)
        if self.switches.rate_limit_retry_after > 0:
            error.headers.append(("Retry-After", str(self.switches.rate_limit_retry_after)))
        if self.switches.rate_limit_body == "text":
            answer = Response.text(429, message)
            answer.headers.extend(error.headers)
            raise TextAnswer(answer)
        raise error

    # == error answers ==================================================================

    def error(self, status: int, kind: str, details: list[Record]) -> Response:
        return Response.json(status, exception_body(status, kind, details))

    def answer(self, error: SeveraError) -> Response:
        """The error's answer; a 404 without a body when switched so."""
        if error.status == 404 and not self.switches.not_found_body:
            return Response.empty(404)
        return error.response()

    def fault_body(self, status: int) -> JSON:
        kind = {401: "AuthenticationRequired", 403: "PermissionDenied", 429: "InvalidRequest"}
        return exception_body(
            status,
            kind.get(status, "InternalSystemError" if status >= 500 else "InvalidRequest"),
            [detail(f"Injected fault: HTTP {status}")],
        )

    def not_found(self, request: Request) -> Response:
        message = f"No resource at {request.method} {request.path}"
        return self.answer(fail(404, "InvalidRequest", message))

    def method_not_allowed(self, request: Request) -> Response:
        message = f"{request.method} is not allowed on {request.path}"
        return self.error(405, "InvalidRequest", [detail(message)])

    def bad_argument(self, request: Request, exc: BadArgument) -> Response:
        """A parameter the shared argument helpers could not read: ``InvalidParameter``
        located at it (the body, or a query parameter)."""
        where = "RequestBody" if exc.name == "body" else "UriParameter"
        return self.answer(invalid(str(exc), exc.name, where))

    def internal_error(self, request: Request, exc: Exception) -> Response:
        return self.error(500, "InternalSystemError", [detail(f"{type(exc).__name__}: {exc}")])

    # == records ========================================================================

    def col(self, name: str) -> Collection:
        return self.store[name]

    def new_guid(self) -> str:
        return self.guid_source()

    def now(self) -> datetime:
        """The time of a write: strictly increasing at millisecond resolution."""
        moment = self.clock.now()
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        with self._stamp_lock:
            if self._last_stamp is not None and moment <= self._last_stamp:
                moment = self._last_stamp + timedelta(milliseconds=1)
            self._last_stamp = moment
        return moment

    def actor(self, ctx: Ctx | None) -> Record:
        """The user Severa records as author: the API user, or a person for back office."""
        wanted = "API" if ctx is not None else "UI"
        for record in self.store["users"].ordered():
            if record.get("_role") == wanted:
                found = self.store.user(record["guid"])
                if found is not None:
                    return found
        return dict(_REST_API_USER)

    def created(self, record: Record, ctx: Ctx | None) -> Record:
        """Stamp a new record as created now by the caller (none: a person in the UI)."""
        record["createdDateTime"] = utc_ms(self.now())
        record["createdBy"] = self.actor(ctx)
        record["lastUpdatedDateTime"] = None
        record.pop("lastUpdatedBy", None)  # a $ref sub-model: omitted, never null
        return record

    def touched(self, record: Record, ctx: Ctx | None) -> Record:
        """Stamp a changed record (a new dict) as updated now by the caller."""
        record["lastUpdatedDateTime"] = utc_ms(self.now())
        record["lastUpdatedBy"] = self.actor(ctx)
        return record

    def insert(self, collection: str, record: Record, ctx: Ctx | None) -> Record:
        return self.store[collection].put(self.created(record, ctx))

    def update(self, collection: str, record: Record, ctx: Ctx | None) -> Record:
        return self.store[collection].put(self.touched(record, ctx))

    def view(self, collection: str, record: Record) -> Record:
        """The wire form of a stored record (derived fields filled in)."""
        shown = VIEWS.get(collection)
        return shown(self, record) if shown is not None else record

    # == the store hooks of SandboxApp, and what the demo and the tests drive ===========

    def dump_store(self) -> dict[str, Any]:
        with self.lock:
            return self.store.dump()

    def seed_store(self, payload: dict[str, Any], *, replace: bool) -> dict[str, int]:
        with self.lock:
            return self.store.seed(
                payload,
                replace=replace,
                new_guid=self.new_guid,
                stamp=lambda: utc_ms(self.now()),
            )

    def expire_tokens(self) -> int:
        return identity.expire(self)

    def find_status(self, name_or_guid: str) -> Record | None:
        """An invoice status by guid or (case-insensitive) name."""
        return invoices.find_status(self, name_or_guid)

    def build_invoice(self, payload: Record) -> Record:
        """An invoice with rows and source items, as a person makes one (back office)."""
        return invoicing.build_invoice(self, payload)

    def add_source_item(
        self, item: Record, projects_: list[Record], customer: Record
    ) -> tuple[str, str]:
        """A fee, work hour or travel expense to invoice (back office, demo)."""
        return projects.add_source_item(self, item, projects_, customer)


def _anonymous(request: Request) -> str:
    return f"anonymous@{request.client}"
