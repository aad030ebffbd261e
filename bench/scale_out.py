"""Issue 16, scale-out: aggregate records/s of many connections transferring at once with
1, 2 and 4 worker processes.

``--connections`` firms (50), each its own Severa organization (own client credentials,
in the connection registry) and eEkonomi company, each with ``--customers`` customers
(100), ``--articles`` articles (40) and ``--projects`` projects (20), all send their three register
transfers (customers, products, projects) at once. Measured per worker-process count of
``--processes`` (1 2 4): the wall time from the send to the last run's report finished,
records created ÷ wall = records/s, and the CPU seconds of each process tree meanwhile.

Each count starts from scratch: fresh sandboxes seeded with the same data, fresh
connection ids (``r0p1-firm-00`` …) in the bench's embedded Redis (or ``REDIS_URL``) and a
fresh ``celery worker`` with that many processes. Rate limits are scaled by ``--scale``
(10) in the sandboxes and the product and are per connection (Severa's bucket per client,
eEkonomi's per company and endpoint), so the APIs are not the shared bottleneck: at x10
one firm's own limits allow ~100 requests/s per bucket — but worker processes that take
consecutive record tasks of one firm share its buckets (bench/README.md, scale-out:
compare ``--scale 100``). Figures are checked: every run
must finish with created == seeded and nothing failed, or the script stops.

The sandboxes run in two child processes of their own (Severa, eEkonomi: ``--serve``),
not in this one, so that they do not share a GIL with each other or with the polling of
the run reports here; they still share the machine's cores with the worker and Redis.

    .venv/bin/python bench/scale_out.py                        # 50 firms x 100/40/20, 1 2 4
    .venv/bin/python bench/scale_out.py --connections 10 --customers 50   # quicker

The last line reads ``scale-out: 1 → 2 processes xA, 1 → 4 xB`` (records/s ratios).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType, SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from register_transfer import (  # noqa: E402
    REDIS_PID,
    REGISTERS,
    Worker,
    cpu_snapshot,
    eekonomi_seed,
    redis_server,
    register_firm,
    service_environment,
    severa_seed,
    use_environment,
    wait_up,
)


@dataclasses.dataclass(frozen=True)
class Firm:
    """One hosted firm: its connection id, eEkonomi company name and Severa client."""

    connection_id: str
    company: str

    @property
    def client_id(self) -> str:
        return f"{self.connection_id}-client"

    @property
    def secret(self) -> str:
        return f"{self.connection_id}-secret"


def firms(count: int, prefix: str) -> list[Firm]:
    """The firms of one run: fresh connection ids per worker-process count (``prefix``),
    so each count transfers the same data from scratch without flushing Redis."""
    return [Firm(f"{prefix}-firm-{n:02d}", f"Skala Firma {n:02d} AB") for n in range(count)]


# -- the sandboxes' child processes -----------------------------------------------------


def serve(args: argparse.Namespace) -> int:
    """Child: one sandbox (``args.serve``) with an organization or company per firm, on
    a free port printed as JSON; runs until SIGTERM."""
    from sandbox.core import SandboxServer

    app: Any
    if args.serve == "severa":
        from sandbox.severa import SeveraSandbox

        app = SeveraSandbox()
        store = severa_seed(args.customers, args.articles, args.projects)
        for firm in firms(args.connections, args.prefix):
            org = app.add_organization(firm.connection_id, firm.client_id, firm.secret)
            org.seed_store(store, replace=True)
            org.rate_scale = args.scale
    else:
        from sandbox.eekonomi import EEkonomiSandbox
        from sandbox.eekonomi.seed import seed_company
        from sandbox.eekonomi.store import Company

        app = EEkonomiSandbox()
        app.rate_scale = args.scale
        seed = eekonomi_seed()
        added = []
        for firm in firms(args.connections, args.prefix):
            company = Company(f"company-{firm.connection_id}", firm.company, api_module=True)
            app.companies[company.id] = company
            seed_company(app.context(company), seed, replace=True)
            added.append(company.id)
        for email, user in list(app.users.items()):
            app.users[email] = dataclasses.replace(user, companies=(*user.companies, *added))
    server = SandboxServer(app).start()
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    Path(args.port_file).write_text(json.dumps({"port": server.port}), encoding="utf-8")
    stop.wait()
    server.stop()
    return 0


class SandboxProcess:
    """A ``--serve`` child and the port it listens on."""

    def __init__(self, side: str, args: argparse.Namespace, log: Path) -> None:
        port_file = log.with_suffix(".port")
        port_file.unlink(missing_ok=True)
        command = [sys.executable, str(Path(__file__).resolve()), "--serve", side,
                   "--port-file", str(port_file)]  # fmt: skip
        for name in ("connections", "customers", "articles", "projects", "scale", "prefix"):
            command += [f"--{name}", str(getattr(args, name))]
        self._log = log.open("ab")
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=self._log,
                                        stderr=subprocess.STDOUT)  # fmt: skip
        deadline = time.monotonic() + 300
        while not port_file.exists() or not port_file.read_text(encoding="utf-8"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {side} sandbox did not start (see {log})")
            time.sleep(0.1)
        self.port = int(json.loads(port_file.read_text(encoding="utf-8"))["port"])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self._log.close()


# -- the benchmark ------------------------------------------------------------------------


def register(firm: Firm) -> None:
    """The firm's connection: registry entry, eEkonomi consent, register settings."""
    register_firm(firm.connection_id, firm.client_id, firm.secret, company_name=firm.company)


@dataclasses.dataclass
class Result:
    processes: int
    wall: float
    records: int
    cpu: dict[str, float]
    #: The machine's 1-minute load average when the transfers were sent and at the end.
    load: tuple[float, float]

    @property
    def rate(self) -> float:
        return self.records / self.wall


def expected_counts(args: argparse.Namespace) -> dict[str, int]:
    """What each firm's first transfer must create, per register (all articles become
    eEkonomi articles: products, work types and travel-expense types)."""
    return {"customers": args.customers, "products": args.articles, "projects": args.projects}


def wait_all(sent: dict[tuple[str, str], str], timeout: float) -> dict[tuple[str, str], Any]:
    """Every run's final report, polled once a second (the wall time comes from the
    reports' own ``finished_at``, so the poll interval does not change it)."""
    from worker.state import redis_client
    from worker.sync.runs import Runs

    client = redis_client()
    reports: dict[tuple[str, str], Any] = {}
    deadline, shown = time.monotonic() + timeout, time.monotonic()
    while len(reports) < len(sent):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(sent) - len(reports)} runs not finished in {timeout:.0f}s")
        for (connection_id, register), run_id in sent.items():
            if (connection_id, register) in reports:
                continue
            report = Runs(client, connection_id).get(run_id)
            if report is not None and report.status not in ("running", "finishing"):
                reports[connection_id, register] = report
        if time.monotonic() - shown > 20:
            shown = time.monotonic()
            print(f"    … {len(reports)} of {len(sent)} runs finished", flush=True)
        time.sleep(1.0)
    return reports


def check(args: argparse.Namespace, reports: dict[tuple[str, str], Any]) -> int:
    """Stop unless every run finished with created == seeded and nothing failed; the
    records created."""
    want, bad = expected_counts(args), []
    for (connection_id, register), report in sorted(reports.items()):
        if (report.status != "finished" or report.failed or report.created != want[register]
                or report.skipped):  # fmt: skip
            bad.append(f"{connection_id} {register}: {report.summary()}")
    if bad:
        raise RuntimeError("runs that did not transfer everything:\n  " + "\n  ".join(bad))
    return sum(report.created for report in reports.values())


def one_count(args: argparse.Namespace, folder: Path, redis_url: str, processes: int) -> Result:
    """Fresh sandboxes, Redis and worker; every firm's three transfers at once."""

    print(f"{processes} worker process(es): starting sandboxes, registering "
          f"{args.connections} firms …", flush=True)  # fmt: skip
    started = time.monotonic()
    boxes = {side: SandboxProcess(side, args, folder / f"sandbox-{side}.log")
             for side in ("severa", "eekonomi")}  # fmt: skip
    worker: Worker | None = None
    try:
        ports = SimpleNamespace(severa_port=boxes["severa"].port,
                                eekonomi_port=boxes["eekonomi"].port)  # fmt: skip
        wait_up(f"http://127.0.0.1:{ports.severa_port}/rest-api/heartbeat/server", 60)
        env = service_environment(redis_url, folder, ports, args.scale)  # type: ignore[arg-type]
        use_environment(env)
        from worker import app  # after use_environment: the broker is this Redis

        for firm in firms(args.connections, args.prefix):
            register(firm)
        worker = Worker(env, processes, folder / f"worker-{processes}.log")
        worker.wait_ready()
        print(f"  set up in {time.monotonic() - started:.0f}s (not timed); sending "
              f"{args.connections * len(REGISTERS)} transfers at once", flush=True)  # fmt: skip
        pids = {"worker": worker.process.pid, "severa sandbox": boxes["severa"].process.pid,
                "eekonomi sandbox": boxes["eekonomi"].process.pid}  # fmt: skip
        if REDIS_PID[0]:
            pids["redis"] = REDIS_PID[0]
        before, load_before = cpu_snapshot(pids), os.getloadavg()[0]
        sent_at = time.time()
        sent = {}
        for firm in firms(args.connections, args.prefix):
            for name in REGISTERS:
                result = app.send_task(f"sync.transfer_{name}", args=[firm.connection_id],
                                       queue=worker.queue)  # fmt: skip
                sent[firm.connection_id, name] = str(result.id)
        reports = wait_all(sent, args.timeout)
        after = cpu_snapshot(pids)
        wall = max(report.finished_at for report in reports.values()) - sent_at
        records = check(args, reports)
        used = {k: after[k] - before[k] for k in after}
        result = Result(processes, wall, records, used, (load_before, os.getloadavg()[0]))
        print(
            f"  {records} records in {wall:.1f}s = {result.rate:.0f} records/s; CPU s: "
            + ", ".join(f"{k} {v:.1f}" for k, v in result.cpu.items()),
            flush=True,
        )
        return result
    finally:
        if worker is not None:
            worker.stop()
        for box in boxes.values():
            box.stop()


def print_table(args: argparse.Namespace, results: list[Result]) -> None:
    """One row per run; speed-ups against the median records/s of the smallest process
    count (a count given more than once, e.g. ``--processes 1 2 4 1 2 4``, alternates
    with the others so that a change in the machine's load shows up in its repeats)."""
    medians = {n: statistics.median(r.rate for r in results if r.processes == n)
               for n in dict.fromkeys(r.processes for r in results)}  # fmt: skip
    first = min(medians)
    base_rate = medians[first]
    cores = os.cpu_count() or 1
    print(f"\n{args.connections} firms x ({args.customers} customers, {args.articles} articles, "
          f"{args.projects} projects), three transfers each at once, rate limits "
          f"x{args.scale:g} per firm, {cores} cores")  # fmt: skip
    print(f"{'processes':>9} {'wall s':>7} {'records':>8} {'records/s':>10} "
          f"{'speed-up':>9} {'worker CPU s':>13} {'sandboxes CPU s':>16} {'Redis CPU s':>12} "
          f"{'all CPU ÷ wall':>15} {'ms CPU/record':>14} {'load':>11}")  # fmt: skip
    for r in results:
        sandboxes = r.cpu.get("severa sandbox", 0.0) + r.cpu.get("eekonomi sandbox", 0.0)
        total = sum(r.cpu.values())
        print(f"{r.processes:>9} {r.wall:7.1f} {r.records:8} {r.rate:10.1f} "
              f"{r.rate / base_rate:8.2f}x {r.cpu['worker']:13.1f} {sandboxes:16.1f} "
              f"{r.cpu.get('redis', 0.0):12.1f} {total / r.wall:15.2f} "
              f"{total / r.records * 1000:14.2f} {r.load[0]:5.1f}→{r.load[1]:<5.1f}")  # fmt: skip
    per_record = min(sum(r.cpu.values()) / r.records for r in results)
    print(f"(all CPU: worker, sandboxes, Redis and this process, of at most {cores} per second "
          f"of wall time; load: the 1-minute load average at the send → at the end, other "
          f"sessions' processes included. At {per_record * 1000:.2f} ms of CPU per record the "
          f"{cores} cores could carry at most {cores / per_record:.0f} records/s.)")  # fmt: skip
    ratios = {n: rate / base_rate for n, rate in medians.items() if n != first}
    parts = [f"{first} → {n} processes x{ratio:.2f}" if i == 0 else f"{first} → {n} x{ratio:.2f}"
             for i, (n, ratio) in enumerate(ratios.items())]  # fmt: skip
    repeated = len(results) > len(medians)
    print("scale-out" + (" (medians)" if repeated else "") + ": "
          + (", ".join(parts) or f"only {first} process(es) measured, no ratio"))  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=50, help="firms transferring at once")
    parser.add_argument("--customers", type=int, default=100, help="customers per firm")
    parser.add_argument("--articles", type=int, default=40, help="articles per firm")
    parser.add_argument("--projects", type=int, default=20, help="projects per firm")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4],
                        help="worker process counts, one fresh run each (repeat them to "
                        "alternate: 1 2 4 1 2 4; speed-ups are then of the medians)")  # fmt: skip
    parser.add_argument("--scale", type=float, default=10.0, help="rate-limit multiplier")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--keep", action="store_true", help="keep the logs' temporary folder")
    parser.add_argument("--serve", choices=("severa", "eekonomi"), help=argparse.SUPPRESS)
    parser.add_argument("--port-file", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args)
    folder = Path(tempfile.mkdtemp(prefix="bench-scaleout-"))
    os.environ.setdefault("ENV_FILE", str(folder / "absent.env"))
    with redis_server(folder) as redis_url:
        results = []
        for index, processes in enumerate(args.processes):
            args.prefix = f"r{index}p{processes}"
            results.append(one_count(args, folder, redis_url, processes))
    print_table(args, results)
    if args.keep:
        print(f"logs: {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
