"""Issue 16, fairness: one firm's bulk transfer must not starve the others' routine runs.

One connection ("bulk") transfers ``--bulk`` customers (10 000) while ``--small`` other
connections (20) each run an invoice transfer of ``--invoices`` invoices (20). Every
connection is its own firm: its own Severa organization (own client credentials, in the
connection registry) and its own eEkonomi company, so the sandboxes' limits and the
product's rate-limit buckets are per connection and the APIs are not the shared
bottleneck — the worker's task slots are.

The rate limits are the vendors' own by default (``--scale 1``), not scaled as in the
other benchmarks, and that is the point: scaling them by N shortens every wait N-fold
but not the CPU a request costs, so at x10 the 21 firms together ask this 2-core
machine for more CPU than it has, and the figure measures the machine, not whether one
firm's bulk run holds the others back. At the real rates a firm's 20-invoice run takes
about 6 s alone, mostly waiting on its own Severa bucket — the issue's "routine run of
5 s" — and what a bulk run could take from it is task slots.

Both sandboxes run in this process (``SandboxServer`` threads: organizations and
companies are added in code); Redis is the embedded one (or ``REDIS_URL``); the sync
runs in a real ``celery worker`` with the pool a hosted sync uses (``--pool threads
--concurrency 64``, README → Hosting → Fairness) and the service's
``CONNECTION_MAX_RUNNING`` (``--cap``; 0 turns the cap off, for comparison).

Not timed: each small firm's customers, articles and projects are linked first. Each
small firm has a *twin* with identical data: the twin's invoice transfer runs **alone**
(one after another); a second twin's all at once without the bulk run (what the small
runs cost each other); the firm's own **during** the bulk transfer, all 20 sent at once
``--delay`` seconds after the bulk run started (40: past its read of 10 000 customers,
while its record tasks create). Printed: each small run's wall time (sent → report
finished) during ÷ alone, then the last line

    fairness: p50 X, p95 Y, max Z

    .venv/bin/python bench/fairness.py                       # 10 000 customers, 20 x 20 invoices
    .venv/bin/python bench/fairness.py --cap 0               # the same without the cap
    .venv/bin/python bench/fairness.py --pool prefork --concurrency 4   # the service's default pool
    .venv/bin/python bench/fairness.py --scale 10            # CPU-bound on 2 cores (see above)
    .venv/bin/python bench/fairness.py --bulk 2000 --small 5 # quicker
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from invoice_transfer import (  # noqa: E402
    STATUS_TO_TRANSFER,
    STATUS_TRANSFERRED,
    Plan,
    severa_invoice_seed,
)
from register_transfer import (  # noqa: E402
    REGISTERS,
    SETTINGS,
    Worker,
    eekonomi_seed,
    redis_server,
    register_firm,
    run_registers,
    service_environment,
    severa_seed,
    use_environment,
)


@dataclasses.dataclass
class Firm:
    connection_id: str
    company: str
    plan: Plan | None = None


class Sandboxes:
    """Both sandboxes in this process, with one organization and company per firm."""

    def __init__(self, scale: float) -> None:
        from sandbox.core import SandboxServer
        from sandbox.eekonomi import EEkonomiSandbox
        from sandbox.severa import SeveraSandbox

        self.scale = scale
        self.severa = SeveraSandbox()
        self.eekonomi = EEkonomiSandbox()
        self.eekonomi.rate_scale = scale
        self.servers = [SandboxServer(self.severa).start(), SandboxServer(self.eekonomi).start()]
        self.severa_port, self.eekonomi_port = (s.port for s in self.servers)

    def add_firm(self, firm: Firm, severa_store: dict[str, Any]) -> tuple[str, str]:
        """An organization and a company for ``firm``; its Severa client id and secret."""
        from sandbox.eekonomi.seed import seed_company
        from sandbox.eekonomi.store import Company

        client_id, secret = f"{firm.connection_id}-client", f"{firm.connection_id}-secret"
        org = self.severa.add_organization(firm.connection_id, client_id, secret)
        org.seed_store(severa_store, replace=True)
        org.rate_scale = self.scale
        company = Company(f"company-{firm.connection_id}", firm.company, api_module=True)
        self.eekonomi.companies[company.id] = company
        seed_company(self.eekonomi.context(company), eekonomi_seed(), replace=True)
        for email, user in list(self.eekonomi.users.items()):
            self.eekonomi.users[email] = dataclasses.replace(
                user, companies=(*user.companies, company.id)
            )
        return client_id, secret

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


def register(firm: Firm, client_id: str, secret: str, extra: dict[str, str]) -> None:
    """The firm's connection: registry entry, eEkonomi consent, settings."""
    register_firm(firm.connection_id, client_id, secret, {**SETTINGS, **extra},
                  company_name=firm.company)  # fmt: skip


def send(connection_id: str, register_name: str, queue: str) -> tuple[str, float]:
    from worker import app

    return str(app.send_task(f"sync.transfer_{register_name}", args=[connection_id],
                             queue=queue).id), time.time()  # fmt: skip


def wait(connection_id: str, run_id: str, timeout: float) -> Any:
    from worker.state import redis_client
    from worker.sync.runs import Runs

    runs, deadline = Runs(redis_client(), connection_id), time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = runs.get(run_id)
        if report is not None and report.status not in ("running", "finishing"):
            return report
        time.sleep(0.05)
    raise TimeoutError(f"{connection_id}: run {run_id} not finished in {timeout:.0f}s")


def setup(args: argparse.Namespace, boxes: Sandboxes) -> tuple[Firm, dict[str, list[Firm]]]:
    """The bulk firm, and per kind (``alone``, ``crowd``, ``busy``) one twin of each
    small firm."""
    bulk = Firm("bulk", "Bulk Konsult AB")
    store = severa_seed(args.bulk, 10, 5)
    register(bulk, *boxes.add_firm(bulk, store), {})
    twins: dict[str, list[Firm]] = {"alone": [], "crowd": [], "busy": []}
    for number in range(args.small):
        plan = Plan(invoices=args.invoices, customers=5, articles=10, projects=5, seed=number)
        store = severa_invoice_seed(plan)
        for kind, into in twins.items():
            firm = Firm(f"{kind}-{number:02d}", f"{kind.title()} Firma {number:02d} AB", plan)
            register(firm, *boxes.add_firm(firm, store), {})
            into.append(firm)
    return bulk, twins


def link(firms: list[Firm], queue: str, timeout: float) -> None:
    """Untimed: each small firm's customers, articles and projects, then its invoice
    settings (the default article exists in eEkonomi once the articles are linked)."""
    from config import company
    from worker.state import redis_client
    from worker.sync.choices import resolve

    for firm in firms:
        _, reports = run_registers(firm.connection_id, queue, REGISTERS, timeout, "link")
        bad = {r: rep for r, rep in reports.items() if rep.failed or rep.status != "finished"}
        if bad:
            raise RuntimeError(f"{firm.connection_id}: linking failed: {bad}")
        assert firm.plan is not None
        extra = {"default_article_number": firm.plan.default_article,
                 "status_to_transfer": STATUS_TO_TRANSFER,
                 "status_transferred": STATUS_TRANSFERRED}  # fmt: skip
        company.update(redis_client(), firm.connection_id, resolve(firm.connection_id, extra))


def measure(args: argparse.Namespace, folder: Path, redis_url: str) -> int:
    boxes = Sandboxes(args.scale)
    ports = SimpleNamespace(severa_port=boxes.severa_port, eekonomi_port=boxes.eekonomi_port)
    env = service_environment(redis_url, folder, ports, args.scale)  # type: ignore[arg-type]
    env["CONNECTION_MAX_RUNNING"] = str(args.cap)
    use_environment(env)
    worker = Worker(env, args.concurrency, folder / "worker.log", pool=args.pool)
    try:
        started = time.monotonic()
        bulk, twins = setup(args, boxes)
        worker.wait_ready()
        link([firm for firms in twins.values() for firm in firms], worker.queue, args.timeout)
        print(f"set up {1 + 3 * args.small} firms and linked the small ones in "
              f"{time.monotonic() - started:.0f}s (not timed)")  # fmt: skip
        alone_walls = []
        for firm in twins["alone"]:
            run_id, sent = send(firm.connection_id, "invoices", worker.queue)
            report = wait(firm.connection_id, run_id, args.timeout)
            alone_walls.append(report.finished_at - sent)
        crowd = at_once(twins["crowd"], worker.queue, args.timeout)
        bulk_run, bulk_sent = send(bulk.connection_id, "customers", worker.queue)
        time.sleep(args.delay)
        busy = at_once(twins["busy"], worker.queue, args.timeout)
        print_figures(args, alone_walls, crowd, busy, bulk, bulk_run, bulk_sent)
        return 0
    finally:
        worker.stop()
        boxes.stop()


def at_once(firms: list[Firm], queue: str, timeout: float) -> list[tuple[Firm, Any, float]]:
    """Send every firm's invoice transfer at once; (firm, report, when sent) each."""
    sent_runs = [(firm, *send(firm.connection_id, "invoices", queue)) for firm in firms]
    return [(firm, wait(firm.connection_id, run_id, timeout), sent)
            for firm, run_id, sent in sent_runs]  # fmt: skip


def print_figures(
    args: argparse.Namespace,
    alone_walls: list[float],
    crowd: list[tuple[Firm, Any, float]],
    reports: list[tuple[Firm, Any, float]],
    bulk: Firm,
    bulk_run: str,
    bulk_sent: float,
) -> None:
    from worker.state import redis_client
    from worker.sync.runs import Runs

    ratios, to_crowd = [], []
    print(f"{'firm':<10} {'alone s':>8} {'all 20 s':>9} {'+bulk s':>8} {'ratio':>6} "
          f"{'÷all 20':>8}  result")  # fmt: skip
    rows = zip(reports, crowd, alone_walls, strict=True)
    for (firm, report, sent), (_, crowd_report, crowd_sent), alone in rows:
        during = report.finished_at - sent
        together = crowd_report.finished_at - crowd_sent
        ratios.append(during / alone)
        to_crowd.append(during / together)
        print(f"{firm.connection_id:<10} {alone:8.2f} {together:9.2f} {during:8.2f} "
              f"{during / alone:6.2f} {during / together:8.2f}  {report.summary()}")  # fmt: skip
    print(f"the small runs all at once, with the bulk run ÷ without it: p50 "
          f"{statistics.median(to_crowd):.2f}, max {max(to_crowd):.2f}")  # fmt: skip
    last_small = max(report.finished_at for _, report, _ in reports)
    progress = Runs(redis_client(), bulk.connection_id).get(bulk_run)
    done = (progress.created + progress.updated + progress.unchanged + progress.failed
            if progress else 0)  # fmt: skip
    print(f"bulk: {done} of {progress.expected if progress else '?'} customers settled "
          f"{last_small - bulk_sent:.1f}s after it started, when the last small run ended "
          f"(status {progress.status if progress else '?'})")  # fmt: skip
    print(f"worker {args.pool} pool of {args.concurrency}, CONNECTION_MAX_RUNNING {args.cap}, rate "
          f"limits x{args.scale:g}, small runs sent {args.delay:g}s after the bulk")  # fmt: skip
    ratios.sort()
    p95 = ratios[min(len(ratios) - 1, max(0, round(0.95 * len(ratios)) - 1))]
    print(f"fairness: p50 {statistics.median(ratios):.2f}, p95 {p95:.2f}, max {ratios[-1]:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bulk", type=int, default=10_000, help="customers of the bulk firm")
    parser.add_argument("--small", type=int, default=20, help="firms with a routine run")
    parser.add_argument("--invoices", type=int, default=20, help="invoices per routine run")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="rate-limit multiplier (1: the vendors' rates; see above)",
    )
    parser.add_argument("--concurrency", type=int, default=64, help="the pool's task slots")
    parser.add_argument("--pool", choices=["prefork", "threads"], default="threads",
                        help="the worker's pool (WORKER_POOL)")  # fmt: skip
    parser.add_argument("--cap", type=int, default=3, help="CONNECTION_MAX_RUNNING (0: off)")
    parser.add_argument("--delay", type=float, default=40.0,
                        help="seconds from the bulk run's start to the small runs'")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=900.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-fairness-"))
    os.environ.setdefault("ENV_FILE", str(folder / "absent.env"))
    with redis_server(folder) as redis_url:
        return measure(args, folder, redis_url)


if __name__ == "__main__":
    sys.exit(main())
