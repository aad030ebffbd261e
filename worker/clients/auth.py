"""Authentication of both clients as ``requests`` auth objects with shared, locked renewal.

* Severa: client credentials (``POST /v1/token``). The token lasts an hour; it is cached
  per connection in Redis (encrypted) and renewed a few minutes before expiry. We re-issue
  with client credentials rather than using ``/v1/refreshtoken``: that is what working
  clients do, and it cannot be broken by refresh-token rotation (severa-notes §2.3).
* eEkonomi: OAuth2 authorization code (see :mod:`worker.clients.oauth` for the consent
  flow). Refresh tokens rotate and are single-use: the refresh runs under the
  connection's lock and the new pair is stored in one write before it is used, so two
  workers refreshing at once never leave the connection with a dead token.
  ``invalid_grant`` marks the connection *needs re-authorization* and raises
  :class:`~worker.clients.http.NeedsReauthorization` — never retried.

Both implement ``invalidate()``: after a 401 the transport calls it, and the next
request renews unless another process already has.

A stored token no known key can decrypt (``SECRET_KEY`` changed without the old key in
``SECRET_KEY_PREVIOUS``): Severa's is simply fetched again with the client credentials
(one log line); eEkonomi's cannot be, so the run stops with what to do.
"""

from __future__ import annotations

import base64
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import requests

from schemas.sides import Side
from worker.clients.http import (
    AmbiguousWriteError,
    ApiConfigError,
    ApiError,
    MalformedResponse,
    NeedsReauthorization,
    Unreadable,
    malformed,
)
from worker.clients.tokens import TokenSet, TokenStore
from worker.clients.transport import ApiTransport
from worker.connection_status import (
    NEEDS_REAUTHORIZATION,
    get_status,
    mark_needs_reauthorization,
    mark_ok,
)
from worker.crypto import UnreadableSecret

log = logging.getLogger(__name__)

#: Renew this many seconds before the access token expires.
RENEW_MARGIN = 300.0

#: Scopes the sync needs from Severa (severa-notes §9; ``organization:read`` for the
#: organization settings: next numbers, payment-reference style).
SEVERA_SCOPES = (
    "customers:read customers:write settings:read settings:write projects:read "
    "fees:read fees:write travels:read invoices:read invoices:write hours:read "
    "organization:read"
)


class _CachedBearer(requests.auth.AuthBase):
    """Common part: keep the token in memory, fall back to the store, renew when stale."""

    def __init__(self, store: TokenStore, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock
        self._tokens: TokenSet | None = None
        self._rejected: str | None = None

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.access_token()}"
        return request

    def invalidate(self) -> None:
        """The API rejected the current access token: do not use it again."""
        if self._tokens is not None:
            self._rejected = self._tokens.access_token
        self._tokens = None

    def access_token(self) -> str:
        tokens = self._tokens
        if tokens is None or not tokens.fresh(RENEW_MARGIN, self.clock()):
            tokens = self._usable(self._stored_if_readable())
            if tokens is None:
                with self.store.renewal_lock():
                    # Another process may have renewed while we waited for the lock.
                    current = self._stored()
                    tokens = self._usable(current) or self._renew(current)
            self._tokens = tokens
        return tokens.access_token

    def _stored_if_readable(self) -> TokenSet | None:
        """Outside the lock an unreadable token is just "no usable token": the decision
        is taken once, inside the lock, by :meth:`_stored`."""
        try:
            return self.store.load()
        except UnreadableSecret:
            return None

    def _stored(self) -> TokenSet | None:
        try:
            return self.store.load()
        except UnreadableSecret:
            return self._unreadable()

    def _unreadable(self) -> TokenSet | None:
        """What to do with a stored token no known key opens (called under the lock)."""
        raise NotImplementedError

    def _usable(self, tokens: TokenSet | None) -> TokenSet | None:
        if tokens is None or tokens.access_token == self._rejected:
            return None
        return tokens if tokens.fresh(RENEW_MARGIN, self.clock()) else None

    def _renew(self, current: TokenSet | None) -> TokenSet:
        raise NotImplementedError


class SeveraAuth(_CachedBearer):
    """Bearer token from Severa's client-credentials endpoint, plus the ``Client_Id`` header."""

    def __init__(
        self,
        *,
        transport: ApiTransport,
        client_id: str,
        client_secret: str,
        store: TokenStore,
        scopes: str = SEVERA_SCOPES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(store, clock)
        self.transport = transport
        self.client_id = client_id
        self._client_secret = client_secret
        self.scopes = scopes

    def __repr__(self) -> str:
        return f"SeveraAuth(client_id={self.client_id!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Client_Id"] = self.client_id
        return super().__call__(request)

    def _unreadable(self) -> TokenSet | None:
        # A Severa token comes from the client credentials alone: fetch a new one (the
        # renewal overwrites the unreadable value) rather than stop the connection.
        log.warning(
            "the stored Severa token of connection %r cannot be decrypted with SECRET_KEY "
            "or SECRET_KEY_PREVIOUS; fetching a new one with the client credentials",
            self.store.connection_id,
        )
        return None

    def _renew(self, current: TokenSet | None) -> TokenSet:
        # Field names as the API document's ClientCredentials spells them (working clients
        # send client_Id/client_Secret; Severa matches names case-insensitively, but the
        # document is the contract). The document's security also names the Client_Id
        # header for this call, and it puts the call in the client's rate-limit bucket.
        body = {
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "scope": self.scopes,
        }
        for attempt in range(3):
            try:
                response = self.transport.request(
                    "POST", "/v1/token", json_body=body, headers={"Client_Id": self.client_id}
                )
                break
            except AmbiguousWriteError:
                # Asking for a token twice is harmless (unlike creating a record).
                if attempt == 2:
                    raise
            except ApiError as exc:
                if exc.status in (400, 401, 403):
                    raise ApiConfigError(
                        "Severa rejected the client credentials: check SEVERA_CLIENT_ID and "
                        "SEVERA_CLIENT_SECRET, and the scopes ticked for them in Severa",
                        api=Side.SEVERA, method="POST", path="/v1/token", status=exc.status,
                        vendor=exc.vendor,
                    ) from None  # fmt: skip
                raise
        payload = checked_token_answer(
            self.transport, response, "/v1/token", "access_token_expires_in"
        )
        expires_in = float(payload.get("access_token_expires_in") or 3600)
        now = self.clock()
        tokens = TokenSet(
            access_token=str(payload["access_token"]),
            expires_at=now + expires_in,
            scope=str(payload.get("scope") or self.scopes),
            issued_at=now,
        )
        self.store.save(tokens)
        return tokens


class EEkonomiAuth(_CachedBearer):
    """Bearer token from eEkonomi's identity server, refreshed with rotating refresh tokens."""

    def __init__(
        self,
        *,
        identity: ApiTransport,
        client_id: str,
        client_secret: str,
        store: TokenStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(store, clock)
        self.identity = identity
        self.client_id = client_id
        self._client_secret = client_secret

    def __repr__(self) -> str:
        return f"EEkonomiAuth(client_id={self.client_id!r})"

    def _unreadable(self) -> TokenSet | None:
        # Not marked "needs re-authorization": restoring the old key is a fix too, and
        # that state would block the connection until `connect` ran anyway.
        connection_id = self.store.connection_id
        raise NeedsReauthorization(
            f"the stored eEkonomi authorization of connection {connection_id!r} cannot be "
            "decrypted with SECRET_KEY or SECRET_KEY_PREVIOUS. If SECRET_KEY was changed, "
            "put the former key in SECRET_KEY_PREVIOUS and restart; otherwise re-authorize: "
            f"`python -m worker connect --connection {connection_id}`"
        )

    def _renew(self, current: TokenSet | None) -> TokenSet:
        status = get_status(self.store.client, self.store.connection_id)
        if status.state == NEEDS_REAUTHORIZATION:
            # The identity server already refused this refresh token (in this process or
            # another): asking again cannot succeed, so stop with the same message.
            raise NeedsReauthorization(status.reason or "eEkonomi needs re-authorization")
        if current is None or not current.refresh_token:
            raise self._needs_reauthorization(
                "no eEkonomi authorization is stored for this connection: run "
                "`python -m worker connect`"
            )
        try:
            payload = token_request(
                self.identity,
                self.client_id,
                self._client_secret,
                {"grant_type": "refresh_token", "refresh_token": current.refresh_token},
            )
        except ApiConfigError as exc:
            if exc.vendor.code == "invalid_grant":
                raise self._needs_reauthorization(exc.reason) from None
            raise
        tokens = tokens_from(payload, self.clock(), company=current.company, previous=current)
        # Store first: the old refresh token is already dead on the server.
        self.store.save(tokens)
        return tokens

    def _needs_reauthorization(self, reason: str) -> NeedsReauthorization:
        mark_needs_reauthorization(self.store.client, self.store.connection_id, reason)
        return NeedsReauthorization(reason)


def token_request(
    identity: ApiTransport, client_id: str, client_secret: str, form: dict[str, str]
) -> dict[str, Any]:
    """POST to ``/connect/token`` with HTTP Basic client authentication.

    Not retried on an ambiguous failure: a refresh grant that reached the server has
    already rotated the token, and repeating it would present a dead one.
    """
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
    response = identity.request(
        "POST", "/connect/token", form=form, headers={"Authorization": f"Basic {basic}"}
    )
    return checked_token_answer(identity, response, "/connect/token", "expires_in")


def checked_token_answer(
    transport: ApiTransport, response: requests.Response, path: str, lifetime: str
) -> dict[str, Any]:
    """A token endpoint's answer, once it is known to hold what we use: an object with a
    text ``access_token``, a positive number of seconds under ``lifetime`` (or none), and
    text (or no) ``refresh_token`` and ``scope``. HTML, ``{}``, a list or a field of the
    wrong type is a :class:`~worker.clients.http.MalformedResponse`, never a bare
    ``KeyError`` or ``ValueError`` from deep inside the renewal."""
    payload = transport.json_of(response, path)

    def unusable(detail: str) -> MalformedResponse:
        return malformed(
            Unreadable.TOKEN, api=transport.api, method="POST", path=path,
            status=response.status_code, detail=detail,
        )  # fmt: skip

    if not isinstance(payload, dict):
        raise unusable("not an object")
    if not isinstance(payload.get("access_token"), str) or not payload["access_token"]:
        raise unusable("no access_token text")
    for name in ("refresh_token", "scope"):
        if payload.get(name) is not None and not isinstance(payload[name], str):
            raise unusable(f"{name} is not text")
    seconds = payload.get(lifetime)
    if seconds is not None and not _positive_seconds(seconds):
        raise unusable(f"{lifetime} is not a number of seconds")
    return payload


def _positive_seconds(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return False
    try:
        seconds = float(value)
    except ValueError:
        return False
    return math.isfinite(seconds) and seconds > 0


def tokens_from(
    payload: dict[str, Any],
    now: float,
    *,
    company: dict[str, Any] | None = None,
    previous: TokenSet | None = None,
) -> TokenSet:
    """A :class:`TokenSet` from an OAuth token response (keeps the refresh token when the
    server did not rotate it)."""
    refresh = payload.get("refresh_token") or (previous.refresh_token if previous else None)
    return TokenSet(
        access_token=str(payload["access_token"]),
        expires_at=now + float(payload.get("expires_in") or 3600),
        refresh_token=refresh,
        scope=str(payload.get("scope") or (previous.scope if previous else "")),
        company=company or {},
    )


def save_authorization(store: TokenStore, tokens: TokenSet) -> None:
    """Store a fresh authorization and clear a *needs re-authorization* state."""
    store.save(tokens)
    mark_ok(store.client, store.connection_id)


__all__ = [
    "SEVERA_SCOPES",
    "EEkonomiAuth",
    "SeveraAuth",
    "save_authorization",
    "token_request",
    "tokens_from",
]
