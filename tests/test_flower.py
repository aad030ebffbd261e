"""Flower always wants a login and answers only to its own host names (issue 15, item 1).

A real Flower process (``python -m worker flower``, the Procfile's command) against the
test Redis, probed over HTTP the way a hostile web page's browser would: a cross-site
``text/plain`` POST to the task API, a DNS-rebinding request with a foreign ``Host``.
"""

from __future__ import annotations

import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests

from worker.embedded_redis import free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.integration

ATTACKER = "http://attacker.example"
SEND_TASK = "/api/task/send-task/sync.transfer_customers"


@dataclass
class FlowerProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    data_dir: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def login(self) -> tuple[str, str]:
        user, _, password = (self.data_dir / "flower.login").read_text().strip().partition(":")
        return user, password


def _start_flower(tmp_path: Path, service_env: dict[str, str], **extra: str) -> FlowerProcess:
    port = free_port()
    data_dir = tmp_path / "data"
    env = {**service_env, "DATA_DIR": str(data_dir), "FLOWER_PORT": str(port), **extra}
    log = tmp_path / "flower.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "worker", "flower"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    host = extra.get("FLOWER_ALLOWED_HOSTS", "127.0.0.1").split(",")[0]
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            answer = requests.get(
                f"http://127.0.0.1:{port}/healthcheck", headers={"Host": host}, timeout=2
            )
            if answer.status_code == 200:
                return FlowerProcess(process, port, log, data_dir)
        except requests.RequestException:
            pass
        time.sleep(0.3)
    process.terminate()
    raise AssertionError("Flower did not answer /healthcheck:\n" + log.read_text())


def _stop(flower: FlowerProcess) -> None:
    flower.process.terminate()
    try:
        flower.process.wait(15)
    except subprocess.TimeoutExpired:
        flower.process.kill()
        flower.process.wait(5)


@pytest.fixture
def flower(tmp_path: Path, service_env: dict[str, str]) -> Iterator[FlowerProcess]:
    """Flower as `make run` starts it in demo mode (a generated login), with the very
    switch that used to open its API set in the environment: it must change nothing."""
    started = _start_flower(tmp_path, service_env, FLOWER_UNAUTHENTICATED_API="true")
    yield started
    _stop(started)


def test_cross_site_post_to_the_task_api_is_refused_with_or_without_the_login(
    flower: FlowerProcess, redis_client: redis.Redis
) -> None:
    queue = f"flower-test-{uuid.uuid4().hex[:8]}"
    body = f'{{"args": ["default"], "queue": "{queue}"}}'
    # What a page on attacker.example sends with fetch(..., {mode: "no-cors"}) or a form.
    browser = {"Origin": ATTACKER, "Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site"}
    for headers in (browser, {k: v for k, v in browser.items() if k != "Sec-Fetch-Site"}):
        refused = requests.post(flower.base + SEND_TASK, data=body, headers=headers, timeout=10)
        assert refused.status_code in (401, 403), refused.text
        assert "Access-Control-Allow-Origin" not in refused.headers
        # A browser that holds the login sends it along: Flower's origin check still refuses.
        with_login = requests.post(
            flower.base + SEND_TASK, data=body, headers=headers, auth=flower.login(), timeout=10
        )
        assert with_login.status_code == 403, with_login.text
    assert redis_client.llen(queue) == 0  # nothing was queued

    # The operator's own client (no foreign Origin) with the login can send tasks.
    sent = requests.post(flower.base + SEND_TASK, data=body, auth=flower.login(), timeout=10)
    try:
        assert sent.status_code == 200, sent.text
        assert sent.json()["task-id"]
        assert redis_client.llen(queue) == 1
    finally:
        redis_client.delete(queue)


def test_every_page_and_api_wants_the_login_and_a_known_host(flower: FlowerProcess) -> None:
    for path in ("/", "/tasks", "/api/workers", "/api/tasks", "/metrics"):
        anonymous = requests.get(flower.base + path, timeout=10, allow_redirects=False)
        assert anonymous.status_code == 401, (path, anonymous.status_code)
        assert "Access-Control-Allow-Origin" not in anonymous.headers
        if not path.startswith("/api/"):  # pages ask the browser for the login
            assert anonymous.headers.get("WWW-Authenticate", "").startswith("Basic"), path

    logged_in = requests.get(f"{flower.base}/api/workers", auth=flower.login(), timeout=10)
    assert logged_in.status_code == 200
    metrics = requests.get(f"{flower.base}/metrics", auth=flower.login(), timeout=10)
    assert metrics.status_code == 200
    assert "flower_" in metrics.text
    assert requests.get(f"{flower.base}/healthcheck", timeout=10).text == "OK"

    # DNS rebinding: attacker.example resolved to 127.0.0.1 names itself in Host.
    for path in ("/api/workers", "/healthcheck", "/metrics"):
        rebound = requests.get(
            flower.base + path,
            headers={"Host": f"attacker.example:{flower.port}"},
            auth=flower.login(),
            timeout=10,
        )
        assert rebound.status_code == 403, (path, rebound.status_code)
    by_name = requests.get(
        f"{flower.base}/api/workers",
        headers={"Host": f"localhost:{flower.port}"},
        auth=flower.login(),
        timeout=10,
    )
    assert by_name.status_code == 200

    login_file = flower.data_dir / "flower.login"
    assert stat.S_IMODE(login_file.stat().st_mode) == 0o600
    assert flower.login()[1] not in flower.log.read_text()


def test_given_chosen_login_and_host_names_then_only_those_are_accepted(
    tmp_path: Path, service_env: dict[str, str]
) -> None:
    flower = _start_flower(
        tmp_path,
        service_env,
        FLOWER_BASIC_AUTH="ops:Correct-Horse-9",
        FLOWER_ALLOWED_HOSTS="flower.example.test",
    )
    try:
        named = {"Host": "flower.example.test"}
        url = f"{flower.base}/api/workers"
        assert (
            requests.get(url, headers=named, auth=("ops", "wrong"), timeout=10).status_code == 401
        )
        ok = requests.get(url, headers=named, auth=("ops", "Correct-Horse-9"), timeout=10)
        assert ok.status_code == 200
        loopback = requests.get(url, auth=("ops", "Correct-Horse-9"), timeout=10)
        assert loopback.status_code == 403  # not in FLOWER_ALLOWED_HOSTS
        assert not (flower.data_dir / "flower.login").exists()
        assert "Correct-Horse-9" not in flower.log.read_text()
    finally:
        _stop(flower)
