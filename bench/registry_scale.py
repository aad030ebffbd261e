"""Issue 16, registry scale: 1 000 registered connections, idle.

Registers ``--connections`` connections in a fresh embedded Redis (or ``REDIS_URL``),
each as a hosted firm has it: its own Severa credentials (sealed), eEkonomi tokens
(sealed), the demo's settings and a finished run report per register (so nothing is
due). Then it measures, in this process:

- **CPU per beat tick**: the body of ``sync.schedule_transfers``
  (``service.start_due_transfers``: registry, settings and the last run of every
  register, per connection) and of the per-connection fan-outs (``heartbeat_all``,
  ``resume_stalled_runs_all`` send one small task each), CPU seconds of this process
  and of Redis per tick, over ``--ticks`` ticks;
- **Redis memory per connection**: ``used_memory`` before and after registering,
  divided by the count (keys of an idle connection: registry, tokens, settings, runs).

- **requests per idle connection per hour**: then ``bench/idle_requests.py`` runs in a
  process of its own (its own sandboxes, Redis and worker): the requests of each
  scheduled no-change run, measured, times the runs per hour of the default schedule
  (arithmetic). ``--no-requests`` skips it.

    .venv/bin/python bench/registry_scale.py                  # 1 000 connections
    .venv/bin/python bench/registry_scale.py --connections 100 --no-requests
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


SEVERA = "https://api.severa.visma.com/rest-api"


def _cpu_of(pid: int) -> float:
    if not pid:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def populate(count: int) -> list[str]:
    """Register ``count`` idle connections; their ids."""
    from config import company, get_settings
    from schemas.sides import Side
    from worker.clients.tokens import TokenSet, TokenStore
    from worker.connections import SeveraCredentials, registry
    from worker.crypto import secret_box
    from worker.registry import NAMES
    from worker.state import redis_client
    from worker.sync.runs import Runs

    client, box = redis_client(), secret_box(get_settings())
    ids = []
    guid = "7b92c65b-7676-5502-9248-cf0c9fdc092d"  # settings as a firm's, resolved to ids
    values = {
        "customers_master": "severa", "products_master": "severa", "cost_center_id": guid,
        "default_article_number": "ALLM", "status_to_transfer": guid,
        "status_transferred": guid, "status_sent": guid, "status_paid": guid,
    }  # fmt: skip
    for number in range(count):
        connection_id = f"firm-{number:05d}"
        severa = SeveraCredentials(SEVERA, f"client-{number}", f"secret-{number}")
        registry().add(connection_id, severa)
        TokenStore(client, box, connection_id=connection_id, api=Side.EEKONOMI).save(
            TokenSet(
                access_token="a" * 900,
                expires_at=time.time() + 3600,
                refresh_token="r" * 64,
                company={"Name": f"Firm {number} AB"},
            )  # fmt: skip
        )
        company.update(client, connection_id, values)
        runs = Runs(client, connection_id)
        for name in NAMES:
            run = runs.start(name)
            runs.finish(run.run_id)
        ids.append(connection_id)
    return ids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1_000)
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument("--no-requests", action="store_true",
                        help="skip the requests per idle connection")  # fmt: skip
    args = parser.parse_args()
    original = dict(os.environ)  # before scale() points REDIS_URL at its own Redis
    code = scale(args)
    if code or args.no_requests:
        return code
    print("\nrequests per idle connection per hour (bench/idle_requests.py):", flush=True)
    # Its own process: this one's settings and broker point at the Redis stopped above.
    return subprocess.run([sys.executable, str(Path(__file__).with_name("idle_requests.py"))],
                          env=original, check=False).returncode  # fmt: skip


def scale(args: argparse.Namespace) -> int:
    """The registry figures: CPU per beat tick and Redis memory per connection."""
    folder = Path(tempfile.mkdtemp(prefix="bench-registry-"))
    os.environ.setdefault("ENV_FILE", str(folder / "absent.env"))
    os.environ["DATA_DIR"] = str(folder)
    from worker.embedded_redis import EmbeddedRedis

    external = os.environ.get("REDIS_URL")
    server = None if external else EmbeddedRedis(folder / "redis").__enter__()
    if server is not None:
        os.environ["REDIS_URL"] = server.url
    try:
        return measure(args, server.process.pid if server and server.process else 0)
    finally:
        if server is not None:
            server.__exit__(None, None, None)


def measure(args: argparse.Namespace, redis_pid: int) -> int:
    from worker.state import redis_client
    from worker.sync import service

    client = redis_client()
    before = int(client.info("memory")["used_memory"])
    started = time.perf_counter()
    ids = populate(args.connections)
    after = int(client.info("memory")["used_memory"])
    keys = int(client.dbsize())
    print(f"registered {len(ids)} connections in {time.perf_counter() - started:.1f}s "
          f"({keys} keys)")  # fmt: skip
    sent: list[tuple[str, str]] = []
    cpu, redis_cpu, walls = [], [], []
    for _ in range(args.ticks):
        c0, r0, w0 = time.process_time(), _cpu_of(redis_pid), time.perf_counter()
        service.start_due_transfers(lambda r, c: sent.append((r, c)), time.time())
        from worker.connections import registry

        registry(client).ids()  # what heartbeat_all and resume_stalled_runs_all read
        cpu.append(time.process_time() - c0)
        redis_cpu.append(_cpu_of(redis_pid) - r0)
        walls.append(time.perf_counter() - w0)
    per = (after - before) / len(ids)
    print(f"transfers due per tick (idle, expected 0): {len(sent) // args.ticks}")
    print(f"beat tick (schedule_transfers body), {len(ids)} connections: "
          f"CPU {min(cpu) * 1000:.0f} ms (median of {args.ticks}: "
          f"{sorted(cpu)[len(cpu) // 2] * 1000:.0f} ms), Redis CPU "
          f"{sorted(redis_cpu)[len(redis_cpu) // 2] * 1000:.0f} ms, wall "
          f"{sorted(walls)[len(walls) // 2] * 1000:.0f} ms; per connection "
          f"{sorted(cpu)[len(cpu) // 2] / len(ids) * 1e6:.0f} µs")  # fmt: skip
    print(f"Redis memory: {(after - before) / 1e6:.1f} MB for {len(ids)} idle connections = "
          f"{per / 1024:.1f} KiB per connection")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
