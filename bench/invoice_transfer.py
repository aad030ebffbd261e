"""The issue-6 benchmark: Severa invoices "to transfer" become eEkonomi drafts.

Generates a Severa organization with customers, articles (products, work types,
travel-expense types) and projects — the register benchmark's generator — plus
``--invoices`` invoices in the "Att överföra" status, each for one project of its
customer with 1–20 rows (random, seeded by ``--seed``; every row carries the code of a
generated article and 25 % VAT, so every row has an article and the totals agree).
It then starts ``python -m sandbox`` on it with the rate limits scaled, an embedded
Redis (or ``REDIS_URL``) and a real ``celery worker``, exactly as
``bench/register_transfer.py`` does (its helpers are imported, not copied).

**Not timed**: the three register transfers run first, so every invoice's customer,
articles and project are linked (bound) when the invoice transfer starts — the timed
part measures the invoice transfer, not the registers it depends on. The invoice
settings (default article, the two Severa statuses) are applied after them, and the
sandboxes' request logs are cleared.

**Timed**: one ``sync.transfer_invoices`` task, from sending it until its run report
says finished. Then it prints:

(1) wall time ÷ the lower bound the rate limits allow;
(2) API requests per invoice: in total, per side and per endpoint, from the sandboxes'
    request logs (auth requests included in the total and shown apart);

and the run report (created/failed), records per second, and checks: exactly as many
drafts as invoices, each with the invoice's rows, every Severa invoice moved to
"Överförd", nothing in the error list.

    .venv/bin/python bench/invoice_transfer.py           # 2 000 invoices, rate limits x20
    .venv/bin/python bench/invoice_transfer.py --quick   # 200 invoices

The lower bound of (1): each rate-limit bucket must carry at least the requests the
transfer cannot do without, at the vendor's sustained rate × ``--scale`` (Severa one
bucket per client, 10/s; eEkonomi one per endpoint, 600/min = 10/s). Per invoice the
unavoidable writes are the draft (``POST /customerinvoicedrafts``) and the status
change (``PATCH /invoices/{guid}``); the list pages needed are the "to transfer"
invoice list (100 per page) and the invoice's rows (``/invoices/{guid}/invoicerows``,
one page up to 100 rows: the API lists rows by invoice, the status filter exists only
on invoices). Buckets run in parallel, so

    lower bound = max over buckets (minimum requests in the bucket ÷ the bucket's rate)

What the product does beyond that minimum — asking which customers changed since they
were last synced (one list per side and run) and re-syncing those before their draft
(a draft copies the customer's address), reference data, token refreshes — shows in
(2) and in the bucket table.

    .venv/bin/python bench/invoice_transfer.py --compare ../before --rounds 2

runs the worker of another checkout (``../before``, a worktree of main, say) on the same
data too, alternating with this one, and prints both side by side.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from register_transfer import (
    EEKONOMI_RATE,
    LAST_START,
    PRODUCT_EEKONOMI_RATE,
    PRODUCT_SEVERA_RATE,
    REDIS_PID,
    REGISTERS,
    ROOT,
    SEVERA_PAGE,
    SEVERA_RATE,
    Sandbox,
    Worker,
    buckets,
    connect,
    cpu_snapshot,
    eekonomi_seed,
    is_auth,
    redis_server,
    run_registers,
    service_environment,
    severa_seed,
    start_sandbox,
    tally,
    template,
    use_environment,
)

#: Severa's demo invoice statuses, by name (resolved to guids through the API).
STATUS_TO_TRANSFER, STATUS_TRANSFERRED = "Att överföra", "Överförd"
#: Severa lists at most this many rows of an invoice per page.
ROWS_PAGE = SEVERA_PAGE
DRAFTS = "eekonomi /customerinvoicedrafts"
SEVERA_BUCKET = "severa (one bucket)"


# -- seed data ----------------------------------------------------------------------------


@dataclass
class Plan:
    """The generated data set: its sizes, and what each invoice must become."""

    invoices: int
    customers: int
    articles: int
    projects: int
    seed: int
    #: Severa invoice guid → (customer number, number of rows).
    expected: dict[str, tuple[int, int]] = field(default_factory=dict)
    default_article: str = ""
    #: Whether invoices get travel-expense rows (25 % VAT in Severa; the eEkonomi article
    #: a travel-expense type becomes is coded 0 %, so such a draft carries a totals
    #: warning — which every invoice run re-reads).
    travel_rows: bool = True

    @property
    def rows(self) -> int:
        return sum(rows for _, rows in self.expected.values())

    @property
    def invoiced_customers(self) -> int:
        return len({customer for customer, _ in self.expected.values()})


def severa_invoice_seed(plan: Plan) -> dict[str, Any]:
    """Severa's store: the register benchmark's seed plus the invoices to transfer.

    The invoices are built by the Severa sandbox itself (in this process, then dumped),
    so their wire format, row numbering and totals are the sandbox's own — the same as
    an invoice a person makes with ``POST /_sandbox/invoices``, without 2 000 requests.
    """
    from sandbox.severa import SeveraSandbox

    base = severa_seed(plan.customers, plan.articles, plan.projects)
    # The generated travel-expense types copy the demo's mileage type (0 % VAT), and an
    # article's coding follows its Severa item's VAT rate (R-5.2): give them the rows'
    # 25 %, or their rows' VAT differs and a totals warning is listed for most invoices.
    for travel in base["travelExpenseTypes"]:
        travel["vatRate"] = 25.0
    app = SeveraSandbox()
    app.seed_store(base, replace=True)
    rng = random.Random(plan.seed)
    kinds = {
        "Hours": ([(w["code"], w["name"], None) for w in base["workTypes"]], "h"),
        "ProjectFees": (
            [(p["code"], p["name"], p["unitPrice"]["amount"]) for p in base["products"]],
            "st",
        ),
        "TravelExpenses": (
            [(t["code"], t["name"], None) for t in base["travelExpenseTypes"]],
            "st",
        ),
    }
    kinds = {kind: choice for kind, choice in kinds.items() if choice[0]}
    if not plan.travel_rows:
        kinds.pop("TravelExpenses", None)
    weights = {"Hours": 6, "ProjectFees": 3, "TravelExpenses": 1}
    names = list(kinds)
    plan.default_article = base["products"][0]["code"]
    for number in range(plan.invoices):
        project = base["projects"][rng.randrange(len(base["projects"]))]
        rows = []
        for _ in range(rng.randint(1, 20)):
            kind = rng.choices(names, weights=[weights[k] for k in names])[0]
            articles, unit = kinds[kind]
            code, name, price = articles[rng.randrange(len(articles))]
            if kind == "Hours":
                quantity, price = rng.randint(1, 80) / 2, rng.choice([950, 1100, 1250, 1450])
            elif kind == "TravelExpenses":
                quantity, price = rng.randint(1, 5), rng.choice([250.0, 450.0, 1200.0])
            else:
                quantity = rng.randint(1, 10)
            rows.append(
                {
                    "rowType": kind,
                    "code": code,
                    "description": name,
                    "quantity": quantity,
                    "unitPrice": float(price),
                    "vatRate": 25.0,
                    "measurementUnit": unit,
                }
            )
        invoice = app.build_invoice(
            {
                "customer": project["customer"]["guid"],
                "projects": [project["guid"]],
                "status": STATUS_TO_TRANSFER,
                "date": "2025-03-31",
                "dueDate": "2025-04-30",
                "paymentTerm": 30,
                "ourReference": "Anna Andersson",
                "yourReference": f"Beställare {project['customer']['number']}",
                "notes": f"Benchfaktura {number + 1}: arbete under mars 2025.",
                "rows": rows,
            }
        )
        plan.expected[invoice["guid"]] = (int(project["customer"]["number"]), len(rows))
    return app.dump_store()


def minimum_requests(invoices: int, rows_per_invoice: list[int]) -> dict[str, int]:
    """The requests an invoice transfer cannot do without, per rate-limit bucket."""
    invoice_pages = max(1, math.ceil(invoices / SEVERA_PAGE))  # token paging
    row_pages = sum(max(1, math.ceil(rows / ROWS_PAGE)) for rows in rows_per_invoice)
    return {
        SEVERA_BUCKET: invoice_pages + row_pages + invoices,  # lists, rows, status PATCH
        DRAFTS: invoices,  # one POST each
    }


# -- the benchmark ------------------------------------------------------------------------


def link_registers(plan: Plan, connection_id: str, queue: str, timeout: float) -> None:
    """Untimed: connect, transfer the three registers, then apply the invoice settings."""
    from config import company
    from worker.state import redis_client
    from worker.sync.choices import resolve

    connect(connection_id)
    print("  linking: customers, articles and projects transferred first (not timed) …")
    wall, reports = run_registers(connection_id, queue, REGISTERS, timeout, "registers")
    for register, report in reports.items():
        print(f"    {register:<9} {report.summary()}")
        if report.failed or report.status != "finished":
            raise RuntimeError(f"the {register} transfer did not link everything: {report}")
    company.update(
        redis_client(),
        connection_id,
        resolve(
            connection_id,
            {
                "default_article_number": plan.default_article,
                "status_to_transfer": STATUS_TO_TRANSFER,
                "status_transferred": STATUS_TRANSFERRED,
            },
        ),
    )
    print(f"    linked in {wall:.1f}s; invoice settings applied")


def check_result(plan: Plan, box: Sandbox, connection_id: str) -> list[str]:
    """What differs from a perfect transfer (empty: nothing)."""
    from schemas.invoices import severa_guid_of
    from worker.state import redis_client
    from worker.sync.errorlist import ErrorList

    problems: list[str] = []
    dump = requests.get(f"{box.eekonomi}/_sandbox/dump", timeout=300)
    dump.raise_for_status()
    drafts = dump.json()["customerInvoiceDrafts"]
    by_guid: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for draft in drafts:
        guid = severa_guid_of(draft.get("SubscriptionNumber"))
        by_guid[guid or "(no marker)"].append(draft)
    if len(drafts) != len(plan.expected):
        problems.append(f"{len(drafts)} drafts for {len(plan.expected)} invoices")
    wrong_rows = wrong_customer = 0
    for guid, (customer, rows) in plan.expected.items():
        found = by_guid.get(guid, [])
        if len(found) != 1:
            problems.append(f"invoice {guid}: {len(found)} drafts")
            continue
        article_rows = [r for r in found[0].get("Rows") or [] if not r.get("IsTextRow")]
        wrong_rows += len(article_rows) != rows
        wrong_customer += str(found[0].get("CustomerNumber")) != str(customer)
    if wrong_rows:
        problems.append(f"{wrong_rows} drafts with another number of article rows")
    if wrong_customer:
        problems.append(f"{wrong_customer} drafts for another customer")
    severa = requests.get(f"{box.severa}/_sandbox/dump", timeout=300)
    severa.raise_for_status()
    statuses = Counter(
        str((invoice.get("status") or {}).get("name"))
        for invoice in severa.json()["invoices"]
        if invoice["guid"] in plan.expected
    )
    if statuses != Counter({STATUS_TRANSFERRED: len(plan.expected)}):
        problems.append(f"Severa statuses after the run: {dict(statuses)}")
    entries = list(ErrorList(redis_client(), connection_id).entries())
    if entries:
        shown = "; ".join(f"{e.register}: {e.reason}" for e in entries[:3])
        problems.append(f"{len(entries)} entries in the error list, e.g. {shown}")
    print(
        f"  check: {len(drafts)} drafts in eEkonomi for {len(plan.expected)} invoices "
        f"({sum(len(v) == 1 for v in by_guid.values())} invoices with exactly one draft), "
        f"article rows as in Severa on {len(plan.expected) - wrong_rows}, Severa statuses "
        f"{dict(statuses)}, error list {len(entries)} entries -> "
        + ("OK" if not problems else "FAILED: " + " | ".join(problems[:5]))
    )
    return problems


def print_figures(
    plan: Plan,
    wall: float,
    report: Any,
    logs: dict[str, list[dict[str, Any]]],
    started: float,
    scale: float,
) -> dict[str, float]:
    """(1), (2) and the run report, as described in the module docstring; the figures."""
    invoices = len(plan.expected)
    print(
        f"\nInvoice transfer of {invoices} invoices ({plan.rows} rows, "
        f"{plan.invoiced_customers} customers, rate limits x{scale:g}; customers, articles "
        "and projects linked beforehand)"
    )
    print(
        f"  run report: expected {report.expected}  created {report.created}  updated "
        f"{report.updated}  unchanged {report.unchanged}  failed {report.failed}  skipped "
        f"{report.skipped}  ({report.status})"
    )
    print(f"  wall time {wall:.1f}s, {report.created / wall:.1f} invoices/s")
    counts = tally(logs)
    total = sum(sum(c.values()) for c in counts.values())
    print(f"(2) API requests per invoice: {total} ÷ {invoices} = {total / invoices:.3f}")
    for side in ("severa", "eekonomi"):
        side_total = sum(counts[side].values())
        print(f"    {side:<8} {side_total:7}  {side_total / invoices:6.3f} per invoice")
        for name, n in sorted(counts[side].items(), key=lambda kv: -kv[1]):
            print(f"      {name:<48} {n:7}  {n / invoices:6.3f}")
    minimum = minimum_requests(invoices, [rows for _, rows in plan.expected.values()])
    observed = buckets(logs)
    print(
        "  rate-limit buckets: minimum / seen requests, their time at the vendor rate, "
        "first..last request after the start:"
    )
    bound = product_bound = 0.0
    for name in sorted(set(minimum) | set(observed), key=lambda n: -len(observed.get(n, []))):
        severa = name.startswith("severa")
        rate = (SEVERA_RATE if severa else EEKONOMI_RATE) * scale
        product_rate = (PRODUCT_SEVERA_RATE if severa else PRODUCT_EEKONOMI_RATE) * scale
        need, times = minimum.get(name, 0), observed.get(name, [])
        bound = max(bound, need / rate)
        product_bound = max(product_bound, need / product_rate)
        span = f"+{min(times) - started:5.1f}s..+{max(times) - started:5.1f}s" if times else ""
        print(
            f"    {name:<36} min {need:6}  seen {len(times):6}  {need / rate:6.1f}s (min) "
            f"{len(times) / rate:6.1f}s (seen)  {span}"
        )
    throttled = sum(n for c in counts.values() for k, n in c.items() if k.endswith("[429]"))
    print(f"  429 answers: {throttled}")
    print(
        f"  lower bound = max over buckets (minimum ÷ vendor rate x scale) = {bound:.1f}s "
        f"(at the product's own {PRODUCT_SEVERA_RATE:g}/s, "
        f"{PRODUCT_EEKONOMI_RATE * 60:g}/min limits: {product_bound:.1f}s); minimum = "
        "Severa: invoice-list pages + one rows page per invoice + one status PATCH per "
        "invoice; eEkonomi: one draft POST per invoice"
    )
    print(
        f"(1) wall time {wall:.1f}s ÷ lower bound {bound:.1f}s = {wall / bound:.2f} "
        f"(÷ the product-limit bound: {wall / product_bound:.2f})"
    )
    return {"wall": wall, "bound": bound, "ratio": wall / bound, "requests": total / invoices}


def timeline(
    logs: dict[str, list[dict[str, Any]]], started: float, wall: float, concurrency: int
) -> None:
    """When each kind of request ran, relative to the start (where the time went)."""
    spans: dict[str, list[float]] = defaultdict(list)
    for side, entries in logs.items():
        for entry in entries:
            if not is_auth(entry["path"]):
                spans[f"{side} {entry['method']} {template(entry['path'])}"].append(entry["time"])
    print("  timeline (first..last request after the start, achieved rate over that span):")
    for name, times in sorted(spans.items(), key=lambda kv: min(kv[1])):
        first, last = min(times) - started, max(times) - started
        rate = (len(times) - 1) / (last - first) if last > first else 0.0
        print(f"    {name:<56} +{first:6.1f}s..+{last:6.1f}s  {rate:6.1f}/s")
    invoice_spans(logs, wall, started, concurrency)


def invoice_spans(
    logs: dict[str, list[dict[str, Any]]], wall: float, started: float, concurrency: int
) -> None:
    """Per invoice, from the start of its rows read to the end of its status PATCH (the
    draft POST lies between): how long one invoice takes, how much of it the sandboxes
    spent answering, and how many invoices were in that span at once on average — near
    ``concurrency`` means the worker processes were busy settling invoices; lower means
    time went elsewhere (fan-out, task overhead, customer re-reads)."""
    rows_start: dict[str, float] = {}
    patch_end: dict[str, float] = {}
    served: dict[str, list[float]] = defaultdict(list)
    for entry in logs["eekonomi"]:
        if entry["method"] == "POST" and template(entry["path"]) == "/customerinvoicedrafts":
            served["POST draft"].append(entry["duration_ms"])
    for entry in logs["severa"]:
        parts = entry["path"].rstrip("/").split("/")
        if entry["method"] == "GET" and parts[-1] == "invoicerows":
            rows_start[parts[-2]] = entry["time"] - entry["duration_ms"] / 1000
            served["GET rows"].append(entry["duration_ms"])
        elif entry["method"] == "PATCH" and parts[-2] == "invoices":
            patch_end[parts[-1]] = entry["time"]
            served["PATCH status"].append(entry["duration_ms"])
    spans = [patch_end[g] - rows_start[g] for g in patch_end if g in rows_start]
    if not spans:
        return
    print(
        f"  per invoice, rows read → status set: median {statistics.median(spans) * 1000:.0f} ms"
        f" (sandbox answering: "
        + ", ".join(f"{k} {statistics.median(v):.1f} ms" for k, v in served.items())
        + f"); on average {sum(spans) / wall:.2f} invoices in that span at once "
        f"(concurrency {concurrency})"
    )
    tenth = wall / 10
    done = Counter(min(9, int((end - started) / tenth)) for end in patch_end.values())
    print(
        f"  invoices finished per tenth of the wall time ({tenth:.1f}s each): "
        + " ".join(str(done.get(i, 0)) for i in range(10))
    )


def main() -> int:
    from config.settings import load_settings  # noqa: PLC0415 - after sys.path is set

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invoices", type=int, default=2_000)
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--projects", type=int, default=800, help="each of one customer")
    parser.add_argument("--seed", type=int, default=6, help="random seed of the invoices")
    parser.add_argument("--scale", type=float, default=20.0, help="rate-limit multiplier")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=load_settings().worker_concurrency,
        help="worker processes (default: WORKER_CONCURRENCY, as the service)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="200 invoices, 40 customers, 50 articles, 80 projects"
    )
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument(
        "--compare",
        metavar="CHECKOUT",
        help="also run the worker of this checkout (e.g. a worktree of main) on the same "
        "data, alternating with this one, and print both side by side",
    )
    parser.add_argument("--rounds", type=int, default=1, help="with --compare: runs each")
    args = parser.parse_args()
    if args.quick:
        args.invoices, args.customers, args.articles, args.projects = 200, 40, 50, 80
    roots = {"after": ROOT}
    if args.compare:
        roots = {"before": Path(args.compare).resolve(), "after": ROOT}
    folder = Path(tempfile.mkdtemp(prefix="bench-invoices-"))
    figures: dict[str, list[dict[str, float]]] = defaultdict(list)
    failed = 0
    try:
        with redis_server(folder) as redis_url:
            os.environ.setdefault("ENV_FILE", str(folder / "absent.env"))
            for round_ in range(args.rounds if args.compare else 1):
                order = list(roots.items())
                for label, root in order if round_ % 2 == 0 else order[::-1]:
                    if args.compare:
                        print(f"\n== {label} ({root}), round {round_ + 1}", flush=True)
                    plan = Plan(args.invoices, args.customers, args.articles, args.projects,
                                args.seed)  # fmt: skip
                    code, found = run(args, plan, folder, redis_url, root)
                    failed += code
                    figures[label].append(found)
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
    if args.compare:
        compare_table(figures)
    return 1 if failed else 0


def compare_table(figures: dict[str, list[dict[str, float]]]) -> None:
    """Before and after side by side: each run, and the medians."""
    labels = list(figures)
    print("\nbefore / after, same machine, alternating runs (medians last):")
    rows = (
        ("(1) wall ÷ lower bound", "ratio", "{:.2f}"),
        ("    wall time (s)", "wall", "{:.1f}"),
        ("(2) API requests per invoice", "requests", "{:.3f}"),
        ("    worker CPU (s)", "cpu", "{:.1f}"),
    )
    print(f"  {'':<30}" + "".join(f"{label:>16}" for label in labels))
    for title, name, form in rows:
        cells = "".join(
            f"{' / '.join(form.format(f[name]) for f in figures[label]):>16}" for label in labels
        )
        medians = "".join(
            f"{form.format(statistics.median(f[name] for f in figures[label])):>16}"
            for label in labels
        )
        print(f"  {title:<30}{cells}")
        if len(next(iter(figures.values()))) > 1:
            print(f"  {'      median':<30}{medians}")


def run(
    args: argparse.Namespace, plan: Plan, folder: Path, redis_url: str, root: Path = ROOT
) -> tuple[int, dict[str, float]]:
    """One seeded sandbox, worker (of the checkout ``root``) and timed transfer; (exit
    code, figures)."""
    begun = time.monotonic()
    severa_file, eekonomi_file = folder / "severa.json", folder / "eekonomi.json"
    severa_file.write_text(json.dumps(severa_invoice_seed(plan), ensure_ascii=False), "utf-8")
    eekonomi_file.write_text(json.dumps(eekonomi_seed(), ensure_ascii=False), "utf-8")
    print(
        f"  seed: {plan.invoices} invoices ({plan.rows} rows) of {plan.invoiced_customers} "
        f"customers; {plan.customers} customers, {plan.articles} articles, {plan.projects} "
        f"projects; {severa_file.stat().st_size / 1e6:.1f} MB in "
        f"{time.monotonic() - begun:.1f}s",
        flush=True,
    )
    box = start_sandbox(severa_file, eekonomi_file, args.scale, folder / "sandbox.log")
    worker: Worker | None = None
    try:
        env = service_environment(redis_url, folder, box, args.scale)
        use_environment(env)
        worker = Worker(env, args.concurrency, folder / "worker.log", root=root)
        worker.wait_ready()
        connection_id = f"bench-{uuid.uuid4().hex[:8]}"
        link_registers(plan, connection_id, worker.queue, args.timeout)
        box.clear_logs()
        worker.reset_peaks()
        pids = {"worker": worker.process.pid, "sandbox": box.process.pid}
        if REDIS_PID[0]:
            pids["redis"] = REDIS_PID[0]
        print(f"  timed: transfer of {plan.invoices} invoices …", flush=True)
        cpu_before = cpu_snapshot(pids)
        wall, reports = run_registers(
            connection_id, worker.queue, ("invoices",), args.timeout, "invoices"
        )
        started = LAST_START[0]
        cpu_after = cpu_snapshot(pids)
        logs = box.logs()
        found = print_figures(plan, wall, reports["invoices"], logs, started, args.scale)
        timeline(logs, started, wall, args.concurrency)
        used = {k: cpu_after[k] - cpu_before[k] for k in cpu_after}
        found["cpu"] = used["worker"]
        cores = os.cpu_count() or 1
        print(
            f"  CPU during it: {sum(used.values()):.1f}s of {wall * cores:.1f}s available "
            f"({cores} cores x {wall:.1f}s): " + ", ".join(f"{k} {v:.1f}s" for k, v in used.items())
        )
        print(
            f"  worker peak memory during it: RSS sum {worker.peak_rss / 2**20:.0f} MB "
            f"(PSS sum {worker.peak_pss / 2**20:.0f} MB), concurrency {args.concurrency}"
        )
        problems = check_result(plan, box, connection_id)
        report = reports["invoices"]
        ok = not problems and report.created == plan.invoices and not report.failed
    finally:
        if worker is not None:
            worker.stop()
        box.stop()
    if args.keep:
        print(f"\nlogs: {folder / 'worker.log'}, {folder / 'sandbox.log'}")
    return (0 if ok else 1), found


if __name__ == "__main__":
    sys.exit(main())
