"""The eEkonomi sandbox's back office and transport behaviour: the per-endpoint rate
limit, faults, dump/seed, switches, "a person in the UI" actions, the demo data, and a
few exchanges over real HTTP."""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

import pytest
import requests

from sandbox.core import SandboxServer
from sandbox.eekonomi import (
    DATA_FILE,
    HOLDING_COMPANY_ID,
    EEkonomiSandbox,
    demo_data,
    ocr_number,
    stable_id,
)
from sandbox.eekonomi.demo import build
from tests.sandbox.test_eekonomi_helpers import (
    BASE,
    REDIRECT,
    api_session,
    authorize_url,
    callback_params,
    exchange,
    first_form,
    login,
    pick_company,
    refresh,
    session_for,
)

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


# -- rate limit ------------------------------------------------------------------------


def test_given_600_calls_on_one_endpoint_when_one_more_comes_then_429_4010_and_others_answer(
    app: EEkonomiSandbox, api: requests.Session
) -> None:
    started = time.monotonic()
    for _ in range(600):
        assert api.get(f"{V2}/units").status_code == 200
    limited = api.get(f"{V2}/units")
    elapsed = time.monotonic() - started
    assert limited.status_code == 429
    body = limited.json()
    assert body["ErrorCode"] == 4010
    assert "maximum admitted 600 per Minute" in body["DeveloperErrorMessage"]
    # The wait is until the window's first call leaves it: 60 s less the time the 600
    # calls took (seconds on a loaded machine with the contract checks on).
    wait = re.search(r"Try again in (\d+) seconds\.$", body["DeveloperErrorMessage"])
    assert wait is not None
    assert math.floor(60 - elapsed) - 1 <= int(wait.group(1)) <= 60
    assert "Retry-After" not in limited.headers
    assert api.get(f"{V2}/countries").status_code == 200  # another endpoint still answers
    assert api.get(f"{V2}/units/{sid('unit', 'st')}").status_code == 200  # and /units/{id}


def test_given_a_minute_passing_when_limited_then_calls_are_answered_again() -> None:
    now = [1_790_000_000.0]
    app = EEkonomiSandbox(demo=True, clock=lambda: now[0])
    app.rate_scale = 0.01  # 6 per minute
    api = api_session(app)
    for _ in range(6):
        api.get(f"{V2}/units")
    assert api.get(f"{V2}/units").status_code == 429
    app.rate_window.reset()
    assert api.get(f"{V2}/units").status_code == 200


def test_given_ids_in_the_path_when_counting_then_per_url_switch_counts_them_apart() -> None:
    app = EEkonomiSandbox(demo=True, rate_limit_per="url")
    app.rate_scale = 2 / 600
    api = api_session(app)
    one, two = sid("unit", "st"), sid("unit", "km")
    assert [api.get(f"{V2}/units/{one}").status_code for _ in range(3)] == [200, 200, 429]
    assert api.get(f"{V2}/units/{two}").status_code == 200


def test_given_rate_limits_disabled_or_scaled_when_hammering_then_no_429(
    app: EEkonomiSandbox, api: requests.Session
) -> None:
    session_for(app).post(f"{BO}/rate-limits", json={"enabled": False})
    assert all(api.get(f"{V2}/units").status_code == 200 for _ in range(700))


# -- faults ----------------------------------------------------------------------------


def test_given_write_then_drop_when_posting_then_the_connection_fails_but_the_write_is_done(
    app: EEkonomiSandbox, api: requests.Session
) -> None:
    fault = {"path": "/v2/customers", "method": "POST", "action": "write_then_drop"}
    session_for(app).post(f"{BO}/faults", json=fault)
    body = {
        "Name": "Tappad AB", "IsPrivatePerson": False, "IsActive": True,
        "TermsOfPaymentId": stable_id("terms", "30"), "InvoicePostalCode": "1", "InvoiceCity": "X",
        "CustomerNumber": "7001",
    }  # fmt: skip
    with pytest.raises(requests.ConnectionError):
        api.post(f"{V2}/customers", json=body)
    found = api.get(f"{V2}/customers", params={"$filter": "CustomerNumber eq '7001'"}).json()
    assert [c["Name"] for c in found["Data"]] == ["Tappad AB"]


def test_given_an_injected_status_when_calling_then_it_answers_in_the_vendor_format(
    app: EEkonomiSandbox, api: requests.Session
) -> None:
    session_for(app).post(f"{BO}/faults", json={"path": "/v2/articles*", "status": 503})
    answer = api.get(f"{V2}/articles")
    assert answer.status_code == 503
    assert answer.json()["ErrorCode"] == 5001
    session_for(app).post(f"{BO}/faults", json={"path": "/v2/articles", "status": 429})
    limited = api.get(f"{V2}/articles")
    assert "Try again in 60 seconds" in limited.json()["DeveloperErrorMessage"]
    assert api.get(f"{V2}/articles").status_code == 200


# -- dump, seed, switches --------------------------------------------------------------


def test_given_a_dump_when_seeded_into_a_fresh_sandbox_then_the_dump_is_identical(
    app: EEkonomiSandbox,
) -> None:
    dump = session_for(app).get(f"{BO}/dump").json()
    fresh = EEkonomiSandbox()
    seeded = session_for(fresh).post(f"{BO}/seed?replace=true", json=dump)
    assert seeded.status_code == 200
    assert seeded.json()["seeded"]["customers"] == 10
    assert session_for(fresh).get(f"{BO}/dump").json() == dump


def test_given_the_demo_file_when_rebuilt_then_it_is_identical_to_the_committed_one() -> None:
    assert build() == json.loads(DATA_FILE.read_text(encoding="utf-8"))


def test_given_a_company_parameter_when_seeding_then_only_that_company_changes(
    app: EEkonomiSandbox,
) -> None:
    bo = session_for(app)
    customer = demo_data()["customers"][0]
    bo.post(f"{BO}/seed?company={HOLDING_COMPANY_ID}", json={"customers": [customer]})
    holding = bo.get(f"{BO}/dump", params={"company": "Demokonsult Holding AB"}).json()
    assert [c["Name"] for c in holding["customers"]] == ["Nordisk Byggkonsult AB"]
    assert len(bo.get(f"{BO}/dump").json()["customers"]) == 10
    assert bo.get(f"{BO}/dump?company=nobody").status_code == 404
    assert bo.post(f"{BO}/seed?company=nobody", json={}).status_code == 404


def test_given_a_sparse_seed_when_loaded_then_defaults_and_derived_fields_are_filled() -> None:
    app = EEkonomiSandbox()
    bo = session_for(app)
    reference = {k: demo_data()[k] for k in ("units", "termsOfPayments", "articleAccountCodings")}
    sparse = {
        **reference,
        "articles": [
            {
                "Number": "A1",
                "Name": "A",
                "IsActive": True,
                "CodingId": sid("coding", "goods12"),
                "UnitId": sid("unit", "kg"),
                "NetPrice": 10,
            }
        ],
    }
    bo.post(f"{BO}/seed?replace=true", json=sparse)
    article = bo.get(f"{BO}/dump").json()["articles"][0]
    assert article["CodingName"] == "Varor 12% moms"
    assert article["UnitAbbreviation"] == "kg"
    assert article["Id"]
    assert article["ChangedUtc"]


def test_given_switches_when_changed_through_the_back_office_then_behaviour_follows(
    app: EEkonomiSandbox, api: requests.Session
) -> None:
    bo = session_for(app)
    assert bo.get(f"{BO}/switches").json()["convert_deletes_draft"] is True
    changed = bo.post(f"{BO}/switches", json={"convert_deletes_draft": False})
    assert changed.json()["convert_deletes_draft"] is False
    draft = sid("draft", "1004-oktober")
    assert api.post(f"{V2}/customerinvoicedrafts/{draft}/convert", json={}).status_code == 201
    assert api.get(f"{V2}/customerinvoicedrafts/{draft}").status_code == 200
    assert bo.post(f"{BO}/switches", json={"nope": 1}).status_code == 400
    assert bo.post(f"{BO}/switches", json={"oversize_page": "maybe"}).status_code == 400


def test_given_a_reset_when_done_then_the_demo_company_is_empty(app: EEkonomiSandbox) -> None:
    bo = session_for(app)
    assert bo.post(f"{BO}/reset").status_code == 204
    dump = bo.get(f"{BO}/dump").json()
    assert dump["customers"] == []
    assert dump["units"] == []


# -- a person in eEkonomi's UI -----------------------------------------------------------


def test_given_a_ui_edit_when_listing_changes_then_the_record_shows_as_changed(
    app: EEkonomiSandbox, api: requests.Session
) -> None:
    watermark = api.get(f"{V2}/articles").json()["Meta"]["ServerTimeUtc"]
    edit = session_for(app).post(
        f"{BO}/ui/articles/{sid('article', 'FRAKT')}/edit", json={"NetPrice": 225.0}
    )
    assert edit.status_code == 200
    changed = api.get(f"{V2}/articles", params={"$filter": f"ChangedUtc ge {watermark}"})
    assert [(a["Number"], a["NetPrice"]) for a in changed.json()["Data"]] == [("FRAKT", 225.0)]


def test_given_a_ui_renumbered_customer_when_posting_numbers_then_the_new_is_taken_the_old_free(
    app: EEkonomiSandbox, api: requests.Session
) -> None:
    """The duplicate check is an index (sandbox.eekonomi.Records): an edit in place must
    move the customer's number in it, or the old number would stay taken."""
    customer = api.get(f"{V2}/customers", params={"$filter": "CustomerNumber eq '1001'"})
    customer_id = customer.json()["Data"][0]["Id"]
    edit = session_for(app).post(
        f"{BO}/ui/customers/{customer_id}/edit", json={"CustomerNumber": "7001"}
    )
    assert edit.status_code == 200
    body = {
        "Name": "Ny Kund AB",
        "IsPrivatePerson": False,
        "IsActive": True,
        "TermsOfPaymentId": customer.json()["Data"][0]["TermsOfPaymentId"],
        "InvoiceAddress1": "Gatan 1",
        "InvoicePostalCode": "111 22",
        "InvoiceCity": "Stockholm",
        "InvoiceCountryCode": "SE",
    }
    taken = api.post(f"{V2}/customers", json={**body, "CustomerNumber": "7001"})
    assert taken.status_code == 400, taken.text
    assert taken.json()["Errors"][0]["Field"] == "CustomerNumber"
    freed = api.post(f"{V2}/customers", json={**body, "CustomerNumber": "1001"})
    assert freed.status_code == 201, freed.text
    again = api.put(f"{V2}/customers/{freed.json()['Id']}", json={**body, "CustomerNumber": "1001"})
    assert again.status_code == 200, again.text  # its own number is no duplicate


def test_given_a_ui_conversion_send_and_payments_then_the_invoice_states_follow(
    app: EEkonomiSandbox, api: requests.Session
) -> None:
    bo = session_for(app)
    draft = sid("draft", "1004-oktober")
    invoice = bo.post(f"{BO}/ui/customerinvoicedrafts/{draft}/convert", json={}).json()
    assert invoice["InvoiceNumber"] == 1004
    assert invoice["PaymentReferenceNumber"] == ocr_number(1004)
    assert invoice["CreatedFromDraftId"] == draft
    assert invoice["SendType"] is None
    sent = bo.post(f"{BO}/ui/customerinvoices/{invoice['Id']}/send", json={"SendType": 1}).json()
    assert sent["SendType"] == 1
    assert sent["IsNotDelivered"] is False
    partly = bo.post(
        f"{BO}/ui/customerinvoices/{invoice['Id']}/pay",
        json={"Amount": 5000, "PaymentDate": "2026-11-20"},
    ).json()
    assert partly["PaymentStatus"] in (1, 2)
    assert partly["RemainingAmount"] == invoice["TotalAmount"] - 5000
    assert partly["PaymentDate"] == "2026-11-20T00:00:00Z"
    paid = bo.post(f"{BO}/ui/customerinvoices/{invoice['Id']}/pay", json={}).json()
    assert paid["PaymentStatus"] == 0
    assert paid["RemainingAmount"] == 0.0
    via_api = api.get(f"{V2}/customerinvoices/{invoice['Id']}").json()
    assert via_api == paid
    customer = api.get(f"{V2}/customers/{sid('customer', '1004')}").json()
    assert customer["UnpaidInvoicesAmount"] == 0.0


def test_given_demo_invoices_when_read_then_paid_overdue_and_partly_paid_show(
    api: requests.Session,
) -> None:
    by_number = {i["InvoiceNumber"]: i for i in api.get(f"{V2}/customerinvoices").json()["Data"]}
    assert by_number[1001]["PaymentStatus"] == 0
    assert by_number[1001]["RemainingAmount"] == 0.0
    assert by_number[1002]["PaymentStatus"] == 2  # unpaid and past its due date
    assert by_number[1003]["PaymentDate"]
    assert by_number[1003]["RemainingAmount"] == 20000.0
    assert by_number[1003]["PaymentStatus"] != 0  # a partial payment does not make it paid


def test_given_a_booked_supplier_invoice_in_the_ui_when_listed_then_it_is_there(
    app: EEkonomiSandbox, api: requests.Session
) -> None:
    payload: dict[str, Any] = {
        "SupplierName": "Ny Leverantör AB", "InvoiceNumber": "NL-1",
        "InvoiceDate": "2026-11-01T00:00:00Z", "TotalAmount": 125.0, "Vat": 25.0,
        "Rows": [
            {"AccountNumber": 6540, "DebetAmount": 100.0, "CreditAmount": 0,
             "CostCenterItemId1": sid("costcenteritem", "Projekt/1003")},
            {"AccountNumber": 2641, "DebetAmount": 25.0, "CreditAmount": 0},
            {"AccountNumber": 2440, "DebetAmount": 0, "CreditAmount": 125.0},
        ],
    }  # fmt: skip
    booked = session_for(app).post(f"{BO}/ui/supplierinvoices", json=payload)
    assert booked.status_code == 201, booked.text
    listed = api.get(f"{V2}/supplierinvoices", params={"$filter": "InvoiceNumber eq 'NL-1'"})
    found = listed.json()["Data"][0]
    assert found["SupplierName"] == "Ny Leverantör AB"
    assert found["VoucherNumber"] == "LF8"
    assert found["SupplierInvoiceOrigin"] == 0


@pytest.mark.no_contract
def test_given_deactivations_in_the_ui_when_rows_use_them_then_5005_and_5006(
    app: EEkonomiSandbox, api: requests.Session
) -> None:
    bo = session_for(app)
    bo.post(f"{BO}/ui/projects/{sid('project', '1002')}/deactivate")
    bo.post(f"{BO}/ui/costcenteritems/{sid('costcenteritem', 'Projekt/1003')}/deactivate")
    row = {"ArticleId": sid("article", "ALLM"), "Quantity": 1, "UnitPrice": 1.0,
           "IsTextRow": False, "ReversedConstructionServicesVatFree": False}  # fmt: skip
    base = {"CustomerId": sid("customer", "1001"), "EuThirdParty": False,
            "RotReducedInvoicingType": 0}  # fmt: skip
    ended_row = {**row, "ProjectId": sid("project", "1002")}
    ended = api.post(f"{V2}/customerinvoicedrafts", json={**base, "Rows": [ended_row]})
    assert ended.json()["ErrorCode"] == 5005
    inactive = {**row, "CostCenterItemId1": sid("costcenteritem", "Projekt/1003")}
    answer = api.post(f"{V2}/customerinvoicedrafts", json={**base, "Rows": [inactive]})
    assert answer.json()["ErrorCode"] == 5006


def test_given_the_back_office_when_called_from_elsewhere_then_403(app: EEkonomiSandbox) -> None:
    from requests.structures import CaseInsensitiveDict

    from sandbox.core import Request

    request = Request("GET", "/_sandbox/switches", {}, CaseInsensitiveDict(), client="10.0.0.9")
    assert app.handle(request).status == 403


# -- demo data ---------------------------------------------------------------------------


def test_given_the_demo_data_when_loaded_then_it_has_what_the_sync_needs() -> None:
    data = demo_data()
    customers = {c["CustomerNumber"]: c["Name"] for c in data["customers"]}
    assert {k: customers[k] for k in ("1001", "1002", "1003", "1004", "1005")} == {
        "1001": "Nordisk Byggkonsult AB",
        "1002": "Göteborgs Hamnlogistik AB",
        "1003": "Malmö Designbyrå AB",
        "1004": "Uppsala Bioteknik AB",
        "1005": "Västerås Energi & Miljö AB",
    }
    assert "K-77" in customers
    assert customers["5004"] == customers["1003"]
    assert {a["Number"] for a in data["articles"]} >= {
        "HW-100",
        "KONS-SR",
        "SUPPORT",
        "FRAKT",
        "ALLM",
    }
    assert {u["Abbreviation"] for u in data["units"]} >= {"tim", "km", "st", "dag"}
    assert "30 dagar netto" in {t["Name"] for t in data["termsOfPayments"]}
    assert "Tjänster 25% moms" in {c["Name"] for c in data["articleAccountCodings"]}
    assert {c["Code"] for c in data["currencies"]} >= {"SEK", "EUR", "NOK", "USD"}
    projekt = next(c for c in data["costCenters"] if c["Name"] == "Projekt")
    assert {i["ShortName"] for i in projekt["Items"]} >= {"1001", "1002", "1003"}
    assert {p["Number"] for p in data["projects"]} >= {"1001", "1002", "1003"}
    assert data["companySettings"]["CorporateIdentityNumber"] == "556677-8899"
    assert data["companySettings"]["CurrencyCode"] == "SEK"
    rows = [r for i in data["supplierInvoices"] for r in i["Rows"]]
    assert {2440, 2641} <= {r["AccountNumber"] for r in rows}
    assert any(r["ProjectId"] for r in rows)
    assert any(i["IsCreditInvoice"] for i in data["supplierInvoices"])
    assert all(i["InvoiceDate"].startswith("2026") for i in data["supplierInvoices"])
    assert len(data["customerInvoiceDrafts"]) == 1
    assert len(data["customerInvoices"]) == 3


# -- over real HTTP --------------------------------------------------------------------


def test_given_a_real_server_when_a_client_consents_and_calls_then_it_works_end_to_end() -> None:
    app = EEkonomiSandbox(demo=True)
    with SandboxServer(app) as server:
        http = requests.Session()
        url = authorize_url().replace(BASE, server.url)
        page = http.get(url, allow_redirects=False)
        assert "Logga in" in page.text
        form = first_form(page)
        hidden = {i["name"]: i["value"] for i in form.inputs if i.get("type") == "hidden"}
        login_form = {**hidden, "email": "demo@example.com", "password": "demo"}
        picker = http.post(f"{server.url}{form.action}", data=login_form, allow_redirects=False)
        code = callback_params(pick_company(http, picker, "Demokonsult AB"))["code"]
        tokens = http.post(
            f"{server.url}/connect/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
            auth=("demo-eekonomi-client", "demo-eekonomi-secret"),
        ).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        settings = http.get(f"{server.url}/v2/companysettings", headers=headers)
        assert settings.json()["Name"] == "Demokonsult AB"
        listed = http.get(f"{server.url}/v2/customers", params={"$pagesize": 4}, headers=headers)
        assert listed.json()["Meta"]["TotalNumberOfPages"] == 3
        renewed = http.post(
            f"{server.url}/connect/token",
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=("demo-eekonomi-client", "demo-eekonomi-secret"),
        )
        assert renewed.status_code == 200


def test_given_a_real_server_when_write_then_drop_fires_then_the_connection_drops() -> None:
    app = EEkonomiSandbox(demo=True)
    with SandboxServer(app) as server:
        api = api_session(app)
        token = api.headers["Authorization"]
        fault = {"path": "/v2/costcenteritems", "action": "write_then_drop"}
        requests.post(f"{server.url}/_sandbox/faults", json=fault, timeout=5)
        item = {"CostCenterId": sid("costcenter", "Projekt"), "Name": "Ny", "ShortName": "P2001",
                "IsActive": True}  # fmt: skip
        with pytest.raises(requests.ConnectionError):
            requests.post(f"{server.url}/v2/costcenteritems", json=item,
                          headers={"Authorization": token}, timeout=5)  # fmt: skip
        centers = requests.get(
            f"{server.url}/v2/costcenters", headers={"Authorization": token}, timeout=5
        )
        shorts = [i["ShortName"] for c in centers.json()["Data"] for i in c["Items"]]
        assert "P2001" in shorts


def test_given_refresh_over_http_when_reused_then_invalid_grant() -> None:
    app = EEkonomiSandbox(demo=True)
    with SandboxServer(app) as server:
        http = requests.Session()
        session = session_for(app)
        picker = login(session, authorize_url())
        code = callback_params(pick_company(session, picker, "Demokonsult AB"))["code"]
        issued = exchange(session, code).json()
        form = {"grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}
        first = http.post(
            f"{server.url}/connect/token",
            auth=("demo-eekonomi-client", "demo-eekonomi-secret"),
            data=form,
        )
        assert first.status_code == 200
        assert refresh(session, issued["refresh_token"]).json()["error"] == "invalid_grant"
