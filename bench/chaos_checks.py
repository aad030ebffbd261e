"""``bench/chaos.py``'s verdict: duplicates, lost, stuck and transient errors, counted from
the sandbox dumps and the error list once nothing is in flight.

The counting (:func:`count`) is a pure function of the dumps, the error list and the
run states, so it can be checked on small hand-made data (``tests/test_bench_chaos.py``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from chaos_world import PROJECT_CENTER, Expected, dump
from register_transfer import Sandbox

#: The reason the service gives a record that kept failing transiently (service.give_up).
TRANSIENT = ("kept failing after all retries", "try again later")
STATUS_SENT, STATUS_PAID, STATUS_TRANSFERRED = "Skickad", "Betald", "Överförd"
#: Fault labels → the kind they are counted under.
KINDS = (
    ("slow reads", "slow reads (task past the visibility timeout)"),
    ("write_then_drop", "write-then-drop"),
    ("delay", "delay past the time-out"),
    ("503 burst", "503 burst"),
)


@dataclass
class Findings:
    duplicates: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    transient: list[str] = field(default_factory=list)
    listed: Counter[str] = field(default_factory=Counter)
    fired: dict[str, int] = field(default_factory=dict)
    quiet_after: float = 0.0
    settled_after: float = 0.0
    rounds: int = 0

    @property
    def clean(self) -> bool:
        return not (self.duplicates or self.lost or self.stuck or self.transient)


@dataclass
class Entry:
    """The parts of an error-list entry the checks use."""

    register: str
    keys: set[str]
    reason: str
    kind: str = "record"


def _extra(counts: Counter[str], what: str) -> list[str]:
    return [f"{what} {key!r} {n} times" for key, n in sorted(counts.items()) if n > 1]


def _marker_guid(value: Any) -> str | None:
    text = str(value or "")
    return text.removeprefix("severa:") if text.startswith("severa:") else None


def _fee_key(fee: dict[str, Any]) -> str | None:
    found = re.search(r"\((eekonomi:[^()\s]+)\)\s*$", str(fee.get("description") or ""))
    return found.group(1).removeprefix("eekonomi:") if found else None


def count(
    expected: Expected,
    eekonomi: dict[str, Any],
    severa: dict[str, Any],
    entries: Iterable[Entry],
    active_runs: Iterable[str],
) -> Findings:
    """Duplicates, lost, stuck and transient errors (see the module docstring)."""
    found = Findings(stuck=list(active_runs))
    entries = list(entries)
    listed: dict[str, set[str]] = {}
    for entry in entries:
        if entry.kind == "warning":
            continue
        listed.setdefault(entry.register, set()).update(entry.keys)
        found.listed[entry.register] += 1
        if any(text in entry.reason for text in TRANSIENT):
            found.transient.append(f"{entry.register} {sorted(entry.keys)[:2]}: {entry.reason}")

    def is_listed(register: str, *keys: str) -> bool:
        return any(k in listed.get(register, ()) for k in keys)

    customers = Counter(str(c.get("CustomerNumber")) for c in eekonomi["customers"])
    articles = Counter(str(a.get("Number")) for a in eekonomi["articles"])
    items = Counter(
        str(i.get("ShortName"))
        for c in eekonomi["costCenters"]
        if c.get("Name") == PROJECT_CENTER
        for i in c.get("Items") or []
    )
    drafts = Counter(
        _marker_guid(d.get("SubscriptionNumber"))
        for d in eekonomi["customerInvoiceDrafts"]
        if str(d.get("Id")) not in expected.booked_drafts
    )
    drafts.update(list(expected.booked))  # each booked draft became its invoice
    drafts.pop(None, None)
    fees = Counter(_fee_key(f) for f in severa.get("projectFees") or [])
    fees.pop(None, None)
    found.duplicates += _extra(customers, "eEkonomi customer number")
    found.duplicates += _extra(articles, "eEkonomi article number")
    found.duplicates += _extra(items, "eEkonomi project cost-center item")
    found.duplicates += _extra(Counter(str(c["number"]) for c in severa["customers"]),
                               "Severa customer number")  # fmt: skip
    found.duplicates += [f"Severa invoice {g} has {n} drafts" for g, n in drafts.items() if n > 1]
    found.duplicates += [f"supplier row {k} has {n} fees" for k, n in fees.items() if n > 1]

    found.lost = _lost(expected, severa, is_listed, (customers, articles, items), drafts, fees)
    return found


def _lost(
    expected: Expected,
    severa: dict[str, Any],
    is_listed: Callable[..., bool],
    registers: tuple[Counter[str], Counter[str], Counter[str]],
    drafts: Counter[str | None],
    fees: Counter[str | None],
) -> list[str]:
    """Eligible records neither transferred nor listed, and statuses not come back."""
    customers, articles, items = registers
    lost: list[str] = []
    for register, keys, have in (
        ("customers", expected.customers, customers),
        ("products", expected.articles, articles),
        ("projects", expected.projects, items),
    ):
        lost += [
            f"{register} {k}: not in eEkonomi, not listed"
            for k in sorted(keys)
            if not have.get(k) and not is_listed(register, k)
        ]
    statuses = {
        str(i["guid"]): str((i.get("status") or {}).get("name")) for i in severa["invoices"]
    }
    for guid, number in sorted(expected.invoices.items()):
        if not drafts.get(guid):
            if not is_listed("invoices", guid):
                lost.append(f"invoice {guid} (customer {number}): no draft, not listed")
            continue
        want, register = STATUS_TRANSFERRED, "invoices"
        if guid in expected.paid:
            want, register = STATUS_PAID, "paid"
        elif guid in expected.booked:
            want, register = STATUS_SENT, "sent"
        have_status = statuses.get(guid)
        if have_status != want and not is_listed(register, guid, expected.booked.get(guid, "")):
            lost.append(f"invoice {guid}: Severa status {have_status!r}, not {want!r}")
    lost += [
        f"supplier row {key} (project {project}): no fee, not listed"
        for key, project in sorted(expected.fee_rows.items())
        if not fees.get(key) and not is_listed("supplier_invoices", key)
    ]
    return lost


def check(box: Sandbox, connection_id: str, expected: Expected) -> Findings:
    """:func:`count` on the sandboxes' dumps and this connection's error list and runs."""
    from worker.registry import NAMES
    from worker.state import redis_client
    from worker.sync.errorlist import ErrorList
    from worker.sync.runs import ACTIVE, Runs

    client = redis_client()
    entries = [
        Entry(
            e.register,
            {
                k
                for k in (e.record_key, e.record.number, e.record.severa_id, e.record.eekonomi_id)
                if k
            },
            e.reason,
            e.kind,
        )
        for e in ErrorList(client, connection_id).entries()
    ]
    runs = Runs(client, connection_id)
    active = [
        f"{r.transfer} run {r.run_id} {r.status} ({r.settled}/{r.expected} settled)"
        for name in NAMES
        for r in runs.history(name, 50)
        if r.status in ACTIVE
    ]
    return count(expected, dump(box.eekonomi), dump(box.severa), entries, active)


def print_findings(
    findings: Findings, kills: Counter[str], kills_by_phase: Counter[str], log_size: int
) -> int:
    """Print the figures; return F, the faults that fired in all."""
    by_kind: Counter[str] = Counter()
    by_phase: Counter[str] = Counter()
    for label, n in findings.fired.items():
        kind = next((name for word, name in KINDS if word in label), label)
        by_kind[kind] += n
        by_phase[label.split(" ", 1)[0]] += n
    for kind, n in kills.items():
        by_kind[f"SIGKILL {kind}"] += n
    total = sum(by_kind.values())
    print(f"\nfaults that fired: {total} (armed or done: {log_size} actions)")
    for kind, n in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:<48} {n:5}")
    print("  sandbox faults per phase: " + ", ".join(f"{p} {n}" for p, n in by_phase.items()))
    print("  SIGKILLs per phase: " + ", ".join(f"{p} {n}" for p, n in kills_by_phase.items()))
    for label, n in sorted(findings.fired.items()):
        print(f"    {label:<70} {n:4}")
    print(
        f"settle: nothing in flight {findings.quiet_after:.0f}s after the faults stopped; "
        f"{findings.rounds} round(s) of every transfer; settle over {findings.settled_after:.0f}s "
        "after the faults stopped"
    )
    print("error list (records listed with a reason): " + (
        ", ".join(f"{r} {n}" for r, n in sorted(findings.listed.items())) or "empty"))  # fmt: skip
    for title, items in (
        ("duplicates", findings.duplicates),
        ("lost", findings.lost),
        ("stuck", findings.stuck),
        ("transient errors", findings.transient),
    ):
        print(f"{title}: {len(items)}")
        for item in items[:25]:
            print(f"  {item}")
        if len(items) > 25:
            print(f"  … and {len(items) - 25} more")
    return total
