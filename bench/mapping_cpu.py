"""Issue 20: the mapping CPU of one created record, per register, in µs.

``register_transfer.py --no-limits`` measures the whole worker (Redis, HTTP, Celery,
mapping) and takes minutes; its profile put the marshmallow mapping at a fifth of the
worker's CPU per created record. This script isolates that share so a change to the
schemas can be measured in seconds, on the same generated data: the Severa records come
from ``register_transfer.severa_seed`` (customers joined with their address and contact
as the worker's full read joins them), and eEkonomi's answers from the eEkonomi
sandbox's own create functions, run in-process before the clock starts.

What is timed (``time.process_time``, all records of a register, median of
``--rounds``) is exactly the mapping a created record goes through in
``worker/sync/{customers,products,projects}.py``: Severa record → canonical record and
its hash (``settle``), record → eEkonomi body, and the two hashes the binding stores
once eEkonomi answered (``_to_eekonomi`` / ``settle``). Requests, Redis and the binder
are left out. Each step is also timed on its own, so a change shows where it saved.

    .venv/bin/python bench/mapping_cpu.py                     # 2 000 / 2 000 / 1 000
    .venv/bin/python bench/mapping_cpu.py --customers 500 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from register_transfer import eekonomi_seed, severa_seed  # noqa: E402

from schemas.base import CheckedBody  # noqa: E402
from schemas.customers import (  # noqa: E402
    eekonomi_customer_body,
    eekonomi_customer_to_record,
    severa_customer_to_record,
)
from schemas.products import (  # noqa: E402
    SeveraRegister,
    eekonomi_article_body,
    eekonomi_article_to_record,
    severa_item_to_record,
)
from schemas.projects import (  # noqa: E402
    eekonomi_cost_center_item_body,
    eekonomi_cost_center_item_to_record,
    severa_project_to_record,
)
from schemas.records import content_hash  # noqa: E402

Record = dict[str, Any]


@dataclass
class Reference:
    """eEkonomi's reference data as the worker's reference client hands it out."""

    default_terms_id: str
    terms_of_payment: list[Record]
    codings: list[Record]
    units: list[Record]
    cost_center_id: str


@dataclass
class Case:
    """One created record: its Severa form and the answer eEkonomi gave to its create."""

    severa: Any
    answer: Record = field(default_factory=dict)


# -- the mapping a created record goes through (mirrors worker/sync/*.py) ---------------


# A step's record is (canonical record, its hash): ``settle`` hashes it once and binds
# that hash after the write.


def customer_severa_side(case: Case, ref: Reference) -> Any:
    """``Customers.settle``: the record and the hash compared with the binding's."""
    record = severa_customer_to_record(case.severa)
    return record, content_hash(record)


def customer_to_body(record: Any, ref: Reference) -> CheckedBody:
    """``Customers._to_eekonomi``: the body sent, with its check's load."""
    return eekonomi_customer_body(
        record[0], default_terms_id=ref.default_terms_id, terms_of_payment=ref.terms_of_payment
    )


def customer_binding(
    record: Any, body: CheckedBody, answer: Record, ref: Reference
) -> tuple[str, str]:
    """``Customers._to_eekonomi``: the two hashes bound once eEkonomi answered."""
    return record[1], content_hash(eekonomi_customer_to_record(answer, sent=body))


def product_severa_side(case: Case, ref: Reference) -> Any:
    """``Products.settle`` (``_severa_record``: no code collision)."""
    kind: SeveraRegister = case.severa["kind"]
    record = severa_item_to_record(kind, case.severa["item"], code_also_used_by=None)
    return record, content_hash(record)


def product_to_body(record: Any, ref: Reference) -> CheckedBody:
    """``Products._to_eekonomi``: the body sent, with its check's load."""
    return eekonomi_article_body(record[0], codings=ref.codings, units=ref.units)


def product_binding(
    record: Any, body: CheckedBody, answer: Record, ref: Reference
) -> tuple[str, str]:
    """``Products._to_eekonomi``: the two hashes bound (``_eekonomi_record`` of the answer)."""
    written = eekonomi_article_to_record(answer, codings=ref.codings, units=ref.units, sent=body)
    return record[1], content_hash(written)


def project_severa_side(case: Case, ref: Reference) -> Any:
    """``Projects.settle``: the record and its hash."""
    record = severa_project_to_record(case.severa)
    return record, content_hash(record)


def project_to_body(record: Any, ref: Reference) -> CheckedBody:
    """``Projects.settle``: the body sent, with its check's load."""
    return eekonomi_cost_center_item_body(record[0], cost_center_id=ref.cost_center_id)


def project_binding(
    record: Any, body: CheckedBody, answer: Record, ref: Reference
) -> tuple[str, str]:
    """``Projects.settle``: the two hashes bound."""
    return record[1], content_hash(eekonomi_cost_center_item_to_record(answer, sent=body))


@dataclass
class Steps:
    """The three steps of one register's created record."""

    severa_side: Callable[[Case, Reference], Any]
    to_body: Callable[[Any, Reference], CheckedBody]
    binding: Callable[[Any, CheckedBody, Record, Reference], tuple[str, str]]


PATHS: dict[str, Steps] = {
    "customers": Steps(customer_severa_side, customer_to_body, customer_binding),
    "products": Steps(product_severa_side, product_to_body, product_binding),
    "projects": Steps(project_severa_side, project_to_body, project_binding),
}

# -- data -------------------------------------------------------------------------------


def _wire(value: Any) -> Any:
    """What a JSON answer decodes to (the worker never sees the sandboxes' objects)."""
    return json.loads(json.dumps(value, ensure_ascii=False))


def severa_cases(customers: int, articles: int, projects: int) -> dict[str, list[Case]]:
    """The generated Severa records, joined as the worker's full read joins them."""
    seed = _wire(severa_seed(customers, articles, projects))
    addresses: dict[str, list[Record]] = {}
    for address in seed["addresses"]:
        addresses.setdefault(address["customer"]["guid"], []).append(address)
    emails: dict[str, list[str]] = {}
    for comm in seed["contactCommunications"]:
        if comm["communicationType"].get("type") == "EmailAddress":
            emails.setdefault(comm["contact"]["guid"], []).append(comm["value"])
    contacts: dict[str, list[Record]] = {}
    for contact in seed["contactPersons"]:
        # As the Severa sandbox lists a contact: with its e-mails from its communications.
        shown = {**contact, "emails": emails.get(contact["guid"], []), "phoneNumbers": []}
        contacts.setdefault(contact["customer"]["guid"], []).append(shown)
    return {
        "customers": [
            Case(
                {
                    **c,
                    "addresses": addresses.get(c["guid"], []),
                    "contacts": contacts.get(c["guid"], []),
                }
            )  # fmt: skip
            for c in seed["customers"]
        ],
        "products": [
            Case({"kind": kind, "item": item})
            for kind, name in (
                ("product", "products"),
                ("work_type", "workTypes"),
                ("travel_expense_type", "travelExpenseTypes"),
            )
            for item in seed[name]
        ],
        "projects": [Case(p) for p in seed["projects"]],
    }


def eekonomi_answers(cases: Mapping[str, Sequence[Case]]) -> Reference:
    """Create every record in an in-process eEkonomi sandbox (untimed) and keep each
    answer as the worker would decode it; return the reference data the bodies used."""
    from sandbox.core.http import Response
    from sandbox.eekonomi import DEMO_COMPANY_ID, EEkonomiSandbox
    from sandbox.eekonomi.articles import article_from
    from sandbox.eekonomi.costcenters import item_from
    from sandbox.eekonomi.customers import customer_from
    from sandbox.eekonomi.reads import records
    from sandbox.eekonomi.seed import seed_company

    app = EEkonomiSandbox()
    company = app.companies[DEMO_COMPANY_ID]
    ctx = app.context(company)
    seed_company(ctx, eekonomi_seed(), replace=True)
    ref = Reference(
        default_terms_id=str(company.settings.get("TermsOfPaymentId") or ""),
        terms_of_payment=_wire(records(ctx, "termsOfPayments")),
        codings=_wire(records(ctx, "articleAccountCodings")),
        units=_wire(records(ctx, "units")),
        cost_center_id=str(_wire(records(ctx, "costCenters"))[0]["Id"]),
    )
    create: dict[str, Callable[[Any, Any, Any], Record]] = {
        "customers": customer_from,
        "products": article_from,
        "projects": item_from,
    }
    for register, register_cases in cases.items():
        path = PATHS[register]
        for case in register_cases:
            body = path.to_body(path.severa_side(case, ref), ref)
            stored = create[register](ctx, _wire(body.payload), None)
            case.answer = Response.json(201, stored).json_body()
    return ref


# -- timing -----------------------------------------------------------------------------


def time_register(
    path: Steps, cases: Sequence[Case], ref: Reference, rounds: int
) -> dict[str, float]:
    """Median µs per record of each step and of the whole path, over ``rounds``."""
    steps: dict[str, list[float]] = {"severa side": [], "body": [], "binding": [], "total": []}
    n = len(cases)
    for _ in range(rounds):
        start = time.process_time()
        records = [path.severa_side(case, ref) for case in cases]
        t1 = time.process_time()
        bodies = [path.to_body(record, ref) for record in records]
        t2 = time.process_time()
        for record, body, case in zip(records, bodies, cases, strict=True):
            path.binding(record, body, case.answer, ref)
        t3 = time.process_time()
        steps["severa side"].append((t1 - start) / n * 1e6)
        steps["body"].append((t2 - t1) / n * 1e6)
        steps["binding"].append((t3 - t2) / n * 1e6)
        steps["total"].append((t3 - start) / n * 1e6)
    return {name: statistics.median(values) for name, values in steps.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    cases = severa_cases(args.customers, args.articles, args.projects)
    ref = eekonomi_answers(cases)
    print(f"mapping CPU per created record, µs (process_time, median of {args.rounds} rounds)")
    print(f"{'register':<10} {'records':>7} {'severa side':>12} {'body':>8} {'binding':>8} "
          f"{'total':>8}")  # fmt: skip
    for register, register_cases in cases.items():
        # One untimed pass: the shared schema instances and caches are built once per
        # worker process, not per record.
        time_register(PATHS[register], register_cases[:50], ref, 1)
        result = time_register(PATHS[register], register_cases, ref, args.rounds)
        print(
            f"{register:<10} {len(register_cases):>7} {result['severa side']:>12.1f} "
            f"{result['body']:>8.1f} {result['binding']:>8.1f} {result['total']:>8.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
