"""The issue-5 benchmark: an initial transfer of customers, articles and projects.

Generates Severa seed data of the requested size (customers each with an invoicing
address and a contact; products, work types and travel-expense types with unique codes;
projects with numbers of at most 9 digits), starts ``python -m sandbox`` on it with the
rate limits scaled, an embedded Redis (or ``REDIS_URL``) and a real Celery worker
process, connects through the sandbox's OAuth consent, applies the settings, sends the
three register transfers at once and waits for their runs. Then it reads the sandboxes'
request logs and prints, each with its goal and the ratio to it:

(a) wall time ÷ the lower bound the rate limits allow (endpoints run in parallel);
(b) API requests per transferred record;
(c) the requests of the following no-change runs, per register and side, at 100 records
    and at the full size;
(d) with ``--memory``: the worker's peak memory at 1 000 and 100 000 customers.

    .venv/bin/python bench/register_transfer.py            # 10 000 / 2 000 / 1 000, scale 10
    .venv/bin/python bench/register_transfer.py --quick    # 1 000 / 200 / 100
    .venv/bin/python bench/register_transfer.py --memory   # (d) only

The lower bound of (a): each rate-limit bucket must carry at least the requests the
transfer cannot do without — one write per record plus the list pages of the reads —
at the vendor's sustained rate (× ``--scale``): Severa one bucket per client
(10/s), eEkonomi one per endpoint (600/min = 10/s). Buckets run in parallel, so

    lower bound = max over buckets (minimum requests in the bucket ÷ the bucket's rate)

The sandboxes count in sliding windows (eEkonomi: 60 s), which would also let one
window's worth go out in a burst; the bound ignores that burst, as the product's own
limiter (a token bucket at 95 % / 90 % of the vendor's rates) does by design.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from config.settings import Settings  # noqa: E402
from worker.embedded_redis import EmbeddedRedis, free_port  # noqa: E402
from worker.queues import family  # noqa: E402

REGISTERS = ("customers", "products", "projects")
SETTINGS = {"customers_master": "severa", "products_master": "severa", "cost_center_id": "Projekt"}
#: Vendor limits (sustained, per second) and the product's own defaults.
SEVERA_RATE, EEKONOMI_RATE = 10.0, 600.0 / 60.0
#: The product's defaults are read from its settings, so the bound "at the product's own
#: limits" and the worker's environment follow them when they change.
PRODUCT_SEVERA_RATE = float(Settings.__dataclass_fields__["severa_requests_per_second"].default)
PRODUCT_EEKONOMI_RATE = (
    float(Settings.__dataclass_fields__["eekonomi_requests_per_minute"].default) / 60.0
)
SEVERA_PAGE, EEKONOMI_PAGE = 100, 1000
GOAL_A, GOAL_B = 1.1, 1.1

_GUID = re.compile(r"/[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_NUMBER = re.compile(r"/\d+(?=/|$)")
#: When the last :func:`run_registers` sent its tasks (epoch seconds).
LAST_START = [0.0]
#: The embedded Redis's process id (0: an external Redis).
REDIS_PID = [0]


# -- seed data ----------------------------------------------------------------------------


def _guid(kind: str, n: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench/{kind}/{n}"))


def severa_seed(customers: int, articles: int, projects: int) -> dict[str, Any]:
    """Severa's wire format: the demo's reference data plus the generated registers."""
    from sandbox.severa import demo_data

    demo = demo_data()
    keep = (
        "organizationDetails",
        "organizationSettings",
        "currencies",
        "vatRates",
        "invoiceStatuses",
        "users",
        "countries",
        "communicationTypes",
    )
    seed: dict[str, Any] = {k: (demo[k] if k in keep else []) for k in demo if k != "_meta"}
    tpl = {
        k: demo[k][0]
        for k in (
            "customers",
            "addresses",
            "contactPersons",
            "contactCommunications",
            "products",
            "workTypes",
            "travelExpenseTypes",
            "projects",
            "phases",
        )
    }
    sweden = next(c for c in demo["countries"] if c.get("code2") == "SE")
    email_type = next(t for t in demo["communicationTypes"] if "mail" in str(t).lower())
    created = "2025-01-07T10:00:00.000Z"
    for i in range(customers):
        number = 100_001 + i
        guid, name = _guid("customer", i), f"Benchkund {number} AB"
        ref = {"guid": guid, "name": name, "number": number}
        address_guid, contact_guid = _guid("address", i), _guid("contact", i)
        street, postal, city = f"Storgatan {i % 200 + 1}", f"{11100 + i % 800:05d}", "Stockholm"
        seed["customers"].append(
            {
                **tpl["customers"],
                "guid": guid,
                "name": name,
                "number": number,
                "vatNumber": f"SE55{number:08d}01",
                "email": None,
                "website": None,
                "createdDateTime": created,
                "lastUpdatedDateTime": None,
                "headquarterAddress": {
                    "guid": address_guid,
                    "addressline": street,
                    "postalCode": postal,
                    "city": city,
                    "country": "Sverige",
                },
            }
        )
        seed["addresses"].append(
            {
                **tpl["addresses"],
                "guid": address_guid,
                "customer": ref,
                "addressline": street,
                "postalCode": postal,
                "city": city,
                "country": {k: sweden[k] for k in ("guid", "name", "englishName", "hasRegions")},
                "phone": f"08-{number}",
                "isBillingAddress": True,
                "isPostalAddress": True,
                "isVisitAddress": False,
                "createdDateTime": created,
                "lastUpdatedDateTime": None,
            }
        )
        seed["contactPersons"].append(
            {
                **tpl["contactPersons"],
                "guid": contact_guid,
                "firstName": "Kim",
                "lastName": f"Kontakt{number}",
                "name": f"Kim Kontakt{number}",
                "customer": ref,
                "addressGuid": address_guid,
                "createdDateTime": created,
                "lastUpdatedDateTime": None,
            }
        )
        seed["contactCommunications"].append(
            {
                **tpl["contactCommunications"],
                "guid": _guid("communication", i),
                "value": f"kim@kund{number}.example.se",
                "contact": {"guid": contact_guid, "name": f"Kim Kontakt{number}"},
                "communicationType": email_type | {"type": email_type.get("type", "EmailAddress")},
                "createdDateTime": created,
                "lastUpdatedDateTime": None,
            }
        )
    # Articles: 70 % products, 25 % work types, 5 % travel-expense types.
    travels = max(1, articles // 20) if articles else 0
    work_types = articles * 25 // 100
    for i in range(articles):
        common = {"createdDateTime": created, "lastUpdatedDateTime": None}
        if i < travels:
            seed["travelExpenseTypes"].append(
                {
                    **tpl["travelExpenseTypes"],
                    **common,
                    "guid": _guid("travel", i),
                    "code": f"T-{i:05d}",
                    "name": f"Resa {i}",
                    "expenseClass": "OtherTravelExpense",
                    "isMileage": False,
                    "isDailyAllowance": False,
                    "measurementUnit": "st",
                }
            )
        elif i < travels + work_types:
            seed["workTypes"].append(
                {
                    **tpl["workTypes"],
                    **common,
                    "guid": _guid("work", i),
                    "code": f"W-{i:05d}",
                    "name": f"Arbete {i}",
                    "isDefault": False,
                }
            )
        else:
            seed["products"].append(
                {
                    **tpl["products"],
                    **common,
                    "guid": _guid("product", i),
                    "code": f"P-{i:05d}",
                    "name": f"Produkt {i}",
                    "unitPrice": {**tpl["products"]["unitPrice"], "amount": float(100 + i % 900)},
                }
            )
    for i in range(projects):
        guid, phase = _guid("project", i), _guid("phase", i)
        customer = seed["customers"][i % max(1, customers)] if customers else None
        name = f"Projekt {i}"
        seed["projects"].append(
            {
                **tpl["projects"],
                "guid": guid,
                "number": 2_000_001 + i,
                "name": name,
                "isClosed": False,
                "closedDate": None,
                "billingContact": None,
                "customer": (
                    {
                        "guid": customer["guid"],
                        "name": customer["name"],
                        "number": customer["number"],
                    }
                    if customer
                    else tpl["projects"]["customer"]
                ),
                "rootPhase": {"guid": phase, "name": name},
                "orderNumber": None,
                "createdDateTime": created,
                "lastUpdatedDateTime": None,
            }
        )
        seed["phases"].append(
            {
                **tpl["phases"],
                "guid": phase,
                "name": name,
                "project": {"guid": guid, "name": name},
                "createdDateTime": created,
                "lastUpdatedDateTime": None,
            }
        )
    return seed


def eekonomi_seed() -> dict[str, Any]:
    """eEkonomi's demo company with its reference data and no customers, articles or
    cost-center items (so everything is new there)."""
    from sandbox.eekonomi import demo_data

    seed = demo_data()
    for name in (
        "customers",
        "articles",
        "projects",
        "customerInvoiceDrafts",
        "customerInvoices",
        "supplierInvoices",
    ):
        seed[name] = []
    seed["costCenters"] = [{**c, "Items": []} for c in seed["costCenters"]]
    return seed


def minimum_requests(customers: int, articles: int, projects: int) -> dict[str, int]:
    """The requests a first transfer cannot do without, per rate-limit bucket."""
    travels = max(1, articles // 20) if articles else 0
    work_types = articles * 25 // 100
    products = articles - travels - work_types

    def token(n: int) -> int:  # token paging: the last page has no NextPageToken
        return max(1, math.ceil(n / SEVERA_PAGE))

    def offset(n: int) -> int:  # offset paging: ends with a short page
        return n // SEVERA_PAGE + 1

    severa = (
        1  # token
        + token(customers)
        + offset(customers)
        + offset(customers)  # customers, addresses, contacts
        + token(products)
        + offset(work_types)
        + 1  # travel-expense types: all in one
        + token(projects)
    )
    return {
        "severa (one bucket)": severa,
        "eekonomi /customers": customers + 1,  # list (empty) + one POST each
        "eekonomi /articles": articles + 1,
        "eekonomi /costcenteritems": projects,
        "eekonomi /costcenters": 1,
    }


# -- processes ----------------------------------------------------------------------------


def wait_up(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise TimeoutError(url) from None
            time.sleep(0.2)


@dataclass
class Sandbox:
    severa_port: int
    eekonomi_port: int
    process: subprocess.Popen[bytes]

    @property
    def severa(self) -> str:
        return f"http://127.0.0.1:{self.severa_port}"

    @property
    def eekonomi(self) -> str:
        return f"http://127.0.0.1:{self.eekonomi_port}"

    def reseed(self, severa: Path, eekonomi: Path) -> None:
        for base, path in ((self.severa, severa), (self.eekonomi, eekonomi)):
            answer = requests.post(
                f"{base}/_sandbox/seed",
                params={"replace": "true"},
                data=path.read_bytes(),
                timeout=600,
            )
            answer.raise_for_status()

    def clear_logs(self) -> None:
        for base in (self.severa, self.eekonomi):
            requests.delete(f"{base}/_sandbox/requests", timeout=30).raise_for_status()

    def logs(self) -> dict[str, list[dict[str, Any]]]:
        found = {}
        for side, base in (("severa", self.severa), ("eekonomi", self.eekonomi)):
            answer = requests.get(
                f"{base}/_sandbox/requests", params={"limit": 100_000}, timeout=120
            )
            answer.raise_for_status()
            found[side] = answer.json()["requests"]
        return found

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


def start_sandbox(severa: Path, eekonomi: Path, scale: float, log: Path) -> Sandbox:
    severa_port, eekonomi_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--severa-port",
            str(severa_port),
            "--eekonomi-port",
            str(eekonomi_port),
            "--rate-scale",
            str(scale),
            "--severa-seed",
            str(severa),
            "--eekonomi-seed",
            str(eekonomi),
        ],
        cwd=ROOT,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    box = Sandbox(severa_port, eekonomi_port, process)
    size = severa.stat().st_size
    wait_up(f"{box.severa}/rest-api/heartbeat/server", 60 + size / 1e6)
    wait_up(f"{box.eekonomi}/_sandbox/switches", 60)
    return box


def service_environment(
    redis_url: str, data_dir: Path, box: Sandbox, scale: float
) -> dict[str, str]:
    from config.settings import VARIABLES

    env = {k: v for k, v in os.environ.items() if k not in {v.name for v in VARIABLES}}
    env.update(
        REDIS_URL=redis_url,
        DATA_DIR=str(data_dir),
        ENV_FILE=str(data_dir / "absent.env"),
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
        SANDBOX_SEVERA_PORT=str(box.severa_port),
        SANDBOX_EEKONOMI_PORT=str(box.eekonomi_port),
        SEVERA_REQUESTS_PER_SECOND=f"{PRODUCT_SEVERA_RATE * scale:g}",
        EEKONOMI_REQUESTS_PER_MINUTE=f"{PRODUCT_EEKONOMI_RATE * 60 * scale:g}",
    )
    return env


def use_environment(env: dict[str, str]) -> None:
    """Make this process's settings, Redis client and contexts follow ``env``."""
    from config import get_settings
    from config.settings import VARIABLES
    from worker.state import redis_client
    from worker.sync import service

    for variable in VARIABLES:
        os.environ.pop(variable.name, None)
    os.environ.update({k: v for k, v in env.items() if k in {v.name for v in VARIABLES}})
    get_settings.cache_clear()
    redis_client.cache_clear()
    service._built_context.cache_clear()  # noqa: SLF001 - per-process cache of contexts


def connect(
    connection_id: str,
    values: dict[str, Any] | None = None,
    *,
    company_name: str | None = None,
) -> None:
    """The eEkonomi consent through the sandbox (as ``company_name``'s user when
    given), then the register settings (``values``, else :data:`SETTINGS`)."""
    from config import company, get_settings
    from worker.connect import connect_eekonomi
    from worker.state import redis_client
    from worker.sync.choices import resolve

    named = {} if company_name is None else {"demo_company": company_name}
    connect_eekonomi(get_settings(), connection_id, echo=lambda line: None, **named)
    company.update(redis_client(), connection_id,
                   resolve(connection_id, SETTINGS if values is None else values))  # fmt: skip


def register_firm(
    connection_id: str,
    client_id: str,
    secret: str,
    values: dict[str, Any] | None = None,
    *,
    company_name: str | None = None,
) -> None:
    """A hosted firm: its connection in the registry with its own Severa client, then
    :func:`connect` — what the hosting benchmarks do per firm."""
    from config import get_settings
    from worker.connections import SeveraCredentials, registry

    credentials = SeveraCredentials(get_settings().severa_base_url, client_id, secret)
    registry().add(connection_id, credentials)
    connect(connection_id, values, company_name=company_name)


class Worker:
    """A real ``celery worker`` process on a private queue, its memory sampled."""

    def __init__(
        self,
        env: dict[str, str],
        concurrency: int,
        log: Path,
        *,
        root: Path = ROOT,
        profile_dir: Path | None = None,
        pool: str = "prefork",
        trace_dir: Path | None = None,
    ) -> None:
        """``root``: the checkout whose code the worker runs (another one for a before /
        after comparison); ``profile_dir``: profile every worker process into it
        (``bench/profiled_worker.py``); ``pool``: Celery's pool (``WORKER_POOL``);
        ``trace_dir``: count the Redis commands every worker process sends, by sender,
        into it (``bench/redis_trace/``)."""
        self.queue = f"bench-{uuid.uuid4().hex[:8]}"
        self.hostname = f"{self.queue}@localhost"
        self._log = log.open("ab")
        env = {**env, "PYTHONPATH": str(root)}
        start = [sys.executable, "-m", "celery"]
        if trace_dir is not None:  # count the Redis commands it sends (redis_trace/)
            tracer = Path(__file__).resolve().parent / "redis_trace"
            env["PYTHONPATH"] = f"{tracer}{os.pathsep}{root}"
            env["BENCH_REDIS_TRACE_DIR"] = str(trace_dir)
            env["BENCH_REDIS_TRACE_ROOT"] = str(root)
        if profile_dir is not None:
            env["BENCH_PROFILE_DIR"] = str(profile_dir)
            start = [sys.executable, str(Path(__file__).resolve().parent / "profiled_worker.py")]
        self.process = subprocess.Popen(
            [
                *start,
                "-A",
                "worker",
                "worker",
                "--loglevel=WARNING",
                f"--concurrency={concurrency}",
                f"--pool={pool}",
                f"--hostname={self.hostname}",
                "-Q",
                ",".join(family(self.queue)),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            env=env,
            cwd=root,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.peak_rss = 0
        self.peak_pss = 0
        #: The highest RSS of any one process of the worker (main or pool process).
        self.peak_process_rss = 0
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def wait_ready(self, timeout: float = 60.0) -> None:
        from worker import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the worker exited early (see its log)")
            if app.control.inspect(destination=[self.hostname], timeout=0.5).ping():
                self._sampler.start()
                return
        raise TimeoutError("the worker did not start")

    def reset_peaks(self) -> None:
        self.peak_rss = self.peak_pss = self.peak_process_rss = 0

    def _sample(self) -> None:
        import psutil

        root = psutil.Process(self.process.pid)
        tick = 0
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                tree = [root, *root.children(recursive=True)]
                rss = [p.memory_info().rss for p in tree]
                self.peak_rss = max(self.peak_rss, sum(rss))
                self.peak_process_rss = max(self.peak_process_rss, *rss)
                if tick % 5 == 0:  # PSS reads smaps: slower, so less often
                    with contextlib.suppress(psutil.Error, AttributeError):
                        pss = sum(p.memory_full_info().pss for p in tree)
                        self.peak_pss = max(self.peak_pss, pss)
            tick += 1
            self._stop.wait(0.1)

    def stop(self) -> None:
        self._stop.set()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self._log.close()


def run_registers(
    connection_id: str, queue: str, registers: tuple[str, ...], timeout: float, label: str
) -> tuple[float, dict[str, Any]]:
    """Send the registers' transfers at once; wait for their runs; (wall time, reports)."""
    from worker import app
    from worker.state import redis_client
    from worker.sync.runs import Runs

    runs = Runs(redis_client(), connection_id)
    started = time.time()
    LAST_START[0] = started
    sent = {
        r: app.send_task(f"sync.transfer_{r}", args=[connection_id], queue=queue) for r in registers
    }
    reports: dict[str, Any] = {}
    deadline, shown = time.monotonic() + timeout, time.monotonic()
    while len(reports) < len(registers):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{label}: runs not finished in {timeout:.0f}s: {reports}")
        for register, result in sent.items():
            if register in reports:
                continue
            report = runs.get(str(result.id))
            if report is not None and report.status not in ("running", "finishing"):
                reports[register] = report
            elif report is None and result.ready():
                raise RuntimeError(f"{label}: {register} did not start: {result.result}")
        if time.monotonic() - shown > 15:
            shown = time.monotonic()
            progress = []
            for register, result in sent.items():
                report = reports.get(register) or runs.get(str(result.id))
                progress.append(
                    f"{register} {report.settled}/{report.expected}" if report else f"{register} -"
                )
            print(f"    … {time.time() - started:5.0f}s  {', '.join(progress)}", flush=True)
        time.sleep(0.1)
    finished = max(r.finished_at for r in reports.values())
    return finished - started, reports


def cpu_snapshot(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds (user + system) so far of each process tree, and of this process."""
    import psutil

    found = {}
    for name, pid in pids.items():
        try:
            root = psutil.Process(pid)
            tree = [root, *root.children(recursive=True)]
            found[name] = sum(sum(p.cpu_times()[:2]) for p in tree)
        except psutil.Error:
            found[name] = 0.0
    own = os.times()
    found["bench (this process)"] = own.user + own.system
    return found


# -- request-log analysis -----------------------------------------------------------------


def template(path: str) -> str:
    """A logged path as its rate-limit endpoint: ids become ``{id}``, prefixes dropped."""
    path = path.split("?", 1)[0].lower().rstrip("/")
    path = re.sub(r"^/rest-api(/v1(\.0)?)?", "", path)
    path = re.sub(r"^/v[12]", "", path)
    return _NUMBER.sub("/{id}", _GUID.sub("/{id}", path))


def is_auth(path: str) -> bool:
    return path.startswith("/connect/") or path.endswith("/token") or "refreshtoken" in path


def tally(logs: dict[str, list[dict[str, Any]]]) -> dict[str, Counter[str]]:
    """``{side: Counter("METHOD /endpoint")}`` of the data requests (auth separately)."""
    found: dict[str, Counter[str]] = {}
    for side, entries in logs.items():
        found[side] = Counter(
            ("AUTH " if is_auth(e["path"]) else f"{e['method']} ")
            + template(e["path"])
            + (" [429]" if e["status"] == 429 else "")
            for e in entries
        )
    return found


def buckets(logs: dict[str, list[dict[str, Any]]]) -> dict[str, list[float]]:
    """Request times per rate-limit bucket as the sandboxes count them."""
    found: dict[str, list[float]] = defaultdict(list)
    for entry in logs["severa"]:
        found["severa (one bucket)"].append(entry["time"])
    for entry in logs["eekonomi"]:
        if not is_auth(entry["path"]):
            found[f"eekonomi {_bucket_of(template(entry['path']))}"].append(entry["time"])
    return found


def _bucket_of(endpoint: str) -> str:
    # The sandbox counts per route template regardless of method.
    return endpoint


# -- the stage-phase child (memory) -------------------------------------------------------


def _status_kb(name: str) -> int:
    """A ``/proc/self/status`` figure in kB (``VmHWM``: peak RSS of this process image —
    unlike ``ru_maxrss`` it does not inherit the parent's peak across fork + exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def stage_phase(connection_id: str, register: str) -> None:
    """Run steps 1–3 of a register run here, the fan-out only counted; print peak RSS."""
    from worker.registry import register_named
    from worker.sync import engine, service

    ctx = service.context_for(connection_id)
    ctx.clients.eekonomi.get_company_settings()  # warm up as a worker would be
    baseline = _status_kb("VmHWM")
    fanned = 0

    def enqueue(batch: list[str]) -> None:
        nonlocal fanned
        fanned += len(batch)

    started = time.monotonic()
    engine.start_run(ctx, register_named(register), uuid.uuid4().hex, enqueue)
    peak = _status_kb("VmHWM")
    print(
        json.dumps(
            {
                "baseline_kb": baseline,
                "peak_kb": peak,
                "fanned_out": fanned,
                "seconds": time.monotonic() - started,
            }
        )
    )


# -- the benchmark ------------------------------------------------------------------------


@dataclass
class World:
    """One sized data set: seeds on disk and the figures measured on it."""

    customers: int
    articles: int
    projects: int
    severa_file: Path = Path()
    eekonomi_file: Path = Path()
    connection_id: str = ""
    nochange: list[dict[str, dict[str, Counter[str]]]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.customers}/{self.articles}/{self.projects}"

    def write_seeds(self, folder: Path) -> None:
        self.severa_file = folder / f"severa-{self.label.replace('/', '-')}.json"
        self.eekonomi_file = folder / "eekonomi.json"
        started = time.monotonic()
        seed = severa_seed(self.customers, self.articles, self.projects)
        self.severa_file.write_text(json.dumps(seed, ensure_ascii=False), encoding="utf-8")
        self.eekonomi_file.write_text(
            json.dumps(eekonomi_seed(), ensure_ascii=False), encoding="utf-8"
        )
        mb = self.severa_file.stat().st_size / 1e6
        print(f"  seed {self.label}: {mb:.1f} MB in {time.monotonic() - started:.1f}s")


def no_change_runs(
    world: World, box: Sandbox, worker: Worker, rounds: int, timeout: float, wait: float
) -> None:
    """Each register alone (so its requests are its own), ``rounds`` times in a row,
    the first after ``wait`` seconds (past the engine's 2-minute watermark overlap, so
    the second round no longer re-reads the first transfer's own writes)."""
    if wait > 0:
        print(f"    waiting {wait:.0f}s (watermark overlap) before the no-change runs", flush=True)
        time.sleep(wait)
    for _ in range(rounds):
        per_register: dict[str, dict[str, Counter[str]]] = {}
        for register in REGISTERS:
            box.clear_logs()
            _, reports = run_registers(
                world.connection_id, worker.queue, (register,), timeout, "no-change"
            )
            report = reports[register]
            if report.created or report.updated or report.failed:
                print(f"    ! no-change {register}: {report.summary()}")
            per_register[register] = tally(box.logs())
            per_register[register]["_report"] = Counter(
                {k: getattr(report, k) for k in ("expected", "unchanged", "created", "updated")}
            )
        world.nochange.append(per_register)


def print_first_transfer(
    world: World,
    wall: float,
    reports: dict[str, Any],
    logs: dict[str, list[dict[str, Any]]],
    scale: float,
) -> tuple[float, float]:
    print(
        f"\nInitial transfer of {world.customers} customers, {world.articles} articles, "
        f"{world.projects} projects (rate limits x{scale:g})"
    )
    for register, report in reports.items():
        print(
            f"  {register:<9} {report.duration:7.1f}s  expected {report.expected:6}  "
            f"created {report.created:6}  updated {report.updated:4}  unchanged "
            f"{report.unchanged:4}  failed {report.failed:3}  skipped {report.skipped:3}"
        )
    counts = tally(logs)
    total = sum(counts["severa"].values()) + sum(counts["eekonomi"].values())
    print("  requests per endpoint:")
    for side in ("severa", "eekonomi"):
        for name, n in sorted(counts[side].items(), key=lambda kv: -kv[1]):
            print(f"    {side:<8} {name:<44} {n:7}")
    minimum = minimum_requests(world.customers, world.articles, world.projects)
    observed = buckets(logs)
    print(
        "  rate-limit buckets: minimum requests / observed requests, time at vendor rate, "
        "first..last request after the start:"
    )
    bound, product_bound = 0.0, 0.0
    for name in sorted(set(minimum) | set(observed)):
        rate = (SEVERA_RATE if name.startswith("severa") else EEKONOMI_RATE) * scale
        product_rate = (
            PRODUCT_SEVERA_RATE if name.startswith("severa") else PRODUCT_EEKONOMI_RATE
        ) * scale
        need = minimum.get(name, 0)
        times = observed.get(name, [])
        first = (min(times) - LAST_START[0]) if times else 0.0
        last = (max(times) - LAST_START[0]) if times else 0.0
        bound = max(bound, need / rate)
        product_bound = max(product_bound, need / product_rate)
        print(
            f"    {name:<28} min {need:6}  seen {len(times):6}  "
            f"{need / rate:6.1f}s (min) {len(times) / rate:6.1f}s (seen)  "
            f"+{first:5.1f}s..+{last:5.1f}s"
        )
    print("  sandbox time per write (median ms, first 10 % → last 10 % of the writes):")
    for side in ("severa", "eekonomi"):
        writes: dict[str, list[float]] = defaultdict(list)
        for entry in logs[side]:
            if entry["method"] != "GET" and not is_auth(entry["path"]):
                name = f"{entry['method']} {template(entry['path'])}"
                writes[name].append(entry["duration_ms"])
        for name, durations in sorted(writes.items()):
            tenth = max(1, len(durations) // 10)
            print(
                f"    {side:<8} {name:<30} {statistics.median(durations[:tenth]):6.2f} → "
                f"{statistics.median(durations[-tenth:]):6.2f}  ({len(durations)} writes)"
            )
    transferred = sum(r.created + r.updated for r in reports.values())
    ratio_a, ratio_b = wall / bound, total / max(1, transferred)
    print(
        "  lower bound = max over buckets (minimum requests ÷ vendor rate x scale) "
        f"= {bound:.1f}s  (at the product's own {PRODUCT_SEVERA_RATE:g}/s, "
        f"{PRODUCT_EEKONOMI_RATE * 60:g}/min limits: {product_bound:.1f}s)"
    )
    print(
        f"(a) wall time {wall:.1f}s ÷ lower bound {bound:.1f}s = {ratio_a:.2f}   "
        f"goal <= {GOAL_A}  -> {'met' if ratio_a <= GOAL_A else 'NOT met'} "
        f"(÷ the product-limit bound: {wall / product_bound:.2f})"
    )
    print(
        f"(b) {total} API requests (auth included) ÷ {transferred} records transferred "
        f"= {ratio_b:.3f}   goal <= {GOAL_B}  -> {'met' if ratio_b <= GOAL_B else 'NOT met'}"
    )
    return ratio_a, ratio_b


def print_no_change(worlds: list[World]) -> None:
    print(
        "\n(c) requests of the following no-change runs, per register and side "
        "(each register run alone; auth excluded)"
    )
    goal = {
        ("customers", "severa"): 3,
        ("customers", "eekonomi"): 1,
        ("products", "severa"): 3,
        ("products", "eekonomi"): 1,
        ("projects", "severa"): 1,
        ("projects", "eekonomi"): 1,
    }
    header = "".join(
        f"  run {i + 1} @ {w.label:>15}" for w in worlds for i in range(len(w.nochange))
    )
    print(f"  {'register':<9} {'side':<8} {'goal':>4}{header}")
    for register in REGISTERS:
        for side in ("severa", "eekonomi"):
            cells = []
            for world in worlds:
                for counts in world.nochange:
                    n = sum(
                        v for k, v in counts[register][side].items() if not k.startswith("AUTH")
                    )
                    cells.append(f"{n:>27}")
            print(f"  {register:<9} {side:<8} {goal[register, side]:>4}{''.join(cells)}")
    print(
        "  goal: one per vendor resource read (Severa customers: customers, addresses, "
        "contacts; products: products, work types, travel-expense types), the same at "
        "both sizes"
    )
    for world in worlds:
        for i, counts in enumerate(world.nochange):
            for register in REGISTERS:
                report = counts[register]["_report"]
                detail = "; ".join(
                    f"{side}: "
                    + ", ".join(
                        f"{k} {v}"
                        for k, v in sorted(counts[register][side].items())
                        if not k.startswith("AUTH")
                    )
                    or "-"
                    for side in ("severa", "eekonomi")
                )
                print(
                    f"    {world.label} run {i + 1} {register}: {report['expected']} "
                    f"records re-read; {detail}"
                )


def main_transfer(args: argparse.Namespace, folder: Path, redis_url: str) -> int:
    big = World(args.customers, args.articles, args.projects)
    small = World(args.small, args.small, args.small)
    worlds = [big] + ([small] if args.small else [])
    for world in worlds:
        world.write_seeds(folder)
    box = start_sandbox(big.severa_file, big.eekonomi_file, args.scale, folder / "sandbox.log")
    worker: Worker | None = None
    results: list[float] = []
    try:
        env = service_environment(redis_url, folder, box, args.scale)
        use_environment(env)
        worker = Worker(env, args.concurrency, folder / "worker.log")
        worker.wait_ready()
        for index, world in enumerate(worlds):
            if index:
                box.reseed(world.severa_file, world.eekonomi_file)
            world.connection_id = f"bench-{uuid.uuid4().hex[:8]}"
            connect(world.connection_id)
            box.clear_logs()
            worker.reset_peaks()
            print(f"  {world.label}: first transfer of the three registers at once …", flush=True)
            pids = {"worker": worker.process.pid, "sandbox": box.process.pid}
            if REDIS_PID[0]:
                pids["redis"] = REDIS_PID[0]
            cpu_before = cpu_snapshot(pids)
            wall, reports = run_registers(
                world.connection_id, worker.queue, REGISTERS, args.timeout, "first transfer"
            )
            cpu_after = cpu_snapshot(pids)
            logs = box.logs()
            if index == 0:
                results += print_first_transfer(world, wall, reports, logs, args.scale)
                used = {k: cpu_after[k] - cpu_before[k] for k in cpu_after}
                cores = os.cpu_count() or 1
                print(
                    f"    CPU during it: {sum(used.values()):.1f}s of {wall * cores:.1f}s "
                    f"available ({cores} cores x {wall:.1f}s): "
                    + ", ".join(f"{k} {v:.1f}s" for k, v in used.items())
                )
                print(
                    f"    worker peak memory during it: RSS sum {worker.peak_rss / 2**20:.0f} MB"
                    f" (PSS sum {worker.peak_pss / 2**20:.0f} MB), concurrency {args.concurrency}"
                )
            no_change_runs(world, box, worker, args.rounds, args.timeout, args.steady_wait)
        print_no_change(worlds)
    finally:
        if worker is not None:
            worker.stop()
        box.stop()
    print(f"\nworker log: {folder / 'worker.log'}" if args.keep else "")
    return 0 if results and all(r <= 1.1 for r in results) else 1


def main_memory(args: argparse.Namespace, folder: Path, redis_url: str) -> int:
    print(
        "(d) peak memory. Per size: (1) the read/stage phase of a customers run (what a "
        "worker's register task does before its records fan out) in a fresh process, "
        "peak RSS = VmHWM; (2) at the small size also a whole transfer in a real "
        "worker (RSS and PSS summed over its process tree, sampled every 0.1 s)."
    )
    rows = []
    whole: dict[int, float] = {}
    for size in args.memory_sizes:
        world = World(size, 0, 0)
        world.write_seeds(folder)
        box = start_sandbox(
            world.severa_file, world.eekonomi_file, args.memory_scale, folder / "sandbox.log"
        )
        try:
            env = service_environment(redis_url, folder, box, args.memory_scale)
            use_environment(env)
            world.connection_id = f"bench-{uuid.uuid4().hex[:8]}"
            connect(world.connection_id)
            child = subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--stage-phase",
                    world.connection_id,
                    "customers",
                ],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=args.timeout,
            )
            if child.returncode:
                print(child.stderr[-3000:])
                raise RuntimeError("the stage-phase process failed")
            stage = json.loads(child.stdout.strip().splitlines()[-1])
            full = ""
            if size <= args.memory_full_max:
                world.connection_id = f"bench-{uuid.uuid4().hex[:8]}"
                connect(world.connection_id)
                worker = Worker(env, args.concurrency, folder / "worker.log")
                try:
                    worker.wait_ready()
                    wall, _ = run_registers(
                        world.connection_id, worker.queue, ("customers",), args.timeout, "memory"
                    )
                    full = (
                        f"whole transfer in the worker ({wall:.0f}s): peak RSS of one "
                        f"process {worker.peak_process_rss / 2**20:.0f} MB, RSS sum "
                        f"{worker.peak_rss / 2**20:.0f} MB, PSS sum "
                        f"{worker.peak_pss / 2**20:.0f} MB"
                    )
                    whole[size] = worker.peak_process_rss / 2**20
                finally:
                    worker.stop()
            rows.append((size, stage, full))
            print(
                f"  {size:>7} customers: read/stage phase {stage['seconds']:.1f}s, "
                f"{stage['fanned_out']} keys; peak RSS {stage['peak_kb'] / 1024:.0f} MB "
                f"(process after imports and connection: {stage['baseline_kb'] / 1024:.0f} MB, "
                f"growth {(stage['peak_kb'] - stage['baseline_kb']) / 1024:.0f} MB)"
                + (f"; {full}" if full else ""),
                flush=True,
            )
        finally:
            box.stop()
    if len(rows) >= 2:
        low, high = rows[0][1], rows[-1][1]
        growth_low = (low["peak_kb"] - low["baseline_kb"]) / 1024
        growth_high = (high["peak_kb"] - high["baseline_kb"]) / 1024
        print(
            f"  growth of the read/stage phase: {growth_low:.0f} MB at {rows[0][0]} → "
            f"{growth_high:.0f} MB at {rows[-1][0]} customers "
            f"(x{growth_high / max(1.0, growth_low):.1f} for x{rows[-1][0] / rows[0][0]:.0f} "
            "the records; streaming means it stays about flat)"
        )
    if len(whole) >= 2:
        sizes = sorted(whole)
        print(
            f"  growth of a whole transfer's peak RSS per process: {whole[sizes[0]]:.0f} MB "
            f"at {sizes[0]} → {whole[sizes[-1]]:.0f} MB at {sizes[-1]} customers = "
            f"{whole[sizes[-1]] - whole[sizes[0]]:+.0f} MB (goal < 50 MB)"
        )
    return 0


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with EmbeddedRedis(folder / "redis") as server:
        REDIS_PID[0] = server.process.pid if server.process else 0
        yield server.url


def main() -> int:
    from config.settings import load_settings  # noqa: PLC0415 - after sys.path is set

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--articles", type=int, default=2_000)
    parser.add_argument("--projects", type=int, default=1_000)
    parser.add_argument(
        "--scale",
        type=float,
        default=10.0,
        help="rate-limit multiplier (x10: a ~2-minute run that leaves the 2 cores room; at "
        "x20 the worker, sandbox and Redis saturate them while all three registers write)",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=load_settings().worker_concurrency,
        help="worker processes (default: WORKER_CONCURRENCY, as the service)",
    )
    parser.add_argument(
        "--small", type=int, default=100, help="size of the second world for (c) (0: skip)"
    )
    parser.add_argument("--rounds", type=int, default=2, help="no-change runs after each transfer")
    parser.add_argument(
        "--steady-wait",
        type=float,
        default=125.0,
        help="seconds between a first transfer and its no-change runs (0: none)",
    )
    parser.add_argument("--quick", action="store_true", help="1 000 / 200 / 100")
    parser.add_argument("--memory", action="store_true", help="(d) only")
    parser.add_argument(
        "--no-limits",
        action="store_true",
        help="worker CPU per created record with the rate limits off, and where it goes "
        "(bench/worker_cpu.py)",
    )
    parser.add_argument(
        "--compare",
        metavar="CHECKOUT",
        help="with --no-limits: also run the worker of this checkout (e.g. a worktree of "
        "main), alternating, and print both side by side",
    )
    parser.add_argument("--cpu-rounds", type=int, default=3, help="with --no-limits: runs each")
    parser.add_argument(
        "--no-profile", action="store_true", help="with --no-limits: skip the profiled run"
    )
    parser.add_argument(
        "--trace-commands",
        action="store_true",
        help="with --no-limits: one more run each that counts the Redis commands the worker "
        "sends, by the code that sends them (bench/redis_trace/)",
    )
    parser.add_argument("--memory-sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--memory-scale", type=float, default=100.0)
    parser.add_argument(
        "--memory-full-max",
        type=int,
        default=1_000,
        help="also run whole transfers in a worker up to this many customers",
    )
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--stage-phase", nargs=2, metavar=("CONNECTION", "REGISTER"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.stage_phase:
        stage_phase(*args.stage_phase)
        return 0
    if args.quick:
        args.customers, args.articles, args.projects = 1_000, 200, 100
    folder = Path(tempfile.mkdtemp(prefix="bench-transfer-"))
    try:
        with redis_server(folder) as redis_url:
            os.environ.setdefault("ENV_FILE", str(folder / "absent.env"))
            if args.memory:
                return main_memory(args, folder, redis_url)
            if args.no_limits:
                from worker_cpu import main_cpu

                return main_cpu(args, folder, redis_url)
            return main_transfer(args, folder, redis_url)
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
