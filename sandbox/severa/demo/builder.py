"""The demo generator's tools: stable guids and stamps, and an organization's reference data.

Every demo record gets a guid derived from a stable key (uuid5) and a creation stamp
from a fixed epoch, so the committed files change only when the generator does. The
reference data (countries, currencies, VAT rates, invoice statuses, users, the
organization's details and settings) is the same shape for every demo organization;
a :class:`Profile` says what differs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.core import utc_ms
from sandbox.severa.store import COLLECTIONS
from sandbox.severa.wire import money_output, pick

Record = dict[str, Any]

NAMESPACE = uuid.UUID("5e7e8a00-0000-4000-8000-00000000d3b0")

#: The moment the demo was "taken"; master data is older, invoices are from March.
EPOCH = datetime(2025, 1, 7, 8, 0, tzinfo=UTC)
INVOICE_CLOCK = datetime(2025, 3, 20, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Profile:
    """What sets one demo organization apart: its guid namespace, who it is, and the
    numbers its next customer, project and invoice get."""

    key: str
    name: str
    vat_number: str
    street: str
    postal_code: str
    phone: str
    company: str
    next_numbers: tuple[int, int, int]
    #: Other organization details (``formatting``, ``activeAddons``, …) to override.
    extra: Record = field(default_factory=dict)


def stamp(minutes: int) -> str:
    return utc_ms(EPOCH + timedelta(minutes=minutes))


class Builder:
    """Accumulates the master data collections of one organization in wire format."""

    def __init__(self, key: str = "severa-demo") -> None:
        self.key = key
        self.data: dict[str, list[Record]] = {name: [] for name in COLLECTIONS}
        self.clock_minutes = 0
        self.by_key: dict[tuple[str, object], Record] = {}
        self.author: Record = {
            "guid": self.gid("users", "anna"), "code": "AA", "firstName": "Anna",
            "lastName": "Andersson", "name": "Anna Andersson",
        }  # fmt: skip

    def gid(self, kind: str, key: object) -> str:
        """A stable guid for (kind, key) in this organization."""
        return str(uuid.uuid5(NAMESPACE, f"{self.key}:{kind}:{key}"))

    def add(self, collection: str, key: object, record: Record, *, updated: int = 0) -> Record:
        self.clock_minutes += 7
        record.setdefault("guid", self.gid(collection, key))
        record["createdDateTime"] = stamp(self.clock_minutes)
        record["createdBy"] = self.author
        record["lastUpdatedDateTime"] = stamp(self.clock_minutes + updated) if updated else None
        if updated:
            record["lastUpdatedBy"] = self.author
        self.data[collection].append(record)
        self.by_key[(collection, key)] = record
        return record

    def get(self, collection: str, key: object) -> Record:
        return self.by_key[(collection, key)]


def build_reference(b: Builder, profile: Profile) -> None:
    """Countries, currencies, VAT rates, invoice statuses, users, and the organization."""
    _countries_and_money(b)
    _statuses_and_users(b)
    _organization(b, profile)


def _countries_and_money(b: Builder) -> None:
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


def _statuses_and_users(b: Builder) -> None:
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


def _organization(b: Builder, profile: Profile) -> None:
    sweden = b.get("countries", "SE")
    sek = b.get("currencies", "SEK")
    customers, projects, invoices = profile.next_numbers
    b.add("organizationDetails", "org", {
        "name": profile.name, "vatNumber": profile.vat_number, "kvkNumber": None,
        "address": profile.street, "postalCode": profile.postal_code, "city": "Stockholm",
        "phone": profile.phone, "fax": None, "registeredOffice": "Stockholm",
        "eInvoiceAddress": None, "eInvoiceOperatorCode": None, "isVatRegistered": True,
        "odpCompany": None,
        "country": pick(sweden, "guid", "name", "englishName") | {"code": "SE"},
        "currency": pick(sek, "guid", "code", "name", "symbol"),
        "formatting": {"guid": b.gid("formatting", "sv-SE"), "code": "sv-SE", "name": "Svenska"},
        "language": {"guid": b.gid("language", "sv"), "code": "sv", "name": "Svenska"},
        "timezone": {"guid": b.gid("timezone", "CET"), "name": "(UTC+01:00) Stockholm"},
        "activeAddons": ["RestApi", "Invoicing", "Projects"],
        "activeCompanies": [{
            "guid": b.gid("company", profile.company), "name": profile.name,
            "country": {"guid": sweden["guid"], "name": "Sverige", "englishName": "Sweden",
                        "code3": "SWE"},
            "currencyCode": "SEK", "currencyGuid": sek["guid"], "currencyRate": 1.0,
            "currencySymbol": "kr", "rootBusinessUnitGuid": b.gid("businessunit", "root"),
        }],
        **profile.extra,
    })  # fmt: skip
    b.add("organizationSettings", "settings", {
        "workWeek": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
        "nextCustomerNumber": customers, "lastCustomerNumber": customers - 1,
        "nextProjectNumber": projects, "lastProjectNumber": projects - 1,
        "nextInvoiceNumber": invoices, "lastInvoiceNumber": invoices - 1,
        "nextPurchaseOrderNumber": 1, "nextTravelReimbursementNumber": 1,
        "uniqueIdentifierForProductsAndWorktypes": True, "paymentTerm": 30,
        "overdueInterest": 8.0, "paymentReferenceNumberDisplaySetting": "ReferenceNumber",
        "displayProjectNumber": True, "isCustomerSearchAllowed": True,
        "isAddingNewKeywordsFromProjectAllowed": True, "setCreditNoteInvoiceNumber": True,
        "workHourApprovalMode": "None", "workHourEntryFormat": "Quantity",
        "currencyRoundingType": "AwayFromZero",
    })  # fmt: skip


#: A product: key, code, name, unit, type, price, cost, vat, active.
Product = tuple[str, str | None, str, str, str, float, float | None, float, bool]
#: A work type: key, code, name, hour cost, default, productive.
WorkType = tuple[str, str | None, str, float, bool, bool]
#: A travel-expense type: key, code, name, class, unit, cost, vat, includes time.
TravelType = tuple[str, str, str, str, str, float | None, float, bool]


def build_articles(
    b: Builder, products: list[Product], work_types: list[WorkType], travel: list[TravelType]
) -> None:
    """Products, work types and travel-expense types (R-1.2, R-2.3, R-5.2)."""
    for key, code, name, unit, kind, price, cost, vat, active in products:
        record: Record = {
            "name": name, "code": code, "isActive": active, "type": kind,
            "measurementUnit": unit, "unitPrice": money_output(price, "SEK"), "vatRate": vat,
            "proposalDescription": None,
        }  # fmt: skip
        if cost is not None:
            record["unitCost"] = money_output(cost, "SEK")
        b.add("products", key, record, updated=90 if key == "hw" else 0)
    for key, code, name, hour_cost, default, productive in work_types:
        b.add("workTypes", key, {
            "name": name, "code": code, "hourCost": money_output(hour_cost, "SEK"),
            "isActive": True, "isDefault": default, "isProductive": productive,
        })  # fmt: skip
    for key, code, name, kind, unit, unit_cost, vat, include_time in travel:
        b.add("travelExpenseTypes", key, {
            "name": name, "code": code, "expenseClass": kind, "isMileage": kind == "Mileage",
            "isDailyAllowance": kind == "DailyAllowance", "includeTime": include_time,
            "isActive": True, "measurementUnit": unit, "unitCost": money_output(unit_cost, "SEK"),
            "vatRate": vat, "purchaseVatRate": vat,
        })  # fmt: skip
