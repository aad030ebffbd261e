"""HTTP failures of both Visma clients: the error-classification table and typed errors.

One table decides what every failure means (code-models rule 4, Airbyte's
``default_error_mapping``) — an answer by its status and the vendor's error code, a
failure without an answer by its ``requests`` exception: *transient* (retry later),
*rate limited* (wait as long as the API says), *record* (this record fails, with the
vendor's message and field, into the error list), *config* (stop the run and tell a
person what to fix). A second small table says what the transport does with each kind
(:data:`ACTIONS`), which the request loop (:mod:`worker.clients.transport`) follows:
clients never write ``except`` ladders of their own, and the loop has no status codes
in it.

Retries live in two layers (rule 10). In the transport: a few quick retries of
GET/PUT/DELETE with exponential back-off and full jitter, waits for a rate limit as long
as the vendor says without counting them as failures, and one access-token refresh on
401. A POST is never blindly repeated: a failure after which the write may have happened
(time-out after sending, dropped connection, 5xx) raises :class:`AmbiguousWriteError`,
and the caller looks the record up by its natural key before creating it again (R-6.1).

Error messages carry the method, the path, the status and the vendor's message, error
code, ``ErrorId`` and field — never headers or bodies we sent, which hold tokens.
"""

from __future__ import annotations

import enum
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import urllib3

from schemas.sides import Side
from worker.errors import ConfigError, RecordError, SyncError, TransientError


class Kind(enum.Enum):
    TRANSIENT = "transient"
    #: The API's rate limit: wait as long as it says (:func:`retry_after`), then send
    #: again. Not a failure — the request was refused, so even a write did not happen.
    RATE_LIMITED = "rate_limited"
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
    #: Whether the request may have reached the server. ``False`` only for a connection
    #: that was never made: then even a write can be sent again.
    reached: bool = True
    #: How a write that failed this way is described when it may have happened (default:
    #: "<reason> while writing").
    on_write: str = ""
    #: The error raised once retries run out, where it is not the kind's usual one.
    error: type[ApiError] | None = None


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
    (Side.EEKONOMI, 4010): Resolution(Kind.RATE_LIMITED, "eEkonomi rate limit reached"),
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
    429: Resolution(Kind.RATE_LIMITED, "rate limited by the API"),
}
#: Statuses that decide whatever the body says. A 429 is a rate limit whatever code comes
#: with it. A 404 is a path id that names no record: Severa answers it with the body type
#: InvalidParameter, eEkonomi with ErrorCode 3000 (the code it also sends, with 400, for
#: a *body* that refers to a missing record) — the status is what says "no such record
#: here", a lookup's no, not a record's fault.
DECIDED_BY_STATUS = frozenset({404, 429})
SERVER_ERROR = Resolution(Kind.TRANSIENT, "the API had a server error")
NETWORK_ERROR = Resolution(Kind.TRANSIENT, "the API could not be reached")
NOT_CONNECTED = Resolution(
    Kind.TRANSIENT, "could not connect to the API (nothing was sent)", reached=False
)
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
    of non-JSON bodies (a proxy's HTML 502 must not hide the status) and of fields of the
    wrong type (an ``ErrorCode`` list, a message object): the status still decides."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()[:200] if response.text else None
        return VendorError(message=text or None)
    if not isinstance(body, dict):
        return VendorError(message=_text(body))
    if api == Side.EEKONOMI and isinstance(body.get("error"), str):  # OAuth error (RFC 6749 §5.2)
        return VendorError(code=body["error"], message=_text(body.get("error_description")))
    if api == Side.EEKONOMI:
        first = _first_object(body.get("Errors"))
        message = _text(body.get("DeveloperErrorMessage"))
        detail = _text(first.get("Message"))
        if detail and detail != message:
            message = f"{message}: {detail}" if message else detail
        return VendorError(
            code=_code(body.get("ErrorCode")),
            message=message,
            error_id=_text(body.get("ErrorId")),
            field=_text(first.get("Field")),
        )
    error: dict[str, Any] = body["error"] if isinstance(body.get("error"), dict) else {}
    detail_of = _first_object(error.get("details"))
    location = _first_object([detail_of.get("location")])
    return VendorError(
        code=_code(error.get("type")),
        message=_text(detail_of.get("message")) or _text(error.get("message")),
        field=_text(location.get("identifier")) or _text(location.get("name")),
    )


def _first_object(items: Any) -> dict[str, Any]:
    """The first item of a vendor's list when it is an object, else an empty one."""
    first = items[0] if isinstance(items, list) and items else None
    return first if isinstance(first, dict) else {}


def _text(value: Any) -> str | None:
    """A vendor field as text: a string as it is, anything else (an object, a list) as
    its JSON, cut to 200 characters — a wrong type must not break the classification."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)[:200]


def _code(value: Any) -> int | str | None:
    """A vendor error code (eEkonomi's number, Severa's type); any other type: none."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value if isinstance(value, int | str) else None


def classify(api: Side, status: int, vendor: VendorError) -> Resolution:
    """The one decision of what a failed answer means."""
    if (
        status == 403
        and api == Side.EEKONOMI
        and ("module" in (vendor.message or "").lower() or (vendor.code == 4002 and status == 403))
    ):
        return NO_MODULE
    if status in DECIDED_BY_STATUS:
        return STATUSES[status]
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


class MalformedResponse(ApiTransientError):
    """The API answered 2xx with a body we cannot read (treated as transient: proxies
    and overloaded servers produce these; a persistent one ends in the error list)."""


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


#: The error raised for each kind, unless the resolution names its own.
ERROR_CLASSES: dict[Kind, type[ApiError]] = {
    Kind.TRANSIENT: ApiTransientError,
    Kind.RATE_LIMITED: ApiTransientError,
    Kind.RECORD: ApiRecordError,
    Kind.CONFIG: ApiConfigError,
    Kind.NOT_FOUND: NotFoundError,
    Kind.REFRESH: ApiTransientError,
}

# -- answers we cannot read ------------------------------------------------------------


class PaginationLoopError(MalformedResponse):
    """A list whose paging does not end (a repeated token, pages of records already read,
    more pages than :data:`worker.clients.paging.MAX_PAGES`): stop instead of looping."""


class Unreadable(enum.Enum):
    """What was wrong with an answer we could not use (the keys of :data:`MALFORMED`)."""

    NOT_JSON = enum.auto()
    NOT_OBJECT = enum.auto()
    NOT_LIST = enum.auto()
    NOT_RECORDS = enum.auto()
    ENVELOPE = enum.auto()
    FIELD = enum.auto()
    TOKEN = enum.auto()
    REPEATED_TOKEN = enum.auto()
    REPEATED_PAGE = enum.auto()
    TOO_MANY_PAGES = enum.auto()


#: An answer the API sent (2xx) but we cannot use → resolution. All transient (proxies,
#: overloaded or buggy servers produce them; the task layer retries, and one that persists
#: ends in the error list with this reason) and all :class:`MalformedResponse`: never a
#: bare ``KeyError``/``TypeError`` that would say nothing about the call.
MALFORMED: dict[Unreadable, Resolution] = {
    Unreadable.NOT_JSON: Resolution(
        Kind.TRANSIENT, "the API answered with a body that is not JSON"
    ),
    Unreadable.NOT_OBJECT: Resolution(
        Kind.TRANSIENT, "the API answered with something that is not an object"
    ),
    Unreadable.NOT_LIST: Resolution(
        Kind.TRANSIENT, "the API answered a list request with something that is not a list"
    ),
    Unreadable.NOT_RECORDS: Resolution(
        Kind.TRANSIENT, "the API answered a list request with items that are not records"
    ),
    Unreadable.ENVELOPE: Resolution(
        Kind.TRANSIENT, "eEkonomi answered a list request without its {Meta, Data} envelope"
    ),
    Unreadable.FIELD: Resolution(Kind.TRANSIENT, "the API answered with a field it cannot mean"),
    Unreadable.TOKEN: Resolution(
        Kind.TRANSIENT, "the token endpoint answered without a usable access token"
    ),
    Unreadable.REPEATED_TOKEN: Resolution(
        Kind.TRANSIENT,
        "Severa returned a page token it had already returned",
        error=PaginationLoopError,
    ),
    Unreadable.REPEATED_PAGE: Resolution(
        Kind.TRANSIENT,
        "the API's paging does not advance: a page held only records already read (the "
        "server ignores the paging parameters)",
        error=PaginationLoopError,
    ),
    Unreadable.TOO_MANY_PAGES: Resolution(
        Kind.TRANSIENT,
        "the API's paging does not end: more pages than the ceiling",
        error=PaginationLoopError,
    ),
}


def malformed(
    what: Unreadable,
    *,
    api: Side,
    method: str,
    path: str,
    status: int | None = None,
    detail: str = "",
) -> MalformedResponse:
    """The error for an answer :data:`MALFORMED` lists; ``detail`` says what was seen."""
    resolution = MALFORMED[what]
    error_class = resolution.error or MalformedResponse
    assert issubclass(error_class, MalformedResponse)  # noqa: S101 - the table's invariant
    reason = f"{resolution.reason} ({detail})" if detail else resolution.reason
    return error_class(reason, api=api, method=method, path=path, status=status)


# -- failures without an answer --------------------------------------------------------

#: ``requests`` exception (and, where given, the ``urllib3`` cause it wraps) →
#: resolution; the first entry that matches decides (a ``ConnectTimeout`` is also a
#: ``ConnectionError``). Others propagate as they are: they are bugs (a malformed URL),
#: not the API's state.
EXCEPTIONS: tuple[
    tuple[tuple[type[Exception], ...], tuple[type[Exception], ...], Resolution], ...
] = (
    # Nothing reached the server: safe to send any method again — a connect time-out, a
    # refused connection, a host name that does not resolve (the request was never sent,
    # so a write cannot have happened: a plain "could not connect", never ambiguous).
    ((requests.ConnectTimeout,), (), NOT_CONNECTED),
    ((requests.ConnectionError,), (urllib3.exceptions.NewConnectionError,), NOT_CONNECTED),
    # The server answered, but the body arrived garbled or cut off: for a write that
    # answer may have confirmed it; a read can simply be asked again.
    (
        (requests.exceptions.ContentDecodingError, requests.exceptions.ChunkedEncodingError),
        (),
        Resolution(
            Kind.TRANSIENT,
            "the API answered with a body that could not be decoded",
            on_write="the answer to a write could not be read",
            error=MalformedResponse,
        ),
    ),
    (
        (requests.Timeout, requests.ConnectionError),
        (),
        Resolution(
            Kind.TRANSIENT,
            NETWORK_ERROR.reason,
            on_write="the connection failed after the request was sent",
        ),
    ),
)


def classify_exception(exc: Exception) -> Resolution | None:
    """What a failure without a (readable) answer means; ``None``: not the API's doing."""
    for classes, causes, resolution in EXCEPTIONS:
        if isinstance(exc, classes) and (not causes or isinstance(_cause(exc), causes)):
            return resolution
    return None


def _cause(exc: Exception) -> object:
    """The ``urllib3`` error a ``requests`` exception wraps (``requests`` puts urllib3's
    ``MaxRetryError`` first in ``args``; its ``reason`` is what went wrong)."""
    inner = exc.args[0] if exc.args else None
    return getattr(inner, "reason", inner)


# -- what the transport does with each kind ---------------------------------------------

_TRY_AGAIN = re.compile(r"try again in (\d+(?:\.\d+)?) seconds?", re.IGNORECASE)
DEFAULT_RATE_LIMIT_WAIT = {Side.EEKONOMI: 60.0, Side.SEVERA: 1.0}
#: The shortest wait after a rate limit, whatever the API says: a ``Retry-After: 0`` (or
#: a negative or unreadable one) must not turn the wait into a busy loop (issue 14).
MIN_RATE_LIMIT_WAIT = 1.0
#: The longest wait believed: a ``Retry-After`` of a day is a vendor's bug, not a plan, and
#: the task layer waits at least the hint it is given.
MAX_RATE_LIMIT_WAIT = 3600.0
#: Rate-limit waits one request may take before it gives up with a transient error (the
#: task layer retries later); with the one-second floor, also a bound in time.
MAX_RATE_LIMIT_WAITS = 10


def retry_after(api: Side, response: requests.Response, vendor: VendorError) -> float:
    """The wait policy of :attr:`Kind.RATE_LIMITED`: eEkonomi's "Try again in N seconds",
    else ``Retry-After`` (seconds or an HTTP date), else the API's default window —
    always between :data:`MIN_RATE_LIMIT_WAIT` and :data:`MAX_RATE_LIMIT_WAIT`."""
    match = _TRY_AGAIN.search(vendor.message or response.text or "")
    wait = float(match.group(1)) if match else _header_seconds(response.headers.get("Retry-After"))
    if wait is None or not math.isfinite(wait):
        wait = DEFAULT_RATE_LIMIT_WAIT.get(api, 1.0)
    return min(MAX_RATE_LIMIT_WAIT, max(MIN_RATE_LIMIT_WAIT, wait))


def _header_seconds(header: str | None) -> float | None:
    """``Retry-After`` as seconds: a number or an HTTP date; ``None`` when unreadable."""
    if not header:
        return None
    try:
        return float(header)
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - datetime.now(UTC)).total_seconds()


class Action(enum.Enum):
    """What follows a failed attempt (rule 10's first layer)."""

    #: Send again after a short back-off — a few times, and a write only when the request
    #: never reached the server.
    RETRY = "retry"
    #: Drop the access token and send again, once.
    REFRESH = "refresh"
    #: Wait as long as the API asks, then send again; not counted as a failure.
    WAIT = "wait"
    #: Raise the kind's error: the engine or the task layer decides what comes next.
    RAISE = "raise"


#: Kind → what the transport does; when a retry is not allowed or its budget is spent, the
#: kind's error is raised instead.
ACTIONS: dict[Kind, Action] = {
    Kind.TRANSIENT: Action.RETRY,
    Kind.RATE_LIMITED: Action.WAIT,
    Kind.REFRESH: Action.REFRESH,
    Kind.RECORD: Action.RAISE,
    Kind.CONFIG: Action.RAISE,
    Kind.NOT_FOUND: Action.RAISE,
}

#: Methods repeated after a failure. PATCH is here because the sync only sends JSON Patch
#: `replace` operations, which are idempotent; POST never is.
SAFE_METHODS = frozenset({"GET", "PUT", "DELETE", "HEAD", "PATCH"})
