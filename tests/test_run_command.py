"""`python -m worker serve` with no configuration brings the whole stack up, and Ctrl-C
stops every process (the foundation's "done when")."""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from worker.embedded_redis import free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.integration


def _processes_with_marker(marker: str) -> list[int]:
    """PIDs of live processes whose environment carries ``marker`` (all our children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().split()[2]
        except OSError:
            continue
        if marker.encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


def _log_in_to_web(port: int, email: str, password: str) -> None:
    """Log in to the web app of ``run`` (waiting for it to listen) and see the list."""
    web = requests.Session()
    deadline = time.monotonic() + 30
    while True:
        try:
            page = web.get(f"http://127.0.0.1:{port}/login", timeout=5)
            break
        except requests.RequestException:
            assert time.monotonic() < deadline, "the web app did not listen within 30 s"
            time.sleep(0.5)
    assert page.headers["Server"] == "sync-web"  # waitress (its ident), not a dev server
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    answer = web.post(
        f"http://127.0.0.1:{port}/login",
        data={"csrf_token": token, "email": email, "password": password, "next": ""},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert "Connections" in answer.text
    assert email in answer.text


def test_given_fresh_setup_when_run_then_stack_is_up_and_ctrl_c_stops_everything(
    tmp_path: Path,
) -> None:
    marker = f"SYNC_RUN_TEST={uuid.uuid4().hex}"
    flower_port = free_port()
    web_port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DATA_DIR": str(tmp_path / "data"),
        "ENV_FILE": str(tmp_path / "absent.env"),
        "FLOWER_PORT": str(flower_port),
        "WEB_PORT": str(web_port),
        "SANDBOX_SEVERA_PORT": str(free_port()),
        "SANDBOX_EEKONOMI_PORT": str(free_port()),
        marker.split("=")[0]: marker.split("=")[1],
    }
    log = (tmp_path / "run.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "worker", "serve"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        workers: dict[str, object] = {}
        deadline = started + 60
        login_file = tmp_path / "data" / "flower.login"
        while time.monotonic() < deadline and not workers:
            assert proc.poll() is None, (tmp_path / "run.log").read_text()
            try:
                user, _, password = login_file.read_text().strip().partition(":")
                answer = requests.get(
                    f"http://127.0.0.1:{flower_port}/api/workers?refresh=1",
                    auth=(user, password),
                    timeout=5,
                )
                if answer.status_code == 200:
                    workers = answer.json()
            except (requests.RequestException, FileNotFoundError):
                pass
            if not workers:
                time.sleep(1)
        up_after = time.monotonic() - started
        assert workers, (
            "Flower did not list a worker within 60 s:\n" + (tmp_path / "run.log").read_text()
        )
        print(f"stack up and listed by Flower after {up_after:.1f}s")
        metrics = requests.get(
            f"http://127.0.0.1:{flower_port}/metrics", auth=(user, password), timeout=5
        )
        assert metrics.status_code == 200
        assert "flower_worker_online" in metrics.text
        # Issue 15: the run files and the generated secrets are the user's only, the
        # banner shows the Redis URL masked and (demo mode) the Flower login.
        data = tmp_path / "data"
        for private in (
            data / "run" / "redis.url", data / "redis.password", data / "flower.login",
            data / "secret.key", data / "redis" / "auth.conf",
        ):  # fmt: skip
            assert private.is_file(), private
        # ... and so is everything else the processes wrote (beat's schedule, Redis's data).
        modes = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in data.rglob("*")}
        assert {m for p, m in modes.items() if Path(p).is_file()} == {"0o600"}, modes
        assert {m for p, m in modes.items() if Path(p).is_dir()} == {"0o700"}, modes
        redis_password = (data / "redis.password").read_text().strip()
        banner = (tmp_path / "run.log").read_text(errors="replace")
        assert redis_password not in banner
        assert "redis://:***@127.0.0.1:" in banner
        assert f"login {user} / {password}" in banner
        # Issue 18: the web app answers, and its demo login (printed) logs in.
        web_user, _, web_password = (data / "web.login").read_text().strip().partition(":")
        assert f"http://127.0.0.1:{web_port}  login {web_user} / {web_password}" in banner
        _log_in_to_web(web_port, web_user, web_password)
        for pid in _processes_with_marker(marker):  # `ps` shows no password
            with contextlib.suppress(OSError):
                cmdline = (Path("/proc") / str(pid) / "cmdline").read_bytes().decode()
                assert redis_password not in cmdline, cmdline
                assert password not in cmdline, cmdline
        assert (tmp_path / "data" / "redis" / "appendonly.aof").exists()
        assert len(_processes_with_marker(marker)) >= 5
        # Demo mode: the run command completed the eEkonomi consent against the sandbox
        # through the real OAuth code path (issue 4).
        log_text = ""
        while time.monotonic() < started + 90 and "demo [default]: connected" not in log_text:
            time.sleep(0.5)
            log_text = (tmp_path / "run.log").read_text(errors="replace")
        assert (
            "demo [default]: connected 'default' to eEkonomi company 'Demokonsult AB'" in log_text
        ), log_text
    finally:
        # What Ctrl-C in the terminal does. The group may be gone already when the stack
        # stopped by itself; the assertions above then say why (the log is attached).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        finally:
            log.close()
    deadline = time.monotonic() + 15
    while _processes_with_marker(marker) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _processes_with_marker(marker) == [], (tmp_path / "run.log").read_text()
    assert not (tmp_path / "data" / "run" / "redis.url").exists()
