"""eEkonomi consent (R-2.6, R-3.0): the OAuth2 authorization-code flow.

The functions here are the flow itself, reusable by the CLI's ``connect`` command and a
future web page alike:

1. :func:`begin_authorization` makes a single-use ``state`` (kept in Redis for ten
   minutes, bound to the connection) and the authorize URL the user opens.
2. The identity server sends the browser back to ``EEKONOMI_REDIRECT_URI`` with
   ``code`` and ``state``.
3. :func:`complete_authorization` consumes the state (a replayed or foreign callback is
   refused), exchanges the code, reads ``/companysettings`` to learn which company was
   picked, and stores the tokens encrypted — clearing a *needs re-authorization* state.

:func:`wait_for_callback` is the CLI's local receiver for step 2. In demo mode
:func:`demo_consent` plays the user against the eEkonomi sandbox: it fills the sandbox's
login and company forms with the demo user, so the demo runs this same code path.
"""

from __future__ import annotations

import html.parser
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import redis
import requests

from config import Settings
from worker.clients.auth import save_authorization, token_request, tokens_from
from worker.clients.eekonomi import EEkonomiClient
from worker.clients.factory import identity_transport
from worker.clients.http import ApiConfigError
from worker.clients.tokens import TokenStore
from worker.errors import ConfigError
from worker.keys import key

#: What the sync asks eEkonomi for (eaccounting-notes §2).
EEKONOMI_SCOPES = "ea:api offline_access ea:sales ea:accounting ea:purchase"
STATE_TTL = 600


class AuthorizationFailed(ConfigError):
    """The consent did not complete (refused, wrong state, code exchange failed)."""


@dataclass(frozen=True)
class Company:
    """The eEkonomi company a consent is bound to (from ``/companysettings``)."""

    name: str
    corporate_identity_number: str = ""
    company_identifier: str = ""
    country_code: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "CorporateIdentityNumber": self.corporate_identity_number,
            "CompanyIdentifier": self.company_identifier,
            "CountryCode": self.country_code,
        }


def authorize_url(settings: Settings, state: str) -> str:
    query = {
        "client_id": settings.eekonomi_client_id,
        "redirect_uri": settings.eekonomi_redirect_uri,
        "scope": EEKONOMI_SCOPES,
        "state": state,
        "response_type": "code",
        "prompt": "select_account",
        "acr_values": "forceselectcompany:true",
    }
    return f"{settings.eekonomi_identity_url.rstrip('/')}/connect/authorize?{urlencode(query)}"


def begin_authorization(
    client: redis.Redis, settings: Settings, connection_id: str
) -> tuple[str, str]:
    """Return ``(authorize_url, state)``; the state is valid once, for ten minutes."""
    state = secrets.token_urlsafe(24)
    client.set(key(connection_id, "oauth-state", state), "1", ex=STATE_TTL)
    return authorize_url(settings, state), state


def complete_authorization(
    client: redis.Redis,
    settings: Settings,
    connection_id: str,
    *,
    code: str,
    state: str,
    store: TokenStore,
    session: requests.Session,
) -> Company:
    """Finish the flow for a callback's ``code`` and ``state``; return the company."""
    if not client.delete(key(connection_id, "oauth-state", state)):
        raise AuthorizationFailed(
            "the authorization answer does not belong to a consent started here (unknown, "
            "expired or reused state): start `connect` again"
        )
    try:
        payload = token_request(
            identity_transport(settings, session, connection_id),
            settings.eekonomi_client_id,
            settings.eekonomi_client_secret,
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": settings.eekonomi_redirect_uri,
            },
        )
    except ApiConfigError as exc:
        if exc.vendor.code != "invalid_grant":
            raise
        # Not the refresh-token message of the table: here the *code* was refused.
        raise AuthorizationFailed(
            "eEkonomi refused the authorization code (it lives five minutes and works "
            "once, and the redirect URI must match EEKONOMI_REDIRECT_URI): start "
            "`connect` again"
        ) from None
    tokens = tokens_from(payload, time.time())
    probe = EEkonomiClient(
        base_url=settings.eekonomi_api_url,
        session=session,
        auth=_StaticBearer(tokens.access_token),
        timeout=settings.http_timeout,
        connection_id=connection_id,
    )
    company_settings = probe.get_company_settings()
    company = Company(
        name=str(company_settings.get("Name") or ""),
        corporate_identity_number=str(company_settings.get("CorporateIdentityNumber") or ""),
        company_identifier=str(company_settings.get("CompanyIdentifier") or ""),
        country_code=str(company_settings.get("CountryCode") or ""),
    )
    save_authorization(
        store,
        tokens_from(payload, time.time(), company=company.as_dict()),
    )
    return company


class _StaticBearer(requests.auth.AuthBase):
    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def invalidate(self) -> None:
        """A brand-new token that is refused cannot be renewed here; the call fails."""


# -- the CLI's callback receiver -----------------------------------------------------------


@dataclass
class Callback:
    """What the identity server sent back. ``repr`` hides the code: it is a credential
    for five minutes, and a callback may end up in an error message or a log."""

    code: str | None = field(default=None, repr=False)
    state: str | None = None
    error: str | None = None


def wait_for_callback(redirect_uri: str, timeout: float = 300.0) -> Callback:
    """Listen on the redirect URI's host and port for one callback; return its values."""
    parts = urlsplit(redirect_uri)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 80
    result = Callback()
    done = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Keep the terminal clean (and the code out of logs)."""

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            target = urlsplit(self.path)
            if target.path != (parts.path or "/"):
                self.send_error(404)
                return
            query = parse_qs(target.query)
            result.code = _first(query, "code")
            result.state = _first(query, "state")
            result.error = _first(query, "error")
            body = (
                b"<html><body><h1>eEkonomi connected</h1><p>You can close this window and "
                b"return to the terminal.</p></body></html>"
                if result.code
                else b"<html><body><h1>Authorization failed</h1></body></html>"
            )
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            done.set()

    server = HTTPServer((host, port), Handler)
    server.timeout = 0.5
    deadline = time.monotonic() + timeout
    try:
        while not done.is_set() and time.monotonic() < deadline:
            server.handle_request()
    finally:
        server.server_close()
    if not done.is_set():
        raise AuthorizationFailed(f"no answer from eEkonomi within {timeout:.0f}s")
    return result


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


# -- demo mode: answer the sandbox's consent forms -----------------------------------------


class _Form:
    def __init__(self, action: str, method: str) -> None:
        self.action = action
        self.method = method
        self.fields: list[dict[str, str]] = []
        self.labels: dict[str, str] = {}


class _FormParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[_Form] = []
        self._label_for: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(_Form(values.get("action", ""), values.get("method", "get")))
        elif tag in ("input", "select", "button") and self.forms:
            self.forms[-1].fields.append({"tag": tag, **values})
        elif tag == "option" and self.forms:
            self.forms[-1].fields.append({"tag": "option", **values})
        elif tag == "label":
            self._label_for = values.get("for")
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._label_for is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._label_for is not None and self.forms:
            self.forms[-1].labels[self._label_for] = "".join(self._text).strip()
            self._label_for = None


#: Submit-button values a person presses to refuse; the demo user never does.
_REFUSALS = frozenset({"deny", "cancel", "avbryt", "no", "nej", "reject"})


def _fill(form: _Form, email: str, password: str, company: str) -> dict[str, str]:
    """The form data a browser would send after the demo user filled ``form`` in.

    Like a browser, it sends hidden fields as they are, exactly one radio choice per
    group, and the name/value of the one button pressed — the allowing one — never the
    values of every submit control on the page.
    """
    data: dict[str, str] = {}
    radios: dict[str, list[dict[str, str]]] = {}
    buttons: list[dict[str, str]] = []
    for item in form.fields:
        kind = item.get("type", "submit" if item["tag"] == "button" else "text").lower()
        if kind == "submit":
            buttons.append(item)
            continue
        name = item.get("name")
        if not name or item["tag"] != "input":
            continue
        if kind == "radio":
            radios.setdefault(name, []).append(item)
        elif kind == "hidden":
            data[name] = item.get("value", "")
        elif kind == "password":
            data[name] = password
        elif kind == "email" or any(w in name.lower() for w in ("email", "user", "login")):
            data[name] = email
        elif kind == "checkbox":
            data[name] = item.get("value", "on")
        elif kind == "text":
            data.setdefault(name, item.get("value", ""))
    for name, options in radios.items():
        data[name] = _choose_company(form, options, company).get("value", "")
    pressed = next(
        (b for b in buttons if b.get("name") and b.get("value", "").lower() not in _REFUSALS),
        None,
    )
    if pressed is not None:
        data[pressed["name"]] = pressed.get("value", "")
    return data


def _choose_company(form: _Form, options: list[dict[str, str]], wanted: str) -> dict[str, str]:
    """The radio whose label names ``wanted``: best match first.

    A label reads ``Name (org. no)``. An option whose name *equals* ``wanted`` (or whose
    value is the company id) wins; otherwise the shortest label containing ``wanted`` —
    so "Demokonsult AB" picks "Demokonsult AB", never "Demokonsult Holding AB". No
    match is an error: consenting for some other company would bind the connection to
    the wrong books.
    """
    target = wanted.strip().casefold()

    def label(option: dict[str, str]) -> str:
        return form.labels.get(option.get("id", ""), "").strip()

    def name(option: dict[str, str]) -> str:
        return label(option).split(" (", 1)[0].strip().casefold()

    exact = [
        o
        for o in options
        if target in (name(o), label(o).casefold(), o.get("value", "").casefold())
    ]
    if exact:
        return exact[0]
    partial = sorted(
        (o for o in options if target in label(o).casefold()), key=lambda o: len(label(o))
    )
    if partial:
        return partial[0]
    offered = ", ".join(label(o) or o.get("value", "?") for o in options)
    raise AuthorizationFailed(
        f"the eEkonomi consent page offers no company named {wanted!r} (offered: {offered})"
    )


def demo_consent(
    settings: Settings,
    url: str,
    session: requests.Session,
    *,
    email: str = "demo@example.com",
    password: str = "demo",  # noqa: S107 - the sandbox's public demo login
    company: str = "Demokonsult AB",
) -> Callback:
    """Act as the demo user on the sandbox's consent pages; return the callback values.

    A sandbox that does not answer is a configuration problem (it is not running, or
    ``SANDBOX_EEKONOMI_PORT`` points elsewhere), reported as such rather than as a
    network traceback.
    """
    try:
        return _answer_consent_pages(settings, url, session, email, password, company)
    except requests.RequestException as exc:
        raise AuthorizationFailed(
            f"the eEkonomi sandbox at {settings.eekonomi_identity_url} did not answer "
            f"({type(exc).__name__}): start it with `python -m sandbox` (or `make run`)"
        ) from None


def _answer_consent_pages(
    settings: Settings,
    url: str,
    session: requests.Session,
    email: str,
    password: str,
    company: str,
) -> Callback:
    redirect = settings.eekonomi_redirect_uri
    response = session.get(url, timeout=settings.http_timeout, allow_redirects=False)
    for _ in range(6):
        location = response.headers.get("Location")
        if response.is_redirect and location:
            target = urljoin(response.url, location)
            if target.startswith(redirect):
                query = parse_qs(urlsplit(target).query)
                return Callback(
                    code=_first(query, "code"),
                    state=_first(query, "state"),
                    error=_first(query, "error"),
                )
            response = session.get(target, timeout=settings.http_timeout, allow_redirects=False)
            continue
        parser = _FormParser()
        parser.feed(response.text)
        if not parser.forms:
            break
        form = parser.forms[0]
        action = urljoin(response.url, form.action or response.url)
        data = _fill(form, email, password, company)
        if form.method.lower() == "post":
            response = session.post(
                action, data=data, timeout=settings.http_timeout, allow_redirects=False
            )
        else:
            response = session.get(
                action, params=data, timeout=settings.http_timeout, allow_redirects=False
            )
    raise AuthorizationFailed(
        f"the eEkonomi sandbox's consent pages did not lead back to {redirect} "
        f"(last answer HTTP {response.status_code})"
    )
