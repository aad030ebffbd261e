"""The base of a vendor sandbox: routing, the back office, faults, the request log.

Each vendor app (``sandbox.severa``, ``sandbox.eekonomi``) subclasses
:class:`SandboxApp` and registers its routes; this class gives both

* one request path (:meth:`SandboxApp.handle`): fault injection, dispatch, an
  :class:`~sandbox.core.errors.ApiError` turned into its answer, the request log, and
  the exchange observers the contract tests validate with;
* the back office under ``/_sandbox/`` (dump, seed, request log, faults, token expiry,
  rate-limit scaling, switches, reset, info), answered only to loopback clients.

A vendor with several tenants (eEkonomi's companies) overrides :meth:`tenant_of`,
:meth:`resolve_tenant` and the ``*_for`` hooks; the back office then takes
``?company=<id>`` on every call, scoping the log, the faults and the store. Without it
the calls act as for a single-tenant app.

The sandbox imports nothing of the product: it speaks raw vendor JSON only, so a
mapping bug in the product cannot be mirrored by the fake and go unnoticed.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sandbox.core.args import BadArgument, json_body, json_object
from sandbox.core.clock import utc_ms
from sandbox.core.errors import ApiError
from sandbox.core.faults import Fault, Faults
from sandbox.core.http import JSON, DropConnection, Handler, Request, Response, Router
from sandbox.core.switches import Switches

BACKOFFICE = "/_sandbox/"


@dataclass
class LoggedRequest:
    method: str
    path: str
    status: int
    time: float
    duration_ms: float
    query: str = ""
    tenant: str | None = None


Observer = Callable[[Request, Response], None]

#: Observers of every vendor exchange of every sandbox app in this process, called with
#: ``(app_name, request, response)``. The contract tests register a validator here so
#: that every request the sandboxes accept and every answer they give during the test
#: suite is checked against Visma's OpenAPI documents, whoever created the app.
GLOBAL_OBSERVERS: list[Callable[[str, Request, Response], None]] = []


class SandboxApp:
    """Base class of a vendor sandbox: routing, back office, faults, request log.

    Subclasses register vendor routes in ``__init__`` with :meth:`route`, keep their
    store under ``self.lock``, and implement :meth:`dump_store`, :meth:`seed_store`,
    :meth:`expire_tokens` and (optionally) extra back-office routes. A subclass whose
    ``switches`` (set before ``super().__init__()``) is a :class:`Switches` gets
    ``GET/POST /_sandbox/switches``.
    """

    name = "sandbox"

    def __init__(self) -> None:
        self.router = Router()
        self.lock = threading.RLock()
        self.faults = Faults()
        self.log: deque[LoggedRequest] = deque(maxlen=100_000)
        self.counts: Counter[str] = Counter()
        self.rate_scale = 1.0
        self.rate_limits_enabled = True
        self.observers: list[Observer] = []
        #: Who this process is: a new id at every start, so a client (the product's
        #: demo) can notice that the sandbox it talks to was restarted with fresh data.
        # Not uuid4(): the demo generators replace that with a seeded one.
        self.instance = str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))
        self.started_at = utc_ms(datetime.now(UTC))
        self._backoffice()

    # -- routing -------------------------------------------------------------------

    def route(self, method: str, template: str, handler: Handler) -> None:
        self.router.add(method, template, handler)

    def handle(self, request: Request) -> Response:
        """Answer one request; raises :class:`DropConnection` for dropped connections."""
        started = time.perf_counter()
        is_backoffice = request.path.lower().startswith(BACKOFFICE)
        tenant = None if is_backoffice else self.tenant_of(request)
        fault = self.faults.take(request, tenant) if self.faults and not is_backoffice else None
        response: Response | None = None
        if fault is not None:
            if fault.action == "drop":
                self._record(request, 0, started, tenant)
                raise DropConnection()
            if fault.action == "delay":
                time.sleep(fault.delay)
            elif fault.action == "status":
                body = fault.body if fault.body is not None else self.fault_body(fault.status)
                response = Response.json(fault.status, body, fault.headers)
        if response is None:
            response = self._dispatch(request, is_backoffice)
        if fault is not None and fault.action == "write_then_drop":
            self._record(request, 0, started, tenant)
            raise DropConnection()
        if not is_backoffice:
            self._record(request, response.status, started, tenant)
            for observer in list(self.observers):
                observer(request, response)
            for global_observer in list(GLOBAL_OBSERVERS):
                global_observer(self.name, request, response)
        return response

    def _dispatch(self, request: Request, is_backoffice: bool) -> Response:
        if is_backoffice and not request.is_loopback:
            return Response.json(403, {"error": "the sandbox back office answers loopback only"})
        route, params, path_known = self.router.match(request.method, request.path)
        if route is None:
            return self.not_found(request) if not path_known else self.method_not_allowed(request)
        request.path_params = params
        try:
            return route.handler(request)
        except DropConnection:
            raise
        except ApiError as exc:
            return exc.response()
        except BadArgument as exc:
            return self.bad_argument(request, exc)
        except Exception as exc:  # a sandbox bug must show up as a 500, as Visma's would
            return self.internal_error(request, exc)

    # Vendor subclasses override these to answer in their own error format.
    def fault_body(self, status: int) -> JSON:
        """The body of an injected ``status`` fault when the fault names none."""
        return {"error": f"injected fault: HTTP {status}"}

    def not_found(self, request: Request) -> Response:
        return Response.json(404, {"error": f"no route for {request.method} {request.path}"})

    def method_not_allowed(self, request: Request) -> Response:
        return Response.json(405, {"error": f"{request.method} not allowed on {request.path}"})

    def bad_argument(self, request: Request, exc: BadArgument) -> Response:
        return Response.json(400, {"error": str(exc)})

    def internal_error(self, request: Request, exc: Exception) -> Response:
        return Response.json(500, {"error": f"{type(exc).__name__}: {exc}"})

    # -- tenants (several companies behind one app) ----------------------------------

    def tenant_of(self, request: Request) -> str | None:
        """The tenant a vendor request acts for (its token's company); ``None`` when the
        app has one tenant or the request names none."""
        return None

    def resolve_tenant(self, wanted: str | None) -> str | None:
        """The tenant id a back-office ``?company=`` names (``None``: the default).
        Raise :class:`ApiError` (404) for an unknown one. Single-tenant: always ``None``."""
        return None

    def _tenant(self, request: Request) -> str | None:
        return self.resolve_tenant(request.arg("company"))

    # -- faults and log ------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        self.faults.arm(fault)

    def _record(
        self, request: Request, status: int, started: float, tenant: str | None = None
    ) -> None:
        entry = LoggedRequest(
            method=request.method,
            path=request.path,
            status=status,
            time=time.time(),
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
            query="&".join(f"{k}={v}" for k, vs in request.query.items() for v in vs),
            tenant=tenant,
        )
        self.log.append(entry)
        self.counts[f"{request.method} {request.path}"] += 1

    def _log_of(self, tenant: str | None) -> list[LoggedRequest]:
        return [e for e in list(self.log) if tenant is None or e.tenant == tenant]

    def _forget_log(self, tenant: str | None) -> None:
        if tenant is None:
            self.log.clear()
            self.counts.clear()
            return
        kept = [e for e in list(self.log) if e.tenant != tenant]
        self.log.clear()
        self.log.extend(kept)

    # -- back office ---------------------------------------------------------------

    def _backoffice(self) -> None:
        self.route("GET", "/_sandbox/info", self._bo_info)
        self.route("GET", "/_sandbox/dump", self._bo_dump)
        self.route("POST", "/_sandbox/seed", self._bo_seed)
        self.route("GET", "/_sandbox/requests", self._bo_requests)
        self.route("DELETE", "/_sandbox/requests", self._bo_clear_requests)
        self.route("GET", "/_sandbox/faults", self._bo_list_faults)
        self.route("GET", "/_sandbox/faults/fired", self._bo_fired_faults)
        self.route("POST", "/_sandbox/faults", self._bo_add_fault)
        self.route("DELETE", "/_sandbox/faults", self._bo_clear_faults)
        self.route("POST", "/_sandbox/expire-tokens", self._bo_expire_tokens)
        self.route("POST", "/_sandbox/rate-limits", self._bo_rate_limits)
        self.route("POST", "/_sandbox/reset", self._bo_reset)
        if isinstance(getattr(self, "switches", None), Switches):
            self.route("GET", "/_sandbox/switches", self._bo_switches)
            self.route("POST", "/_sandbox/switches", self._bo_set_switches)

    def _bo_info(self, request: Request) -> Response:
        return Response.json(
            200, {"instance": self.instance, "started_at": self.started_at, "name": self.name}
        )

    def _bo_dump(self, request: Request) -> Response:
        tenant = self._tenant(request)
        with self.lock:
            return Response.json(200, self.dump_for(tenant))

    def _bo_seed(self, request: Request) -> Response:
        tenant = self._tenant(request)
        payload = json_object(request)
        replace = (request.arg("replace") or "false").lower() == "true"
        with self.lock:
            counts = self.seed_for(tenant, payload, replace=replace)
        return Response.json(200, {"seeded": counts})

    def _bo_requests(self, request: Request) -> Response:
        entries = self._log_of(self._tenant(request))
        since = request.arg("since")
        if since is not None:
            entries = [e for e in entries if e.time >= float(since)]
        per_endpoint: Counter[str] = Counter(f"{e.method} {e.path}" for e in entries)
        return Response.json(
            200,
            {
                "total": len(entries),
                "counts": dict(per_endpoint),
                "requests": [e.__dict__ for e in entries[-int(request.arg("limit") or 1000) :]],
            },
        )

    def _bo_clear_requests(self, request: Request) -> Response:
        self._forget_log(self._tenant(request))
        return Response.empty(204)

    def _bo_list_faults(self, request: Request) -> Response:
        return Response.json(200, self.faults.listing(self._tenant(request)))

    def _bo_fired_faults(self, request: Request) -> Response:
        """``{"fired": {name: n}}``: how often each fault fired; ``?reset=true`` zeroes."""
        reset = str(request.arg("reset") or "").lower() in ("1", "true", "yes")
        return Response.json(200, {"fired": self.faults.fired_counts(reset=reset)})

    def _bo_add_fault(self, request: Request) -> Response:
        tenant = self._tenant(request)
        payload = json_body(request)
        items = payload if isinstance(payload, list) else [payload]
        try:
            faults = [Fault.from_json(item, tenant) for item in items]
        except (TypeError, ValueError, AttributeError) as exc:
            return Response.json(400, {"error": str(exc)})
        for fault in faults:
            self.add_fault(fault)
        return Response.json(201, {"armed": len(faults)})

    def _bo_clear_faults(self, request: Request) -> Response:
        self.faults.disarm(self._tenant(request))
        return Response.empty(204)

    def _bo_expire_tokens(self, request: Request) -> Response:
        tenant = self._tenant(request)
        with self.lock:
            count = self.expire_for(tenant)
        return Response.json(200, {"expired": count})

    def _bo_rate_limits(self, request: Request) -> Response:
        payload = json_object(request)
        if "scale" in payload:
            self.rate_scale = float(payload["scale"])
        if "enabled" in payload:
            self.rate_limits_enabled = bool(payload["enabled"])
        return Response.json(200, {"scale": self.rate_scale, "enabled": self.rate_limits_enabled})

    def _bo_reset(self, request: Request) -> Response:
        tenant = self._tenant(request)
        with self.lock:
            self.reset_for(tenant)
        self._forget_log(tenant)
        self.faults.disarm(tenant)
        return Response.empty(204)

    def _bo_switches(self, request: Request) -> Response:
        return Response.json(200, self._switches().as_dict())

    def _bo_set_switches(self, request: Request) -> Response:
        switches = self._switches()
        try:
            with self.lock:
                switches.update(json_body(request))
        except ValueError as exc:
            return Response.json(400, {"error": str(exc)})
        return Response.json(200, switches.as_dict())

    def _switches(self) -> Switches:
        switches = getattr(self, "switches", None)
        assert isinstance(switches, Switches)  # noqa: S101 - routes exist only then
        return switches

    # -- store hooks for subclasses ------------------------------------------------

    def dump_store(self) -> dict[str, Any]:
        """The whole store: one key per vendor collection, records in wire format."""
        raise NotImplementedError

    def seed_store(self, payload: dict[str, Any], *, replace: bool) -> dict[str, int]:
        """Load records (same shape as :meth:`dump_store`); return counts per collection."""
        raise NotImplementedError

    def empty_store(self) -> dict[str, Any]:
        return {key: [] for key in self.dump_store()}

    def expire_tokens(self) -> int:
        """Make every issued access token expired now; return how many."""
        raise NotImplementedError

    # A multi-tenant app overrides these; ``tenant`` is what :meth:`resolve_tenant` gave.
    def dump_for(self, tenant: str | None) -> dict[str, Any]:
        return self.dump_store()

    def seed_for(
        self, tenant: str | None, payload: dict[str, Any], *, replace: bool
    ) -> dict[str, int]:
        return self.seed_store(payload, replace=replace)

    def reset_for(self, tenant: str | None) -> None:
        self.seed_store(self.empty_store(), replace=True)

    def expire_for(self, tenant: str | None) -> int:
        return self.expire_tokens()
