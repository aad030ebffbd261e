"""Issue 16, registry scale: API requests per idle connection per hour (no-change runs only).

One connection as a hosted firm has it — its own Severa credentials in the connection
registry, eEkonomi consent, every register's settings — on generated data (the invoice
benchmark's: ``--customers`` 100, ``--articles`` 40, ``--projects`` 20, ``--invoices`` 20
to transfer), linked by one transfer of every register through a real ``celery worker``
(``python -m sandbox`` on that data, rate limits x``--scale``). The invoices have no
travel-expense rows unless ``--travel-rows``: those drafts carry a totals warning (VAT
differs), and every invoice run re-reads each warned draft and its Severa invoice.
After ``--steady-wait`` seconds (past the engine's 2-minute watermark overlap, so no run
re-reads the linking runs' own writes) nothing has changed on either side, and:

**Measured — requests per run.** Every register beat schedules (``worker/registry.py``:
customers, products, projects, invoices, sent and paid checks, supplier invoices) runs
alone, in a fresh run each, and the sandboxes' request logs are counted per side: once
*cold* (the connection's cached reference data dropped, as after ``REFERENCE_DATA_TTL``
= 300 s: every scheduled run comes at least 10 minutes after the previous one of its
register) and once *warm* (right after, the cache filled — a register that runs in the
same beat tick as another may find it so). Token renewals are measured apart: the stored
tokens are made due for renewal, a fresh worker runs one register, and its token
requests per side are counted.

**Arithmetic — per hour.** Runs per hour per register = 60 ÷ its interval setting (the
defaults of ``config/company.py``: registers 15 min, invoices and their sent / paid
checks 10 min, supplier invoices 60 min); token renewals per hour = 3600 ÷ (token
lifetime − the client's renewal margin, ``RENEW_MARGIN``). Beat's other jobs
(``heartbeat``, ``resume_stalled_runs``, ``check_alerts``) read and write Redis only and
send no API request on an idle connection.

    .venv/bin/python bench/idle_requests.py
    .venv/bin/python bench/registry_scale.py        # runs this after the registry figures
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
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
    SETTINGS,
    Sandbox,
    Worker,
    eekonomi_seed,
    redis_server,
    register_firm,
    service_environment,
    start_sandbox,
    tally,
    use_environment,
)

CONNECTION = "idle-firm"
SIDES = ("severa", "eekonomi")


def requests_of(box: Sandbox) -> tuple[dict[str, int], dict[str, int], dict[str, Counter[str]]]:
    """Data and token requests per side since the logs were cleared, and the detail."""
    counts = tally(box.logs())
    data = {s: sum(n for k, n in counts[s].items() if not k.startswith("AUTH")) for s in SIDES}
    auth = {s: sum(n for k, n in counts[s].items() if k.startswith("AUTH")) for s in SIDES}
    return data, auth, counts


def drop_reference_data() -> int:
    """Delete the connection's cached reference data (as its TTL would); keys deleted."""
    from worker.keys import key
    from worker.state import redis_client

    client = redis_client()
    found = list(client.scan_iter(match=key(CONNECTION, "refdata", "*")))
    return int(client.delete(*found)) if found else 0


def run_one(register: str, queue: str, timeout: float) -> Any:
    """Send one register's transfer (its beat task, ``spec.task``) and wait for its report."""
    from worker import app
    from worker.registry import spec_of
    from worker.state import redis_client
    from worker.sync.runs import Runs

    result = app.send_task(spec_of(register).task, args=[CONNECTION], queue=queue)
    runs, deadline = Runs(redis_client(), CONNECTION), time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = runs.get(str(result.id))
        if report is not None and report.status not in ("running", "finishing"):
            return report
        if report is None and result.ready():
            raise RuntimeError(f"{register} did not start: {result.result}")
        time.sleep(0.05)
    raise TimeoutError(f"{register}: not finished in {timeout:.0f}s")


def setup(plan: Plan, worker: Worker, timeout: float) -> None:
    """Register, connect, apply every register's settings, link every register once:
    customers, articles and projects, then the invoices (drafts in eEkonomi), then the
    checks and supplier invoices — each must finish with nothing failed."""
    from config import company
    from sandbox.severa import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
    from worker.demo import DEMO_SETTINGS
    from worker.registry import NAMES
    from worker.state import redis_client
    from worker.sync.choices import resolve
    from worker.sync.errorlist import ErrorList

    first = {
        **SETTINGS,
        **{
            k: DEMO_SETTINGS[k]
            for k in ("status_sent", "status_paid", "supplier_invoices_billable")
        },
    }
    register_firm(CONNECTION, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, first)
    for register in NAMES:  # in order: invoices need the registers, suppliers the projects
        if register == "invoices":  # the default article exists in eEkonomi by now
            extra = {"default_article_number": plan.default_article,
                     "status_to_transfer": STATUS_TO_TRANSFER,
                     "status_transferred": STATUS_TRANSFERRED}  # fmt: skip
            company.update(redis_client(), CONNECTION, resolve(CONNECTION, extra))
        report = run_one(register, worker.queue, timeout)
        print(f"  link {report.summary()}", flush=True)
        if report.failed or report.status != "finished":
            raise RuntimeError(f"linking {register} failed: {report.summary()}")
    entries = list(ErrorList(redis_client(), CONNECTION).entries())
    warned = sum(1 for entry in entries if entry.record_key.endswith(":totals"))
    print(f"  error list after linking: {len(entries)} entries, {warned} of them totals "
          "warnings (each one's draft is re-read by every invoice run)")  # fmt: skip


def measure_runs(
    box: Sandbox, worker: Worker, timeout: float
) -> dict[str, dict[str, dict[str, int]]]:
    """``{register: {"cold"|"warm": {side: data requests}}}``, each run alone."""
    from worker.registry import NAMES

    found: dict[str, dict[str, dict[str, int]]] = {}
    for register in NAMES:
        found[register] = {}
        for phase in ("cold", "warm"):
            if phase == "cold":
                drop_reference_data()
            box.clear_logs()
            report = run_one(register, worker.queue, timeout)
            data, auth, counts = requests_of(box)
            if report.created or report.updated or report.failed or report.status != "finished":
                raise RuntimeError(f"{register} {phase}: not a no-change run: {report.summary()}")
            if any(auth.values()):
                print(f"  ! {register} {phase}: token requests {auth} (counted apart)")
            found[register][phase] = data
            detail = "; ".join(
                f"{side}: " + (", ".join(f"{k} {n}" for k, n in sorted(counts[side].items())
                                         if not k.startswith("AUTH")) or "-")
                for side in SIDES
            )  # fmt: skip
            print(f"  {register:<17} {phase}: {report.expected} records re-read; {detail}")
    return found


def measure_renewal(
    box: Sandbox, env: dict[str, str], folder: Path, timeout: float
) -> tuple[dict[str, int], dict[str, float]]:
    """Token requests of one renewal per side, and each side's token lifetime: the
    stored tokens are made due (as if issued a lifetime ago, 60 s left: within the
    renewal margin), then a fresh worker (no tokens in its memory) runs one register.
    The lifetime is read off the renewed tokens."""
    from config import get_settings
    from worker.clients.tokens import TokenStore
    from worker.crypto import secret_box
    from worker.state import redis_client

    stores = {side: TokenStore(redis_client(), secret_box(get_settings()),
                               connection_id=CONNECTION, api=side)
              for side in SIDES}  # fmt: skip
    for side, store in stores.items():
        tokens = store.load()
        if tokens is None:
            raise RuntimeError(f"no stored {side} token")
        lifetime = tokens.expires_at - tokens.issued_at if tokens.issued_at else 3600.0
        due = time.time() + 60
        store.save(dataclasses.replace(
            tokens, expires_at=due, issued_at=due - lifetime if tokens.issued_at else 0.0
        ))  # fmt: skip
    worker = Worker(env, 1, folder / "worker-renewal.log")
    try:
        worker.wait_ready()
        box.clear_logs()
        run_one("projects", worker.queue, timeout)
        _, auth, _ = requests_of(box)
    finally:
        worker.stop()
    lifetimes = {}
    for side, store in stores.items():
        renewed = store.load()
        if renewed is None or renewed.expires_at - time.time() < 600:
            raise RuntimeError(f"the {side} token was not renewed")
        left = renewed.expires_at - (renewed.issued_at or time.time())
        lifetimes[side] = float(round(left / 10) * 10)  # a run's seconds off, if unknown
    return auth, lifetimes


def print_figures(
    runs: dict[str, dict[str, dict[str, int]]],
    renewal: dict[str, int],
    lifetimes: dict[str, float],
) -> None:
    from config import company
    from worker.clients.auth import RENEW_MARGIN
    from worker.registry import spec_of
    from worker.state import redis_client

    values = company.load(redis_client(), CONNECTION)
    print("\nMeasured: data requests per no-change run (each register alone; token requests "
          "apart).  Arithmetic: runs per hour = 60 ÷ the interval setting (defaults).")  # fmt: skip
    print(f"  {'register':<18} {'interval':>8} {'runs/h':>7}  {'severa cold/warm':>16}  "
          f"{'eekonomi cold/warm':>18}  {'per hour (cold)':>15}")  # fmt: skip
    hour = {phase: dict.fromkeys(SIDES, 0.0) for phase in ("cold", "warm")}
    for register, phases in runs.items():
        minutes = float(values[spec_of(register).interval_setting])
        per_hour = 60.0 / minutes
        for phase in ("cold", "warm"):
            for side in SIDES:
                hour[phase][side] += per_hour * phases[phase][side]
        cold = phases["cold"]
        print(f"  {register:<18} {minutes:6.0f} m {per_hour:7.2f}  "
              f"{cold['severa']:>7} / {phases['warm']['severa']:<6}  "
              f"{cold['eekonomi']:>8} / {phases['warm']['eekonomi']:<7}  "
              f"{per_hour * sum(cold.values()):15.1f}")  # fmt: skip
    tokens = {}
    for side in SIDES:
        lifetime = lifetimes[side]
        renewals = 3600.0 / max(1.0, lifetime - RENEW_MARGIN)
        tokens[side] = renewals * renewal[side]
        print(f"  token renewal {side:<8}: {renewal[side]} request(s) each (measured); lifetime "
              f"{lifetime:.0f} s, renewed {RENEW_MARGIN:.0f} s early = {renewals:.2f} "
              f"renewals/h (arithmetic) = {tokens[side]:.2f} requests/h")  # fmt: skip
    for phase, label in (("cold", "every run cold (upper bound)"),
                         ("warm", "every run warm (lower bound)")):  # fmt: skip
        per_side = {side: hour[phase][side] + tokens[side] for side in SIDES}
        print(f"  per hour, {label}: Severa {per_side['severa']:.1f}, eEkonomi "
              f"{per_side['eekonomi']:.1f}, sum {sum(per_side.values()):.1f}")  # fmt: skip
    total = {side: hour["cold"][side] + tokens[side] for side in SIDES}
    print(f"requests per idle connection per hour: Severa {total['severa']:.0f}, eEkonomi "
          f"{total['eekonomi']:.0f}, sum {sum(total.values()):.0f} (cold runs; measured per run "
          f"x default schedule)")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=10.0, help="rate-limit multiplier")
    parser.add_argument("--steady-wait", type=float, default=125.0,
                        help="seconds between linking and the no-change runs (the "
                        "watermark overlap is 120 s)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--keep", action="store_true", help="keep the logs' temporary folder")
    parser.add_argument("--customers", type=int, default=100, help="of the idle firm")
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument("--projects", type=int, default=20)
    parser.add_argument("--invoices", type=int, default=20, help="transferred while linking")
    parser.add_argument("--travel-rows", action="store_true",
                        help="give invoices travel-expense rows: their drafts carry totals "
                        "warnings, which each invoice run re-reads (2 requests each)")  # fmt: skip
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-idle-"))
    os.environ.setdefault("ENV_FILE", str(folder / "absent.env"))
    plan = Plan(invoices=args.invoices, customers=args.customers, articles=args.articles,
                projects=args.projects, seed=1, travel_rows=args.travel_rows)  # fmt: skip
    seeds = {"severa": folder / "severa.json", "eekonomi": folder / "eekonomi.json"}
    for side, data in (("severa", severa_invoice_seed(plan)), ("eekonomi", eekonomi_seed())):
        seeds[side].write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with redis_server(folder) as redis_url:
        box = start_sandbox(seeds["severa"], seeds["eekonomi"], args.scale,
                            folder / "sandbox.log")  # fmt: skip
        worker: Worker | None = None
        try:
            env = service_environment(redis_url, folder, box, args.scale)
            use_environment(env)
            worker = Worker(env, 2, folder / "worker.log")
            worker.wait_ready()
            setup(plan, worker, args.timeout)
            if args.steady_wait > 0:
                print(f"  waiting {args.steady_wait:.0f}s (watermark overlap) …", flush=True)
                time.sleep(args.steady_wait)
            runs = measure_runs(box, worker, args.timeout)
            worker.stop()
            worker = None
            renewal, lifetimes = measure_renewal(box, env, folder, args.timeout)
            print_figures(runs, renewal, lifetimes)
        finally:
            if worker is not None:
                worker.stop()
            box.stop()
    if args.keep:
        print(f"logs: {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
