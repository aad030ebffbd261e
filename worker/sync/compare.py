"""The comparison report (``python -m worker compare``, issue 19): both sides of each
matched register, record by record, before (or after) go-live.

Records are matched by natural key — customer number, article number (= Severa code),
project number (= cost-center item short code) — and sorted into: linked and equal,
linked and different (each field with both values), matched by key but not linked
yet, only in Severa, only in eEkonomi, and *refused*: a record the rules would not
transfer (a non-numeric customer number, a code two Severa records share, a project
number too long for a short code, a name Severa has already…), with the rule and the
message that says what to do.

It reads each side whole once with the register's own read (about one list read per
resource, the same joins and collision checks as a transfer) and maps each record
with the register's own schema functions. The read runs on a copy of the sync's state
(:func:`~worker.sync.plan.shadow_state`): nothing the sync remembers changes, and
nothing is written to either API.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.base import MappingError
from schemas.customer_identity import check_importable_into_severa, name_key
from schemas.customers import (
    eekonomi_customer_to_record,
    record_to_eekonomi_customer,
    severa_customer_to_record,
)
from schemas.products import record_to_eekonomi_article
from schemas.projects import (
    eekonomi_cost_center_item_to_record,
    record_to_eekonomi_cost_center_item,
    severa_project_to_record,
)
from schemas.sides import Side
from worker.keys import watermarks_key
from worker.sync.bindings import Binding
from worker.sync.engine import SyncContext, require_settings
from worker.sync.plan import shadow_state
from worker.sync.products import Products, _severa_record
from worker.sync.projects import Projects
from worker.sync.runstate import RunState
from worker.sync.staging import Stager

__all__ = ["CATEGORIES", "COMPARED", "Comparison", "compare_register"]

#: The report's categories, in the order a person reads them.
CATEGORIES = (
    "linked_equal",
    "linked_different",
    "matched_not_linked",
    "only_severa",
    "only_eekonomi",
    "refused",
)
#: The registers matched by natural key, and the rule a refusal cites when its message
#: names none.
COMPARED = {"customers": "R-5.1", "products": "R-2.3", "projects": "R-5.3"}
_RULE = re.compile(r"R-\d+(?:\.\d+)?")

Mapper = Callable[[Mapping[str, Any]], Mapping[str, Any]]


@dataclass
class Comparison:
    """One register's report: each category's records."""

    register: str
    found: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {name: [] for name in CATEGORIES}
    )

    def as_dict(self) -> dict[str, Any]:
        counts = {name: len(items) for name, items in self.found.items()}
        return {"counts": counts, **self.found}


def compare_register(ctx: SyncContext, register: str) -> Comparison:
    """Read both sides of ``register`` whole and sort its records (module docstring).
    Raises :class:`~worker.sync.engine.RunRefused` when a setting it needs is missing."""
    from worker.registry import register_named  # noqa: PLC0415

    require_settings(ctx, register_named(register))
    bindings = {
        str(k): Binding.from_json(v)
        for k, v in ctx.redis.hgetall(ctx.binder(register).bindings_key).items()
    }
    with shadow_state(ctx.redis, ctx.connection_id) as shadow:
        shadow_ctx = SyncContext(shadow, ctx.settings, ctx.redis, ctx.clients, ctx.values)
        severa, eekonomi = _read_both(shadow_ctx, register)
        to_severa, to_eekonomi = _mappers(shadow_ctx, register)
        writable = _eekonomi_payload(shadow_ctx, register)
        master = ctx.values.get(f"{register}_master", Side.SEVERA)
        report = Comparison(register)
        severa_names = {name_key(str(p.get("name") or "")) for p in severa.values()}
        for key in sorted({*severa, *eekonomi}):
            _sort_one(report, key, severa.get(key), eekonomi.get(key), bindings.get(key),
                      (to_severa, to_eekonomi), severa_names)  # fmt: skip
            _check_writable(report, key, severa.get(key), eekonomi.get(key), master,
                            to_severa, writable)  # fmt: skip
    return report


def _read_both(
    ctx: SyncContext, register: str
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Each side's records by natural key, read whole by the register's own read (the
    bindings are set aside in the copy, so that no record is dropped as an echo)."""
    from worker.registry import register_named  # noqa: PLC0415

    ctx.redis.delete(ctx.binder(register).bindings_key, watermarks_key(ctx.connection_id, register))
    run = RunState(ctx.redis, ctx.connection_id, f"compare-{uuid.uuid4().hex}", register)
    found: dict[str, dict[str, dict[str, Any]]] = {}
    sides = (Side.SEVERA,) if register == "projects" else (Side.SEVERA, Side.EEKONOMI)
    for side in sides:
        stager = Stager(ctx.redis, run, side)
        register_named(register).read(ctx, side, None, stager)
        stager.flush()
        found[side] = {
            str(k): json.loads(v) for k, v in ctx.redis.hgetall(run.staged_key(side)).items()
        }
    if register == "projects":  # items are indexed, not staged, by a transfer's read
        found[Side.EEKONOMI] = Projects()._items(ctx)  # noqa: SLF001
    return found[Side.SEVERA], found[Side.EEKONOMI]


def _mappers(ctx: SyncContext, register: str) -> tuple[Mapper, Mapper]:
    if register == "customers":
        return severa_customer_to_record, eekonomi_customer_to_record
    if register == "products":
        eekonomi = functools.partial(Products()._eekonomi_record, ctx)  # noqa: SLF001
        return _severa_record, eekonomi  # type: ignore[return-value]
    return severa_project_to_record, eekonomi_cost_center_item_to_record


def _eekonomi_payload(ctx: SyncContext, register: str) -> Callable[[Any], object]:
    """The schema function that turns a Severa record into what eEkonomi is sent: the
    last place a transfer refuses a record (a name or address line too long, …)."""
    reference = ctx.clients.reference
    if register == "customers":
        terms = str(reference.company_settings().get("TermsOfPaymentId") or "")
        return functools.partial(record_to_eekonomi_customer, default_terms_id=terms,
                                 terms_of_payment=reference.terms_of_payments())  # fmt: skip
    if register == "products":
        return functools.partial(record_to_eekonomi_article,
                                 codings=reference.article_account_codings(),
                                 units=reference.units())  # fmt: skip
    center = str(ctx.values["cost_center_id"])
    return functools.partial(record_to_eekonomi_cost_center_item, cost_center_id=center)


def _check_writable(
    report: Comparison,
    key: str,
    severa: dict[str, Any] | None,
    eekonomi: dict[str, Any] | None,
    master: str,
    to_record: Mapper,
    to_payload: Callable[[Any], object],
) -> None:
    """A Severa record a transfer would write to eEkonomi (new there, or Severa is the
    master) that eEkonomi's rules refuse moves from its category to ``refused``."""
    if severa is None or (eekonomi is not None and master != Side.SEVERA):
        return
    if report.found["refused"] and report.found["refused"][-1]["key"] == key:
        return  # refused already (records are sorted one key at a time)
    try:
        to_payload(to_record(severa))
    except MappingError as exc:
        for category in CATEGORIES[:-1]:
            report.found[category] = [i for i in report.found[category] if i["key"] != key]
        report.found["refused"].append(_refusal(report.register, key, Side.SEVERA, str(exc)))


def _sort_one(
    report: Comparison,
    key: str,
    severa: dict[str, Any] | None,
    eekonomi: dict[str, Any] | None,
    binding: Binding | None,
    mappers: tuple[Mapper, Mapper],
    severa_names: set[str],
) -> None:
    records: dict[str, Mapping[str, Any] | None] = {}
    for side, raw, mapper in ((Side.SEVERA, severa, mappers[0]),
                              (Side.EEKONOMI, eekonomi, mappers[1])):  # fmt: skip
        try:
            records[side] = mapper(raw) if raw is not None else None
        except MappingError as exc:
            report.found["refused"].append(_refusal(report.register, key, side, str(exc)))
            return
    ours, theirs = records[Side.SEVERA], records[Side.EEKONOMI]
    entry = _entry(key, ours or theirs or {})
    if ours is None:
        refused = _refused_into_severa(report.register, theirs or {}, severa_names)
        if refused:
            report.found["refused"].append(_refusal(report.register, key, Side.EEKONOMI, refused))
            return
        report.found["only_eekonomi"].append(
            {**entry, "would_create_in_severa": report.register != "projects"}
        )
    elif theirs is None:
        report.found["only_severa"].append(entry)
    elif binding is None or not (binding.severa_id and binding.eekonomi_id):
        report.found["matched_not_linked"].append({**entry, "fields": _differences(ours, theirs)})
    else:
        differences = _differences(ours, theirs)
        category = "linked_different" if differences else "linked_equal"
        report.found[category].append({**entry, **({"fields": differences} if differences else {})})


def _entry(key: str, record: Mapping[str, Any]) -> dict[str, Any]:
    return {"key": key, "number": str(record.get("number") or key),
            "name": str(record.get("name") or "")}  # fmt: skip


def _refusal(register: str, key: str, side: str, message: str) -> dict[str, Any]:
    found = _RULE.search(message)
    return {"key": key, "side": side, "rule": found.group(0) if found else COMPARED[register],
            "reason": message}  # fmt: skip


def _refused_into_severa(register: str, record: Mapping[str, Any], names: set[str]) -> str:
    """Why an eEkonomi-only customer could not be created in Severa (R-5.1), if it could
    not; other registers' records always can (articles) or never flow back (items)."""
    if register != "customers":
        return ""
    taken = [str(record.get("name"))] if name_key(str(record.get("name") or "")) in names else []
    try:
        check_importable_into_severa(record, taken)  # type: ignore[arg-type]
    except MappingError as exc:
        return str(exc)
    return ""


#: Fields not compared: a product's kind (Severa's register; eEkonomi has only articles).
_NOT_COMPARED = frozenset({"kind"})
#: Fields Severa may leave unset on purpose: work and travel types carry no price or VAT.
_UNSET_IN_SEVERA_OK = frozenset({"net_price", "gross_price", "vat_rate"})


def _differences(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> dict[str, Any]:
    """Each field whose values differ, with both values (canonical text for numbers)."""
    out = {}
    for name in ours:
        if name in _NOT_COMPARED:
            continue
        mine, other = ours.get(name), theirs.get(name)
        if mine is None and name in _UNSET_IN_SEVERA_OK:
            continue
        if _canonical(mine) != _canonical(other):
            out[name] = {"severa": _canonical(mine), "eekonomi": _canonical(other)}
    return out


def _canonical(value: Any) -> Any:
    from decimal import Decimal  # noqa: PLC0415

    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value
