"""The Visma eEkonomi / eAccounting API v2 sandbox, identity server included.

Why it exists: the real API cannot be reached from our machines, and the behaviours that
break integrations (rotating single-use refresh tokens, one company per token, a rate
limit counted *per endpoint*, PUT as a full replace that nulls omitted fields, read-only
address fields on drafts, ``DebetAmount`` on supplier-invoice rows, ``4002`` for a company
without the API module...) are exactly what a mock written from memory leaves out.
Everything follows ``shared/apis/eaccounting-v2.openapi.yaml`` and
``shared/apis/eaccounting-notes.md``; behaviours the notes mark *unconfirmed* are
switches (:class:`~sandbox.eekonomi.switches.EEkonomiSwitches`).

One app answers on one port: ``/connect/...`` (:mod:`~sandbox.eekonomi.identity`),
``/v2/...`` (one module per resource family, every call scoped to its token's company)
and ``/_sandbox/...`` (core's back office, per company with ``?company=``, plus
:mod:`~sandbox.eekonomi.backoffice`). This module wires them together: companies, the
route table, and the checks every API call passes (token, rate limit, API module,
scopes). See ``sandbox/docs/eekonomi.md``.
"""

from __future__ import annotations

import math
from typing import Any

from sandbox.core.app import SandboxApp
from sandbox.core.args import BadArgument
from sandbox.core.clock import Clock, ClockSource
from sandbox.core.errors import ApiError
from sandbox.core.http import JSON, Request, Response
from sandbox.core.rate import RateWindow
from sandbox.eekonomi import routes
from sandbox.eekonomi.backoffice import BackOffice
from sandbox.eekonomi.companies import (
    COMPANY_NAMES,
    build_companies,
    company_payloads,
    demo_users,
)
from sandbox.eekonomi.constants import DEMO_COMPANY_ID, RATE_LIMIT, RATE_WINDOW
from sandbox.eekonomi.context import Ctx, random_id
from sandbox.eekonomi.errors import EEkonomiError, error_body, from_bad_argument
from sandbox.eekonomi.identity import (
    AccessToken,
    AuthCode,
    IdentityServer,
    OAuthClient,
    RefreshToken,
    User,
)
from sandbox.eekonomi.reads import ApiHandler
from sandbox.eekonomi.seed import dump_company, empty_payload, seed_company
from sandbox.eekonomi.store import Company
from sandbox.eekonomi.switches import EEkonomiSwitches


class EEkonomiSandbox(SandboxApp):
    """The eEkonomi identity server and API v2; see the module docstring.

    ``demo`` seeds "Demokonsult AB" with the demo data (else it is empty until seeded),
    ``holding_demo`` seeds "Demokonsult Holding AB" with its own (else it holds reference
    data only, as "Gamla Bolaget AB" does). ``python -m sandbox`` sets both.
    ``clock`` is a :class:`~sandbox.core.clock.Clock` or a function returning the time
    (aware datetime or POSIX seconds). Every other keyword is a switch.
    """

    name = "eekonomi"

    def __init__(
        self,
        *,
        demo: bool = False,
        holding_demo: bool = False,
        clock: Clock | ClockSource | None = None,
        **switches: Any,
    ) -> None:
        self.switches = EEkonomiSwitches.build(switches)
        super().__init__()
        self._clock = Clock.of(clock)
        #: Makes new record ids; the demo generator sets a seeded one.
        self.new_id = random_id
        self.rate_window = RateWindow(RATE_LIMIT, RATE_WINDOW)
        self.companies: dict[str, Company] = build_companies()
        self.identity = IdentityServer(self, demo_users(self.companies))
        self.backoffice = BackOffice(self)
        #: (method, template, scopes) of every API operation, for docs and contract tests.
        self.operations: list[tuple[str, str, frozenset[str]]] = []
        self._routes()
        self._seed_companies(demo, holding_demo)

    # -- state the tests and the product's demo reach for ------------------------------

    @property
    def clock(self) -> Clock:
        return self._clock

    @clock.setter
    def clock(self, value: Clock | ClockSource) -> None:
        self._clock = Clock.of(value)

    @property
    def clients(self) -> dict[str, OAuthClient]:
        return self.identity.clients

    @property
    def users(self) -> dict[str, User]:
        return self.identity.users

    @property
    def codes(self) -> dict[str, AuthCode]:
        return self.identity.codes

    @property
    def access_tokens(self) -> dict[str, AccessToken]:
        return self.identity.access_tokens

    @property
    def refresh_tokens(self) -> dict[str, RefreshToken]:
        return self.identity.refresh_tokens

    # -- companies -------------------------------------------------------------------

    def _seed_companies(self, demo: bool, holding_demo: bool) -> None:
        for company_id, payload in company_payloads(demo, holding_demo).items():
            seed_company(self.context(self.companies[company_id]), payload, replace=True)

    def context(self, company: Company) -> Ctx:
        """A context for one operation on ``company``."""
        return Ctx(company, self.switches, self._clock, self.new_id)

    def company_by(self, ident: str | None) -> Company:
        """A company by id or name (back office); the demo company when ``ident`` is empty."""
        if not ident:
            return self.companies[DEMO_COMPANY_ID]
        if ident in self.companies:
            return self.companies[ident]
        for company in self.companies.values():
            if company.name.lower() == ident.lower():
                return company
        raise KeyError(ident)

    def company_for(self, tenant: str | None) -> Company:
        return self.companies[tenant or DEMO_COMPANY_ID]

    # -- routing ----------------------------------------------------------------------

    def _routes(self) -> None:
        for method, path, handler in self.identity.routes():
            self.route(method, path, handler)
        for method, template, scopes, api_handler in routes.API_ROUTES:
            self._api(method, template, scopes, api_handler)
        for method, path, handler in self.backoffice.routes():
            self.route(method, path, handler)

    def _api(self, method: str, template: str, scopes: frozenset[str], handler: ApiHandler) -> None:
        """Register ``/v2{template}`` behind authentication, rate limit, module and scope."""
        self.operations.append((method, template, scopes))

        def wrapped(request: Request) -> Response:
            grant, presented = self.identity.grant_of(request.headers.get("Authorization") or "")
            if grant is None:
                error = "invalid_token" if presented else "missing_token"
                return Response(401, b"", [("WWW-Authenticate", f'Bearer error="{error}"')])
            limited = self._rate_limited(request, template, grant.client_id, grant.company_id)
            if limited is not None:
                return limited
            company = self.companies[grant.company_id]
            if not company.api_module:
                return EEkonomiError(
                    403, 4002, "ForbiddenRequestException - No access to module: api_standard"
                ).response()
            if not scopes & grant.scopes:
                needed = ", ".join(sorted(scopes))
                message = f"This endpoint requires any of the scopes: {needed}"
                return EEkonomiError(403, 4006, f"NoAccessToScopesException - {message}").response()
            ctx = self.context(company)
            ctx.client_id, ctx.scopes = grant.client_id, grant.scopes
            with self.lock:
                try:
                    return handler(request, ctx)
                except BadArgument as exc:
                    return from_bad_argument(exc).response()

        self.route(method, "/v2" + template, wrapped)

    def _rate_limited(
        self, request: Request, template: str, client_id: str, company_id: str
    ) -> Response | None:
        """429 / 4010 when this client's bucket for this company and endpoint is full."""
        if not self.rate_limits_enabled:
            return None
        per_url = self.switches.rate_limit_per == "url"
        bucket = request.path.lower().rstrip("/") if per_url else template
        wait = self.rate_window.hit(f"{client_id} {company_id} {bucket}", self.rate_scale)
        if wait is None:
            return None
        limit = max(1, int(RATE_LIMIT * self.rate_scale))
        seconds = max(1, math.ceil(wait))
        body = error_body(
            4010,
            f"API calls quota exceeded! maximum admitted {limit} per Minute. "
            f"Try again in {seconds} seconds.",
        )
        return Response.json(429, body)

    # -- vendor-format answers of the framework -------------------------------------------

    def fault_body(self, status: int) -> JSON:
        if status == 429:
            return error_body(
                4010,
                f"API calls quota exceeded! maximum admitted {RATE_LIMIT} per Minute. "
                "Try again in 60 seconds.",
            )
        codes = {401: 4005, 403: 4007, 404: 3000, 409: 4000, 502: 5001, 503: 5001, 504: 5001}
        return error_body(codes.get(status, 5000), f"Injected fault: HTTP {status}")

    def not_found(self, request: Request) -> Response:
        message = f"No HTTP resource was found that matches {request.path}"
        return Response.json(404, error_body(3000, message))

    def method_not_allowed(self, request: Request) -> Response:
        message = f"The requested resource does not support http method '{request.method}'."
        return Response.json(405, error_body(6000, message))

    def internal_error(self, request: Request, exc: Exception) -> Response:
        message = f"InternalServerError - {type(exc).__name__}: {exc}"
        return Response.json(500, error_body(5000, message))

    # -- tenants: one per company ---------------------------------------------------------

    def tenant_of(self, request: Request) -> str | None:
        return self.identity.company_of(request.headers.get("Authorization") or "")

    def resolve_tenant(self, wanted: str | None) -> str | None:
        """``?company=`` (id or name, any case) as a company id; 404 when unknown."""
        if not wanted:
            return None
        try:
            return self.company_by(wanted).id
        except KeyError:
            known = list(COMPANY_NAMES.values())
            raise ApiError(404, f"no company {wanted!r}; known: {known}") from None

    def dump_for(self, tenant: str | None) -> dict[str, Any]:
        return dump_company(self.context(self.company_for(tenant)))

    def seed_for(
        self, tenant: str | None, payload: dict[str, Any], *, replace: bool
    ) -> dict[str, int]:
        return seed_company(self.context(self.company_for(tenant)), payload, replace=replace)

    def reset_for(self, tenant: str | None) -> None:
        self.seed_for(tenant, empty_payload(), replace=True)

    def expire_for(self, tenant: str | None) -> int:
        return self.identity.expire_tokens(tenant)

    def dump_store(self) -> dict[str, Any]:
        """The demo company's store (``/_sandbox/dump?company=`` names another)."""
        with self.lock:
            return self.dump_for(None)

    def seed_store(self, payload: dict[str, Any], *, replace: bool) -> dict[str, int]:
        with self.lock:
            return self.seed_for(None, payload, replace=replace)

    def empty_store(self) -> dict[str, Any]:
        return empty_payload()

    def expire_tokens(self) -> int:
        return self.identity.expire_tokens()
