"""``register_transfer.py --no-limits``: the worker's CPU per created record (issue 20).

The same initial transfer as (a) — customers, articles and projects at once, the
service's worker processes — with the sandboxes' and the product's rate limits scaled
out of the way (x1000), so the run is bound by CPU, not by waiting. The figure is the CPU
time (user + system) of the worker's process tree during the run ÷ the records it
created: what a hosted sync pays per record and firm.

With ``--compare CHECKOUT`` the worker of that checkout (a worktree of main, say) runs
the same data, alternating with this one, ``--cpu-rounds`` times each on one sandbox
reseeded before every run; the table shows both and the median ratio. On a shared,
noisy machine compare medians, never single runs.

Then (unless ``--no-profile``) one more run each under :mod:`cProfile`
(``bench/profiled_worker.py``, CPU time), at the ``--quick`` size because the profiler
multiplies the CPU about six times, says where the CPU goes: the profile's time per
function, each function counted where it is defined, grouped as

* HTTP client — requests, urllib3, http.client, socket/ssl, ``worker/clients``;
* mapping — marshmallow and ``schemas/``;
* Redis — redis-py (also the broker's and result backend's commands: Celery talks to
  Redis through it);
* Celery — celery, kombu, billiard, vine (messages, task protocol, events, results);
* JSON — the json module (message bodies, staged records, bindings);
* sync engine — ``worker/``, ``tasks/``, ``config/`` outside the clients;
* other — the rest of the standard library and the interpreter.

Built-in functions (a socket's ``recv``, ``json``'s C scanner) count for the group of
the function that called them. Shown as shares of the profiled run, and in
milliseconds as those shares of the unprofiled median (the profiler's own cost per call
inflates functions called very often, so the split is a guide, not a measurement).
"""

from __future__ import annotations

import argparse
import json
import pstats
import statistics
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import redis
from register_transfer import (
    REDIS_PID,
    REGISTERS,
    ROOT,
    Worker,
    World,
    connect,
    cpu_snapshot,
    run_registers,
    service_environment,
    start_sandbox,
    use_environment,
)

#: Rate limits x this: out of the way of a CPU-bound run.
NO_LIMIT_SCALE = 1000.0
#: Customers, articles, projects of the profiled run (``--quick``'s size).
PROFILE_SIZE = (1_000, 200, 100)

GROUPS = (
    ("HTTP client", ("/requests/", "/urllib3/", "/http/", "/socket.py", "/ssl.py",
                     "/worker/clients/", "/idna/", "/charset_normalizer/", "/email/")),
    ("mapping", ("/marshmallow/", "/schemas/")),
    ("Redis", ("/redis/",)),
    ("Celery", ("/celery/", "/kombu/", "/billiard/", "/vine/")),
    ("JSON", ("/json/",)),
    ("sync engine", ("/worker/", "/tasks/", "/config/")),
)  # fmt: skip


def group_of(filename: str) -> str | None:
    """The group of a function defined in ``filename`` (``None``: a built-in)."""
    if filename == "~" or filename.startswith("<"):
        return None
    path = filename.replace("\\", "/")
    for name, parts in GROUPS:
        if any(part in path for part in parts):
            return name
    return "other"


def breakdown(files: list[Path]) -> dict[str, float]:
    """Profile seconds per group over all ``files`` (see the module docstring)."""
    stats = pstats.Stats(*(str(f) for f in files))
    found: dict[str, float] = defaultdict(float)
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _, _), (_, _, own, _, callers) in table.items():
        group = group_of(filename)
        if group is not None:
            found[group] += own
            continue
        shares = {c: v[2] for c, v in callers.items()} if callers else {}
        total = sum(shares.values())
        if not total:
            found["other"] += own
            continue
        for (caller_file, _, _), share in shares.items():
            found[group_of(caller_file) or "other"] += own * share / total
    return dict(found)


def command_counts(redis_url: str) -> Counter[str]:
    """Redis's own count of the commands it ran per command name since its last
    ``CONFIG RESETSTAT`` (``INFO commandstats``): every client's commands, the
    worker's broker and events included — what each record costs Redis, whoever sent
    it."""
    client = redis.Redis.from_url(redis_url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return Counter({name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()})


def reset_command_counts(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        client.config_resetstat()
    finally:
        client.close()


def one_run(
    world: World, box: Any, env: dict[str, str], root: Path, args: argparse.Namespace,
    folder: Path, profile_dir: Path | None = None, trace_dir: Path | None = None,
) -> tuple[float, float, int, Counter[str]]:  # fmt: skip
    """A first transfer of the three registers on a freshly seeded sandbox;
    (wall, worker CPU seconds, records created, Redis commands during the run)."""
    box.reseed(world.severa_file, world.eekonomi_file)
    world.connection_id = f"bench-{uuid.uuid4().hex[:8]}"
    connect(world.connection_id)
    worker = Worker(env, args.concurrency, folder / "worker.log", root=root,
                    profile_dir=profile_dir, trace_dir=trace_dir)  # fmt: skip
    try:
        worker.wait_ready()
        pids = {"worker": worker.process.pid}
        before = cpu_snapshot(pids)
        reset_command_counts(env["REDIS_URL"])
        wall, reports = run_registers(
            world.connection_id, worker.queue, REGISTERS, args.timeout, "no limits"
        )
        used = cpu_snapshot(pids)["worker"] - before["worker"]
        commands = command_counts(env["REDIS_URL"])
    finally:
        worker.stop()
    created = sum(r.created for r in reports.values())
    failed = sum(r.failed for r in reports.values())
    if failed:
        print(f"    ! {failed} records failed in this run")
    return wall, used, created, commands


def main_cpu(args: argparse.Namespace, folder: Path, redis_url: str) -> int:
    world = World(args.customers, args.articles, args.projects)
    world.write_seeds(folder)
    box = start_sandbox(world.severa_file, world.eekonomi_file, NO_LIMIT_SCALE,
                        folder / "sandbox.log")  # fmt: skip
    roots = {"after": ROOT}
    if args.compare:
        roots = {"before": Path(args.compare).resolve(), "after": ROOT}
    per_record: dict[str, list[float]] = defaultdict(list)
    commands: dict[str, list[float]] = defaultdict(list)
    shares: dict[str, dict[str, float]] = {}
    traced: dict[str, tuple[float, list[tuple[str, float]]]] = {}
    try:
        env = service_environment(redis_url, folder, box, NO_LIMIT_SCALE)
        use_environment(env)
        print(
            f"  worker CPU per created record: {world.label}, rate limits x{NO_LIMIT_SCALE:g} "
            f"(off), concurrency {args.concurrency}, {args.cpu_rounds} runs each of "
            + " / ".join(f"{label} ({root})" for label, root in roots.items()),
            flush=True,
        )
        alternating_runs(world, box, env, roots, args, folder, per_record, commands)
        if not args.no_profile:
            small = World(*PROFILE_SIZE)  # the profiler multiplies the CPU several times
            small.write_seeds(folder)
            for label, root in roots.items():
                profile_dir = folder / f"profile-{label}"
                profile_dir.mkdir()
                wall, used, created, _ = one_run(small, box, env, root, args, folder, profile_dir)
                files = sorted(profile_dir.glob("*.prof"))
                shares[label] = breakdown(files)
                print(
                    f"    {label:<6} profiled: {created} created in {wall:.1f}s, worker CPU "
                    f"{used:.1f}s (profiler included), {len(files)} process profiles",
                    flush=True,
                )
        if args.trace_commands:
            for label, root in roots.items():
                traced[label] = trace_run(world, box, env, root, args, folder, label)
    finally:
        box.stop()
    print_table(per_record, shares)
    for label, (per, senders) in traced.items():
        print(f"  Redis commands the worker sent per created record ({label}): {per:.1f}; "
              "by sender:")  # fmt: skip
        for where, n in senders:
            print(f"    {n:6.2f}  {where}")
    for label, values in commands.items():
        print(f"Redis commands per created record ({label}): {statistics.median(values):.1f} "
              f"(median of {len(values)} runs; every client: the worker's broker and events "
              f"included)")  # fmt: skip
    return 0


def alternating_runs(
    world: World, box: Any, env: dict[str, str], roots: dict[str, Path],
    args: argparse.Namespace, folder: Path, per_record: dict[str, list[float]],
    commands: dict[str, list[float]],
) -> None:  # fmt: skip
    """``--cpu-rounds`` runs of each checkout, the order flipped every round (drift hits
    both alike); each run's CPU and Redis commands per created record appended."""
    for round_ in range(args.cpu_rounds):
        order = list(roots.items())
        for label, root in order if round_ % 2 == 0 else order[::-1]:
            wall, used, created, counted = one_run(world, box, env, root, args, folder)
            per_record[label].append(used / max(1, created) * 1000)
            commands[label].append(sum(counted.values()) / max(1, created))
            top = ", ".join(f"{name} {n / max(1, created):.1f}"
                            for name, n in counted.most_common(6))  # fmt: skip
            print(
                f"    {label:<6} run {round_ + 1}: {created} created in {wall:.1f}s, "
                f"worker CPU {used:.1f}s = {per_record[label][-1]:.2f} ms per record; "
                f"Redis commands per record {commands[label][-1]:.1f} ({top})",
                flush=True,
            )


def trace_run(
    world: World, box: Any, env: dict[str, str], root: Path, args: argparse.Namespace,
    folder: Path, label: str,
) -> tuple[float, list[tuple[str, float]]]:  # fmt: skip
    """One more run with every worker process counting the Redis commands it sends
    (``bench/redis_trace/``); (commands per created record, the top senders' share)."""
    trace_dir = folder / f"trace-{label}"
    trace_dir.mkdir()
    _, _, created, _ = one_run(world, box, env, root, args, folder, trace_dir=trace_dir)
    time.sleep(1.5)  # the processes write their counts once a second
    senders: Counter[str] = Counter()
    for file in trace_dir.glob("*.json"):
        for where, command, n in json.loads(file.read_text(encoding="utf-8")):
            senders[f"{where} ({command})"] += n
    per = max(1, created)
    return sum(senders.values()) / per, [(w, n / per) for w, n in senders.most_common(12)]


def print_table(per_record: dict[str, list[float]], shares: dict[str, dict[str, float]]) -> None:
    labels = list(per_record)
    medians = {label: statistics.median(values) for label, values in per_record.items()}
    print("\n  worker CPU per created record (ms), rate limits off:")
    print("    " + f"{'':<26}" + "".join(f"{label:>14}" for label in labels))
    for i in range(max(len(v) for v in per_record.values())):
        cells = "".join(
            f"{per_record[label][i]:14.2f}" if i < len(per_record[label]) else f"{'':>14}"
            for label in labels
        )
        print(f"    {'run ' + str(i + 1):<26}{cells}")
    print(f"    {'median':<26}" + "".join(f"{medians[label]:14.2f}" for label in labels))
    for label in labels:
        if label in shares:
            total = sum(shares[label].values()) or 1.0
            shares[label] = {k: v / total for k, v in shares[label].items()}
    if shares:
        print("    where it goes (profiled run's share × the median above):")
        for group in [name for name, _ in GROUPS] + ["other"]:
            cells = "".join(
                f"{share * medians[label]:7.2f} ({share:4.0%})"
                if (share := shares.get(label, {}).get(group)) is not None
                else f"{'-':>14}"
                for label in labels
            )
            print(f"      {group:<24}{cells}")
    after = medians.get("after", 0.0)
    ratio = ""
    if "before" in medians:
        ratio = (
            f" (before: {medians['before']:.2f} ms; after ÷ before = "
            f"{after / medians['before']:.2f}; medians of {len(per_record['after'])} runs)"
        )
    print(f"worker CPU per created record: {after:.2f} ms{ratio}")


__all__ = ["REDIS_PID", "main_cpu"]
