"""The identity server's HTML pages and redirects, as a browser (or the product's demo
consent) meets them.

The product's demo fills these forms itself (``worker/clients/oauth.py``) and a person
may use them in a browser, so the form fields are stable and documented in
``sandbox/docs/eekonomi.md``: the login form (hidden ``tx``, ``email``, ``password``) and
the company picker (hidden ``tx``, radios ``company``, buttons ``decision``).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from urllib.parse import urlencode, urlsplit

from sandbox.core.http import Response
from sandbox.core.store import Record


def page(status: int, title: str, body: str) -> Response:
    document = f"""<!DOCTYPE html>
<html lang="sv"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>
<body><h1>{html.escape(title)}</h1>
{body}
</body></html>"""
    return Response.text(status, document, "text/html")


def error_page(text: str) -> Response:
    """A 400 page; the identity server shows these instead of redirecting when the
    client or its redirect URI cannot be trusted, or the login has expired."""
    return page(400, "Fel", f"<p>{html.escape(text)}</p>")


def redirect(uri: str, **params: str | None) -> Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "&" if urlsplit(uri).query else "?"
    return Response(302, b"", [("Location", f"{uri}{separator}{query}")])


def oauth_error(error: str, description: str | None = None) -> Response:
    """IdentityServer answers every token error with 400 and ``{"error": ...}``."""
    body: Record = {"error": error}
    if description:
        body["error_description"] = description
    return Response.json(400, body, [("Cache-Control", "no-store")])


def login_page(tx_id: str, error: str | None = None) -> Response:
    message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    body = f"""{message}
<form method="post" action="/connect/login">
  <input type="hidden" name="tx" value="{html.escape(tx_id)}">
  <p><label for="email">E-postadress</label>
     <input type="email" id="email" name="email" autocomplete="username"></p>
  <p><label for="password">Lösenord</label>
     <input type="password" id="password" name="password" autocomplete="current-password"></p>
  <p><button type="submit">Logga in</button></p>
</form>"""
    return page(200, "Logga in – Visma Online (sandbox)", body)


def company_page(tx_id: str, companies: Iterable[tuple[str, str, str]]) -> Response:
    """The picker: one radio per ``(company id, name, org. no)``."""
    options = []
    for company_id, name, org in companies:
        element_id = f"company-{company_id}"
        options.append(
            f'  <p><input type="radio" id="{element_id}" name="company" '
            f'value="{company_id}"> <label for="{element_id}">'
            f"{html.escape(name)} ({html.escape(org)})</label></p>"
        )
    body = f"""<form method="post" action="/connect/company">
  <input type="hidden" name="tx" value="{html.escape(tx_id)}">
  <fieldset><legend>Välj företag</legend>
{chr(10).join(options)}
  </fieldset>
  <p><button type="submit" name="decision" value="allow">Fortsätt</button>
     <button type="submit" name="decision" value="deny">Avbryt</button></p>
</form>"""
    return page(200, "Välj företag – Visma Online (sandbox)", body)
