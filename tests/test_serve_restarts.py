"""`python -m worker serve` heals: a worker or beat that exits is started again.

The real stack (embedded Redis, worker, beat, Flower under :mod:`worker.restarts`) is
started as a user starts it; the worker's main process is then killed with SIGKILL — as
the OOM killer would, or as kombu's ``AttributeError`` on a Redis restart ends it — and
must come back while the rest keeps running. Ctrl-C still stops everything.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.test_run_command import _processes_with_marker
from tests.test_supervisor import REAL_APIS
from worker.embedded_redis import free_port
from worker.restarts import CRASH_LIMIT, Restarting

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def _cmdline(pid: int) -> list[str]:
    try:
        raw = (Path("/proc") / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")


def _parent(pid: int) -> int:
    try:
        return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _named(marker: str, *words: str) -> list[int]:
    """Our processes whose command line holds every one of ``words``."""
    return [pid for pid in _processes_with_marker(marker) if all(w in _cmdline(pid) for w in words)]


def _worker_main(marker: str) -> int | None:
    """The Celery worker's main process: ``celery -A worker worker`` started by serve (its
    pool children have the same command line but a worker as parent; a pool child the
    killed worker left behind has a parent outside the stack)."""
    ours = set(_processes_with_marker(marker))
    pids = [pid for pid in _named(marker, "celery") if _cmdline(pid).count("worker") >= 2]
    mains = [pid for pid in pids if _parent(pid) not in pids and _parent(pid) in ours]
    return mains[0] if len(mains) == 1 else None


def _wait_for(what: str, check: object, log: Path, timeout: float = 60.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()  # type: ignore[operator]
        if found:
            return found
        time.sleep(0.3)
    pytest.fail(f"{what} within {timeout:.0f}s:\n{log.read_text(errors='replace')[-6000:]}")


def test_given_a_served_stack_when_the_worker_is_killed_then_serve_starts_it_again(
    tmp_path: Path,
) -> None:
    marker = f"SYNC_RESTART_TEST={uuid.uuid4().hex}"
    api = "http://127.0.0.1:1"  # nothing listens: the transfers beat starts simply fail
    env = {
        **REAL_APIS,
        "SEVERA_BASE_URL": f"{api}/rest-api", "EEKONOMI_API_URL": f"{api}/v2",
        "EEKONOMI_IDENTITY_URL": api,
        "PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATA_DIR": str(tmp_path / "data"),
        "ENV_FILE": str(tmp_path / "absent.env"), "FLOWER_PORT": str(free_port()),
        "WORKER_CONCURRENCY": "1", marker.split("=")[0]: marker.split("=")[1],
    }  # fmt: skip
    log_path = tmp_path / "serve.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "worker", "serve"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        first = _wait_for("no Celery worker started", lambda: _worker_main(marker), log_path)
        _wait_for(
            "the worker never said ready", lambda: b" ready." in log_path.read_bytes(), log_path
        )
        others = _named(marker, "celery", "beat") + _named(marker, "flower")
        assert len(others) >= 2, others

        os.kill(first, signal.SIGKILL)  # type: ignore[arg-type]

        _wait_for(
            "the killed worker was not started again",
            lambda: log_path.read_bytes().count(b" ready.") >= 2,
            log_path,
        )
        second = _wait_for(
            "no worker runs after the restart",
            lambda: (pid := _worker_main(marker)) not in (None, first) and pid,
            log_path,
        )
        assert proc.poll() is None, log_path.read_text(errors="replace")
        text = log_path.read_text(errors="replace")
        # SIGKILL: -9 from the process itself, 137 from the shell honcho runs it in.
        assert re.search(r"worker exited \(rc=(-9|137)\); starting it again", text), text[-3000:]
        assert "sending SIGTERM" not in text, text[-3000:]
        # Beat and Flower were not stopped: the same processes still run.
        assert set(others) <= set(_processes_with_marker(marker)), text[-3000:]
        print(f"worker {first} killed; worker {second} took over; serve still running")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(30)
        finally:
            log.close()
    deadline = time.monotonic() + 15
    while _processes_with_marker(marker) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _processes_with_marker(marker) == [], log_path.read_text(errors="replace")[-3000:]


def test_given_a_worker_that_keeps_exiting_then_the_stack_stops_and_says_why() -> None:
    from honcho.printer import Printer

    now = [0.0]
    out = io.StringIO()
    manager = Restarting(Printer(out), monotonic=lambda: now[0])
    manager._processes = {"worker": {}, "flower": {}}
    for _ in range(CRASH_LIMIT):
        manager._stopped("worker", 1)
        assert "returncode" not in manager._processes["worker"]
        now[0] += 1.0
    manager._stopped("worker", 1)
    assert manager._processes["worker"]["returncode"] == 1
    assert (
        f"worker exited {CRASH_LIMIT + 1} times within 60s: stopping everything" in out.getvalue()
    )
    manager._stopped("flower", 0)  # not one of the restarted processes
    assert manager._processes["flower"]["returncode"] == 0
