"""Several tenants (issue 16): each eEkonomi company is its own store, the back office
acts on the company ``?company=`` names, the demo seeds a second company with its own
data, rate limits count per company, and ``/_sandbox/info`` tells one start from the
next."""

from __future__ import annotations

import json
import re

import pytest
import requests

from sandbox.__main__ import build_eekonomi, build_parser
from sandbox.eekonomi import (
    DEMO_COMPANY_ID,
    HOLDING_COMPANY_ID,
    HOLDING_DATA_FILE,
    OLD_COMPANY_ID,
    EEkonomiSandbox,
    demo_data,
    holding_demo_data,
)
from sandbox.eekonomi.demo_holding import build as build_holding
from tests.sandbox.test_eekonomi_helpers import BASE, api_session, session_for

V2 = f"{BASE}/v2"
BO = f"{BASE}/_sandbox"
HOLDING = "Demokonsult Holding AB"


@pytest.fixture(scope="module")
def app() -> EEkonomiSandbox:
    return EEkonomiSandbox(demo=True, holding_demo=True)


@pytest.fixture
def fresh() -> EEkonomiSandbox:
    return EEkonomiSandbox(demo=True, holding_demo=True)


def _all(api: requests.Session, path: str) -> list[dict[str, object]]:
    answer = api.get(f"{V2}{path}", params={"$pagesize": 1000})
    assert answer.status_code == 200, answer.text
    data: list[dict[str, object]] = answer.json()["Data"]
    return data


# -- the second demo company ---------------------------------------------------------------


def test_given_both_demo_companies_when_listing_then_no_record_is_shared(
    app: EEkonomiSandbox,
) -> None:
    demo, holding = api_session(app), api_session(app, HOLDING)
    for path, key in (("/customers", "CustomerNumber"), ("/articles", "Number")):
        ours, theirs = _all(demo, path), _all(holding, path)
        assert ours
        assert theirs
        assert not {r["Id"] for r in ours} & {r["Id"] for r in theirs}, path
        assert not {r[key] for r in ours} & {r[key] for r in theirs}, path
        assert not {r["Name"] for r in ours} & {r["Name"] for r in theirs}, path
    centers = _all(holding, "/costcenters")
    assert [(c["Name"], len(c["Items"])) for c in centers] == [("Bolag", 3)]
    assert len(_all(holding, "/customers")) < len(_all(demo, "/customers")), "smaller"


def test_given_a_record_of_one_company_when_read_with_the_others_token_then_404(
    app: EEkonomiSandbox,
) -> None:
    demo, holding = api_session(app), api_session(app, HOLDING)
    theirs = _all(holding, "/customers")[0]["Id"]
    assert demo.get(f"{V2}/customers/{theirs}").status_code == 404
    ours = _all(demo, "/customers")[0]["Id"]
    assert holding.get(f"{V2}/customers/{ours}").status_code == 404
    invoice = _all(holding, "/customerinvoices")[0]
    assert invoice["CustomerNumber"] == "2001"
    assert demo.get(f"{V2}/customerinvoices/{invoice['Id']}").status_code == 404


def test_given_the_holding_demo_file_when_rebuilt_then_it_is_identical_to_the_committed_one() -> (
    None
):
    assert build_holding() == json.loads(HOLDING_DATA_FILE.read_text(encoding="utf-8"))
    assert holding_demo_data()["companySettings"]["Name"] == HOLDING


def test_given_the_command_line_when_building_eekonomi_then_both_companies_are_seeded() -> None:
    switches = {"convert_deletes_draft": False}
    built = build_eekonomi(build_parser().parse_args([]), switches)
    counts = {c.id: c.counts()["customers"] for c in built.companies.values()}
    assert counts[DEMO_COMPANY_ID] == len(demo_data()["customers"])
    assert counts[HOLDING_COMPANY_ID] == len(holding_demo_data()["customers"])
    assert counts[OLD_COMPANY_ID] == 0
    assert built.switches.convert_deletes_draft is False
    empty = build_eekonomi(build_parser().parse_args(["--empty"]), {})
    assert {c.counts()["customers"] for c in empty.companies.values()} == {0}


# -- the back office, per company -----------------------------------------------------------


def test_given_the_companies_call_then_every_listed_id_is_accepted_by_company(
    app: EEkonomiSandbox,
) -> None:
    bo = session_for(app)
    listed = bo.get(f"{BO}/companies").json()
    assert [c["id"] for c in listed] == [DEMO_COMPANY_ID, HOLDING_COMPANY_ID, OLD_COMPANY_ID]
    for company in listed:
        dumped = bo.get(f"{BO}/dump", params={"company": company["id"]}).json()
        assert dumped["companySettings"]["CompanyIdentifier"] == company["id"]
        assert len(dumped["customers"]) == company["counts"]["customers"]
    for call in ("requests", "faults", "dump"):
        assert bo.get(f"{BO}/{call}", params={"company": "nobody"}).status_code == 404, call


def test_given_a_company_when_resetting_it_then_only_that_company_is_emptied(
    fresh: EEkonomiSandbox,
) -> None:
    bo = session_for(fresh)
    assert bo.post(f"{BO}/reset", params={"company": HOLDING_COMPANY_ID}).status_code == 204
    holding = bo.get(f"{BO}/dump", params={"company": HOLDING_COMPANY_ID}).json()
    assert holding["customers"] == []
    assert holding["units"] == []
    assert len(bo.get(f"{BO}/dump").json()["customers"]) == len(demo_data()["customers"])
    assert bo.post(f"{BO}/reset").status_code == 204  # no company: the default one
    assert bo.get(f"{BO}/dump").json()["customers"] == []


def test_given_faults_for_one_company_when_both_call_then_only_that_company_fails(
    fresh: EEkonomiSandbox,
) -> None:
    bo = session_for(fresh)
    demo, holding = api_session(fresh), api_session(fresh, HOLDING)
    fault = {"path": "/v2/customers", "method": "GET", "status": 503, "times": 2}
    assert bo.post(f"{BO}/faults", params={"company": HOLDING}, json=fault).status_code == 201
    assert bo.get(f"{BO}/faults", params={"company": DEMO_COMPANY_ID}).json() == []
    assert [f["tenant"] for f in bo.get(f"{BO}/faults").json()] == [HOLDING_COMPANY_ID]
    assert demo.get(f"{V2}/customers").status_code == 200
    assert holding.get(f"{V2}/customers").status_code == 503
    bo.delete(f"{BO}/faults", params={"company": DEMO_COMPANY_ID})
    assert holding.get(f"{V2}/customers").status_code == 503, "another company's disarm"
    assert holding.get(f"{V2}/customers").status_code == 200, "used up"


def test_given_calls_of_two_companies_when_reading_the_log_by_company_then_each_sees_its_own(
    fresh: EEkonomiSandbox,
) -> None:
    bo = session_for(fresh)
    demo, holding = api_session(fresh), api_session(fresh, HOLDING)
    bo.delete(f"{BO}/requests")
    demo.get(f"{V2}/customers")
    holding.get(f"{V2}/articles")
    holding.get(f"{V2}/units")
    mine = bo.get(f"{BO}/requests", params={"company": HOLDING}).json()
    assert mine["counts"] == {"GET /v2/articles": 1, "GET /v2/units": 1}
    everyone = bo.get(f"{BO}/requests").json()
    assert everyone["total"] == 3
    bo.delete(f"{BO}/requests", params={"company": HOLDING_COMPANY_ID})
    assert bo.get(f"{BO}/requests").json()["counts"] == {"GET /v2/customers": 1}


def test_given_a_ui_action_with_a_company_when_acting_then_it_finds_that_companys_record(
    fresh: EEkonomiSandbox,
) -> None:
    bo = session_for(fresh)
    holding = api_session(fresh, HOLDING)
    customer = _all(holding, "/customers")[0]
    edit = f"{BO}/ui/customers/{customer['Id']}/edit"
    assert bo.post(edit, json={"Note": "x"}).status_code == 404, "not in the default company"
    changed = bo.post(edit, params={"company": HOLDING}, json={"Note": "ändrad i UI"})
    assert changed.status_code == 200, changed.text
    assert holding.get(f"{V2}/customers/{customer['Id']}").json()["Note"] == "ändrad i UI"
    draft = _all(holding, "/customerinvoicedrafts")[0]
    booked = bo.post(
        f"{BO}/ui/customerinvoicedrafts/{draft['Id']}/convert", params={"company": HOLDING}
    )
    assert booked.status_code == 201, booked.text
    assert booked.json()["InvoiceNumber"] == 2002, "the holding company's own number series"


def test_given_expire_tokens_for_one_company_when_calling_then_only_its_tokens_are_dead(
    fresh: EEkonomiSandbox,
) -> None:
    demo, holding = api_session(fresh), api_session(fresh, HOLDING)
    expired = session_for(fresh).post(f"{BO}/expire-tokens", params={"company": HOLDING})
    assert expired.json() == {"expired": 1}
    assert holding.get(f"{V2}/units").status_code == 401
    assert demo.get(f"{V2}/units").status_code == 200


# -- rate limits and info -------------------------------------------------------------------


def test_given_one_company_at_its_limit_when_another_calls_the_same_endpoint_then_it_answers() -> (
    None
):
    app = EEkonomiSandbox(demo=True, holding_demo=True)
    app.rate_scale = 2 / 600
    demo, holding = api_session(app), api_session(app, HOLDING)
    assert [demo.get(f"{V2}/units").status_code for _ in range(3)] == [200, 200, 429]
    assert holding.get(f"{V2}/units").status_code == 200


def test_given_the_info_call_then_an_instance_id_made_at_start_up_and_the_start_time() -> None:
    first = session_for(EEkonomiSandbox()).get(f"{BO}/info").json()
    second = session_for(EEkonomiSandbox()).get(f"{BO}/info").json()
    pattern = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    assert re.fullmatch(pattern, first["instance"])
    assert first["instance"] != second["instance"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", first["started_at"])
    assert first["name"] == "eekonomi"
