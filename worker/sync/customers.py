"""Transfer customers (R-1.1, R-5.1): both ways, updates only from the master system.

Records are matched by customer number (R-2.2). A customer new on either side is
created on the other whichever system is master; a customer that exists on both sides
is updated only from ``customers_master`` (R-3.1). Severa spreads a customer over the
customer, its addresses and its contact persons, so a Severa read joins the three
(see :func:`read_severa`); eEkonomi keeps one flat record.

What "changed" means: each binding keeps the hash of each side's canonical record as
last synced, so a record re-read because of the watermark overlap, or because our own
write moved its change time, settles as *unchanged* without a request.

A create in Severa is several writes — the customer, its invoicing address, its contact
person and the contact's e-mail and phones — and may stop half-way (a phone of a type
Severa does not have, a lost answer). Such a customer is bound *incomplete* on the
Severa side as soon as it exists: that half-made record is never the master's truth (it
would wipe the contact in eEkonomi), its error-list entry stays, and every later
attempt finishes the create from the eEkonomi record. The writes go out under the
record's lock, each with a fresh pending mark, so a write whose answer was lost is
waited for instead of made twice (:mod:`worker.sync.creates`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from schemas.base import MappingError
from schemas.customer_addresses import (
    country_code_for,
    record_to_severa_address,
    record_to_severa_address_update,
    severa_invoicing_address,
)
from schemas.customer_contacts import (
    record_to_severa_contact,
    record_to_severa_contact_communications,
)
from schemas.customer_identity import (
    ascii_number,
    check_importable_into_severa,
    customer_label,
    name_key,
)
from schemas.customers import (
    eekonomi_customer_body,
    eekonomi_customer_to_record,
    record_to_severa_customer,
    record_to_severa_customer_update,
    severa_customer_to_record,
)
from schemas.records import CustomerRecord, content_hash
from schemas.sides import Side
from worker.errors import RecordError
from worker.keys import key
from worker.lua import lua_script
from worker.sync.bindings import Binding
from worker.sync.conflicts import guard_overwrite
from worker.sync.creates import CreateClaim, creating
from worker.sync.engine import (
    Link,
    Outcome,
    Staged,
    Stager,
    SyncContext,
    batches,
    differs,
    digest_of,
    flowing_side,
    link_of,
)
from worker.sync.errorlist import RecordRef
from worker.sync.history import note_change
from worker.sync.register import RegisterSpec
from worker.sync.upsert import EEkonomiResource, upsert_eekonomi

NAME = "customers"
#: Severa's list answers are joined per this many customers (one Redis round trip).
JOIN_BATCH = 200
#: Scratch items appended per command, and how long an unread scratch list is kept (a
#: read cut short leaves its lists behind; the next full read uses a new scratch).
SCRATCH_BATCH = 500
SCRATCH_TTL = 24 * 3600
_SCRATCH_PUSH = lua_script(__file__, "scratch_push")
_SCRATCH_TAKE = lua_script(__file__, "scratch_take")


class Customers:
    """The customers register (see the module docstring)."""

    spec = RegisterSpec(
        name=NAME,
        title="Transfer customers",
        task="sync.transfer_customers",
        record_task="sync.transfer_customer",
        tasks_module="tasks.customers",
        requires=("customers_master",),
        interval_setting="register_interval_minutes",
        natural_key="customer number",
        help="customers both ways; the master system's edits win (R-1.1)",
        sandbox_paths=("/rest-api/v1/customers", "/v2/customers"),
    )
    name = NAME

    # -- read ------------------------------------------------------------------------

    def read(
        self, ctx: SyncContext, side: str, since: datetime | None, stage: Stager
    ) -> datetime | None:
        if side == Side.EEKONOMI:
            listing = ctx.clients.eekonomi.list_customers(changed_since=since)
            for customer in listing:
                number = str(customer.get("CustomerNumber") or "")
                digest = functools.partial(digest_of, eekonomi_customer_to_record, customer)
                stage.add(number or f"id:{customer['Id']}", str(customer["Id"]), customer, digest)
            return listing.server_time
        return read_severa(ctx, since, stage)

    def streamed_side(self, ctx: SyncContext) -> str | None:
        """The master's records only flow to the other side, read in full before them."""
        return str(ctx.values["customers_master"])

    def fetch(self, ctx: SyncContext, natural_key: str) -> Staged:
        staged = Staged()
        number = ascii_number(natural_key)
        if number is not None:
            for customer in ctx.clients.severa.list_customers(numbers=[number]):
                staged.severa = _join_one(ctx, customer)
        found = ctx.clients.eekonomi.find_customer_by_number(natural_key)
        staged.eekonomi = found
        return staged

    def describe(self, natural_key: str, staged: Staged) -> RecordRef:
        severa, eekonomi = staged.severa or {}, staged.eekonomi or {}
        return RecordRef(
            number=natural_key,
            name=str(severa.get("name") or eekonomi.get("Name") or ""),
            severa_id=str(severa.get("guid") or ""),
            eekonomi_id=str(eekonomi.get("Id") or ""),
        )

    # -- settle ----------------------------------------------------------------------

    def settle(self, ctx: SyncContext, natural_key: str, staged: Staged) -> Outcome:
        link = link_of(ctx, NAME, natural_key)
        binding, severa_id, eekonomi_id = link.binding, link.severa_id, link.eekonomi_id
        if binding.incomplete == Side.SEVERA:
            return self._finish_in_severa(ctx, natural_key, staged, link)
        side = flowing_side(staged, link, ctx.values["customers_master"])
        if side == Side.SEVERA and staged.severa is not None:
            record = severa_customer_to_record(staged.severa)
            severa_id = str(staged.severa["guid"])
            record_hash = content_hash(record)
            if record_hash == binding.severa_hash and eekonomi_id:
                return Outcome("unchanged", Side.SEVERA)
            return self._to_eekonomi(ctx, natural_key, record, binding, severa_id, eekonomi_id,
                                     staged.eekonomi, record_hash)  # fmt: skip
        if side == Side.EEKONOMI and staged.eekonomi is not None:
            record = eekonomi_customer_to_record(staged.eekonomi)
            eekonomi_id = str(staged.eekonomi["Id"])
            if content_hash(record) == binding.eekonomi_hash and severa_id:
                return Outcome("unchanged", Side.EEKONOMI)
            return self._to_severa(ctx, natural_key, record, binding, severa_id, eekonomi_id)
        return Outcome("unchanged")

    def _to_eekonomi(
        self,
        ctx: SyncContext,
        natural_key: str,
        record: CustomerRecord,
        binding: Binding,
        severa_id: str,
        eekonomi_id: str,
        current: dict[str, Any] | None,
        record_hash: str,
    ) -> Outcome:
        """Write ``record`` (hashed ``record_hash``) to eEkonomi and bind it. The body's
        check is kept, so that eEkonomi's answer maps without a second full load."""
        eekonomi = ctx.clients.eekonomi
        reference = ctx.clients.reference
        body = eekonomi_customer_body(
            record,
            default_terms_id=str(reference.company_settings().get("TermsOfPaymentId") or ""),
            terms_of_payment=reference.terms_of_payments(),
        )
        payload = body.payload
        number = record["number"]
        resource = EEkonomiResource(
            find=lambda: eekonomi.find_customer_by_number(number),
            create=eekonomi.create_customer,
            get=eekonomi.get_customer,
            update=eekonomi.update_customer,
        )
        binder = ctx.binder(NAME)
        label = customer_label(number, record["name"])
        written, counter = upsert_eekonomi(
            binder, natural_key, label, payload, resource, eekonomi_id=eekonomi_id,
            current=current,
            before_update=lambda now: guard_overwrite(
                ctx, NAME, natural_key, last_hash=binding.eekonomi_hash,
                current=eekonomi_customer_to_record(now), written=record, label=label,
            ),
        )  # fmt: skip
        binder.bind_last(
            natural_key,
            Binding(
                severa_id=severa_id,
                eekonomi_id=str(written["Id"]),
                severa_hash=record_hash,
                eekonomi_hash=content_hash(eekonomi_customer_to_record(written, sent=body)),
            ),
        )
        return Outcome(counter, Side.SEVERA)

    def _finish_in_severa(
        self, ctx: SyncContext, natural_key: str, staged: Staged, link: Link
    ) -> Outcome:
        """A Severa create that stopped half-way: finish it from the eEkonomi record,
        whichever system is master — the half-made Severa customer is not its truth."""
        current = staged.eekonomi
        if current is None and link.eekonomi_id:
            current = ctx.clients.eekonomi.get_customer(link.eekonomi_id)
        if current is None:
            raise MappingError(
                customer_label(natural_key, ""),
                f"its create in Severa stopped half-way (Severa customer {link.severa_id}) "
                "and the eEkonomi customer it came from is gone; finish or delete the "
                "Severa customer by hand, then `python -m worker errors dismiss` it",
            )
        record = eekonomi_customer_to_record(current)
        return self._to_severa(ctx, natural_key, record, link.binding, link.severa_id,
                               str(current["Id"]))  # fmt: skip

    def _to_severa(
        self,
        ctx: SyncContext,
        natural_key: str,
        record: CustomerRecord,
        binding: Binding,
        severa_id: str,
        eekonomi_id: str,
    ) -> Outcome:
        pending = ctx.binder(NAME).pending_for(natural_key, Side.SEVERA)
        if severa_id and not binding.incomplete and pending is None:
            joined = self._update_in_severa(ctx, natural_key, record, severa_id, binding)
            counter = "updated" if joined is not None else "unchanged"
        else:
            joined, counter = self._create_or_finish(ctx, natural_key, record, severa_id,
                                                     eekonomi_id), "created"  # fmt: skip
        severa_record = severa_customer_to_record(joined) if joined else None
        ctx.binder(NAME).bind(
            natural_key,
            Binding(
                severa_id=str(joined["guid"]) if joined else severa_id,
                eekonomi_id=eekonomi_id,
                severa_hash=content_hash(severa_record) if severa_record else binding.severa_hash,
                eekonomi_hash=content_hash(record),
            ),
        )
        if joined:
            ctx.redis.hset(_names_key(ctx), name_key(record["name"]), natural_key)
        return Outcome(counter, Side.EEKONOMI)

    def _create_or_finish(
        self,
        ctx: SyncContext,
        natural_key: str,
        record: CustomerRecord,
        severa_id: str,
        eekonomi_id: str,
    ) -> dict[str, Any]:
        """Create the customer in Severa — or finish a create that a crash, a lost
        answer or a failed write stopped half-way — under the record's lock. A write
        whose answer was lost a moment ago may still land: the create waits for it
        (:meth:`~worker.sync.creates.CreateClaim.hold_unless_settled`) rather than
        adding a second address or contact."""
        label = customer_label(record["number"], record["name"])
        with creating(ctx, NAME, natural_key) as claim, _refusal_clears_pending(claim):
            bound = claim.binding
            severa_id = severa_id or (bound.severa_id if bound else "")
            if claim.pending_on(Side.SEVERA) is not None:
                claim.hold_unless_settled(Side.SEVERA, label)
                number = ascii_number(natural_key)
                if not severa_id and number is not None:
                    for found in ctx.clients.severa.list_customers(numbers=[number]):
                        severa_id = str(found["guid"])
            if severa_id:
                return self._resume_in_severa(ctx, claim, record, severa_id, eekonomi_id)
            owner = ctx.redis.hget(_names_key(ctx), name_key(record["name"]))
            # Only the one name that matters is looked up (the index may be large).
            taken = [record["name"]] if owner and str(owner) != natural_key else []
            check_importable_into_severa(record, taken)
            return self._create_in_severa(ctx, claim, record, eekonomi_id)

    def _create_in_severa(
        self, ctx: SyncContext, claim: CreateClaim, record: CustomerRecord, eekonomi_id: str
    ) -> dict[str, Any]:
        """Customer, then its invoicing address, then its contact and communications.
        Once the customer exists it is bound *incomplete* until the rest is written."""
        currencies = {
            str(c.get("code")): str(c.get("guid")) for c in ctx.clients.reference.currencies()
        }
        body = record_to_severa_customer(record, currency_guids=currencies)
        customer = claim.send(Side.SEVERA, lambda: ctx.clients.severa.create_customer(body))
        note_change(Side.SEVERA, "create", body)
        ctx.binder(NAME).bind(
            claim.natural_key,
            Binding(severa_id=str(customer["guid"]), eekonomi_id=eekonomi_id,
                    incomplete=Side.SEVERA),
        )  # fmt: skip
        return self._complete_in_severa(ctx, claim, record, customer, None, [])

    def _complete_in_severa(
        self,
        ctx: SyncContext,
        claim: CreateClaim,
        record: CustomerRecord,
        customer: dict[str, Any],
        address: dict[str, Any] | None,
        contacts: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """Add what a new Severa customer lacks: the invoicing address, the contact."""
        severa = ctx.clients.severa
        if address is None:
            body = record_to_severa_address(record, country_guids=_country_guids(ctx) or None)
            guid = str(customer["guid"])
            address = claim.send(Side.SEVERA, lambda: severa.create_customer_address(guid, body))
        contact: dict[str, Any] | None = contacts[0] if contacts else None
        if contact is None:
            person = record_to_severa_contact(
                record, customer_guid=str(customer["guid"]), address_guid=str(address["guid"])
            )
            if person is not None:
                contact = claim.send(Side.SEVERA, lambda: severa.create_contact_person(person))
        types = _communication_types(ctx)
        if contact is not None and types:
            # Only what the contact lacks: a resumed create may have written some.
            known = {*(contact.get("emails") or []), *(contact.get("phoneNumbers") or [])}
            for communication in record_to_severa_contact_communications(
                record, contact_guid=str(contact["guid"]), communication_types=types
            ):
                if communication.get("value") not in known:
                    claim.send(Side.SEVERA,
                               functools.partial(severa.create_contact_communication,
                                                 communication))  # fmt: skip
        # Read the customer back as a run reads it (contacts then show the e-mail and
        # phones derived from their communications), so the next run's read of this
        # customer hashes equal and settles as unchanged instead of writing back.
        return _join_one(ctx, customer)

    def _resume_in_severa(
        self,
        ctx: SyncContext,
        claim: CreateClaim,
        record: CustomerRecord,
        severa_id: str,
        eekonomi_id: str,
    ) -> dict[str, Any]:
        severa = ctx.clients.severa
        customer = severa.get_customer(severa_id)
        if customer is None:  # deleted since: create it all again
            return self._create_in_severa(ctx, claim, record, eekonomi_id)
        addresses = list(severa.list_customer_addresses(severa_id))
        contacts = list(severa.list_customer_contact_persons(severa_id))
        address = severa_invoicing_address(customer, addresses)
        return self._complete_in_severa(ctx, claim, record, customer, address, contacts)

    def _update_in_severa(
        self,
        ctx: SyncContext,
        natural_key: str,
        record: CustomerRecord,
        severa_id: str,
        binding: Binding,
    ) -> dict[str, Any] | None:
        """Patch what differs on the customer and its invoicing address; None if nothing.
        A Severa edit since the last sync is logged or held first (conflicts)."""
        severa = ctx.clients.severa
        current = severa.get_customer(severa_id)
        if current is None:
            raise MappingError(
                customer_label(record["number"], record["name"]),
                "the linked Severa customer was deleted; restore it in Severa",
            )
        # only the fields the schema lets an update change, on the address the
        # schema's rule picks — the one a read of this customer maps.
        desired = record_to_severa_customer_update(record)
        changes = {f"/{name}": desired[name] for name in differs(current, desired)}
        addresses = list(severa.list_customer_addresses(severa_id))
        address = severa_invoicing_address(current, addresses)
        address_changes = {}
        if address is not None:
            wanted_address = record_to_severa_address_update(record)
            address_changes = {
                f"/{name}": wanted_address[name] for name in differs(address, wanted_address)
            }
        if not changes and not address_changes:
            return None
        now = {**current, "addresses": addresses,
               "contacts": list(severa.list_customer_contact_persons(severa_id))}  # fmt: skip
        guard_overwrite(
            ctx, NAME, natural_key, last_hash=binding.severa_hash,
            current=severa_customer_to_record(now), written=record,
            label=customer_label(record["number"], record["name"]),
        )  # fmt: skip
        before = {**{p: current.get(p[1:]) for p in changes},
                  **{p: (address or {}).get(p[1:]) for p in address_changes}}  # fmt: skip
        if changes:
            current = severa.update_customer(severa_id, changes)
        if address is not None and address_changes:
            address = severa.update_address(str(address["guid"]), address_changes)
        sent = {**changes, **address_changes}
        note_change(Side.SEVERA, "update", {p: [before[p], v] for p, v in sent.items()})
        contacts = list(severa.list_customer_contact_persons(severa_id))
        return {**current, "addresses": [address] if address else [], "contacts": contacts}


@contextmanager
def _refusal_clears_pending(claim: CreateClaim) -> Iterator[None]:
    """A write refused, or a body that cannot be made (a phone type Severa lacks), ends
    the create with nothing in flight: no late write to wait for on the next attempt."""
    try:
        yield
    except RecordError:
        claim.binder.clear_pending(claim.natural_key)
        raise


# -- Severa reads ------------------------------------------------------------------------


def read_severa(ctx: SyncContext, since: datetime | None, stage: Stager) -> datetime | None:
    """Stage Severa customers changed since ``since``, each joined with its addresses
    and contact persons.

    A full read lists every address and contact once (a few pages per thousand
    customers) and joins them through Redis, keeping memory flat; an incremental read
    also takes customers whose address or contact changed, and reads the few changed
    customers' addresses and contacts one by one.
    """
    severa = ctx.clients.severa
    scratch = stage.run.scratch_key
    names: dict[str, str] = {}
    if since is None:
        _scratch_lists(ctx, scratch, "addresses", severa.list_addresses())
        _scratch_lists(ctx, scratch, "contacts", severa.list_contact_persons())
        listing = severa.list_customers()
        for batch in batches(listing, JOIN_BATCH):
            joined = _join_from_scratch(ctx, scratch, batch)
            learn_countries(ctx, (a for c in joined for a in c["addresses"]))
            for customer in joined:
                _stage_customer(stage, customer, names)
            _save_names(ctx, names)
        return listing.server_time
    listing = severa.list_customers(changed_since=since)
    seen: set[str] = set()
    for changed in listing:
        seen.add(str(changed["guid"]))
        one = _join_one(ctx, changed)
        learn_countries(ctx, one["addresses"])
        _stage_customer(stage, one, names)
    touched = (
        {
            str((item.get("customer") or {}).get("guid") or "")
            for listing_ in (
                severa.list_addresses(changed_since=since),
                severa.list_contact_persons(changed_since=since),
            )
            for item in listing_
        }
        - seen
        - {""}
    )
    for guid in sorted(touched):
        found = severa.get_customer(guid)
        if found is not None:
            _stage_customer(stage, _join_one(ctx, found), names)
    _save_names(ctx, names)
    return listing.server_time


def _stage_customer(stage: Stager, customer: dict[str, Any], names: dict[str, str]) -> None:
    number = customer.get("number")
    natural_key = str(number) if number is not None else f"guid:{customer['guid']}"
    digest = functools.partial(digest_of, severa_customer_to_record, customer)
    stage.add(natural_key, str(customer["guid"]), customer, digest)
    if customer.get("name"):
        names[name_key(str(customer["name"]))] = natural_key


def _join_one(ctx: SyncContext, customer: Mapping[str, Any]) -> dict[str, Any]:
    severa = ctx.clients.severa
    guid = str(customer["guid"])
    return {
        **customer,
        "addresses": list(severa.list_customer_addresses(guid)),
        "contacts": list(severa.list_customer_contact_persons(guid)),
    }


def _scratch_lists(ctx: SyncContext, scratch: str, what: str, items: Iterable[Any]) -> None:
    """Append each item to its customer's Redis list (expiring), a batch of items per
    command (``scratch_push.lua``)."""
    lists: list[str] = []
    values: list[str] = []
    for item in items:
        guid = str((item.get("customer") or {}).get("guid") or "")
        if not guid:
            continue
        lists.append(f"{scratch}:{what}:{guid}")
        values.append(json.dumps(item, ensure_ascii=False))
        if len(lists) >= SCRATCH_BATCH:
            _SCRATCH_PUSH(ctx.redis, lists, [*values, SCRATCH_TTL])
            lists, values = [], []
    if lists:
        _SCRATCH_PUSH(ctx.redis, lists, [*values, SCRATCH_TTL])


def _join_from_scratch(
    ctx: SyncContext, scratch: str, customers: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Join a batch of customers with their scratch lists in one command, and drop the
    lists (each is read once, ``scratch_take.lua``)."""
    lists = [
        f"{scratch}:{what}:{customer['guid']}"
        for customer in customers
        for what in ("addresses", "contacts")
    ]
    taken = _SCRATCH_TAKE(ctx.redis, lists) if lists else []
    return [
        {
            **customer,
            "addresses": [json.loads(raw) for raw in taken[index * 2]],
            "contacts": [json.loads(raw) for raw in taken[index * 2 + 1]],
        }
        for index, customer in enumerate(customers)
    ]


def _names_key(ctx: SyncContext) -> str:
    return key(ctx.connection_id, "index", NAME, "severa-names")


def _save_names(ctx: SyncContext, names: dict[str, str]) -> None:
    if names:
        ctx.redis.hset(_names_key(ctx), mapping=dict[Any, Any](names))
        names.clear()


def _country_guids(ctx: SyncContext) -> dict[str, str]:
    """ISO code → Severa country guid, learnt from the addresses Severa has answered
    (the published API subset has no country list)."""
    learnt = ctx.redis.hgetall(key(ctx.connection_id, "index", "severa-countries"))
    return {str(k): str(v) for k, v in learnt.items()}


def learn_countries(ctx: SyncContext, addresses: Iterable[Mapping[str, Any]]) -> None:
    found: dict[Any, Any] = {}
    for address in addresses:
        country = address.get("country")
        code = country_code_for(country) if isinstance(country, Mapping) else None
        if code and isinstance(country, Mapping) and country.get("guid"):
            found[code] = str(country["guid"])
    if found:
        ctx.redis.hset(key(ctx.connection_id, "index", "severa-countries"), mapping=found)


def _communication_types(ctx: SyncContext) -> list[dict[str, Any]]:
    """Severa's communication types, learnt from existing contact communications (the
    published API subset lists no types; the first page of communications shows them)."""

    def load() -> list[dict[str, Any]]:
        types: dict[str, dict[str, Any]] = {}
        for communication in ctx.clients.severa.list_contact_communications():
            kind = communication.get("communicationType") or {}
            if kind.get("guid"):
                types.setdefault(str(kind["guid"]), dict(kind))
            if len(types) >= 6:
                break
        return list(types.values())

    result: list[dict[str, Any]] = ctx.clients.reference.cache.get("severa:commtypes", load)
    return result
