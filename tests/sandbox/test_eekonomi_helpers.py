"""Helpers shared by the eEkonomi sandbox tests: play the user on the consent pages,
get tokens, make API sessions, and check bodies against Visma's OpenAPI document.

They drive the HTML forms with ``requests`` and a small parser of their own: tests of the
sandbox must not lean on the product's client code.
"""

from __future__ import annotations

import functools
import html.parser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests

from sandbox.core import SandboxAdapter
from sandbox.eekonomi import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, EEkonomiSandbox

BASE = "http://eekonomi.test"
REDIRECT = "http://127.0.0.1:8765/callback"
FULL_SCOPE = "ea:api offline_access ea:sales ea:accounting ea:purchase"
SPEC_FILE = Path(__file__).resolve().parents[3] / "shared" / "apis" / "eaccounting-v2.openapi.yaml"


def session_for(app: EEkonomiSandbox) -> requests.Session:
    session = requests.Session()
    session.mount(f"{BASE}/", SandboxAdapter(app))
    return session


class Form:
    def __init__(self, action: str, method: str) -> None:
        self.action = action
        self.method = method
        self.inputs: list[dict[str, str]] = []
        self.labels: dict[str, str] = {}


class FormParser(html.parser.HTMLParser):
    """Just enough HTML parsing to find forms, their inputs and the labels of radios."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._label: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get")))
        elif tag in ("input", "button") and self.forms:
            self.forms[-1].inputs.append({"tag": tag, **values})
        elif tag == "label":
            self._label, self._text = values.get("for"), []

    def handle_data(self, data: str) -> None:
        if self._label is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._label is not None and self.forms:
            self.forms[-1].labels[self._label] = "".join(self._text).strip()
            self._label = None


def first_form(response: requests.Response) -> Form:
    parser = FormParser()
    parser.feed(response.text)
    assert parser.forms, f"no form on the page (HTTP {response.status_code}): {response.text[:300]}"
    return parser.forms[0]


def authorize_url(scope: str = FULL_SCOPE, state: str = "st-1", **extra: str) -> str:
    query = {
        "client_id": DEMO_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": state,
        "response_type": "code",
        **extra,
    }
    return requests.Request("GET", f"{BASE}/connect/authorize", params=query).prepare().url or ""


def login(
    session: requests.Session,
    url: str,
    email: str = "demo@example.com",
    password: str = "demo",  # noqa: S107 - the sandbox's public demo login
) -> requests.Response:
    """Open the authorize URL and submit the login form; return the answer to the login."""
    page = session.get(url, allow_redirects=False)
    assert page.status_code == 200, page.text
    form = first_form(page)
    data = {i["name"]: i.get("value", "") for i in form.inputs if i.get("type") == "hidden"}
    data["email"], data["password"] = email, password
    return session.post(urljoin(page.url, form.action), data=data, allow_redirects=False)


def pick_company(
    session: requests.Session, page: requests.Response, company: str, decision: str = "allow"
) -> requests.Response:
    form = first_form(page)
    data = {i["name"]: i.get("value", "") for i in form.inputs if i.get("type") == "hidden"}
    radios = [i for i in form.inputs if i.get("type") == "radio"]
    chosen = next(r for r in radios if form.labels[r["id"]].split(" (")[0] == company)
    data[chosen["name"]] = chosen["value"]
    data["decision"] = decision
    return session.post(urljoin(page.url, form.action), data=data, allow_redirects=False)


def callback_params(response: requests.Response) -> dict[str, str]:
    assert response.status_code == 302, response.text
    location = response.headers["Location"]
    assert location.startswith(REDIRECT)
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def consent(
    session: requests.Session, company: str = "Demokonsult AB", scope: str = FULL_SCOPE
) -> str:
    """The whole consent through the HTML pages; returns the authorization code."""
    picked = pick_company(session, login(session, authorize_url(scope)), company)
    params = callback_params(picked)
    assert params["state"] == "st-1"
    return params["code"]


def exchange(session: requests.Session, code: str, redirect: str = REDIRECT) -> requests.Response:
    return session.post(
        f"{BASE}/connect/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect},
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
    )


def refresh(session: requests.Session, token: str) -> requests.Response:
    """Refresh with client authentication in the form body (the other documented way)."""
    return session.post(
        f"{BASE}/connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_id": DEMO_CLIENT_ID,
            "client_secret": DEMO_CLIENT_SECRET,
        },
    )


def tokens(
    app: EEkonomiSandbox, company: str = "Demokonsult AB", scope: str = FULL_SCOPE
) -> dict[str, Any]:
    session = session_for(app)
    answer = exchange(session, consent(session, company, scope))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def api_session(
    app: EEkonomiSandbox, company: str = "Demokonsult AB", scope: str = FULL_SCOPE
) -> requests.Session:
    """A session whose requests carry a bearer token for ``company``."""
    session = session_for(app)
    session.headers["Authorization"] = f"Bearer {tokens(app, company, scope)['access_token']}"
    return session


@functools.cache
def openapi() -> dict[str, Any]:
    if not SPEC_FILE.exists():
        pytest.skip(f"the OpenAPI document is not at {SPEC_FILE}")
    import yaml

    loaded: dict[str, Any] = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    return loaded


def assert_schema(body: Any, schema: str) -> None:
    """Validate ``body`` against ``components.schemas[schema]`` (types, required,
    additionalProperties, formats such as uuid and date-time)."""
    import jsonschema

    document = {"$ref": f"#/components/schemas/{schema}", "components": openapi()["components"]}
    validator = jsonschema.Draft202012Validator(
        document, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10]
    )
