"""The sync code's CPU per transferred invoice, in one process (issue 20).

Why: ``invoice_transfer.py`` is CPU-bound on a two-core machine — the worker spends
about 12.5 ms per invoice — but it takes minutes and runs the whole service (Celery,
worker processes), so it cannot tell quickly whether a change to the settle path helped.
This one runs the same path — :func:`worker.sync.service.transfer_now`, what
``run --now`` does: the "to transfer" list, then ``Invoices.settle`` for each invoice,
its history entry and count — in this process, on the data ``invoice_transfer.py``
generates (its generator is imported, not copied), and reports the CPU time of this
process (:func:`time.process_time`) per invoice. The sandboxes serve from
``python -m sandbox`` in a child process (as ``bench/http_cpu.py`` does), so their
CPU is not in the figure; Redis is the real one (``REDIS_URL``) or an embedded one.
The rate limits, the sandboxes' and the product's, are scaled out of the way.

Each round reseeds the sandboxes, connects a new connection, transfers customers,
articles and projects (not timed: every invoice's dependencies are then linked, as in
``invoice_transfer.py``), applies the invoice settings, and then times the invoice
transfer. The figure is the median of the rounds. With ``--profile`` one more round
runs under :mod:`cProfile` and its top functions (own time, and cumulative time of the
sync code's own functions) are printed.

    .venv/bin/python bench/invoice_cpu.py                 # 300 invoices, 5 rounds
    .venv/bin/python bench/invoice_cpu.py --profile       # and a profiled round
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from invoice_transfer import STATUS_TO_TRANSFER, STATUS_TRANSFERRED, Plan, severa_invoice_seed
from register_transfer import (
    REGISTERS,
    Sandbox,
    connect,
    eekonomi_seed,
    redis_server,
    service_environment,
    start_sandbox,
    use_environment,
)

#: Rate limits x this: out of the way of a CPU measurement.
NO_LIMIT_SCALE = 1000.0


def prepare(plan: Plan, box: Sandbox, severa: Path, eekonomi: Path) -> str:
    """Untimed: fresh sandboxes, a new connection, the registers linked, the invoice
    settings applied; the connection id."""
    from config import company
    from worker.state import redis_client
    from worker.sync.choices import resolve
    from worker.sync.service import transfer_now

    box.reseed(severa, eekonomi)
    connection_id = f"bench-{uuid.uuid4().hex[:8]}"
    connect(connection_id)
    for register in REGISTERS:
        report = transfer_now(connection_id, register, uuid.uuid4().hex)
        if report.failed or report.status != "finished":
            raise RuntimeError(f"the {register} transfer did not link everything: {report}")
    settings = {
        "default_article_number": plan.default_article,
        "status_to_transfer": STATUS_TO_TRANSFER,
        "status_transferred": STATUS_TRANSFERRED,
    }
    company.update(redis_client(), connection_id, resolve(connection_id, settings))
    return connection_id


def timed(connection_id: str, plan: Plan, profiler: cProfile.Profile | None = None) -> float:
    """The invoice transfer; CPU ms of this process per invoice."""
    from worker.sync.service import transfer_now

    run_id = uuid.uuid4().hex
    before = time.process_time()
    if profiler is not None:
        profiler.enable()
    report = transfer_now(connection_id, "invoices", run_id)
    if profiler is not None:
        profiler.disable()
    used = time.process_time() - before
    if report.created != plan.invoices or report.failed:
        raise RuntimeError(f"the invoice transfer did not create every draft: {report}")
    return used / plan.invoices * 1000


def print_profile(profiler: cProfile.Profile, top: int) -> None:
    """The top functions by own time, then the sync code's own functions by cumulative
    time (where under the settle path the time goes)."""
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(r"/(worker|schemas)/", top)
    root = str(Path(__file__).resolve().parent.parent) + "/"
    print(out.getvalue().replace(root, ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=300)
    parser.add_argument("--customers", type=int, default=60)
    parser.add_argument("--articles", type=int, default=50)
    parser.add_argument("--projects", type=int, default=120, help="each of one customer")
    parser.add_argument("--seed", type=int, default=6, help="random seed of the invoices")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="one more round, profiled")
    parser.add_argument("--top", type=int, default=30, help="profile lines shown (30)")
    parser.add_argument("--profile-file", type=Path, help="also save the profile (pstats) here")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-invoice-cpu-"))
    os.environ.setdefault("ENV_FILE", str(folder / "absent.env"))
    plan = Plan(args.invoices, args.customers, args.articles, args.projects, args.seed)
    severa, eekonomi = folder / "severa.json", folder / "eekonomi.json"
    severa.write_text(json.dumps(severa_invoice_seed(plan), ensure_ascii=False), "utf-8")
    eekonomi.write_text(json.dumps(eekonomi_seed(), ensure_ascii=False), "utf-8")
    print(
        f"{plan.invoices} invoices ({plan.rows} rows), {plan.customers} customers, "
        f"{plan.articles} articles, {plan.projects} projects; {args.rounds} rounds; CPU of "
        "this process (the sandboxes serve from a child process)",
        flush=True,
    )
    with redis_server(folder) as url:
        box = start_sandbox(severa, eekonomi, NO_LIMIT_SCALE, folder / "sandbox.log")
        try:
            use_environment(service_environment(url, folder, box, NO_LIMIT_SCALE))
            figures = []
            for round_ in range(args.rounds):
                connection_id = prepare(plan, box, severa, eekonomi)
                figures.append(timed(connection_id, plan))
                print(f"  round {round_ + 1}: {figures[-1]:.2f} ms per invoice", flush=True)
            if figures:
                print(
                    f"CPU per invoice: median {statistics.median(figures):.2f} ms "
                    f"({' '.join(f'{f:.2f}' for f in figures)})"
                )
            if args.profile:
                profiler = cProfile.Profile(time.process_time)
                used = timed(prepare(plan, box, severa, eekonomi), plan, profiler)
                print(f"\nprofiled round: {used:.2f} ms per invoice (profiler included)")
                print_profile(profiler, args.top)
                if args.profile_file:
                    profiler.dump_stats(args.profile_file)
        finally:
            box.stop()
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
