"""The Visma eEkonomi / eAccounting API v2 sandbox (identity server included).

:class:`EEkonomiSandbox` is the app; the modules beside this one hold one concern each
(identity, OData, store and seed, validation, the resource families, booking, the back
office). The names tests, benchmarks and the product's demo import are re-exported
here. See ``sandbox/docs/eekonomi.md``.
"""

from __future__ import annotations

from sandbox.eekonomi.app import EEkonomiSandbox
from sandbox.eekonomi.booking import ocr_number
from sandbox.eekonomi.companies import COMPANY_NAMES, demo_data, holding_demo_data
from sandbox.eekonomi.constants import (
    DATA_FILE,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_COMPANY_ID,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    HOLDING_COMPANY_ID,
    HOLDING_DATA_FILE,
    OLD_COMPANY_ID,
    RATE_LIMIT,
    RATE_WINDOW,
    stable_id,
)
from sandbox.eekonomi.errors import EEkonomiError
from sandbox.eekonomi.specs import spec
from sandbox.eekonomi.store import Company
from sandbox.eekonomi.switches import EEkonomiSwitches

__all__ = [
    "COMPANY_NAMES",
    "DATA_FILE",
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "DEMO_COMPANY_ID",
    "DEMO_EMAIL",
    "DEMO_PASSWORD",
    "HOLDING_COMPANY_ID",
    "HOLDING_DATA_FILE",
    "OLD_COMPANY_ID",
    "RATE_LIMIT",
    "RATE_WINDOW",
    "Company",
    "EEkonomiError",
    "EEkonomiSandbox",
    "EEkonomiSwitches",
    "demo_data",
    "holding_demo_data",
    "ocr_number",
    "spec",
    "stable_id",
]
