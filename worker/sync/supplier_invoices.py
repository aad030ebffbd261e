"""Fetch supplier invoices (R-1.5, R-5.5): cost rows booked in eEkonomi on a project →
project fees in Severa, exactly once per row.

One direction only. Each run reads the supplier invoices eEkonomi changed since the last
run (``ModifiedUtc``) and stages every *cost row* (see :mod:`schemas.supplier_invoices`)
that names a project, keyed ``<invoice id>:<row id>``. A row names a project when

* one of its ``CostCenterItemId1..3`` is an item of the cost center chosen for projects
  (R-3.3) — all three slots are looked at, since which slot holds which cost center is
  unconfirmed (eaccounting-notes §6.5); or
* its ``ProjectId`` is an eEkonomi project.

Either way the Severa project is found through the *projects* register's bindings: its
natural key is the project number, which R-5.3 makes the item's short code. The projects
register does not transfer eEkonomi's own projects, so an eEkonomi project is matched
the same way, by its ``Number``. A row on a project that no binding links (the projects
transfer has not run for it, or the short code is not a Severa project number) fails
with that reason; the rest of the run goes on (R-6.2).

Exactly once (R-6.1): the binding of a row holds its fee's guid and the hash of the fee
last written, and every fee carries its row's marker at the end of its description
(:func:`~schemas.supplier_invoices.fee_marker`) — Severa has no uniqueness rule that
would refuse a second fee. So a fee is recognised as its row's without the binding:

* Each run reads the fees Severa changed since its last run (all of them on the first
  run, and after the sync's Redis was lost) and indexes them by marker; a row without a
  binding whose marker is indexed is linked to that fee, not given another.
* A create is sent under the record's lock (:mod:`worker.sync.creates`) with a pending
  mark and its time; a pending row found without a binding (a crash or a lost answer
  after the POST) looks for its marker among the fees changed since, and while it is
  not found and the write could still land, the row waits instead of sending again.
* A fee without a marker (made before markers, or by hand) that has a row's project and
  description, and that no row claims, cannot be told apart from that row's: the row is
  listed, never given a second fee.

A row changed after its transfer updates the fee (JSON Patch of the fields that differ)
unless Severa has invoiced the fee; then the difference goes to the error list, since
an invoiced fee can no longer be changed (severa-notes §6.11).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.base import MappingError
from schemas.projects import short_code_key
from schemas.records import content_hash
from schemas.sides import Side
from schemas.supplier_invoices import (
    FeeRecord,
    cost_rows,
    describe_differences,
    fee_differences,
    fee_marker,
    fee_patch,
    is_invoiced,
    marker_of,
    project_refs,
    record_to_severa_project_fee,
    row_label,
    severa_project_fee_to_record,
    supplier_cost_to_record,
)
from worker.clients.http import ApiRecordError
from worker.clients.paging import Record
from worker.errors import ConfigError, RecordError
from worker.keys import key
from worker.sync.bindings import Binding, Pending
from worker.sync.creates import creating, hold_unless_settled
from worker.sync.engine import Outcome, Staged, Stager, SyncContext
from worker.sync.errorlist import RecordRef
from worker.sync.register import RegisterSpec

log = logging.getLogger(__name__)

NAME = "supplier_invoices"
PROJECTS = "projects"
#: How far before a pending create to look for its fee: Severa's clock is not ours.
CLOCK_MARGIN = timedelta(minutes=10)


@dataclass(frozen=True)
class ProjectLink:
    """The Severa project a row's cost goes to, and how the row names it."""

    severa_guid: str
    number: str


class ProjectLinks:
    """Which Severa project a supplier-invoice row is on (see the module docstring).

    Cost centers and eEkonomi projects come from the shared reference cache; an id not
    found there re-reads the list once, so an item created minutes ago is still found.
    """

    def __init__(self, ctx: SyncContext) -> None:
        self.ctx = ctx
        self.cost_center_id = str(ctx.values.get("cost_center_id") or "")
        self._fresh: set[str] = set()

    def _cached(self, name: str, load: Any, fresh: bool) -> list[Record]:
        cache = self.ctx.clients.reference.cache
        if fresh and name not in self._fresh:
            cache.forget(name)
            self._fresh.add(name)
        records: list[Record] = cache.get(name, lambda: list(load()))
        return records

    def _items(self, fresh: bool = False) -> tuple[dict[str, Record], set[str]]:
        """The chosen cost center's items by id, and the ids of every item."""
        centers = self._cached(
            "eekonomi:costcenters", self.ctx.clients.eekonomi.list_cost_centers, fresh
        )
        chosen: dict[str, Record] | None = None
        every: set[str] = set()
        for center in centers:
            items = {str(i.get("Id")): i for i in center.get("Items") or []}
            every.update(items)
            if str(center.get("Id")) == self.cost_center_id:
                chosen = items
        if chosen is None:
            raise ConfigError(
                f"eEkonomi has no cost center {self.cost_center_id}; choose the projects' "
                "cost center with `settings set cost_center_id=…` (R-3.3, R-2.5)"
            )
        return chosen, every

    def refresh(self) -> None:
        """Read the cost centers afresh (once per run: items carry no change time)."""
        self._items(fresh=True)

    def item_of(self, item_ids: list[str]) -> Record | None:
        """The row's item of the projects' cost center, if it has one."""
        if not item_ids:
            return None
        chosen, every = self._items()
        if not set(item_ids) <= every:
            chosen, every = self._items(fresh=True)
        return next((chosen[i] for i in item_ids if i in chosen), None)

    def eekonomi_project(self, project_id: str) -> Record | None:
        for fresh in (False, True):
            listing = self._cached(
                "eekonomi:projects", self.ctx.clients.eekonomi.list_projects, fresh
            )
            found = next((p for p in listing if str(p.get("Id")) == project_id), None)
            if found is not None:
                return found
        return None

    def names_project(self, row: Record) -> bool:
        """Whether the row is on a project at all (linked or not)."""
        item_ids, project_id = project_refs(row)
        return project_id is not None or self.item_of(item_ids) is not None

    def project_for(self, row: Record, label: str) -> ProjectLink | None:
        """The linked Severa project of the row; ``None`` when it names no project.

        Raises:
            MappingError: the row's project is not linked, or its item and its eEkonomi
                project name two different Severa projects.
        """
        item_ids, project_id = project_refs(row)
        named: list[tuple[str, str]] = []
        item = self.item_of(item_ids)
        if item is not None:
            named.append(("cost-center item", str(item.get("ShortName") or "")))
        if project_id is not None:
            project = self.eekonomi_project(project_id)
            if project is None:
                raise MappingError(label, f"its eEkonomi project {project_id} does not exist")
            named.append(("eEkonomi project", str(project.get("Number") or "")))
        if not named:
            return None
        binder = self.ctx.binder(PROJECTS)
        links: dict[str, ProjectLink] = {}
        for what, number in named:
            binding = binder.get(short_code_key(number)) if number else None
            if binding is None or not binding.severa_id:
                raise MappingError(
                    label,
                    f"its {what} {number or '(no short code)'} is not linked to a Severa "
                    f"project: no Severa project numbered {number or '…'} has been "
                    "transferred. Run 'Transfer projects' (R-1.3), or book the row on the "
                    "item of a Severa project",
                )
            links[binding.severa_id] = ProjectLink(binding.severa_id, number)
        if len(links) > 1:
            shown = " and ".join(f"{what} {number}" for what, number in named)
            raise MappingError(
                label, f"its {shown} are different Severa projects; correct the row in eEkonomi"
            )
        return next(iter(links.values()))


class SupplierInvoices:
    """The supplier-invoices register (see the module docstring)."""

    spec = RegisterSpec(
        name=NAME,
        title="Fetch supplier invoices",
        task="sync.fetch_supplier_invoices",
        record_task="sync.transfer_supplier_invoice_row",
        tasks_module="tasks.supplier_invoices",
        requires=("supplier_invoices_billable",),
        interval_setting="supplier_invoice_interval_minutes",
        natural_key="supplier-invoice row (<invoice id>:<row id>)",
        help="supplier-invoice cost rows on projects → Severa project fees (R-1.5)",
        sandbox_paths=("/v2/supplierinvoices", "/rest-api/v1/projectfees"),
    )
    name = NAME

    def read(
        self, ctx: SyncContext, side: str, since: datetime | None, stage: Stager
    ) -> datetime | None:
        if side == Side.SEVERA:
            return self._index_fees(ctx, since, stage)  # one way: fees are only written
        links = ProjectLinks(ctx)
        links.refresh()
        binder = ctx.binder(NAME)
        listing = ctx.clients.eekonomi.list_supplier_invoices(modified_since=since)
        for invoice in listing:
            header = {k: v for k, v in invoice.items() if k != "Rows"}
            for natural_key, row in cost_rows(invoice):
                # A row that left its project after its transfer is staged too: its fee
                # stays in Severa, and a person should hear about it.
                if links.names_project(row) or binder.get(natural_key) is not None:
                    stage.add(natural_key, str(invoice["Id"]), {"invoice": header, "row": row})
        return listing.server_time

    def streamed_side(self, ctx: SyncContext) -> str | None:
        """None: supplier invoices arrive a few at a time; reading them whole first
        costs nothing worth the care streaming needs."""
        return None

    def fetch(self, ctx: SyncContext, natural_key: str) -> Staged:
        invoice_id = natural_key.split(":", 1)[0]
        invoice = ctx.clients.eekonomi.get_supplier_invoice(invoice_id)
        for row_key_, row in cost_rows(invoice or {}):
            if row_key_ == natural_key and invoice is not None:
                header = {k: v for k, v in invoice.items() if k != "Rows"}
                return Staged(eekonomi={"invoice": header, "row": row})
        return Staged()

    def describe(self, natural_key: str, staged: Staged) -> RecordRef:
        data = staged.eekonomi or {}
        invoice, row = data.get("invoice") or {}, data.get("row") or {}
        voucher = invoice.get("VoucherNumber") or invoice.get("InvoiceNumber") or ""
        return RecordRef(
            number=f"{voucher} row {row.get('LineNumber') or '?'}" if voucher else natural_key,
            name=str(invoice.get("SupplierName") or ""),
            eekonomi_id=str(invoice.get("Id") or natural_key.split(":", 1)[0]),
        )

    def settle(self, ctx: SyncContext, natural_key: str, staged: Staged) -> Outcome:
        binder = ctx.binder(NAME)
        binding = binder.get(natural_key)
        data = staged.eekonomi
        if data is None:
            if binding is None:
                return Outcome("skipped", Side.EEKONOMI)
            raise RecordError(
                f"supplier-invoice row {natural_key} is no longer a booked cost row in "
                f"eEkonomi, but its project fee {binding.severa_id} stays in Severa; delete "
                "the fee in Severa if the cost is gone"
            )
        invoice, row = data["invoice"], data["row"]
        label = row_label(invoice, row)
        link = ProjectLinks(ctx).project_for(row, label)
        if link is None:
            if binding is None:
                return Outcome("skipped", Side.EEKONOMI)
            raise MappingError(
                label,
                f"the row no longer names a project, but its cost is project fee "
                f"{binding.severa_id} in Severa; delete or move that fee in Severa by hand",
            )
        reference = ctx.clients.reference
        desired = supplier_cost_to_record(
            invoice,
            row,
            project_guid=link.severa_guid,
            billable=bool(ctx.values.get("supplier_invoices_billable")),
            vat_rates=reference.vat_rates(),
            company_currency=reference.company_settings().get("CurrencyCode"),
        )
        digest = content_hash(desired)
        if binding is not None and binding.severa_hash == digest:
            return Outcome("unchanged", Side.EEKONOMI)
        if binding is None:
            return self._create(ctx, natural_key, invoice, desired, link, label)
        return self._update(ctx, natural_key, invoice, binding, desired, link, label)

    def _index_fees(
        self, ctx: SyncContext, since: datetime | None, stage: Stager
    ) -> datetime | None:
        """Index the fees Severa changed since ``since`` by their row marker (and those
        without one by project and description); return the read's server time."""
        listing = ctx.clients.severa.list_project_fees(changed_since=since)
        unmarked: dict[Any, Any] = {}
        for fee in listing:
            marker = marker_of(fee)
            if marker is not None:
                stage.note_id(marker.removeprefix("eekonomi:"), str(fee["guid"]))
                continue
            record = severa_project_fee_to_record(fee)
            unmarked[_twin_key(record["project_guid"], record["description"])] = str(fee["guid"])
            if len(unmarked) >= Stager.BATCH:
                ctx.redis.hset(_unmarked_key(ctx), mapping=unmarked)
                unmarked.clear()
        if unmarked:
            ctx.redis.hset(_unmarked_key(ctx), mapping=unmarked)
        return listing.server_time

    # -- writing -----------------------------------------------------------------------

    def _create(
        self,
        ctx: SyncContext,
        natural_key: str,
        invoice: Record,
        desired: FeeRecord,
        link: ProjectLink,
        label: str,
    ) -> Outcome:
        """The row's fee, exactly once (see the module docstring)."""
        known = ctx.index(NAME, Side.SEVERA).get(natural_key)
        if known:  # its fee exists, carrying its marker: the binding was lost
            return self._adopt(ctx, natural_key, invoice, known, desired, link, label, ours=False)
        seen = ctx.binder(NAME).pending_for(natural_key, Side.SEVERA)
        if seen is not None:
            found = self._find_created(ctx, natural_key, seen)
            if found is not None:
                return self._adopt(ctx, natural_key, invoice, found, desired, link, label)
            hold_unless_settled(ctx, seen, label)
        self._refuse_unmarked_twin(ctx, natural_key, desired, label)
        with creating(ctx, NAME, natural_key) as claim:
            if claim.binding is not None:  # made by an execution beside this one
                return self._update(ctx, natural_key, invoice, claim.binding, desired, link, label)
            pending = claim.pending_on(Side.SEVERA)
            if pending is not None and pending != seen:
                found = self._find_created(ctx, natural_key, pending)
                if found is not None:
                    return self._adopt(ctx, natural_key, invoice, found, desired, link, label)
                claim.hold_unless_settled(Side.SEVERA, label)
            body = record_to_severa_project_fee(desired, fee_marker(natural_key))
            try:
                fee = claim.send(Side.SEVERA, lambda: ctx.clients.severa.create_project_fee(body))
            except ApiRecordError as exc:
                ctx.binder(NAME).clear_pending(natural_key)  # refused: nothing was created
                raise _explain_refusal(ctx, link, label, exc) from exc
            self._bind(ctx, natural_key, invoice, str(fee["guid"]), content_hash(desired))
        return Outcome("created", Side.EEKONOMI)

    def _adopt(
        self,
        ctx: SyncContext,
        natural_key: str,
        invoice: Record,
        fee_guid: str,
        desired: FeeRecord,
        link: ProjectLink,
        label: str,
        *,
        ours: bool = True,
    ) -> Outcome:
        """Link the row to its fee found by marker, and bring the fee up to date. A fee
        an unanswered create of ours made counts as created; one found after the
        binding was lost, as what its update did."""
        log.info("%s %s: linked to its fee %s found by its marker", NAME, natural_key, fee_guid)
        binding = self._bind(ctx, natural_key, invoice, fee_guid, "")
        outcome = self._update(ctx, natural_key, invoice, binding, desired, link, label)
        return Outcome("created", Side.EEKONOMI) if ours else outcome

    def _refuse_unmarked_twin(
        self, ctx: SyncContext, natural_key: str, desired: FeeRecord, label: str
    ) -> None:
        """A fee without a marker, unclaimed, on the row's project with the row's
        description may be this row's, made before markers: list the row — neither
        guess nor create a second fee."""
        twin_key = _twin_key(desired["project_guid"], desired["description"])
        raw = ctx.redis.hget(_unmarked_key(ctx), twin_key)
        twin = raw.decode() if isinstance(raw, bytes) else str(raw or "")
        if not twin or ctx.redis.hexists(_claims_key(ctx), twin):
            return
        raise MappingError(
            label,
            f"Severa project fee {twin} '{desired['description']}' carries no row marker, "
            "so it cannot be told whether it is this row's (made before markers, or by "
            f"hand); if it is, add ' ({fee_marker(natural_key)})' to the end of its "
            "description in Severa, else change its description — the row then transfers "
            "on the next run",
        )

    def _update(
        self,
        ctx: SyncContext,
        natural_key: str,
        invoice: Record,
        binding: Binding,
        desired: FeeRecord,
        link: ProjectLink,
        label: str,
    ) -> Outcome:
        severa = ctx.clients.severa
        fee = severa.get_project_fee(binding.severa_id)
        if fee is None:
            raise MappingError(
                label,
                f"its project fee {binding.severa_id} was deleted in Severa; the row is not "
                "transferred again (add the cost in Severa by hand if it belongs there)",
            )
        differences = fee_differences(severa_project_fee_to_record(fee), desired)
        if not differences:
            self._bind(ctx, natural_key, invoice, binding.severa_id, content_hash(desired))
            return Outcome("unchanged", Side.EEKONOMI)
        if is_invoiced(fee):
            invoiced = fee.get("invoice") or {}
            raise MappingError(
                label,
                "the row changed in eEkonomi after its project fee was invoiced in Severa "
                f"(invoice {invoiced.get('number') or invoiced.get('guid') or '?'}), so the "
                f"fee cannot be changed: {describe_differences(differences)}. Correct the "
                "invoice or the project in Severa by hand",
            )
        try:
            patch = fee_patch(desired, differences, fee_marker(natural_key))
            severa.update_project_fee(binding.severa_id, patch)
        except ApiRecordError as exc:
            raise _explain_refusal(ctx, link, label, exc) from exc
        self._bind(ctx, natural_key, invoice, binding.severa_id, content_hash(desired))
        return Outcome("updated", Side.EEKONOMI)

    def _bind(
        self, ctx: SyncContext, natural_key: str, invoice: Record, fee_guid: str, digest: str
    ) -> Binding:
        binding = Binding(
            severa_id=fee_guid, eekonomi_id=str(invoice.get("Id") or ""), severa_hash=digest
        )
        ctx.redis.hset(_claims_key(ctx), fee_guid, natural_key)
        ctx.binder(NAME).bind(natural_key, binding)
        return binding

    def _find_created(self, ctx: SyncContext, natural_key: str, pending: Pending) -> str | None:
        """The guid of the fee a crashed or unanswered create of this row made, if
        Severa has it: a fee changed since the pending mark (less the clock margin; all
        fees when the mark keeps no time) that carries the row's marker."""
        since = datetime.fromtimestamp(pending.at, UTC) - CLOCK_MARGIN if pending.at else None
        wanted = fee_marker(natural_key)
        for fee in ctx.clients.severa.list_project_fees(changed_since=since):
            if marker_of(fee) == wanted:
                log.info("%s %s: found the fee a lost create made", NAME, natural_key)
                return str(fee["guid"])
        return None


# -- helpers ---------------------------------------------------------------------------


def _claims_key(ctx: SyncContext) -> str:
    """Fee guid → the row it was made from (or linked to)."""
    return key(ctx.connection_id, "fee-claims", NAME)


def _unmarked_key(ctx: SyncContext) -> str:
    """Fees without a row marker: ``<project guid>|<description>`` → fee guid."""
    return key(ctx.connection_id, "index", NAME, "unmarked")


def _twin_key(project_guid: str, description: str) -> str:
    return f"{project_guid}|{description}"


def _explain_refusal(
    ctx: SyncContext, link: ProjectLink, label: str, exc: ApiRecordError
) -> Exception:
    """Severa refused a fee: say "project closed" when that is why (R-6.2)."""
    project = ctx.clients.severa.get_project(link.severa_guid)
    if project is not None and project.get("isClosed"):
        return MappingError(
            label,
            f"Severa project {project.get('number') or link.number} "
            f"'{project.get('name') or ''}' is closed; reopen it in Severa or book the cost "
            "on an open project, and the row transfers on the next run",
        )
    return exc
