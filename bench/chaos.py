"""The issue-14 chaos benchmark: a whole transfer under 100+ injected faults, then counted.

A generated world — Severa customers, articles (products, work types, travel-expense
types), projects and invoices "to transfer" (``bench/invoice_transfer.py``'s generator),
and supplier invoices booked in eEkonomi on the projects' cost-center items — goes
through every transfer in phases, each with faults of its own:

1. ``registers``: customers, articles and projects at once;
2. ``invoices``: drafts, and the Severa status "Överförd";
3. the sandbox back office books some drafts and pays some of them (no faults here);
4. ``sent`` and ``paid``: the booked and paid statuses back to Severa;
5. ``supplier``: supplier-invoice cost rows → Severa project fees.

Real processes throughout: ``python -m sandbox``, the bench's own ``redis-server``
(append-only, fsync always), a ``celery worker`` and ``celery beat``. While a phase
runs, a seeded injector (:mod:`chaos_procs`) SIGKILLs pool children, the worker's main
process, beat and Redis (at least 3 times, restarted from its append-only file) and
restarts them; in the sandboxes it arms write-then-drop and delays past the client's
time-out on every create and status PATCH of the phase, reads slowed so a record task
outlasts the broker's visibility timeout, and 503 bursts. A run that ends failed (a 503
while it reads, refused because another run holds the lock) is started again, as beat
would at its next interval.

Then it settles: faults off, wait until nothing is in flight (no queued or unacknowledged
message, no run going on — so a late write has landed), then every transfer once more,
as beat's next ticks would, until a round changes nothing (at most 3). It prints, from
the sandbox dumps and the error list:

* duplicates: any natural key twice (customer number, article number, cost-center item
  code), any Severa invoice with two drafts, any supplier row with two fees;
* lost: an eligible record neither transferred nor listed with a reason; a booked or paid
  invoice whose status did not come back to Severa;
* stuck: a run not finished;
* transient errors left in the error list ("kept failing after all retries");

the faults that fired per kind, and the time to settle. The last line is
``chaos: F faults, duplicates D, lost L, stuck S, transient errors T``.

    .venv/bin/python bench/chaos.py --seed 1            # 2 000 / 400 / 200 / 300 / 40
    .venv/bin/python bench/chaos.py --seed 1 --quick    # 200 / 60 / 30 / 40 / 8
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from chaos_checks import Findings, check, print_findings
from chaos_procs import Chaos, RedisServer, Service
from chaos_world import Expected, book_and_pay, book_supplier_invoices
from invoice_transfer import (
    STATUS_TO_TRANSFER,
    STATUS_TRANSFERRED,
    Plan,
    severa_invoice_seed,
)
from register_transfer import (
    Sandbox,
    connect,
    eekonomi_seed,
    service_environment,
    start_sandbox,
    use_environment,
)

from worker.embedded_redis import free_port

PHASES: dict[str, tuple[str, ...]] = {
    "registers": ("customers", "products", "projects"),
    "invoices": ("invoices",),
    "sent": ("sent",),
    "paid": ("paid",),
    "supplier": ("supplier_invoices",),
}
#: The bench's service settings: short enough that the faults matter within minutes.
HTTP_TIMEOUT, VISIBILITY_TIMEOUT, BACKOFF_MAX = 4.0, 20, 10


def retrying(step: Any, *args: Any, tries: int = 120, **kwargs: Any) -> Any:
    """``step(*args)``, again while Redis is down (the injector restarts it)."""
    import kombu.exceptions
    import redis

    for attempt in range(tries):
        try:
            return step(*args, **kwargs)
        except (redis.RedisError, kombu.exceptions.OperationalError, OSError):
            if attempt == tries - 1:
                raise
            time.sleep(0.5)
    return None


def run_transfers(
    connection_id: str, transfers: tuple[str, ...], timeout: float, label: str
) -> dict[str, Any]:
    """Start ``transfers`` at once; each that ends failed is started again (as beat would
    at its next interval) until it finishes or ``timeout`` passes. Their last reports."""
    from worker import app
    from worker.registry import spec_of
    from worker.state import redis_client
    from worker.sync.runs import Runs

    runs = Runs(redis_client(), connection_id)

    def send(transfer: str) -> str:
        task = spec_of(transfer).task
        return str(retrying(app.send_task, task, args=[connection_id]).id)

    sent = {t: send(t) for t in transfers}
    attempts = dict.fromkeys(transfers, 1)
    progress = {t: (-1, time.monotonic()) for t in transfers}
    reports: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    while len(reports) < len(transfers) and time.monotonic() < deadline:
        time.sleep(1.0)
        for transfer, run_id in sent.items():
            if transfer in reports:
                continue
            report = retrying(runs.get, run_id)
            if report is None and retrying(lambda r: app.AsyncResult(r).ready(), run_id):
                # Refused before it began ("already running": beat's or a stuck run).
                print(f"    {label}: {transfer} refused: {app.AsyncResult(run_id).result}"[:200])
            elif report is None or report.status in ("running", "finishing"):
                if report is not None and stuck(connection_id, transfer, report, progress):
                    print(
                        f"    {label}: {transfer} run {run_id} {report.status} with nothing in "
                        f"flight for {STUCK_AFTER:.0f}s ({report.settled}/{report.expected} "
                        "settled): not waiting for it"
                    )
                    reports[transfer] = report
                continue
            elif report.status == "finished":
                reports[transfer] = report
                continue
            else:
                print(f"    {label}: {transfer} run {report.status}: {report.message[:160]}")
            time.sleep(min(30.0, 2.0 * attempts[transfer]))
            attempts[transfer] += 1
            sent[transfer] = send(transfer)
            progress[transfer] = (-1, time.monotonic())
    for transfer, run_id in sent.items():
        if transfer not in reports:
            reports[transfer] = retrying(runs.get, run_id)
            print(f"    {label}: {transfer} not finished in {timeout:.0f}s: {reports[transfer]}")
    for transfer, report in reports.items():
        summary = report.summary() if report else "no report"
        print(f"    {label}: {summary} (attempts {attempts[transfer]})", flush=True)
    return reports


#: A run still running with nothing queued or unacknowledged and no record settled for
#: this long is stuck: the stalled-run check (beat's minute tick, after the visibility
#: timeout + the longest back-off + 10 s of quiet) would have resent its records by now.
STUCK_AFTER = 180.0


def stuck(
    connection_id: str, transfer: str, report: Any, progress: dict[str, tuple[int, float]]
) -> bool:
    """Whether ``report``'s run makes no progress with nothing in flight (see above)."""
    settled, since = progress[transfer]
    now = time.monotonic()
    if report.settled != settled:
        progress[transfer] = (report.settled, now)
        return False
    if now - since < STUCK_AFTER:
        return False
    state = retrying(in_flight, connection_id)
    if state["queued"] or state["unacked"]:
        progress[transfer] = (settled, now)
        return False
    return True


def in_flight(connection_id: str) -> dict[str, int]:
    """What is not done yet: queued and unacknowledged messages, runs going on."""
    from worker.queues import family
    from worker.registry import NAMES
    from worker.state import redis_client
    from worker.sync.runs import Runs

    client = redis_client()
    # kombu keeps a queue as a list under its name, and one per priority step beside it.
    queues = [q + step for q in family() for step in ("", *(f"\x06\x16{p}" for p in (3, 6, 9)))]
    queued = sum(int(client.llen(name)) for name in queues)
    runs = Runs(client, connection_id)
    active = sum(r.status in ("running", "finishing") for n in NAMES for r in runs.history(n, 50))
    return {"queued": queued, "unacked": int(client.hlen("unacked")), "runs": active}


def wait_quiet(connection_id: str, timeout: float) -> float:
    """Seconds until nothing is in flight twice in a row, 5 s apart — or only runs that
    made no progress with nothing queued for :data:`STUCK_AFTER` (they count as stuck)."""
    started = time.monotonic()
    calm, idle_since, shown = 0, started, started
    while time.monotonic() - started < timeout:
        state = retrying(in_flight, connection_id)
        messages = state["queued"] + state["unacked"]
        calm = calm + 1 if not messages and not state["runs"] else 0
        if messages:
            idle_since = time.monotonic()
        if calm >= 2 or time.monotonic() - idle_since > STUCK_AFTER:
            return time.monotonic() - started
        if time.monotonic() - shown > 30:
            shown = time.monotonic()
            print(f"    settling … {time.monotonic() - started:.0f}s: {state}", flush=True)
        time.sleep(5.0)
    print(f"    not quiet after {timeout:.0f}s: {retrying(in_flight, connection_id)}")
    return time.monotonic() - started


def apply_settings(connection_id: str, changes: dict[str, str]) -> None:
    """Settings by name, as ``settings set`` takes them (resolved to the APIs' ids)."""
    from config import company
    from worker.state import redis_client
    from worker.sync.choices import resolve

    resolved = retrying(resolve, connection_id, changes)
    retrying(company.update, redis_client(), connection_id, resolved)


#: eEkonomi's own article for invoice rows without a code (R-3.4): in the seed, so the
#: setting resolves before (and whether or not) the articles transfer has run.
DEFAULT_ARTICLE = "ALLM"


def chaos_eekonomi_seed() -> dict[str, Any]:
    """The register benchmark's eEkonomi seed plus the demo's default article."""
    from sandbox.eekonomi import demo_data

    seed = eekonomi_seed()
    seed["articles"] = [a for a in demo_data()["articles"] if a["Number"] == DEFAULT_ARTICLE]
    return seed


#: Set at the start: beat may start a register only once the settings it needs are set
#: (service.due_transfers), so the rest come with their phase — otherwise beat's first
#: tick would start every transfer at once, and a phase's faults would meet no run. The
#: intervals are a day: the bench starts each phase itself (and again when one failed,
#: as beat would); beat's own ticks resume stalled runs and send heartbeats.
SETTINGS = {
    "register_interval_minutes": "1440",
    "invoice_interval_minutes": "1440",
    "supplier_invoice_interval_minutes": "1440",
}
PHASE_SETTINGS = {
    "invoices": {
        "default_article_number": DEFAULT_ARTICLE,
        "status_to_transfer": STATUS_TO_TRANSFER,
        "status_transferred": STATUS_TRANSFERRED,
    },
    "sent": {"status_sent": "Skickad"},
    "paid": {"status_paid": "Betald"},
    "supplier": {"supplier_invoices_billable": "true"},
}


def main() -> int:
    from config.settings import load_settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1, help="seeds the world and the faults")
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--articles", type=int, default=400)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--invoices", type=int, default=300)
    parser.add_argument("--supplier-invoices", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="200 / 60 / 30 / 40 / 8")
    parser.add_argument("--scale", type=float, default=20.0, help="rate-limit multiplier")
    parser.add_argument("--concurrency", type=int, default=load_settings().worker_concurrency)
    parser.add_argument(
        "--pool",
        choices=("prefork", "threads"),
        default=load_settings().worker_pool,
        help="the worker's pool (WORKER_POOL); with threads there is no pool child to kill, "
        "so the kills are of the worker, beat and Redis",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="per phase and settle")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    if args.quick:
        args.customers, args.articles, args.projects = 200, 60, 30
        args.invoices, args.supplier_invoices = 40, 8
    folder = Path(tempfile.mkdtemp(prefix="bench-chaos-"))
    os.environ.setdefault("ENV_FILE", str(folder / "absent.env"))
    try:
        return run(args, folder)
    finally:
        if args.keep:
            print(f"kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def run(args: argparse.Namespace, folder: Path) -> int:
    import json

    plan = Plan(args.invoices, args.customers, args.articles, args.projects, args.seed)
    severa_file, eekonomi_file = folder / "severa.json", folder / "eekonomi.json"
    seed = severa_invoice_seed(plan)
    severa_file.write_text(json.dumps(seed, ensure_ascii=False), "utf-8")
    eekonomi_file.write_text(json.dumps(chaos_eekonomi_seed(), ensure_ascii=False), "utf-8")
    print(
        f"chaos: seed {args.seed}; {args.customers} customers, {args.articles} articles, "
        f"{args.projects} projects, {args.invoices} invoices ({plan.rows} rows), "
        f"{args.supplier_invoices} supplier invoices; rate limits x{args.scale:g}; "
        f"HTTP_TIMEOUT {HTTP_TIMEOUT:g}s, BROKER_VISIBILITY_TIMEOUT {VISIBILITY_TIMEOUT}s",
        flush=True,
    )
    redis = RedisServer(folder / "redis", free_port())
    redis.start()
    box = start_sandbox(severa_file, eekonomi_file, args.scale, folder / "sandbox.log")
    env = service_environment(redis.url, folder, box, args.scale)
    env.update(
        HTTP_TIMEOUT=f"{HTTP_TIMEOUT:g}",
        BROKER_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
        TASK_RETRY_BACKOFF_MAX=str(BACKOFF_MAX),
        LOG_LEVEL="WARNING",
    )
    use_environment(env)
    service = Service(env, folder, args.concurrency, args.pool)
    bases = {"severa": box.severa, "eekonomi": box.eekonomi}
    chaos = Chaos(args.seed, bases, HTTP_TIMEOUT, redis, service, VISIBILITY_TIMEOUT)
    try:
        connection_id = f"chaos-{uuid.uuid4().hex[:8]}"
        connect(connection_id)
        apply_settings(connection_id, SETTINGS)
        service.start_worker()
        service.start_beat()
        expected = Expected.of(plan, seed)
        findings = transfer_under_chaos(args, plan, box, chaos, connection_id, expected)
        findings.fired = chaos.fired()
        total = print_findings(findings, chaos.kills, chaos.kills_by_phase, len(chaos.log))
        overdue = Counter(chaos.overdue.values())
        print(
            f"messages unacknowledged past the visibility timeout ({VISIBILITY_TIMEOUT}s), so "
            f"handed out again: {sum(overdue.values())} ("
            + (", ".join(f"{p} {n}" for p, n in overdue.items()) or "none")
            + "; slowed tasks still running, or messages of a killed worker main process)"
        )
        crashes = ", ".join(f"{n} {k} exit(s)" for k, n in service.crashes.items()) or "none"
        print(f"service processes that exited by themselves (restarted by the bench): {crashes}")
        print(
            f"chaos: {total} faults, duplicates {len(findings.duplicates)}, lost "
            f"{len(findings.lost)}, stuck {len(findings.stuck)}, transient errors "
            f"{len(findings.transient)}"
        )
        return 0 if findings.clean else 1
    finally:
        chaos.stop()
        service.stop()
        box.stop()
        redis.stop()


def transfer_under_chaos(
    args: argparse.Namespace,
    plan: Plan,
    box: Sandbox,
    chaos: Chaos,
    connection_id: str,
    expected: Expected,
) -> Findings:
    """The phases under faults, the settle, and the checks (see the module docstring)."""
    sizes = {
        "registers": args.customers + args.articles + args.projects,
        "invoices": args.invoices,
        "sent": max(1, args.invoices * 6 // 10),
        "paid": max(1, args.invoices * 3 // 10),
        "supplier": args.supplier_invoices * 2,
    }
    chaos.start()
    began = time.monotonic()
    for phase, transfers in PHASES.items():
        chaos.active(False)
        chaos.disarm()  # the last phase's faults, before the back office and the settings
        if phase in PHASE_SETTINGS:
            apply_settings(connection_id, PHASE_SETTINGS[phase])
        if phase == "sent":
            book_and_pay(box, expected, chaos.rng)
            print(
                f"  back office: {len(expected.booked)} drafts booked, {len(expected.paid)} paid",
                flush=True,
            )
        if phase == "supplier":
            book_supplier_invoices(box, expected, args.supplier_invoices, chaos.rng)
            print(f"  back office: {len(expected.fee_rows)} supplier cost rows booked")
        print(f"  phase {phase}: {', '.join(transfers)} under faults …", flush=True)
        chaos.arm_phase(phase, sizes[phase])
        chaos.active(True)
        run_transfers(connection_id, transfers, args.timeout, phase)
    chaos.stop()
    while chaos.kills["redis"] < chaos.redis_kills_min:
        chaos.kill("redis")
    chaos.disarm()
    chaos.phase = "settle"
    service_restarted = chaos.service.revive()
    if service_restarted:
        print(f"  settle: restarted {', '.join(service_restarted)}")
    faults_end = time.monotonic()
    print(f"  faults off after {faults_end - began:.0f}s; settling …", flush=True)
    quiet = wait_quiet(connection_id, args.timeout)
    rounds = 0
    for rounds in range(1, 4):
        changed = 0
        for transfers in PHASES.values():
            reports = run_transfers(connection_id, transfers, args.timeout, f"settle {rounds}")
            changed += sum(r.created + r.updated for r in reports.values() if r is not None)
        wait_quiet(connection_id, args.timeout)
        if not changed:
            break
    settled = time.monotonic() - faults_end
    findings = check(box, connection_id, expected)
    findings.quiet_after, findings.settled_after, findings.rounds = quiet, settled, rounds
    return findings


if __name__ == "__main__":
    sys.exit(main())
