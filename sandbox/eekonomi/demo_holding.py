"""Generate ``sandbox/data/eekonomi-holding-demo.json``: "Demokonsult Holding AB".

The demo user can pick this second company at consent, so the product's demo shows
that a connection is bound to the company it was given — and tests can prove that no
record crosses between companies. Its data is therefore its own and smaller: other
customers (numbers 2001–2003, none shared with "Demokonsult AB" or Severa), other
articles, one cost center "Bolag" with its items, one project, one booked invoice and
one draft. Written by ``python -m sandbox.eekonomi.demo`` with the first company's file.
"""

from __future__ import annotations

from typing import Any

from sandbox.eekonomi.constants import HOLDING_COMPANY_ID, stable_id
from sandbox.eekonomi.demo_reference import build_company, reference
from sandbox.eekonomi.demo_reference import sid as reference_id

CUSTOMERS = [
    # number, name, org no, address, postal code, city, changed
    ("2001", "Stockholms Fastighetsförvaltning AB", "556111-2001", "Birger Jarlsgatan 9",
     "111 45", "Stockholm", "2026-04-01T09:00:00Z"),
    ("2002", "Norrlands Skog & Mark AB", "556222-2002", "Storgatan 30", "903 26", "Umeå",
     "2026-05-12T10:15:00Z"),
    ("2003", "Kalmar Marinteknik AB", "556333-2003", "Varvsholmen 2", "392 30", "Kalmar",
     "2026-06-20T13:30:00Z"),
]  # fmt: skip

ARTICLES = [
    # number, name, coding, unit, net price
    ("FORV-MAN", "Förvaltningsarvode", "services25", "mån", 18500.0),
    ("KONC-TIM", "Koncernadministration", "services25", "tim", 950.0),
    ("HYRA-KV", "Lokalhyra per kvartal", "export0", "st", 42000.0),
]

ITEMS = [
    # short name, name
    ("DOTTER1", "Demokonsult AB"),
    ("DOTTER2", "Demokonsult Fastighet AB"),
    ("KONCERN", "Koncerngemensamt"),
]


def hid(kind: str, key: str) -> str:
    """Ids of the holding company's own records (never equal to the first company's)."""
    return stable_id("holding", kind, key)


def company_settings() -> dict[str, Any]:
    return {
        "Name": "Demokonsult Holding AB",
        "Email": "ekonomi@holding.demokonsult.example.se",
        "Phone": "+46 8 555 120 00",
        "Address1": "Strandvägen 7",
        "PostalCode": "114 56",
        "City": "Stockholm",
        "CountryCode": "SE",
        "OurReference": "Holding Ekonomi",
        "CorporateIdentityNumber": "556677-8800",
        "VatCode": "SE556677880001",
        "BankGiro": "5050-2077",
        "TermsOfPaymentId": stable_id("terms", "30"),
        "UsesPaymentReferenceNumber": True,
        "UsesCostCenter": True,
    }


def _customers() -> list[dict[str, Any]]:
    return [
        {
            "Id": hid("customer", number),
            "CustomerNumber": number,
            "Name": name,
            "IsPrivatePerson": False,
            "IsActive": True,
            "CorporateIdentityNumber": org,
            "VatNumber": f"SE{org.replace('-', '')}01",
            "InvoiceAddress1": address,
            "InvoicePostalCode": postal,
            "InvoiceCity": city,
            "InvoiceCountryCode": "SE",
            "CurrencyCode": "SEK",
            "TermsOfPaymentId": stable_id("terms", "30"),
            "EmailAddress": f"faktura@kund{number}.example.se",
            "ChangedUtc": changed,
        }
        for number, name, org, address, postal, city, changed in CUSTOMERS
    ]


def _articles() -> list[dict[str, Any]]:
    return [
        {
            "Id": hid("article", number),
            "Number": number,
            "Name": name,
            "CodingId": reference_id("coding", coding),
            "UnitId": reference_id("unit", unit),
            "NetPrice": price,
            "GrossPrice": round(price * (1.0 if coding == "export0" else 1.25), 2),
            "IsActive": True,
            "CreatedUtc": "2026-03-02T08:00:00Z",
            "ChangedUtc": "2026-03-02T08:00:00Z",
        }
        for number, name, coding, unit, price in ARTICLES
    ]


def _cost_centers() -> list[dict[str, Any]]:
    items = [
        {
            "Id": hid("costcenteritem", short),
            "Name": name,
            "ShortName": short,
            "IsActive": True,
            "CreatedUtc": "2026-03-02T09:00:00Z",
        }
        for short, name in ITEMS
    ]
    return [{"Id": hid("costcenter", "Bolag"), "Name": "Bolag", "Number": 1, "IsActive": True,
             "Items": items}]  # fmt: skip


def _documents() -> dict[str, list[dict[str, Any]]]:
    """One project, one booked invoice, one draft: enough to show each kind."""
    project = {
        "Id": hid("project", "2001"),
        "Number": "2001",
        "Name": "Förvaltning Birger Jarl",
        "CustomerId": hid("customer", "2001"),
        "Status": 1,
        "StartDate": "2026-04-01",
        "ModifiedUtc": "2026-04-01T08:00:00Z",
    }
    invoice = {
        "Id": hid("invoice", "2001"),
        "CustomerId": hid("customer", "2001"),
        "InvoiceNumber": 2001,
        "InvoiceDate": "2026-10-01",
        "Rows": [{"ArticleId": hid("article", "FORV-MAN"), "Quantity": 1, "UnitPrice": 18500.0,
                  "CostCenterItemId1": hid("costcenteritem", "DOTTER2")}],
        "CreatedUtc": "2026-10-01T08:00:00Z",
        "ModifiedUtc": "2026-10-01T08:00:00Z",
    }  # fmt: skip
    draft = {
        "Id": hid("draft", "2002-oktober"),
        "CustomerId": hid("customer", "2002"),
        "InvoiceDate": "2026-10-31",
        "EuThirdParty": False,
        "RotReducedInvoicingType": 0,
        "Rows": [{"ArticleId": hid("article", "KONC-TIM"), "Quantity": 6, "UnitPrice": 950.0,
                  "CostCenterItemId1": hid("costcenteritem", "KONCERN")}],
        "CreatedUtc": "2026-10-31T15:00:00Z",
    }  # fmt: skip
    return {"projects": [project], "customerInvoices": [invoice], "customerInvoiceDrafts": [draft]}


def sparse_company() -> dict[str, Any]:
    return {
        "companySettings": company_settings(),
        **reference(),
        "customers": _customers(),
        "articles": _articles(),
        "costCenters": _cost_centers(),
        **_documents(),
    }


def build() -> dict[str, Any]:
    """Build the holding company in a fresh sandbox and return its dump."""
    return build_company(HOLDING_COMPANY_ID, sparse_company(), 20261103)
