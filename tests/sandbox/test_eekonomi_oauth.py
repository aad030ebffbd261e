"""The identity server of the eEkonomi sandbox: the consent pages, the token endpoint,
single-use codes, rotating single-use refresh tokens, expiry, company binding, scopes."""

from __future__ import annotations

import base64
import hashlib

import pytest

from sandbox.eekonomi import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    HOLDING_COMPANY_ID,
    OLD_COMPANY_ID,
    EEkonomiSandbox,
)
from tests.sandbox.test_eekonomi_helpers import (
    BASE,
    REDIRECT,
    api_session,
    authorize_url,
    callback_params,
    consent,
    exchange,
    first_form,
    login,
    pick_company,
    refresh,
    session_for,
    tokens,
)


@pytest.fixture
def app() -> EEkonomiSandbox:
    return EEkonomiSandbox(demo=True)


def test_given_the_authorize_url_when_opened_then_a_login_form_with_email_and_password_is_shown(
    app: EEkonomiSandbox,
) -> None:
    page = session_for(app).get(authorize_url(), allow_redirects=False)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    form = first_form(page)
    kinds = {i.get("name"): i.get("type") for i in form.inputs}
    assert form.method == "post"
    assert kinds["email"] == "email"
    assert kinds["password"] == "password"
    assert kinds["tx"] == "hidden"


def test_given_the_demo_login_when_submitted_then_the_company_picker_lists_three_companies(
    app: EEkonomiSandbox,
) -> None:
    page = login(session_for(app), authorize_url())
    form = first_form(page)
    radios = [i for i in form.inputs if i.get("type") == "radio"]
    labels = [form.labels[r["id"]] for r in radios]
    assert [label.split(" (")[0] for label in labels] == [
        "Demokonsult AB",
        "Demokonsult Holding AB",
        "Gamla Bolaget AB",
    ]
    assert "556677-8899" in labels[0]


def test_given_a_wrong_password_when_logging_in_then_the_login_form_comes_back_with_an_error(
    app: EEkonomiSandbox,
) -> None:
    page = login(session_for(app), authorize_url(), password="wrong")
    assert page.status_code == 200
    assert "Fel e-postadress eller lösenord" in page.text
    assert any(i.get("type") == "password" for i in first_form(page).inputs)


def test_given_a_picked_company_when_allowed_then_the_browser_goes_to_the_redirect_with_code(
    app: EEkonomiSandbox,
) -> None:
    session = session_for(app)
    answer = pick_company(session, login(session, authorize_url()), "Demokonsult AB")
    params = callback_params(answer)
    assert params["state"] == "st-1"
    assert params["code"]


def test_given_the_user_declines_when_picking_then_access_denied_is_sent_to_the_redirect(
    app: EEkonomiSandbox,
) -> None:
    session = session_for(app)
    answer = pick_company(session, login(session, authorize_url()), "Demokonsult AB", "deny")
    assert callback_params(answer) == {"error": "access_denied", "state": "st-1"}


@pytest.mark.no_contract
def test_given_an_unknown_client_or_redirect_when_authorizing_then_no_redirect_happens(
    app: EEkonomiSandbox,
) -> None:
    session = session_for(app)
    bad_client = authorize_url().replace(DEMO_CLIENT_ID, "someone-else")
    assert session.get(bad_client, allow_redirects=False).status_code == 400
    bad_redirect = authorize_url().replace("127.0.0.1", "evil.example.com")
    assert session.get(bad_redirect, allow_redirects=False).status_code == 400


def test_given_the_demo_client_when_any_loopback_port_is_used_then_the_redirect_is_accepted(
    app: EEkonomiSandbox,
) -> None:
    url = authorize_url().replace("127.0.0.1%3A8765", "localhost%3A9999")
    assert session_for(app).get(url, allow_redirects=False).status_code == 200


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "ea:api ea:nonsense"}, "invalid_scope"),
        ({"scope": "ea:sales"}, "invalid_scope"),
    ],
)
def test_given_bad_parameters_when_authorizing_then_the_error_is_redirected(
    app: EEkonomiSandbox, changes: dict[str, str], error: str
) -> None:
    url = authorize_url()
    for key, value in changes.items():
        base = authorize_url(**({} if key != "response_type" else {}))
        url = base.replace(
            f"{key}=" + base.split(f"{key}=")[1].split("&")[0],
            f"{key}={value.replace(' ', '+').replace(':', '%3A')}",
        )
    answer = session_for(app).get(url, allow_redirects=False)
    assert callback_params(answer)["error"] == error


def test_given_a_code_when_exchanged_with_basic_auth_then_tokens_for_one_hour_come_back(
    app: EEkonomiSandbox,
) -> None:
    session = session_for(app)
    answer = exchange(session, consent(session))
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["access_token"]
    assert body["refresh_token"]
    assert answer.headers["Cache-Control"] == "no-store"


def test_given_a_used_code_when_exchanged_again_then_invalid_grant(app: EEkonomiSandbox) -> None:
    session = session_for(app)
    code = consent(session)
    assert exchange(session, code).status_code == 200
    again = exchange(session, code)
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant"}


def test_given_an_old_code_when_exchanged_after_five_minutes_then_invalid_grant() -> None:
    now = [1_790_000_000.0]
    app = EEkonomiSandbox(demo=True, clock=lambda: now[0])
    session = session_for(app)
    code = consent(session)
    now[0] += 301
    assert exchange(session, code).json()["error"] == "invalid_grant"


def test_given_another_redirect_uri_when_exchanging_then_invalid_grant(
    app: EEkonomiSandbox,
) -> None:
    session = session_for(app)
    answer = exchange(session, consent(session), redirect="http://127.0.0.1:1/other")
    assert answer.json()["error"] == "invalid_grant"


def test_given_a_wrong_secret_when_exchanging_then_invalid_client(app: EEkonomiSandbox) -> None:
    session = session_for(app)
    answer = session.post(
        f"{BASE}/connect/token",
        data={
            "grant_type": "authorization_code",
            "code": consent(session),
            "redirect_uri": REDIRECT,
        },
        auth=(DEMO_CLIENT_ID, "wrong"),
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_client"


def test_given_pkce_when_the_verifier_matches_then_the_code_is_exchanged(
    app: EEkonomiSandbox,
) -> None:
    verifier = "v" * 50
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    session = session_for(app)
    url = authorize_url(code_challenge=challenge.decode(), code_challenge_method="S256")
    code = callback_params(pick_company(session, login(session, url), "Demokonsult AB"))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    wrong = session.post(f"{BASE}/connect/token", data={**form, "code_verifier": "x" * 50},
                         auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET))  # fmt: skip
    assert wrong.json()["error"] == "invalid_grant"
    url = authorize_url(code_challenge=challenge.decode(), code_challenge_method="S256")
    code = callback_params(pick_company(session, login(session, url), "Demokonsult AB"))["code"]
    right = session.post(
        f"{BASE}/connect/token",
        data={**form, "code": code, "code_verifier": verifier},
        auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
    )
    assert right.status_code == 200


def test_given_a_refresh_token_when_used_then_it_rotates_and_the_old_one_is_dead(
    app: EEkonomiSandbox,
) -> None:
    session = session_for(app)
    first = tokens(app)
    second = refresh(session, first["refresh_token"])
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    reused = refresh(session, first["refresh_token"])
    assert reused.status_code == 400
    assert reused.json() == {"error": "invalid_grant"}
    assert refresh(session, second.json()["refresh_token"]).status_code == 200


def test_given_a_grace_window_switch_when_an_old_refresh_token_is_reused_then_it_still_works() -> (
    None
):
    app = EEkonomiSandbox(demo=True, refresh_grace_seconds=30)
    session = session_for(app)
    first = tokens(app)
    assert refresh(session, first["refresh_token"]).status_code == 200
    assert refresh(session, first["refresh_token"]).status_code == 200


def test_given_no_offline_access_when_exchanging_then_no_refresh_token_is_issued(
    app: EEkonomiSandbox,
) -> None:
    assert "refresh_token" not in tokens(app, scope="ea:api ea:sales")


def test_given_revoked_refresh_tokens_when_refreshing_then_invalid_grant(
    app: EEkonomiSandbox,
) -> None:
    session = session_for(app)
    issued = tokens(app)
    revoked = session.post(f"{BASE}/_sandbox/revoke-refresh-tokens")
    assert revoked.json()["revoked"] == 1
    assert refresh(session, issued["refresh_token"]).json()["error"] == "invalid_grant"


def test_given_an_access_token_when_expired_then_the_api_answers_401_and_refresh_recovers(
    app: EEkonomiSandbox,
) -> None:
    session = session_for(app)
    issued = tokens(app)
    headers = {"Authorization": f"Bearer {issued['access_token']}"}
    assert session.get(f"{BASE}/v2/customers", headers=headers).status_code == 200
    assert session.post(f"{BASE}/_sandbox/expire-tokens").json()["expired"] >= 1
    expired = session.get(f"{BASE}/v2/customers", headers=headers)
    assert expired.status_code == 401
    assert "invalid_token" in expired.headers["WWW-Authenticate"]
    fresh = refresh(session, issued["refresh_token"]).json()["access_token"]
    again = session.get(f"{BASE}/v2/customers", headers={"Authorization": f"Bearer {fresh}"})
    assert again.status_code == 200


def test_given_one_hour_passing_when_calling_then_the_access_token_has_expired() -> None:
    now = [1_790_000_000.0]
    app = EEkonomiSandbox(demo=True, clock=lambda: now[0])
    session = api_session(app)
    assert session.get(f"{BASE}/v2/units").status_code == 200
    now[0] += 3600
    assert session.get(f"{BASE}/v2/units").status_code == 401


def test_given_no_token_when_calling_the_api_then_401(app: EEkonomiSandbox) -> None:
    assert session_for(app).get(f"{BASE}/v2/customers").status_code == 401


def test_given_tokens_for_two_companies_when_listing_then_each_sees_only_its_own_data(
    app: EEkonomiSandbox,
) -> None:
    demo = api_session(app, "Demokonsult AB").get(f"{BASE}/v2/customers").json()
    holding = api_session(app, "Demokonsult Holding AB")
    assert demo["Meta"]["TotalNumberOfResults"] == 10
    assert holding.get(f"{BASE}/v2/customers").json()["Meta"]["TotalNumberOfResults"] == 0
    settings = holding.get(f"{BASE}/v2/companysettings").json()
    assert settings["Name"] == "Demokonsult Holding AB"
    assert settings["CompanyIdentifier"] == HOLDING_COMPANY_ID
    assert holding.get(f"{BASE}/v2/units").json()["Data"], "reference data exists everywhere"


def test_given_a_company_without_the_api_module_when_calling_then_403_with_4002(
    app: EEkonomiSandbox,
) -> None:
    session = api_session(app, "Gamla Bolaget AB")
    answer = session.get(f"{BASE}/v2/companysettings")
    assert answer.status_code == 403
    body = answer.json()
    assert body["ErrorCode"] == 4002
    assert "No access to module: api_standard" in body["DeveloperErrorMessage"]


def test_given_a_missing_scope_when_calling_then_403_with_4006(app: EEkonomiSandbox) -> None:
    session = api_session(app, scope="ea:api offline_access ea:sales")
    assert session.get(f"{BASE}/v2/customers").status_code == 200
    answer = session.get(f"{BASE}/v2/supplierinvoices")
    assert answer.status_code == 403
    assert answer.json()["ErrorCode"] == 4006
    readonly = api_session(app, scope="ea:api ea:sales_readonly")
    assert readonly.get(f"{BASE}/v2/customers").status_code == 200
    denied = readonly.post(f"{BASE}/v2/customers", json={})
    assert denied.status_code == 403
    assert denied.json()["ErrorCode"] == 4006
    sales_only = api_session(app, scope="ea:api ea:sales")
    projects = sales_only.post(
        f"{BASE}/v2/projects", json={"Number": "X", "Name": "X", "Status": 1}
    )
    assert projects.json()["ErrorCode"] == 4006  # POST /projects needs ea:accounting


def test_given_a_default_company_when_the_client_does_not_force_the_picker_then_it_is_chosen() -> (
    None
):
    app = EEkonomiSandbox(demo=True, default_company=OLD_COMPANY_ID)
    session = session_for(app)
    silent = callback_params(login(session, authorize_url()))
    token = exchange(session, silent["code"]).json()["access_token"]
    answer = session.get(f"{BASE}/v2/customers", headers={"Authorization": f"Bearer {token}"})
    assert answer.json()["ErrorCode"] == 4002
    forced = login(session, authorize_url(acr_values="forceselectcompany:true"))
    assert forced.status_code == 200
    assert "Välj företag" in forced.text
