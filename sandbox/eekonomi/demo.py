"""Generate ``sandbox/data/eekonomi-demo.json``: the eEkonomi company "Demokonsult AB".

Run ``python -m sandbox.eekonomi.demo`` to rewrite it and the second company's file
(``eekonomi-holding-demo.json``, :mod:`sandbox.eekonomi.demo_holding`). The output is deterministic
(fixed clock, GUIDs derived from names, a seeded generator for the GUIDs the sandbox
itself assigns), so regenerating without changes gives an identical file.

Why it is generated instead of hand-written: the records are written *sparse* here and
completed by the sandbox itself (seed + back office), then dumped. So every record in the
file is exactly what the API returns — totals, VAT, OCR numbers, derived names — and can
never disagree with the sandbox's own arithmetic.

What the data is for (``shared/spec/requirements.md``):

* customers 1001–1005 exist in Severa too (same numbers and names); 5001–5004 and
  ``K-77`` exist only here, so the sync creates them in Severa — except ``K-77`` (not
  numeric, R-5.1) and 5004, whose name duplicates 1003's (names must be unique, R-5.1);
* articles ``HW-100`` and ``KONS-SR`` overlap Severa's product / work-type codes;
  ``SUPPORT``, ``FRAKT`` and ``ALLM`` (the default article, R-3.4) exist only here;
* cost center 1 "Projekt" has items ``1001``–``1003`` and projects with the same numbers:
  Severa's demo project numbers, as the sync keys them (R-5.3), so the projects transfer
  links them from the start; a closed ``0999`` exists only here; cost center 2
  "Avdelning" holds departments;
* booked supplier invoices carry cost rows on project items (R-1.5), VAT and payables
  rows, a credit invoice, a row with more than two decimals and an invoice with no
  project at all;
* booked customer invoices: paid, unpaid (overdue), partly paid; one draft.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from sandbox.core.clock import Clock
from sandbox.eekonomi import demo_holding
from sandbox.eekonomi.constants import DATA_FILE, DEMO_COMPANY_ID, HOLDING_DATA_FILE, stable_id
from sandbox.eekonomi.demo_reference import BO, build_company, reference, sid

CUSTOMERS = [
    # number, name, org no, address, postal code, city, country, currency, terms, changed
    ("1001", "Nordisk Byggkonsult AB", "556101-1001", "Byggvägen 4", "112 51", "Stockholm",
     "SE", "SEK", "30", "2026-02-03T09:12:00Z"),
    ("1002", "Göteborgs Hamnlogistik AB", "556202-1002", "Hamnkajen 18", "414 51", "Göteborg",
     "SE", "SEK", "30", "2026-02-10T10:05:00Z"),
    ("1003", "Malmö Designbyrå AB", "556303-1003", "Stortorget 7", "211 22", "Malmö",
     "SE", "SEK", "20", "2026-03-01T13:40:00Z"),
    ("1004", "Uppsala Bioteknik AB", "556404-1004", "Dag Hammarskjölds väg 30", "752 37",
     "Uppsala", "SE", "SEK", "30", "2026-03-15T08:20:00Z"),
    ("1005", "Västerås Energi & Miljö AB", "556505-1005", "Kraftverksgatan 2", "721 36",
     "Västerås", "SE", "SEK", "10", "2026-04-02T14:55:00Z"),
    ("5001", "Lunds Ljusarkitekter AB", "556606-5001", "Klostergatan 12", "222 22", "Lund",
     "SE", "SEK", "30", "2026-05-06T09:00:00Z"),
    ("5002", "Örebro Fastighetsservice AB", "556707-5002", "Drottninggatan 40", "702 22",
     "Örebro", "SE", "SEK", "30", "2026-06-11T11:30:00Z"),
    ("5003", "Bergen Skipsdesign AS", None, "Bryggen 9", "5003", "Bergen",
     "NO", "NOK", "30", "2026-07-01T07:45:00Z"),
    # Same name as 1003: Severa requires unique names, so this one cannot go there.
    ("5004", "Malmö Designbyrå AB", "556808-5004", "Södra Förstadsgatan 3", "211 43", "Malmö",
     "SE", "SEK", "30", "2026-08-19T15:10:00Z"),
    # Not numeric: Severa requires numeric customer numbers.
    ("K-77", "Kiruna Malmfältskonsult AB", "556909-0077", "Malmvägen 1", "981 31", "Kiruna",
     "SE", "SEK", "30", "2026-09-23T12:00:00Z"),
]  # fmt: skip


def _customers() -> list[dict[str, Any]]:
    out = []
    for number, name, org, address, postal, city, country, currency, terms, changed in CUSTOMERS:
        slug = name.split()[0].lower().replace("ö", "o").replace("ä", "a").replace("å", "a")
        domain = f"{slug}{number.lower().replace('-', '')}.example.se"
        out.append(
            {
                "Id": sid("customer", number),
                "CustomerNumber": number,
                "Name": name,
                "IsPrivatePerson": False,
                "IsActive": True,
                "CorporateIdentityNumber": org,
                "VatNumber": f"SE{org.replace('-', '')}01" if org else None,
                "InvoiceAddress1": address,
                "InvoiceAddress2": None,
                "InvoicePostalCode": postal,
                "InvoiceCity": city,
                "InvoiceCountryCode": country,
                "CurrencyCode": currency,
                "TermsOfPaymentId": stable_id("terms", terms),
                "EmailAddress": f"faktura@{domain}",
                "Telephone": "+46 8 123 45 " + number[-2:]
                if country == "SE"
                else "+47 55 12 34 56",
                "WwwAddress": f"https://www.{domain}",
                "ContactPersonName": "Karin Andersson" if number < "5000" else "Per Nilsson",
                "ContactPersonEmail": f"kontakt@{domain}",
                "ContactPersonPhone": "+46 70 123 45 67",
                "ChangedUtc": changed,
            }
        )
    return out


ARTICLES = [
    # number, name, coding, unit, net price, active
    ("HW-100", "Hårdvara kit", "goods25", "st", 4500.0, True),
    ("KONS-SR", "Konsult senior", "services25", "tim", 1250.0, True),
    ("SUPPORT", "Supportavtal", "services25", "mån", 2500.0, True),
    ("FRAKT", "Frakt", "goods25", "st", 195.0, True),
    ("ALLM", "Allmän tjänst", "services25", "st", 1000.0, True),
    ("BOK-6", "Facklitteratur", "goods6", "st", 349.0, True),
    ("GAMMAL", "Utgången tjänst", "services25", "tim", 900.0, False),
]


def _articles() -> list[dict[str, Any]]:
    rates = {"goods25": 1.25, "services25": 1.25, "goods6": 1.06}
    return [
        {
            "Id": sid("article", number),
            "Number": number,
            "Name": name,
            "NameEnglish": None,
            "CodingId": sid("coding", coding),
            "UnitId": sid("unit", unit),
            "NetPrice": price,
            "GrossPrice": round(price * rates[coding], 2),
            "IsActive": active,
            "CreatedUtc": "2026-01-05T08:00:00Z",
            "ChangedUtc": f"2026-0{1 + index % 9}-1{index}T10:00:00Z",
        }
        for index, (number, name, coding, unit, price, active) in enumerate(ARTICLES)
    ]


def _cost_centers() -> list[dict[str, Any]]:
    def item(center: str, short: str, name: str, active: bool = True) -> dict[str, Any]:
        return {
            "Id": sid("costcenteritem", f"{center}/{short}"),
            "Name": name,
            "ShortName": short,
            "IsActive": active,
            "CreatedUtc": "2026-01-10T09:00:00Z",
        }

    return [
        {
            "Id": sid("costcenter", "Projekt"),
            "Name": "Projekt",
            "Number": 1,
            "IsActive": True,
            "Items": [
                item("Projekt", "1001", "Nordisk Bygg – ny huvudkontor"),
                item("Projekt", "1002", "Hamnlogistik – systemstöd"),
                item("Projekt", "1003", "Designbyrån – varumärke"),
                item("Projekt", "0999", "Avslutat projekt 2025", active=False),
            ],
        },
        {
            "Id": sid("costcenter", "Avdelning"),
            "Name": "Avdelning",
            "Number": 2,
            "IsActive": True,
            "Items": [
                item("Avdelning", "STHLM", "Stockholm"),
                item("Avdelning", "GBG", "Göteborg"),
                item("Avdelning", "MLM", "Malmö"),
            ],
        },
    ]


def _projects() -> list[dict[str, Any]]:
    rows = [
        ("1001", "Nordisk Bygg – nytt huvudkontor", "1001", 1, "2026-01-12", None),
        ("1002", "Hamnlogistik – systemstöd", "1002", 1, "2026-02-01", None),
        ("1003", "Designbyrån – varumärke", "1003", 1, "2026-03-02", None),
        ("0999", "Avslutat projekt 2025", "1001", 2, "2025-03-01", "2025-12-19"),
    ]
    return [
        {
            "Id": sid("project", number),
            "Number": number,
            "Name": name,
            "CustomerId": sid("customer", customer),
            "Status": status,
            "StartDate": start,
            "EndDate": end,
            "Notes": None,
            "ModifiedUtc": f"{start}T08:00:00Z",
        }
        for number, name, customer, status, start, end in rows
    ]


SUPPLIERS = [
    ("1", "Dustin Sverige AB"),
    ("2", "SJ AB"),
    ("3", "Scandic Hotels AB"),
    ("4", "Circle K Sverige AB"),
    ("5", "Elektroskandia Sverige AB"),
    ("6", "Kontorsgiganten AB"),
]


def _item(short: str) -> str:
    center = "Projekt" if short.isdigit() else "Avdelning"
    return sid("costcenteritem", f"{center}/{short}")


def _cost(account: int, amount: float, text: str, item: str | None = None, **extra: Any) -> Any:
    return {
        "AccountNumber": account,
        "DebetAmount": amount,
        "CreditAmount": 0,
        "TransactionText": text,
        "CostCenterItemId1": _item(item) if item else None,
        **extra,
    }


def _purchase(
    supplier: str, number: str, day: str, total: float, vat: float, rows: list[Any], **kw: Any
) -> dict[str, Any]:
    """A purchase invoice as booked: its cost rows, a 2641 VAT row, a 2440 payables row."""
    credit = kw.pop("credit", False)
    vat_row: dict[str, Any] = {"AccountNumber": 2641, "DebetAmount": 0, "CreditAmount": 0}
    payables: dict[str, Any] = {"AccountNumber": 2440, "DebetAmount": 0, "CreditAmount": 0}
    if credit:
        vat_row["CreditAmount"], payables["DebetAmount"] = abs(vat), abs(total)
    else:
        vat_row["DebetAmount"], payables["CreditAmount"] = vat, total
    return {
        "SupplierName": supplier,
        "InvoiceNumber": number,
        "InvoiceDate": day,
        "TotalAmount": -abs(total) if credit else total,
        "Vat": -abs(vat) if credit else vat,
        "IsCreditInvoice": credit,
        "CurrencyCode": "SEK",
        "OcrNumber": kw.pop("ocr", None),
        "Message": kw.pop("message", None),
        "Rows": [*rows, *([vat_row] if vat else []), payables],
    }


def _supplier_invoices() -> list[dict[str, Any]]:
    """Booked purchase invoices (cost rows + 2641 VAT + 2440 payables), in booking order."""
    invoice = _purchase
    p1001 = sid("project", "1001")
    p1002 = sid("project", "1002")
    return [
        invoice(
            "Dustin Sverige AB", "D-448812", "2026-03-04", 10000.0, 2000.0,
            [_cost(4010, 8000.0, "Dockningsstationer", "1001", ProjectId=p1001)],
            ocr="448812004",
        ),
        invoice(
            "SJ AB", "SJ-2026-55120", "2026-04-16", 1231.0, 69.68,
            [_cost(5810, 1161.32, "Tåg Stockholm–Göteborg", "1002")],
        ),
        # Hotel at 12% VAT, booked from an import with four decimals on the cost row.
        invoice(
            "Scandic Hotels AB", "SH-90211", "2026-04-17", 3000.0, 321.4286,
            [_cost(5831, 2678.5714, "Hotell 2 nätter", "1002", ProjectId=p1002)],
        ),
        invoice(
            "Circle K Sverige AB", "CK-7781", "2026-05-20", 1000.0, 200.0,
            [
                _cost(5611, 500.0, "Drivmedel", "1003", CostCenterItemId2=_item("GBG")),
                _cost(5611, 300.0, "Drivmedel", "1001", CostCenterItemId2=_item("STHLM")),
            ],
        ),
        invoice(
            "Elektroskandia Sverige AB", "E-12001", "2026-06-02", 6250.0, 1250.0,
            [_cost(4010, 5000.0, "Kabel och material", "1001")],
        ),
        # A credit note on part of the previous invoice.
        invoice(
            "Elektroskandia Sverige AB", "E-12001K", "2026-06-09", 1500.0, 300.0,
            [{"AccountNumber": 4010, "DebetAmount": 0, "CreditAmount": 1200.0,
              "TransactionText": "Kreditering retur", "CostCenterItemId1": _item("1001")}],
            credit=True, message="Kreditering av E-12001",
        ),
        # Office supplies: no project, so the sync has nothing to carry to Severa.
        invoice(
            "Kontorsgiganten AB", "KG-3381", "2026-09-28", 500.0, 100.0,
            [_cost(5410, 400.0, "Kontorsmaterial", CostCenterItemId2=_item("STHLM"))],
        ),
    ]  # fmt: skip


def _customer_invoices() -> list[dict[str, Any]]:
    kons = sid("article", "KONS-SR")
    return [
        {
            "Id": sid("invoice", "1001"),
            "CustomerId": sid("customer", "1001"),
            "InvoiceNumber": 1001,
            "InvoiceDate": "2026-09-15",
            "YourReference": "Karin Andersson",
            "OurReference": "Demo Konsult",
            "SendType": 0,
            "Rows": [
                {"ArticleId": kons, "Quantity": 40, "UnitPrice": 1250.0,
                 "CostCenterItemId1": _item("1001"), "Text": "Konsult senior, augusti"},
                {"ArticleId": sid("article", "HW-100"), "Quantity": 1, "UnitPrice": 4500.0,
                 "CostCenterItemId1": _item("1001")},
            ],
            "PaidAmount": 68125.0,
            "PaymentDate": "2026-10-10",
            "CreatedUtc": "2026-09-15T10:00:00Z",
            "ModifiedUtc": "2026-10-10T06:00:00Z",
        },
        {
            "Id": sid("invoice", "1002"),
            "CustomerId": sid("customer", "1002"),
            "InvoiceNumber": 1002,
            "InvoiceDate": "2026-10-20",
            "Rows": [
                {"ArticleId": kons, "Quantity": 12.5, "UnitPrice": 1250.0,
                 "CostCenterItemId1": _item("1002")},
                {"ArticleId": sid("article", "FRAKT"), "Quantity": 1, "UnitPrice": 195.0},
                {"IsTextRow": True, "Text": "Avser september 2026"},
            ],
            "CreatedUtc": "2026-10-20T09:30:00Z",
            "ModifiedUtc": "2026-10-20T09:30:00Z",
        },
        {
            "Id": sid("invoice", "1003"),
            "CustomerId": sid("customer", "1003"),
            "InvoiceNumber": 1003,
            "InvoiceDate": "2026-10-30",
            "SendType": 1,
            "Rows": [
                {"ArticleId": kons, "Quantity": 16, "UnitPrice": 1250.0,
                 "CostCenterItemId1": _item("1003")},
            ],
            "PaidAmount": 5000.0,
            "PaymentDate": "2026-11-15",
            "CreatedUtc": "2026-10-30T14:00:00Z",
            "ModifiedUtc": "2026-11-15T06:00:00Z",
        },
    ]  # fmt: skip


def _drafts() -> list[dict[str, Any]]:
    return [
        {
            "Id": sid("draft", "1004-oktober"),
            "CustomerId": sid("customer", "1004"),
            "InvoiceDate": "2026-10-31",
            "YourReference": "Eva Lind",
            "OurReference": "Demo Konsult",
            "EuThirdParty": False,
            "RotReducedInvoicingType": 0,
            "Rows": [
                {"IsTextRow": True, "Text": "Avser oktober 2026"},
                {
                    "ArticleId": sid("article", "KONS-SR"),
                    "Quantity": 8,
                    "UnitPrice": 1250.0,
                    "CostCenterItemId1": _item("1002"),
                },
                {"ArticleId": sid("article", "SUPPORT"), "Quantity": 1, "UnitPrice": 2500.0},
            ],
            "CreatedUtc": "2026-10-31T16:20:00Z",
        }
    ]


def company_settings() -> dict[str, Any]:
    return {
        "Name": "Demokonsult AB",
        "Email": "ekonomi@demokonsult.example.se",
        "Phone": "+46 31 123 45 00",
        "Address1": "Konsultvägen 12",
        "PostalCode": "411 05",
        "City": "Göteborg",
        "CountryCode": "SE",
        "Website": "https://www.demokonsult.example.se",
        "OurReference": "Demo Konsult",
        "CorporateIdentityNumber": "556677-8899",
        "VatCode": "SE556677889901",
        "BankGiro": "5050-1055",
        "TermsOfPaymentId": stable_id("terms", "30"),
        "UsesPaymentReferenceNumber": True,
    }


def sparse_company() -> dict[str, Any]:
    """The demo company as written by hand: sparse records the sandbox completes."""
    return {
        "companySettings": company_settings(),
        **reference(),
        "customers": _customers(),
        "articles": _articles(),
        "costCenters": _cost_centers(),
        "projects": _projects(),
        "suppliers": [
            {"Id": stable_id("supplier", DEMO_COMPANY_ID, name), "SupplierNumber": n, "Name": name}
            for n, name in SUPPLIERS
        ],
        "customerInvoiceDrafts": _drafts(),
        "customerInvoices": _customer_invoices(),
    }


def _book_supplier_invoices(session: requests.Session, clock: Clock) -> None:
    """Book the purchase invoices through the UI route, each at its own time; the four
    older ones are paid 20 days later."""
    for index, payload in enumerate(_supplier_invoices()):
        day = datetime.fromisoformat(payload["InvoiceDate"]).replace(hour=9, tzinfo=UTC)
        clock.set(day + timedelta(minutes=index))
        booked = session.post(f"{BO}/ui/supplierinvoices", json=payload)
        assert booked.status_code == 201, booked.text  # noqa: S101
        if index >= 4:
            continue
        clock.advance(timedelta(days=20))
        paid = {
            "PaymentStatus": 6,
            "RemainingAmount": 0.0,
            "RemainingAmountInvoiceCurrency": 0.0,
            "PaymentDate": f"{clock.today().isoformat()}T00:00:00Z",
        }
        session.post(
            f"{BO}/ui/supplierinvoices/{booked.json()['Id']}/edit", json=paid
        ).raise_for_status()


def build() -> dict[str, Any]:
    """Build the demo company in a fresh sandbox and return its dump."""
    return build_company(DEMO_COMPANY_ID, sparse_company(), 20261102, _book_supplier_invoices)


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {path} ({path.stat().st_size} bytes)")  # noqa: T201 - a command-line tool


def main() -> None:
    """Rewrite ``sandbox/data/eekonomi-demo.json`` and ``eekonomi-holding-demo.json``."""
    _write(DATA_FILE, build())
    _write(HOLDING_DATA_FILE, demo_holding.build())


if __name__ == "__main__":
    main()
