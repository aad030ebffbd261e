"""The web app over HTTP (issue 18): access rules of every route, CSRF, login limits,
each action's effect, and the cross-tenant proof — the admin of connection A gets 404
(pages, data) or 403 (operator actions) for connection B, by URL and by form.

Real parts: waitress on an ephemeral port, the real Redis, both sandboxes over HTTP and
a real worker process (tests/web/conftest.py).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from markupsafe import escape

from tests.web.conftest import PASSWORD, Web, WebApp

pytestmark = pytest.mark.integration


def _other_connection(app: WebApp) -> str:
    """Connection B: registered, with an error entry and a run of its own."""
    from worker.connections import registry
    from worker.sync.errorlist import ErrorEntry, ErrorList, RecordRef
    from worker.sync.runs import Runs

    other = f"t-b{uuid.uuid4().hex[:10]}"
    registry(app.world.redis).add(other, None)
    ErrorList(app.world.redis, other).record(ErrorEntry(
        "customers", "severa_to_eekonomi", "B-SECRET-1", RecordRef("B-SECRET-1", "Firm B Kund"),
        "a reason only B may read",
    ))  # fmt: skip
    Runs(app.world.redis, other).start("customers", "b-run-1")
    return other


def test_given_no_login_then_every_page_redirects_to_login_and_every_action_is_refused(
    web_app: WebApp,
) -> None:
    web = Web(web_app.url)
    a = web_app.world.connection_id
    for path in ("/", f"/connections/{a}", f"/connections/{a}/errors", f"/connections/{a}/runs",
                 "/users"):  # fmt: skip
        answer = web.get(path, allow_redirects=False)
        assert answer.status_code == 302, path
        assert "/login" in answer.headers["Location"], path
    assert web.get(f"/connections/{a}/progress.json").status_code == 401
    for path in (f"/connections/{a}/transfers/customers", f"/connections/{a}/pause",
                 f"/connections/{a}/errors/retry", "/connections"):  # fmt: skip
        assert web.post(path, {"connection_id": "x"}).status_code == 401, path


def test_given_form_without_csrf_token_then_400_and_nothing_changes(
    web_app: WebApp, make_user: Callable[..., str]
) -> None:
    from worker.connections import registry

    operator = make_user("operator")
    web = Web(web_app.url)
    # Even the login form needs its token (login CSRF).
    assert web.post("/login", {"email": operator, "password": PASSWORD}, csrf=False
                    ).status_code == 400  # fmt: skip
    assert web.login(operator).status_code == 302
    a = web_app.world.connection_id
    assert web.post(f"/connections/{a}/pause", csrf=False).status_code == 400
    assert web.post(f"/connections/{a}/pause", token="forged").status_code == 400
    assert registry(web_app.world.redis).get(a).paused is False
    # Another session's token is no good either.
    other = Web(web_app.url)
    assert web.post(f"/connections/{a}/pause", token=other.token()).status_code == 400
    assert registry(web_app.world.redis).get(a).paused is False


def test_session_cookie_is_signed_httponly_lax_and_secure_beyond_loopback(
    web_app: WebApp, make_user: Callable[..., str]
) -> None:
    from config import get_settings
    from worker.web import create_app

    web = Web(web_app.url)
    answer = web.login(make_user("operator"))
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie
    # A cookie changed by the client is not accepted (the signature fails): logged out.
    value = web.http.cookies.get("sync_session") or ""
    assert web.get("/", allow_redirects=False).status_code == 200
    web.http.cookies.clear()
    web.http.cookies.set(
        "sync_session", value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
    )
    assert web.get("/", allow_redirects=False).status_code == 302
    public = create_app(replace(get_settings(), web_host="0.0.0.0"), web_app.world.redis)  # noqa: S104
    assert public.config["SESSION_COOKIE_SECURE"] is True


def test_given_wrong_passwords_then_the_account_is_locked_for_a_while(
    web_app: WebApp, make_user: Callable[..., str]
) -> None:
    from worker.web.accounts import MAX_FAILURES_PER_ACCOUNT

    operator = make_user("operator")
    other_email = make_user("operator")
    web = Web(web_app.url)
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        assert web.login(operator, "wrong password!").status_code == 401
    locked = web.login(operator)  # the right password no longer helps
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.text
    other = Web(web_app.url)
    assert other.login(other_email).status_code == 302  # others unaffected
    # After login only a path of this app is followed: never an open redirect.
    for target, expected in (("//evil.example/x", "/"), ("/\\evil.example", "/"),
                             ("https://evil.example/", "/"), ("/users", "/users")):  # fmt: skip
        web = Web(web_app.url)
        answer = web.post("/login", {"email": other_email, "password": PASSWORD, "next": target})
        assert answer.headers["Location"] == expected, target


def test_admin_of_a_gets_404_or_403_for_b_by_url_and_by_form(
    web_app: WebApp, make_user: Callable[..., str]
) -> None:
    from worker.connections import registry
    from worker.sync.errorlist import ErrorList

    a = web_app.world.connection_id
    b = _other_connection(web_app)
    web = Web(web_app.url)
    assert web.login(make_user("admin", a)).status_code == 302
    listing = web.get("/")
    assert a in listing.text
    assert b not in listing.text
    assert "Add a connection" not in listing.text
    pages = ("", "/errors", "/runs", "/progress.json", "/errors?search=B-SECRET")
    for path in (f"/connections/{b}{page}" for page in pages):
        answer = web.get(path)
        assert answer.status_code == 404, path
        assert "B-SECRET" not in answer.text
        assert "b-run-1" not in answer.text
    token = web.token("/")
    for path, form in (
        (f"/connections/{b}/transfers/customers", {}),
        (f"/connections/{b}/errors/retry", {"all": "1"}),
        (f"/connections/{b}/errors/dismiss", {"register": "customers",
            "direction": "severa_to_eekonomi", "record_key": "B-SECRET-1"}),
        (f"/connections/{b}/settings", {"sent_means": "delivered"}),
        (f"/connections/{b}/severa", {"severa_client_id": "x", "severa_client_secret": "y"}),
        (f"/connections/{b}/severa/test", {}),
        (f"/connections/{b}/eekonomi", {}),
    ):  # fmt: skip
        assert web.post(path, form, token=token).status_code == 404, path
    for path in (f"/connections/{b}/pause", f"/connections/{b}/remove", f"/connections/{a}/pause",
                 "/connections", "/users"):  # fmt: skip
        assert web.post(path, {"connection_id": "new-one", "email": "x@example.com",
                               "confirm": b}, token=token).status_code == 403, path  # fmt: skip
    for path in (f"/connections/{a}/remove", f"/connections/{b}/remove"):
        assert web.get(path).status_code == 403, path
    # Nothing of B changed.
    assert ErrorList(web_app.world.redis, b).count() == 1
    assert registry(web_app.world.redis).get(b).paused is False
    assert not registry(web_app.world.redis).exists("new-one")
    # The admin's own connection works.
    assert web.get(f"/connections/{a}").status_code == 200
    assert web.get(f"/connections/{a}/progress.json").json()["transfers"]["customers"] is None


def test_operator_adds_pauses_resumes_and_removes_connections_and_users(
    web_app: WebApp, make_user: Callable[..., str]
) -> None:
    from worker.connections import registry
    from worker.web.accounts import Accounts

    web = Web(web_app.url)
    web.login(make_user("operator"))
    new = f"t-n{uuid.uuid4().hex[:10]}"
    token = web.token("/")
    alone = web.post("/connections", {"connection_id": new}, token=token)
    assert alone.status_code == 302
    assert not registry(web_app.world.redis).exists(new)  # no Severa client named
    refused = web.get("/").text
    assert "Not added" in refused
    assert "or tick" in refused
    added = web.post("/connections", {"connection_id": new, "shared_severa": "1"}, token=token)
    assert added.status_code == 302
    assert added.headers["Location"].endswith(f"/connections/{new}")
    reg = registry(web_app.world.redis)
    assert reg.exists(new)
    assert "needs authorization" in web.get(f"/connections/{new}").text
    web.post(f"/connections/{new}/pause", token=token)
    assert reg.get(new).paused is True
    assert "paused" in web.get("/").text
    web.post(f"/connections/{new}/resume", token=token)
    assert reg.get(new).paused is False
    confirm = web.get(f"/connections/{new}/remove")
    assert confirm.status_code == 200
    assert f"Type <strong>{new}</strong> to confirm" in confirm.text
    assert "keys the service keeps" in confirm.text
    unconfirmed = web.post(f"/connections/{new}/remove", token=token)
    assert unconfirmed.headers["Location"].endswith(f"/connections/{new}/remove")
    assert reg.exists(new)  # one click does not delete a firm
    mistyped = web.post(f"/connections/{new}/remove", {"confirm": "default"}, token=token)
    assert mistyped.status_code == 302
    assert reg.exists(new)
    assert f"type {new} to confirm" in web.get(f"/connections/{new}/remove").text
    from worker.sync.locks import RunLock

    RunLock(web_app.world.redis, new, "customers", 60).acquire("run-x")
    web.post(f"/connections/{new}/remove", {"confirm": new}, token=token)
    assert reg.exists(new)  # refused while a transfer runs, with what to do
    busy = web.get(f"/connections/{new}/remove").text
    assert "is transferring" in busy
    assert 'id="busy"' in busy
    RunLock(web_app.world.redis, new, "customers", 60).release_for("run-x")
    removed = web.post(f"/connections/{new}/remove", {"confirm": new}, token=token)
    assert removed.headers["Location"].endswith("/")
    assert not reg.exists(new)
    assert web.get(f"/connections/{new}").status_code == 404
    bad = web.post("/connections", {"connection_id": "Not Valid!"}, token=token)
    assert "Not added" in web.get("/").text
    assert bad.status_code == 302
    # An active connection whose last run of a transfer failed as a whole shows "failing".
    from worker.sync.runs import Runs

    a = web_app.world.connection_id
    assert ">active<" in web.get("/").text.split(f'id="row-{a}"')[1].split("</tr>")[0]
    Runs(web_app.world.redis, a).start("sent", "failed-run")
    Runs(web_app.world.redis, a).finish("failed-run", "failed", "eEkonomi did not answer")
    assert ">failing<" in web.get("/").text.split(f'id="row-{a}"')[1].split("</tr>")[0]
    email = f"adm-{uuid.uuid4().hex[:6]}@example.com"
    web.post("/users", {"email": email, "role": "admin", "connection": "acme",
                        "password": "long enough pw"}, token=token)  # fmt: skip
    user = Accounts(web_app.world.redis).get(email)
    assert user is not None
    assert user.role == "admin"
    assert user.connection_id == "acme"


def _wait(web: Web, path: str, done: Callable[[dict[str, Any]], bool], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        data = web.get(path).json()
        if done(data):
            return data
        assert time.monotonic() < deadline, data
        time.sleep(0.3)


def test_transfer_button_runs_in_the_worker_then_errors_retry_and_dismiss(
    web_app: WebApp, make_user: Callable[..., str]
) -> None:
    from worker.sync.errorlist import ErrorList

    a = web_app.world.connection_id
    web = Web(web_app.url)
    web.login(make_user("admin", a))
    started = web.post(
        f"/connections/{a}/transfers/customers", token=web.token(f"/connections/{a}")
    )
    assert started.status_code == 302
    run_id = started.headers["Location"].split("run=")[1]
    data = _wait(web, f"/connections/{a}/progress.json?run={run_id}",
                 lambda d: bool(d["run"]) and d["run"]["status"] == "finished", 120)  # fmt: skip
    assert data["run"]["settled"] == data["run"]["expected"] > 0
    assert data["run"]["created"] > 0
    page = web.get(f"/connections/{a}").text
    assert f"finished: customers: {data['run']['created']} created" in page
    runs = web.get(f"/connections/{a}/runs").text
    assert run_id in runs or "finished" in runs
    assert "Flower" not in runs  # the admin gets no Flower link
    errors = ErrorList(web_app.world.redis, a)
    entries = [e for e in errors.entries(register="customers") if e.kind == "record"]
    assert entries, "the demo data has customers that cannot transfer"
    listed = web.get(f"/connections/{a}/errors?register=customers").text
    assert all(str(escape(e.reason)) in listed for e in entries)
    searched = web.get(f"/connections/{a}/errors", params={"search": entries[0].record.number})
    assert entries[0].record_key in searched.text
    token = web.token(f"/connections/{a}/errors")
    first = entries[0]
    before = errors.get(first.register, first.direction, first.record_key)
    assert before is not None
    entry = {"register": first.register, "record_key": first.record_key}
    retried = web.post(f"/connections/{a}/errors/retry", entry, token=token)
    assert retried.status_code == 302
    after = errors.get(first.register, first.direction, first.record_key)
    assert after is not None
    assert after.count == before.count + 1
    assert "Retried 1 record(s), 1 failed." in web.get(f"/connections/{a}/errors").text
    # Retry all: the worker's run of the register tries every listed record again.
    counts = {e.record_key: e.count for e in errors.entries(register="customers")
              if e.kind == "record"}  # fmt: skip
    all_of = web.post(f"/connections/{a}/errors/retry", {"all": "1", "register": "customers"},
                      token=token)  # fmt: skip
    assert all_of.status_code == 302
    retry_run = all_of.headers["Location"].split("run=")[1]
    assert f"Retrying {len(counts)} record(s)" in web.get(f"/connections/{a}").text
    _wait(web, f"/connections/{a}/progress.json?run={retry_run}",
          lambda d: bool(d["run"]) and d["run"]["status"] == "finished", 120)  # fmt: skip
    again = {e.record_key: e.count for e in errors.entries(register="customers")
             if e.kind == "record"}  # fmt: skip
    assert again.keys() == counts.keys()
    assert all(again[k] == counts[k] + 1 for k in counts), (counts, again)
    web.post(f"/connections/{a}/errors/dismiss", {**entry, "direction": first.direction},
             token=token)  # fmt: skip
    assert errors.get(first.register, first.direction, first.record_key) is None


def test_settings_form_stores_choices_read_from_the_live_apis(
    web_app: WebApp, make_user: Callable[..., str]
) -> None:
    from config import company

    a = web_app.world.connection_id
    web = Web(web_app.url)
    web.login(make_user("admin", a))
    page = web.get(f"/connections/{a}").text
    assert "Att överföra" in page
    assert "Projekt" in page
    saved = web.post(f"/connections/{a}/settings",
                     {"sent_means": "delivered", "status_paid": "Skickad"},
                     token=web.token(f"/connections/{a}"))  # fmt: skip
    assert saved.status_code == 302
    values = company.load(web_app.world.redis, a)
    assert values["sent_means"] == "delivered"
    statuses = dict(_statuses(web_app))
    assert statuses[values["status_paid"]] == "Skickad"
    web.post(f"/connections/{a}/settings", {"register_interval_minutes": "0"},
             token=web.token(f"/connections/{a}"))  # fmt: skip
    assert "Not saved" in web.get(f"/connections/{a}").text
    assert company.load(web_app.world.redis, a)["register_interval_minutes"] == 15


def _statuses(app: WebApp) -> list[tuple[str, str]]:
    from worker.sync.choices import choices

    return choices(app.world.connection_id)["status_paid"]


def test_connect_eekonomi_through_the_web_callback_with_state_checked(
    web_app: WebApp, make_user: Callable[..., str]
) -> None:
    import requests

    from config import get_settings
    from worker.clients.oauth import demo_consent
    from worker.connections import registry

    new = f"t-c{uuid.uuid4().hex[:10]}"
    registry(web_app.world.redis).add(new, None)
    web = Web(web_app.url)
    web.login(make_user("admin", new))
    assert "Not connected." in web.get(f"/connections/{new}").text
    begun = web.post(f"/connections/{new}/eekonomi", token=web.token(f"/connections/{new}"))
    authorize = begun.headers["Location"]
    callback_uri = f"{web_app.url}/eekonomi/callback"
    assert authorize.startswith(get_settings().eekonomi_identity_url)
    assert "redirect_uri=" + requests.utils.quote(callback_uri, safe="") in authorize
    answer = demo_consent(replace(get_settings(), eekonomi_redirect_uri=callback_uri),
                          authorize, requests.Session())  # fmt: skip
    # The answer in another (logged-in) session is refused: its state is not that session's.
    intruder = Web(web_app.url)
    intruder.login(make_user("operator"))
    stolen = intruder.get("/eekonomi/callback", params={"code": answer.code, "state": answer.state})
    assert stolen.status_code == 400
    done = web.get("/eekonomi/callback", params={"code": answer.code, "state": answer.state})
    assert "Connected to eEkonomi company Demokonsult AB" in done.text
    assert registry(web_app.world.redis).state(new)[0] == "active"
    replay = web.get("/eekonomi/callback", params={"code": answer.code, "state": answer.state})
    assert replay.status_code == 400


def test_severa_credentials_are_saved_sealed_and_the_test_button_logs_in(
    web_app: WebApp, make_user: Callable[..., str]
) -> None:
    from config import get_settings
    from config.settings import DEMO_SEVERA_CLIENT_ID, DEMO_SEVERA_CLIENT_SECRET
    from worker.connections import OWN, registry, registry_key

    new = f"t-s{uuid.uuid4().hex[:10]}"
    reg = registry(web_app.world.redis)
    reg.add(new, None)
    web = Web(web_app.url)
    web.login(make_user("admin", new))
    page = f"/connections/{new}"
    url = get_settings().severa_base_url
    form = {"severa_url": url, "severa_client_id": DEMO_SEVERA_CLIENT_ID,
            "severa_client_secret": "not the secret"}  # fmt: skip
    web.post(f"{page}/severa", form, token=web.token(page))
    assert reg.get(new).credentials == OWN
    stored = web_app.world.redis.hgetall(registry_key(new))
    assert "not the secret" not in str(stored)  # sealed with SECRET_KEY
    web.post(f"{page}/severa/test", token=web.token(page))
    shown = web.get(page).text
    assert "Severa test failed" in shown
    assert "not the secret" not in shown
    form["severa_client_secret"] = DEMO_SEVERA_CLIENT_SECRET
    web.post(f"{page}/severa", form, token=web.token(page))
    assert reg.credentials(new).client_secret == DEMO_SEVERA_CLIENT_SECRET
    web.post(f"{page}/severa/test", token=web.token(page))
    assert "Severa answered:" in web.get(page).text
    form["severa_url"] = "http://severa.example.com/rest-api"  # cleartext beyond loopback
    web.post(f"{page}/severa", form, token=web.token(page))
    assert "use https://" in web.get(page).text
    assert reg.get(new).severa_base_url == url
