"""Severa sandbox: tokens, refresh tokens, the Client_Id header, scopes, heartbeat.

In-process through :class:`SandboxAdapter` (no sockets); see severa-notes §2.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests

from sandbox.core import SandboxAdapter
from sandbox.severa import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SeveraSandbox
from tests.sandbox.conftest import Clock

BASE = "http://severa.test/rest-api"
API = f"{BASE}/v1"


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2025, 3, 20, 9, 0, tzinfo=UTC))


@pytest.fixture
def http(app: SeveraSandbox) -> Iterator[requests.Session]:
    session = requests.Session()
    session.mount("http://severa.test/", SandboxAdapter(app))
    yield session
    session.close()


def token(http: requests.Session, **body: str) -> requests.Response:
    payload = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET, **body}
    return http.post(f"{API}/token", json=payload)


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}", "Client_Id": DEMO_CLIENT_ID}


def error_type(response: requests.Response) -> str:
    return str(response.json()["error"]["type"])


def test_given_demo_credentials_when_token_requested_then_answers_the_public_auth_model(
    http: requests.Session, clock: Clock
) -> None:
    response = token(http)
    assert response.status_code == 200
    body = response.json()
    assert body["access_token_type"] == "Bearer"
    assert body["access_token_expires_in"] == 3600
    expires = datetime.fromisoformat(body["access_token_expires_utc"].replace("Z", "+00:00"))
    assert expires == clock.now + timedelta(hours=1)
    assert body["refresh_token"]
    assert body["refresh_token_expires_in"] == 30 * 86400
    assert body["access_token"].count(".") == 2  # a JWT, as Severa's
    assert "customers:read" in body["scope"].split()


@pytest.mark.no_contract  # real clients send client_Id / client_Secret (severa-notes §7.1)
def test_given_client_cased_field_names_when_token_requested_then_they_are_accepted(
    http: requests.Session,
) -> None:
    response = http.post(
        f"{API}/token",
        json={
            "client_Id": DEMO_CLIENT_ID,
            "CLIENT_SECRET": DEMO_CLIENT_SECRET,
            "grant_type": "client_credentials",
        },
    )
    assert response.status_code == 200


def test_given_comma_separated_scopes_when_token_requested_then_exactly_those_are_granted(
    http: requests.Session,
) -> None:
    response = token(http, scope="customers:read,invoices:write")
    assert response.status_code == 200
    assert set(response.json()["scope"].split()) == {"customers:read", "invoices:write"}
    spaced = token(http, scope="customers:read settings:read")
    assert set(spaced.json()["scope"].split()) == {"customers:read", "settings:read"}


def test_given_wrong_secret_when_token_requested_then_401_exception_model(
    http: requests.Session,
) -> None:
    response = token(http, client_secret="wrong")
    assert response.status_code == 401
    assert response.json()["error"]["httpStatusCode"] == 401
    assert error_type(response) == "AuthenticationRequired"


def test_given_missing_secret_when_token_requested_then_400_names_the_field(
    http: requests.Session,
) -> None:
    response = http.post(f"{API}/token", json={"client_id": DEMO_CLIENT_ID})
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert details[0]["location"] == {
        "type": "RequestBody",
        "identifier": "client_secret",
        "name": "client_secret",
    }


def test_given_unknown_scope_when_token_requested_then_400(http: requests.Session) -> None:
    response = token(http, scope="customers:read bogus:read")
    assert response.status_code == 400
    assert error_type(response) == "InvalidParameter"


def test_given_credentials_without_a_scope_when_it_is_requested_then_403(
    http: requests.Session,
) -> None:
    http.post(
        "http://severa.test/_sandbox/clients",
        json={"client_id": "narrow", "client_secret": "s", "scopes": "customers:read"},
    )
    response = http.post(
        f"{API}/token",
        json={"client_id": "narrow", "client_secret": "s", "scope": "invoices:read"},
    )
    assert response.status_code == 403
    assert error_type(response) == "InsufficientApiScope"


def test_given_a_token_when_an_hour_passes_then_data_calls_answer_401(
    http: requests.Session, clock: Clock
) -> None:
    access = token(http).json()["access_token"]
    assert http.get(f"{API}/currencies", headers=bearer(access)).status_code == 200
    clock.now += timedelta(seconds=3601)
    response = http.get(f"{API}/currencies", headers=bearer(access))
    assert response.status_code == 401
    assert error_type(response) == "AuthenticationRequired"


def test_given_tokens_when_back_office_expires_them_then_the_next_call_answers_401(
    http: requests.Session,
) -> None:
    access = token(http).json()["access_token"]
    expired = http.post("http://severa.test/_sandbox/expire-tokens").json()
    assert expired["expired"] >= 1
    assert http.get(f"{API}/currencies", headers=bearer(access)).status_code == 401
    fresh = token(http).json()["access_token"]
    assert http.get(f"{API}/currencies", headers=bearer(fresh)).status_code == 200


def test_given_a_refresh_token_when_used_then_new_pair_and_the_old_one_is_spent(
    http: requests.Session,
) -> None:
    first = token(http).json()
    http.post("http://severa.test/_sandbox/expire-tokens")
    refreshed = http.post(f"{API}/refreshtoken", json=first["refresh_token"])
    assert refreshed.status_code == 200
    body = refreshed.json()
    assert body["refresh_token"] != first["refresh_token"]
    assert http.get(f"{API}/currencies", headers=bearer(body["access_token"])).status_code == 200
    again = http.post(f"{API}/refreshtoken", json=first["refresh_token"])
    assert again.status_code == 401


def test_given_rotation_switched_off_when_refresh_token_reused_then_it_still_works(
    http: requests.Session, app: SeveraSandbox
) -> None:
    http.post("http://severa.test/_sandbox/switches", json={"rotate_refresh_tokens": False})
    first = token(http).json()
    assert http.post(f"{API}/refreshtoken", json=first["refresh_token"]).status_code == 200
    assert http.post(f"{API}/refreshtoken", json=first["refresh_token"]).status_code == 200
    assert app.switches.rotate_refresh_tokens is False


@pytest.mark.no_contract  # a refresh grant on /v1/token is not in the document (S7 only)
def test_given_refresh_grant_on_token_endpoint_when_switched_on_then_it_refreshes(
    http: requests.Session,
) -> None:
    first = token(http).json()
    grant = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    assert http.post(f"{API}/token", json=grant).status_code == 400  # default: not a thing
    http.post("http://severa.test/_sandbox/switches", json={"token_refresh_grant": True})
    assert http.post(f"{API}/token", json=grant).status_code == 200


def test_given_no_client_id_header_when_calling_then_tolerated_but_a_mismatch_is_401(
    http: requests.Session,
) -> None:
    access = token(http).json()["access_token"]
    plain = {"Authorization": f"Bearer {access}"}
    assert http.get(f"{API}/currencies", headers=plain).status_code == 200
    wrong = {**plain, "Client_Id": "someone-else"}
    response = http.get(f"{API}/currencies", headers=wrong)
    assert response.status_code == 401
    assert response.json()["error"]["details"][0]["location"]["type"] == "RequestHeader"
    http.post("http://severa.test/_sandbox/switches", json={"require_client_id_header": True})
    assert http.get(f"{API}/currencies", headers=plain).status_code == 401


def test_given_a_token_without_a_scope_when_calling_that_resource_then_403_insufficient_scope(
    http: requests.Session,
) -> None:
    access = token(http, scope="customers:read").json()["access_token"]
    assert http.get(f"{API}/customers", headers=bearer(access)).status_code == 200
    denied = http.get(f"{API}/invoices", headers=bearer(access))
    assert denied.status_code == 403
    assert error_type(denied) == "InsufficientApiScope"
    write = http.post(f"{API}/customers", headers=bearer(access), json={"name": "X AB"})
    assert write.status_code == 403


def test_given_invoice_row_items_when_read_then_invoices_read_scope_suffices(
    http: requests.Session, app: SeveraSandbox
) -> None:
    """The document tags /invoicerows/{guid}/workhours etc. InvoicesRead, not hours:read."""
    access = token(http, scope="invoices:read").json()["access_token"]
    row = app.col("invoiceRows").ordered()[0]
    answer = http.get(f"{API}/invoicerows/{row['guid']}/workhours", headers=bearer(access))
    assert answer.status_code == 200


def test_given_no_bearer_when_calling_then_401(http: requests.Session) -> None:
    response = http.get(f"{API}/customers")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "AuthenticationRequired"


def test_given_the_v1_0_alias_when_calling_then_it_answers_like_v1(
    http: requests.Session,
) -> None:
    access = token(http).json()["access_token"]
    response = http.get(f"{BASE}/v1.0/currencies", headers=bearer(access))
    assert response.status_code == 200
    assert {c["code"] for c in response.json()} >= {"SEK", "EUR"}
    unknown = http.get(f"{BASE}/v2/currencies", headers=bearer(access))
    assert unknown.status_code == 400
    assert error_type(unknown) == "InvalidApiVersion"


def test_given_heartbeat_routes_when_called_then_server_is_public_and_authorized_needs_token(
    http: requests.Session,
) -> None:
    assert http.get(f"{BASE}/heartbeat/server").status_code == 200
    assert http.get(f"{BASE}/heartbeat/database").text == "OK"
    assert http.get(f"{BASE}/heartbeat/authorized").status_code == 401
    access = token(http).json()["access_token"]
    ok = http.get(f"{BASE}/heartbeat/authorized", headers=bearer(access))
    assert ok.status_code == 204


def test_given_any_answer_when_received_then_it_carries_a_date_header(
    http: requests.Session,
) -> None:
    assert http.get(f"{BASE}/heartbeat/server").headers.get("Date")
    assert token(http).headers.get("Date")
