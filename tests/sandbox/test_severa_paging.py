"""Severa sandbox: the two paging styles, page sizes, filters and ``changedSince``.

Token paging (``pageToken`` + ``NextPageToken`` header) on customers, products, projects,
fees, invoices and invoice rows; ``firstRow``/``rowCount`` on the settings lists and
addresses/contacts; VAT rates unpaged (severa-notes §4).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests

from sandbox.severa import SeveraSandbox
from tests.sandbox.conftest import Clock

API = "http://severa.test/rest-api/v1"
OFFICE = "http://severa.test/_sandbox"


def token_pages(
    http: requests.Session, path: str, params: dict[str, Any] | None = None
) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    query = dict(params or {})
    while True:
        response = http.get(f"{API}{path}", params=query)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        next_token = response.headers.get("NextPageToken")
        if not next_token:
            return pages
        query = {**(params or {}), "pageToken": next_token}


def test_given_50_customers_when_paged_by_20_then_three_pages_and_no_token_on_the_last(
    http: requests.Session,
) -> None:
    pages = token_pages(http, "/customers", {"rowCount": 20})
    assert [len(p) for p in pages] == [20, 20, 10]
    numbers = [c["number"] for page in pages for c in page]
    assert numbers == sorted(numbers) == list(range(1001, 1051))


def test_given_no_row_count_when_listing_customers_then_the_default_page_is_20(
    http: requests.Session,
) -> None:
    response = http.get(f"{API}/customers")
    assert len(response.json()) == 20
    assert response.headers.get("NextPageToken")


def test_given_row_count_above_100_when_listing_then_clamped_to_100(
    http: requests.Session,
) -> None:
    response = http.get(f"{API}/contactcommunications", params={"rowCount": 1000})
    assert response.status_code == 200
    assert len(response.json()) == 100


def test_given_clamping_switched_off_when_row_count_above_max_then_400(
    http: requests.Session,
) -> None:
    http.post(f"{OFFICE}/switches", json={"clamp_row_count": False})
    response = http.get(f"{API}/customers", params={"rowCount": 101})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["location"]["identifier"] == "rowCount"


def test_given_a_page_token_when_filters_change_then_400_invalid_parameter(
    http: requests.Session,
) -> None:
    first = http.get(f"{API}/customers", params={"rowCount": 5, "isActive": "true"})
    next_token = first.headers["NextPageToken"]
    same = http.get(
        f"{API}/customers", params={"rowCount": 5, "isActive": "true", "pageToken": next_token}
    )
    assert same.status_code == 200
    dropped = http.get(f"{API}/customers", params={"rowCount": 5, "pageToken": next_token})
    assert dropped.status_code == 400
    assert dropped.json()["error"]["type"] == "InvalidParameter"


@pytest.mark.no_contract  # a garbage token is sent on purpose
def test_given_a_garbage_or_stale_page_token_when_used_then_400(
    http: requests.Session, clock: Clock
) -> None:
    assert http.get(f"{API}/customers", params={"pageToken": "nonsense"}).status_code == 400
    next_token = http.get(f"{API}/customers").headers["NextPageToken"]
    clock.now += timedelta(minutes=11)
    stale = http.get(f"{API}/customers", params={"pageToken": next_token})
    assert stale.status_code == 400


def test_given_next_page_token_on_last_page_switch_when_paging_then_an_empty_page_ends_it(
    http: requests.Session,
) -> None:
    http.post(f"{OFFICE}/switches", json={"next_page_token_on_last_page": True})
    pages = token_pages(http, "/customers", {"rowCount": 25})
    assert [len(p) for p in pages] == [25, 25, 0]


def test_given_invoice_rows_of_an_invoice_when_paged_then_token_paging_applies(
    http: requests.Session, app: SeveraSandbox
) -> None:
    invoice = next(i for i in app.col("invoices").ordered() if i["number"] is None)
    pages = token_pages(http, f"/invoices/{invoice['guid']}/invoicerows", {"rowCount": 1})
    rows = [r for page in pages for r in page]
    assert len(pages) == len(rows) >= 2
    assert {r["invoiceGuid"] for r in rows} == {invoice["guid"]}
    hours = http.get(
        f"{API}/invoices/{invoice['guid']}/invoicerows", params={"rowType": "Hours"}
    ).json()
    assert hours
    assert {r["rowType"] for r in hours} == {"Hours"}


def test_given_offset_paging_when_stepping_first_row_then_every_address_once(
    http: requests.Session, app: SeveraSandbox
) -> None:
    seen: list[str] = []
    first_row = 0
    while True:
        page = http.get(f"{API}/addresses", params={"firstRow": first_row, "rowCount": 30}).json()
        assert "NextPageToken" not in http.get(f"{API}/addresses").headers
        seen.extend(a["guid"] for a in page)
        if len(page) < 30:
            break
        first_row += len(page)
    assert len(seen) == len(set(seen)) == len(app.col("addresses"))


def test_given_calculate_row_count_when_listing_offset_then_total_in_header(
    http: requests.Session, app: SeveraSandbox
) -> None:
    response = http.get(f"{API}/addresses", params={"rowCount": 5, "calculateRowCount": "true"})
    assert len(response.json()) == 5
    assert response.headers["TotalRowCount"] == str(len(app.col("addresses")))


def test_given_travel_expense_types_when_listed_without_row_count_then_all_come_back(
    http: requests.Session, app: SeveraSandbox
) -> None:
    for n in range(25):
        http.post(
            f"{API}/travelexpensetypes",
            json={
                "name": f"Typ {n}",
                "expenseClass": "OtherTravelExpense",
                "unitCost": {"amount": 1.0, "currencyCode": "SEK"},
            },
        )
    listed = http.get(f"{API}/travelexpensetypes").json()
    assert len(listed) == len(app.col("travelExpenseTypes")) == 28
    assert len(http.get(f"{API}/worktypes", params={"rowCount": 2}).json()) == 2


def test_given_vat_rates_when_listed_then_unpaged_full_list_of_the_org_country(
    http: requests.Session,
) -> None:
    response = http.get(f"{API}/vatrates")
    assert sorted(r["percentage"] for r in response.json()) == [0.0, 6.0, 12.0, 25.0]
    assert "NextPageToken" not in response.headers
    defaults = [r for r in response.json() if r["isDefault"]]
    assert [r["percentage"] for r in defaults] == [25.0]


def test_given_sortings_when_listing_work_types_then_sorted_by_that_field(
    http: requests.Session,
) -> None:
    response = http.get(
        f"{API}/worktypes", params={"sortings[0].key": "name", "sortings[0].value": "Desc"}
    )
    names = [w["name"] for w in response.json()]
    assert names == sorted(names, reverse=True)


def test_given_filters_when_listing_then_only_matching_records(
    http: requests.Session, app: SeveraSandbox
) -> None:
    two = http.get(f"{API}/customers", params=[("numbers", 1001), ("numbers", 1003)]).json()
    assert [c["number"] for c in two] == [1001, 1003]
    inactive = http.get(f"{API}/customers", params={"isActive": "false"}).json()
    assert [c["number"] for c in inactive] == [1045]
    by_code = http.get(f"{API}/products", params={"code": "HW-100"}).json()
    assert [p["name"] for p in by_code] == ["Hårdvara kit"]
    work = http.get(f"{API}/worktypes", params={"code": "PL"}).json()
    assert [w["name"] for w in work] == ["Projektledning"]
    to_transfer = app.find_status("Att överföra")
    assert to_transfer is not None
    pages = token_pages(
        http, "/invoices", {"invoiceStatusGuids": to_transfer["guid"], "rowCount": 100}
    )
    invoices = [i for page in pages for i in page]
    assert len(invoices) == 11
    assert {i["status"]["name"] for i in invoices} == {"Att överföra"}
    closed = http.get(f"{API}/projects", params={"isClosed": "true", "rowCount": 100}).json()
    assert {p["number"] for p in closed} == {1004, 1007, 1011, 1017}
    customer = app.col("customers").ordered()[1]
    of_customer = http.get(f"{API}/projects", params={"customerGuids": customer["guid"]}).json()
    assert {p["number"] for p in of_customer} == {1002, 1003}


def test_given_changed_since_when_a_record_changes_then_only_it_comes_back_inclusive(
    http: requests.Session, app: SeveraSandbox, clock: Clock
) -> None:
    watermark = "2025-06-01T12:00:00+00:00"
    assert http.get(f"{API}/customers", params={"changedSince": watermark}).json() == []
    customer = app.col("customers").ordered()[4]
    patched = http.patch(
        f"{API}/customers/{customer['guid']}",
        json=[{"op": "Replace", "path": "/website", "value": "https://example.se"}],
    )
    assert patched.status_code == 200
    changed = http.get(f"{API}/customers", params={"changedSince": watermark}).json()
    assert [c["guid"] for c in changed] == [customer["guid"]]
    exact = patched.json()[0]["lastUpdatedDateTime"]
    assert exact.startswith("2025-06-01T12:00:00")
    inclusive = http.get(f"{API}/customers", params={"changedSince": exact}).json()
    assert [c["guid"] for c in inclusive] == [customer["guid"]]


def test_given_back_office_edit_when_listing_changed_since_then_the_edit_shows(
    http: requests.Session, app: SeveraSandbox, clock: Clock
) -> None:
    work_type = app.col("workTypes").ordered()[0]
    edited = http.post(f"{OFFICE}/edit/workTypes/{work_type['guid']}", json={"name": "Senior"})
    assert edited.status_code == 200
    changed = http.get(f"{API}/worktypes", params={"changedSince": "2025-06-01T12:00:00Z"}).json()
    assert [w["name"] for w in changed] == ["Senior"]
    address = app.col("addresses").ordered()[0]
    http.post(f"{OFFICE}/edit/addresses/{address['guid']}", json={"city": "Kiruna"})
    addresses = http.get(f"{API}/addresses", params={"changedSince": "2025-06-01T12:00:00Z"}).json()
    assert [a["city"] for a in addresses] == ["Kiruna"]


def test_given_a_bad_changed_since_when_listing_then_400_uri_parameter(
    http: requests.Session,
) -> None:
    response = http.get(f"{API}/customers", params={"changedSince": "yesterday"})
    assert response.status_code == 400
    location = response.json()["error"]["details"][0]["location"]
    assert location == {
        "type": "UriParameter",
        "identifier": "changedSince",
        "name": "changedSince",
    }


def test_given_project_fees_when_listed_changed_since_then_new_fee_only(
    http: requests.Session, app: SeveraSandbox, clock: Clock
) -> None:
    project = next(p for p in app.col("projects").ordered() if not p["isClosed"])
    created = http.post(f"{API}/projectfees", json={"project": {"guid": project["guid"]}})
    assert created.status_code == 201
    fees = http.get(f"{API}/projectfees", params={"changedSince": "2025-06-01T12:00:00Z"}).json()
    assert [f["guid"] for f in fees] == [created.json()[0]["guid"]]
