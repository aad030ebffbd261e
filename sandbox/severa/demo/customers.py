"""The demo organization's customers, with their addresses and contacts, and its projects.

Customers 1001–1050 cover every address and contact shape of R-5.1 (an invoicing
address beside the main one, one address for everything, multi-line invoicing
addresses, two invoicing addresses of which the first wins) and the deliberately bad
ones the sync must reject: no address at all, an address without postal code and city,
a project number longer than nine characters.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sandbox.severa.demo.builder import Builder
from sandbox.severa.wire import pick

Record = dict[str, Any]

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
            "guid": b.gid("customers", number), "name": name, "number": number,
            "vatNumber": None, "kvkNumber": None, "isActive": number != 1045,
            "isInternal": False, "email": f"info@{slug}.se" if index % 7 != 6 else None,
            "website": f"https://www.{slug}.se" if index % 3 != 2 else None,
            "notes": None, "paymentTerm": (30, 10, None, 20)[index % 4],
            "overdueInterest": 8.0, "eInvoiceAddress": None, "eInvoiceOperator": None,
            "annualRevenue": None, "numberOfEmployees": None,
            "currency": pick(currency, "guid", "code", "name", "symbol"),
            "owner": pick(b.author, "guid", "code", "firstName", "lastName", "name"),
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


def _place(index: int, country: str) -> tuple[str, str, str]:
    """(city, postal code, street) of customer ``index``: Swedish unless abroad."""
    if country == "NO":
        return "Oslo", "0150", "Karl Johans gate 5"
    if country == "FI":
        return "Åbo", "20100", "Auragatan 3"
    city, postal = CITIES[index % len(CITIES)]
    return city, postal, f"{STREETS[index % len(STREETS)]} {index % 40 + 1}"


def _invoicing_lines(customer: Record, index: int) -> str:
    """A multi-line invoicing address (3-4 lines, R-5.1)."""
    lines = [f"{customer['name']}", "Ekonomi", f"Box {2000 + index}"]
    if index % 2 == 0:
        lines.insert(1, "c/o Fakturaskanning")
    if customer["number"] == 1039:  # joined, the extra lines exceed eEkonomi's 50 characters
        lines[1:] = ["c/o Fakturaskanning Norden AB", "Ekonomiavdelningen", "Box 2038"]
    return "\n".join(lines)


def _addresses_for(b: Builder, customer: Record, index: int, country: str) -> list[Record]:
    number = customer["number"]
    if number == 1049:
        return []  # bad: no address at all
    city, postal, street = _place(index, country)
    country_record = b.get("countries", country)
    country_ref = {
        "guid": country_record["guid"], "name": country_record["name"],
        "englishName": country_record["englishName"], "hasRegions": "NoRegion",
    }  # fmt: skip
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
    if pattern == 3:  # multi-line invoicing address
        return [
            address("invoice", _invoicing_lines(customer, index), postal, city,
                    isBillingAddress=True),
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


#: A project: (project number, customer number, name, closed).
Project = tuple[int, int, str, bool]

PROJECTS: list[Project] = [
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


def build_projects(b: Builder, projects: list[Project], unit: str) -> None:
    """Projects with a root phase each, owned in turn by Erik and Maria; ``unit`` names
    the organization's root business unit."""
    erik = b.get("users", "erik")
    maria = b.get("users", "maria")
    for position, (number, customer_number, name, closed) in enumerate(projects):
        customer = b.get("customers", customer_number)
        currency = customer["currency"]
        owner = erik if position % 2 == 0 else maria
        phase = b.add("phases", number, {
            "name": name, "project": {"guid": b.gid("projects", number), "name": name},
        })  # fmt: skip
        contacts = [
            c for c in b.data["contactPersons"] if c["customer"]["guid"] == customer["guid"]
        ]
        record: Record = {
            "guid": b.gid("projects", number), "name": name, "number": number,
            "customer": {"guid": customer["guid"], "name": customer["name"],
                         "number": customer_number},
            "projectOwner": pick(owner, "guid", "code", "firstName", "lastName", "name"),
            "currency": currency,
            "businessUnit": {"guid": b.gid("businessunit", "root"), "name": unit},
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
