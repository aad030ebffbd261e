"""Severa sandbox: the committed demo organization has everything the sync is tested on
(R-5.x rules and the deliberately bad records), and is what the generator writes."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import requests

from sandbox.core import SandboxAdapter
from sandbox.severa import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SeveraSandbox, demo, demo_data

API = "http://severa.test/rest-api/v1"


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return demo_data()


def test_given_the_generator_when_run_then_it_reproduces_the_committed_file(
    data: dict[str, Any],
) -> None:
    assert demo.build() == data


def test_given_the_demo_when_seeded_then_every_collection_loads(data: dict[str, Any]) -> None:
    app = SeveraSandbox()
    counts = app.seed_store(data, replace=True)
    assert counts["customers"] == 50
    assert all(len(app.store[name]) == count for name, count in counts.items())


def test_given_the_demo_when_inspected_then_the_organization_is_demokonsult(
    data: dict[str, Any],
) -> None:
    [org] = data["organizationDetails"]
    assert org["name"] == "Demokonsult AB"
    assert "556677889" in org["vatNumber"]
    assert org["currency"]["code"] == "SEK"
    rates = {r["percentage"]: r for r in data["vatRates"]}
    assert sorted(rates) == [0.0, 6.0, 12.0, 25.0]
    assert rates[25.0]["isDefault"]


def test_given_the_demo_customers_when_inspected_then_shapes_for_every_r51_rule(
    data: dict[str, Any],
) -> None:
    customers = {c["number"]: c for c in data["customers"]}
    assert sorted(customers) == list(range(1001, 1051))
    assert [customers[n]["name"] for n in range(1001, 1006)] == [
        "Nordisk Byggkonsult AB",
        "Göteborgs Hamnlogistik AB",
        "Malmö Designbyrå AB",
        "Uppsala Bioteknik AB",
        "Västerås Energi & Miljö AB",
    ]
    names = [c["name"] for c in data["customers"]]
    assert len(set(names)) == len(names)  # Severa requires unique names
    per_customer = Counter(a["customer"]["guid"] for a in data["addresses"])
    assert customers[1049]["guid"] not in per_customer  # bad: no address
    [bad_address] = [a for a in data["addresses"] if a["customer"]["number"] == 1050]
    assert bad_address["postalCode"] is None
    assert bad_address["city"] is None
    multi_line = [a for a in data["addresses"] if (a["addressline"] or "").count("\n") >= 2]
    assert any(a["addressline"].count("\n") == 3 for a in multi_line)
    only_main = [
        c for c in data["customers"]
        if c.get("headquarterAddress")
        and not any(
            a["isBillingAddress"] for a in data["addresses"] if a["customer"]["guid"] == c["guid"]
        )
    ]  # fmt: skip
    assert only_main
    two_billing = [g for g, n in Counter(
        a["customer"]["guid"] for a in data["addresses"] if a["isBillingAddress"]
    ).items() if n > 1]  # fmt: skip
    assert two_billing
    contacts = Counter(c["customer"]["guid"] for c in data["contactPersons"])
    assert max(contacts.values()) >= 3
    assert any(c["addressGuid"] for c in data["contactPersons"])
    assert any(a["phone"] for a in data["addresses"])
    assert any(c["vatNumber"] for c in data["customers"])
    assert any(c["website"] for c in data["customers"])
    assert {c["currency"]["code"] for c in data["customers"]} == {"SEK", "NOK", "EUR"}
    assert not customers[1045]["isActive"]


def test_given_the_demo_articles_when_inspected_then_codes_units_and_bad_ones(
    data: dict[str, Any],
) -> None:
    work_types = {w["code"]: w["name"] for w in data["workTypes"]}
    assert work_types == {
        "KONS-SR": "Konsult senior", "KONS-JR": "Konsult junior", "PL": "Projektledning",
        "UTV": "Utveckling", None: "Intern tid",
    }  # fmt: skip
    travel = {
        t["code"]: (t["expenseClass"], t["measurementUnit"]) for t in data["travelExpenseTypes"]
    }
    assert travel == {
        "MIL": ("Mileage", "km"), "TRAKT": ("DailyAllowance", "dag"),
        "RESA": ("OtherTravelExpense", "st"),
    }  # fmt: skip
    products = {p["code"]: p for p in data["products"]}
    assert products["LIC-01"]["measurementUnit"] == "st"
    assert products["UTB-01"]["measurementUnit"] == "dag"
    assert products["HW-100"]["name"] == "Hårdvara kit"
    assert "lic-01" in products  # collides case-insensitively (bad)
    assert None in products  # no code (bad)
    assert {p["vatRate"] for p in data["products"]} >= {25.0, 12.0, 6.0}


def test_given_the_demo_projects_when_inspected_then_numbers_closed_and_one_too_long(
    data: dict[str, Any],
) -> None:
    numbers = sorted(p["number"] for p in data["projects"])
    assert numbers[:20] == list(range(1001, 1021))
    assert len(str(numbers[-1])) > 9
    assert sum(p["isClosed"] for p in data["projects"]) == 4


def test_given_the_demo_invoices_when_inspected_then_every_shape_the_sync_maps(
    data: dict[str, Any],
) -> None:
    invoices = data["invoices"]
    statuses = Counter(i["status"]["name"] for i in invoices)
    assert set(statuses) == {"Utkast", "Att överföra", "Överförd", "Skickad", "Betald", "Makulerad"}
    assert statuses["Att överföra"] == 11
    assert any(len(i["projects"]) == 2 for i in invoices)
    [credit] = [i for i in invoices if i["isCreditNote"]]
    assert credit["totalExcludingTax"]["amount"] < 0
    rows = data["invoiceRows"]
    assert any(r["code"] is None for r in rows)
    assert any(len(str(r["unitPrice"]["amount"]).split(".")[-1]) >= 3 for r in rows)
    grouped = [r for r in rows if r["rowType"] == "Hours"]
    items_per_row = Counter(h["invoiceRowGuid"] for h in data["workHours"])
    assert any(items_per_row[r["guid"]] >= 3 for r in grouped)
    for invoice in invoices:
        assert invoice["date"]
        assert invoice["dueDate"]
        assert "ourReference" in invoice
        assert "yourReference" in invoice
        assert {"notes", "freeText1", "freeText2"} <= set(invoice)
    fees = data["projectFees"]
    assert any(f.get("invoice") for f in fees)
    assert any(not f.get("invoice") for f in fees)
    assert any(f["isBillable"] is False for f in fees)


def test_given_the_demo_when_every_read_endpoint_is_swept_then_all_answer_200(
    data: dict[str, Any],
) -> None:
    """With the contract checker on (tests/contract.py), this validates every demo record
    as every read endpoint serves it against the OpenAPI document."""
    app = SeveraSandbox()
    app.seed_store(data, replace=True)
    app.rate_limits_enabled = False
    with requests.Session() as http:
        http.mount("http://severa.test/", SandboxAdapter(app))
        token = http.post(
            f"{API}/token", json={"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}
        ).json()["access_token"]
        http.headers.update({"Authorization": f"Bearer {token}", "Client_Id": DEMO_CLIENT_ID})
        paths = [
            "/customers", "/addresses", "/contactpersons", "/contactcommunications", "/products",
            "/worktypes", "/travelexpensetypes", "/vatrates", "/currencies", "/invoicestatuses",
            "/organizationdetails", "/organizationsettings", "/projects", "/projectfees",
            "/invoices", "/invoicerows",
        ]  # fmt: skip
        collections = {
            "customers": "customers", "addresses": "addresses",
            "contactpersons": "contactPersons", "contactcommunications": "contactCommunications",
            "products": "products", "worktypes": "workTypes",
            "travelexpensetypes": "travelExpenseTypes", "vatrates": "vatRates",
            "currencies": "currencies", "invoicestatuses": "invoiceStatuses",
            "projects": "projects", "projectfees": "projectFees", "invoices": "invoices",
            "invoicerows": "invoiceRows",
        }  # fmt: skip
        for path in paths:
            assert http.get(f"{API}{path}", params={"rowCount": 100}).status_code == 200, path
        for path, collection in collections.items():
            for record in data[collection]:
                answer = http.get(f"{API}/{path}/{record['guid']}")
                assert answer.status_code == 200, (path, answer.text)
        for customer in data["customers"]:
            for sub in ("addresses", "contactpersons"):
                assert http.get(f"{API}/customers/{customer['guid']}/{sub}").status_code == 200
        for contact in data["contactPersons"]:
            answer = http.get(f"{API}/contacts/{contact['guid']}/contactcommunications")
            assert answer.status_code == 200
        for invoice in data["invoices"]:
            assert http.get(f"{API}/invoices/{invoice['guid']}/invoicerows").status_code == 200
        for row in data["invoiceRows"]:
            for sub in ("projectfees", "workhours", "projecttravelexpenses"):
                assert http.get(f"{API}/invoicerows/{row['guid']}/{sub}").status_code == 200
        for product in data["products"]:
            answer = http.get(f"{API}/products/{product['guid']}/productcountrysettings")
            assert answer.status_code == 200
        for kind in data["travelExpenseTypes"]:
            answer = http.get(
                f"{API}/travelexpensetypes/{kind['guid']}/travelexpensetypecountrysettings"
            )
            assert answer.status_code == 200
