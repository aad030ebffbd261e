"""Fixed facts of the eEkonomi sandbox: demo identities, company ids, lifetimes, scopes.

Kept apart from the code that uses them so tests, the demo generator and the product's
demo can import the ids and credentials without pulling in the app, and so every
number that mirrors a documented value (600 per minute, 3600-s tokens, 5-min codes, the
per-operation scope lists of the OpenAPI document) is stated once.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
#: The committed demo company "Demokonsult AB" (written by ``sandbox/eekonomi/demo.py``).
DATA_FILE = DATA_DIR / "eekonomi-demo.json"
#: The second demo company "Demokonsult Holding AB" (smaller, its own records).
HOLDING_DATA_FILE = DATA_DIR / "eekonomi-holding-demo.json"

DEMO_CLIENT_ID = "demo-eekonomi-client"
DEMO_CLIENT_SECRET = "demo-eekonomi-secret"  # noqa: S105 - the public sandbox demo secret
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo"  # noqa: S105 - the public sandbox demo login

_NS = uuid.UUID("6f1c2f3e-5b0a-4c1e-9a51-0e4e6b0a7c11")


def stable_id(*parts: str) -> str:
    """A deterministic GUID, so demo data and company ids are the same on every run."""
    return str(uuid.uuid5(_NS, "/".join(parts)))


DEMO_COMPANY_ID = stable_id("company", "Demokonsult AB")
HOLDING_COMPANY_ID = stable_id("company", "Demokonsult Holding AB")
OLD_COMPANY_ID = stable_id("company", "Gamla Bolaget AB")

ACCESS_TOKEN_LIFETIME = 3600.0
CODE_LIFETIME = 300.0  # IdentityServer's default authorization-code lifetime
LOGIN_LIFETIME = 600.0
RATE_LIMIT = 600
RATE_WINDOW = 60.0

#: Scopes the identity server knows; anything else in ``scope`` is ``invalid_scope``.
KNOWN_SCOPES = frozenset(
    {
        "ea:api",
        "offline_access",
        "ea:sales",
        "ea:sales_readonly",
        "ea:accounting",
        "ea:accounting_readonly",
        "ea:purchase",
        "ea:purchase_readonly",
        "vls:api",
        "openid",
        "profile",
        "email",
    }
)

# Per-operation scope lists, as the OpenAPI document states them ("Requires any of").
SALES_READ = frozenset({"ea:sales", "ea:sales_readonly"})
SALES_WRITE = frozenset({"ea:sales"})
COST_CENTER_READ = frozenset(
    {"ea:accounting", "ea:accounting_readonly", "ea:sales", "ea:sales_readonly", "vls:api"}
)
COST_CENTER_WRITE = frozenset({"ea:accounting", "ea:sales", "vls:api"})
COUNTRIES_READ = frozenset({"ea:sales", "ea:sales_readonly", "vls:api"})
SALES_OR_PURCHASE_READ = frozenset(
    {"ea:sales", "ea:sales_readonly", "ea:purchase", "ea:purchase_readonly"}
)
PROJECTS_READ = frozenset(
    {
        "ea:accounting",
        "ea:accounting_readonly",
        "ea:sales",
        "ea:sales_readonly",
        "ea:purchase",
        "ea:purchase_readonly",
    }
)
PROJECTS_WRITE = frozenset({"ea:accounting"})
PURCHASE = frozenset({"ea:purchase", "ea:purchase_readonly"})

#: Exchange rates to SEK used for base-currency amounts (fixed: the sandbox has no feed).
RATES = {
    "SEK": Decimal("1"),
    "EUR": Decimal("11.45"),
    "NOK": Decimal("0.98"),
    "DKK": Decimal("1.53"),
    "USD": Decimal("10.62"),
    "GBP": Decimal("13.21"),
}
