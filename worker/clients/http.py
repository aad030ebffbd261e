"""HTTP for both Visma clients: the error-classification table, typed errors, and the
request loop (rate limit → send → classify → retry / refresh / raise).

One table decides what every failure means (code-models rule 4, Airbyte's
``default_error_mapping``): *transient* (retry later), *record* (this record fails,
with the vendor's message and field, into the error list), *config* (stop the run and
tell a person what to fix). Clients never write ``except`` ladders of their own.

Retries live in two layers (rule 10). Here: a few quick retries of GET/PUT/DELETE with
exponential back-off and full jitter, waits for 429 as long as the vendor says without
counting them as failures, and one access-token refresh on 401. A POST is never blindly
repeated: a failure after which the write may have happened (time-out after sending,
dropped connection, 5xx) raises :class:`AmbiguousWriteError`, and the caller looks the
record up by its natural key before creating it again (R-6.1).

Error messages carry the method, the path, the status and the vendor's message, error
code, ``ErrorId`` and field — never headers or bodies we sent, which hold tokens.
"""

from __future__ import annotations

import enum
import json
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import requests

from schemas.sides import Side
from worker.errors import ConfigError, RecordError, SyncError, TransientError


class Kind(enum.Enum):
    TRANSIENT = "transient"
    RECORD = "record"
    CONFIG = "config"
    #: Access token rejected: refresh it once, then retry.
    REFRESH = "refresh"
    #: The resource does not exist (a lookup's "no", not a failure of the record).
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Resolution:
    kind: Kind
    reason: str


# -- the table ------------------------------------------------------------------------

#: (api, vendor error code or Severa error type) → resolution. ``None`` api = both.
VENDOR_CODES: dict[tuple[str, int | str], Resolution] = {
    # eEkonomi ErrorCode (eaccounting-notes §5)
    (Side.EEKONOMI, 2000): Resolution(Kind.RECORD, "eEkonomi rejected a field value"),
    (Side.EEKONOMI, 3000): Resolution(
        Kind.RECORD, "a record it refers to does not exist in eEkonomi"
    ),
    (Side.EEKONOMI, 4000): Resolution(
        Kind.RECORD, "it would duplicate an existing eEkonomi record"
    ),
    (Side.EEKONOMI, 4001): Resolution(Kind.RECORD, "eEkonomi cannot delete it (it has dependents)"),
    (Side.EEKONOMI, 4002): Resolution(Kind.RECORD, "eEkonomi cannot create or update it"),
    (Side.EEKONOMI, 4003): Resolution(
        Kind.CONFIG, "the eEkonomi company's startup guide is not completed: finish it in eEkonomi"
    ),
    (Side.EEKONOMI, 4004): Resolution(
        Kind.CONFIG, "the eEkonomi company is not active: reactivate it or connect another one"
    ),
    (Side.EEKONOMI, 4005): Resolution(Kind.CONFIG, "eEkonomi refused access: run `connect` again"),
    (Side.EEKONOMI, 4006): Resolution(
        Kind.CONFIG,
        "the eEkonomi consent lacks a scope: run `connect` again and approve all requested scopes",
    ),
    (Side.EEKONOMI, 4007): Resolution(
        Kind.CONFIG, "the eEkonomi user lacks permission: connect with an administrator"
    ),
    (Side.EEKONOMI, 4009): Resolution(
        Kind.CONFIG, "the eEkonomi product variant does not include this feature"
    ),
    (Side.EEKONOMI, 4010): Resolution(Kind.TRANSIENT, "eEkonomi rate limit reached"),
    (Side.EEKONOMI, 4011): Resolution(
        Kind.CONFIG, "the eEkonomi user has no access to the company"
    ),
    (Side.EEKONOMI, 4012): Resolution(
        Kind.CONFIG, "the eEkonomi licence agreement is not accepted: accept it in eEkonomi"
    ),
    (Side.EEKONOMI, 4013): Resolution(
        Kind.RECORD, "eEkonomi cannot bookkeep it: the year or period is locked"
    ),
    (Side.EEKONOMI, 4019): Resolution(
        Kind.CONFIG, "the connected eEkonomi user is read-only: connect with a user who can write"
    ),
    (Side.EEKONOMI, 4024): Resolution(
        Kind.RECORD, "the article's account coding has no sales account: fix the coding in eEkonomi"
    ),
    (Side.EEKONOMI, 4025): Resolution(
        Kind.RECORD, "eEkonomi rejected the VAT number (VIES check): correct it at the source"
    ),
    (Side.EEKONOMI, 4032): Resolution(Kind.RECORD, "the supplier invoice does not balance"),
    (Side.EEKONOMI, 4034): Resolution(
        Kind.CONFIG, "a sandbox OAuth client cannot reach production: use production credentials"
    ),
    (Side.EEKONOMI, 5000): Resolution(Kind.TRANSIENT, "eEkonomi internal error"),
    (Side.EEKONOMI, 5001): Resolution(
        Kind.TRANSIENT, "a service eEkonomi depends on did not answer"
    ),
    (Side.EEKONOMI, 5002): Resolution(Kind.TRANSIENT, "eEkonomi cancelled the operation"),
    (Side.EEKONOMI, 5005): Resolution(Kind.RECORD, "the eEkonomi project it refers to has ended"),
    (Side.EEKONOMI, 5006): Resolution(
        Kind.RECORD, "the eEkonomi cost-center item it uses is inactive"
    ),
    (Side.EEKONOMI, "invalid_grant"): Resolution(
        Kind.CONFIG,
        "eEkonomi refused the saved authorization (refresh token revoked, expired or already "
        "used): run `python -m worker connect` to authorize again",
    ),
    (Side.EEKONOMI, "invalid_client"): Resolution(
        Kind.CONFIG, "eEkonomi rejected the OAuth client: check EEKONOMI_CLIENT_ID and _SECRET"
    ),
    (Side.EEKONOMI, "unauthorized_client"): Resolution(
        Kind.CONFIG, "the eEkonomi OAuth client may not use this grant: check the client"
    ),
    (Side.EEKONOMI, 6000): Resolution(Kind.RECORD, "eEkonomi rejected a query parameter"),
    (Side.EEKONOMI, 6001): Resolution(Kind.RECORD, "eEkonomi rejected an input format"),
    # Severa ExceptionModel.error.type (severa-notes §5.1)
    (Side.SEVERA, "InvalidParameter"): Resolution(Kind.RECORD, "Severa rejected a field value"),
    (Side.SEVERA, "InvalidRequest"): Resolution(Kind.RECORD, "Severa rejected the request"),
    (Side.SEVERA, "InvalidOperation"): Resolution(
        Kind.RECORD, "Severa does not allow this operation"
    ),
    (Side.SEVERA, "AuthenticationRequired"): Resolution(
        Kind.REFRESH, "Severa access token expired"
    ),
    (Side.SEVERA, "InsufficientApiScope"): Resolution(
        Kind.CONFIG,
        "the Severa client credentials lack a scope: tick it under Settings → REST API in Severa",
    ),
    (Side.SEVERA, "AddonMissing"): Resolution(
        Kind.CONFIG, "a Severa add-on is missing: enable the REST API upgrade in Severa"
    ),
    (Side.SEVERA, "FeatureIsNotEnabled"): Resolution(
        Kind.CONFIG, "a Severa feature is not enabled"
    ),
    (Side.SEVERA, "OrganizationNotActive"): Resolution(
        Kind.CONFIG, "the Severa organization is not active"
    ),
    (Side.SEVERA, "PermissionDenied"): Resolution(Kind.CONFIG, "Severa denied permission"),
    (Side.SEVERA, "TrialExpired"): Resolution(Kind.CONFIG, "the Severa trial has expired"),
    (Side.SEVERA, "ConfigurationError"): Resolution(
        Kind.CONFIG, "Severa reports a configuration error"
    ),
    (Side.SEVERA, "InternalSystemError"): Resolution(Kind.TRANSIENT, "Severa internal error"),
}

#: HTTP status → resolution when no vendor code decides it.
STATUSES: dict[int, Resolution] = {
    400: Resolution(Kind.RECORD, "the API rejected the request"),
    401: Resolution(Kind.REFRESH, "access token expired or revoked"),
    403: Resolution(Kind.CONFIG, "the API refused access: check the connection's permissions"),
    404: Resolution(Kind.NOT_FOUND, "not found"),
    408: Resolution(Kind.TRANSIENT, "the API timed out"),
    409: Resolution(Kind.RECORD, "conflict with an existing record"),
    422: Resolution(Kind.RECORD, "the API rejected the record"),
    429: Resolution(Kind.TRANSIENT, "rate limited by the API"),
}
SERVER_ERROR = Resolution(Kind.TRANSIENT, "the API had a server error")
NETWORK_ERROR = Resolution(Kind.TRANSIENT, "the API could not be reached")
NO_MODULE = Resolution(
    Kind.CONFIG,
    "API access is not enabled for this eEkonomi company (module api_standard): activate "
    "the API under Apps and extensions in eEkonomi, or run `connect` again and pick a "
    "company that has it (R-2.6)",
)


@dataclass(frozen=True)
class VendorError:
    """What the vendor's error body says (both formats normalized)."""

    code: int | str | None = None
    message: str | None = None
    error_id: str | None = None
    field: str | None = None


def parse_vendor_error(api: Side, response: requests.Response) -> VendorError:
    """Read eEkonomi's ``CommonExtendedBadRequest`` or Severa's ``ExceptionModel``; tolerant
    of non-JSON bodies (a proxy's HTML 502 must not hide the status)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()[:200] if response.text else None
        return VendorError(message=text or None)
    if not isinstance(body, dict):
        return VendorError(message=str(body)[:200])
    if api == Side.EEKONOMI and isinstance(body.get("error"), str):  # OAuth error (RFC 6749 §5.2)
        return VendorError(code=body["error"], message=body.get("error_description"))
    if api == Side.EEKONOMI:
        errors = body.get("Errors") or []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        message = body.get("DeveloperErrorMessage") or first.get("Message")
        if errors and first.get("Message") and first.get("Message") != message:
            message = f"{message}: {first.get('Message')}" if message else first.get("Message")
        return VendorError(
            code=body.get("ErrorCode"),
            message=message,
            error_id=body.get("ErrorId"),
            field=first.get("Field"),
        )
    error: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else {}
    details = error.get("details") or []
    detail: dict[str, Any] = details[0] if details and isinstance(details[0], dict) else {}
    location: dict[str, Any] = (
        detail["location"] if isinstance(detail.get("location"), dict) else {}
    )
    return VendorError(
        code=error.get("type"),
        message=detail.get("message") or error.get("message"),
        field=location.get("identifier") or location.get("name"),
    )


def classify(api: Side, status: int, vendor: VendorError) -> Resolution:
    """The one decision of what a failed answer means."""
    if (
        status == 403
        and api == Side.EEKONOMI
        and ("module" in (vendor.message or "").lower() or (vendor.code == 4002 and status == 403))
    ):
        return NO_MODULE
    if status == 429:
        return STATUSES[429]
    if status == 404:
        # A path id that names no record: Severa answers 404 with the body type
        # InvalidParameter, eEkonomi 404 with ErrorCode 3000 (the code it also sends, with
        # 400, for a *body* that refers to a missing record). The status is what says
        # "no such record here" — a lookup's no, not a record's fault.
        return STATUSES[404]
    if vendor.code is not None and (api, vendor.code) in VENDOR_CODES:
        resolution = VENDOR_CODES[(api, vendor.code)]
        # A 401 always means "refresh", whatever the body; a 5xx is never a record's fault.
        if status >= 500 and resolution.kind is Kind.RECORD:
            return SERVER_ERROR
        return resolution
    if status >= 500:
        return SERVER_ERROR
    return STATUSES.get(status, Resolution(Kind.RECORD, f"unexpected HTTP {status}"))


# -- typed errors ----------------------------------------------------------------------


class ApiError(SyncError):
    """A failed API call; carries what a person (or support) needs, never secrets."""

    def __init__(
        self,
        reason: str,
        *,
        api: Side,
        method: str,
        path: str,
        status: int | None = None,
        vendor: VendorError | None = None,
    ) -> None:
        self.reason = reason
        self.api = api
        self.method = method
        self.path = path
        self.status = status
        self.vendor = vendor or VendorError()
        parts = [reason, f"({api} {method} {path}" + (f" → HTTP {status})" if status else ")")]
        if self.vendor.message:
            parts.append(f"vendor says: {self.vendor.message}")
        if self.vendor.field:
            parts.append(f"field: {self.vendor.field}")
        if self.vendor.code is not None:
            parts.append(f"code: {self.vendor.code}")
        if self.vendor.error_id:
            parts.append(f"ErrorId: {self.vendor.error_id}")
        super().__init__("; ".join(parts))


class ApiTransientError(ApiError, TransientError):
    """Try again later; ``retry_after`` is the vendor's hint in seconds, when it gave one."""

    def __init__(self, reason: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(reason, **kw)
        self.retry_after = retry_after


class ApiRecordError(ApiError, RecordError):
    """The API rejected this record; the vendor's message and field say why."""


class ApiConfigError(ApiError, ConfigError):
    """The connection must be fixed by a person before transfers can go on."""


class NotFoundError(ApiRecordError):
    """The addressed resource does not exist."""


class AmbiguousWriteError(ApiError, TransientError):
    """A create may or may not have happened: look the record up by its natural key
    before trying again — never repeat the POST blindly (R-6.1)."""


class NeedsReauthorization(ConfigError):
    """The refresh token was refused (``invalid_grant``): a person must run ``connect``."""


_ERROR_CLASSES: dict[Kind, type[ApiError]] = {
    Kind.TRANSIENT: ApiTransientError,
    Kind.RECORD: ApiRecordError,
    Kind.CONFIG: ApiConfigError,
    Kind.NOT_FOUND: NotFoundError,
    Kind.REFRESH: ApiTransientError,
}

# -- rate-limit hints ------------------------------------------------------------------

_TRY_AGAIN = re.compile(r"try again in (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)
DEFAULT_RATE_LIMIT_WAIT = {Side.EEKONOMI: 60.0, Side.SEVERA: 1.0}


def retry_after(api: Side, response: requests.Response, vendor: VendorError) -> float:
    """Seconds to wait after a 429: eEkonomi's "Try again in N seconds", else
    ``Retry-After``, else the API's default window."""
    match = _TRY_AGAIN.search(vendor.message or response.text or "")
    if match:
        return float(match.group(1))
    header = response.headers.get("Retry-After")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
    return DEFAULT_RATE_LIMIT_WAIT.get(api, 1.0)


# -- the request loop -------------------------------------------------------------------


class RefreshableAuth(Protocol):
    """A ``requests`` auth that can drop its access token after a 401."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest: ...

    def invalidate(self) -> None: ...


class Limiter(Protocol):
    def acquire(self, bucket: str) -> float: ...


_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NUMBER = re.compile(r"/\d+(?=/|$)")


def endpoint_of(path: str) -> str:
    """The endpoint a path belongs to for rate limiting: ids replaced by ``{id}``."""
    return _NUMBER.sub("/{id}", _GUID.sub("{id}", path.split("?", 1)[0]))


#: Methods repeated after a failure. PATCH is here because the sync only sends JSON Patch
#: `replace` operations, which are idempotent; POST never is.
_SAFE_METHODS = frozenset({"GET", "PUT", "DELETE", "HEAD", "PATCH"})


class ApiTransport:
    """Sends requests for one API and one connection; see the module docstring.

    ``bucket_of(path)`` names the rate-limit bucket of a request (Severa: one per
    client; eEkonomi: one per endpoint). ``sleep`` and ``jitter`` are injectable so
    tests need not wait.
    """

    def __init__(
        self,
        *,
        api: Side,
        base_url: str,
        session: requests.Session,
        auth: RefreshableAuth | None,
        timeout: float,
        connection_id: str,
        limiter: Limiter | None = None,
        bucket_of: Callable[[str], str] | None = None,
        retries: int = 3,
        backoff: float = 0.5,
        backoff_max: float = 8.0,
        max_rate_limit_wait: float = 300.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.api = api
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.auth = auth
        self.timeout = timeout
        self.connection_id = connection_id
        self.limiter = limiter
        self.bucket_of = bucket_of or (lambda path: "all")
        self.retries = retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.max_rate_limit_wait = max_rate_limit_wait
        self.sleep = sleep
        self.jitter = jitter
        #: Requests actually sent (benchmarks read it: requests per transferred record).
        self.sent = 0

    def url(self, path: str) -> str:
        return self.base_url + path

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send one logical request; return the 2xx response or raise an :class:`ApiError`."""
        method = method.upper()
        failures = 0
        refreshed = False
        waited = 0.0
        while True:
            if self.limiter is not None:
                self.limiter.acquire(self.bucket_of(path))
            try:
                self.sent += 1
                response = self.session.request(
                    method,
                    self.url(path),
                    params=params,
                    data=form
                    if form is not None
                    else (None if json_body is None else json.dumps(json_body)),
                    headers={
                        **({"Content-Type": "application/json"} if json_body is not None else {}),
                        "Accept": "application/json",
                        **(headers or {}),
                    },
                    auth=self.auth,
                    timeout=self.timeout,
                )
            except requests.ConnectTimeout as exc:
                # Nothing reached the server: safe to retry any method.
                failures += 1
                if failures > self.retries:
                    raise self._network_error(method, path, exc) from None
                self._backoff_sleep(failures)
                continue
            except (
                requests.exceptions.ContentDecodingError,
                requests.exceptions.ChunkedEncodingError,
            ):
                # The server answered, but the body arrived garbled or cut off: for a write
                # that answer may have confirmed it; a read can simply be asked again.
                if method not in _SAFE_METHODS:
                    raise AmbiguousWriteError(
                        "the answer to a write could not be read, so the write may have "
                        "happened: look the record up before creating it again",
                        api=self.api, method=method, path=path,
                    ) from None  # fmt: skip
                failures += 1
                if failures > self.retries:
                    raise MalformedResponse(
                        "the API answered with a body that could not be decoded",
                        api=self.api, method=method, path=path,
                    ) from None  # fmt: skip
                self._backoff_sleep(failures)
                continue
            except (requests.Timeout, requests.ConnectionError) as exc:
                if method not in _SAFE_METHODS:
                    raise AmbiguousWriteError(
                        "the connection failed after the request was sent, so the write may "
                        "have happened: look the record up before creating it again",
                        api=self.api,
                        method=method,
                        path=path,
                    ) from None
                failures += 1
                if failures > self.retries:
                    raise self._network_error(method, path, exc) from None
                self._backoff_sleep(failures)
                continue

            if response.status_code < 400:
                return response
            vendor = parse_vendor_error(self.api, response)
            resolution = classify(self.api, response.status_code, vendor)
            if resolution.kind is Kind.REFRESH and self.auth is not None and not refreshed:
                refreshed = True
                self.auth.invalidate()
                continue
            if response.status_code == 429 or (
                resolution.kind is Kind.TRANSIENT and vendor.code == 4010
            ):
                wait = retry_after(self.api, response, vendor)
                if waited + wait > self.max_rate_limit_wait:
                    raise ApiTransientError(
                        resolution.reason, retry_after=wait, api=self.api, method=method,
                        path=path, status=response.status_code, vendor=vendor,
                    )  # fmt: skip
                waited += wait
                self.sleep(wait)
                continue  # a 429 is not a failure: the write did not happen
            if resolution.kind is Kind.TRANSIENT:
                if method not in _SAFE_METHODS:
                    raise AmbiguousWriteError(
                        f"{resolution.reason} while writing, so the write may have happened: "
                        "look the record up before creating it again",
                        api=self.api, method=method, path=path,
                        status=response.status_code, vendor=vendor,
                    )  # fmt: skip
                failures += 1
                if failures <= self.retries:
                    self._backoff_sleep(failures)
                    continue
            error_class = _ERROR_CLASSES[resolution.kind]
            raise error_class(
                resolution.reason, api=self.api, method=method, path=path,
                status=response.status_code, vendor=vendor,
            )  # fmt: skip

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return _json_of(self.request("GET", path, params=params), self.api, path)

    def json_of(self, response: requests.Response, path: str) -> Any:
        """The JSON body of a 2xx answer, or :class:`MalformedResponse` (never a bare
        ``JSONDecodeError``, whose text would say nothing about which call failed)."""
        return _json_of(response, self.api, path)

    def _backoff_sleep(self, failures: int) -> None:
        ceiling = min(self.backoff_max, self.backoff * (2 ** (failures - 1)))
        self.sleep(self.jitter(0, ceiling))

    def _network_error(self, method: str, path: str, exc: Exception) -> ApiTransientError:
        return ApiTransientError(
            f"{NETWORK_ERROR.reason} ({type(exc).__name__})",
            api=self.api,
            method=method,
            path=path,
        )


class MalformedResponse(ApiTransientError):
    """The API answered 2xx with a body we cannot read (treated as transient: proxies
    and overloaded servers produce these; a persistent one ends in the error list)."""


def _json_of(response: requests.Response, api: Side, path: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise MalformedResponse(
            "the API answered with a body that is not JSON",
            api=api,
            method=response.request.method or "GET",
            path=path,
            status=response.status_code,
        ) from None
