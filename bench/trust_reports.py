"""The issue-19 benchmark: requests and wall time of ``compare`` and ``plan`` at 10 000
customers (and the articles and projects of ``register_transfer.py``'s seed).

Seeds the sandboxes like ``bench/register_transfer.py`` (same generator, rate limits
x ``--scale``), connects through the sandbox's OAuth consent, and then, in this process:

1. before go-live: ``compare`` of customers, products and projects, and ``plan all``;
2. with ``--after``: the real transfer of the three registers in a Celery worker,
   then ``compare`` and ``plan`` again (linked records, nothing to do).

For each it prints the wall time, the data requests per side (token requests apart),
the list pages a read needs at least (Severa 100 rows a page, eEkonomi 1 000) and the
ratio of requests to that minimum, and the writes (which must be 0).

    .venv/bin/python bench/trust_reports.py             # 10 000 / 2 000 / 1 000
    .venv/bin/python bench/trust_reports.py --quick     # 1 000 / 200 / 100
    .venv/bin/python bench/trust_reports.py --after     # also after a transfer (+ minutes)
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from register_transfer import (  # noqa: E402
    REGISTERS,
    Sandbox,
    Worker,
    World,
    connect,
    is_auth,
    minimum_requests,
    redis_server,
    run_registers,
    service_environment,
    start_sandbox,
    use_environment,
)


def measure(box: Sandbox, label: str, action: Callable[[], Any], minimum: int) -> Any:
    """Run ``action`` and print its wall time, requests per side and writes."""
    box.clear_logs()
    started = time.perf_counter()
    result = action()
    wall = time.perf_counter() - started
    logs = box.logs()
    reads = {side: 0 for side in logs}
    writes = 0
    for side, entries in logs.items():
        for entry in entries:
            if is_auth(entry["path"]):
                continue
            if entry["method"] == "GET":
                reads[side] += 1
            else:
                writes += 1
    total = sum(reads.values())
    print(
        f"  {label:<34} {wall:7.1f}s  requests: Severa {reads['severa']}, eEkonomi "
        f"{reads['eekonomi']} (x{total / max(1, minimum):.2f} of the {minimum} list pages "
        f"a whole read needs); writes {writes}",
        flush=True,
    )
    return result


def reports(connection_id: str, box: Sandbox, minimum: int, when: str) -> None:
    from worker.registry import register_named
    from worker.sync.compare import compare_register
    from worker.sync.plan import plan_register
    from worker.sync.service import context_for

    ctx = context_for(connection_id)

    def compare_all() -> dict[str, Any]:
        return {r: compare_register(ctx, r).as_dict()["counts"] for r in REGISTERS}

    def plan_all() -> dict[str, Any]:
        return {r: plan_register(ctx, register_named(r)).counts() for r in REGISTERS}

    counts = measure(box, f"compare (3 registers), {when}", compare_all, minimum)
    print(f"    {counts}")
    counts = measure(box, f"plan (3 registers), {when}", plan_all, minimum)
    print(f"    {counts}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--articles", type=int, default=2_000)
    parser.add_argument("--projects", type=int, default=1_000)
    parser.add_argument("--scale", type=float, default=10.0, help="rate-limit multiplier")
    parser.add_argument("--quick", action="store_true", help="1 000 / 200 / 100")
    parser.add_argument("--after", action="store_true", help="also after a real transfer")
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args()
    if args.quick:
        args.customers, args.articles, args.projects = 1_000, 200, 100
    folder = Path(tempfile.mkdtemp(prefix="bench-trust-"))
    try:
        with redis_server(folder) as redis_url:
            os.environ.setdefault("ENV_FILE", str(folder / "absent.env"))
            world = World(args.customers, args.articles, args.projects)
            world.write_seeds(folder)
            box = start_sandbox(world.severa_file, world.eekonomi_file, args.scale,
                                folder / "sandbox.log")  # fmt: skip
            try:
                env = service_environment(redis_url, folder, box, args.scale)
                use_environment(env)
                world.connection_id = f"bench-{uuid.uuid4().hex[:8]}"
                connect(world.connection_id)
                need = minimum_requests(args.customers, args.articles, args.projects)
                severa_pages = need["severa (one bucket)"] - 1  # less the token request
                minimum = severa_pages + 3  # eEkonomi's customers, articles, cost centers
                print(f"{world.label} (customers/articles/projects), rate limits x{args.scale:g}")
                reports(world.connection_id, box, minimum, "before go-live")
                if args.after:
                    worker = Worker(env, 4, folder / "worker.log")
                    try:
                        worker.wait_ready()
                        wall, _ = run_registers(world.connection_id, worker.queue, REGISTERS,
                                                args.timeout, "transfer")  # fmt: skip
                        print(f"  (the transfer itself: {wall:.0f}s)")
                    finally:
                        worker.stop()
                    eekonomi_pages = (math.ceil(args.customers / 1000)
                                      + math.ceil(args.articles / 1000) + 1)  # fmt: skip
                    after = severa_pages + eekonomi_pages
                    reports(world.connection_id, box, after, "after the transfer")
            finally:
                box.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
