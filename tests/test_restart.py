"""Restarts (issue 17, item 4): ``make run`` twice in one checkout, Ctrl-C between, gives
the same working demo — also when its output is piped through ``tee``, where Ctrl-C
used to leave every process running and the run file removed.

The second start finds the previous start's Redis (DATA_DIR) but fresh sandboxes (new
instance ids in ``GET /_sandbox/info``): the demo forgets its connection's state, so
its report has the same counts as the first.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.test_run_command import ROOT, _processes_with_marker
from worker.embedded_redis import free_port

pytestmark = pytest.mark.integration

REPORT = re.compile(
    r"demo \[([\w-]+)\]: (\w+): (\d+) created, (\d+) updated, (\d+) unchanged, (\d+) failed"
    r"(?:, (\d+) skipped)?"
)


def _start(env: dict[str, str], log: Path, piped: bool) -> subprocess.Popen[bytes]:
    serve = f"'{sys.executable}' -m worker serve"
    if piped:  # what `make run | tee run.log` does: Ctrl-C reaches tee too
        return subprocess.Popen(
            ["sh", "-c", f"{serve} 2>&1 | tee '{log}' >/dev/null"], cwd=ROOT, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "worker", "serve"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip


def _demo_reports(log: Path, timeout: float) -> dict[str, tuple[int, ...]]:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if "demo: done" in text or "did not complete" in text:
            break
        time.sleep(1)
    assert "demo: done" in text, text[-5000:]
    return {
        f"{m.group(1)}/{m.group(2)}": tuple(int(g or 0) for g in m.groups()[2:])
        for m in REPORT.finditer(text)
    }


def _ctrl_c(proc: subprocess.Popen[bytes], marker: str, data: Path, log: Path) -> None:
    """What Ctrl-C in the terminal does: SIGINT to the whole foreground group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(30)  # (serve that ignores Ctrl-C fails below, with its processes)
    deadline = time.monotonic() + 30
    while _processes_with_marker(marker) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = _processes_with_marker(marker)
    for pid in left:  # do not leave them to the next test, whatever happened
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert left == [], log.read_text(errors="replace")[-3000:]
    assert proc.poll() is not None
    assert not (data / "run" / "redis.url").exists()


def test_make_run_twice_with_ctrl_c_between_gives_the_same_demo(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    data = tmp_path / "data"
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path), "DATA_DIR": str(data),
        "ENV_FILE": str(tmp_path / "absent.env"), "FLOWER_PORT": str(free_port()),
        "SANDBOX_SEVERA_PORT": str(free_port()), "SANDBOX_EEKONOMI_PORT": str(free_port()),
        "SYNC_RESTART_TEST": marker,
    }  # fmt: skip
    reports = []
    for number, piped in ((1, True), (2, False)):
        log = tmp_path / f"run{number}.log"
        proc = _start(env, log, piped)
        try:
            reports.append(_demo_reports(log, 420))
            assert (data / "run" / "redis.url").exists()  # the run file lives with them
        finally:
            _ctrl_c(proc, f"SYNC_RESTART_TEST={marker}", data, log)
    first, second = reports
    print(f"first start: {first}\nsecond start: {second}")
    assert {name.split("/")[0] for name in first} == {"default", "holding"}  # both demo pairs
    assert second == first
    assert (
        "tokens of connection 'default' from the previous start"
        in (tmp_path / "run2.log").read_text()
    )
