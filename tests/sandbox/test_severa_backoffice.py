"""Severa sandbox: rate limit, faults, dump/seed, switches and the back-office calls that
act as a person in Severa's UI; plus a few exchanges over real HTTP."""

from __future__ import annotations

import time

import pytest
import requests

from sandbox.core import SandboxServer
from sandbox.severa import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SeveraSandbox, demo_data
from tests.sandbox.conftest import session_for

API = "http://severa.test/rest-api/v1"
OFFICE = "http://severa.test/_sandbox"


@pytest.fixture
def app() -> SeveraSandbox:
    sandbox = SeveraSandbox()
    sandbox.seed_store(demo_data(), replace=True)
    return sandbox


def test_given_more_than_the_limit_per_second_when_calling_then_429_then_recovery(
    http: requests.Session, app: SeveraSandbox
) -> None:
    http.post(f"{OFFICE}/rate-limits", json={"scale": 0.3})  # 3 requests per second
    statuses = [http.get(f"{API}/currencies").status_code for _ in range(5)]
    assert statuses[:2] == [200, 200]
    assert 429 in statuses
    limited = http.get(f"{API}/currencies")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    error = limited.json()["error"]
    assert error["type"] == "InvalidRequest"
    assert error["details"][0]["message"].startswith("API calls quota exceeded!")
    time.sleep(1.05)
    assert http.get(f"{API}/currencies").status_code == 200


@pytest.mark.no_contract  # the document only has a JSON error body
def test_given_the_text_body_switch_when_rate_limited_then_plain_text_429(
    http: requests.Session,
) -> None:
    http.post(f"{OFFICE}/switches", json={"rate_limit_body": "text", "rate_limit_per_second": 1})
    http.get(f"{API}/currencies")
    limited = http.get(f"{API}/currencies")
    assert limited.status_code == 429
    assert limited.headers["Content-Type"].startswith("text/plain")
    assert limited.text == "API calls quota exceeded! maximum admitted 1 per 1s."


def test_given_rate_limits_scaled_up_when_calling_quickly_then_no_429(
    http: requests.Session,
) -> None:
    http.post(f"{OFFICE}/rate-limits", json={"scale": 100})
    assert {http.get(f"{API}/currencies").status_code for _ in range(50)} == {200}


def test_given_a_status_fault_when_calling_then_exception_model_body_and_no_work(
    http: requests.Session, app: SeveraSandbox
) -> None:
    http.post(
        f"{OFFICE}/faults",
        json={"path": "/rest-api/v1/customers", "method": "POST", "status": 503},
    )
    before = len(app.col("customers"))
    response = http.post(f"{API}/customers", json={"name": "Felkund AB"})
    assert response.status_code == 503
    assert response.json()["error"]["httpStatusCode"] == 503
    assert response.json()["error"]["type"] == "InternalSystemError"
    assert len(app.col("customers")) == before
    assert http.post(f"{API}/customers", json={"name": "Felkund AB"}).status_code == 201


def test_given_write_then_drop_when_posting_then_connection_error_but_the_record_exists(
    http: requests.Session, app: SeveraSandbox
) -> None:
    http.post(
        f"{OFFICE}/faults",
        json={"path": "/rest-api/v1/customers", "method": "POST", "action": "write_then_drop"},
    )
    with pytest.raises(requests.ConnectionError):
        http.post(f"{API}/customers", json={"name": "Tvetydig AB"})
    found = http.get(f"{API}/customers", params={"customerNames": "Tvetydig AB"}).json()
    assert [c["name"] for c in found] == ["Tvetydig AB"]


def test_given_a_dump_when_seeded_into_a_new_sandbox_then_identical(
    http: requests.Session, app: SeveraSandbox
) -> None:
    http.post(f"{API}/customers", json={"name": "Rundresa AB"})
    dumped = http.get(f"{OFFICE}/dump").json()
    other = SeveraSandbox()
    with session_for(other) as office:
        seeded = office.post(f"{OFFICE}/seed?replace=true", json=dumped).json()["seeded"]
        assert seeded["customers"] == 51
        assert office.get(f"{OFFICE}/dump").json() == dumped


def test_given_reset_when_called_then_store_is_empty_but_demo_client_still_works(
    http: requests.Session, app: SeveraSandbox
) -> None:
    assert http.post(f"{OFFICE}/reset").status_code == 204
    assert all(len(c) == 0 for c in app.store.values())
    token = http.post(
        f"{API}/token", json={"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}
    )
    assert token.status_code == 200


def test_given_switches_when_read_and_set_then_applied_and_bad_ones_refused(
    http: requests.Session, app: SeveraSandbox
) -> None:
    switches = http.get(f"{OFFICE}/switches").json()
    assert switches["max_row_count"] == 100
    assert http.post(f"{OFFICE}/switches", json={"max_row_count": 5}).status_code == 200
    assert len(http.get(f"{API}/customers", params={"rowCount": 50}).json()) == 5
    assert http.post(f"{OFFICE}/switches", json={"nope": 1}).status_code == 400
    assert http.post(f"{OFFICE}/switches", json={"max_row_count": "5"}).status_code == 400
    assert SeveraSandbox(max_row_count=7).switches.max_row_count == 7
    with pytest.raises(TypeError):
        SeveraSandbox(no_such_switch=True)


def test_given_a_person_sets_an_invoice_status_when_read_then_status_and_number_follow(
    http: requests.Session, app: SeveraSandbox
) -> None:
    invoice = next(i for i in app.col("invoices").ordered() if i["status"]["name"] == "Överförd")
    moved = http.post(f"{OFFICE}/invoices/{invoice['guid']}/status", json={"status": "Betald"})
    assert moved.status_code == 200
    fetched = http.get(f"{API}/invoices/{invoice['guid']}").json()
    assert fetched["status"]["isPaid"] is True
    assert fetched["number"] == 10009
    assert fetched["paymentDate"]


def test_given_a_person_closes_a_project_when_listed_then_closed(
    http: requests.Session, app: SeveraSandbox
) -> None:
    project = next(p for p in app.col("projects").ordered() if not p["isClosed"])
    http.post(f"{OFFICE}/projects/{project['guid']}/close", json={"closed": True})
    fetched = http.get(f"{API}/projects/{project['guid']}").json()
    assert fetched["isClosed"] is True
    assert fetched["closedDate"]
    http.post(f"{OFFICE}/projects/{project['guid']}/close", json={"closed": False})
    assert http.get(f"{API}/projects/{project['guid']}").json()["isClosed"] is False


def test_given_a_person_adds_an_invoice_with_rows_when_read_then_rows_and_items_exist(
    http: requests.Session,
) -> None:
    added = http.post(
        f"{OFFICE}/invoices",
        json={
            "customer": 1001,
            "projects": [1001],
            "status": "Att överföra",
            "date": "2025-04-01",
            "ourReference": "Anna Andersson",
            "rows": [
                {
                    "rowType": "Hours",
                    "code": "KONS-SR",
                    "description": "Konsult senior",
                    "quantity": 3,
                    "unitPrice": 1250.0,
                    "vatRate": 25.0,
                    "measurementUnit": "h",
                    "items": [
                        {
                            "kind": "workHour",
                            "workType": "KONS-SR",
                            "quantity": 1,
                            "unitPrice": 1250,
                        },
                        {
                            "kind": "workHour",
                            "workType": "KONS-SR",
                            "quantity": 2,
                            "unitPrice": 1250,
                        },
                    ],
                },
                {
                    "rowType": "TravelExpenses",
                    "code": "MIL",
                    "quantity": 100,
                    "unitPrice": 2.5,
                    "vatRate": 0.0,
                    "items": [{"kind": "travelExpense", "travelExpense": "MIL", "quantity": 100}],
                },
            ],
        },
    )
    assert added.status_code == 201
    invoice = added.json()["invoice"]
    assert invoice["totalExcludingTax"]["amount"] == 4000.0
    assert invoice["totalIncludingTax"]["amount"] == 4937.5
    rows = http.get(f"{API}/invoices/{invoice['guid']}/invoicerows").json()
    hours = http.get(f"{API}/invoicerows/{rows[0]['guid']}/workhours").json()
    assert [h["workType"]["code"] for h in hours] == ["KONS-SR", "KONS-SR"]
    travels = http.get(f"{API}/invoicerows/{rows[1]['guid']}/projecttravelexpenses").json()
    assert travels[0]["travelExpense"]["expenseClass"] == "Mileage"


def test_given_create_edit_delete_back_office_calls_when_used_then_visible_in_the_api(
    http: requests.Session,
) -> None:
    created = http.post(
        f"{OFFICE}/create/customers", json={"name": "Manuell AB", "number": 2001, "isActive": True}
    )
    assert created.status_code == 201
    guid = created.json()["guid"]
    http.post(f"{OFFICE}/edit/customers/{guid}", json={"email": "m@manuell.se"})
    assert http.get(f"{API}/customers/{guid}").json()["email"] == "m@manuell.se"
    assert http.post(f"{OFFICE}/delete/customers/{guid}").status_code == 204
    assert http.get(f"{API}/customers/{guid}").status_code == 404
    assert http.post(f"{OFFICE}/edit/nothing/{guid}", json={}).status_code == 404


def test_given_a_real_http_server_when_a_client_pages_and_patches_then_it_works() -> None:
    app = SeveraSandbox()
    app.seed_store(demo_data(), replace=True)
    with SandboxServer(app) as server, requests.Session() as http:
        base = f"{server.url}/rest-api/v1"
        token = http.post(
            f"{base}/token",
            json={"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET},
        ).json()["access_token"]
        http.headers.update({"Authorization": f"Bearer {token}", "Client_Id": DEMO_CLIENT_ID})
        first = http.get(f"{base}/customers", params={"rowCount": 40})
        assert first.headers["Date"]
        second = http.get(
            f"{base}/customers",
            params={"rowCount": 40, "pageToken": first.headers["NextPageToken"]},
        )
        assert len(first.json()) + len(second.json()) == 50
        assert "NextPageToken" not in second.headers
        invoice = app.col("invoices").ordered()[0]
        patched = http.patch(
            f"{base}/invoices/{invoice['guid']}",
            json=[{"op": "Replace", "path": "/yourReference", "value": "Per"}],
        )
        assert patched.json()[0]["yourReference"] == "Per"
        assert http.get(f"{server.url}/_sandbox/switches").status_code == 200


def test_given_real_http_when_write_then_drop_then_client_sees_a_dropped_connection() -> None:
    app = SeveraSandbox()
    app.seed_store(demo_data(), replace=True)
    with SandboxServer(app) as server, requests.Session() as http:
        base = f"{server.url}/rest-api/v1"
        token = http.post(
            f"{base}/token",
            json={"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET},
        ).json()["access_token"]
        http.headers.update({"Authorization": f"Bearer {token}", "Client_Id": DEMO_CLIENT_ID})
        http.post(
            f"{server.url}/_sandbox/faults",
            json={"path": "/rest-api/v1/projectfees", "action": "write_then_drop"},
        )
        project = next(p for p in app.col("projects").ordered() if not p["isClosed"])
        before = len(app.col("projectFees"))
        with pytest.raises(requests.ConnectionError):
            http.post(f"{base}/projectfees", json={"project": {"guid": project["guid"]}})
        assert len(app.col("projectFees")) == before + 1
