"""Two beat processes never double-schedule, and one takes over when the other dies
(issue 16): real ``celery beat`` and ``celery worker`` processes on a Redis database of
their own (so their default queues hold nothing of other tests)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import ROOT
from worker.queues import family
from worker.schedule import TICKS_KEY

pytestmark = pytest.mark.integration

#: A database of the test Redis that only this test uses; its keys are removed after.
DB = 11
INTERVAL = 2  # HEARTBEAT_INTERVAL: beat's heartbeat tick every two seconds


@pytest.fixture
def env(service_env: dict[str, str], redis_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    base = redis_url.rsplit("/", 1)[0] if redis_url.count("/") > 2 else redis_url
    url = f"{base}/{DB}"
    client = redis.Redis.from_url(url)
    names = [*family(), TICKS_KEY, "sync:beat:tick:heartbeat", "sync:beat:tick:registers",
             "sync:beat:tick:stalled runs"]  # fmt: skip
    client.delete(*names)
    yield {**service_env, "REDIS_URL": url, "HEARTBEAT_INTERVAL": str(INTERVAL),
           "DATA_DIR": str(tmp_path)}  # fmt: skip
    client.delete(*names)
    for name in client.scan_iter(match="sync:conn:default:*"):
        client.delete(name)
    client.close()


def _start(env: dict[str, str], *argv: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        argv = (sys.executable, "-m", "celery", "-A", "worker", *argv)
        return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)


def _ticks(client: redis.Redis) -> tuple[int, int]:
    counts = {k.decode(): int(v) for k, v in client.hgetall(TICKS_KEY).items()}
    return counts.get("heartbeat", 0), counts.get("heartbeat:dropped", 0)


def test_given_two_beats_when_they_tick_then_each_interval_runs_once_and_one_takes_over(
    env: dict[str, str], tmp_path: Path
) -> None:
    client = redis.Redis.from_url(env["REDIS_URL"])
    processes = [_start(env, "worker", "--concurrency=2", "--without-gossip", "--without-mingle",
                        log=tmp_path / "worker.log")]  # fmt: skip
    try:
        beats = [
            _start(env, "beat", f"--schedule={tmp_path / name}", log=tmp_path / f"{name}.log")
            for name in ("beat-a", "beat-b")
        ]
        processes += beats
        deadline = time.monotonic() + 40
        while _ticks(client)[0] == 0:  # the worker is up and runs ticks
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.2)
        ran0, dropped0 = _ticks(client)
        time.sleep(12)
        ran, dropped = _ticks(client)
        # Two beats send a tick each every 2 s: about 12 in 12 s, of which the lock
        # (1.8 s per tick) lets one per interval run.
        assert dropped - dropped0 >= 3, (ran, dropped)
        assert ran - ran0 <= 12 / (0.9 * INTERVAL) + 1, (ran, dropped)
        beats[0].terminate()
        beats[0].wait(10)
        time.sleep(8)
        ran_later, dropped_later = _ticks(client)
        assert ran_later - ran >= 3  # the other beat's ticks run now
        heartbeat = client.get("sync:conn:default:heartbeat")
        assert heartbeat is not None
        assert time.time() - float(heartbeat) < 3 * INTERVAL
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(20)
