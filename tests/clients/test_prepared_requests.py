"""The transport prepares its requests itself (issue 20): the same requests as before.

:meth:`ApiTransport.prepare` builds what ``Session.request`` built — from URLs and
headers it keeps — to spend less CPU per request. These tests hold it to that: the
prepared request equals ``requests``' own for every kind of call the clients make
(and a few odd ones), first and from the caches; the adapter is sent the same options
(the environment's proxies and CA bundle, the time-out); and over real HTTP a cookie the
API sets is sent back and a proxy from the environment is used.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from schemas.sides import Side
from tests.hostile_server import Answer, HostileServer, Seen, json_answer
from worker.clients.factory import new_session
from worker.clients.transport import ApiTransport

BASE = "http://127.0.0.1:8002/v2"
JSON = {"Content-Type": "application/json"}


class Bearer(requests.auth.AuthBase):
    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = "Bearer token"
        return request


def on_response(response: requests.Response, **kwargs: Any) -> requests.Response:
    return response


def session_of(kind: str) -> requests.Session:
    session = requests.Session() if kind == "plain" else new_session()
    if kind == "cookies":
        session.cookies.set("ARRAffinity", "abc", domain="127.0.0.1", path="/")
    if kind == "hooks":
        session.hooks["response"].append(on_response)
    if kind == "headers":
        session.headers["X-Session"] = "1"
    return session


#: (method, path, params, data, extra headers) as the clients send them, and odd ones.
CALLS: list[tuple[str, str, Any, Any, dict[str, str]]] = [
    ("GET", "/customers/3fa85f64-5717-4562-b3fc-2c963f66afa6", None, None, {}),
    ("GET", "/customers", {"$filter": "CustomerNumber eq '1 2'", "$page": 2, "x": None}, None, {}),
    ("GET", "/customers", [("a", 1), ("a", 2), ("b", "ö")], None, {}),
    ("GET", "/customers", {"a": 1}, None, {}),
    ("GET", "/customers", {"a": True}, None, {}),  # equal to 1 as a key, not as a URL
    ("GET", "/customers", {"a": [1, 2]}, None, {}),  # unhashable: prepared every time
    ("POST", "/customers", None, json.dumps({"Name": "Kund ö"}), JSON),
    ("POST", "/connect/token", None, {"grant_type": "authorization_code", "code": "c"}, {}),
    ("PUT", "/customers/1", None, None, {"X-Extra": "1"}),
    ("DELETE", "/drafts/1", {"q": "a b"}, None, {}),
    ("GET", "/odd path/ä/../x", {"q": "%41"}, None, {}),
]  # fmt: skip


def as_before(
    session: requests.Session, url: str, call: tuple[str, str, Any, Any, dict[str, str]], auth: Any
) -> requests.PreparedRequest:
    """The request ``Session.request`` prepared for the transport's call."""
    method, _, params, data, extra = call
    request = requests.Request(
        method=method, url=url, headers={"Accept": "application/json", **extra},
        data=data or {}, params=params or {}, auth=auth,
    )  # fmt: skip
    return session.prepare_request(request)


def assert_same(before: requests.PreparedRequest, now: requests.PreparedRequest) -> None:
    assert (now.method, now.url, now.body, now.hooks) == (
        before.method, before.url, before.body, before.hooks,
    )  # fmt: skip
    assert list(now.headers.items()) == list(before.headers.items())  # order too
    assert type(now._cookies) is type(before._cookies)  # type: ignore[attr-defined]
    assert sorted(map(repr, now._cookies)) == sorted(map(repr, before._cookies))  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["ours", "plain", "cookies", "hooks", "headers"])
@pytest.mark.parametrize("with_auth", [True, False])
def test_each_call_is_prepared_as_requests_prepared_it_first_and_from_the_caches(
    kind: str, with_auth: bool
) -> None:
    session = session_of(kind)
    auth = Bearer() if with_auth else None
    sender = ApiTransport(
        api=Side.EEKONOMI, base_url=BASE, session=session, auth=auth, timeout=1.0,
        connection_id="t-prepared",
    )  # fmt: skip
    for _ in range(2):
        for call in CALLS:
            method, path, params, data, extra = call
            now = sender.prepare(
                method, path, params, data, {"Accept": "application/json", **extra}
            )
            assert_same(as_before(session, sender.url(path), call, auth), now)


def test_without_auth_the_netrc_of_the_environment_is_used_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1\nlogin user\npassword secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    session = new_session()
    sender = ApiTransport(
        api=Side.EEKONOMI, base_url=BASE, session=session, auth=None, timeout=1.0,
        connection_id="t-prepared",
    )  # fmt: skip
    call = CALLS[0]
    now = sender.prepare(call[0], call[1], call[2], call[3], {"Accept": "application/json"})
    assert now.headers["Authorization"].startswith("Basic ")
    assert_same(as_before(session, sender.url(call[1]), call, None), now)


class Recording(BaseAdapter):
    """Answers 200 and keeps the options each request was sent with."""

    def __init__(self) -> None:
        super().__init__()
        self.options: list[dict[str, Any]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.options.append(kwargs)
        response = requests.Response()
        response.status_code = 200
        response._content = b"{}"
        response.request = request
        return response

    def close(self) -> None:
        pass


def test_the_adapter_gets_the_environment_proxies_ca_bundle_and_time_out_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    monkeypatch.setenv("NO_PROXY", "other.test")
    session = new_session()
    adapter = Recording()
    session.mount("https://", adapter)
    sender = ApiTransport(
        api=Side.SEVERA, base_url="https://api.test/v1", session=session, auth=Bearer(),
        timeout=7.5, connection_id="t-prepared",
    )  # fmt: skip
    sender.request("GET", "/customers")
    session.request(
        "GET", "https://api.test/v1/customers", headers={"Accept": "application/json"},
        auth=Bearer(), timeout=7.5,
    )  # fmt: skip
    now, before = adapter.options
    assert now == before
    assert now["verify"] == str(bundle)
    assert now["proxies"]["https"] == "http://proxy.test:3128"
    assert now["timeout"] == 7.5


@pytest.fixture
def server() -> Iterator[HostileServer]:
    hostile = HostileServer().start()
    yield hostile
    hostile.stop()


def test_a_cookie_the_api_sets_is_sent_back_as_before(server: HostileServer) -> None:
    """No flow of ours needs cookies, but a load balancer's affinity cookie is still
    kept and sent back, as ``Session.request`` did."""

    def script(seen: Seen) -> Answer:
        if seen.path == "/first":
            return json_answer(200, "{}", **{"Set-Cookie": "affinity=node-2; Path=/"})
        return json_answer(200, "{}")

    server.play(script)
    sender = ApiTransport(
        api=Side.EEKONOMI, base_url=server.url, session=new_session(), auth=Bearer(),
        timeout=2.0, connection_id="t-prepared",
    )  # fmt: skip
    sender.request("GET", "/first")
    sender.request("GET", "/second")
    first, second = server.seen
    assert "Cookie" not in first.headers
    assert second.headers["Cookie"] == "affinity=node-2"
    assert second.headers["Authorization"] == "Bearer token"


def test_a_proxy_from_the_environment_carries_the_requests(
    server: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", server.url)
    sender = ApiTransport(
        api=Side.EEKONOMI, base_url="http://api.invalid/v2", session=new_session(),
        auth=Bearer(), timeout=2.0, connection_id="t-prepared",
    )  # fmt: skip
    assert sender.get_json("/customers") == {}
    (seen,) = server.seen
    assert seen.target == "http://api.invalid/v2/customers"
    assert seen.headers["Authorization"] == "Bearer token"
