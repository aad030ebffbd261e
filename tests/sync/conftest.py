"""A whole world for transfer tests: both sandboxes over HTTP, a connected connection
with the demo settings, and real worker processes — all against the real Redis.

The two sandbox servers live for the session on fixed ports (so the settings of this
process and of the workers stay valid); each test swaps fresh sandbox apps, seeded
with the demo data, into them. Every exchange is contract-checked (tests/conftest.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis

from sandbox.core import SandboxApp, SandboxServer
from sandbox.eekonomi import EEkonomiSandbox
from sandbox.severa import SeveraSandbox
from sandbox.severa import demo_data as severa_demo
from tests.conftest import WorkerProcess
from worker.demo import DEMO_SETTINGS as DEMO_CHOICES

#: The demo's settings (as `make run` applies them).
DEMO_SETTINGS = dict(DEMO_CHOICES)

#: Redeliver a killed worker's task after this many seconds (production: 900).
VISIBILITY = 10


@dataclass
class World:
    severa: SeveraSandbox
    eekonomi: EEkonomiSandbox
    connection_id: str
    env: dict[str, str]
    redis: redis.Redis
    severa_url: str
    eekonomi_url: str
    workers: list[WorkerProcess] = field(default_factory=list)

    def writes(self) -> list[str]:
        """Data writes both sandboxes answered (token requests are not data)."""
        found = []
        for app in (self.severa, self.eekonomi):
            for entry in app.log:
                if entry.method != "GET" and not _is_auth(entry.path):
                    found.append(f"{app.name} {entry.method} {entry.path} {entry.status}")
        return found

    def clear_logs(self) -> None:
        self.severa.log.clear()
        self.eekonomi.log.clear()


class _Swappable:
    """A server whose app a test replaces (``SandboxServer`` serves ``server.app``)."""

    def __init__(self, app: SandboxApp) -> None:
        self.server = SandboxServer(app).start()

    def swap(self, app: SandboxApp) -> None:
        self.server.app = app
        self.server._server.app = app  # noqa: SLF001 - the HTTP handler reads it there


@pytest.fixture(scope="session")
def sandbox_servers() -> Iterator[tuple[_Swappable, _Swappable]]:
    severa, eekonomi = _Swappable(SeveraSandbox()), _Swappable(EEkonomiSandbox())
    yield severa, eekonomi
    severa.server.stop()
    eekonomi.server.stop()


@pytest.fixture
def world(
    sandbox_servers: tuple[_Swappable, _Swappable],
    service_env: dict[str, str],
    celery_app: object,
) -> Iterator[World]:
    """Fresh demo sandboxes, a new connection authorized through the real consent flow,
    and the demo settings applied — as `make run` does."""
    severa = SeveraSandbox()
    severa.seed_store(severa_demo(), replace=True)
    eekonomi = EEkonomiSandbox(demo=True)
    for app in (severa, eekonomi):
        app.rate_scale = 50.0  # tests that are not about rate limits should not wait
    sandbox_servers[0].swap(severa)
    sandbox_servers[1].swap(eekonomi)
    ports = {
        "SANDBOX_SEVERA_PORT": str(sandbox_servers[0].server.port),
        "SANDBOX_EEKONOMI_PORT": str(sandbox_servers[1].server.port),
        "BROKER_VISIBILITY_TIMEOUT": str(VISIBILITY),
        "TASK_RETRY_BACKOFF_MAX": "2",
        "TASK_MAX_RETRIES": "6",
        "SEVERA_REQUESTS_PER_SECOND": "200",
        "EEKONOMI_REQUESTS_PER_MINUTE": "20000",
    }
    saved = {k: os.environ.get(k) for k in ports}
    os.environ.update(ports)
    _clear_process_caches()
    from config import company
    from worker.connect import connect_eekonomi
    from worker.state import redis_client
    from worker.sync.choices import resolve

    connection_id = f"t-{uuid.uuid4().hex[:12]}"
    from config import get_settings

    connect_eekonomi(get_settings(), connection_id, echo=lambda line: None)
    client = redis_client()
    company.update(client, connection_id, resolve(connection_id, DEMO_SETTINGS))
    env = {**service_env, **ports}
    the_world = World(
        severa, eekonomi, connection_id, env, client,
        sandbox_servers[0].server.url, sandbox_servers[1].server.url,
    )  # fmt: skip
    try:
        yield the_world
    finally:
        for worker in the_world.workers:
            worker.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _clear_process_caches()


def _clear_process_caches() -> None:
    from config import get_settings
    from worker.state import redis_client
    from worker.sync import service

    get_settings.cache_clear()
    redis_client.cache_clear()
    service._built_context.cache_clear()  # noqa: SLF001 - per-process cache of the settings


def start_worker(
    world: World,
    celery_app: Any,
    concurrency: int = 2,
    queue: str | None = None,
    pool: str = "prefork",
) -> WorkerProcess:
    """A worker on a private queue (or on ``queue``: a replacement for a killed one),
    with Celery's ``pool`` (``WORKER_POOL``)."""
    queue = queue or f"q-{uuid.uuid4().hex[:10]}"
    worker = WorkerProcess(world.env, queue=queue, concurrency=concurrency, pool=pool)
    world.workers.append(worker)
    worker.wait_ready(celery_app)
    return worker


def run_in_worker(
    world: World, celery_app: Any, register: str, queue: str, timeout: float = 120.0
) -> dict[str, Any]:
    """Start ``register``'s transfer on ``queue`` and wait for its run to finish."""
    from worker.registry import spec_of

    result = celery_app.send_task(  # type: ignore[attr-defined]
        spec_of(register).task, args=[world.connection_id], queue=queue
    )
    return wait_for_run(world, str(result.id), timeout, result=result)


def wait_for_run(world: World, run_id: str, timeout: float, result: Any = None) -> dict[str, Any]:
    from worker.sync.runs import Runs

    runs = Runs(world.redis, world.connection_id)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = runs.get(run_id)
        if report is not None and report.status not in ("running", "finishing"):
            return report.as_dict()
        if report is None and result is not None and result.ready():
            raise AssertionError(f"the run did not start: {result.result}")
        time.sleep(0.2)
    logs = "\n".join(w.log.read_text()[-3000:] for w in world.workers)
    raise AssertionError(f"run {run_id} did not finish in {timeout}s: {runs.get(run_id)}\n{logs}")


def wait_for_run_as_beat_would(
    world: World, celery_app: Any, run_id: str, queue: str, timeout: float
) -> dict[str, Any]:
    """:func:`wait_for_run`, sending ``sync.resume_stalled_runs`` every few seconds as
    beat does every minute in the service: a worker killed while it took a message off
    the queue loses that message (kombu's Redis transport), and the tick resends the
    records of a run that has gone quiet for longer than the visibility timeout."""
    deadline = time.monotonic() + timeout
    while True:
        celery_app.send_task(  # type: ignore[attr-defined]
            "sync.resume_stalled_runs", args=[world.connection_id], queue=queue
        )
        try:
            return wait_for_run(world, run_id, timeout=min(5.0, deadline - time.monotonic()))
        except AssertionError:
            if time.monotonic() >= deadline:
                raise


def _is_auth(path: str) -> bool:
    """Token and consent requests: authentication, not data."""
    return path.startswith("/connect/") or path.endswith("/token")


def _descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *_descendants(child)]
    return found


def kill_workers(world: World) -> None:
    """SIGKILL every worker with its pool processes at once, as a crash of the machine
    or container would (killing only the parent leaves its children finishing tasks)."""
    for worker in world.workers:
        if worker.process.poll() is None:
            for pid in [worker.process.pid, *_descendants(worker.process.pid)]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            worker.process.wait(10)
