"""The Severa sandbox as served on one port: several organizations, one per credential.

Severa serves every customer organization from one URL; the API credentials say which
organization a call is for. :class:`SeveraSandbox` is the *default* organization (so a
test that seeds and inspects "the sandbox" means it, as before there were several) and
the directory of all organizations: each request is handed to the organization its
bearer token, client id or refresh token belongs to, and a back-office call to the one
``?organization=ID`` names. Records, tokens, rate-limit windows, switches, faults and
request logs are per organization, so nothing crosses from one to another.

``GET /_sandbox/organizations`` lists them; ``GET /_sandbox/info`` tells this instance
from an earlier one (a demo notices a freshly started sandbox by a new ``instance``).
"""

from __future__ import annotations

import json
from email.utils import formatdate
from pathlib import Path
from typing import Any

from sandbox.core import Clock, Request, Response
from sandbox.core.clock import ClockSource
from sandbox.severa.identity import (
    ALL_SCOPES,
    Client,
    bearer_token,
    parse_scopes,
    refresh_token_of,
)
from sandbox.severa.switches import SeveraSwitches
from sandbox.severa.tenant import Organization

DEFAULT_ORGANIZATION = "default"
DEMO_CLIENT_ID = "demo-severa-client"
DEMO_CLIENT_SECRET = "demo-severa-secret"  # noqa: S105 - a published sandbox credential

#: The demo's second organization, "Demokonsult Holding AB", with its own credentials.
HOLDING_ORGANIZATION = "holding"
HOLDING_CLIENT_ID = "demo-severa-client-2"
HOLDING_CLIENT_SECRET = "demo-severa-secret-2"  # noqa: S105 - a published sandbox credential

#: The committed demo data of the two organizations (written by ``sandbox.severa.demo``).
DEMO_DATA = Path(__file__).resolve().parent.parent / "data" / "severa-demo.json"
HOLDING_DEMO_DATA = DEMO_DATA.with_name("severa-demo-holding.json")

#: Back-office paths about every organization (never handed to one).
_DIRECTORY_PATHS = ("/_sandbox/organizations", "/_sandbox/info")


class SeveraSandbox(Organization):
    """The Severa REST API v1 sandbox; see ``sandbox/severa/__init__.py`` and
    ``docs/severa.md``. Itself the default organization (credentials
    :data:`DEMO_CLIENT_ID`); the demo's second organization :data:`HOLDING_ORGANIZATION`
    (credentials :data:`HOLDING_CLIENT_ID`) is always there too, empty until seeded.

    ``clock`` (tests) is a :class:`~sandbox.core.Clock` or what one wraps (a callable
    returning the current aware time, or POSIX seconds); ``switches`` are the keyword
    arguments of :class:`SeveraSwitches`, for every organization.
    """

    def __init__(self, *, clock: Clock | ClockSource | None = None, **switches: Any) -> None:
        settings = SeveraSwitches(**switches)
        super().__init__(
            DEFAULT_ORGANIZATION,
            clock=Clock.of(clock),
            switches=settings,
            clients={DEMO_CLIENT_ID: Client(DEMO_CLIENT_SECRET, frozenset(ALL_SCOPES))},
        )
        self.organizations = self.directory
        self.add_organization(HOLDING_ORGANIZATION, HOLDING_CLIENT_ID, HOLDING_CLIENT_SECRET)
        self.route("GET", "/_sandbox/organizations", self._list_organizations)
        self.route("POST", "/_sandbox/organizations", self._post_organization)

    def add_organization(
        self,
        organization_id: str,
        client_id: str,
        client_secret: str,
        scopes: frozenset[str] = frozenset(ALL_SCOPES),
    ) -> Organization:
        """A new, empty organization with one set of credentials and this sandbox's
        clock and constructor switches; ``ValueError`` when the id or client id is taken."""
        if organization_id in self.organizations:
            raise ValueError(f"organization {organization_id!r} exists")
        if self.organization_of_client(client_id) is not None:
            raise ValueError(f"client id {client_id!r} belongs to another organization")
        org = Organization(
            organization_id,
            clock=self.clock,
            switches=self.switches,
            clients={client_id: Client(client_secret, scopes)},
        )
        org.directory = self.organizations
        self.organizations[organization_id] = org
        return org

    def organization_of_client(self, client_id: str) -> Organization | None:
        return next((o for o in self.organizations.values() if client_id in o.clients), None)

    # == handing requests to organizations ==============================================

    def handle(self, request: Request) -> Response:
        """Every answer carries a ``Date`` header: clients take their incremental-sync
        watermark from it, as from IIS in front of the real Severa."""
        org = self.organization_for(request)
        if org is None:
            wanted = request.arg("organization")
            response = Response.json(404, {"error": f"no organization {wanted!r}"})
        elif org is self:
            response = super().handle(request)
        else:
            response = org.handle(request)
        if response.header("Date") is None:
            response.headers.append(("Date", formatdate(usegmt=True)))
        return response

    def organization_for(self, request: Request) -> Organization | None:
        """The organization a request is for (``None``: an unknown ``?organization=``).
        Calls with no credential an organization knows go to the default one, which
        answers them as Severa does (401, or the rate limit of an anonymous caller)."""
        path = request.path.lower()
        if path.startswith("/_sandbox/"):
            wanted = request.arg("organization")
            if path.rstrip("/") in _DIRECTORY_PATHS or not wanted:
                return self
            return self.organizations.get(wanted)
        if len(self.organizations) == 1:
            return self
        token = bearer_token(request)
        if token is not None:
            return next((o for o in self.organizations.values() if token in o.access_tokens), self)
        if path.endswith("/token"):
            return self._by_credentials(request)
        if path.endswith("/refreshtoken"):
            refresh = refresh_token_of(request)
            return next(
                (o for o in self.organizations.values() if refresh in o.refresh_tokens), self
            )
        return self

    def _by_credentials(self, request: Request) -> Organization:
        """``POST /v1/token``: by the body's client id (any case), its refresh token
        (the refresh grant) or the ``Client_Id`` header."""
        try:
            body = json.loads(request.body.decode("utf-8")) if request.body else {}
        except (ValueError, UnicodeDecodeError):
            body = {}
        fields_ = {str(k).lower(): v for k, v in body.items()} if isinstance(body, dict) else {}
        refresh = fields_.get("refresh_token")
        for org in self.organizations.values():
            if isinstance(refresh, str) and refresh in org.refresh_tokens:
                return org
        client_id = fields_.get("client_id") or request.headers.get("Client_Id")
        found = self.organization_of_client(str(client_id)) if client_id else None
        return found or self

    # == the directory's back office ====================================================

    def _list_organizations(self, request: Request) -> Response:
        return Response.json(
            200,
            {
                "default": DEFAULT_ORGANIZATION,
                "organizations": [
                    {
                        "id": org.id,
                        "name": org.store.first("organizationDetails").get("name"),
                        "client_ids": sorted(org.clients),
                    }
                    for org in self.organizations.values()
                ],
            },
        )

    def _post_organization(self, request: Request) -> Response:
        """``{"id", "client_id", "client_secret", "scopes"?}``: a new empty organization."""
        payload = request.json()
        if not isinstance(payload, dict):
            return Response.json(400, {"error": "send a JSON object"})
        missing = [k for k in ("id", "client_id", "client_secret") if not payload.get(k)]
        if missing:
            return Response.json(400, {"error": f"{', '.join(missing)} required"})
        scopes = payload.get("scopes") or list(ALL_SCOPES)
        if isinstance(scopes, str):
            scopes = parse_scopes(scopes)
        unknown = sorted(set(scopes) - set(ALL_SCOPES))
        if unknown:
            return Response.json(400, {"error": f"unknown scopes {unknown}"})
        try:
            org = self.add_organization(
                str(payload["id"]),
                str(payload["client_id"]),
                str(payload["client_secret"]),
                frozenset(scopes),
            )
        except ValueError as exc:
            return Response.json(409, {"error": str(exc)})
        return Response.json(201, {"id": org.id, "client_ids": sorted(org.clients)})


def demo_data() -> dict[str, Any]:
    """The committed demo organization "Demokonsult AB" (``sandbox/data/severa-demo.json``)."""
    loaded: dict[str, Any] = json.loads(DEMO_DATA.read_text(encoding="utf-8"))
    return loaded


def holding_demo_data() -> dict[str, Any]:
    """The demo's second organization "Demokonsult Holding AB", for
    :data:`HOLDING_ORGANIZATION` (``sandbox/data/severa-demo-holding.json``)."""
    loaded: dict[str, Any] = json.loads(HOLDING_DEMO_DATA.read_text(encoding="utf-8"))
    return loaded
