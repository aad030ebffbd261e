"""eEkonomi consent and tokens against the sandbox over real HTTP, with a real Redis (issue 4).

The consent (R-2.6, R-3.0) runs through the product's own functions — ``begin_authorization``,
``demo_consent`` (the program answering the sandbox's login and company forms), and
``complete_authorization`` — and through ``connect_eekonomi`` both in demo mode and as the
CLI does it, with ``wait_for_callback`` receiving a browser's redirect on a local port.
Then the token life: rotation on refresh, two processes refreshing one connection at
once (the sandbox's refresh tokens are single-use, so a lost race would kill the
connection), ``invalid_grant`` → *needs re-authorization* without retries, and a
grep of DEBUG logs and exception text for every credential the sandbox handed out.
"""

from __future__ import annotations

import base64
import logging
import multiprocessing
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import pytest
import redis
import requests
from cryptography.fernet import Fernet

from config import Settings, load_settings
from sandbox.core import Request, Response
from sandbox.eekonomi import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_COMPANY_ID,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    HOLDING_COMPANY_ID,
    OLD_COMPANY_ID,
)
from tests.clients.eekonomi_support import (
    Sandbox,
    authorize,
    clients_for,
    sandbox_settings,
    secrets_issued,
    token_store,
)
from worker.clients.factory import new_session
from worker.clients.http import ApiConfigError, ApiRecordError, NeedsReauthorization
from worker.clients.oauth import (
    AuthorizationFailed,
    begin_authorization,
    complete_authorization,
    demo_consent,
)
from worker.connect import connect_eekonomi
from worker.connection_status import NEEDS_REAUTHORIZATION, get_status
from worker.keys import CONNECTIONS_KEY, key

TOKEN = "POST /connect/token"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    started = Sandbox.start()
    yield started
    started.stop()


@pytest.fixture
def settings(sandbox: Sandbox, redis_url: str, tmp_path: Path) -> Settings:
    return sandbox_settings(sandbox.port, redis_url, tmp_path)


@pytest.fixture
def registered(redis_client: redis.Redis, connection_id: str) -> Iterator[str]:
    """The connection id; unregistered afterwards so the shared Redis stays as found."""
    yield connection_id
    redis_client.srem(CONNECTIONS_KEY, connection_id)


# -- the consent ---------------------------------------------------------------------------


def test_given_the_demo_user_when_the_consent_runs_end_to_end_then_tokens_are_stored_encrypted(
    sandbox: Sandbox, settings: Settings, redis_client: redis.Redis, connection_id: str
) -> None:
    company = authorize(settings, redis_client, connection_id)

    assert company.name == "Demokonsult AB"
    assert company.company_identifier == DEMO_COMPANY_ID
    assert company.corporate_identity_number == "556677-8899"
    stored = token_store(settings, redis_client, connection_id).load()
    assert stored is not None
    assert stored.refresh_token
    assert stored.company["CompanyIdentifier"] == DEMO_COMPANY_ID
    raw = str(redis_client.get(key(connection_id, "tokens", "eekonomi")))
    assert stored.access_token not in raw
    assert stored.refresh_token not in raw
    assert "Demokonsult" not in raw  # the whole set is sealed, not just the tokens
    assert "access_token" not in repr(stored)
    assert stored.access_token not in repr(stored)
    assert get_status(redis_client, connection_id).ok
    counts = sandbox.counts()
    assert counts[TOKEN] == 1
    assert counts["GET /v2/companysettings"] == 1


@pytest.mark.parametrize(
    ("wanted", "company_id", "customers"),
    [
        ("Demokonsult AB", DEMO_COMPANY_ID, 10),
        ("Demokonsult Holding AB", HOLDING_COMPANY_ID, 0),
        ("demokonsult holding", HOLDING_COMPANY_ID, 0),
    ],
)
def test_given_a_company_name_when_consenting_then_that_company_is_picked_and_served(
    settings: Settings,
    redis_client: redis.Redis,
    connection_id: str,
    wanted: str,
    company_id: str,
    customers: int,
) -> None:
    company = authorize(settings, redis_client, connection_id, company=wanted)

    assert company.company_identifier == company_id
    client = clients_for(settings, redis_client, connection_id).eekonomi
    assert len(list(client.list_customers())) == customers


def test_given_an_unknown_company_name_when_consenting_then_it_fails_naming_the_offered_ones(
    settings: Settings, redis_client: redis.Redis, connection_id: str
) -> None:
    url, _ = begin_authorization(redis_client, settings, connection_id)
    with pytest.raises(AuthorizationFailed) as raised:
        demo_consent(settings, url, new_session(), company="Okänt Bolag AB")
    assert "Okänt Bolag AB" in str(raised.value)
    assert "Demokonsult Holding AB" in str(raised.value)


def test_given_the_company_picker_when_answered_then_the_allow_button_is_submitted(
    sandbox: Sandbox, settings: Settings, redis_client: redis.Redis, connection_id: str
) -> None:
    forms: list[dict[str, list[str]]] = []

    def watch(request: Request, response: Response) -> None:
        if request.path == "/connect/company":
            forms.append(parse_qs(request.body.decode()))

    sandbox.app.observers.append(watch)
    authorize(settings, redis_client, connection_id, company="Demokonsult Holding AB")

    assert len(forms) == 1
    assert forms[0]["decision"] == ["allow"]  # one button pressed, as a browser sends it
    assert forms[0]["company"] == [HOLDING_COMPANY_ID]


def test_given_the_company_without_the_api_module_when_consenting_then_a_config_error_says_what_to_do(  # noqa: E501
    sandbox: Sandbox, settings: Settings, redis_client: redis.Redis, connection_id: str
) -> None:
    with pytest.raises(ApiConfigError) as raised:
        authorize(settings, redis_client, connection_id, company="Gamla Bolaget AB")

    error = raised.value
    assert error.vendor.code == 4002
    assert error.status == 403
    assert "api_standard" in str(error)
    assert "Apps and extensions" in str(error)
    assert "run `connect` again and pick a company" in str(error)
    assert token_store(settings, redis_client, connection_id).load() is None
    assert sandbox.app.companies[OLD_COMPANY_ID].name == "Gamla Bolaget AB"


def test_given_a_state_of_another_connection_when_completing_then_it_is_refused_before_any_exchange(
    sandbox: Sandbox, settings: Settings, redis_client: redis.Redis, connection_id: str
) -> None:
    session = new_session()
    url, state = begin_authorization(redis_client, settings, connection_id)
    callback = demo_consent(settings, url, session)
    assert callback.code
    other = f"{connection_id}-other"

    with pytest.raises(AuthorizationFailed):
        complete_authorization(
            redis_client, settings, other, code=callback.code, state=state,
            store=token_store(settings, redis_client, other), session=session,
        )  # fmt: skip
    with pytest.raises(AuthorizationFailed):
        complete_authorization(
            redis_client, settings, connection_id, code=callback.code, state="forged",
            store=token_store(settings, redis_client, connection_id), session=session,
        )  # fmt: skip

    assert sandbox.counts()[TOKEN] == 0
    assert token_store(settings, redis_client, other).load() is None
    # The rightful owner can still finish with its own state.
    company = complete_authorization(
        redis_client, settings, connection_id, code=callback.code, state=state,
        store=token_store(settings, redis_client, connection_id), session=session,
    )  # fmt: skip
    assert company.name == "Demokonsult AB"


def test_given_a_completed_consent_when_its_state_is_replayed_then_it_is_refused(
    sandbox: Sandbox, settings: Settings, redis_client: redis.Redis, connection_id: str
) -> None:
    session = new_session()
    url, state = begin_authorization(redis_client, settings, connection_id)
    callback = demo_consent(settings, url, session)
    assert callback.code
    store = token_store(settings, redis_client, connection_id)
    complete_authorization(
        redis_client, settings, connection_id, code=callback.code, state=state,
        store=store, session=session,
    )  # fmt: skip
    first = store.load()

    with pytest.raises(AuthorizationFailed, match="start `connect` again"):
        complete_authorization(
            redis_client, settings, connection_id, code=callback.code, state=state,
            store=store, session=session,
        )  # fmt: skip

    assert sandbox.counts()[TOKEN] == 1
    assert store.load() == first


def test_given_a_used_code_when_exchanged_again_then_the_consent_fails_asking_to_start_again(
    sandbox: Sandbox, settings: Settings, redis_client: redis.Redis, connection_id: str
) -> None:
    session = new_session()
    url, state = begin_authorization(redis_client, settings, connection_id)
    _, second_state = begin_authorization(redis_client, settings, connection_id)
    callback = demo_consent(settings, url, session)
    assert callback.code
    store = token_store(settings, redis_client, connection_id)
    complete_authorization(
        redis_client, settings, connection_id, code=callback.code, state=state,
        store=store, session=session,
    )  # fmt: skip

    with pytest.raises(AuthorizationFailed, match="refused the authorization code") as raised:
        complete_authorization(
            redis_client, settings, connection_id, code=callback.code, state=second_state,
            store=store, session=session,
        )  # fmt: skip

    assert "start `connect` again" in str(raised.value)
    assert sandbox.counts()[TOKEN] == 2


def test_given_no_sandbox_listening_when_the_demo_consent_runs_then_it_says_to_start_the_sandbox(
    redis_url: str, redis_client: redis.Redis, connection_id: str, tmp_path: Path
) -> None:
    settings = sandbox_settings(_free_port(), redis_url, tmp_path)
    url, _ = begin_authorization(redis_client, settings, connection_id)

    with pytest.raises(AuthorizationFailed, match="python -m sandbox"):
        demo_consent(settings, url, new_session())


def test_given_demo_mode_when_connect_runs_then_it_answers_the_sandbox_and_registers_the_connection(
    sandbox: Sandbox, settings: Settings, redis_client: redis.Redis, registered: str
) -> None:
    said: list[str] = []

    company = connect_eekonomi(settings, registered, echo=said.append, client=redis_client)

    assert company.name == "Demokonsult AB"
    assert "Demo mode" in said[0]
    assert redis_client.sismember(CONNECTIONS_KEY, registered)
    client = clients_for(settings, redis_client, registered).eekonomi
    assert client.get_company_settings()["CompanyIdentifier"] == DEMO_COMPANY_ID


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _real_settings(sandbox: Sandbox, redis_url: str, data_dir: Path, redirect: str) -> Settings:
    """Settings as with real credentials (not demo mode): the CLI's browser path."""
    environ = {
        "REDIS_URL": redis_url,
        "DATA_DIR": str(data_dir),
        "SEVERA_BASE_URL": "http://127.0.0.1:9/rest-api",
        "SEVERA_CLIENT_ID": "unused",
        "SEVERA_CLIENT_SECRET": "unused",
        "EEKONOMI_API_URL": f"{sandbox.url}/v2",
        "EEKONOMI_IDENTITY_URL": sandbox.url,
        "EEKONOMI_CLIENT_ID": DEMO_CLIENT_ID,
        "EEKONOMI_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "EEKONOMI_REDIRECT_URI": redirect,
        "SECRET_KEY": Fernet.generate_key().decode(),
    }
    return load_settings(environ=environ, env_file=data_dir / "absent.env")


def _browse(url: str, company_id: str, forge_state: bool, results: list[Any]) -> None:
    """A person in a browser: log in, pick the company, allow, follow the redirect."""
    try:
        browser = requests.Session()
        page = browser.get(url, timeout=10)
        match = re.search(r'name="tx" value="([^"]+)"', page.text)
        assert match, page.text
        tx = match.group(1)
        login = {"tx": tx, "email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        browser.post(urljoin(url, "/connect/login"), data=login, timeout=10)
        picked = browser.post(
            urljoin(url, "/connect/company"),
            data={"tx": tx, "company": company_id, "decision": "allow"},
            allow_redirects=False,
            timeout=10,
        )
        target = urlsplit(picked.headers["Location"])
        if forge_state:
            query = {k: v[0] for k, v in parse_qs(target.query).items()} | {"state": "forged"}
            target = target._replace(query=urlencode(query))
        deadline = time.monotonic() + 10
        while True:  # the terminal may start listening a moment after printing the URL
            try:
                answer = browser.get(urlunsplit(target), timeout=10)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        results.append(answer)
    except Exception as exc:  # noqa: BLE001 - reported to the test thread
        results.append(exc)


@pytest.mark.parametrize("forge_state", [False, True])
def test_given_real_credentials_when_connect_waits_then_a_browser_redirect_to_a_local_port_ends_it(
    sandbox: Sandbox,
    redis_url: str,
    redis_client: redis.Redis,
    registered: str,
    tmp_path: Path,
    forge_state: bool,
) -> None:
    redirect = f"http://127.0.0.1:{_free_port()}/callback"
    settings = _real_settings(sandbox, redis_url, tmp_path, redirect)
    assert not settings.demo
    results: list[Any] = []
    browsers: list[threading.Thread] = []

    def echo(line: str) -> None:
        if line.strip().startswith("http"):
            browser = threading.Thread(
                target=_browse, args=(line.strip(), HOLDING_COMPANY_ID, forge_state, results)
            )
            browser.start()
            browsers.append(browser)

    def run() -> Any:
        return connect_eekonomi(settings, registered, timeout=20, echo=echo, client=redis_client)

    if forge_state:
        with pytest.raises(AuthorizationFailed, match="state does not match"):
            run()
    else:
        assert run().company_identifier == HOLDING_COMPANY_ID
    for browser in browsers:
        browser.join(20)

    assert len(results) == 1, results
    assert isinstance(results[0], requests.Response), results
    assert results[0].status_code == 200
    assert "eEkonomi connected" in results[0].text
    stored = token_store(settings, redis_client, registered).load()
    assert (stored is None) is forge_state
    assert sandbox.counts()[TOKEN] == (0 if forge_state else 1)


# -- refresh ------------------------------------------------------------------------------


def test_given_an_expired_access_token_when_calling_then_one_refresh_rotates_the_stored_pair(
    sandbox: Sandbox, settings: Settings, redis_client: redis.Redis, connection_id: str
) -> None:
    authorize(settings, redis_client, connection_id)
    store = token_store(settings, redis_client, connection_id)
    before = store.load()
    assert before is not None
    assert before.refresh_token
    client = clients_for(settings, redis_client, connection_id).eekonomi
    client.get_company_settings()
    sandbox.clear_log()
    sandbox.expire_tokens()

    assert client.get_company_settings()["Name"] == "Demokonsult AB"

    after = store.load()
    assert after is not None
    assert after.refresh_token
    assert after.access_token != before.access_token
    assert after.refresh_token != before.refresh_token
    assert after.company == before.company  # the company binding survives the refresh
    assert sandbox.app.refresh_tokens[before.refresh_token].revoked_at is not None
    assert sandbox.counts() == {TOKEN: 1, "GET /v2/companysettings": 2}  # 401, then 200


def _call_at_once(
    port: int,
    redis_url: str,
    data_dir: str,
    connection_id: str,
    barrier: Any,
    out: Any,
) -> None:
    """One worker process: its own settings, session, auth and client; same Redis."""
    settings = sandbox_settings(port, redis_url, Path(data_dir))
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    eekonomi = clients_for(settings, client, connection_id).eekonomi
    barrier.wait(30)
    try:
        out.put(("ok", eekonomi.get_company_settings()["Name"]))
    except Exception as exc:  # noqa: BLE001 - reported to the test process
        out.put(("error", f"{type(exc).__name__}: {exc}"))


def test_given_two_processes_when_both_refresh_one_connection_at_once_then_one_refresh_serves_both(
    sandbox: Sandbox,
    settings: Settings,
    redis_url: str,
    redis_client: redis.Redis,
    connection_id: str,
    tmp_path: Path,
) -> None:
    authorize(settings, redis_client, connection_id)
    sandbox.expire_tokens()
    sandbox.clear_log()
    # A slow token endpoint keeps the first refresh in flight while the other process
    # wants one too: without the lock both would present the single-use refresh token.
    sandbox.fault(path="/connect/token", action="delay", delay=0.5, times=2)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    out = context.Queue()
    workers = [
        context.Process(
            target=_call_at_once,
            args=(sandbox.port, redis_url, str(tmp_path), connection_id, barrier, out),
        )
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    answers = [out.get(timeout=60), out.get(timeout=60)]
    for worker in workers:
        worker.join(10)

    assert answers == [("ok", "Demokonsult AB")] * 2
    assert sandbox.counts()[TOKEN] == 1
    assert sandbox.counts()["GET /v2/companysettings"] == 4  # each: 401, then 200
    # The connection still works afterwards, for a third process, without refreshing.
    assert clients_for(settings, redis_client, connection_id).eekonomi.get_company_settings()
    assert sandbox.counts()[TOKEN] == 1
    assert get_status(redis_client, connection_id).ok


def test_given_revoked_refresh_tokens_when_refreshing_then_it_needs_reauthorization_without_retry(
    sandbox: Sandbox, settings: Settings, redis_client: redis.Redis, connection_id: str
) -> None:
    authorize(settings, redis_client, connection_id)
    client = clients_for(settings, redis_client, connection_id).eekonomi
    sandbox.clear_log()
    sandbox.revoke_refresh_tokens()  # a password change: access tokens die too

    with pytest.raises(NeedsReauthorization) as raised:
        client.get_company_settings()

    message = str(raised.value)
    assert "run `python -m worker connect`" in message
    status = get_status(redis_client, connection_id)
    assert status.state == NEEDS_REAUTHORIZATION
    assert status.reason == message
    assert sandbox.counts()[TOKEN] == 1
    # No retry: neither this client nor another process asks the identity server again.
    with pytest.raises(NeedsReauthorization, match=re.escape(message)):
        client.list_customers().__next__()
    with pytest.raises(NeedsReauthorization, match=re.escape(message)):
        clients_for(settings, redis_client, connection_id).eekonomi.get_company_settings()
    assert sandbox.counts()[TOKEN] == 1
    # Authorizing again clears the state and the connection works.
    authorize(settings, redis_client, connection_id)
    assert get_status(redis_client, connection_id).ok
    assert clients_for(settings, redis_client, connection_id).eekonomi.get_company_settings()


# -- secrets ------------------------------------------------------------------------------


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def test_given_debug_logging_when_a_full_client_scenario_runs_then_no_credential_is_logged(
    sandbox: Sandbox,
    settings: Settings,
    redis_client: redis.Redis,
    connection_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    failures: list[BaseException] = []

    authorize(settings, redis_client, connection_id)
    client = clients_for(settings, redis_client, connection_id).eekonomi
    assert len(list(client.list_customers())) == 10
    sandbox.expire_tokens()
    assert client.get_company_settings()  # refresh
    try:
        client.create_customer({"CustomerNumber": "1001", "IsPrivatePerson": False})
    except ApiRecordError as exc:
        failures.append(exc)
    url, _ = begin_authorization(redis_client, settings, connection_id)
    callback = demo_consent(settings, url, new_session())
    failures.append(AssertionError(repr(callback)))
    sandbox.revoke_refresh_tokens()
    try:
        client.get_company_settings()
    except NeedsReauthorization as exc:
        failures.append(exc)
    with pytest.raises(AuthorizationFailed) as raised:
        complete_authorization(
            redis_client, settings, connection_id, code=str(callback.code), state="replayed",
            store=token_store(settings, redis_client, connection_id), session=new_session(),
        )  # fmt: skip
    failures.append(raised.value)

    secrets = secrets_issued(sandbox.app)
    basic = base64.b64encode(f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}".encode()).decode()
    secrets.add(basic)
    assert len(secrets) >= 8  # codes, access and refresh tokens of three grants
    assert any("connectionpool" in r.name for r in caplog.records)  # urllib3 was heard
    texts = [caplog.text, *(f"{e!s} {e!r}" for f in failures for e in _chain(f))]
    leaked = sorted({s[:6] + "…" for s in secrets for text in texts if s in text})
    assert not leaked, f"credentials found in logs or errors: {leaked}"
    assert len(failures) == 4
