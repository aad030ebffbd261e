"""An invoice's customer before its draft (issue 20): transferred when not linked, and
brought up to date only when it changed since it was last synced.

A draft copies the postal code, city and country of the eEkonomi customer (eaccounting
notes), so that customer must be current when the draft is made. Re-reading it on both
sides before every customer's first draft cost four requests per customer (0.8 per
invoice in ``bench/invoice_transfer.py``), nearly always to find it unchanged.

Instead, each invoice run asks once what changed, at the start of its read
(:func:`note_changed_customers`): the customers changed on each side since the customers
register's watermark (minus its overlap) — the register's last finished run synced
every change before it. Of those, only customers of the invoices being transferred
count, and on the eEkonomi side only those whose record hashes differently from what
their binding says was last written or found there (the customers run's own writes come
back in that list and are not changes). Severa's list does not carry the joined record
(addresses, contacts) the binding's hash is of, so a Severa change counts as one. A side
never read by a finished customers run (no watermark) cannot tell: then every invoiced
customer counts as changed, once per run, as before.

The numbers found are kept in one set per connection; an invoice whose customer is in
it re-syncs the customer (:class:`~worker.sync.customers.Customers` ``settle``) and takes
it out. A customer whose re-sync fails stays in, so the next invoice tries again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from redis.client import Pipeline

from schemas.base import MappingError
from schemas.customers import eekonomi_customer_to_record
from schemas.sides import Side
from worker.errors import RecordError
from worker.keys import key
from worker.sync.bindings import SIDES
from worker.sync.customers import NAME as CUSTOMERS
from worker.sync.customers import Customers
from worker.sync.engine import SyncContext
from worker.sync.runstate import CorruptRunState, Watermarks
from worker.sync.values import digest_of


def stale_key(connection_id: str) -> str:
    """The set of customer numbers to re-sync before their next invoice's draft."""
    return key(connection_id, "stale", CUSTOMERS)


def invoice_customer(invoice: Mapping[str, Any]) -> tuple[str, str]:
    """(number, Severa guid) of the customer an invoice bills, as the schema picks it
    (:func:`schemas.invoices.severa_invoice_to_record`: the billing customer first)."""
    customer: Mapping[str, Any] = invoice.get("billingCustomer") or {}
    if customer.get("number") is None:
        customer = invoice.get("customer") or {}
    number = customer.get("number")
    return (str(number) if number is not None else "", str(customer.get("guid") or ""))


def note_changed_customers(ctx: SyncContext, customers: Iterable[tuple[str, str]]) -> int:
    """Replace the stale set with those of the invoices' ``customers`` (number, guid)
    changed since last synced (module docstring); how many. At most four list requests
    a run (more only when a list has more than a page of changes)."""
    by_guid = {guid: number for number, guid in customers}
    by_guid.pop("", None)
    numbers = {number for number in by_guid.values() if number}
    marks = Watermarks(ctx.redis, ctx.connection_id, CUSTOMERS)
    try:
        since = {side: marks.since(side) for side in SIDES}
    except CorruptRunState:  # the customers run says so; here: cannot tell, so re-sync
        since = dict.fromkeys(SIDES)
    if not numbers or None in since.values():
        stale = numbers
    else:
        stale = _changed_in_severa(ctx, since[Side.SEVERA], by_guid) | _changed_in_eekonomi(
            ctx, since[Side.EEKONOMI], numbers
        )
    pipe = ctx.redis.pipeline(transaction=True)
    pipe.delete(stale_key(ctx.connection_id))
    if stale:
        pipe.sadd(stale_key(ctx.connection_id), *sorted(stale))
    pipe.execute()
    return len(stale)


def _changed_in_severa(ctx: SyncContext, since: Any, by_guid: Mapping[str, str]) -> set[str]:
    """The invoiced customers whose Severa customer, address or contact person changed."""
    severa = ctx.clients.severa
    numbers = set(by_guid.values())
    changed = {str(c.get("number")) for c in severa.list_customers(changed_since=since)} & numbers
    for listing in (
        severa.list_addresses(changed_since=since),
        severa.list_contact_persons(changed_since=since),
    ):
        for item in listing:
            number = by_guid.get(str((item.get("customer") or {}).get("guid") or ""))
            if number:
                changed.add(number)
    return changed


def _changed_in_eekonomi(ctx: SyncContext, since: Any, numbers: set[str]) -> set[str]:
    """The invoiced customers whose eEkonomi record differs from what was last synced."""
    binder = ctx.binder(CUSTOMERS)
    listed = {
        str(c.get("CustomerNumber")): c
        for c in ctx.clients.eekonomi.list_customers(changed_since=since)
        if str(c.get("CustomerNumber")) in numbers
    }
    if not listed:
        return set()
    raws = ctx.redis.hmget(binder.bindings_key, list(listed))
    changed = set()
    for (number, customer), raw in zip(listed.items(), raws, strict=True):
        binding = binder.parse(raw, number) if raw else None
        digest = digest_of(eekonomi_customer_to_record, customer)
        if binding is None or not digest or digest != binding.eekonomi_hash:
            changed.add(number)
    return changed


def read_customer(pipe: Pipeline, ctx: SyncContext, number: str) -> None:
    """Queue on ``pipe`` the two reads :func:`customer_id` starts from (the customer's
    binding, whether it is stale), so a caller reads them in a round trip it makes
    anyway; their two replies are ``customer_id``'s ``read``."""
    pipe.hget(ctx.binder(CUSTOMERS).bindings_key, number)
    pipe.sismember(stale_key(ctx.connection_id), number)


def customer_id(
    ctx: SyncContext, number: str, label: str, read: Sequence[Any] | None = None
) -> str:
    """The eEkonomi id of an invoice's customer: transferred first when not linked, and
    re-synced first when :func:`note_changed_customers` found it changed.

    ``read``: the replies of :func:`read_customer` made by the caller; ``None``: read
    them here.

    Raises:
        MappingError: the customer cannot be transferred, or is gone on both sides.
    """
    binder = ctx.binder(CUSTOMERS)
    stale = stale_key(ctx.connection_id)
    if read is None:
        pipe = ctx.redis.pipeline(transaction=False)
        read_customer(pipe, ctx, number)
        read = pipe.execute()
    raw, changed = read
    binding = binder.parse(raw, number)
    if binding is None or not binding.eekonomi_id or changed:
        customers = Customers()
        try:
            customers.settle(ctx, number, customers.fetch(ctx, number))
        except RecordError as exc:
            reason = exc.reason if isinstance(exc, MappingError) else str(exc)
            raise MappingError(
                label, f"its customer {number} cannot be transferred: {reason}"
            ) from exc
        ctx.redis.srem(stale, number)
        binding = binder.get(number)
    if binding is None or not binding.eekonomi_id:
        raise MappingError(
            label,
            f"its customer {number} is neither in Severa nor in eEkonomi any more; "
            "restore the customer or move the invoice to another customer",
        )
    return binding.eekonomi_id
