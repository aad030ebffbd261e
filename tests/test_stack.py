"""The stack is real: a Celery worker process runs tasks through a real Redis."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from tests.conftest import WorkerProcess
from worker.keys import key

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.integration


def test_given_worker_process_when_ping_is_sent_then_the_worker_answers(
    celery_app: object, worker_process: WorkerProcess, connection_id: str
) -> None:
    from tasks.system import ping

    result = ping.apply_async(args=[connection_id], queue=worker_process.queue)
    answer = result.get(timeout=30)
    assert answer["pong"] is True
    assert answer["connection_id"] == connection_id
    assert answer["pid"] != os.getpid()  # it ran in the worker process, not here


def test_given_worker_when_heartbeat_runs_then_state_is_written_under_the_connection(
    celery_app: object,
    worker_process: WorkerProcess,
    connection_id: str,
    redis_client: redis.Redis,
) -> None:
    from tasks.system import heartbeat

    heartbeat.apply_async(args=[connection_id], queue=worker_process.queue).get(timeout=30)
    assert redis_client.get(key(connection_id, "heartbeat")) is not None


def test_doctor_reports_redis_and_the_running_worker(
    worker_process: WorkerProcess, service_env: dict[str, str]
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "worker", "doctor", "--timeout", "2"],
        cwd=ROOT, env=service_env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    lines = result.stdout.splitlines()
    assert any(line.startswith("[ OK ] redis") for line in lines), result.stdout
    assert any(
        line.startswith("[ OK ] workers") and worker_process.hostname in line for line in lines
    ), result.stdout


def test_doctor_names_the_fix_when_redis_is_down(tmp_path: Path) -> None:
    env = {
        "PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), "ENV_FILE": str(tmp_path / "x"),
        "REDIS_URL": "redis://127.0.0.1:1/0", "DATA_DIR": str(tmp_path),
    }  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "worker", "doctor", "--timeout", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    redis_line = next(line for line in result.stdout.splitlines() if " redis " in line)
    assert redis_line.startswith("[FAIL]")
    assert "unset REDIS_URL" in redis_line
