"""The client's CPU per HTTP request through our transport (issue 20).

Why: a profile of ``register_transfer.py --no-limits`` puts about a fifth of the
worker's CPU per created record in the HTTP client (requests → urllib3 → http.client).
That run takes minutes and needs the whole service; this one measures just that layer,
in seconds: one :class:`~worker.clients.transport.ApiTransport` per API, wired by
:func:`~worker.clients.factory.build_clients` as a worker wires it (session, auth, token
store), sending requests to ``python -m sandbox`` in a child process, so the CPU time
of this process (:func:`time.process_time`) is the client's alone — the sandbox's
serving is in another process. Rate limiters are taken off the transports (their Redis
round trips are not HTTP client CPU) and the sandbox's limits are scaled out of the way.

Measured: eEkonomi ``POST /customers`` (a create, as in a transfer), eEkonomi
``GET /customers/{id}`` of the customers just created (a new URL each time, as reads of
records are) and Severa ``GET /v1/customers/{guid}`` of one customer (the same URL each
time); for each, ``--rounds`` rounds of ``--requests`` requests, and the median of the
rounds' CPU µs per request.
Wall-clock time per request is shown too, but it includes the sandbox's work.

Run: ``.venv/bin/python bench/http_cpu.py`` (Redis: ``REDIS_URL`` if set, else the
embedded one).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from register_transfer import redis_server, wait_up  # noqa: E402

from worker.embedded_redis import free_port  # noqa: E402

#: The sandbox's rate limits times this: never in the way.
RATE_SCALE = 1000.0


@contextlib.contextmanager
def sandbox(log: Path) -> Iterator[tuple[int, int]]:
    """``python -m sandbox`` on two free ports, demo data; yields (Severa, eEkonomi) ports."""
    severa_port, eekonomi_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "sandbox",
            "--severa-port", str(severa_port),
            "--eekonomi-port", str(eekonomi_port),
            "--rate-scale", str(RATE_SCALE),
        ],
        cwd=ROOT, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_up(f"http://127.0.0.1:{severa_port}/rest-api/heartbeat/server", 60)
        wait_up(f"http://127.0.0.1:{eekonomi_port}/_sandbox/switches", 60)
        yield severa_port, eekonomi_port
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def measure(send: Callable[[int], Any], count: int) -> tuple[float, float]:
    """CPU and wall µs per request over ``count`` calls of ``send(n)``."""
    cpu, wall = time.process_time(), time.perf_counter()
    for n in range(count):
        send(n)
    return (
        (time.process_time() - cpu) / count * 1e6,
        (time.perf_counter() - wall) / count * 1e6,
    )


def library_floors(eekonomi: Any, terms: str, numbers: Iterator[int]) -> dict[str, Any]:
    """The same eEkonomi create sent by the libraries alone, with the same token and
    body: ``requests.Session.post`` (what the design card's HTTP library costs at
    least) and urllib3's pool (the layer under it) — the floor under our transport's
    figure, for the issue-20 question of how low a record's HTTP CPU can go."""
    import urllib3

    first = eekonomi.request("GET", "/customers", params={"$pagesize": 1})
    headers = {"Authorization": first.request.headers["Authorization"],
               "Content-Type": "application/json", "Accept": "application/json"}  # fmt: skip
    url = f"{eekonomi.base_url.rstrip('/')}/customers"
    session = requests.Session()
    pool = urllib3.PoolManager()

    def body(n: int) -> dict[str, Any]:
        return {"TermsOfPaymentId": terms, "CustomerNumber": str(next(numbers)),
                "Name": f"Kund {n} AB", "InvoicePostalCode": "411 01",
                "InvoiceCity": "Göteborg", "IsPrivatePerson": False, "IsActive": True}  # fmt: skip

    def with_requests(n: int) -> None:
        session.post(url, json=body(n), headers=headers, timeout=10).raise_for_status()

    def with_urllib3(n: int) -> None:
        answer = pool.request("POST", url, json=body(n), headers=headers, timeout=10.0)
        if answer.status >= 400:
            raise RuntimeError(f"{answer.status}: {answer.data[:200]!r}")
        answer.json()

    return {
        "floor: requests.Session.post": with_requests,
        "floor: urllib3 PoolManager POST": with_urllib3,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per request kind (5)")
    parser.add_argument("--requests", type=int, default=400, help="requests per round (400)")
    args = parser.parse_args()

    from config.settings import load_settings
    from sandbox.eekonomi import demo_data
    from schemas.sides import Side
    from worker.clients.factory import build_clients, new_session
    from worker.clients.oauth import begin_authorization, complete_authorization, demo_consent
    from worker.clients.tokens import TokenStore
    from worker.crypto import secret_box

    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="http-cpu-")))
        severa_port, eekonomi_port = stack.enter_context(sandbox(folder / "sandbox.log"))
        url = stack.enter_context(redis_server(folder))
        settings = load_settings(
            environ={
                "REDIS_URL": url,
                "DATA_DIR": str(folder),
                "SANDBOX_SEVERA_PORT": str(severa_port),
                "SANDBOX_EEKONOMI_PORT": str(eekonomi_port),
                "HTTP_TIMEOUT": "10",
            },
            env_file=folder / "absent.env",
        )
        client = redis.Redis.from_url(url)
        connection_id = f"bench-{uuid.uuid4().hex[:8]}"
        # The product's own consent flow, as ``connect`` runs it in demo mode.
        session = new_session()
        consent_url, state = begin_authorization(client, settings, connection_id)
        callback = demo_consent(settings, consent_url, session)
        store = TokenStore(client, secret_box(settings), connection_id=connection_id,
                           api=Side.EEKONOMI)  # fmt: skip
        complete_authorization(
            client, settings, connection_id, code=callback.code or "",
            state=callback.state or "", store=store, session=session,
        )  # fmt: skip

        clients = build_clients(settings, connection_id, redis_client=client)
        eekonomi = clients.eekonomi.transport
        severa = clients.severa.transport
        eekonomi.limiter = severa.limiter = None
        terms = demo_data()["termsOfPayments"][0]["Id"]
        numbers = iter(range(10**8 + uuid.uuid4().int % 10**8 * 100, 10**11))

        created: list[str] = []

        def create(n: int) -> None:
            answer = eekonomi.request("POST", "/customers", json_body={
                "TermsOfPaymentId": terms, "CustomerNumber": str(next(numbers)),
                "Name": f"Kund {n} AB", "InvoicePostalCode": "411 01",
                "InvoiceCity": "Göteborg", "IsPrivatePerson": False, "IsActive": True,
            })  # fmt: skip
            created.append(answer.json()["Id"])

        reads = iter(range(10**9))
        guid = next(iter(clients.severa.list_customers()))["guid"]
        floors = library_floors(eekonomi, terms, numbers)
        kinds: dict[str, Callable[[int], Any]] = {
            "eEkonomi POST /customers": create,
            "eEkonomi GET /customers/{id}": lambda n: eekonomi.request(
                "GET", f"/customers/{created[next(reads) % len(created)]}"
            ),
            "Severa GET /v1/customers/{guid}": lambda n: severa.request(
                "GET", f"/v1/customers/{guid}"
            ),
            **floors,
        }
        for send in kinds.values():  # warm up: connections, tokens, caches
            measure(send, 20)
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in kinds}
        for _ in range(args.rounds):
            for name, send in kinds.items():  # interleaved: drift hits every kind alike
                results[name].append(measure(send, args.requests))
        print(f"{args.rounds} rounds x {args.requests} requests; CPU of this process only")
        print(f"{'request':34} {'CPU µs/request (median)':>24} {'rounds':>32} {'wall µs':>9}")
        for name, rounds in results.items():
            cpus = [c for c, _ in rounds]
            walls = [w for _, w in rounds]
            spread = " ".join(f"{c:.0f}" for c in cpus)
            print(f"{name:34} {statistics.median(cpus):>24.0f} {spread:>32} "
                  f"{statistics.median(walls):>9.0f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
