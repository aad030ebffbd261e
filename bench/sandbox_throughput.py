"""How fast the sandboxes answer list and get requests on loopback (issue 3).

The sandboxes must never be the bottleneck of the product's benchmarks, whose rate
limits are scaled up. This starts ``python -m sandbox`` as its own process (as the demo
and the integration tests do; in-process, the load generator would share the GIL with
the server), authenticates like a client, and drives each sandbox with a few
keep-alive threads for a fixed time, per kind of request.

    .venv/bin/python bench/sandbox_throughput.py [--seconds 5] [--threads 4]

Prints requests per second (median of three rounds) and the ratio to the 500/s goal.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from worker.embedded_redis import free_port  # noqa: E402

GOAL = 500.0


def wait_up(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise TimeoutError(url)


def severa_token(base: str) -> str:
    answer = requests.post(
        f"{base}/v1/token",
        json={"client_Id": "demo-severa-client", "client_Secret": "demo-severa-secret",
              "scope": "customers:read projects:read"},
        headers={"client_Id": "demo-severa-client"},
        timeout=10,
    )  # fmt: skip
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def eekonomi_token(root: str) -> str:
    """The authorization-code flow through the sandbox's consent pages, as a browser would."""
    from config.settings import load_settings
    from worker.clients.oauth import authorize_url, demo_consent

    port = urlsplit(root).port
    settings = load_settings(
        {"SANDBOX_EEKONOMI_PORT": str(port), "ENV_FILE": os.devnull}, env_file=Path(os.devnull)
    )
    session = requests.Session()
    callback = demo_consent(settings, authorize_url(settings, "bench"), session)
    answer = requests.post(
        f"{root}/connect/token",
        data={"grant_type": "authorization_code", "code": callback.code,
              "redirect_uri": settings.eekonomi_redirect_uri},
        auth=(settings.eekonomi_client_id, settings.eekonomi_client_secret),
        timeout=10,
    )  # fmt: skip
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def drive(make_call: Callable[[requests.Session], int], seconds: float, threads: int) -> float:
    """Requests per second that ``threads`` keep-alive clients achieve for ``seconds``."""
    counts = [0] * threads
    errors: list[str] = []
    stop = time.monotonic() + seconds

    def loop(index: int) -> None:
        session = requests.Session()
        while time.monotonic() < stop:
            status = make_call(session)
            if status >= 400:
                errors.append(str(status))
                return
            counts[index] += 1

    workers = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise RuntimeError(f"requests failed: {errors[:3]}")
    return sum(counts) / (time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    severa_port, eekonomi_port = free_port(), free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--severa-port", str(severa_port),
         "--eekonomi-port", str(eekonomi_port), "--rate-scale", "1000"],
        cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        severa = f"http://127.0.0.1:{severa_port}/rest-api"
        eekonomi = f"http://127.0.0.1:{eekonomi_port}"
        wait_up(f"{severa}/heartbeat/server")
        wait_up(f"{eekonomi}/_sandbox/switches")
        s_auth = {"Authorization": f"Bearer {severa_token(severa)}"}
        e_auth = {"Authorization": f"Bearer {eekonomi_token(eekonomi)}"}
        customers = requests.get(f"{severa}/v1/customers", headers=s_auth, timeout=10).json()
        e_customers = requests.get(f"{eekonomi}/v2/customers", headers=e_auth, timeout=10).json()
        s_guid, e_id = customers[0]["guid"], e_customers["Data"][0]["Id"]
        cases: dict[str, Callable[[requests.Session], int]] = {
            "severa list /v1/customers (rowCount 100)": lambda s: (
                s.get(
                    f"{severa}/v1/customers", params={"rowCount": 100}, headers=s_auth
                ).status_code
            ),
            "severa get /v1/customers/{guid}": lambda s: (
                s.get(f"{severa}/v1/customers/{s_guid}", headers=s_auth).status_code
            ),
            "eekonomi list /v2/customers ($pagesize 50)": lambda s: (
                s.get(
                    f"{eekonomi}/v2/customers", params={"$pagesize": 50}, headers=e_auth
                ).status_code
            ),
            "eekonomi get /v2/customers/{id}": lambda s: (
                s.get(f"{eekonomi}/v2/customers/{e_id}", headers=e_auth).status_code
            ),
        }
        print(f"{args.threads} keep-alive clients, {args.seconds:.0f}s x {args.rounds} rounds")
        worst = float("inf")
        for name, call in cases.items():
            rates = [drive(call, args.seconds, args.threads) for _ in range(args.rounds)]
            median = statistics.median(rates)
            worst = min(worst, median)
            print(f"  {name:<46} {median:8.0f} req/s  (x{median / GOAL:.2f} of the 500/s goal)")
        print(f"slowest case: {worst:.0f} req/s = x{worst / GOAL:.2f} of the goal")
        return 0 if worst >= GOAL else 1
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    sys.exit(main())
