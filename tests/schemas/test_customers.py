"""R-5.1 customers: Severa customer + addresses + contacts ⇄ eEkonomi customer."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from schemas.base import MappingError
from schemas.customer_addresses import record_to_severa_address
from schemas.customer_contacts import (
    record_to_severa_contact,
    record_to_severa_contact_communications,
    split_contact_name,
)
from schemas.customer_identity import (
    ascii_number,
    check_importable_into_severa,
    compact_vat_number,
    customer_number_problem,
)
from schemas.customers import (
    eekonomi_customer_to_record,
    record_to_eekonomi_customer,
    record_to_severa_customer,
    severa_customer_to_record,
)
from schemas.records import CustomerRecord, content_hash
from tests.schemas.conftest import load_fixture

DEFAULT_TERMS = "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e010"
SWEDEN_GUID = "c0ffee00-0000-4a00-8000-0000000000e5"
ANNA = "c0a1c7a1-0000-4a00-8000-000000000001"
BILLING = "a1d7c0de-0000-4a00-8000-000000000002"


def severa_payload(*, communications: bool = True) -> dict[str, Any]:
    """The engine's input: customer + its addresses + its contacts (module docstring)."""
    contacts = load_fixture("severa/customer_contacts")
    if communications:
        for contact in contacts:
            contact["communications"] = [
                c
                for c in load_fixture("severa/contact_communications")
                if c["contact"]["guid"] == contact["guid"]
            ]
    return {
        **load_fixture("severa/customer"),
        "addresses": load_fixture("severa/customer_addresses"),
        "contacts": contacts,
    }


def terms() -> list[dict[str, Any]]:
    return list(load_fixture("eekonomi/terms_of_payments")["Data"])


def to_eekonomi(record: CustomerRecord, **kwargs: Any) -> dict[str, Any]:
    return record_to_eekonomi_customer(record, default_terms_id=DEFAULT_TERMS, **kwargs)


def billing_address(payload: dict[str, Any]) -> dict[str, Any]:
    return next(a for a in payload["addresses"] if a["isBillingAddress"])


# -- the fixtures are what the vendors send ---------------------------------------------


def test_fixtures_match_the_vendor_contracts(assert_contract: Callable[..., None]) -> None:
    assert_contract("severa", "CustomerModel", load_fixture("severa/customer"), sent=False)
    for address in load_fixture("severa/customer_addresses"):
        assert_contract("severa", "AddressModel", address, sent=False)
    for contact in load_fixture("severa/customer_contacts"):
        assert_contract("severa", "ContactModel", contact, sent=False)
    for item in load_fixture("severa/contact_communications"):
        assert_contract("severa", "ContactCommunicationModel", item, sent=False)
    assert_contract("eekonomi", "CustomerApi", load_fixture("eekonomi/customer"), sent=False)
    assert_contract(
        "eekonomi",
        "PaginatedResponseOfTermsOfPaymentApi",
        load_fixture("eekonomi/terms_of_payments"),
        sent=False,
    )


def test_r_5_1_payloads_we_send_match_the_vendor_contracts(
    assert_contract: Callable[..., None],
) -> None:
    record = severa_customer_to_record(severa_payload())
    assert_contract(
        "eekonomi", "CustomerApi", to_eekonomi(record, terms_of_payment=terms()), sent=True
    )

    from_eekonomi = eekonomi_customer_to_record(load_fixture("eekonomi/customer"))
    assert_contract(
        "severa",
        "CustomerModel",
        record_to_severa_customer(from_eekonomi, currency_guids={"SEK": "c5d0"}),
        sent=True,
    )
    assert_contract(
        "severa",
        "AddressModel",
        record_to_severa_address(from_eekonomi, country_guids={"SE": SWEDEN_GUID}),
        sent=True,
    )
    contact = record_to_severa_contact(from_eekonomi, customer_guid="cust-1", address_guid="addr-1")
    assert contact is not None
    assert_contract("severa", "ContactModel", contact, sent=True)
    for body in record_to_severa_contact_communications(
        from_eekonomi,
        contact_guid="contact-1",
        communication_types=load_fixture("severa/communication_types"),
    ):
        assert_contract("severa", "ContactCommunicationModel", body, sent=True)


# -- number, name, type ------------------------------------------------------------------


def test_r_5_1_customer_number_and_name_from_severa() -> None:
    payload = to_eekonomi(severa_customer_to_record(severa_payload()))

    assert payload["CustomerNumber"] == "1049"
    assert payload["Name"] == "Nordlund Konsult AB"
    assert payload["IsActive"] is True


def test_r_5_1_customer_type_is_company_when_it_comes_from_severa() -> None:
    record = severa_customer_to_record(severa_payload())

    assert record["is_private_person"] is False
    assert to_eekonomi(record)["IsPrivatePerson"] is False


def test_r_5_1_severa_customer_without_number_is_rejected() -> None:
    payload = {**severa_payload(), "number": None}

    with pytest.raises(MappingError) as caught:
        severa_customer_to_record(payload)

    assert caught.value.record_label == "customer (no number) 'Nordlund Konsult AB'"
    assert "give it one in Severa" in caught.value.reason


@pytest.mark.parametrize("number", ["²", "１２３", "12³"])
def test_r_5_1_a_customer_number_with_non_ascii_digits_is_a_mapping_error(number: str) -> None:
    """Issue 14 item 8: ``'²'.isdigit()`` is true but ``int('²')`` raises, and
    ``int('１２３')`` is 123 — another customer. Only ASCII digits are a number."""
    with pytest.raises(MappingError, match="is not a whole number"):
        severa_customer_to_record({**severa_payload(), "number": number})
    assert ascii_number(number) is None
    assert customer_number_problem(number) is not None
    assert ascii_number("123") == 123


# -- org no / VAT no ---------------------------------------------------------------------


def test_r_5_1_one_severa_vat_value_fills_both_eekonomi_fields() -> None:
    payload = to_eekonomi(severa_customer_to_record(severa_payload()))

    assert payload["CorporateIdentityNumber"] == "SE5566778899 01"
    assert payload["VatNumber"] == "SE556677889901"  # compact, as VIES checks it


def test_r_5_1_plain_org_number_goes_to_corporate_identity_number_only() -> None:
    """VIES would refuse '556677-8899' as a VAT number (eEkonomi error 4025)."""
    record = severa_customer_to_record({**severa_payload(), "vatNumber": "556677-8899"})
    payload = to_eekonomi(record)

    assert payload["CorporateIdentityNumber"] == "556677-8899"
    assert payload["VatNumber"] is None


@pytest.mark.parametrize(
    ("value", "vat"),
    [
        ("SE5566778899 01", "SE556677889901"),
        ("se 556677-8899 01", "SE556677889901"),
        ("FI12345678", "FI12345678"),
        ("EL123456789", "EL123456789"),
        ("DE 123.456.789", "DE123456789"),
        ("556677-8899", None),  # Swedish org number: no country prefix
        ("1234567-8", None),  # Finnish business id
        ("NO123456789MVA", None),  # Norway: not in VIES
        ("GB123456789", None),  # not in VIES since Brexit
        ("SE123", None),  # too short
        ("", None),
        (None, None),
    ],
)
def test_r_5_1_only_eu_vat_shaped_values_go_to_vat_number(
    value: str | None, vat: str | None
) -> None:
    assert compact_vat_number(value) == vat


def test_r_5_1_into_severa_the_vat_number_wins_over_a_plain_org_number() -> None:
    record = eekonomi_customer_to_record(load_fixture("eekonomi/customer"))

    assert record_to_severa_customer(record)["vatNumber"] == "SE556012345601"
    no_vat: CustomerRecord = {**record, "vat_number": None}
    assert record_to_severa_customer(no_vat)["vatNumber"] == "556012-3456"


# -- address -----------------------------------------------------------------------------


def test_r_5_1_address_prefers_first_invoicing_address() -> None:
    payload = severa_payload()
    # The main (headquarter) address comes first in the list; the invoicing one wins.
    assert payload["addresses"][0]["guid"] == payload["headquarterAddress"]["guid"]

    record = severa_customer_to_record(payload)

    assert record["address_line1"] == "Ekonomiavdelningen"
    assert record["postal_code"] == "103 66"


def test_r_5_1_first_of_several_invoicing_addresses_is_used() -> None:
    payload = severa_payload()
    second = {**billing_address(payload), "guid": "second", "addressline": "Andra vägen 2"}
    payload["addresses"].append(second)

    assert severa_customer_to_record(payload)["address_line1"] == "Ekonomiavdelningen"


def test_r_5_1_address_falls_back_to_main_address() -> None:
    payload = severa_payload()
    payload["addresses"] = [
        {**a, "isBillingAddress": False, "isPostalAddress": False}
        for a in reversed(payload["addresses"])
    ]

    record = severa_customer_to_record(payload)

    assert record["address_line1"] == "Sveavägen 44"  # the headquarterAddress
    assert record["postal_code"] == "111 34"
    assert record["phone"] == "08-123 456 00"


def test_r_5_1_extra_address_lines_join_into_second_line() -> None:
    payload = to_eekonomi(severa_customer_to_record(severa_payload()))

    assert payload["InvoiceAddress1"] == "Ekonomiavdelningen"
    assert payload["InvoiceAddress2"] == "Box 3310, Referens 4471"


@pytest.mark.parametrize(
    ("addressline", "line1", "line2"),
    [
        ("Storgatan 1", "Storgatan 1", None),
        ("Storgatan 1\nBox 12", "Storgatan 1", "Box 12"),
        ("Storgatan 1\r\n\r\nBox 12\n  Plan 3  \n", "Storgatan 1", "Box 12, Plan 3"),
    ],
)
def test_r_5_1_address_lines_split_on_newlines(
    addressline: str, line1: str, line2: str | None
) -> None:
    payload = severa_payload()
    billing_address(payload)["addressline"] = addressline

    record = severa_customer_to_record(payload)

    assert (record["address_line1"], record["address_line2"]) == (line1, line2)


def test_r_5_1_address_line_longer_than_eekonomi_allows_is_rejected_not_truncated() -> None:
    payload = severa_payload()
    billing_address(payload)["addressline"] = (
        "Ekonomiavdelningen\nc/o Redovisningsbyrån Norr AB\nBox 3310\nReferens 4471-XY"
    )
    record = severa_customer_to_record(payload)

    with pytest.raises(MappingError) as caught:
        to_eekonomi(record)

    assert caught.value.record_label == "customer 1049 'Nordlund Konsult AB'"
    assert caught.value.reason.startswith("InvoiceAddress2: 'c/o Redovisningsbyrån Norr AB, Box")
    assert "longer than 50 characters" in caught.value.reason
    assert "shorten it in Severa" in caught.value.reason


def test_r_5_1_postal_code_city_country_and_phone_come_from_the_chosen_address() -> None:
    payload = to_eekonomi(severa_customer_to_record(severa_payload()))

    assert payload["InvoicePostalCode"] == "103 66"
    assert payload["InvoiceCity"] == "Stockholm"
    assert payload["InvoiceCountryCode"] == "SE"
    assert payload["Telephone"] == "08-123 456 10"  # the invoicing address's, not the main one's


@pytest.mark.parametrize(
    ("country", "code"),
    [
        ({"guid": "x", "name": "Suomi", "englishName": "Finland"}, "FI"),
        ({"guid": "x", "name": "Norge", "englishName": None}, "NO"),
        ({"guid": "x", "name": "Tyskland"}, "DE"),
        ({"guid": "x", "name": "Atlantis", "code2": "dk"}, "DK"),
    ],
)
def test_r_5_1_country_code_from_severa_country_names(country: dict[str, Any], code: str) -> None:
    payload = severa_payload()
    billing_address(payload)["country"] = country

    assert severa_customer_to_record(payload)["country_code"] == code


def test_r_5_1_country_code_from_severa_country_list() -> None:
    payload = severa_payload()
    billing_address(payload)["country"] = {"guid": "g-ee", "name": "Viro", "englishName": None}

    record = severa_customer_to_record(payload, country_codes={"g-ee": "EE"})

    assert record["country_code"] == "EE"


def test_r_5_1_unrecognised_country_is_rejected_with_its_name() -> None:
    payload = severa_payload()
    billing_address(payload)["country"] = {"guid": "g", "name": "Atlantis"}

    with pytest.raises(MappingError, match="country 'Atlantis' that could not be matched"):
        severa_customer_to_record(payload)


def test_r_2_1_customer_without_address_is_rejected_naming_customer() -> None:
    payload = {**severa_payload(), "addresses": []}

    with pytest.raises(MappingError) as caught:
        severa_customer_to_record(payload)

    assert caught.value.record_label == "customer 1049 'Nordlund Konsult AB'"
    assert caught.value.reason == (
        "the customer has no address; add an invoicing address with postal code, city and "
        "country in Severa (R-2.1)"
    )
    assert str(caught.value).startswith("customer 1049 'Nordlund Konsult AB': ")


def test_r_2_1_address_without_postal_code_and_city_is_rejected() -> None:
    payload = severa_payload()
    billing_address(payload).update(postalCode="  ", city=None)

    with pytest.raises(MappingError) as caught:
        severa_customer_to_record(payload)

    assert "the invoicing address has no postal code and has no city" in caught.value.reason
    assert "fix it in Severa" in caught.value.reason


# -- e-mail, website, contact --------------------------------------------------------------


def test_r_5_1_email_and_website_of_the_company() -> None:
    payload = to_eekonomi(severa_customer_to_record(severa_payload()))

    assert payload["EmailAddress"] == "faktura@nordlund.se"
    assert payload["WwwAddress"] == "https://www.nordlund.se"


def test_r_5_1_contact_is_first_contact_linked_to_invoicing_address() -> None:
    payload = to_eekonomi(severa_customer_to_record(severa_payload()))

    # Per Holm comes first but belongs to the main address; Anna Maria Berg is the
    # invoicing address's contact.
    assert payload["ContactPersonName"] == "Anna Maria Berg"
    assert payload["ContactPersonEmail"] == "anna.berg@nordlund.se"
    assert payload["ContactPersonPhone"] == "08-123 456 12"
    assert payload["ContactPersonMobile"] == "070-555 12 34"


def test_r_5_1_contact_linked_only_through_the_address_contacts_list() -> None:
    payload = severa_payload()
    anna = next(c for c in payload["contacts"] if c["guid"] == ANNA)
    anna["addressGuid"] = None  # linked by the address's `contacts` only

    assert severa_customer_to_record(payload)["contact_name"] == "Anna Maria Berg"


def test_r_5_1_contact_without_communications_uses_emails_and_phone_numbers() -> None:
    record = severa_customer_to_record(severa_payload(communications=False))

    assert record["contact_email"] == "anna.berg@nordlund.se"
    assert record["contact_phone"] == "08-123 456 12"
    assert record["contact_mobile"] is None  # Severa's phoneNumbers cannot tell a mobile


def test_r_5_1_inactive_or_unlinked_contacts_leave_the_reference_empty() -> None:
    payload = severa_payload()
    anna = next(c for c in payload["contacts"] if c["guid"] == ANNA)
    anna["isActive"] = False

    record = severa_customer_to_record(payload)

    assert record["contact_name"] is None
    assert to_eekonomi(record)["ContactPersonName"] is None


@pytest.mark.parametrize(
    ("name", "first", "last"),
    [
        ("Anna Maria Berg", "Anna", "Maria Berg"),
        ("  Per   Holm ", "Per", "Holm"),
        ("Madonna", "Madonna", "-"),
    ],
)
def test_r_5_1_contact_name_split_at_first_space_into_severa(
    name: str, first: str, last: str
) -> None:
    assert split_contact_name(name) == (first, last)


def test_r_5_1_contact_into_severa_carries_names_and_links() -> None:
    record = eekonomi_customer_to_record(load_fixture("eekonomi/customer"))

    body = record_to_severa_contact(record, customer_guid="cust-1", address_guid="addr-1")

    assert body == {
        "addressGuid": "addr-1",
        "firstName": "Karin",
        "lastName": "Sjöberg",
        "customer": {"guid": "cust-1"},
    }
    assert (
        record_to_severa_contact({**record, "contact_name": None}, customer_guid="cust-1") is None
    )


def test_r_5_1_contact_email_and_phones_into_severa_communications() -> None:
    record = eekonomi_customer_to_record(load_fixture("eekonomi/customer"))

    bodies = record_to_severa_contact_communications(
        record,
        contact_guid="contact-1",
        communication_types=load_fixture("severa/communication_types"),
    )

    assert [(b["communicationType"]["guid"][-4:], b["value"]) for b in bodies] == [
        ("e3a1", "karin@sjobergdahl.se"),
        ("0e01", "031-70 70 101"),
        ("b11e", "0705-11 22 33"),
    ]
    assert all(b["contact"] == {"guid": "contact-1"} for b in bodies)
    assert all(b["isForbiddenToUse"] is False for b in bodies)


def test_r_5_1_missing_severa_communication_type_is_reported() -> None:
    record = eekonomi_customer_to_record(load_fixture("eekonomi/customer"))
    types = [t for t in load_fixture("severa/communication_types") if t["type"] != "MobilePhone"]

    with pytest.raises(MappingError, match="no active communication type 'MobilePhone'"):
        record_to_severa_contact_communications(record, contact_guid="c", communication_types=types)


# -- terms of payment, currency ----------------------------------------------------------


def test_r_5_1_standard_terms_when_customer_has_none() -> None:
    record = severa_customer_to_record({**severa_payload(), "paymentTerm": None})

    assert to_eekonomi(record, terms_of_payment=terms())["TermsOfPaymentId"] == DEFAULT_TERMS


def test_r_5_1_payment_days_pick_matching_normal_terms() -> None:
    record = severa_customer_to_record(severa_payload())  # paymentTerm 30

    payload = to_eekonomi(record, terms_of_payment=terms())

    # "30 dagar" (Normal), not "Löpande månad + 30" which also has 30 days.
    assert payload["TermsOfPaymentId"] == "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e030"


def test_r_5_1_payment_days_without_matching_terms_are_rejected() -> None:
    record = severa_customer_to_record({**severa_payload(), "paymentTerm": 17})

    with pytest.raises(MappingError, match="payment term 17 days has no terms of payment"):
        to_eekonomi(record, terms_of_payment=terms())
    assert to_eekonomi(record)["TermsOfPaymentId"] == DEFAULT_TERMS  # no list: standard


def test_r_5_1_payment_days_from_eekonomi_terms() -> None:
    customer = load_fixture("eekonomi/customer")
    assert eekonomi_customer_to_record(customer)["payment_term_days"] == 30

    del customer["TermsOfPayment"]
    customer["TermsOfPaymentId"] = "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e010"
    assert (
        eekonomi_customer_to_record(customer, terms_of_payment=terms())["payment_term_days"] == 10
    )


def test_r_5_1_currency_both_ways() -> None:
    record = severa_customer_to_record(severa_payload())
    assert to_eekonomi(record)["CurrencyCode"] == "SEK"

    from_eekonomi: CustomerRecord = {
        **eekonomi_customer_to_record(load_fixture("eekonomi/customer")),
        "currency_code": "EUR",
    }
    body = record_to_severa_customer(from_eekonomi, currency_guids={"EUR": "guid-eur"})
    assert body["currency"] == {"guid": "guid-eur"}
    assert "currency" not in record_to_severa_customer(from_eekonomi)  # Severa's default

    with pytest.raises(MappingError, match="currency EUR is not in Severa"):
        record_to_severa_customer(from_eekonomi, currency_guids={"SEK": "guid-sek"})


# -- importing into Severa ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "reason"),
    [
        ("K-1050", "customer number 'K-1050' is not numeric"),
        ("00123", "customer number '00123' does not fit Severa's integer customer numbers"),
        ("", "has no customer number"),
    ],
)
def test_r_5_1_customer_number_must_be_numeric_to_import_into_severa(
    number: str, reason: str
) -> None:
    record: CustomerRecord = {
        **eekonomi_customer_to_record(load_fixture("eekonomi/customer")),
        "number": number,
    }

    with pytest.raises(MappingError, match=reason):
        check_importable_into_severa(record, existing_names=[])
    with pytest.raises(MappingError, match=reason):
        record_to_severa_customer(record)


def test_r_5_1_customer_name_must_be_unique_to_import_into_severa() -> None:
    record = eekonomi_customer_to_record(load_fixture("eekonomi/customer"))

    with pytest.raises(MappingError) as caught:
        check_importable_into_severa(
            record, existing_names=["Nordlund Konsult AB", "sjöberg &  dahl arkitekter ab"]
        )

    assert caught.value.record_label == "customer 1050 'Sjöberg & Dahl Arkitekter AB'"
    assert "Severa already has a customer named 'Sjöberg & Dahl Arkitekter AB'" in (
        caught.value.reason
    )


def test_r_5_1_importable_customer_passes_the_check() -> None:
    record = eekonomi_customer_to_record(load_fixture("eekonomi/customer"))

    check_importable_into_severa(record, existing_names=["Nordlund Konsult AB"])

    assert record_to_severa_customer(record)["number"] == 1050


def test_r_5_1_all_problems_reported_at_once() -> None:
    record: CustomerRecord = {
        **eekonomi_customer_to_record(load_fixture("eekonomi/customer")),
        "number": "A1",
    }

    with pytest.raises(MappingError) as caught:
        check_importable_into_severa(record, existing_names=[record["name"]])

    assert "not numeric" in caught.value.reason
    assert "already has a customer named" in caught.value.reason


def test_r_5_1_blank_severa_name_is_rejected() -> None:
    with pytest.raises(MappingError, match="the customer has no name; name it in Severa"):
        severa_customer_to_record({**severa_payload(), "name": "  "})


def test_r_5_1_name_longer_than_eekonomi_allows_is_rejected() -> None:
    long_name = "Nordlund Konsult AB – Avdelningen för digital transformation"
    record = severa_customer_to_record({**severa_payload(), "name": long_name})

    with pytest.raises(MappingError, match="Name: .* longer than 50 characters"):
        to_eekonomi(record)


# -- round trips and change detection ------------------------------------------------------


def test_r_5_1_round_trip_severa_to_eekonomi_and_back() -> None:
    record = severa_customer_to_record(severa_payload())
    payload = json.loads(json.dumps(to_eekonomi(record, terms_of_payment=terms())))

    assert eekonomi_customer_to_record(payload, terms_of_payment=terms()) == record


def test_r_5_1_round_trip_eekonomi_to_severa_and_back() -> None:
    record = eekonomi_customer_to_record(load_fixture("eekonomi/customer"))
    customer = record_to_severa_customer(record, currency_guids={"SEK": "guid-sek"})
    address = record_to_severa_address(record, country_guids={"SE": SWEDEN_GUID})
    contact = record_to_severa_contact(record, customer_guid="cust-1", address_guid="addr-1")
    communications = record_to_severa_contact_communications(
        record,
        contact_guid="contact-1",
        communication_types=load_fixture("severa/communication_types"),
    )
    assert contact is not None
    kinds = {t["guid"]: t for t in load_fixture("severa/communication_types")}

    # What Severa answers on GET after the three POSTs.
    read_back = {
        **customer,
        "guid": "cust-1",
        "currency": {"guid": "guid-sek", "code": "SEK", "name": "Swedish krona"},
        "addresses": [
            {**address, "guid": "addr-1", "country": {"guid": SWEDEN_GUID, "name": "Sverige"}}
        ],
        "contacts": [
            {
                **contact,
                "guid": "contact-1",
                "name": f"{contact['firstName']} {contact['lastName']}",
                "isActive": True,
                "communications": [
                    {**c, "communicationType": kinds[c["communicationType"]["guid"]]}
                    for c in communications
                ],
            }
        ],
    }

    # Severa has one org/VAT field, so the plain org number does not survive.
    assert severa_customer_to_record(read_back) == {
        **record,
        "corporate_identity_number": "SE556012345601",
    }


def test_content_hash_tells_changed_from_unchanged() -> None:
    record = severa_customer_to_record(severa_payload())
    same = severa_customer_to_record(severa_payload())
    reordered = dict(reversed(list(record.items())))

    assert content_hash(record) == content_hash(same) == content_hash(reordered)
    assert content_hash(record) != content_hash({**record, "city": "Solna"})
    assert len(content_hash(record)) == 64
