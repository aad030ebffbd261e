"""``SeveraClient`` against the Severa sandbox over real HTTP and the real Redis (issue 4).

Paging in both styles at the largest page size, change filters and the watermark; the
token cached per connection (encrypted), renewed before expiry, after expiry in the
middle of a list, and once for two processes; 429, 5xx, time-outs and the ambiguous
write; error classification end to end; and no secret in logs or error texts. Every
request the client sends is validated against the OpenAPI document by the autouse
contract checker (``tests/contract.py``); none of these tests opts out of it.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis

from sandbox.severa import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from tests.clients.conftest import OPEN, Severa, a_while_ago, utc_now
from worker.clients.auth import RENEW_MARGIN
from worker.clients.factory import build_severa
from worker.clients.http import (
    AmbiguousWriteError,
    ApiConfigError,
    ApiError,
    ApiRecordError,
    ApiTransientError,
    MalformedResponse,
    NotFoundError,
)
from worker.clients.paging import PaginationLoopError
from worker.clients.ratelimit import Rate
from worker.crypto import SecretBox

CUSTOMERS = "/rest-api/v1/customers"
ADDRESSES = "/rest-api/v1/addresses"
TOKEN = "/rest-api/v1/token"


def queries(severa: Severa, path: str) -> list[dict[str, list[str]]]:
    """The query of each logged request to ``path`` (the log holds decoded values)."""
    found: list[dict[str, list[str]]] = []
    for entry in severa.requests():
        if entry["path"] != path:
            continue
        query: dict[str, list[str]] = {}
        for pair in filter(None, entry["query"].split("&")):
            name, _, value = pair.partition("=")
            query.setdefault(name, []).append(value)
        found.append(query)
    return found


def stored(severa: Severa, collection: str) -> list[dict[str, Any]]:
    """The sandbox's records of ``collection`` (expectations follow the demo data)."""
    return severa.app.store[collection].ordered()


# -- paging --------------------------------------------------------------------------


def test_given_2550_customers_when_token_paged_then_each_once_in_pages_of_100(
    severa: Severa, bulk: dict[str, Any]
) -> None:
    client = severa.build().client
    listing = client.list_customers()
    guids = [c["guid"] for c in listing]

    expected = {c["guid"] for c in stored(severa, "customers")}
    assert len(expected) >= 2550  # the bulk and the demo organization's
    assert len(guids) == len(set(guids)) == len(expected)
    assert set(guids) == expected
    pages = -(-len(expected) // 100)  # the largest page the API allows
    assert listing.pages_read == pages
    sent = queries(severa, CUSTOMERS)
    assert len(sent) == pages
    assert all(q["rowCount"] == ["100"] for q in sent)
    assert "pageToken" not in sent[0]
    assert all("pageToken" in q for q in sent[1:])


def test_given_2500_more_addresses_when_offset_paged_then_each_once_at_100_per_page(
    severa: Severa, bulk: dict[str, Any]
) -> None:
    client = severa.build().client
    guids = [a["guid"] for a in client.list_addresses()]

    expected = {a["guid"] for a in stored(severa, "addresses")}
    assert len(guids) == len(set(guids)) == len(expected) > 2500
    assert set(guids) == expected
    sent = queries(severa, ADDRESSES)
    pages = len(expected) // 100 + 1  # full pages, then the short (or empty) one
    assert [q["firstRow"] for q in sent] == [[str(100 * i)] for i in range(pages)]
    assert all(q["rowCount"] == ["100"] for q in sent)


def test_given_a_server_that_clamps_pages_to_50_when_listed_then_nothing_is_missed(
    severa: Severa,
) -> None:
    severa.switches(max_row_count=50)
    client = severa.build().client

    assert len({c["guid"] for c in client.list_customers()}) == len(stored(severa, "customers"))
    addresses = len(stored(severa, "addresses"))
    assert len({a["guid"] for a in client.list_addresses()}) == addresses
    # a first page of a suspect cap size (50) is not taken as the end, nor a later page
    # as long as the longest seen
    first_rows = list(range(0, addresses + (1 if addresses % 50 == 0 else 0), 50))
    assert [q["firstRow"] for q in queries(severa, ADDRESSES)] == [[str(r)] for r in first_rows]


def test_given_short_offset_lists_when_listed_then_one_request_each(severa: Severa) -> None:
    client = severa.build().client
    customer = next(client.list_customers(numbers=[1001]))
    list(client.list_currencies())
    list(client.list_customer_addresses(customer["guid"]))
    list(client.list_customer_contact_persons(customer["guid"]))
    assert severa.count("GET", "/rest-api/v1/currencies") == 1
    assert severa.count("GET", f"{CUSTOMERS}/{customer['guid']}/addresses") == 1
    assert severa.count("GET", f"{CUSTOMERS}/{customer['guid']}/contactpersons") == 1


def test_given_a_page_token_that_repeats_when_listed_then_loop_error_not_a_loop(
    severa: Severa,
) -> None:
    severa.fault(
        path=CUSTOMERS, method="GET", times=5, action="status", status=200, body=[],
        headers=[["NextPageToken", "c2FtZS10b2tlbg"]],
    )  # fmt: skip
    client = severa.build().client

    with pytest.raises(PaginationLoopError, match="page token it had already returned"):
        list(client.list_customers())
    assert severa.count("GET", CUSTOMERS) == 2


def test_given_changes_after_a_full_read_when_listed_changed_since_then_only_those(
    severa: Severa, bulk: dict[str, Any]
) -> None:
    client = severa.build().client
    first = client.list_customers()
    assert first.server_time is None  # known once the first page arrived
    assert sum(1 for _ in first) == len(stored(severa, "customers"))
    watermark = first.server_time
    assert watermark is not None
    assert watermark.tzinfo is not None
    assert abs((utc_now() - watermark).total_seconds()) < 5

    edited = [bulk["customers"][i]["guid"] for i in (7, 1234, 2499)]
    for guid in edited:
        severa.back_office("POST", f"/edit/customers/{guid}", {"notes": "changed in Severa"})
    created = client.create_customer({"name": f"Ny kund {uuid.uuid4().hex[:6]}"})
    address = bulk["addresses"][42]["guid"]
    severa.back_office("POST", f"/edit/addresses/{address}", {"city": "Lund"})

    changed = client.list_customers(changed_since=watermark)
    assert {c["guid"] for c in changed} == {*edited, created["guid"]}
    assert changed.server_time is not None
    assert changed.server_time >= watermark
    assert [a["guid"] for a in client.list_addresses(changed_since=watermark)] == [address]
    sent = queries(severa, CUSTOMERS)[-1]
    assert datetime.fromisoformat(sent["changedSince"][0]) == watermark


def test_given_no_changes_when_listed_changed_since_now_then_empty(severa: Severa) -> None:
    client = severa.build().client
    assert list(client.list_customers(changed_since=utc_now() + timedelta(seconds=2))) == []
    assert list(client.list_products(changed_since=utc_now() + timedelta(seconds=2))) == []
    everything = len(stored(severa, "workTypes"))
    assert len(list(client.list_work_types(changed_since=a_while_ago(10**8)))) == everything


def test_given_every_list_method_when_called_then_records_arrive_in_their_style(
    severa: Severa,
) -> None:
    severa.switches(require_client_id_header=True)  # the document's ClientIdAuth
    client = severa.build().client
    customer = next(client.list_customers(numbers=[1001]))
    assert customer["number"] == 1001
    own = {
        a["guid"] for a in stored(severa, "addresses") if a["customer"]["guid"] == customer["guid"]
    }
    assert {a["guid"] for a in client.list_customer_addresses(customer["guid"])} == own
    contacts = {c["guid"] for c in client.list_customer_contact_persons(customer["guid"])}
    assert contacts <= {c["guid"] for c in stored(severa, "contactPersons")}
    everything = {
        "contactPersons": client.list_contact_persons(),
        "contactCommunications": client.list_contact_communications(),
        "products": client.list_products(),
        "travelExpenseTypes": client.list_travel_expense_types(),
        "currencies": client.list_currencies(),
        "invoiceStatuses": client.list_invoice_statuses(),
        "projects": client.list_projects(),
        "projectFees": client.list_project_fees(),
        "invoices": client.list_invoices(),
    }
    for collection, listing in everything.items():
        assert [r["guid"] for r in listing] == [r["guid"] for r in stored(severa, collection)]
    vat_rates = list(client.list_vat_rates())  # the organization's country by default
    assert vat_rates
    assert {v["guid"] for v in vat_rates} <= {v["guid"] for v in stored(severa, "vatRates")}
    invoice = stored(severa, "invoices")[0]["guid"]
    rows = list(client.list_invoice_rows(invoice))
    assert rows
    assert all(r["invoiceGuid"] == invoice for r in rows)
    settings = stored(severa, "organizationSettings")[0]
    assert client.get_organization_settings()["nextInvoiceNumber"] == settings["nextInvoiceNumber"]


# -- writes --------------------------------------------------------------------------


def test_given_typed_changes_when_updated_then_sent_as_documented_replace_strings(
    severa: Severa,
) -> None:
    severa.switches(patch_op_case_insensitive=False)  # only the document's "Replace"
    client = severa.build().client
    customer = next(client.list_customers(numbers=[1002]))
    owner = severa.app.store["users"].ordered()[-1]["guid"]

    updated = client.update_customer(
        customer["guid"],
        {"/notes": "VIP", "/paymentTerm": 14, "/overdueInterest": 7.5, "/isActive": False,
         "/owner": {"guid": owner}},
    )  # fmt: skip

    assert updated["notes"] == "VIP"
    assert updated["paymentTerm"] == 14
    assert updated["overdueInterest"] == 7.5
    assert updated["isActive"] is False
    assert updated["owner"]["guid"] == owner


def test_given_a_new_customer_when_created_then_201_record_comes_back(severa: Severa) -> None:
    client = severa.build().client
    number = stored(severa, "organizationSettings")[0]["nextCustomerNumber"]
    created = client.create_customer({"name": "Kalmar Konsult AB", "paymentTerm": 20})
    assert created["guid"]
    assert created["number"] == number
    assert client.get_customer(created["guid"]) == created


# -- token -----------------------------------------------------------------------------


def test_given_a_token_when_stored_then_encrypted_in_redis_and_shared_per_connection(
    severa: Severa,
) -> None:
    first = severa.build()
    list(first.client.list_currencies())
    stored = first.tokens.load()
    assert stored is not None
    assert stored.access_token in severa.app.access_tokens

    raw = severa.redis.get(severa.token_key())
    assert isinstance(raw, str)
    header, payload, signature = stored.access_token.split(".")
    for secret in (stored.access_token, payload, signature, DEMO_CLIENT_SECRET):
        assert secret not in raw
    assert "organization:read" in stored.scope
    assert stored.access_token not in repr(stored)

    second = severa.build()  # another process of the same connection
    list(second.client.list_currencies())
    assert severa.token_requests() == 1

    other = severa.build(connection_id=f"{severa.connection_id}-b")
    list(other.client.list_currencies())
    assert severa.token_requests() == 2
    assert severa.redis.exists(severa.token_key(f"{severa.connection_id}-b"))
    severa.redis.delete(severa.token_key(f"{severa.connection_id}-b"))


def test_given_a_token_near_expiry_when_calling_then_renewed_before_the_api_refuses_it(
    severa: Severa,
) -> None:
    now = [time.time()]
    client = severa.build(clock=lambda: now[0]).client
    list(client.list_currencies())
    now[0] += 3600 - RENEW_MARGIN - 10  # still fresh
    list(client.list_currencies())
    assert severa.token_requests() == 1

    now[0] += 20  # inside the renewal margin, yet valid on the server
    list(client.list_currencies())
    assert severa.token_requests() == 2
    assert severa.count("GET", "/rest-api/v1/currencies", status=401) == 0


def test_given_tokens_shorter_lived_than_the_margin_when_calling_then_not_renewed_each_time(
    severa: Severa,
) -> None:
    severa.switches(access_token_seconds=120)  # shorter than the five-minute margin
    now = [time.time()]
    client = severa.build(clock=lambda: now[0]).client
    for _ in range(5):
        list(client.list_currencies())
    assert severa.token_requests() == 1
    now[0] += 61  # past half its lifetime: renewed ahead of expiry
    list(client.list_currencies())
    assert severa.token_requests() == 2


def test_given_tokens_expire_between_pages_when_listing_then_the_list_completes(
    severa: Severa, bulk: dict[str, Any]
) -> None:
    client = severa.build().client
    seen: list[str] = []
    for index, customer in enumerate(client.list_customers()):
        seen.append(customer["guid"])
        if index == 150:  # in the middle of the second page
            assert severa.back_office("POST", "/expire-tokens")["expired"] == 1
    assert len(seen) == len(set(seen)) == len(stored(severa, "customers"))
    assert severa.count("GET", CUSTOMERS, status=401) == 1
    assert severa.token_requests() == 2


def test_given_two_clients_when_tokens_expire_at_once_then_one_renewal(
    severa: Severa,
) -> None:
    clients = [severa.build().client for _ in range(2)]
    for client in clients:
        list(client.list_currencies())
    severa.back_office("POST", "/expire-tokens")
    severa.fault(path=TOKEN, method="POST", action="delay", delay=0.3)
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda c=c: results.append(len(list(c.list_currencies()))))
        for c in clients
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results == [3, 3]
    assert severa.token_requests() == 2  # the first token and one renewal


def _list_currencies_in_process(
    base_url: str,
    redis_url: str,
    connection_id: str,
    secret_key: bytes,
    rate: tuple[float, int],
    calls: int,
    ready: Any,
    go: Any,
    out: Any,
) -> None:
    """A separate worker process of the same connection: own session, own client."""
    client = build_severa(
        base_url=base_url,
        client_id=DEMO_CLIENT_ID,
        client_secret=DEMO_CLIENT_SECRET,
        connection_id=connection_id,
        redis_client=redis.Redis.from_url(redis_url),
        box=SecretBox(secret_key),
        rate=Rate(*rate),
    ).client
    ready.put(True)
    go.wait(30)
    try:
        out.put(("ok", [len(list(client.list_currencies())) for _ in range(calls)]))
    except Exception as exc:  # noqa: BLE001 - report any failure to the test
        out.put(("error", repr(exc)))


def _run_processes(severa: Severa, count: int, rate: Rate, calls: int) -> list[Any]:
    context = multiprocessing.get_context("spawn")
    ready, out = context.Queue(), context.Queue()
    go = context.Event()
    args = (
        severa.base_url, severa.redis_url, severa.connection_id, severa.secret_key,
        (rate.per_second, rate.burst), calls, ready, go, out,
    )  # fmt: skip
    procs = [context.Process(target=_list_currencies_in_process, args=args) for _ in range(count)]
    for proc in procs:
        proc.start()
    try:
        for _ in procs:
            ready.get(timeout=60)
        go.set()
        results = [out.get(timeout=60) for _ in procs]
    finally:
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
    return results


def test_given_two_processes_without_a_token_when_both_call_then_one_token_request(
    severa: Severa,
) -> None:
    # A slow token endpoint, so the second process arrives while the first renews.
    severa.fault(path=TOKEN, method="POST", action="delay", delay=0.5)
    results = _run_processes(severa, 2, OPEN, calls=1)
    currencies = len(stored(severa, "currencies"))
    assert results == [("ok", [currencies])] * 2
    assert severa.token_requests() == 1


# -- rate limits, 5xx, time-outs, ambiguous writes -----------------------------------


def test_given_a_429_burst_when_calling_fast_then_all_succeed_and_429_is_no_failure(
    severa: Severa,
) -> None:
    severa.app.rate_scale = 1.0  # Severa's own 10 per second
    client = severa.build(rate=OPEN).client  # our limiter off: the server must push back
    client.transport.retries = 0  # a 429 counted as a failure would raise at once

    results = [len(list(client.list_vat_rates())) for _ in range(25)]

    assert len(set(results)) == 1
    log = severa.requests()
    limited = [e for e in log if e["status"] == 429]
    assert len(limited) >= 2  # 10 pass, a 429 waits Retry-After: 1 s, 10 pass, …
    assert sum(1 for e in log if e["path"].endswith("/vatrates") and e["status"] == 200) == 25


def test_given_two_processes_when_they_share_the_limiter_then_the_server_never_says_429(
    severa: Severa,
) -> None:
    severa.app.rate_scale = 1.0
    severa.switches(rate_limit_per_second=20)  # scaled Severa: 20 per sliding second
    # 80 % of the limit: the sandbox validates every exchange against the OpenAPI
    # document on its own threads, which delays some arrivals and bunches others.
    rate = Rate(16.0, 1)

    results = _run_processes(severa, 2, rate, calls=25)

    assert results == [("ok", [len(stored(severa, "currencies"))] * 25)] * 2
    log = severa.requests()
    assert [e for e in log if e["status"] == 429] == []
    stamps = sorted(e["time"] for e in log)
    assert len(stamps) == 51  # 50 lists and one token
    busiest = max(sum(1 for t in stamps if s <= t < s + 1.0) for s in stamps)
    overall = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    print(f"\n2 processes: busiest second {busiest} requests, overall {overall:.1f}/s")
    assert busiest <= 20
    assert overall <= 17.5  # 16/s plus the burst of one and arrival jitter


def test_given_a_5xx_burst_when_reading_and_patching_then_retried_to_success(
    severa: Severa,
) -> None:
    client = severa.build().client
    severa.fault(path=CUSTOMERS, method="GET", times=3, status=503)
    assert len(list(client.list_customers())) == len(stored(severa, "customers"))
    assert severa.count("GET", CUSTOMERS, status=503) == 3

    customer = severa.app.store["customers"].ordered()[0]
    path = f"{CUSTOMERS}/{customer['guid']}"
    severa.fault(path=path, method="PATCH", times=2, status=500)
    assert client.update_customer(customer["guid"], {"/notes": "retried"})["notes"] == "retried"
    assert severa.count("PATCH", path) == 3

    severa.fault(path=path, method="PATCH", times=4, status=502)
    with pytest.raises(ApiTransientError) as raised:
        client.update_customer(customer["guid"], {"/notes": "given up"})
    assert raised.value.status == 502
    assert not isinstance(raised.value, ApiRecordError)


def test_given_a_slow_answer_when_reading_then_timed_out_and_retried(severa: Severa) -> None:
    client = severa.build(timeout=0.3).client
    list(client.list_currencies())  # token first: only the list is slowed
    severa.fault(path="/rest-api/v1/currencies", method="GET", action="delay", delay=1.0)

    assert len(list(client.list_currencies())) == len(stored(severa, "currencies"))
    severa.wait_for_requests("GET", "/rest-api/v1/currencies", 3)
    assert severa.count("GET", "/rest-api/v1/currencies") == 3


def test_given_a_slow_answer_to_a_create_when_timed_out_then_ambiguous_and_it_exists(
    severa: Severa,
) -> None:
    client = severa.build(timeout=0.3).client
    list(client.list_currencies())
    severa.fault(path=CUSTOMERS, method="POST", action="delay", delay=0.8)

    with pytest.raises(AmbiguousWriteError, match="look the record up"):
        client.create_customer({"name": "Långsam Kund AB"})
    severa.wait_for_requests("POST", CUSTOMERS, 1)
    assert [c["name"] for c in client.list_customers(customer_names=["Långsam Kund AB"])] == [
        "Långsam Kund AB"
    ]
    assert severa.count("POST", CUSTOMERS) == 1  # never repeated


def test_given_the_connection_drops_after_a_create_when_posting_then_ambiguous_and_it_exists(
    severa: Severa,
) -> None:
    client = severa.build().client
    severa.fault(path=CUSTOMERS, method="POST", action="write_then_drop")

    with pytest.raises(AmbiguousWriteError) as raised:
        client.create_customer({"name": "Tappad Förbindelse AB"})

    assert raised.value.method == "POST"
    found = list(client.list_customers(customer_names=["Tappad Förbindelse AB"]))
    assert len(found) == 1
    assert severa.count("POST", CUSTOMERS) == 1


# -- error classification ------------------------------------------------------------


def test_given_an_invalid_record_when_created_then_record_error_with_message_and_field(
    severa: Severa,
) -> None:
    client = severa.build().client
    with pytest.raises(ApiRecordError) as raised:
        client.create_customer({"number": 4711, "kvkNumber": "x" * 30})
    error = raised.value
    assert error.status == 400
    assert error.vendor.code == "InvalidParameter"
    assert error.vendor.field in ("kvkNumber", "name")
    assert error.vendor.message
    assert error.vendor.field in error.vendor.message
    assert "vendor says" in str(error)
    assert "POST /v1/customers" in str(error)


def test_given_credentials_without_a_scope_when_reading_then_config_error_with_guidance(
    severa: Severa,
) -> None:
    severa.back_office(
        "POST", "/clients",
        {"client_id": "limited", "client_secret": "limited-secret", "scopes": "customers:read"},
    )  # fmt: skip
    narrow = severa.build(
        client_id="limited", client_secret="limited-secret", scopes="customers:read"
    ).client
    assert len(list(narrow.list_customers())) == len(stored(severa, "customers"))
    with pytest.raises(ApiConfigError, match="Settings → REST API") as raised:
        narrow.get_organization_settings()
    assert raised.value.status == 403
    assert raised.value.vendor.code == "InsufficientApiScope"

    asks_all = severa.build(
        connection_id=f"{severa.connection_id}-all",
        client_id="limited",
        client_secret="limited-secret",
    ).client
    with pytest.raises(ApiConfigError, match="scopes ticked") as token_error:
        list(asks_all.list_customers())
    assert token_error.value.vendor.code == "InsufficientApiScope"


def test_given_a_wrong_secret_when_calling_then_config_error_and_no_retry(
    severa: Severa,
) -> None:
    client = severa.build(client_secret="not-the-secret").client
    with pytest.raises(ApiConfigError, match="SEVERA_CLIENT_SECRET"):
        list(client.list_customers())
    assert severa.token_requests() == 1


def test_given_an_unknown_guid_when_read_or_updated_then_none_or_not_found(
    severa: Severa,
) -> None:
    client = severa.build().client
    missing = str(uuid.uuid4())
    assert client.get_customer(missing) is None
    with pytest.raises(NotFoundError) as raised:
        client.update_customer(missing, {"/notes": "x"})
    assert raised.value.status == 404


def test_given_a_proxy_error_page_when_reading_then_retried_then_a_clear_error(
    severa: Severa,
) -> None:
    client = severa.build().client
    list(client.list_currencies())
    severa.app.garble_next("GET", "/rest-api/v1/currencies", times=2, status=502)
    assert len(list(client.list_currencies())) == 3  # a 5xx HTML page is transient

    severa.app.garble_next("GET", "/rest-api/v1/currencies", times=9, status=502)
    with pytest.raises(ApiTransientError, match="502 Bad Gateway") as raised:
        list(client.list_currencies())
    assert raised.value.status == 502
    severa.app.clear_garbles()


def test_given_a_2xx_answer_that_is_not_json_when_reading_then_malformed_response(
    severa: Severa,
) -> None:
    client = severa.build().client
    list(client.list_currencies())
    severa.app.garble_next("GET", CUSTOMERS, body=b'[{"guid": "trunc')
    with pytest.raises(MalformedResponse, match="not JSON") as raised:
        list(client.list_customers())
    assert "/v1/customers" in str(raised.value)

    severa.app.garble_next("GET", f"{CUSTOMERS}/*", body=b"OK")
    with pytest.raises(MalformedResponse):
        client.get_customer(severa.app.store["customers"].ordered()[0]["guid"])


def test_given_a_created_answer_that_is_not_json_when_posting_then_ambiguous(
    severa: Severa,
) -> None:
    client = severa.build().client
    severa.app.garble_next("POST", CUSTOMERS, body=b"")
    with pytest.raises(AmbiguousWriteError, match="could not be read"):
        client.create_customer({"name": "Oläsbar Kund AB"})
    assert len(list(client.list_customers(customer_names=["Oläsbar Kund AB"]))) == 1


# -- secrets -----------------------------------------------------------------------------


def test_given_a_full_scenario_logged_at_debug_then_no_secret_or_token_in_logs_or_errors(
    severa: Severa, bulk: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3").setLevel(logging.DEBUG)
    severa.back_office(
        "POST", "/clients",
        {"client_id": "narrow", "client_secret": "narrow-secret-1234", "scopes": "customers:read"},
    )  # fmt: skip
    built = severa.build()
    client = built.client
    errors: list[BaseException] = []

    def attempt(call: Any) -> None:
        try:
            call()
        except ApiError as exc:
            errors.append(exc)

    for index, _ in enumerate(client.list_customers()):
        if index == 120:
            severa.back_office("POST", "/expire-tokens")
    created = client.create_customer({"name": "Hemlig Kund AB"})
    client.update_customer(created["guid"], {"/notes": "uppdaterad"})
    attempt(lambda: client.create_customer({"number": 1}))
    attempt(lambda: client.update_customer(str(uuid.uuid4()), {"/notes": "x"}))
    severa.fault(path=CUSTOMERS, method="POST", action="write_then_drop")
    attempt(lambda: client.create_customer({"name": "Tappad AB"}))
    severa.app.garble_next("GET", "/rest-api/v1/vatrates", status=200, body=b"{")
    attempt(lambda: list(client.list_vat_rates()))
    narrow = severa.build(
        connection_id=f"{severa.connection_id}-n", client_id="narrow",
        client_secret="narrow-secret-1234", scopes="customers:read",
    ).client  # fmt: skip
    attempt(lambda: narrow.get_organization_settings())
    wrong = severa.build(connection_id=f"{severa.connection_id}-w", client_secret="wrong-1234")
    attempt(lambda: list(wrong.client.list_currencies()))
    severa.redis.delete(severa.token_key(f"{severa.connection_id}-n"))

    assert len(errors) == 6
    issued = [*severa.app.access_tokens, *severa.app.refresh_tokens]
    assert len(severa.app.access_tokens) >= 3
    secrets = [DEMO_CLIENT_SECRET, "narrow-secret-1234", "wrong-1234", *issued]
    texts = [caplog.text, repr(built.auth), repr(built.tokens.load())]
    texts += [f"{e!s} {e!r} {e.__context__!r} {e.__cause__!r}" for e in errors]
    assert "GET /rest-api/v1/customers" in caplog.text  # urllib3 did log at DEBUG
    for text in texts:
        for secret in secrets:
            assert secret not in text
