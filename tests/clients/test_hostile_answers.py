"""Both clients against a server that misbehaves on purpose (issue 14 items 3, 4 and 6).

Paging that never ends, fields of the wrong type, token endpoints answering HTML, a
refused connection: each must end in one of our classified errors — a
:class:`~worker.clients.http.MalformedResponse` (or its :class:`PaginationLoopError`)
for an answer we cannot use, the status's own error where the status still says enough —
never a loop or a bare ``KeyError``/``TypeError``. Everything goes over real HTTP to
:class:`tests.hostile_server.HostileServer` on 127.0.0.1.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import requests
from cryptography.fernet import Fernet

from schemas.sides import Side
from tests.hostile_server import Answer, HostileServer, Seen, json_answer
from worker.clients.auth import SeveraAuth, token_request
from worker.clients.eekonomi import EEkonomiClient
from worker.clients.http import (
    AmbiguousWriteError,
    ApiConfigError,
    ApiRecordError,
    ApiTransientError,
    MalformedResponse,
    PaginationLoopError,
)
from worker.clients.severa import SeveraClient
from worker.clients.tokens import TokenStore
from worker.clients.transport import ApiTransport
from worker.crypto import SecretBox

pytestmark = pytest.mark.timeout(60)

#: More requests than this and the server refuses (400): old code that loops for ever
#: then fails with a record error instead of hanging the test.
ENOUGH = 300


@pytest.fixture(scope="module")
def hostile() -> Iterator[HostileServer]:
    server = HostileServer().start()
    yield server
    server.stop()


def guarded(script: Any) -> Any:
    def play(seen: Seen, calls: list[int] = [0]) -> Answer:  # noqa: B006 - a counter
        calls[0] += 1
        if calls[0] > ENOUGH:
            return json_answer(400, '{"ErrorCode": 6000, "DeveloperErrorMessage": "enough"}')
        answer: Answer = script(seen)
        return answer

    return play


def quick(transport: ApiTransport) -> ApiTransport:
    transport.sleep = lambda seconds: None
    transport.backoff = 0.0
    return transport


def severa(server: HostileServer) -> SeveraClient:
    client = SeveraClient(
        base_url=server.url, session=requests.Session(), auth=None, timeout=2.0,
        connection_id="hostile",
    )  # fmt: skip
    quick(client.transport)
    return client


def eekonomi(server: HostileServer) -> EEkonomiClient:
    client = EEkonomiClient(
        base_url=server.url, session=requests.Session(), auth=None, timeout=2.0,
        connection_id="hostile",
    )  # fmt: skip
    quick(client.transport)
    return client


def records(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"guid": str(uuid.UUID(int=start + n)), "name": f"R{start + n}"} for n in range(count)]


def eek_page(data: Any, total: Any = 1, server_time: Any = "2026-06-01T10:00:00Z") -> Answer:
    meta = {"CurrentPage": 1, "PageSize": 50, "TotalNumberOfPages": total,
            "TotalNumberOfResults": 0, "ServerTimeUtc": server_time}  # fmt: skip
    return json_answer(200, json.dumps({"Meta": meta, "Data": data}))


# -- item 3: paging that does not end --------------------------------------------------


def test_given_a_server_ignoring_first_row_when_listing_then_stopped_after_the_repeat(
    hostile: HostileServer,
) -> None:
    hostile.play(guarded(lambda seen: json_answer(200, json.dumps(records(100)))))
    with pytest.raises(PaginationLoopError, match="only records already read"):
        list(severa(hostile).list_work_types())
    assert hostile.count() == 2


def test_given_a_new_page_token_on_every_page_over_the_same_records_then_stopped(
    hostile: HostileServer,
) -> None:
    def script(seen: Seen) -> Answer:
        return json_answer(200, json.dumps(records(3)), NextPageToken=uuid.uuid4().hex)

    hostile.play(guarded(script))
    with pytest.raises(PaginationLoopError, match="only records already read"):
        list(severa(hostile).list_customers())
    assert hostile.count() == 2


def test_given_endless_pages_of_new_records_then_stopped_at_the_page_ceiling(
    hostile: HostileServer,
) -> None:
    def script(seen: Seen) -> Answer:
        page = len(hostile.seen)
        return json_answer(200, json.dumps(records(3, 3 * page)), NextPageToken=f"t{page}")

    hostile.play(guarded(script))
    client = severa(hostile)
    client.max_pages = 7
    with pytest.raises(PaginationLoopError, match=r"more pages than the ceiling \(7 pages"):
        list(client.list_customers())
    assert hostile.count() == 7


def test_given_a_million_pages_of_repeated_data_from_eekonomi_then_stopped(
    hostile: HostileServer,
) -> None:
    data = [{"Id": str(uuid.UUID(int=n)), "Name": f"C{n}"} for n in range(50)]
    hostile.play(guarded(lambda seen: eek_page(data, total=10**6)))
    with pytest.raises(PaginationLoopError, match="only records already read"):
        list(eekonomi(hostile).list_customers())
    assert hostile.count() == 2


def test_given_an_earlier_page_again_past_the_remembered_pages_then_stopped(
    hostile: HostileServer,
) -> None:
    """Records are remembered one by one for the last RECENT_PAGES pages only (a whole
    read of 100 000 records must not keep a print of each); an earlier page served again
    as it was is still caught, however far back."""
    from worker.clients.paging import RECENT_PAGES

    def script(seen: Seen) -> Answer:
        page = int(seen.query["$page"][0])
        first = 1 if page > RECENT_PAGES + 5 else page  # then the first page again
        return eek_page([{"Id": f"c{first}-{n}"} for n in range(50)], total=10**6)

    hostile.play(guarded(script))
    with pytest.raises(PaginationLoopError, match="only records already read"):
        list(eekonomi(hostile).list_customers())
    assert hostile.count() == RECENT_PAGES + 6


def test_given_a_million_pages_of_new_data_from_eekonomi_then_stopped_at_the_ceiling(
    hostile: HostileServer,
) -> None:
    def script(seen: Seen) -> Answer:
        page = int(seen.query["$page"][0])
        return eek_page([{"Id": f"c{page}-{n}"} for n in range(50)], total=10**6)

    hostile.play(guarded(script))
    client = eekonomi(hostile)
    client.max_pages = 5
    with pytest.raises(PaginationLoopError, match="more pages than the ceiling"):
        list(client.list_customers())
    assert hostile.count() == 5


# -- item 4: wrong types in answers ------------------------------------------------------

EEK_ERROR = '{"ErrorCode": %s, "DeveloperErrorMessage": %s, "ErrorId": "e-1"}'


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (json_answer(400, EEK_ERROR % ("[2000, 3000]", '"bad"')), ApiRecordError),
        (json_answer(403, EEK_ERROR % ("4007", '{"text": "no"}')), ApiConfigError),
        (json_answer(429, EEK_ERROR % ("4010", '["Try", "again"]')), ApiTransientError),
        (json_answer(400, '{"ErrorCode": 2000, "Errors": {"0": "x"}}'), ApiRecordError),
        (json_answer(200, '{"Meta": [], "Data": []}'), MalformedResponse),
        (eek_page([{"Id": "a"}], total="lots"), MalformedResponse),
        (eek_page([{"Id": "a"}], total=[2]), MalformedResponse),
        (eek_page([{"Id": "a"}], server_time="yesterday"), MalformedResponse),
        (eek_page([{"Id": "a"}], server_time=17), MalformedResponse),
        (json_answer(200, '{"Meta": {}, "Data": {"Id": "a"}}'), MalformedResponse),
        (json_answer(200, '{"Meta": {}, "Data": ["a", "b"]}'), MalformedResponse),
    ],
    ids=["code-list", "403-message-dict", "429-message-list", "errors-dict", "meta-list",
         "pages-junk", "pages-list", "time-junk", "time-number", "data-object", "data-strings"],
)  # fmt: skip
def test_given_eekonomi_answers_of_the_wrong_type_then_classified(
    hostile: HostileServer, answer: Answer, error: type[Exception]
) -> None:
    hostile.play(guarded(lambda seen: answer))
    with pytest.raises(error) as raised:
        list(eekonomi(hostile).list_customers())
    assert type(raised.value) is error or error is ApiTransientError


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (json_answer(400, '{"error": {"type": ["InvalidParameter"]}}'), ApiRecordError),
        (json_answer(400, '{"error": {"type": "InvalidParameter", "details": {"a": 1}}}'),
         ApiRecordError),
        (json_answer(403, '{"error": {"type": "PermissionDenied", "message": {"m": 1}}}'),
         ApiConfigError),
        (json_answer(429, '{"error": {"message": ["slow", "down"]}}', **{"Retry-After": "0"}),
         ApiTransientError),
        (json_answer(200, '{"guid": "a"}'), MalformedResponse),
        (json_answer(200, '["a", "b"]'), MalformedResponse),
        (json_answer(200, '[{"guid": "a"'), MalformedResponse),
        (Answer(200, b"<html><body>Service Unavailable</body></html>"), MalformedResponse),
    ],
    ids=["type-list", "details-dict", "403-message-dict", "429-message-list", "object",
         "strings", "truncated", "html"],
)  # fmt: skip
def test_given_severa_answers_of_the_wrong_type_then_classified(
    hostile: HostileServer, answer: Answer, error: type[Exception]
) -> None:
    hostile.play(guarded(lambda seen: answer))
    with pytest.raises(error):
        list(severa(hostile).list_customers())


TOKEN_ANSWERS = {
    "html": Answer(200, b"<html><body>Sign in</body></html>", {"Content-Type": "text/html"}),
    "empty-object": json_answer(200, "{}"),
    "list": json_answer(200, '["access_token"]'),
    "token-number": json_answer(200, '{"access_token": 12}'),
    "expiry-junk": json_answer(
        200, '{"access_token": "t", "expires_in": "soon", "access_token_expires_in": "soon"}'
    ),  # fmt: skip
    "refresh-dict": json_answer(200, '{"access_token": "t", "refresh_token": {}}'),
}


@pytest.mark.parametrize("name", list(TOKEN_ANSWERS))
def test_given_an_eekonomi_token_endpoint_answering_junk_then_malformed(
    hostile: HostileServer, name: str
) -> None:
    hostile.play(guarded(lambda seen: TOKEN_ANSWERS[name]))
    identity = ApiTransport(
        api=Side.EEKONOMI, base_url=hostile.url, session=requests.Session(), auth=None,
        timeout=2.0, connection_id="hostile", retries=0,
    )  # fmt: skip
    with pytest.raises(MalformedResponse, match="token endpoint|not JSON"):
        token_request(identity, "id", "secret", {"grant_type": "refresh_token"})


def severa_auth(url: str, redis_client: redis.Redis, connection_id: str) -> SeveraAuth:
    store = TokenStore(
        redis_client, SecretBox(Fernet.generate_key()), connection_id=connection_id, api="severa"
    )
    transport = ApiTransport(
        api=Side.SEVERA, base_url=url, session=requests.Session(), auth=None, timeout=2.0,
        connection_id=connection_id,
    )  # fmt: skip
    return SeveraAuth(transport=quick(transport), client_id="c", client_secret="s", store=store)


@pytest.mark.parametrize("name", list(TOKEN_ANSWERS))
def test_given_a_severa_token_endpoint_answering_junk_then_malformed(
    hostile: HostileServer, redis_client: redis.Redis, connection_id: str, name: str
) -> None:
    hostile.play(guarded(lambda seen: TOKEN_ANSWERS[name]))
    auth = severa_auth(hostile.url, redis_client, connection_id)
    with pytest.raises(MalformedResponse, match="token endpoint|not JSON"):
        auth.access_token()


# -- item 6: nothing sent is not "the write may have happened" ---------------------------


def closed_port_url() -> str:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"http://127.0.0.1:{port}"


def test_given_a_refused_connection_on_the_severa_token_request_then_could_not_connect(
    redis_client: redis.Redis, connection_id: str
) -> None:
    auth = severa_auth(closed_port_url(), redis_client, connection_id)
    with pytest.raises(ApiTransientError, match="could not connect") as raised:
        auth.access_token()
    assert not isinstance(raised.value, AmbiguousWriteError)
    assert "may have happened" not in str(raised.value)


def test_given_a_refused_connection_on_the_eekonomi_token_request_then_could_not_connect() -> None:
    identity = ApiTransport(
        api=Side.EEKONOMI, base_url=closed_port_url(), session=requests.Session(), auth=None,
        timeout=2.0, connection_id="hostile", retries=0,
    )  # fmt: skip
    with pytest.raises(ApiTransientError, match="could not connect") as raised:
        token_request(identity, "id", "secret", {"grant_type": "refresh_token"})
    assert not isinstance(raised.value, AmbiguousWriteError)


def test_given_a_connection_dropped_after_a_create_was_sent_then_still_ambiguous(
    hostile: HostileServer,
) -> None:
    hostile.play(lambda seen: Answer(drop=True))
    with pytest.raises(AmbiguousWriteError, match="may have happened"):
        severa(hostile).create_customer({"name": "A"})
    assert hostile.count("POST") == 1
