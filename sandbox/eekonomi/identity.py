"""Visma's identity server, as the product meets it: the OAuth2 authorization-code flow.

What breaks integrations is modelled on purpose: a login page and a company picker (the
token is bound to the one company picked), codes that live five minutes and work once
(a replayed code revokes what it produced), PKCE, access tokens that expire after an
hour, and refresh tokens that **rotate and are single-use** (reuse → ``invalid_grant``;
the ``refresh_grace_seconds`` switch allows a grace window). Client authentication by
HTTP Basic or form fields, errors as IdentityServer words them.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import urlsplit

from sandbox.core.clock import Clock
from sandbox.core.http import Request, Response
from sandbox.core.store import Record
from sandbox.eekonomi.constants import (
    ACCESS_TOKEN_LIFETIME,
    CODE_LIFETIME,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    KNOWN_SCOPES,
    LOGIN_LIFETIME,
)
from sandbox.eekonomi.pages import company_page, error_page, login_page, oauth_error, redirect
from sandbox.eekonomi.store import Company
from sandbox.eekonomi.switches import EEkonomiSwitches

EXPIRED = "Inloggningen har gått ut. Börja om."


@dataclass
class OAuthClient:
    client_id: str
    secret: str
    redirect_uris: tuple[str, ...] = ()
    loopback_redirects: bool = False

    def accepts_redirect(self, uri: str) -> bool:
        """Registered URIs match exactly; the demo client takes any loopback http URI
        (any port, any path), as a developer's local callback listener needs."""
        if uri in self.redirect_uris:
            return True
        if not self.loopback_redirects:
            return False
        parts = urlsplit(uri)
        return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")


@dataclass
class User:
    email: str
    password: str
    companies: tuple[str, ...]


@dataclass
class Grant:
    """What a consent produced: shared by the code, the access and the refresh tokens."""

    client_id: str
    user: str
    company_id: str
    scopes: frozenset[str]


@dataclass
class LoginTx:
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    state: str | None
    force_picker: bool
    code_challenge: str | None
    code_challenge_method: str
    created: datetime
    user: str | None = None


@dataclass
class AuthCode:
    grant: Grant
    redirect_uri: str
    expires_at: datetime
    code_challenge: str | None
    code_challenge_method: str
    used: bool = False


@dataclass
class AccessToken:
    grant: Grant
    expires_at: datetime


@dataclass
class RefreshToken:
    grant: Grant
    revoked_at: datetime | None = None


class Host(Protocol):
    """What the identity server needs of the app that serves it."""

    switches: EEkonomiSwitches
    companies: dict[str, Company]
    lock: threading.RLock

    @property
    def clock(self) -> Clock: ...


class IdentityServer:
    """``/connect/authorize``, ``/connect/login``, ``/connect/company``, ``/connect/token``."""

    def __init__(self, host: Host, users: Mapping[str, User]) -> None:
        self.host = host
        self.clients: dict[str, OAuthClient] = {
            DEMO_CLIENT_ID: OAuthClient(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, loopback_redirects=True)
        }
        self.users = dict(users)
        self.logins: dict[str, LoginTx] = {}
        self.codes: dict[str, AuthCode] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}

    def routes(self) -> list[tuple[str, str, Callable[[Request], Response]]]:
        return [
            ("GET", "/connect/authorize", self.authorize),
            ("POST", "/connect/login", self.login),
            ("POST", "/connect/company", self.pick_company),
            ("POST", "/connect/token", self.token),
        ]

    def now(self) -> datetime:
        return self.host.clock.now()

    # -- the browser part ------------------------------------------------------------

    def authorize(self, request: Request) -> Response:
        redirect_uri = request.arg("redirect_uri") or ""
        client = self.clients.get(request.arg("client_id") or "")
        if client is None:
            return error_page("Okänd klient (invalid_client).")
        if not client.accepts_redirect(redirect_uri):
            return error_page("Ogiltig redirect_uri (invalid_request).")
        state = request.arg("state")
        if (request.arg("response_type") or "") != "code":
            return redirect(redirect_uri, error="unsupported_response_type", state=state)
        scopes = frozenset((request.arg("scope") or "").split())
        if not scopes or not scopes <= KNOWN_SCOPES or "ea:api" not in scopes:
            return redirect(redirect_uri, error="invalid_scope", state=state)
        method = request.arg("code_challenge_method") or "plain"
        if request.arg("code_challenge") and method not in ("plain", "S256"):
            return redirect(redirect_uri, error="invalid_request", state=state)
        acr = (request.arg("acr_values") or "").replace("+", " ").split()
        tx_id = secrets.token_urlsafe(18)
        with self.host.lock:
            self._expire_logins()
            self.logins[tx_id] = LoginTx(
                client_id=client.client_id,
                redirect_uri=redirect_uri,
                scopes=scopes,
                state=state,
                force_picker="forceselectcompany:true" in acr
                or request.arg("prompt") == "select_account",
                code_challenge=request.arg("code_challenge"),
                code_challenge_method=method,
                created=self.now(),
            )
        return login_page(tx_id)

    def _expire_logins(self) -> None:
        now = self.now()
        cutoff = now - timedelta(seconds=LOGIN_LIFETIME)
        for tx_id in [k for k, v in self.logins.items() if v.created < cutoff]:
            del self.logins[tx_id]
        stale = now - timedelta(seconds=CODE_LIFETIME)
        for code in [k for k, v in self.codes.items() if v.expires_at < stale]:
            del self.codes[code]

    def login(self, request: Request) -> Response:
        form = request.form()
        with self.host.lock:
            tx = self.logins.get(form.get("tx", ""))
            if tx is None:
                return error_page(EXPIRED)
            user = self.users.get(form.get("email", "").strip().lower())
            if user is None or not secrets.compare_digest(user.password, form.get("password", "")):
                return login_page(form["tx"], "Fel e-postadress eller lösenord.")
            tx.user = user.email
            default = self.host.switches.default_company
            if len(user.companies) == 1:
                return self._consent_done(form["tx"], tx, user.companies[0])
            if default is not None and default in user.companies and not tx.force_picker:
                return self._consent_done(form["tx"], tx, default)
            return self._picker(form["tx"], user)

    def _picker(self, tx_id: str, user: User) -> Response:
        companies = self.host.companies
        return company_page(
            tx_id,
            (
                (c, companies[c].name, companies[c].settings.get("CorporateIdentityNumber") or "")
                for c in user.companies
            ),
        )

    def pick_company(self, request: Request) -> Response:
        form = request.form()
        with self.host.lock:
            tx = self.logins.get(form.get("tx", ""))
            if tx is None or tx.user is None:
                return error_page(EXPIRED)
            if form.get("decision", "allow") == "deny":
                del self.logins[form["tx"]]
                return redirect(tx.redirect_uri, error="access_denied", state=tx.state)
            user = self.users[tx.user]
            chosen = form.get("company", "")
            if chosen not in user.companies:
                return self._picker(form["tx"], user)
            return self._consent_done(form["tx"], tx, chosen)

    def _consent_done(self, tx_id: str, tx: LoginTx, company_id: str) -> Response:
        assert tx.user is not None  # noqa: S101 - only called after login
        del self.logins[tx_id]
        code = secrets.token_urlsafe(32)
        self.codes[code] = AuthCode(
            grant=Grant(tx.client_id, tx.user, company_id, tx.scopes),
            redirect_uri=tx.redirect_uri,
            expires_at=self.now() + timedelta(seconds=CODE_LIFETIME),
            code_challenge=tx.code_challenge,
            code_challenge_method=tx.code_challenge_method,
        )
        return redirect(tx.redirect_uri, code=code, state=tx.state)

    # -- the token endpoint --------------------------------------------------------------

    def _client(self, request: Request, form: dict[str, str]) -> OAuthClient | None:
        """The authenticated client: HTTP Basic, or ``client_id``/``client_secret`` fields."""
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("Authorization") or ""
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return None
            client_id, _, secret = decoded.partition(":")
        client = self.clients.get(client_id or "")
        if client is None or not secrets.compare_digest(client.secret, secret or ""):
            return None
        return client

    def token(self, request: Request) -> Response:
        form = request.form()
        client = self._client(request, form)
        if client is None:
            return oauth_error("invalid_client")
        grant_type = form.get("grant_type")
        with self.host.lock:
            if grant_type == "authorization_code":
                return self._token_from_code(client, form)
            if grant_type == "refresh_token":
                return self._token_from_refresh(client, form)
        return oauth_error("unsupported_grant_type")

    def _token_from_code(self, client: OAuthClient, form: dict[str, str]) -> Response:
        issued = self.codes.get(form.get("code", ""))
        if issued is None or issued.used or issued.expires_at <= self.now():
            if issued is not None and issued.used:
                # A replayed code also kills what it produced (RFC 6749 §4.1.2).
                self.revoke_where(lambda g: g is issued.grant)
            return oauth_error("invalid_grant")
        if issued.grant.client_id != client.client_id:
            return oauth_error("invalid_grant")
        if form.get("redirect_uri") != issued.redirect_uri:
            return oauth_error("invalid_grant", "redirect_uri does not match")
        if issued.code_challenge and not _pkce_ok(issued, form.get("code_verifier") or ""):
            return oauth_error("invalid_grant", "code_verifier does not match")
        issued.used = True
        return self._issue(issued.grant)

    def _token_from_refresh(self, client: OAuthClient, form: dict[str, str]) -> Response:
        presented = self.refresh_tokens.get(form.get("refresh_token", ""))
        if presented is None or presented.grant.client_id != client.client_id:
            return oauth_error("invalid_grant")
        now = self.now()
        if presented.revoked_at is not None:
            grace = timedelta(seconds=self.host.switches.refresh_grace_seconds)
            if grace <= timedelta(0) or now - presented.revoked_at > grace:
                return oauth_error("invalid_grant")
        else:
            presented.revoked_at = now
        return self._issue(presented.grant)

    def _issue(self, grant: Grant) -> Response:
        access = secrets.token_urlsafe(40)
        expires = self.now() + timedelta(seconds=ACCESS_TOKEN_LIFETIME)
        self.access_tokens[access] = AccessToken(grant, expires)
        payload: Record = {
            "access_token": access,
            "expires_in": int(ACCESS_TOKEN_LIFETIME),
            "token_type": "Bearer",
            "scope": " ".join(sorted(grant.scopes)),
        }
        if "offline_access" in grant.scopes:
            refresh = secrets.token_urlsafe(40)
            self.refresh_tokens[refresh] = RefreshToken(grant)
            payload["refresh_token"] = refresh
        return Response.json(200, payload, [("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    # -- what the API and the back office ask ----------------------------------------------

    def grant_of(self, header: str) -> tuple[Grant | None, bool]:
        """The grant of a valid ``Authorization: Bearer`` header, and whether a token was
        presented at all (an unknown or expired one is ``(None, True)``)."""
        scheme, _, token = header.partition(" ")
        token = token.strip()
        issued = self.access_tokens.get(token) if scheme.lower() == "bearer" else None
        if issued is None or issued.expires_at <= self.now():
            return None, bool(token)
        return issued.grant, True

    def company_of(self, header: str) -> str | None:
        """The company a bearer token was issued for (expired or not); for the log."""
        scheme, _, token = header.partition(" ")
        issued = self.access_tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        return issued.grant.company_id if issued is not None else None

    def revoke_where(self, predicate: Callable[[Grant], bool]) -> int:
        """Revoke refresh tokens (and end access tokens) whose grant matches; how many."""
        count = 0
        now = self.now()
        past_grace = now - timedelta(seconds=self.host.switches.refresh_grace_seconds + 1)
        for refresh in self.refresh_tokens.values():
            if refresh.revoked_at is None and predicate(refresh.grant):
                refresh.revoked_at = past_grace
                count += 1
        for access in self.access_tokens.values():
            if predicate(access.grant):
                access.expires_at = min(access.expires_at, now)
        return count

    def expire_tokens(self, company_id: str | None = None) -> int:
        """Every live access token (of ``company_id``, if given) expires now; how many."""
        now = self.now()
        count = 0
        for access in self.access_tokens.values():
            if access.expires_at > now and company_id in (None, access.grant.company_id):
                access.expires_at = now
                count += 1
        return count


def _pkce_ok(issued: AuthCode, verifier: str) -> bool:
    if issued.code_challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    else:
        computed = verifier
    return secrets.compare_digest(computed, issued.code_challenge or "")
