"""Fidelity to the published models where the sandbox used to fall short: company
settings with every property of ``CompanySettingsApi``, customers' ``PayToAccountId``,
and drafts' ``Persons`` as a list. Every exchange here also passes the contract checker
(``tests/contract.py``), which validates each answer against the OpenAPI document."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from sandbox.eekonomi import DEMO_COMPANY_ID, HOLDING_COMPANY_ID, EEkonomiSandbox, stable_id
from sandbox.eekonomi.specs import spec
from tests.sandbox.test_eekonomi_helpers import BASE, api_session, assert_schema, session_for

V2 = f"{BASE}/v2"
BO = f"{BASE}/_sandbox"


def sid(kind: str, key: str) -> str:
    return stable_id("demo", kind, key)


@pytest.fixture
def app() -> EEkonomiSandbox:
    return EEkonomiSandbox(demo=True)


@pytest.fixture
def api(app: EEkonomiSandbox) -> requests.Session:
    return api_session(app)


# -- company settings --------------------------------------------------------------------


@pytest.mark.parametrize("company", ["Demokonsult AB", "Demokonsult Holding AB"])
def test_given_a_company_when_reading_settings_then_every_documented_property_is_answered(
    app: EEkonomiSandbox, company: str
) -> None:
    settings = api_session(app, company).get(f"{V2}/companysettings").json()
    assert_schema(settings, "CompanySettingsApi")
    assert set(settings) == set(spec("CompanySettingsApi")), "73 properties, no more, no less"
    for name in ("CompanyText", "TaxDeclarationDate", "AutoInvoice", "CompanyRotRutSettings"):
        nested = spec("CompanySettingsApi")[name].schema
        assert nested is not None
        assert set(settings[name]) == set(spec(nested)), name
    assert settings["Name"] == company
    assert settings["CompanyStatus"] == 1
    assert settings["AccountNumberDigits"] == 4


def test_given_two_companies_when_reading_settings_then_identities_are_their_own(
    app: EEkonomiSandbox,
) -> None:
    demo = api_session(app).get(f"{V2}/companysettings").json()
    holding = api_session(app, "Demokonsult Holding AB").get(f"{V2}/companysettings").json()
    assert (demo["CompanyIdentifier"], holding["CompanyIdentifier"]) == (
        DEMO_COMPANY_ID,
        HOLDING_COMPANY_ID,
    )
    assert demo["PeppolId"] == "0007:5566778899"
    assert holding["PeppolId"] == "0007:5566778800"
    assert holding["VatCode"] != demo["VatCode"]


def test_given_seeded_settings_beyond_the_old_subset_when_read_then_none_are_dropped(
    app: EEkonomiSandbox, api: requests.Session
) -> None:
    seeded = {
        "Swish": "123 456 78 90",
        "LatePaymentFee": 50.0,
        "VatPeriod": 1,
        "CompanyText": {"OverDueTextDomestic": "Påminnelse"},
    }
    answer = session_for(app).post(f"{BO}/seed", json={"companySettings": seeded})
    assert answer.status_code == 200, answer.text
    settings = api.get(f"{V2}/companysettings").json()
    assert {k: settings[k] for k in ("Swish", "LatePaymentFee", "VatPeriod")} == {
        "Swish": "123 456 78 90",
        "LatePaymentFee": 50.0,
        "VatPeriod": 1,
    }
    assert settings["CompanyText"]["OverDueTextDomestic"] == "Påminnelse"
    assert settings["CompanyText"]["CustomerInvoiceTextDomestic"], "the other texts stay"
    assert settings["Name"] == "Demokonsult AB", "a seed cannot rename the company"


def test_given_a_settings_dump_when_seeded_into_a_fresh_sandbox_then_it_reads_the_same(
    app: EEkonomiSandbox,
) -> None:
    dumped = session_for(app).get(f"{BO}/dump").json()["companySettings"]
    fresh = EEkonomiSandbox()
    session_for(fresh).post(f"{BO}/seed?replace=true", json={"companySettings": dumped})
    assert session_for(fresh).get(f"{BO}/dump").json()["companySettings"] == dumped


# -- customers ---------------------------------------------------------------------------


def _customer(**changes: Any) -> dict[str, Any]:
    return {
        "Name": "Ny Kund AB",
        "IsPrivatePerson": False,
        "IsActive": True,
        "TermsOfPaymentId": stable_id("terms", "30"),
        "InvoicePostalCode": "111 22",
        "InvoiceCity": "Stockholm",
        **changes,
    }


def test_given_customers_when_read_then_they_carry_the_companys_pay_to_account(
    app: EEkonomiSandbox, api: requests.Session
) -> None:
    account = app.companies[DEMO_COMPANY_ID].bank_account_id
    listed = api.get(f"{V2}/customers").json()["Data"]
    assert {c["PayToAccountId"] for c in listed} == {account}
    created = api.post(f"{V2}/customers", json=_customer(PayToAccountId=sid("x", "y")))
    assert created.status_code == 201, created.text
    assert created.json()["PayToAccountId"] == account, "read-only: the value sent is ignored"
    replaced = api.put(f"{V2}/customers/{created.json()['Id']}", json=_customer(Name="Nytt"))
    assert replaced.json()["PayToAccountId"] == account
    supplier_invoice = api.get(f"{V2}/supplierinvoices").json()["Data"][0]
    assert supplier_invoice["BankAccountId"] == account, "one account for both directions"


def test_given_two_companies_when_reading_customers_then_pay_to_accounts_differ(
    app: EEkonomiSandbox, api: requests.Session
) -> None:
    holding = api_session(app, "Demokonsult Holding AB")
    made = holding.post(f"{V2}/customers", json=_customer()).json()
    assert made["PayToAccountId"] == app.companies[HOLDING_COMPANY_ID].bank_account_id
    assert made["PayToAccountId"] != api.get(f"{V2}/customers").json()["Data"][0]["PayToAccountId"]


# -- drafts: Persons ---------------------------------------------------------------------


def _draft(**changes: Any) -> dict[str, Any]:
    row = {
        "ArticleId": sid("article", "ALLM"),
        "Quantity": 1,
        "UnitPrice": 100.0,
        "IsTextRow": False,
        "ReversedConstructionServicesVatFree": False,
    }
    return {
        "CustomerId": sid("customer", "1001"),
        "EuThirdParty": False,
        "RotReducedInvoicingType": 0,
        "Rows": [row],
        **changes,
    }


@pytest.mark.parametrize("sent", [[], None, "omitted"])
def test_given_no_persons_when_saving_a_draft_then_persons_is_an_empty_list(
    api: requests.Session, sent: Any
) -> None:
    body = _draft() if sent == "omitted" else _draft(Persons=sent)
    created = api.post(f"{V2}/customerinvoicedrafts", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["Persons"] == []
    read = api.get(f"{V2}/customerinvoicedrafts/{created.json()['Id']}").json()
    assert read["Persons"] == []


def test_given_persons_when_saving_and_resaving_a_draft_then_they_keep_their_ids(
    api: requests.Session,
) -> None:
    created = api.post(
        f"{V2}/customerinvoicedrafts",
        json=_draft(Persons=[{"Ssn": "19800101-1234", "Amount": 1500.0}]),
    ).json()
    [person] = created["Persons"]
    assert (person["Ssn"], person["Amount"]) == ("19800101-1234", 1500.0)
    resent = {**_draft(), "Persons": [person, {"Ssn": "19820202-2345", "Amount": 10}]}
    replaced = api.put(f"{V2}/customerinvoicedrafts/{created['Id']}", json=resent).json()
    assert replaced["Persons"][0]["Id"] == person["Id"]
    assert replaced["Persons"][1]["Id"] not in (None, person["Id"])
    invoice = api.post(f"{V2}/customerinvoicedrafts/{created['Id']}/convert").json()
    assert [p["Ssn"] for p in invoice["Persons"]] == ["19800101-1234", "19820202-2345"]


@pytest.mark.no_contract
def test_given_a_bad_person_when_saving_a_draft_then_2000_names_the_field(
    api: requests.Session,
) -> None:
    answer = api.post(f"{V2}/customerinvoicedrafts", json=_draft(Persons=[{"Ssn": "x" * 51}]))
    assert answer.status_code == 400
    assert answer.json()["Errors"][0]["Field"] == "Persons[0].Ssn"
