"""Severa's identity: client credentials, access and refresh tokens, scopes.

``POST /v1/token`` trades a client id and secret for an hour-long access token (an
HS512 JWT, as Severa's) and a refresh token; ``POST /v1/refreshtoken`` trades a refresh
token for a new pair and spends the old one. Data calls carry ``Authorization: Bearer``
and, optionally, a ``Client_Id`` header that must name the token's client. Each
organization issues and knows only its own tokens: a token of one organization is
unknown to every other, as on Severa, where credentials belong to one organization.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sandbox.core import Request, Response, utc_ms
from sandbox.severa.errors import (
    SeveraError,
    denied,
    detail,
    fail,
    header_mismatch,
    invalid,
    json_body,
)
from sandbox.severa.handlers import Ctx

if TYPE_CHECKING:
    from sandbox.severa.tenant import Organization

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


@dataclass
class Client:
    """One set of API credentials of an organization."""

    secret: str
    scopes: frozenset[str]
    user_guid: str | None = None


@dataclass
class Token:
    """An issued access or refresh token (looked up, not verified: expiry can be forced)."""

    client_id: str
    scopes: frozenset[str]
    expires: datetime


def parse_scopes(text: str) -> list[str]:
    """Scopes as Severa takes them: space- or comma-separated."""
    return [s for s in re.split(r"[\s,]+", text.strip()) if s]


# -- data calls ----------------------------------------------------------------------


def authenticate(org: Organization, request: Request) -> Ctx | None:
    """The context of a data call, or ``None`` without a valid bearer token; 401 when
    the ``Client_Id`` header is required and absent, or names another client."""
    token = bearer_token(request)
    found = org.access_tokens.get(token) if token else None
    if found is None or found.expires <= org.clock():
        return None
    client_header = request.headers.get("Client_Id")
    if client_header is None and org.switches.require_client_id_header:
        raise header_mismatch("The Client_Id header is required.")
    if client_header is not None and client_header.strip() != found.client_id:
        raise header_mismatch("The Client_Id header does not match the access token.")
    return Ctx(org, found.client_id, found.scopes)


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header (to find its organization)."""
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


# -- the token endpoints -------------------------------------------------------------


def post_token(org: Organization, request: Request) -> Response:
    """``POST /v1/token``: client credentials (field names in any case) for a pair."""
    body = json_body(request)
    if not isinstance(body, dict):
        raise invalid("The request body must be a ClientCredentials object.")
    fields_ = {str(k).lower(): v for k, v in body.items()}
    grant = str(fields_.get("grant_type") or "").lower()
    if grant == "refresh_token" and org.switches.token_refresh_grant:
        return _refresh(org, str(fields_.get("refresh_token") or ""))
    client_id, secret = _credentials(fields_)
    client = org.clients.get(client_id)
    if client is None or not hmac.compare_digest(client.secret, secret):
        raise denied("Invalid client credentials.")
    header = request.headers.get("Client_Id")
    if header is not None and header.strip() != client_id:
        raise header_mismatch("The Client_Id header does not match client_id.")
    return _issue(org, client_id, _granted(org, client, fields_.get("scope")))


def _credentials(fields_: dict[str, Any]) -> tuple[str, str]:
    client_id = fields_.get("client_id")
    secret = fields_.get("client_secret")
    missing = [
        name for name, value in (("client_id", client_id), ("client_secret", secret))
        if not isinstance(value, str) or not value
    ]  # fmt: skip
    if missing or not isinstance(client_id, str) or not isinstance(secret, str):
        raise SeveraError(
            400, "InvalidParameter",
            [detail(f"The {name} field is required.", "RequestBody", name) for name in missing],
        )  # fmt: skip
    return client_id, secret


def _granted(org: Organization, client: Client, requested: Any) -> frozenset[str]:
    """The scopes asked for (all of the client's when none): unknown ones are 400,
    ones the credentials lack are ``InsufficientApiScope``."""
    if not isinstance(requested, str) or not requested.strip():
        return client.scopes
    asked = set(parse_scopes(requested))
    unknown = sorted(s for s in asked if s not in ALL_SCOPES)
    if unknown:
        raise invalid(f"Unknown scope(s): {', '.join(unknown)}.", "scope")
    refused = sorted(asked - client.scopes)
    if refused:
        raise fail(
            org.switches.scope_error_status, "InsufficientApiScope",
            f"The client credentials do not allow the scope(s): {', '.join(refused)}.",
            "RequestBody", "scope",
        )  # fmt: skip
    return frozenset(asked)


def post_refresh_token(org: Organization, request: Request) -> Response:
    """``POST /v1/refreshtoken``: the body is the refresh token as a JSON string."""
    token = _refresh_value(json_body(request))
    if token is None:
        raise invalid("The body must be the refresh token as a JSON string.", "refreshToken")
    return _refresh(org, token)


def refresh_token_of(request: Request) -> str | None:
    """The refresh token a request presents, or ``None`` (to find its organization)."""
    try:
        return _refresh_value(json_body(request))
    except SeveraError:
        return None


def _refresh_value(body: Any) -> str | None:
    """A bare JSON string, or for tolerance ``{"refresh_token": ...}``."""
    if isinstance(body, dict):
        lowered = {str(k).lower(): v for k, v in body.items()}
        body = lowered.get("refresh_token") or lowered.get("refreshtoken")
    return body if isinstance(body, str) and body else None


def _refresh(org: Organization, token: str) -> Response:
    found = org.refresh_tokens.get(token)
    if found is None or found.expires <= org.clock():
        raise denied("The refresh token is invalid or expired.")
    if org.switches.rotate_refresh_tokens:
        del org.refresh_tokens[token]
    client = org.clients.get(found.client_id)
    if client is None:
        raise denied("The client credentials were removed.")
    return _issue(org, found.client_id, found.scopes & client.scopes)


def _issue(org: Organization, client_id: str, scopes: frozenset[str]) -> Response:
    now = org.clock().astimezone(UTC)
    switches = org.switches
    access_expires = now + timedelta(seconds=switches.access_token_seconds)
    refresh_expires = now + timedelta(days=switches.refresh_token_days)
    access = _jwt(org.jwt_key, client_id, scopes, now, access_expires)
    refresh = secrets.token_urlsafe(48)
    org.access_tokens[access] = Token(client_id, scopes, access_expires)
    org.refresh_tokens[refresh] = Token(client_id, scopes, refresh_expires)
    if len(org.access_tokens) > 10_000:
        for key in [k for k, t in org.access_tokens.items() if t.expires <= now]:
            del org.access_tokens[key]
    return Response.json(
        200,
        {
            "access_token": access,
            "access_token_type": "Bearer",
            "access_token_expires_in": switches.access_token_seconds,
            "access_token_expires_utc": utc_ms(access_expires),
            "refresh_token": refresh,
            "refresh_token_expires_in": switches.refresh_token_days * 86400,
            "refresh_token_expires_utc": utc_ms(refresh_expires),
            "scope": " ".join(sorted(scopes)),
        },
    )


def _jwt(key: bytes, client_id: str, scopes: frozenset[str], now: datetime, exp: datetime) -> str:
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
    signature = hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha512)
    return f"{header}.{payload}.{b64(signature.digest())}"


def expire(org: Organization) -> int:
    """Every issued access token expires now (refresh tokens stay valid)."""
    past = org.clock() - timedelta(seconds=1)
    for token in org.access_tokens.values():
        token.expires = past
    return len(org.access_tokens)


# -- heartbeats ----------------------------------------------------------------------


def heartbeat(org: Organization, request: Request) -> Response:
    return Response.text(200, "OK")


def heartbeat_authorized(org: Organization, request: Request) -> Response:
    """204 with a valid bearer token, else 401 (no rate limit, no scope)."""
    try:
        ctx = authenticate(org, request)
    except SeveraError as exc:
        return org.answer(exc)
    if ctx is None:
        return org.answer(denied("Authorization has been denied."))
    return Response.empty(204)


#: Unauthenticated ``/rest-api/v1`` routes (rate-limited by the ``Client_Id`` header).
PUBLIC_ROUTES: tuple[tuple[str, str, Callable[[Organization, Request], Response]], ...] = (
    ("POST", "/token", post_token),
    ("POST", "/refreshtoken", post_refresh_token),
)

#: Heartbeats, under ``/rest-api`` and without it (no version, no rate limit).
HEARTBEATS: tuple[tuple[str, Callable[[Organization, Request], Response]], ...] = (
    ("/heartbeat/server", heartbeat),
    ("/heartbeat/database", heartbeat),
    ("/heartbeat/authorized", heartbeat_authorized),
)
