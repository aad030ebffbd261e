"""``EEkonomiClient`` against the eEkonomi sandbox over real HTTP, with a real Redis (issue 4).

Every test starts from a connection authorized by the product's own consent flow and
builds its clients as a worker does (``build_clients``). What is proven here: paging
hidden behind generators at the largest page size, the notes' change filters per
resource (eaccounting-notes §3), ``Meta.ServerTimeUtc`` as the next watermark, an
access token expiring in the middle of a list, per-endpoint 429s (alone and across two
processes sharing the Redis limiter), 5xx bursts, time-outs, the ambiguous write, and
the error table end to end. The sandbox's 60-second rate window is compressed to one
second where limits are under test, so the same behaviour fits in a fast test.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis

from config import Settings
from sandbox.eekonomi import demo_data
from schemas.sides import Side
from tests.clients.eekonomi_support import (
    Sandbox,
    authorize,
    clients_for,
    many_customers,
    sandbox_settings,
    wait_until,
)
from worker.clients.eekonomi import EEkonomiClient
from worker.clients.http import (
    AmbiguousWriteError,
    ApiConfigError,
    ApiRecordError,
    ApiTransientError,
    MalformedResponse,
)
from worker.clients.paging import Listing
from worker.clients.ratelimit import Rate, RedisRateLimiter

TOKEN = "POST /connect/token"
TERMS = demo_data()["termsOfPayments"][0]["Id"]


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    started = Sandbox.start()
    yield started
    started.stop()


@pytest.fixture
def settings(sandbox: Sandbox, redis_url: str, tmp_path: Path) -> Settings:
    return sandbox_settings(sandbox.port, redis_url, tmp_path)


@pytest.fixture
def client(
    sandbox: Sandbox, settings: Settings, redis_client: redis.Redis, connection_id: str
) -> EEkonomiClient:
    """The demo company's client, authorized; the request log starts empty."""
    authorize(settings, redis_client, connection_id)
    sandbox.clear_log()
    return clients_for(settings, redis_client, connection_id).eekonomi


def new_customer(number: str, **fields: Any) -> dict[str, Any]:
    return {
        "CustomerNumber": number,
        "Name": f"Testkund {number} AB",
        "IsPrivatePerson": False,
        "IsActive": True,
        "TermsOfPaymentId": TERMS,
        "InvoicePostalCode": "411 01",
        "InvoiceCity": "Göteborg",
        **fields,
    }


def queries(sandbox: Sandbox, method: str, path: str) -> list[tuple[int, str]]:
    """(status, query) of each logged request to ``method path``, oldest first."""
    return [
        (e["status"], e["query"])
        for e in sandbox.log()
        if e["method"] == method and e["path"] == path
    ]


# -- paging -------------------------------------------------------------------------------


def test_given_2510_customers_when_listing_then_each_comes_once_from_three_pages_of_1000(
    sandbox: Sandbox, client: EEkonomiClient
) -> None:
    sandbox.seed({"customers": list(many_customers(2500))})

    listing = client.list_customers()
    ids = [record["Id"] for record in listing]

    assert len(ids) == 2510 == len(set(ids))
    assert listing.pages_read == 3
    sent = queries(sandbox, "GET", "/v2/customers")
    assert [status for status, _ in sent] == [200, 200, 200]
    for page, (_, query) in enumerate(sent, start=1):
        assert f"$page={page}" in query
        assert "$pagesize=1000" in query
    assert sandbox.counts() == {"GET /v2/customers": 3}


def test_given_a_server_that_caps_pages_at_500_when_listing_then_it_steps_down_once_and_remembers(
    sandbox: Sandbox, client: EEkonomiClient
) -> None:
    sandbox.call("POST", "switches", {"max_page_size": 500})
    sandbox.seed({"customers": list(many_customers(1200))})

    assert len(list(client.list_customers())) == 1210
    assert len(list(client.list_customers())) == 1210

    sent = queries(sandbox, "GET", "/v2/customers")
    assert [s for s, _ in sent] == [400, 200, 200, 200, 200, 200, 200]
    assert "$pagesize=1000" in sent[0][1]
    assert all("$pagesize=500" in q for _, q in sent[1:])
    assert client.page_size == 500


def test_given_a_list_when_read_then_server_time_is_the_first_pages_meta_server_time(
    sandbox: Sandbox, client: EEkonomiClient
) -> None:
    moment = datetime(2026, 11, 24, 8, 30, 15, 250000, tzinfo=UTC)
    real_clock = sandbox.app.clock
    sandbox.app.clock = moment.timestamp
    try:
        listing = client.list_articles()
        assert listing.server_time is None  # nothing is sent before the first record is read
        records = list(listing)
    finally:
        sandbox.app.clock = real_clock

    assert len(records) == 7
    assert listing.server_time == moment


Lister = Callable[[EEkonomiClient, datetime | None], Listing]

CHANGE_FILTERS: list[tuple[str, str, str, Lister]] = [
    (
        "customers",
        "$filter=ChangedUtc ge ",
        "Telephone",
        lambda c, since: c.list_customers(changed_since=since),
    ),
    (
        "articles",
        "$filter=ChangedUtc ge ",
        "NameEnglish",
        lambda c, since: c.list_articles(changed_since=since),
    ),
    (
        "supplierinvoices",
        "$filter=ModifiedUtc ge ",
        "Message",
        lambda c, since: c.list_supplier_invoices(modified_since=since),
    ),
    (
        "customerinvoices",
        "modifiedSinceUtc=",
        "YourReference",
        lambda c, since: c.list_customer_invoices(modified_since=since),
    ),
]


@pytest.mark.parametrize(
    ("collection", "sent_filter", "field", "lister"),
    CHANGE_FILTERS,
    ids=[c[0] for c in CHANGE_FILTERS],
)
def test_given_a_watermark_when_listing_changes_then_only_records_changed_since_come(
    sandbox: Sandbox,
    client: EEkonomiClient,
    collection: str,
    sent_filter: str,
    field: str,
    lister: Lister,
) -> None:
    everything = lister(client, None)
    records = list(everything)
    watermark = everything.server_time
    assert watermark is not None
    assert len(records) >= 3
    time.sleep(0.01)
    edited = records[1]["Id"]
    sandbox.edit(collection, edited, {field: "ändrad i eEkonomi"})

    changed = [record["Id"] for record in lister(client, watermark)]

    assert changed == [edited]
    path = f"/v2/{collection}"
    sent = [query for _, query in queries(sandbox, "GET", path)]
    assert sent_filter not in sent[0]
    assert sent_filter + watermark.strftime("%Y-%m-%dT%H:%M:%SZ") in sent[1]


# -- tokens -------------------------------------------------------------------------------


def test_given_the_access_token_expires_between_pages_when_listing_then_the_list_completes(
    sandbox: Sandbox, client: EEkonomiClient
) -> None:
    sandbox.seed({"customers": list(many_customers(2500))})
    listing = client.list_customers()
    ids = [next(listing)["Id"] for _ in range(1000)]  # all of page 1
    sandbox.expire_tokens()

    ids += [record["Id"] for record in listing]

    assert len(ids) == 2510 == len(set(ids))
    assert [s for s, _ in queries(sandbox, "GET", "/v2/customers")] == [200, 401, 200, 200]
    assert sandbox.counts()[TOKEN] == 1


# -- rate limits ---------------------------------------------------------------------------


def test_given_a_429_burst_on_one_endpoint_when_calling_then_all_succeed_waiting_as_told(
    sandbox: Sandbox, client: EEkonomiClient
) -> None:
    sandbox.compress_rate_limit(limit=4, window=1.0)
    customer_id = demo_data()["customers"][0]["Id"]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    client.transport.sleep = sleep
    for _ in range(4):
        assert client.get_customer(customer_id)
    # That endpoint's quota is spent; the others answer at once.
    started = time.monotonic()
    assert client.get_company_settings()
    assert len(list(client.list_articles())) == 7
    assert time.monotonic() - started < 0.5
    assert slept == []
    for _ in range(6):
        assert client.get_customer(customer_id)

    log = [e for e in sandbox.log() if e["path"].startswith("/v2/customers/")]
    refused = [e for e in log if e["status"] == 429]
    assert refused
    assert len(log) == 10 + len(refused)
    assert slept == [1.0] * len(refused)  # "Try again in 1 seconds", as the answer said
    for entry in refused:
        following = next(e for e in log if e["time"] > entry["time"])
        assert following["time"] - entry["time"] >= 0.95
    others = [e for e in sandbox.log() if not e["path"].startswith("/v2/customers/")]
    assert {e["status"] for e in others} == {200}


def _hammer(
    port: int,
    redis_url: str,
    data_dir: str,
    connection_id: str,
    ids: tuple[str, str],
    count: int,
    barrier: Any,
    out: Any,
) -> None:
    """A worker process calling two endpoints in turn through the shared Redis limiter.

    Its limiter runs on the test's compressed clock (25/s, bursts of 2 — at the real
    scale 570/min with bursts of 20) instead of the settings' per-minute rate.
    """
    settings = sandbox_settings(port, redis_url, Path(data_dir))
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    eekonomi = clients_for(settings, client, connection_id).eekonomi
    eekonomi.transport.limiter = RedisRateLimiter(
        client, connection_id=connection_id, api=Side.EEKONOMI, rate_of=lambda bucket: Rate(25.0, 2)
    )
    customer_id, article_id = ids
    barrier.wait(30)
    try:
        for _ in range(count):
            eekonomi.get_customer(customer_id)
            eekonomi.get_article(article_id)
        out.put("ok")
    except Exception as exc:  # noqa: BLE001 - reported to the test process
        out.put(f"{type(exc).__name__}: {exc}")


def _busiest_window(times: list[float], window: float) -> int:
    return max(sum(1 for t in times if start <= t < start + window) for start in times)


def test_given_two_processes_sharing_the_limiter_when_both_call_then_no_endpoint_exceeds_its_quota(
    sandbox: Sandbox,
    settings: Settings,
    redis_url: str,
    redis_client: redis.Redis,
    connection_id: str,
    tmp_path: Path,
) -> None:
    authorize(settings, redis_client, connection_id)
    sandbox.compress_rate_limit(limit=30, window=1.0)  # 30 per second per endpoint
    sandbox.clear_log()
    data = demo_data()
    ids = (data["customers"][0]["Id"], data["articles"][0]["Id"])
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    out = context.Queue()
    workers = [
        context.Process(
            target=_hammer,
            args=(sandbox.port, redis_url, str(tmp_path), connection_id, ids, 40, barrier, out),
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=60), out.get(timeout=60)]
    for worker in workers:
        worker.join(10)

    assert results == ["ok", "ok"]
    log = sandbox.log()
    assert Counter(e["status"] for e in log) == {200: 160}  # not one 429
    for path in ("/v2/customers/", "/v2/articles/"):
        times = sorted(e["time"] for e in log if e["path"].startswith(path))
        assert len(times) == 80
        assert _busiest_window(times, 1.0) <= 30
        # 80 requests at 25/s after a burst of 2 take at least (80 - 2) / 25 s.
        assert times[-1] - times[0] >= 78 / 25 - 0.1
    # Both endpoints ran at once: together more than one endpoint's quota per second.
    assert _busiest_window(sorted(e["time"] for e in log), 1.0) > 30


# -- server errors, time-outs, ambiguous writes --------------------------------------------


def test_given_a_5xx_burst_when_reading_or_replacing_then_the_call_is_retried_until_it_succeeds(
    sandbox: Sandbox, client: EEkonomiClient
) -> None:
    sandbox.fault(path="/v2/customers", method="GET", status=503, times=3)
    assert len(list(client.list_customers())) == 10
    customer = client.find_customer_by_number("1001")
    assert customer is not None
    sandbox.fault(path="/v2/customers/*", method="PUT", status=502, times=2)

    updated = client.update_customer(customer["Id"], {**customer, "Telephone": "031-123456"})

    assert updated["Telephone"] == "031-123456"
    statuses = [s for s, _ in queries(sandbox, "GET", "/v2/customers")]
    assert statuses == [503, 503, 503, 200, 200]
    put = [e["status"] for e in sandbox.log() if e["method"] == "PUT"]
    assert put == [502, 502, 200]


def test_given_more_5xx_than_retries_when_reading_then_a_transient_error_names_the_call(
    sandbox: Sandbox, client: EEkonomiClient
) -> None:
    sandbox.fault(path="/v2/companysettings", status=500, times=4)

    with pytest.raises(ApiTransientError) as raised:
        client.get_company_settings()

    assert raised.value.status == 500
    assert "GET /companysettings" in str(raised.value)
    assert sandbox.counts()["GET /v2/companysettings"] == 4  # 1 + 3 retries


def test_given_a_5xx_on_create_when_posting_then_it_is_ambiguous_and_never_repeated(
    sandbox: Sandbox, client: EEkonomiClient
) -> None:
    sandbox.fault(path="/v2/customers", method="POST", status=503, times=1)

    with pytest.raises(AmbiguousWriteError):
        client.create_customer(new_customer("9001"))

    assert sandbox.counts()["POST /v2/customers"] == 1


def test_given_a_slow_answer_when_reading_then_the_time_out_is_retried(
    sandbox: Sandbox, client: EEkonomiClient
) -> None:
    client.transport.timeout = 0.5
    sandbox.fault(path="/v2/companysettings", action="delay", delay=1.0, times=1)

    assert client.get_company_settings()["Name"] == "Demokonsult AB"

    # The slow first answer is logged once the sandbox finishes it, after the retry's.
    wait_until(lambda: sandbox.counts()["GET /v2/companysettings"] == 2)


def test_given_a_slow_answer_when_creating_then_the_time_out_is_ambiguous_and_the_lookup_finds_it(
    sandbox: Sandbox, client: EEkonomiClient
) -> None:
    client.transport.timeout = 0.5
    sandbox.fault(path="/v2/customers", method="POST", action="delay", delay=1.0, times=1)

    with pytest.raises(AmbiguousWriteError, match="look the record up"):
        client.create_customer(new_customer("9002"))

    wait_until(lambda: client.find_customer_by_number("9002") is not None)
    assert sandbox.counts()["POST /v2/customers"] == 1


def test_given_a_dropped_connection_after_the_write_when_creating_then_the_lookup_finds_the_record(
    sandbox: Sandbox, client: EEkonomiClient
) -> None:
    sandbox.fault(path="/v2/customers", method="POST", action="write_then_drop", times=1)

    with pytest.raises(AmbiguousWriteError) as raised:
        client.create_customer(new_customer("9003"))

    assert "may have happened" in str(raised.value)
    found = client.find_customer_by_number("9003")
    assert found is not None
    assert found["Name"] == "Testkund 9003 AB"
    assert sandbox.counts()["POST /v2/customers"] == 1
    lookup = [q for _, q in queries(sandbox, "GET", "/v2/customers")]
    assert lookup == ["$filter=CustomerNumber eq '9003'&$page=1&$pagesize=1000"]


# -- the error table end to end ------------------------------------------------------------


def test_given_a_customer_without_a_name_when_creating_then_a_record_error_names_the_field(
    client: EEkonomiClient,
) -> None:
    body = new_customer("9004")
    del body["Name"]

    with pytest.raises(ApiRecordError) as raised:
        client.create_customer(body)

    error = raised.value
    assert (error.status, error.vendor.code, error.vendor.field) == (400, 2000, "Name")
    assert error.vendor.message
    assert "Name" in error.vendor.message
    assert error.vendor.error_id
    assert "field: Name" in str(error)


def test_given_an_id_that_names_no_record_when_getting_it_then_none_not_a_record_error(
    client: EEkonomiClient,
) -> None:
    """eEkonomi answers an unknown id in the path with 404 and ErrorCode 3000 — the code
    it also uses for a body that refers to a missing record; a lookup reads it as "no"."""
    missing = str(uuid.uuid4())
    assert client.get_customer(missing) is None
    assert client.get_customer_invoice_draft(missing) is None
    assert client.get_customer_invoice(missing) is None


def test_given_a_taken_customer_number_when_creating_then_a_duplicate_record_error(
    client: EEkonomiClient,
) -> None:
    with pytest.raises(ApiRecordError) as raised:
        client.create_customer(new_customer("1001"))

    assert raised.value.vendor.code == 4000
    assert "duplicate" in str(raised.value)


def test_given_no_purchase_scope_when_reading_supplier_invoices_then_a_config_error_says_why(
    sandbox: Sandbox,
    settings: Settings,
    redis_client: redis.Redis,
    connection_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("worker.clients.oauth.EEKONOMI_SCOPES", "ea:api offline_access ea:sales")
    authorize(settings, redis_client, connection_id)
    client = clients_for(settings, redis_client, connection_id).eekonomi

    with pytest.raises(ApiConfigError) as raised:
        list(client.list_supplier_invoices())

    assert raised.value.vendor.code == 4006
    assert "approve all requested scopes" in str(raised.value)
    assert "ea:purchase" in str(raised.value)
    assert sandbox.counts()["GET /v2/supplierinvoices"] == 1  # a config error is not retried


SETTINGS, CUSTOMERS = "/v2/companysettings", "/v2/customers"
HTML = "<html>Bad gateway</html>"  # a proxy's page, served as a JSON string


@pytest.mark.no_contract
@pytest.mark.parametrize(
    ("path", "fault", "call"),
    [
        (SETTINGS, {"body": HTML}, lambda c: c.get_company_settings()),
        (CUSTOMERS, {"body": HTML}, lambda c: list(c.list_customers())),
        (CUSTOMERS, {"body": {"Data": []}}, lambda c: list(c.list_customers())),
        (
            SETTINGS,
            {"body": {"Name": "x"}, "headers": [["Content-Encoding", "gzip"]]},
            lambda c: c.get_company_settings(),
        ),
    ],
    ids=["not-an-object", "list-not-an-envelope", "envelope-without-meta", "undecodable"],
)
def test_given_a_malformed_200_when_reading_then_a_clear_malformed_response_error(
    sandbox: Sandbox,
    client: EEkonomiClient,
    path: str,
    fault: dict[str, Any],
    call: Callable[[EEkonomiClient], Any],
) -> None:
    sandbox.fault(path=path, method="GET", status=200, times=4, **fault)

    with pytest.raises(MalformedResponse) as raised:
        call(client)

    assert raised.value.api == Side.EEKONOMI
    assert f"eekonomi GET {path.removeprefix('/v2')}" in str(raised.value)


@pytest.mark.no_contract
def test_given_an_unreadable_write_answer_when_writing_then_create_is_ambiguous_update_malformed(
    sandbox: Sandbox, client: EEkonomiClient
) -> None:
    customer = client.find_customer_by_number("1001")
    assert customer is not None
    sandbox.fault(path=CUSTOMERS, method="POST", status=201, body=HTML)
    sandbox.fault(path=f"{CUSTOMERS}/*", method="PUT", status=200, body=[1, 2])

    with pytest.raises(AmbiguousWriteError, match="accepted a write"):
        client.create_customer(new_customer("9005"))
    with pytest.raises(MalformedResponse, match="accepted a write"):
        client.update_customer(customer["Id"], customer)

    assert sandbox.counts()["POST /v2/customers"] == 1


def test_given_a_customer_number_with_a_quote_when_looking_it_up_then_the_literal_is_escaped(
    sandbox: Sandbox, client: EEkonomiClient
) -> None:
    created = client.create_customer(new_customer("O'B-1"))

    found = client.find_customer_by_number("O'B-1")

    assert found is not None
    assert found["Id"] == created["Id"]
    assert client.find_customer_by_number(str(uuid.uuid4())[:8]) is None
