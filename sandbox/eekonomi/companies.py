"""The companies of the sandbox and the demo user who may pick them.

The demo user reaches three companies, so a client meets the company picker and the
one-company-per-token rule from the first run: "Demokonsult AB" (the demo data),
"Demokonsult Holding AB" (API on) and "Gamla Bolaget AB" (API module **off**: every API
call answers 403 / 4002, the trap of a default company without the module). Reference
data (units, terms, countries, currencies, codings) exists in every company, as in a
real one.
"""

from __future__ import annotations

import json
from typing import Any

from sandbox.core.store import Record
from sandbox.eekonomi.constants import (
    DATA_FILE,
    DEMO_COMPANY_ID,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    HOLDING_COMPANY_ID,
    OLD_COMPANY_ID,
)
from sandbox.eekonomi.identity import User
from sandbox.eekonomi.registers import REFERENCE
from sandbox.eekonomi.store import Company

COMPANY_NAMES = {
    DEMO_COMPANY_ID: "Demokonsult AB",
    HOLDING_COMPANY_ID: "Demokonsult Holding AB",
    OLD_COMPANY_ID: "Gamla Bolaget AB",
}

#: Settings that set the companies apart (the rest comes from the demo company's).
SETTINGS: dict[str, Record] = {
    DEMO_COMPANY_ID: {},
    HOLDING_COMPANY_ID: {"CorporateIdentityNumber": "556677-8800", "UsesCostCenter": False},
    OLD_COMPANY_ID: {"CorporateIdentityNumber": "556011-2233"},
}


def build_companies() -> dict[str, Company]:
    return {
        company_id: Company(company_id, name, api_module=company_id != OLD_COMPANY_ID)
        for company_id, name in COMPANY_NAMES.items()
    }


def demo_users(companies: dict[str, Company]) -> dict[str, User]:
    return {DEMO_EMAIL: User(DEMO_EMAIL, DEMO_PASSWORD, tuple(companies))}


def demo_data() -> dict[str, Any]:
    """The committed demo company "Demokonsult AB" (``sandbox/data/eekonomi-demo.json``),
    in the shape :meth:`EEkonomiSandbox.seed_store` takes."""
    loaded: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return loaded


def company_payloads(demo: bool) -> dict[str, dict[str, Any]]:
    """What each company is seeded with at start-up (``replace``)."""
    payload = demo_data() if DATA_FILE.exists() else {}
    reference = {key: payload.get(key, []) for key in REFERENCE}
    out: dict[str, dict[str, Any]] = {}
    for company_id, extra in SETTINGS.items():
        settings = {**payload.get("companySettings", {}), **extra}
        if company_id != DEMO_COMPANY_ID:
            out[company_id] = {**reference, "companySettings": settings}
        elif demo:
            out[company_id] = payload
        else:
            out[company_id] = {"companySettings": settings}
    return out
