"""Fuzzed vendor answers (issue 14): both clients against a server answering at random.

Hypothesis draws a *script* — a short list of answers the hostile server cycles through
(:mod:`tests.hostile_server`, real HTTP on 127.0.0.1): JSON of any shape where records
belong, error bodies with fields of the wrong type, HTML, truncated JSON, an empty body,
a body cut off below its ``Content-Length``, a dropped connection, huge pages, page
tokens that repeat or never end, ``Meta`` with junk page counts and clocks, rate limits
with any ``Retry-After``. Cycling a short script makes odd paging endless unless the
client stops it.

The property, for every call of every client: it ends — in a correct result (records
that are objects, each one the server sent) or in one of our classified errors
(:class:`~worker.errors.SyncError`) — never in an unclassified exception, never
reading more pages than the ceiling, never with more requests than its retry budget
allows. Waits are not slept (the transport's ``sleep`` is replaced), so nothing hangs.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import requests
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from schemas.sides import Side
from tests.hostile_server import Answer, HostileServer, Seen
from worker.clients.auth import SeveraAuth, token_request
from worker.clients.eekonomi import EEkonomiClient
from worker.clients.http import MAX_RATE_LIMIT_WAITS
from worker.clients.severa import SeveraClient
from worker.clients.tokens import TokenStore
from worker.clients.transport import ApiTransport
from worker.crypto import SecretBox
from worker.errors import SyncError

pytestmark = pytest.mark.timeout(120)

#: The page ceiling the fuzzed clients get (production: paging.MAX_PAGES).
CEILING = 12
#: Attempts one logical request may make: the first, the quick retries, the rate-limit
#: waits (no auth here, so no refresh).
RETRIES = 3
ATTEMPTS = 1 + RETRIES + MAX_RATE_LIMIT_WAITS

FUZZ = settings(
    max_examples=70,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- strategies ----------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**12), 10**12)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
#: A few fixed ids, so records repeat across pages as a looping server repeats them.
record_ids = st.sampled_from([str(uuid.UUID(int=n)) for n in range(6)]) | st.uuids().map(str)
severa_records = st.fixed_dictionaries({"guid": record_ids, "name": st.text(max_size=10)})
eek_records = st.fixed_dictionaries({"Id": record_ids, "Name": st.text(max_size=10)})


def huge(record: Any) -> st.SearchStrategy[list[Any]]:
    """A page of 2 000 distinct records (a server ignoring the page size)."""
    return st.integers(0, 10**6).map(
        lambda start: [
            {**record, "guid": f"g{start + n}", "Id": f"i{start + n}"} for n in range(2000)
        ]
    )


severa_lists = st.one_of(
    st.lists(severa_records, max_size=6),
    st.lists(severa_records, min_size=100, max_size=100),  # a full page: paging goes on
    st.lists(severa_records, min_size=100, max_size=100),
    huge({"name": "x"}),
    json_values,
)
eek_meta = (
    st.fixed_dictionaries(
        {},
        optional={
            "TotalNumberOfPages": st.sampled_from(
                [0, 1, 2, 3, 10**6, -1, "2", "lots", None, [2], 2.5]
            ),
            "ServerTimeUtc": st.sampled_from(
                ["2026-06-01T10:00:00Z", "2026-06-01T10:00:00", "yesterday", "", 17, None, {}]
            ),
        },
    )
    | json_values
)
#: A well-formed ``Meta`` that says more pages follow (often far more).
eek_more = st.fixed_dictionaries(
    {
        "TotalNumberOfPages": st.sampled_from([2, 5, 10**6]),
        "ServerTimeUtc": st.just("2026-06-01T10:00:00Z"),
    }
)
eek_lists = st.one_of(
    st.fixed_dictionaries({"Meta": eek_meta, "Data": st.lists(eek_records, max_size=6)}),
    st.fixed_dictionaries({"Meta": eek_more, "Data": st.lists(eek_records, max_size=6)}),
    st.fixed_dictionaries({"Meta": eek_more, "Data": st.lists(eek_records, max_size=6)}),
    st.fixed_dictionaries({"Meta": eek_meta, "Data": huge({"Name": "x"})}),
    st.fixed_dictionaries({"Meta": eek_meta, "Data": json_values}),
    json_values,
)
severa_errors = st.fixed_dictionaries(
    {
        "error": st.fixed_dictionaries(
            {},
            optional={
                "type": st.sampled_from(
                    [
                        "InvalidParameter",
                        "AuthenticationRequired",
                        "PermissionDenied",
                        "InternalSystemError",
                    ]
                )
                | json_values,
                "message": json_values,
                "details": json_values,
            },
        )
        | json_values
    }
)
eek_errors = st.fixed_dictionaries(
    {},
    optional={
        "ErrorCode": st.sampled_from([2000, 3000, 4002, 4010, 4005, 5000, 6000]) | json_values,
        "DeveloperErrorMessage": st.sampled_from(["Try again in 0 seconds", "module"])
        | json_values,
        "Errors": json_values,
        "ErrorId": json_values,
        "error": st.sampled_from(["invalid_grant", "invalid_client"]) | json_values,
    },
)
token_bodies = (
    st.fixed_dictionaries(
        {},
        optional={
            "access_token": st.just("tok") | json_values,
            "expires_in": st.sampled_from([3600, "3600", 0, -5, "soon", None]) | json_values,
            "access_token_expires_in": st.sampled_from([3600, 0, "x"]) | json_values,
            "refresh_token": st.just("r") | json_values,
            "scope": json_values,
        },
    )
    | json_values
)

statuses = st.sampled_from([200, 200, 200, 201, 400, 401, 403, 404, 409, 429, 500, 503])
retry_after = st.none() | st.sampled_from(["0", "-1", "1", "abc", "1e12", "nan", ""])


@st.composite
def answers(
    draw: st.DrawFn, payloads: st.SearchStrategy[Any], errors: st.SearchStrategy[Any]
) -> Answer:
    """One answer: a payload where a success belongs, an error body, or broken HTTP."""
    shape = draw(
        st.sampled_from(["ok"] * 6 + ["error", "html", "truncated", "short", "empty", "drop"])
    )
    status = 200 if shape in ("ok", "truncated", "short") else draw(statuses)
    headers = {"Content-Type": "application/json"}
    if (wait := draw(retry_after)) is not None:
        headers["Retry-After"] = wait
    if token := draw(st.none() | st.sampled_from(["t1", "t2"]) | st.uuids().map(str)):
        headers["NextPageToken"] = token
    body = json.dumps(draw(payloads if shape != "error" else errors)).encode()
    if shape == "html":
        return Answer(
            status, b"<html><body><h1>Bad Gateway</h1></body></html>", {"Content-Type": "text/html"}
        )
    if shape == "truncated":
        body = body[: draw(st.integers(0, max(0, len(body) - 1)))]
    if shape == "empty":
        body = b""
    if shape == "drop":
        return Answer(drop=True)
    length = len(body) + draw(st.integers(1, 50)) if shape == "short" else None
    return Answer(status, body, headers, length=length)


def scripts(
    payloads: st.SearchStrategy[Any], errors: st.SearchStrategy[Any]
) -> st.SearchStrategy[list[Answer]]:
    return st.lists(answers(payloads, errors), min_size=1, max_size=6)


# -- the server and the clients ------------------------------------------------------


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    server = HostileServer().start()
    yield server
    server.stop()


def play(server: HostileServer, script: list[Answer], *, fresh: bool = False) -> list[Answer]:
    """Answer with ``script`` in a cycle; ``fresh``: with new record ids on every request
    (a server whose paging never ends and never repeats). Returns the answers as sent."""
    sent: list[Answer] = []

    def answer(seen: Seen) -> Answer:
        number = len(server.seen)
        chosen = script[(number - 1) % len(script)]
        if fresh:
            chosen = renumbered(chosen, number)
        sent.append(chosen)
        return chosen

    server.play(answer)
    return sent


def renumbered(answer: Answer, number: int) -> Answer:
    """``answer`` with ``-<number>`` added to every record id it holds."""
    if not readable(answer):
        return answer
    body = json.loads(answer.body)

    def renumber(record: Any) -> Any:
        if not isinstance(record, dict):
            return record
        return {**record, **{k: f"{v}-{number}" for k, v in record.items() if k in ("guid", "Id")}}

    if isinstance(body, list):
        body = [renumber(r) for r in body]
    elif isinstance(body, dict) and isinstance(body.get("Data"), list):
        body = {**body, "Data": [renumber(r) for r in body["Data"]]}
    return dataclasses.replace(answer, body=json.dumps(body).encode())


def quick(transport: ApiTransport) -> ApiTransport:
    transport.sleep = lambda seconds: None
    transport.backoff = 0.0
    transport.retries = RETRIES
    return transport


def severa(server: HostileServer) -> SeveraClient:
    client = SeveraClient(
        base_url=server.url,
        session=requests.Session(),
        auth=None,
        timeout=2.0,
        connection_id="fuzz",
    )
    quick(client.transport)
    client.max_pages = CEILING
    return client


def eekonomi(server: HostileServer) -> EEkonomiClient:
    client = EEkonomiClient(
        base_url=server.url,
        session=requests.Session(),
        auth=None,
        timeout=2.0,
        connection_id="fuzz",
    )
    quick(client.transport)
    client.max_pages = CEILING
    return client


def outcome(call: Callable[[], Any]) -> Any:
    """The call's result, or the classified error it ended in; anything else fails."""
    try:
        result = call()
    except SyncError as exc:
        event(type(exc).__name__)  # --hypothesis-show-statistics lists how calls ended
        assert str(exc)  # noqa: PT017 - a classified error says what happened
        return exc
    event("result")
    return result


def check_listing(sent: list[Answer], result: Any) -> None:
    """A listing's result holds objects only, each one the server sent; it read no more
    pages than the ceiling (a page is a 2xx answer with a whole JSON body: the only
    answer a client can read a page from and go on paging after)."""
    if isinstance(result, list):
        assert all(isinstance(record, dict) for record in result)
        records: set[str] = set()
        for answer in filter(readable, sent):
            body = json.loads(answer.body)
            items = body.get("Data") if isinstance(body, dict) else body
            if isinstance(items, list):
                records.update(json.dumps(item, sort_keys=True) for item in items)
        assert all(json.dumps(record, sort_keys=True) in records for record in result)
    pages = sum(1 for answer in sent if readable(answer))
    assert pages <= CEILING, f"{pages} pages read, ceiling {CEILING}"


# -- the properties --------------------------------------------------------------------


@FUZZ
@given(
    script=scripts(severa_lists, severa_errors),
    style=st.sampled_from(["token", "offset", "unpaged"]),
    fresh=st.booleans(),
)
def test_severa_lists_end_classified_within_the_ceiling(
    hostile: HostileServer, script: list[Answer], style: str, fresh: bool
) -> None:
    sent = play(hostile, script, fresh=fresh)
    client = severa(hostile)
    call = {
        "token": client.list_customers,
        "offset": client.list_work_types,
        "unpaged": client.list_vat_rates,
    }[style]
    result = outcome(lambda: list(call()))
    check_listing(sent, result)
    assert hostile.count() <= CEILING * ATTEMPTS


@FUZZ
@given(script=scripts(eek_lists, eek_errors), fresh=st.booleans())
def test_eekonomi_lists_end_classified_within_the_ceiling(
    hostile: HostileServer, script: list[Answer], fresh: bool
) -> None:
    sent = play(hostile, script, fresh=fresh)
    result = outcome(lambda: list(eekonomi(hostile).list_customers()))
    check_listing(sent, result)
    # Up to three page sizes are tried when the server refuses one (400 about paging).
    assert hostile.count() <= 3 * CEILING * ATTEMPTS


@FUZZ
@given(
    script=scripts(
        severa_records | json_values | st.lists(severa_records, max_size=2), severa_errors
    ),
    operation=st.sampled_from(["get", "create", "update"]),
)
def test_severa_single_records_end_classified(
    hostile: HostileServer, script: list[Answer], operation: str
) -> None:
    play(hostile, script)
    client = severa(hostile)
    guid = str(uuid.UUID(int=1))
    result = outcome(
        {
            "get": lambda: client.get_customer(guid),
            "create": lambda: client.create_customer({"name": "A"}),
            "update": lambda: client.update_customer(guid, {"/name": "B"}),
        }[operation]
    )
    assert result is None or isinstance(result, dict | SyncError)
    assert hostile.count() <= ATTEMPTS


@FUZZ
@given(
    script=scripts(eek_records | json_values, eek_errors),
    operation=st.sampled_from(["get", "create", "update"]),
)
def test_eekonomi_single_records_end_classified(
    hostile: HostileServer, script: list[Answer], operation: str
) -> None:
    play(hostile, script)
    client = eekonomi(hostile)
    result = outcome(
        {
            "get": lambda: client.get_customer("c1"),
            "create": lambda: client.create_customer({"Name": "A"}),
            "update": lambda: client.update_customer("c1", {"Name": "B"}),
        }[operation]
    )
    assert result is None or isinstance(result, dict | SyncError)
    assert hostile.count() <= ATTEMPTS


@FUZZ
@given(script=scripts(token_bodies, eek_errors))
def test_eekonomi_token_endpoint_ends_classified(
    hostile: HostileServer, script: list[Answer]
) -> None:
    play(hostile, script)
    identity = ApiTransport(
        api=Side.EEKONOMI, base_url=hostile.url, session=requests.Session(), auth=None,
        timeout=2.0, connection_id="fuzz", retries=0,
    )  # fmt: skip
    quick(identity).retries = 0
    result = outcome(
        lambda: token_request(identity, "id", "secret", {"grant_type": "refresh_token"})
    )
    if not isinstance(result, SyncError):
        assert isinstance(result["access_token"], str)
        assert result["access_token"]


@FUZZ
@given(script=scripts(token_bodies, severa_errors))
def test_severa_token_endpoint_ends_classified(
    hostile: HostileServer, redis_url: str, script: list[Answer]
) -> None:
    play(hostile, script)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    connection_id = f"t-fuzz-{uuid.uuid4().hex[:12]}"
    store = TokenStore(
        client, SecretBox(Fernet.generate_key()), connection_id=connection_id, api="severa"
    )
    transport = ApiTransport(
        api=Side.SEVERA, base_url=hostile.url, session=requests.Session(), auth=None,
        timeout=2.0, connection_id=connection_id,
    )  # fmt: skip
    auth = SeveraAuth(transport=quick(transport), client_id="c", client_secret="s", store=store)
    try:
        result = outcome(auth.access_token)
        if not isinstance(result, SyncError):
            assert isinstance(result, str)
            assert result
    finally:
        store.delete()
        client.close()
    # Three token requests at most (an ambiguous one is asked again), each with its budget.
    assert hostile.count() <= 3 * ATTEMPTS


def readable(answer: Answer) -> bool:
    if answer.drop or answer.status >= 400 or answer.length is not None:
        return False
    try:
        json.loads(answer.body)
    except ValueError:
        return False
    return True
