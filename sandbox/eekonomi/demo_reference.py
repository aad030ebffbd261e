"""Reference data every demo company has, and the machinery that builds a demo file.

Units, terms of payment, countries, currencies and article codings are the same in
every company of the demo (a real company gets them from eEkonomi's templates). A demo
file is built by seeding sparse records into a fresh sandbox at a fixed time with
seeded ids, acting through the back office, and dumping the result — so every record in
it is what the API returns and the output is the same on every run.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests

from sandbox.core.clock import Clock
from sandbox.core.serving import SandboxAdapter
from sandbox.eekonomi.app import EEkonomiSandbox
from sandbox.eekonomi.constants import stable_id

GENERATED_AT = datetime(2026, 11, 2, 7, 30, tzinfo=UTC)
BO = "http://bo.test/_sandbox"
CURRENCIES = ("SEK", "EUR", "NOK", "DKK", "USD", "GBP")


def sid(kind: str, key: str) -> str:
    return stable_id("demo", kind, key)


def units() -> list[dict[str, Any]]:
    rows = [
        ("tim", "Timme", "HUR", "h"),
        ("km", "Kilometer", "KMT", "km"),
        ("st", "Styck", "C62", "pcs"),
        ("dag", "Dag", "DAY", "day"),
        ("mån", "Månad", "MON", "mth"),
        ("kg", "Kilogram", "KGM", "kg"),
        ("tkm", "Mil", "MIL", "mil"),
    ]
    return [
        {"Id": sid("unit", a), "Name": n, "Code": c, "Abbreviation": a, "AbbreviationEnglish": e}
        for a, n, c, e in rows
    ]


def terms() -> list[dict[str, Any]]:
    rows = [
        ("30", "30 dagar netto", "30 days net", 30, 0),
        ("20", "20 dagar netto", "20 days net", 20, 0),
        ("10", "10 dagar netto", "10 days net", 10, 0),
        ("month", "Innevarande månad", "Current month", 0, 1),
        ("cash", "Kontant", "Cash", 0, 2),
    ]
    texts = {0: "Normal", 1: "CurrentMonth", 2: "Cash"}
    return [
        {
            "Id": stable_id("terms", key),
            "Name": name,
            "NameEnglish": english,
            "NumberOfDays": days,
            "TermsOfPaymentTypeId": kind,
            "TermsOfPaymentTypeText": texts[kind],
            "AvailableForSales": True,
            "AvailableForPurchase": kind != 2,
        }
        for key, name, english, days, kind in rows
    ]


def countries() -> list[dict[str, Any]]:
    rows = [
        ("SE", "Sverige", "Sweden", True),
        ("NO", "Norge", "Norway", False),
        ("DK", "Danmark", "Denmark", True),
        ("FI", "Finland", "Finland", True),
        ("DE", "Tyskland", "Germany", True),
        ("GB", "Storbritannien", "United Kingdom", False),
        ("NL", "Nederländerna", "Netherlands", True),
        ("EE", "Estland", "Estonia", True),
        ("US", "USA", "United States", False),
    ]
    return [{"Name": n, "NameEnglish": e, "Code": c, "IsEuMember": eu} for c, n, e, eu in rows]


def codings() -> list[dict[str, Any]]:
    def coding(key: str, name: str, english: str, kind: str, rate: float, **accounts: Any) -> Any:
        base = {
            "DomesticSalesSubjectToReversedConstructionVatAccountNumber": None,
            "DomesticSalesSubjectToVatAccountNumber": None,
            "DomesticSalesVatExemptAccountNumber": None,
            "ForeignSalesSubjectToMossAccountNumber": None,
            "ForeignSalesSubjectToThirdPartySalesAccountNumber": None,
            "ForeignSalesSubjectToVatWithinEuAccountNumber": None,
            "ForeignSalesVatExemptOutsideEuAccountNumber": None,
            "ForeignSalesVatExemptWithinEuAccountNumber": None,
            "DomesticSalesVatCodeExemptAccountNumber": None,
        }
        base.update(accounts)
        vat_code = {0.25: "SE25", 0.12: "SE12", 0.06: "SE06", 0.0: "SE00"}[rate]
        return {
            "Id": sid("coding", key),
            "Name": name,
            "NameEnglish": english,
            "Type": kind,
            "VatRate": vat_code,
            "IsActive": True,
            "VatRatePercent": rate,
            "ChangedUtc": "2026-01-02T08:00:00Z",
            **base,
        }

    return [
        coding(
            "services25", "Tjänster 25% moms", "Services 25% VAT", "Service", 0.25,
            DomesticSalesSubjectToVatAccountNumber=3041,
            DomesticSalesSubjectToReversedConstructionVatAccountNumber=3231,
            ForeignSalesVatExemptWithinEuAccountNumber=3308,
            ForeignSalesVatExemptOutsideEuAccountNumber=3305,
        ),
        coding(
            "goods25", "Varor 25% moms", "Goods 25% VAT", "Goods", 0.25,
            DomesticSalesSubjectToVatAccountNumber=3001,
            ForeignSalesVatExemptWithinEuAccountNumber=3108,
            ForeignSalesVatExemptOutsideEuAccountNumber=3105,
        ),
        coding(
            "goods12", "Varor 12% moms", "Goods 12% VAT", "Goods", 0.12,
            DomesticSalesSubjectToVatAccountNumber=3002,
        ),
        coding(
            "goods6", "Varor 6% moms", "Goods 6% VAT", "Goods", 0.06,
            DomesticSalesSubjectToVatAccountNumber=3003,
        ),
        coding(
            "export0", "Momsfri försäljning/export", "VAT exempt / export", "Goods", 0.0,
            DomesticSalesSubjectToVatAccountNumber=3004,
            DomesticSalesVatExemptAccountNumber=3004,
            ForeignSalesVatExemptOutsideEuAccountNumber=3105,
            ForeignSalesVatExemptWithinEuAccountNumber=3108,
        ),
        # No sales account: converting a draft that uses it answers 4024.
        coding("noaccount", "Övrigt (saknar konto)", "Other (no account)", "Service", 0.25),
    ]  # fmt: skip


def reference() -> dict[str, Any]:
    """The reference collections of every demo company, sparse."""
    return {
        "units": units(),
        "termsOfPayments": terms(),
        "countries": countries(),
        "currencies": [{"Code": c} for c in CURRENCIES],
        "articleAccountCodings": codings(),
    }


def seeded_ids(seed: int) -> Callable[[], str]:
    """GUIDs from a seeded generator: the ids the sandbox assigns are the same every run."""
    rng = random.Random(seed)
    return lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))


def build_company(
    company_id: str,
    sparse: dict[str, Any],
    seed: int,
    then: Callable[[requests.Session, Clock], None] | None = None,
) -> dict[str, Any]:
    """Seed ``sparse`` into ``company_id`` of a fresh sandbox (fixed clock, ids from
    ``seed``), run ``then`` (back-office actions), and return the company's dump."""
    clock = Clock.at(GENERATED_AT)
    app = EEkonomiSandbox(demo=False, clock=clock)
    app.new_id = seeded_ids(seed)
    session = requests.Session()
    session.mount("http://bo.test/", SandboxAdapter(app))
    where = {"company": company_id}
    answer = session.post(f"{BO}/seed", params={**where, "replace": "true"}, json=sparse)
    answer.raise_for_status()
    if then is not None:
        then(session, clock)
    dump = session.get(f"{BO}/dump", params=where).json()
    assert isinstance(dump, dict)  # noqa: S101 - a generator, not production code
    return dump
