"""The companies of the sandbox and the demo user who may pick them.

The demo user reaches three companies, so a client meets the company picker and the
one-company-per-token rule from the first run: "Demokonsult AB" (the demo data),
"Demokonsult Holding AB" (API on; its own smaller demo data when asked for) and "Gamla
Bolaget AB" (API module **off**: every API call answers 403 / 4002, the trap of a
default company without the module). Each company is its own store. Reference
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
    HOLDING_DATA_FILE,
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

#: What the other companies take from the demo company's settings: where they are, not
#: who they are (names, numbers, giro and PEPPOL ids stay the demo company's own).
SHARED_SETTINGS = ("Address1", "PostalCode", "City", "CountryCode", "TermsOfPaymentId")

#: Settings that set the companies apart.
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


def holding_demo_data() -> dict[str, Any]:
    """The second demo company "Demokonsult Holding AB"
    (``sandbox/data/eekonomi-holding-demo.json``), smaller and with its own records."""
    loaded: dict[str, Any] = json.loads(HOLDING_DATA_FILE.read_text(encoding="utf-8"))
    return loaded


def company_payloads(demo: bool, holding_demo: bool = False) -> dict[str, dict[str, Any]]:
    """What each company is seeded with at start-up (``replace``): its demo data when
    asked for, else the reference data (and no records) — the first company none."""
    payload = demo_data() if DATA_FILE.exists() else {}
    reference = {key: payload.get(key, []) for key in REFERENCE}
    out: dict[str, dict[str, Any]] = {}
    demo_settings = payload.get("companySettings", {})
    shared = {k: demo_settings[k] for k in SHARED_SETTINGS if k in demo_settings}
    for company_id, extra in SETTINGS.items():
        settings = {**(demo_settings if company_id == DEMO_COMPANY_ID else shared), **extra}
        if company_id == HOLDING_COMPANY_ID and holding_demo:
            out[company_id] = holding_demo_data()
        elif company_id != DEMO_COMPANY_ID:
            out[company_id] = {**reference, "companySettings": settings}
        elif demo:
            out[company_id] = payload
        else:
            out[company_id] = {"companySettings": settings}
    return out
