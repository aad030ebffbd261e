"""Writes ``sandbox/data/severa-demo.json``: the demo Severa organization "Demokonsult AB".

Why a script and not a hand-written file: the demo must be *consistent* (invoice totals
equal their rows, every source item points at its row, sub-model names match the
records they name) and *deterministic* (the committed file only changes when this
script does). Master data is written here as Severa wire records with guids derived
from stable keys; invoices are created through the sandbox's own back-office builder
(:meth:`sandbox.severa.SeveraSandbox.build_invoice`) under a fixed clock and a
deterministic guid source, so they look exactly as the sandbox makes them at run time.

The data exercises every mapping rule of the requirements (R-5.x) and carries a few
deliberately bad records the sync must reject (see ``sandbox/docs/severa.md``).

Run: ``.venv/bin/python -m sandbox.demo_severa``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sandbox import severa
from sandbox.severa import DEMO_DATA, SeveraSandbox, money, pick

Record = dict[str, Any]

NAMESPACE = uuid.UUID("5e7e8a00-0000-4000-8000-00000000d3b0")

#: The moment the demo was "taken"; master data is older, invoices are from March.
EPOCH = datetime(2025, 1, 7, 8, 0, tzinfo=UTC)
INVOICE_CLOCK = datetime(2025, 3, 20, 9, 0, tzinfo=UTC)

#: Customers 1001–1005 also exist in the eEkonomi demo with the same number and name.
CUSTOMER_NAMES: dict[int, str] = {
    1001: "Nordisk Byggkonsult AB",
    1002: "Göteborgs Hamnlogistik AB",
    1003: "Malmö Designbyrå AB",
    1004: "Uppsala Bioteknik AB",
    1005: "Västerås Energi & Miljö AB",
    1006: "Lunds Arkitektkontor AB",
    1007: "Örebro Fastighetsförvaltning AB",
    1008: "Linköpings Mjukvaruhus AB",
    1009: "Norrköpings Tryckeri AB",
    1010: "Jönköpings Transport AB",
    1011: "Umeå Skogsteknik AB",
    1012: "Gävle Elinstallation AB",
    1013: "Borås Textilhandel AB",
    1014: "Sundsvalls Pappersteknik AB",
    1015: "Eskilstuna Verkstäder AB",
    1016: "Karlstads Turism & Event AB",
    1017: "Växjö Glasbruk AB",
    1018: "Halmstads Marinservice AB",
    1019: "Luleå Stålkonstruktion AB",
    1020: "Trollhättans Fordonsteknik AB",
    1021: "Kalmar Livsmedel AB",
    1022: "Falu Gruvkonsult AB",
    1023: "Skövde Logistikcenter AB",
    1024: "Kristianstads Lantbruksservice AB",
    1025: "Östersunds Friluftsutrustning AB",
    1026: "Visby Hotell & Konferens AB",
    1027: "Nyköpings Hamnservice AB",
    1028: "Varbergs Vindkraft AB",
    1029: "Uddevalla Varvsteknik AB",
    1030: "Motala Mekaniska AB",
    1031: "Södertälje Läkemedelskonsult AB",
    1032: "Solna Reklambyrå AB",
    1033: "Sollentuna Redovisning AB",
    1034: "Täby IT-Support AB",
    1035: "Nacka Bygg & Renovering AB",
    1036: "Huddinge Städservice AB",
    1037: "Kiruna Gruvteknik AB",
    1038: "Ystads Filmstudio AB",
    1039: "Landskrona Kemi AB",
    1040: "Alingsås Möbelsnickeri AB",
    1041: "Piteå Sågverk AB",
    1042: "Mora Hemslöjd AB",
    1043: "Enköpings Trädgårdsdesign AB",
    1044: "Hudiksvalls Fiberteknik AB",
    1045: "Katrineholms Maskinuthyrning AB",
    1046: "Nordfjord Rådgivning AS",
    1047: "Åbo Dataservice Oy",
    1048: "Strängnäs Bokförlag AB",
    1049: "Sigtuna Konsultgrupp AB",
    1050: "Vimmerby Evenemang AB",
}

CITIES = [
    ("Stockholm", "111 22"), ("Göteborg", "411 04"), ("Malmö", "211 20"),
    ("Uppsala", "753 20"), ("Västerås", "722 15"), ("Lund", "222 21"),
    ("Örebro", "702 10"), ("Linköping", "582 24"), ("Norrköping", "602 32"),
    ("Jönköping", "553 16"),
]  # fmt: skip
STREETS = [
    "Storgatan", "Kungsgatan", "Drottninggatan", "Hamngatan", "Järnvägsgatan",
    "Industrivägen", "Skolgatan", "Kyrkogatan", "Torggatan", "Strandvägen",
]  # fmt: skip
FIRST_NAMES = [
    "Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Eva", "Per", "Sara", "Anders",
    "Lena", "Mikael", "Emma", "Peter", "Sofia", "Magnus", "Linda", "Jonas", "Elin", "Fredrik",
]  # fmt: skip
LAST_NAMES = [
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
    "Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson",
]  # fmt: skip


def gid(kind: str, key: object) -> str:
    """A stable guid for (kind, key)."""
    return str(uuid.uuid5(NAMESPACE, f"severa-demo:{kind}:{key}"))


def stamp(minutes: int) -> str:
    return severa.fmt_time(EPOCH + timedelta(minutes=minutes))


class Builder:
    """Accumulates the master data collections in wire format."""

    def __init__(self) -> None:
        self.data: dict[str, list[Record]] = {name: [] for name in severa.COLLECTIONS}
        self.clock_minutes = 0
        self.by_key: dict[tuple[str, object], Record] = {}

    def add(self, collection: str, key: object, record: Record, *, updated: int = 0) -> Record:
        self.clock_minutes += 7
        record.setdefault("guid", gid(collection, key))
        record["createdDateTime"] = stamp(self.clock_minutes)
        record["createdBy"] = ANNA
        record["lastUpdatedDateTime"] = stamp(self.clock_minutes + updated) if updated else None
        if updated:
            record["lastUpdatedBy"] = ANNA
        self.data[collection].append(record)
        self.by_key[(collection, key)] = record
        return record

    def get(self, collection: str, key: object) -> Record:
        return self.by_key[(collection, key)]


ANNA = {
    "guid": gid("users", "anna"), "code": "AA", "firstName": "Anna", "lastName": "Andersson",
    "name": "Anna Andersson",
}  # fmt: skip


def build_reference(b: Builder) -> None:
    countries = {
        "SE": ("Sverige", "Sweden", "SWE", True),
        "NO": ("Norge", "Norway", "NOR", False),
        "FI": ("Finland", "Finland", "FIN", True),
        "DK": ("Danmark", "Denmark", "DNK", True),
    }
    for code, (name, english, code3, in_eu) in countries.items():
        b.add("countries", code, {
            "code2": code, "code3": code3, "name": name, "englishName": english,
            "isInEU": in_eu, "hasRegions": "NoRegion", "isRegistrationCountry": code == "SE",
        })  # fmt: skip
    currencies = [
        ("SEK", "Svensk krona", "kr", 1.0, True),
        ("EUR", "Euro", "€", 11.45, False),
        ("NOK", "Norsk krona", "kr", 0.98, False),
    ]
    for code, name, symbol, rate, own in currencies:
        b.add("currencies", code, {
            "code": code, "name": name, "symbol": symbol, "rate": rate, "isActive": True,
            "isOrganizationCurrency": own,
        })  # fmt: skip
    sweden = b.get("countries", "SE")
    for percentage in (25.0, 12.0, 6.0, 0.0):
        b.add("vatRates", percentage, {
            "code": f"{percentage:g}", "percentage": percentage, "countryGuid": sweden["guid"],
            "isActive": True, "isDefault": percentage == 25.0,
        })  # fmt: skip
    statuses = [
        ("Utkast", {"isDefault": True, "isDefaultForCreditNote": True}),
        ("Att överföra", {}),
        ("Överförd", {}),
        ("Skickad", {"isSent": True, "isWaitingPayment": True, "hasInvoiceNumber": True}),
        ("Betald", {"isSent": True, "isPaid": True, "isReadOnly": True, "hasInvoiceNumber": True}),
        ("Makulerad", {"isReadOnly": True}),
    ]
    for position, (name, flags) in enumerate(statuses, start=1):
        record = {
            "name": name, "isActive": True, "isDefault": False, "isDefaultForCreditNote": False,
            "isSent": False, "isPaid": False, "isWaitingPayment": False, "isReadOnly": False,
            "hasInvoiceNumber": False, "sortOrder": position,
        }  # fmt: skip
        b.add("invoiceStatuses", name, {**record, **flags})
    for key, name, kind in (
        ("email", "E-post", "EmailAddress"),
        ("phone", "Telefon", "Phone"),
        ("mobile", "Mobil", "MobilePhone"),
    ):
        b.add("communicationTypes", key, {"name": name, "type": kind, "isActive": True})
    users = [
        ("anna", "AA", "Anna", "Andersson", "UI"),
        ("api", "API", "REST", "API", "API"),
        ("erik", "EL", "Erik", "Lund", None),
        ("maria", "MB", "Maria", "Berg", None),
    ]
    for key, code, first, last, role in users:
        user = {"code": code, "firstName": first, "lastName": last, "name": f"{first} {last}"}
        if role:
            user["_role"] = role
        b.add("users", key, user)
    sek = b.get("currencies", "SEK")
    b.add("organizationDetails", "org", {
        "name": "Demokonsult AB", "vatNumber": "SE556677889901", "kvkNumber": None,
        "address": "Drottninggatan 12", "postalCode": "111 51", "city": "Stockholm",
        "phone": "08-123 456 00", "fax": None, "registeredOffice": "Stockholm",
        "eInvoiceAddress": None, "eInvoiceOperatorCode": None, "isVatRegistered": True,
        "odpCompany": None,
        "country": pick(sweden, "guid", "name", "englishName") | {"code": "SE"},
        "currency": pick(sek, "guid", "code", "name", "symbol"),
        "formatting": {"guid": gid("formatting", "sv-SE"), "code": "sv-SE", "name": "Svenska"},
        "language": {"guid": gid("language", "sv"), "code": "sv", "name": "Svenska"},
        "timezone": {"guid": gid("timezone", "CET"), "name": "(UTC+01:00) Stockholm"},
        "activeAddons": ["RestApi", "Invoicing", "Projects"],
        "activeCompanies": [{
            "guid": gid("company", "demokonsult"), "name": "Demokonsult AB",
            "country": {"guid": sweden["guid"], "name": "Sverige", "englishName": "Sweden",
                        "code3": "SWE"},
            "currencyCode": "SEK", "currencyGuid": sek["guid"], "currencyRate": 1.0,
            "currencySymbol": "kr", "rootBusinessUnitGuid": gid("businessunit", "root"),
        }],
    })  # fmt: skip
    b.add("organizationSettings", "settings", {
        "workWeek": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
        "nextCustomerNumber": 1051, "lastCustomerNumber": 1050, "nextProjectNumber": 1021,
        "lastProjectNumber": 1020, "nextInvoiceNumber": 10009, "lastInvoiceNumber": 10008,
        "nextPurchaseOrderNumber": 1, "nextTravelReimbursementNumber": 1,
        "uniqueIdentifierForProductsAndWorktypes": True, "paymentTerm": 30,
        "overdueInterest": 8.0, "paymentReferenceNumberDisplaySetting": "ReferenceNumber",
        "displayProjectNumber": True, "isCustomerSearchAllowed": True,
        "isAddingNewKeywordsFromProjectAllowed": True, "setCreditNoteInvoiceNumber": True,
        "workHourApprovalMode": "None", "workHourEntryFormat": "Quantity",
        "currencyRoundingType": "AwayFromZero",
    })  # fmt: skip


def build_articles(b: Builder) -> None:
    """Products, work types and travel-expense types (R-1.2, R-2.3, R-5.2)."""
    products = [
        # key, code, name, unit, type, price, cost, vat, active
        ("lic", "LIC-01", "Licens Standard", "st", "Materials", 4500.0, 3000.0, 25.0, True),
        ("utb", "UTB-01", "Utbildningsdag", "dag", "FixedFees", 9500.0, None, 25.0, True),
        ("hw", "HW-100", "Hårdvara kit", "st", "Materials", 12500.0, 8900.0, 25.0, True),
        ("bok", "BOK-01", "Facklitteratur", "st", "Materials", 495.0, 320.0, 6.0, True),
        ("lunch", "LUN-01", "Konferenslunch", "st", "Materials", 185.0, 140.0, 12.0, True),
        ("ue", "UE-01", "Underkonsult", "h", "Subcontracting", 1150.0, 950.0, 25.0, True),
        ("old", "LIC-00", "Licens Legacy", "st", "Materials", 3900.0, 2500.0, 25.0, False),
        # deliberately bad: collides case-insensitively with LIC-01 / has no code
        ("dup", "lic-01", "Licens Standard (gammal)", "st", "Materials", 4200.0, None, 25.0, True),
        ("nocode", None, "Diverse material", "st", "Materials", 100.0, None, 25.0, True),
    ]
    for key, code, name, unit, kind, price, cost, vat, active in products:
        record: Record = {
            "name": name, "code": code, "isActive": active, "type": kind,
            "measurementUnit": unit, "unitPrice": money(price, "SEK"), "vatRate": vat,
            "proposalDescription": None,
        }  # fmt: skip
        if cost is not None:
            record["unitCost"] = money(cost, "SEK")
        b.add("products", key, record, updated=90 if key == "hw" else 0)
    work_types = [
        ("sr", "KONS-SR", "Konsult senior", 650.0, True, True),
        ("jr", "KONS-JR", "Konsult junior", 420.0, False, True),
        ("pl", "PL", "Projektledning", 600.0, False, True),
        ("utv", "UTV", "Utveckling", 520.0, False, True),
        ("intern", None, "Intern tid", 400.0, False, False),  # bad: no code
    ]
    for key, code, name, cost, default, productive in work_types:
        b.add("workTypes", key, {
            "name": name, "code": code, "hourCost": money(cost, "SEK"), "isActive": True,
            "isDefault": default, "isProductive": productive,
        })  # fmt: skip
    travel = [
        ("mil", "MIL", "Milersättning", "Mileage", "km", 2.5, 0.0, False),
        ("trakt", "TRAKT", "Traktamente", "DailyAllowance", "dag", 290.0, 0.0, False),
        ("resa", "RESA", "Övriga resekostnader", "OtherTravelExpense", "st", None, 6.0, False),
    ]
    for key, code, name, kind, unit, cost, vat, include_time in travel:
        b.add("travelExpenseTypes", key, {
            "name": name, "code": code, "expenseClass": kind, "isMileage": kind == "Mileage",
            "isDailyAllowance": kind == "DailyAllowance", "includeTime": include_time,
            "isActive": True, "measurementUnit": unit, "unitCost": money(cost, "SEK"),
            "vatRate": vat, "purchaseVatRate": vat,
        })  # fmt: skip


def _names() -> Iterator[tuple[str, str]]:
    position = 0
    while True:
        yield (
            FIRST_NAMES[position % len(FIRST_NAMES)],
            LAST_NAMES[(position * 3) % len(LAST_NAMES)],
        )
        position += 1


def build_customers(b: Builder) -> None:
    """Customers 1001–1050 with the address/contact shapes of R-5.1."""
    names = _names()
    currencies = {c["code"]: c for c in b.data["currencies"]}
    vat25 = b.get("vatRates", 25.0)
    for number, name in CUSTOMER_NAMES.items():
        index = number - 1001
        country_code, currency_code = "SE", "SEK"
        if number == 1046:
            country_code, currency_code = "NO", "NOK"
        elif number == 1047:
            country_code, currency_code = "FI", "EUR"
        slug = (
            name.split(" ")[0].lower().translate(str.maketrans("åäöéü", "aaoeu"))
            .replace("&", "")
        )  # fmt: skip
        currency = currencies[currency_code]
        customer: Record = {
            "guid": gid("customers", number), "name": name, "number": number,
            "vatNumber": None, "kvkNumber": None, "isActive": number != 1045,
            "isInternal": False, "email": f"info@{slug}.se" if index % 7 != 6 else None,
            "website": f"https://www.{slug}.se" if index % 3 != 2 else None,
            "notes": None, "paymentTerm": (30, 10, None, 20)[index % 4],
            "overdueInterest": 8.0, "eInvoiceAddress": None, "eInvoiceOperator": None,
            "annualRevenue": None, "numberOfEmployees": None,
            "currency": pick(currency, "guid", "code", "name", "symbol"),
            "owner": pick(ANNA, "guid", "code", "firstName", "lastName", "name"),
        }  # fmt: skip
        if index % 2 == 0:
            # SE + the 10-digit org number + 01: the shape VIES accepts for Sweden.
            customer["vatNumber"] = f"SE5560{600000 + index * 37:06d}01"
        elif index % 3 == 0:
            customer["vatNumber"] = f"55{6000 + index * 37:04d}-{1000 + index:04d}"
        if country_code == "SE":
            customer["invoicingVat"] = {
                "guid": vat25["guid"], "code": vat25["code"], "percentage": 25.0,
            }  # fmt: skip
        if number == 1046:
            customer["vatNumber"] = "NO987654321MVA"
        record = b.add("customers", number, customer, updated=300 if number in (1003, 1010) else 0)
        addresses = _addresses_for(b, record, index, country_code)
        main = next((a for a in addresses if a.get("_main")), None)
        for address in addresses:
            address.pop("_main", None)
        if main is not None:
            record["headquarterAddress"] = {
                "guid": main["guid"], "addressline": main.get("addressline"),
                "postalCode": main.get("postalCode"), "city": main.get("city"),
                "country": main.get("country", {}).get("name"),
            }  # fmt: skip
        _contacts_for(b, record, index, addresses, names)


def _addresses_for(b: Builder, customer: Record, index: int, country: str) -> list[Record]:
    number = customer["number"]
    if number == 1049:
        return []  # bad: no address at all
    city, postal = CITIES[index % len(CITIES)]
    street = f"{STREETS[index % len(STREETS)]} {index % 40 + 1}"
    country_record = b.get("countries", country)
    country_ref = {
        "guid": country_record["guid"], "name": country_record["name"],
        "englishName": country_record["englishName"], "hasRegions": "NoRegion",
    }  # fmt: skip
    if country == "NO":
        city, postal, street = "Oslo", "0150", "Karl Johans gate 5"
    elif country == "FI":
        city, postal, street = "Åbo", "20100", "Auragatan 3"
    sub = {"guid": customer["guid"], "name": customer["name"], "number": number}
    phone = f"0{10 + index % 80}-{100000 + index * 4321 % 900000}"

    def address(
        key: str, line: str | None, code: str | None, town: str | None, **flags: Any
    ) -> Record:
        main = flags.pop("main", False)
        record: Record = {
            "addressline": line, "postalCode": code, "city": town, "country": country_ref,
            "customer": sub, "phone": phone, "fax": None, "isBillingAddress": False,
            "isPostalAddress": False, "isVisitAddress": False, **flags,
        }  # fmt: skip
        added = b.add("addresses", f"{number}:{key}", record)
        if main:
            added["_main"] = True
        return added

    if number == 1050:
        # bad: the only address has neither postal code nor city
        return [address("main", street, None, None, isVisitAddress=True, main=True)]
    pattern = index % 5
    if pattern == 0:  # invoicing address + main address
        return [
            address("invoice", f"Box {1000 + index}", postal, city, isBillingAddress=True,
                    isPostalAddress=True),
            address("main", street, postal, city, isVisitAddress=True, main=True),
        ]  # fmt: skip
    if pattern == 1:  # one address for everything
        return [
            address("main", street, postal, city, isBillingAddress=True, isPostalAddress=True,
                    isVisitAddress=True, main=True),
        ]  # fmt: skip
    if pattern == 2:  # only a main address
        return [address("main", street, postal, city, isVisitAddress=True, main=True)]
    if pattern == 3:  # multi-line invoicing address (3-4 lines, R-5.1)
        lines = [f"{customer['name']}", "Ekonomi", f"Box {2000 + index}"]
        if index % 2 == 0:
            lines.insert(1, "c/o Fakturaskanning")
        if number == 1039:  # joined, the extra lines exceed eEkonomi's 50 characters
            lines[1:] = ["c/o Fakturaskanning Norden AB", "Ekonomiavdelningen", "Box 2038"]
        return [
            address("invoice", "\n".join(lines), postal, city, isBillingAddress=True),
            address("main", street, postal, city, isVisitAddress=True, isPostalAddress=True,
                    main=True),
        ]  # fmt: skip
    # pattern 4: two invoicing addresses (the *first* one wins) + main
    return [
        address("invoice", f"Fakturagatan {index}", postal, city, isBillingAddress=True),
        address("invoice2", f"Reskontravägen {index}", postal, city, isBillingAddress=True),
        address("main", street, postal, city, isVisitAddress=True, main=True),
    ]


def _contacts_for(
    b: Builder,
    customer: Record,
    index: int,
    addresses: list[Record],
    names: Iterator[tuple[str, str]],
) -> None:
    count = (0, 1, 2, 3)[index % 4] if customer["number"] not in (1001, 1002) else 2
    billing = next((a for a in addresses if a.get("isBillingAddress")), None)
    sub = {"guid": customer["guid"], "name": customer["name"], "number": customer["number"]}
    domain = str(customer.get("email") or "info@example.se").split("@")[-1]
    for position in range(count):
        first, last = next(names)
        if customer["number"] == 1003 and position == 0:
            first, last = "Anna-Karin", "von Essen"  # a name with a space in the last name
        contact = b.add("contactPersons", f"{customer['number']}:{position}", {
            "firstName": first, "lastName": last, "name": f"{first} {last}",
            "customer": sub, "jobTitle": ("Ekonomichef", "Projektledare", "VD")[position % 3],
            "description": None, "dateOfBirth": None,
            "addressGuid": billing["guid"] if billing and position == 0 else None,
            "isActive": True, "isDeleted": False, "isEmailAllowed": True,
        })  # fmt: skip
        ascii_first = first.lower().translate(str.maketrans("åäöé", "aaoe")).replace(" ", "")
        ascii_last = last.lower().translate(str.maketrans("åäöé", "aaoe")).replace(" ", "")
        values = [
            ("email", f"{ascii_first}.{ascii_last}@{domain}"),
            ("phone", f"08-{500000 + index * 97 + position:06d}"),
        ]
        if position == 0:
            values.append(("mobile", f"070-{1000000 + index * 131:07d}"))
        for kind, value in values:
            comm_type = b.get("communicationTypes", kind)
            b.add("contactCommunications", f"{contact['guid']}:{kind}", {
                "value": value,
                "contact": {"guid": contact["guid"], "name": contact["name"]},
                "communicationType": pick(comm_type, "guid", "name", "type", "isActive"),
                "isForbiddenToUse": False,
            })  # fmt: skip


#: (project number, customer number, name, closed)
PROJECTS: list[tuple[int, int, str, bool]] = [
    (1001, 1001, "Nytt affärssystem", False),
    (1002, 1002, "Hamnlogistik – systemintegration", False),
    (1003, 1002, "Hamnlogistik – utbildning", False),
    (1004, 1003, "Grafisk profil 2024", True),
    (1005, 1004, "Labbdatabas", False),
    (1006, 1005, "Energirapportering", False),
    (1007, 1001, "Förstudie BIM", True),
    (1008, 1006, "Ritningsarkiv", False),
    (1009, 1007, "Fastighetsportal", False),
    (1010, 1008, "Kodgranskning", False),
    (1011, 1009, "Tryckflöde", True),
    (1012, 1010, "Ruttoptimering", False),
    (1013, 1011, "Skogsdata", False),
    (1014, 1012, "Elbesiktning app", False),
    (1015, 1046, "Rådgivning Norge", False),
    (1016, 1047, "Datamigrering Finland", False),
    (1017, 1014, "Processanalys", True),
    (1018, 1016, "Eventplattform", False),
    (1019, 1048, "Förlagssystem", False),
    (1020, 1049, "Konsultstöd", False),
    (1000000021, 1015, "Verkstadsdigitalisering", False),  # bad: number > 9 characters
]


def build_projects(b: Builder) -> None:
    erik = b.get("users", "erik")
    maria = b.get("users", "maria")
    for position, (number, customer_number, name, closed) in enumerate(PROJECTS):
        customer = b.get("customers", customer_number)
        currency = customer["currency"]
        owner = erik if position % 2 == 0 else maria
        phase = b.add("phases", number, {
            "name": name, "project": {"guid": gid("projects", number), "name": name},
        })  # fmt: skip
        contacts = [
            c for c in b.data["contactPersons"] if c["customer"]["guid"] == customer["guid"]
        ]
        record: Record = {
            "guid": gid("projects", number), "name": name, "number": number,
            "customer": {"guid": customer["guid"], "name": customer["name"],
                         "number": customer_number},
            "projectOwner": pick(owner, "guid", "code", "firstName", "lastName", "name"),
            "currency": currency,
            "businessUnit": {"guid": gid("businessunit", "root"), "name": "Demokonsult AB"},
            "isClosed": closed, "closedDate": "2025-02-28" if closed else None,
            "isInternal": False, "isJoiningAllowed": True, "isMileageBillable": True,
            "isDailyAllowanceBillable": True, "isOtherTravelExpensesBillable": True,
            "description": None, "internalName": None, "invoiceNotes": None,
            "orderNumber": f"PO-{number}" if position % 3 == 0 else None,
            "ourReference": owner["name"],
            "yourReference": contacts[0]["name"] if contacts else None,
            "paymentTerm": None, "probability": 100, "startDate": "2025-01-02",
            "deadline": None, "expectedOrderDate": None, "keywords": [],
            "useOvertimeMultipliers": True, "useProductsFromSetting": True,
            "useWorkTypesFromSetting": True,
            "rootPhase": {"guid": phase["guid"], "name": name},
        }  # fmt: skip
        if contacts:
            first = contacts[0]
            record["billingContact"] = pick(first, "guid", "firstName", "lastName", "name") | {
                "code": None
            }
        b.add("projects", number, record, updated=600 if closed else 0)


#: Invoices: (key, customer, projects, status, date, header extras, rows). A row is
#: (kind, code, description, quantity, unit price, items per row, vat).
InvoiceRow = tuple[str, str | None, str, float, float, int, float]


def _invoices() -> list[tuple[str, int, list[int], str, str, Record, list[InvoiceRow]]]:
    return [
        # ~10 "to transfer" with every row shape the sync must map
        ("t1", 1001, [1001], "Att överföra", "2025-03-03", {}, [
            ("workHour", "KONS-SR", "Konsult senior", 12.5, 1250.0, 3, 25.0),
            ("workHour", "PL", "Projektledning", 4.0, 1100.0, 2, 25.0),
            ("projectFee", "LIC-01", "Licens Standard", 5.0, 4500.0, 1, 25.0),
        ]),
        ("t2", 1002, [1002, 1003], "Att överföra", "2025-03-04",
         {"orderNumber": "PO-4711"}, [
            ("workHour", "UTV", "Utveckling", 20.0, 1050.0, 4, 25.0),
            ("projectFee", "UTB-01", "Utbildningsdag", 2.0, 9500.0, 1, 25.0),
            ("travelExpense", "MIL", "Milersättning", 340.0, 2.5, 2, 0.0),
        ]),
        ("t3", 1003, [1004], "Att överföra", "2025-03-05", {}, [
            ("projectFee", "HW-100", "Hårdvara kit", 1.0, 12500.0, 1, 25.0),
            ("projectFee", None, "Resekostnad enligt avtal", 1.0, 2400.0, 1, 25.0),
        ]),
        ("t4", 1004, [1005], "Att överföra", "2025-03-06", {}, [
            ("workHour", "KONS-JR", "Konsult junior", 7.75, 895.0, 2, 25.0),
            ("projectFee", "BOK-01", "Facklitteratur", 3.0, 495.0, 1, 6.0),
            ("projectFee", "LUN-01", "Konferenslunch", 12.0, 185.0, 1, 12.0),
        ]),
        ("t5", 1005, [1006], "Att överföra", "2025-03-07", {}, [
            ("workHour", "KONS-SR", "Konsult senior", 3.0, 1234.5678, 1, 25.0),
            ("travelExpense", "TRAKT", "Traktamente", 2.0, 290.0, 2, 0.0),
            ("travelExpense", "RESA", "Taxi Arlanda", 1.0, 645.0, 1, 6.0),
        ]),
        ("t6", 1006, [1008], "Att överföra", "2025-03-10", {}, [
            ("projectFee", "UE-01", "Underkonsult", 16.0, 1150.0, 1, 25.0),
        ]),
        ("t7", 1046, [1015], "Att överföra", "2025-03-11", {}, [
            ("workHour", "KONS-SR", "Konsult senior", 6.0, 1300.0, 2, 0.0),
        ]),
        ("t8", 1049, [1020], "Att överföra", "2025-03-12", {}, [
            ("workHour", "PL", "Projektledning", 2.0, 1100.0, 1, 25.0),
        ]),
        ("t9", 1010, [1012], "Att överföra", "2025-03-13", {}, [
            ("workHour", "UTV", "Utveckling", 10.0, 1050.0, 2, 25.0),
            ("projectFee", "LIC-01", "Licens Standard", 2.0, 4500.0, 1, 25.0),
        ]),
        ("t10", 1015, [1000000021], "Att överföra", "2025-03-14", {}, [
            ("workHour", "KONS-SR", "Konsult senior", 8.0, 1250.0, 2, 25.0),
        ]),
        # other statuses
        ("d1", 1007, [1009], "Utkast", "2025-03-17", {}, [
            ("workHour", "KONS-JR", "Konsult junior", 5.0, 895.0, 1, 25.0),
        ]),
        ("d2", 1008, [1010], "Utkast", "2025-03-18", {}, [
            ("projectFee", "LIC-01", "Licens Standard", 1.0, 4500.0, 1, 25.0),
        ]),
        ("o1", 1012, [1014], "Överförd", "2025-02-20", {}, [
            ("workHour", "UTV", "Utveckling", 14.0, 1050.0, 2, 25.0),
        ]),
        ("o2", 1016, [1018], "Överförd", "2025-02-21", {}, [
            ("projectFee", "UTB-01", "Utbildningsdag", 1.0, 9500.0, 1, 25.0),
        ]),
        ("s1", 1001, [1007], "Skickad", "2025-02-10",
         {"number": 10005, "referenceNumber": "100057"}, [
            ("workHour", "KONS-SR", "Konsult senior", 9.0, 1250.0, 2, 25.0),
        ]),
        ("s2", 1011, [1013], "Skickad", "2025-02-12",
         {"number": 10006, "referenceNumber": "100065"}, [
            ("workHour", "PL", "Projektledning", 3.0, 1100.0, 1, 25.0),
        ]),
        ("s3", 1014, [1017], "Skickad", "2025-02-14",
         {"number": 10007, "referenceNumber": "100073"}, [
            ("projectFee", "HW-100", "Hårdvara kit", 2.0, 12500.0, 1, 25.0),
        ]),
        ("p1", 1002, [1002], "Betald", "2025-01-15",
         {"number": 10001, "referenceNumber": "100016", "paymentDate": "2025-02-10"}, [
            ("workHour", "UTV", "Utveckling", 8.0, 1050.0, 2, 25.0),
        ]),
        ("p2", 1009, [1011], "Betald", "2025-01-20",
         {"number": 10002, "referenceNumber": "100024", "paymentDate": "2025-02-15"}, [
            ("projectFee", "LIC-01", "Licens Standard", 4.0, 4500.0, 1, 25.0),
        ]),
        ("p3", 1003, [1004], "Betald", "2025-01-25",
         {"number": 10003, "referenceNumber": "100032", "paymentDate": "2025-02-20"}, [
            ("workHour", "KONS-SR", "Konsult senior", 4.0, 1250.0, 1, 25.0),
        ]),
        ("m1", 1018, [1019], "Makulerad", "2025-02-05",
         {"number": 10004, "referenceNumber": "100040"}, [
            ("workHour", "KONS-JR", "Konsult junior", 2.0, 895.0, 1, 25.0),
        ]),
    ]  # fmt: skip


def build_invoices(app: SeveraSandbox) -> None:
    created: dict[str, Record] = {}
    for key, customer, projects, status, day, header, rows in _invoices():
        payload: Record = {
            "customer": customer, "projects": projects, "status": status, "date": day,
            "ourReference": "Anna Andersson", "yourReference": _your_reference(app, customer),
            "notes": f"Fakturan avser arbete under {day[:7]}.",
            "freeText1": "Betalningsvillkor enligt avtal.",
            "freeText2": "Tack för förtroendet!" if key != "t3" else None,
            "createdDateTime": severa.fmt_time(datetime.fromisoformat(day + "T16:00:00+00:00")),
            "rows": [_row(app, projects, row, key, position) for position, row in enumerate(rows)],
            **header,
        }  # fmt: skip
        invoice = app.build_invoice(payload)
        created[key] = invoice
    # a credit note (negative) crediting the paid invoice p2, waiting to be transferred
    original = created["p2"]
    credit = app.build_invoice({
        "customer": 1009, "projects": [1011], "status": "Att överföra", "date": "2025-03-15",
        "ourReference": "Anna Andersson", "yourReference": None,
        "notes": "Kreditering av faktura 10002.", "freeText1": None, "freeText2": None,
        "isCreditNote": True,
        "reimburseInvoice": {"guid": original["guid"], "number": original["number"]},
        "createdDateTime": "2025-03-15T16:00:00.000Z",
        "rows": [{
            "rowType": "ProjectFees", "code": "LIC-01",
            "description": "Kreditering Licens Standard",
            "quantity": -1.0, "unitPrice": 4500.0, "vatRate": 25.0, "measurementUnit": "st",
            "items": [{"kind": "projectFee", "product": "LIC-01", "quantity": -1.0,
                       "unitPrice": 4500.0, "eventDate": "2025-03-15"}],
        }],
    })  # fmt: skip
    paid = app.col("invoices").records[original["guid"]]
    app.col("invoices").put(
        {**paid, "creditNoteInvoice": {"guid": credit["guid"], "number": credit.get("number")}}
    )


def _your_reference(app: SeveraSandbox, customer_number: int) -> str | None:
    customer = app._lookup("customers", customer_number, "number")
    contacts = app.col("contactPersons").by("customer.guid", customer["guid"])
    return app.col("contactPersons").records[contacts[0]]["name"] if contacts else None


def _row(
    app: SeveraSandbox, projects: list[int], row: InvoiceRow, key: str, position: int
) -> Record:
    kind, code, description, quantity, price, item_count, vat = row
    row_type = {"workHour": "Hours", "projectFee": "ProjectFees"}.get(kind, "TravelExpenses")
    unit = {"Hours": "h"}.get(row_type)
    items: list[Record] = []
    remaining = quantity
    for n in range(item_count):
        share = round(quantity / item_count, 2) if n < item_count - 1 else round(remaining, 2)
        remaining -= share
        project = projects[(n + position) % len(projects)]
        item: Record = {
            "kind": kind, "project": project, "quantity": share, "unitPrice": price,
            "eventDate": f"2025-0{2 if key[0] in 'pms' else 3}-{n + 3:02d}",
            "description": f"{description} {n + 1}",
        }  # fmt: skip
        if kind == "workHour":
            item["workType"] = code
            item["unitCost"] = 650.0
        elif kind == "projectFee":
            if code:
                item["product"] = code
            else:
                item["name"] = description
                item["vatRate"] = vat
        else:
            item["travelExpense"] = code
            item["vatRate"] = vat
        items.append(item)
    if row_type == "ProjectFees" and code:
        unit = app._lookup("products", code, "code").get("measurementUnit")
    elif row_type == "TravelExpenses" and code:
        unit = app._lookup("travelExpenseTypes", code, "code").get("measurementUnit")
    return {
        "rowType": row_type, "code": code, "description": description, "quantity": quantity,
        "unitPrice": price, "vatRate": vat, "measurementUnit": unit, "items": items,
    }  # fmt: skip


def build_open_items(app: SeveraSandbox) -> None:
    """Uninvoiced project fees and hours (so ``POST /v1/invoices`` has work to do) and one
    non-billable fee."""
    for project_number, item in (
        (1002, {"kind": "projectFee", "product": "LIC-01", "quantity": 3.0, "unitPrice": 4500.0,
                "eventDate": "2025-03-18"}),
        (1002, {"kind": "workHour", "workType": "UTV", "quantity": 6.0, "unitPrice": 1050.0,
                "eventDate": "2025-03-18"}),
        (1003, {"kind": "workHour", "workType": "KONS-JR", "quantity": 4.5, "unitPrice": 895.0,
                "eventDate": "2025-03-19"}),
        (1005, {"kind": "projectFee", "product": "HW-100", "quantity": 1.0, "unitPrice": 12500.0,
                "unitCost": 8900.0, "eventDate": "2025-03-19"}),
        (1001, {"kind": "projectFee", "name": "Kontorsmaterial (ej fakturerbart)",
                "quantity": 1.0, "unitPrice": 0.0, "unitCost": 349.0, "vatRate": 25.0,
                "eventDate": "2025-03-19"}),
    ):  # fmt: skip
        project = app._lookup("projects", project_number, "number")
        customer = app._lookup("customers", project["customer"]["guid"])
        collection, guid = app.add_source_item(item, [project], customer)
        if "ej fakturerbart" in str(item.get("name")):
            record = app.col(collection).records[guid]
            app.col(collection).put({**record, "isBillable": False})


def build() -> dict[str, Any]:
    """The whole demo store (deterministic)."""
    b = Builder()
    build_reference(b)
    build_articles(b)
    build_customers(b)
    build_projects(b)
    counter = iter(range(1, 1_000_000))
    clock_state = [INVOICE_CLOCK]

    def clock() -> datetime:
        clock_state[0] += timedelta(seconds=1)
        return clock_state[0]

    original = severa.new_guid
    severa.new_guid = lambda: gid("generated", next(counter))  # deterministic while building
    try:
        app = SeveraSandbox(clock=clock)
        app.seed_store(b.data, replace=True)
        build_invoices(app)
        build_open_items(app)
        data = app.dump_store()
    finally:
        severa.new_guid = original
    data["_meta"] = {
        "description": "Demo organization 'Demokonsult AB' (org no 556677-8899) for the "
        "Severa sandbox; generated by sandbox/demo_severa.py.",
        "credentials": {
            "client_id": severa.DEMO_CLIENT_ID,
            "client_secret": severa.DEMO_CLIENT_SECRET,
        },
    }
    return data


def main() -> None:
    data = build()
    DEMO_DATA.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False)
    Path(DEMO_DATA).write_text(text + "\n", encoding="utf-8")
    counts = {k: len(v) for k, v in data.items() if isinstance(v, list)}
    print(f"wrote {DEMO_DATA}: {counts}")  # noqa: T201 - a command-line script


if __name__ == "__main__":
    main()
