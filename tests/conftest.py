"""Shared fixtures: a real Redis, real worker processes, an isolated settings environment.

Redis: the machine's when ``REDIS_URL`` is set in the environment of the test run, else
the embedded one (the same ``worker.embedded_redis`` the service uses), so the suite
passes on a machine with nothing but Python. The suite never flushes a Redis it did not
start; tests use fresh connection ids and queues instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from worker.queues import family

ROOT = Path(__file__).resolve().parent.parent

#: Variables of the service that must not leak from the developer's shell into tests.
_SERVICE_VARS = [
    "REDIS_URL", "DATA_DIR", "ENV_FILE", "FLOWER_BASIC_AUTH", "FLOWER_HOST", "FLOWER_PORT",
    "SEVERA_BASE_URL", "SEVERA_CLIENT_ID", "SEVERA_CLIENT_SECRET", "EEKONOMI_API_URL",
    "EEKONOMI_IDENTITY_URL", "EEKONOMI_CLIENT_ID", "EEKONOMI_CLIENT_SECRET", "CONNECTIONS",
    "EMBEDDED_REDIS_PORT", "HEARTBEAT_INTERVAL", "FLOWER_ALLOWED_HOSTS", "SECRET_KEY",
    "SECRET_KEY_PREVIOUS", "FLOWER_UNAUTHENTICATED_API", "WEB_HOST", "WEB_PORT",
]  # fmt: skip

_EXTERNAL_REDIS = os.environ.get("REDIS_URL")


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis: the machine's (``REDIS_URL`` set) or the embedded one."""
    if _EXTERNAL_REDIS:
        yield _EXTERNAL_REDIS
        return
    from worker.embedded_redis import EmbeddedRedis

    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(data_dir: Path) -> Iterator[None]:
    """Tests see only the settings they set: no .env, no service variables from the shell."""
    saved = {name: os.environ.pop(name) for name in _SERVICE_VARS if name in os.environ}
    os.environ["ENV_FILE"] = str(data_dir / "absent.env")
    os.environ["DATA_DIR"] = str(data_dir)
    yield
    for name in _SERVICE_VARS:
        os.environ.pop(name, None)
    os.environ.update(saved)


@pytest.fixture(scope="session")
def service_env(redis_url: str, data_dir: Path) -> dict[str, str]:
    """Environment for service processes started by tests (and for this process's app)."""
    env = {k: v for k, v in os.environ.items() if k not in _SERVICE_VARS}
    env.update(
        REDIS_URL=redis_url,
        DATA_DIR=str(data_dir),
        ENV_FILE=str(data_dir / "absent.env"),
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="session")
def celery_app(service_env: dict[str, str]) -> Iterator[object]:
    """The product's Celery app in this process, configured for the test Redis."""
    os.environ["REDIS_URL"] = service_env["REDIS_URL"]
    from config import get_settings

    get_settings.cache_clear()
    from worker import app

    yield app
    os.environ.pop("REDIS_URL", None)


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def connection_id() -> str:
    """A fresh connection id, so tests sharing one Redis never see each other's state."""
    return f"t-{uuid.uuid4().hex[:12]}"


class WorkerProcess:
    """A real ``celery worker`` subprocess consuming one private queue family (its run
    queue and the record queue of each register, as in :mod:`worker.queues`)."""

    def __init__(
        self, env: dict[str, str], queue: str, concurrency: int = 1, pool: str = "prefork"
    ) -> None:
        self.queue = queue
        self.hostname = f"test-{uuid.uuid4().hex[:8]}@localhost"
        self.log = Path(env["DATA_DIR"]) / f"{self.hostname}.log"
        argv = [
            sys.executable, "-m", "celery", "-A", "worker", "worker", "--loglevel=INFO",
            f"--concurrency={concurrency}", f"--pool={pool}", f"--hostname={self.hostname}",
            "-Q", ",".join(family(queue)),
            "--without-gossip", "--without-mingle", "--task-events",
        ]  # fmt: skip
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=self._log_file, stderr=subprocess.STDOUT
        )

    def wait_ready(self, app: object, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log.read_text()}")
            replies = app.control.inspect(destination=[self.hostname], timeout=0.5).ping()  # type: ignore[attr-defined]
            if replies:
                return
        raise TimeoutError(f"worker not ready in {timeout}s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log_file.close()


@pytest.fixture
def worker_process(service_env: dict[str, str], celery_app: object) -> Iterator[WorkerProcess]:
    """A running worker on a private queue; send tasks with ``queue=worker_process.queue``."""
    proc = WorkerProcess(service_env, queue=f"q-{uuid.uuid4().hex[:10]}")
    try:
        proc.wait_ready(celery_app)
        yield proc
    finally:
        proc.stop()


# -- contract checking of every sandbox exchange (see tests/contract.py) -----------------


@pytest.fixture(scope="session")
def contract_checker() -> Iterator[object | None]:
    """The session's OpenAPI checker, registered with every sandbox in this process."""
    from sandbox.core import GLOBAL_OBSERVERS
    from tests import contract

    if not contract.available():
        print(
            "\nContract checks OFF: ../shared/apis/*.openapi.yaml not found beside the "
            "checkout, so sandbox exchanges are not validated against Visma's documents."
        )
        yield None
        return
    checker = contract.ContractChecker()
    GLOBAL_OBSERVERS.append(checker)
    yield checker
    GLOBAL_OBSERVERS.remove(checker)
    print(f"\nContract checks: {dict(checker.checked)}")


@pytest.fixture(autouse=True)
def _contract(request: pytest.FixtureRequest, contract_checker: object | None) -> Iterator[None]:
    """Fail the test whose exchanges broke Visma's published contract."""
    from tests.contract import ContractChecker

    if isinstance(contract_checker, ContractChecker):
        contract_checker.take()  # exchanges of background servers between tests
    yield
    if isinstance(contract_checker, ContractChecker) and "no_contract" not in request.keywords:
        violations = contract_checker.take()
        if violations:
            shown = "\n  ".join(violations[:20])
            pytest.fail(
                f"{len(violations)} exchange(s) broke the OpenAPI contract:\n  {shown}",
                pytrace=False,
            )
