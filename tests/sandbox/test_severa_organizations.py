"""Severa sandbox: several organizations, one per set of credentials, each its own store.

The service keeps one connection per Severa organization (issue 16); these tests show
that a call sees only the records of the organization its credentials belong to, and
that the back office's ``?organization=`` acts on one organization only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox.core import SandboxAdapter
from sandbox.severa import (
    DEFAULT_ORGANIZATION,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    HOLDING_CLIENT_ID,
    HOLDING_CLIENT_SECRET,
    HOLDING_ORGANIZATION,
    SeveraSandbox,
    demo,
    demo_data,
    holding_demo_data,
)

API = "http://severa.test/rest-api/v1"
OFFICE = "http://severa.test/_sandbox"
HOLDING = {"organization": HOLDING_ORGANIZATION}


@pytest.fixture
def app() -> SeveraSandbox:
    sandbox = SeveraSandbox()
    sandbox.seed_store(demo_data(), replace=True)
    sandbox.organizations[HOLDING_ORGANIZATION].seed_store(holding_demo_data(), replace=True)
    for organization in sandbox.organizations.values():
        organization.rate_limits_enabled = False
    return sandbox


def _session(app: SeveraSandbox, client_id: str, secret: str) -> requests.Session:
    session = requests.Session()
    session.mount("http://severa.test/", SandboxAdapter(app))
    answer = session.post(f"{API}/token", json={"client_id": client_id, "client_secret": secret})
    assert answer.status_code == 200, answer.text
    session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
    session.headers["Client_Id"] = client_id
    return session


@pytest.fixture
def first(app: SeveraSandbox) -> Iterator[requests.Session]:
    with _session(app, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET) as session:
        yield session


@pytest.fixture
def second(app: SeveraSandbox) -> Iterator[requests.Session]:
    with _session(app, HOLDING_CLIENT_ID, HOLDING_CLIENT_SECRET) as session:
        yield session


def _all(http: requests.Session, path: str, **params: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page: dict[str, Any] = {"rowCount": 100, **params}
    while True:
        answer = http.get(f"{API}{path}", params=page)
        assert answer.status_code == 200, answer.text
        found += answer.json()
        token = answer.headers.get("NextPageToken")
        if not token:
            return found
        page["pageToken"] = token


# -- the API: each organization sees its own records ---------------------------------


def test_given_two_organizations_when_each_lists_then_each_sees_only_its_own_records(
    first: requests.Session, second: requests.Session
) -> None:
    mine = _all(first, "/customers")
    theirs = _all(second, "/customers")
    assert sorted(c["number"] for c in mine) == list(range(1001, 1051))
    assert sorted(c["number"] for c in theirs) == list(range(5001, 5007))
    assert not {c["guid"] for c in mine} & {c["guid"] for c in theirs}
    assert not {c["name"] for c in mine} & {c["name"] for c in theirs}
    codes = {p["code"] for p in _all(second, "/products")}
    assert codes == {"H-ADM", "H-STYR", "H-RAPP"}
    assert not codes & {p["code"] for p in _all(first, "/products")}
    details = second.get(f"{API}/organizationdetails").json()
    assert details["name"] == "Demokonsult Holding AB"
    assert first.get(f"{API}/organizationdetails").json()["name"] == "Demokonsult AB"


def test_given_the_second_organization_when_its_invoices_are_listed_then_a_few_wait_to_transfer(
    second: requests.Session,
) -> None:
    statuses = {s["guid"]: s["name"] for s in second.get(f"{API}/invoicestatuses").json()}
    invoices = _all(second, "/invoices")
    assert Counter(statuses[i["status"]["guid"]] for i in invoices) == {
        "Att överföra": 3,
        "Utkast": 1,
    }
    assert {i["customer"]["number"] for i in invoices} <= set(range(5001, 5007))


def test_given_a_record_of_one_organization_when_another_reads_or_references_it_then_not_found(
    first: requests.Session, second: requests.Session
) -> None:
    created = second.post(f"{API}/customers", json={"name": "Endast Holding AB"})
    assert created.status_code == 201
    guid = created.json()["guid"]
    assert created.json()["number"] == 5007  # the second organization's own numbering
    assert second.get(f"{API}/customers/{guid}").status_code == 200
    assert first.get(f"{API}/customers/{guid}").status_code == 404
    assert "Endast Holding AB" not in {c["name"] for c in _all(first, "/customers")}
    contact = first.post(
        f"{API}/contactpersons",
        json={"firstName": "Eva", "lastName": "Lind", "customer": {"guid": guid}},
    )
    assert contact.status_code == 400
    assert contact.json()["error"]["details"][0]["location"]["name"] == "customer"
    # the same customer name is free in the other organization (names are unique per org)
    assert first.post(f"{API}/customers", json={"name": "Endast Holding AB"}).status_code == 201


def test_given_a_refresh_token_of_the_second_organization_when_refreshed_then_it_stays_there(
    app: SeveraSandbox,
) -> None:
    with requests.Session() as http:
        http.mount("http://severa.test/", SandboxAdapter(app))
        pair = http.post(
            f"{API}/token",
            json={"client_id": HOLDING_CLIENT_ID, "client_secret": HOLDING_CLIENT_SECRET},
        ).json()
        renewed = http.post(f"{API}/refreshtoken", json=pair["refresh_token"])
        assert renewed.status_code == 200
        listed = http.get(
            f"{API}/customers",
            headers={"Authorization": f"Bearer {renewed.json()['access_token']}"},
        )
        assert {c["number"] for c in listed.json()} <= set(range(5001, 5007))


def test_given_one_organization_over_its_rate_limit_when_the_other_calls_then_it_is_answered(
    app: SeveraSandbox, first: requests.Session, second: requests.Session
) -> None:
    for organization in app.organizations.values():
        organization.rate_limits_enabled = True
    first.post(f"{OFFICE}/switches", json={"rate_limit_per_second": 1})
    statuses = [first.get(f"{API}/currencies").status_code for _ in range(3)]
    assert 429 in statuses
    assert second.get(f"{API}/currencies").status_code == 200
    assert app.organizations[HOLDING_ORGANIZATION].switches.rate_limit_per_second == 10


# -- the back office: ?organization= ---------------------------------------------------


def test_given_the_organizations_call_when_listed_then_ids_names_and_client_ids(
    first: requests.Session,
) -> None:
    listing = first.get(f"{OFFICE}/organizations").json()
    assert listing["default"] == DEFAULT_ORGANIZATION
    by_id = {o["id"]: o for o in listing["organizations"]}
    assert by_id[DEFAULT_ORGANIZATION]["client_ids"] == [DEMO_CLIENT_ID]
    assert by_id[HOLDING_ORGANIZATION]["client_ids"] == [HOLDING_CLIENT_ID]
    assert by_id[HOLDING_ORGANIZATION]["name"] == "Demokonsult Holding AB"


def test_given_organization_when_dumping_and_seeding_then_only_that_store_changes(
    app: SeveraSandbox, first: requests.Session
) -> None:
    dumped = first.get(f"{OFFICE}/dump", params=HOLDING).json()
    assert [c["number"] for c in dumped["customers"]] == list(range(5001, 5007))
    assert len(first.get(f"{OFFICE}/dump").json()["customers"]) == 50
    reset = first.post(f"{OFFICE}/reset", params=HOLDING)
    assert reset.status_code == 204
    assert len(app.organizations[HOLDING_ORGANIZATION].store["customers"]) == 0
    assert len(app.store["customers"]) == 50
    seeded = first.post(f"{OFFICE}/seed", params={**HOLDING, "replace": "true"}, json=dumped)
    assert seeded.json()["seeded"]["customers"] == 6
    assert first.get(f"{OFFICE}/dump", params=HOLDING).json() == dumped


def test_given_a_fault_for_one_organization_when_both_call_then_only_its_calls_fail(
    first: requests.Session, second: requests.Session
) -> None:
    armed = first.post(
        f"{OFFICE}/faults", params=HOLDING, json={"path": "/rest-api/v1/customers", "times": 5}
    )
    assert armed.status_code == 201
    assert first.get(f"{API}/customers").status_code == 200
    assert second.get(f"{API}/customers").status_code == 503
    assert len(first.get(f"{OFFICE}/faults", params=HOLDING).json()) == 1
    assert first.get(f"{OFFICE}/faults").json() == []


def test_given_calls_of_both_organizations_when_the_log_is_read_then_each_has_its_own(
    first: requests.Session, second: requests.Session
) -> None:
    first.get(f"{API}/products")
    second.get(f"{API}/worktypes")
    second.get(f"{API}/worktypes")
    theirs = first.get(f"{OFFICE}/requests", params=HOLDING).json()["counts"]
    mine = first.get(f"{OFFICE}/requests").json()["counts"]
    assert theirs == {"POST /rest-api/v1/token": 1, "GET /rest-api/v1/worktypes": 2}
    assert mine == {"POST /rest-api/v1/token": 1, "GET /rest-api/v1/products": 1}


def test_given_switches_of_one_organization_when_set_then_the_other_keeps_its_own(
    first: requests.Session, second: requests.Session
) -> None:
    assert first.post(f"{OFFICE}/switches", params=HOLDING, json={"max_row_count": 2}).ok
    assert len(second.get(f"{API}/customers", params={"rowCount": 50}).json()) == 2
    assert len(first.get(f"{API}/customers", params={"rowCount": 50}).json()) == 50
    assert first.get(f"{OFFICE}/switches").json()["max_row_count"] == 100


def test_given_an_unknown_organization_when_named_then_404(first: requests.Session) -> None:
    answer = first.get(f"{OFFICE}/dump", params={"organization": "nobody"})
    assert answer.status_code == 404
    assert "nobody" in answer.json()["error"]


def test_given_a_new_organization_when_added_then_its_credentials_see_an_empty_store(
    app: SeveraSandbox, first: requests.Session
) -> None:
    added = first.post(
        f"{OFFICE}/organizations",
        json={"id": "third", "client_id": "client-3", "client_secret": "secret-3"},
    )
    assert added.status_code == 201
    with _session(app, "client-3", "secret-3") as third:
        assert third.get(f"{API}/customers").json() == []
    again = first.post(
        f"{OFFICE}/organizations",
        json={"id": "fourth", "client_id": HOLDING_CLIENT_ID, "client_secret": "x"},
    )
    assert again.status_code == 409
    taken = first.post(
        f"{OFFICE}/clients", json={"client_id": HOLDING_CLIENT_ID, "client_secret": "y"}
    )
    assert taken.status_code == 409


def test_given_the_info_call_when_two_sandboxes_start_then_each_has_its_own_instance(
    first: requests.Session,
) -> None:
    info = first.get(f"{OFFICE}/info").json()
    assert {"instance", "started_at"} <= set(info)
    assert info == first.get(f"{OFFICE}/info", params=HOLDING).json()
    other = SeveraSandbox()
    with requests.Session() as http:
        http.mount("http://severa.test/", SandboxAdapter(other))
        assert http.get(f"{OFFICE}/info").json()["instance"] != info["instance"]


# -- the second organization's demo data -----------------------------------------------


def test_given_the_generator_when_run_then_it_reproduces_the_second_organization() -> None:
    assert demo.build_holding() == holding_demo_data()


def test_given_the_second_organization_when_every_read_endpoint_is_swept_then_all_answer_200(
    second: requests.Session,
) -> None:
    """With the contract checker on, this validates every record of the second
    organization as the read endpoints serve it against the OpenAPI document."""
    data = holding_demo_data()
    for path, collection in (
        ("customers", "customers"), ("addresses", "addresses"),
        ("contactpersons", "contactPersons"), ("products", "products"),
        ("worktypes", "workTypes"), ("travelexpensetypes", "travelExpenseTypes"),
        ("projects", "projects"), ("projectfees", "projectFees"), ("invoices", "invoices"),
        ("invoicerows", "invoiceRows"),
    ):  # fmt: skip
        assert second.get(f"{API}/{path}").status_code == 200, path
        for record in data[collection]:
            answer = second.get(f"{API}/{path}/{record['guid']}")
            assert answer.status_code == 200, (path, answer.text)
    for row in data["invoiceRows"]:
        for sub in ("projectfees", "workhours", "projecttravelexpenses"):
            assert second.get(f"{API}/invoicerows/{row['guid']}/{sub}").status_code == 200
