"""The request loop of both Visma clients: rate limit → send → classify → act.

One logical request may take several attempts. Each failed attempt is classified by the
table in :mod:`worker.clients.http` — an answer by its status and vendor code, a failure
without an answer by its exception — and the kind's action (``http.ACTIONS``) says what
follows: send again after a back-off, refresh the access token once, wait out a rate
limit, or raise the kind's error. :meth:`ApiTransport.next_step` applies the
request's budget (quick retries, one refresh, the longest rate-limit wait) and the
two-layer rule (code-models rule 10): a write that may have happened is never sent
again — it raises :class:`~worker.clients.http.AmbiguousWriteError`, and the caller
looks the record up by its natural key first (R-6.1).
"""

from __future__ import annotations

import json
import random
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from requests.cookies import RequestsCookieJar, merge_cookies
from requests.sessions import merge_setting
from requests.structures import CaseInsensitiveDict
from requests.utils import get_netrc_auth

from schemas.sides import Side
from worker.clients.http import (
    ACTIONS,
    ERROR_CLASSES,
    MAX_RATE_LIMIT_WAITS,
    SAFE_METHODS,
    Action,
    AmbiguousWriteError,
    ApiError,
    ApiTransientError,
    Kind,
    Resolution,
    Unreadable,
    VendorError,
    classify,
    classify_exception,
    malformed,
    parse_vendor_error,
    retry_after,
)


@dataclass(frozen=True)
class Failure:
    """One failed attempt, as the table classified it."""

    resolution: Resolution
    status: int | None = None
    vendor: VendorError = field(default_factory=VendorError)
    #: Rate limited: the seconds the API asked to wait (:func:`retry_after`).
    wait: float = 0.0
    #: A failure without an answer: the exception's class name, for the message.
    exception: str = ""


@dataclass(frozen=True)
class Step:
    """The transport's next step: sleep ``seconds`` and send again, or raise ``error``."""

    action: Action
    seconds: float = 0.0
    error: ApiError | None = None


@dataclass
class Attempts:
    """What one logical request has used of its budget so far."""

    method: str
    #: Quick retries used (rate-limit waits and the refresh are not failures).
    failures: int = 0
    refreshed: bool = False
    #: Seconds waited for rate limits, and how many times.
    waited: float = 0.0
    waits: int = 0


class RefreshableAuth(Protocol):
    """A ``requests`` auth that can drop its access token after a 401."""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest: ...

    def invalidate(self) -> None: ...


class Limiter(Protocol):
    def acquire(self, bucket: str) -> float: ...


_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NUMBER = re.compile(r"/\d+(?=/|$)")


#: Entries a transport keeps in each of its caches of prepared URLs and header sets; past
#: it a cache is emptied and refilled (paths carry record ids, so URLs never repeat all).
PREPARED_CACHE_SIZE = 1024


def endpoint_of(path: str) -> str:
    """The endpoint a path belongs to for rate limiting: ids replaced by ``{id}``."""
    return _NUMBER.sub("/{id}", _GUID.sub("{id}", path.split("?", 1)[0]))


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
        max_rate_limit_waits: int = MAX_RATE_LIMIT_WAITS,
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
        self.max_rate_limit_waits = max_rate_limit_waits
        self.sleep = sleep
        self.jitter = jitter
        #: Requests actually sent (benchmarks read it: requests per transferred record).
        self.sent = 0
        #: (URL, parameters) → the prepared URL; (session's, request's headers) → the
        #: prepared headers. See :meth:`prepare`.
        self._urls: dict[tuple[str, Any], str] = {}
        self._headers: dict[tuple[Any, ...], CaseInsensitiveDict[str]] = {}

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
        """Send one logical request; return the 2xx response or raise an :class:`ApiError`.

        Each failed attempt is classified by the table, and :meth:`next_step` says what
        follows: send again after a back-off, refresh the token, wait out a rate limit,
        or raise.
        """
        attempts = Attempts(method.upper())
        data = form if form is not None else (None if json_body is None else json.dumps(json_body))
        sent_headers = {
            **({"Content-Type": "application/json"} if json_body is not None else {}),
            "Accept": "application/json",
            **(headers or {}),
        }
        while True:
            answer = self._attempt(attempts.method, path, params, data, sent_headers)
            if isinstance(answer, requests.Response):
                return answer
            self._take(self.next_step(attempts, path, answer))

    def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None,
        data: Any,
        headers: Mapping[str, str],
    ) -> requests.Response | Failure:
        """Take a rate-limit token and send once: the answer if it succeeded, else the
        failure as the table classifies it."""
        if self.limiter is not None:
            self.limiter.acquire(self.bucket_of(path))
        self.sent += 1
        try:
            response = self._send(method, path, params, data, headers)
        except requests.RequestException as exc:
            resolution = classify_exception(exc)
            if resolution is None:
                raise
            return Failure(resolution, exception=type(exc).__name__)
        if response.status_code < 400:
            return response
        return self.failure_of(response)

    def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None,
        data: Any,
        headers: Mapping[str, str],
    ) -> requests.Response:
        """What ``session.request(method, url, ..., auth=self.auth, timeout=self.timeout)``
        does, with the request prepared by :meth:`prepare` (issue 20). A session with
        parameters of its own (none of ours has any) goes the plain way."""
        session = self.session
        if session.params:
            return session.request(
                method, self.url(path), params=params, data=data, headers=headers,
                auth=self.auth, timeout=self.timeout,
            )  # fmt: skip
        prepared = self.prepare(method, path, params, data, headers)
        # As Session.request: the environment's proxies and CA (memoized per origin by
        # factory._Session), redirects followed, our time-out.
        settings = session.merge_environment_settings(prepared.url, {}, None, None, None)
        return session.send(prepared, timeout=self.timeout, allow_redirects=True, **settings)

    def prepare(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None,
        data: Any,
        headers: Mapping[str, str],
    ) -> requests.PreparedRequest:
        """The request ``Session.prepare_request`` would build, for less CPU (issue 20).

        ``requests`` merges the session's headers, parameters, cookies and hooks into
        every request, and encodes the URL and validates the headers anew each time —
        about a fifth of the client's CPU per request, mostly in ``isinstance`` checks
        against its typing protocols. Here each step gives the same result from less:

        * URL: prepared once per (URL, parameters) and kept; without parameters,
          prepared with ``None`` (encodes to the same nothing as the empty mapping).
        * headers: the session's merged with the request's and validated once per
          combination of both, then copied.
        * cookies: only a session that holds cookies has its jar copied and a
          ``Cookie`` header made; an empty jar makes none, so an empty copy is all.
        * auth: the same rule — the transport's, else the session's, else ``.netrc``
          (when the session trusts the environment), else credentials in the URL.
        * body and hooks: prepared by ``requests`` itself, as before.
        """
        session = self.session
        prepared = requests.PreparedRequest()
        url = self.url(path)
        prepared.prepare_method(method)
        prepared.url = self._prepared_url(url, params)
        prepared.headers = self._prepared_headers(headers).copy()
        jar = RequestsCookieJar()
        if len(session.cookies):
            prepared.prepare_cookies(merge_cookies(jar, session.cookies))  # type: ignore[no-untyped-call]
        else:  # what prepare_cookies leaves after an empty jar
            prepared._cookies = jar  # type: ignore[attr-defined]  # noqa: SLF001
        prepared.prepare_body(data, None, None)
        auth: Any = self.auth
        if session.trust_env and not auth and not session.auth:
            auth = get_netrc_auth(url)
        prepared.prepare_auth(_merged(auth, session.auth), url)
        prepared.prepare_hooks(session.hooks)  # our requests bring none of their own
        return prepared

    def _prepared_url(
        self, url: str, params: Mapping[str, Any] | list[tuple[str, Any]] | None
    ) -> str:
        """The URL ``requests`` prepares for ``url`` and ``params``, kept per both (the
        values' types are part of the key: ``1`` and ``True`` encode differently)."""
        key: tuple[str, Any] | None
        try:
            if not params:
                key = (url, None)
            else:
                items = params.items() if isinstance(params, Mapping) else params
                key = (url, (type(params), tuple((k, type(v), v) for k, v in items)))
            prepared = self._urls.get(key)
        except (TypeError, ValueError):  # unhashable or odd parameters: prepared each time
            key, prepared = None, None
        if prepared is None:
            preparing = requests.PreparedRequest()
            merged = _merged(params, self.session.params) if params else None
            preparing.prepare_url(url, merged)
            prepared = str(preparing.url)
            if key is not None:
                if len(self._urls) >= PREPARED_CACHE_SIZE:
                    self._urls.clear()
                self._urls[key] = prepared
        return prepared

    def _prepared_headers(self, headers: Mapping[str, str]) -> CaseInsensitiveDict[str]:
        """The session's headers merged with ``headers`` and validated, kept per both.
        The result is shared: callers copy it."""
        ours = self.session.headers
        key: tuple[Any, ...] | None
        try:
            key = (None if ours is None else tuple(ours.items()), tuple(headers.items()))
            found = self._headers.get(key)
        except TypeError:
            key, found = None, None
        if found is None:
            preparing = requests.PreparedRequest()
            preparing.prepare_headers(_merged(headers, ours, CaseInsensitiveDict))
            found = preparing.headers
            if key is not None:
                if len(self._headers) >= PREPARED_CACHE_SIZE:
                    self._headers.clear()
                self._headers[key] = found
        return found

    def failure_of(self, response: requests.Response) -> Failure:
        """A failed answer, classified; a rate limit's wait read by its wait policy."""
        vendor = parse_vendor_error(self.api, response)
        resolution = classify(self.api, response.status_code, vendor)
        rate_limited = resolution.kind is Kind.RATE_LIMITED
        wait = retry_after(self.api, response, vendor) if rate_limited else 0.0
        return Failure(resolution, response.status_code, vendor, wait)

    def next_step(self, attempts: Attempts, path: str, failure: Failure) -> Step:
        """What follows ``failure``: the kind's action (:data:`ACTIONS`) while the
        request's budget allows it, else the error to raise. Counts what it allows."""
        action = ACTIONS[failure.resolution.kind]
        if action is Action.REFRESH and self.auth is not None and not attempts.refreshed:
            attempts.refreshed = True
            return Step(Action.REFRESH)
        if action is Action.WAIT:
            return self._wait(attempts, path, failure)
        if action is Action.RETRY:
            return self._retry(attempts, path, failure)
        return self._raise(attempts.method, path, failure)

    def _wait(self, attempts: Attempts, path: str, failure: Failure) -> Step:
        """Wait out a rate limit while the request's budget (total seconds and number of
        waits) allows; past it the task layer waits and tries again later."""
        if attempts.waits >= self.max_rate_limit_waits:
            note = f"still refused after {attempts.waits} waits of {attempts.waited:g} s in all"
            return self._raise(attempts.method, path, failure, note)
        if attempts.waited + failure.wait > self.max_rate_limit_wait:
            return self._raise(attempts.method, path, failure)
        attempts.waited += failure.wait
        attempts.waits += 1
        return Step(Action.WAIT, failure.wait)

    def _retry(self, attempts: Attempts, path: str, failure: Failure) -> Step:
        if failure.resolution.reached and attempts.method not in SAFE_METHODS:
            return Step(Action.RAISE, error=self._ambiguous(attempts.method, path, failure))
        attempts.failures += 1
        if attempts.failures > self.retries:
            return self._raise(attempts.method, path, failure)
        ceiling = min(self.backoff_max, self.backoff * (2 ** (attempts.failures - 1)))
        return Step(Action.RETRY, self.jitter(0, ceiling))

    def _raise(self, method: str, path: str, failure: Failure, note: str = "") -> Step:
        resolution = failure.resolution
        error_class = resolution.error or ERROR_CLASSES[resolution.kind]
        reason = resolution.reason
        if failure.exception or note:
            reason = f"{reason} ({failure.exception or note})"
        error = error_class(
            reason, api=self.api, method=method, path=path,
            status=failure.status, vendor=failure.vendor,
        )  # fmt: skip
        if isinstance(error, ApiTransientError) and resolution.kind is Kind.RATE_LIMITED:
            error.retry_after = failure.wait
        return Step(Action.RAISE, error=error)

    def _ambiguous(self, method: str, path: str, failure: Failure) -> AmbiguousWriteError:
        """A write that may have happened: never sent again blindly (R-6.1)."""
        what = failure.resolution.on_write or f"{failure.resolution.reason} while writing"
        return AmbiguousWriteError(
            f"{what}, so the write may have happened: look the record up before creating "
            "it again",
            api=self.api, method=method, path=path, status=failure.status, vendor=failure.vendor,
        )  # fmt: skip

    def _take(self, step: Step) -> None:
        if step.error is not None:
            raise step.error
        if step.action is Action.REFRESH and self.auth is not None:
            self.auth.invalidate()
        else:
            self.sleep(step.seconds)

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return _json_of(self.request("GET", path, params=params), self.api, path)

    def json_of(self, response: requests.Response, path: str) -> Any:
        """The JSON body of a 2xx answer, or :class:`MalformedResponse` (never a bare
        ``JSONDecodeError``, whose text would say nothing about which call failed)."""
        return _json_of(response, self.api, path)


def _merged(request: Any, session: Any, dict_class: type = OrderedDict) -> Any:
    """``requests``' own rule for a request's setting over the session's (typed)."""
    return merge_setting(request, session, dict_class=dict_class)  # type: ignore[no-untyped-call]


def _json_of(response: requests.Response, api: Side, path: str) -> Any:
    try:
        return response.json()
    except ValueError:  # also a body cut off mid-way, or bytes that are not UTF-8
        raise malformed(
            Unreadable.NOT_JSON,
            api=api,
            method=response.request.method or "GET",
            path=path,
            status=response.status_code,
        ) from None
