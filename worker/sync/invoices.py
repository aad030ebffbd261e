"""Transfer invoices (R-1.4, R-5.4, R-3.6, R-3.7): Severa invoices in the "to transfer"
status become eEkonomi customer-invoice drafts; the Severa invoice then gets the
"transferred" status — the last step, once the draft exists and is linked.

**Exactly once.** The natural key is the Severa invoice guid (invoices to transfer have
no number yet). One invoice settles in this order:

1. dependencies first: the customer (transferred when not linked, and brought up to
   date when it changed since it was last synced, because a draft's postal code, city
   and country come from the eEkonomi customer: :mod:`worker.sync.invoice_customers`),
   the projects' cost-center items, the articles;
2. the binder's *pending* mark, then ``POST /customerinvoicedrafts`` with the marker
   (``SubscriptionNumber = severa:<guid>``, see :mod:`schemas.invoices`);
3. the totals check (a warning in the error list, the draft stays);
4. the binding (Severa guid ⇄ draft id, plus draft id → guid for the checks);
5. the Severa status "to transfer" → "transferred", and the binding marked done.

Step 4 also remembers the draft as *unbooked* until the checks see the invoice booked
from it (:mod:`worker.sync.invoice_links`).

**Mapping.** Every rule that turns the invoice into a draft — which article, how a row is
split per project and rounded, the currency, the terms of payment — is in
:mod:`schemas.invoices` and :mod:`schemas.invoice_rows`; this module resolves what they
need (customer, articles, cost-center items, reference lists) and writes.

A crash after 2 leaves the pending mark: the next attempt finds the draft (or the
invoice booked from it) by its marker instead of creating another. A crash after 4
finds the binding and only finishes the status, re-reading the Severa invoice first so
a status a check set meanwhile (sent, paid) is never moved back.

Bad input (customer or project that cannot be transferred, no default article in
eEkonomi, a draft eEkonomi refuses) fails the invoice before step 2 with the reason,
and leaves its Severa status alone: every run reads all invoices still "to transfer",
so it transfers once fixed — also when the fix was made on the customer or project.

**Back to "to transfer".** An invoice transferred before is never transferred twice
while its draft or an invoice booked from it exists (R-6.1); the person is told what to
do. When a person deleted the draft in eEkonomi and then set the invoice back to "to
transfer", nothing of it is left there: the stale binding is dropped and a new draft
made.

**Totals warning.** It lives until a later look sees matching totals: each run re-reads
the drafts that carry one (a person may have corrected the draft), and the checks compare
the booked invoice's totals once it is booked (:func:`record_totals`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.base import MappingError
from schemas.invoice_rows import (
    DraftLine,
    InvoiceRowRecord,
    article_codes,
    choose_article_id,
    draft_lines,
    is_foreign_currency,
    needs_source_items,
    severa_invoice_row_to_record,
    split_by_project,
)
from schemas.invoices import (
    MARKER_FIELD,
    MARKER_PREFIX,
    InvoiceRecord,
    invoice_label,
    marker_for,
    record_to_eekonomi_draft,
    severa_invoice_to_record,
)
from schemas.sides import Direction, Side
from worker.clients.eekonomi import odata_literal
from worker.clients.refdata import ReferenceData
from worker.sync.bindings import Binding, Pending
from worker.sync.creates import creating, hold_unless_settled
from worker.sync.engine import Outcome, Staged, Stager, SyncContext
from worker.sync.errorlist import WARNING, ErrorList, RecordRef
from worker.sync.invoice_customers import customer_id as invoice_customer_id
from worker.sync.invoice_customers import (
    invoice_customer,
    note_changed_customers,
    read_customer,
)
from worker.sync.invoice_links import (
    INVOICES,
    Unbooked,
    content_print,
    drafts_key,
    locate_booked,
    unbooked_key,
)
from worker.sync.invoice_lookups import RowLookups
from worker.sync.invoice_totals import record_totals, totals_warning_key
from worker.sync.register import RegisterSpec

NAME = INVOICES
#: ``Binding.severa_hash`` of an invoice whose Severa status was set (step 5).
DONE = "status:transferred"


class Invoices:
    """The invoice transfer (see the module docstring)."""

    spec = RegisterSpec(
        name=NAME,
        title="Transfer invoices",
        task="sync.transfer_invoices",
        record_task="sync.transfer_invoice",
        tasks_module="tasks.invoices",
        requires=(
            "default_article_number",
            "status_to_transfer",
            "status_transferred",
            "cost_center_id",
        ),
        interval_setting="invoice_interval_minutes",
        natural_key="Severa invoice",
        help="Severa invoices in 'status_to_transfer' → eEkonomi drafts (R-1.4)",
        sandbox_paths=(
            "/rest-api/v1/invoices",
            "/rest-api/v1/invoices/{guid}/invoicerows",
            "/v2/customerinvoicedrafts",
        ),
    )
    name = NAME

    def read(
        self, ctx: SyncContext, side: str, since: datetime | None, stage: Stager
    ) -> datetime | None:
        if side == Side.EEKONOMI:
            # Drafts are written, never read back as changes — except those with
            # a totals warning, which a person may have corrected since.
            self._reread_warned_drafts(ctx, stage)
            if stage.run.watermarks.get(Side.SEVERA) is None:
                self._mark_drafts_made(ctx)
            return None
        # Every invoice still "to transfer", not only changed ones: an invoice that
        # failed because of its customer or project must be retried once they are
        # fixed, though the invoice itself did not change.
        listing = ctx.clients.severa.list_invoices(
            invoice_status_guids=[str(ctx.values["status_to_transfer"])]
        )
        customers = set()
        for invoice in listing:
            stage.add(str(invoice["guid"]), str(invoice["guid"]), invoice)
            customers.add(invoice_customer(invoice))
        note_changed_customers(ctx, customers)
        return listing.server_time

    def streamed_side(self, ctx: SyncContext) -> str | None:
        """None: settling an invoice moves its Severa status, which takes it out of the
        "to transfer" list still being paged."""
        return None

    def fetch(self, ctx: SyncContext, natural_key: str) -> Staged:
        return Staged(severa=ctx.clients.severa.get_invoice(natural_key))

    def describe(self, natural_key: str, staged: Staged) -> RecordRef:
        invoice = staged.severa or {}
        customer = invoice.get("billingCustomer") or invoice.get("customer") or {}
        return RecordRef(
            number=str(invoice.get("number") or ""),
            name=invoice_label(invoice) if invoice else "",
            severa_id=natural_key,
            eekonomi_id=str(customer.get("number") or ""),
        )

    def settle(self, ctx: SyncContext, natural_key: str, staged: Staged) -> Outcome:
        # Every row consults the cost centers and units: read them once per invoice.
        with ctx.clients.reference.cache.scope():
            return self._settle(ctx, natural_key, staged)

    def _settle(self, ctx: SyncContext, natural_key: str, staged: Staged) -> Outcome:
        invoice = staged.severa
        if invoice is None:
            if staged.eekonomi is not None:
                return self._recheck_totals(ctx, natural_key, staged.eekonomi)
            return Outcome("unchanged")
        seen = _Seen.read(ctx, natural_key, invoice)
        binding = seen.binding
        to_transfer = str(ctx.values["status_to_transfer"])
        if binding is not None and binding.eekonomi_id and binding.severa_hash == DONE:
            refused = self._transferred_before(ctx, natural_key, invoice, binding)
            if refused is not None:
                return refused
            binding = None  # its draft was deleted: transfer it again, below
        if binding is not None and binding.eekonomi_id:
            return self._resume_linked(ctx, natural_key, binding)
        if _status_of(invoice) != to_transfer:
            return Outcome("skipped", Side.SEVERA, "no longer in the 'to transfer' status")
        return self._create(ctx, natural_key, invoice, seen)

    def _create(
        self, ctx: SyncContext, natural_key: str, invoice: Mapping[str, Any], seen: _Seen
    ) -> Outcome:
        """Steps 1–5 for an invoice not linked yet, exactly once (:mod:`creates`).

        A draft an earlier attempt may have made (a crash, a lost answer) is looked for
        before the slow part — the rows, the dependencies — and the draft is built only
        when there is none. Right before the POST the record's lock is taken and the
        binding and pending mark read again: an execution of the same task running
        beside this one may have made the draft meanwhile.
        """
        record = severa_invoice_to_record(invoice)
        label = invoice_label(invoice)
        pending = seen.pending
        draft = self._look_up(ctx, natural_key, label, pending) if pending else None
        payload = (
            self._draft_payload(ctx, record, label, seen.customer_read(record))
            if draft is None
            else None
        )
        with creating(ctx, NAME, natural_key) as claim:
            if claim.binding is not None and claim.binding.eekonomi_id:
                return self._resume_linked(ctx, natural_key, claim.binding)  # made beside us
            now = claim.pending_on(Side.EEKONOMI)
            if draft is None and now is not None and now != pending:
                draft = self._find_by_marker(ctx, natural_key)  # sent beside us meanwhile
                if draft is None:
                    claim.hold_unless_settled(Side.EEKONOMI, label)
            counter = "updated"
            if draft is None:
                body = payload or self._draft_payload(ctx, record, label)
                create = ctx.clients.eekonomi.create_customer_invoice_draft
                draft = claim.send(Side.EEKONOMI, lambda: create(body))
                counter = "created"
            self._link(ctx, natural_key, invoice, record, label, draft)
        return Outcome(counter, Side.SEVERA)

    def _look_up(
        self, ctx: SyncContext, natural_key: str, label: str, pending: Pending
    ) -> dict[str, Any] | None:
        """The draft of a create pending before; while it is not found and a write it
        sent could still land, the invoice waits (:class:`~worker.sync.creates.UnresolvedCreate`)
        instead of being built and sent again."""
        draft = self._find_by_marker(ctx, natural_key)
        if draft is None:
            hold_unless_settled(ctx, pending, label)
        return draft

    def _resume_linked(self, ctx: SyncContext, natural_key: str, binding: Binding) -> Outcome:
        """Linked, status not yet set (a crash after step 4, or another execution is
        finishing it): set the status from the invoice as Severa has it now."""
        current = ctx.clients.severa.get_invoice(natural_key) or {}
        self._finish(ctx, natural_key, current, binding)
        return Outcome("updated", Side.SEVERA)

    def _link(
        self,
        ctx: SyncContext,
        natural_key: str,
        invoice: Mapping[str, Any],
        record: InvoiceRecord,
        label: str,
        draft: Mapping[str, Any],
    ) -> None:
        """Steps 3–5 once the draft exists: totals check, binding, Severa status."""
        if "TotalAmount" in draft and "InvoiceNumber" not in draft:
            record_totals(ctx, natural_key, record, draft, label)
        draft_id = str(draft.get("CreatedFromDraftId") or draft["Id"])
        binding = Binding(severa_id=natural_key, eekonomi_id=draft_id)
        pipe = ctx.redis.pipeline(transaction=True)  # with the binding, one round trip
        pipe.hset(drafts_key(ctx), draft_id, natural_key)
        if "InvoiceNumber" not in draft:  # a draft, not an invoice a person booked already
            unbooked = Unbooked(
                draft_id=draft_id,
                customer_id=str(draft.get("CustomerId") or ""),
                created=str(draft.get("CreatedUtc") or ""),
                label=label,
                prints=[content_print(draft)],
            )
            pipe.hset(unbooked_key(ctx), natural_key, unbooked.to_json())
        ctx.binder(NAME).queue_bind(pipe, natural_key, binding)
        pipe.execute()
        self._finish(ctx, natural_key, invoice, binding)

    def _transferred_before(
        self, ctx: SyncContext, natural_key: str, invoice: Mapping[str, Any], binding: Binding
    ) -> Outcome | None:
        """An invoice transferred before and read again "to transfer": a redelivered
        task (the staged status is old), or a person moved it back. Never a second
        draft while the first or an invoice booked from it exists (R-6.1): the person
        is told what to do instead. ``None`` when a person deleted the draft: the stale
        binding is dropped, and the caller makes a new draft."""
        to_transfer = str(ctx.values["status_to_transfer"])
        if _status_of(invoice) != to_transfer:
            return Outcome("unchanged", Side.SEVERA)
        current = ctx.clients.severa.get_invoice(natural_key) or {}
        if _status_of(current) != to_transfer:
            return Outcome("unchanged", Side.SEVERA)
        label = invoice_label(invoice)
        eekonomi = ctx.clients.eekonomi
        if eekonomi.get_customer_invoice_draft(binding.eekonomi_id) is not None:
            raise MappingError(
                label,
                f"it was already transferred (eEkonomi draft {binding.eekonomi_id}) and is "
                "not transferred twice; correct that draft in eEkonomi, and move the invoice "
                "out of the 'to transfer' status in Severa (or delete the draft in eEkonomi "
                "to have it transferred again)",
            )
        located = locate_booked(ctx, natural_key)
        found = [located.booked] if located.booked is not None else located.ambiguous
        if found:
            numbers = ", ".join(str(b.get("InvoiceNumber")) for b in found)
            raise MappingError(
                label,
                f"it was already transferred, and its eEkonomi draft was booked as invoice "
                f"{numbers}; it is not transferred twice: credit that invoice in eEkonomi if "
                "it is wrong, and move the Severa invoice out of the 'to transfer' status",
            )
        # Neither the draft nor an invoice booked from it is left: a person deleted the
        # draft on purpose and asks for a new one.
        pipe = ctx.redis.pipeline(transaction=True)
        pipe.hdel(ctx.binder(NAME).bindings_key, natural_key)
        pipe.hdel(drafts_key(ctx), binding.eekonomi_id)
        pipe.hdel(unbooked_key(ctx), natural_key)
        pipe.execute()
        return None

    def _mark_drafts_made(self, ctx: SyncContext) -> None:
        """The first run, or the first after the sync's Redis was lost: the bindings
        say nothing, but a draft may already carry an invoice's marker (an invoice still
        "to transfer" whose status change never happened, or was undone). Such invoices
        are marked pending, so each is looked up by its marker — and linked to its
        draft — before a draft could be made for it a second time (R-6.1)."""
        binder = ctx.binder(NAME)
        for draft in ctx.clients.eekonomi.list_customer_invoice_drafts():
            marker = str(draft.get(MARKER_FIELD) or "")
            natural_key = marker.removeprefix(MARKER_PREFIX)
            if marker.startswith(MARKER_PREFIX) and not (
                ctx.redis.hexists(binder.bindings_key, natural_key)
                or ctx.redis.hexists(binder.pending_key, natural_key)
            ):
                binder.forget(natural_key)

    def _reread_warned_drafts(self, ctx: SyncContext, stage: Stager) -> None:
        """Stage the drafts whose totals warning is open, as they are now in eEkonomi.

        One request per open warning and run. A draft that is gone was booked (the
        checks compare the booked invoice) or deleted; a warning already about a booked
        invoice has nothing left to re-read.
        """
        for entry in ErrorList(ctx.redis, ctx.connection_id).entries(register=NAME, kind=WARNING):
            if not entry.record_key.endswith(":totals") or entry.extra.get("booked_invoice_number"):
                continue
            natural_key = entry.record_key.removesuffix(":totals")
            binding = ctx.binder(NAME).get(natural_key)
            draft_id = binding.eekonomi_id if binding else entry.record.eekonomi_id
            eekonomi = ctx.clients.eekonomi
            draft = eekonomi.get_customer_invoice_draft(draft_id) if draft_id else None
            if draft is not None:
                stage.add(natural_key, "", dict(draft))

    def _recheck_totals(
        self, ctx: SyncContext, natural_key: str, draft: Mapping[str, Any]
    ) -> Outcome:
        """A re-read draft with a totals warning against its Severa invoice's totals."""
        invoice = ctx.clients.severa.get_invoice(natural_key)
        if invoice is None:  # deleted in Severa: nothing left to compare
            ErrorList(ctx.redis, ctx.connection_id).resolve(
                NAME, Direction.SEVERA_TO_EEKONOMI, totals_warning_key(natural_key)
            )
            return Outcome("unchanged", Side.EEKONOMI)
        record = severa_invoice_to_record(invoice)
        record_totals(ctx, natural_key, record, draft, invoice_label(invoice))
        return Outcome("unchanged", Side.EEKONOMI)

    # -- steps ---------------------------------------------------------------------------

    def _finish(
        self, ctx: SyncContext, natural_key: str, invoice: Mapping[str, Any], binding: Binding
    ) -> None:
        """Step 5: "to transfer" → "transferred" (only from "to transfer": a check may
        already have moved it on), then remember that it is done — in the round trip
        that counts the invoice (:meth:`~worker.sync.bindings.Binder.bind_last`): a crash
        before it leaves the invoice linked and not done, and its retry finds the status
        set and only remembers it."""
        if _status_of(invoice) == str(ctx.values["status_to_transfer"]):
            ctx.clients.severa.update_invoice(
                natural_key, {"/status/guid": str(ctx.values["status_transferred"])}
            )
        binding.severa_hash = DONE
        ctx.binder(NAME).bind_last(natural_key, binding)

    def _find_by_marker(self, ctx: SyncContext, natural_key: str) -> dict[str, Any] | None:
        """A draft created before a crash or a lost answer — or, if a person booked it
        meanwhile, the invoice booked from it (the marker survives conversion)."""
        wanted = f"{MARKER_FIELD} eq {odata_literal(marker_for(natural_key))}"
        eekonomi = ctx.clients.eekonomi
        for draft in eekonomi.list_customer_invoice_drafts(filter=wanted):
            return dict(draft)
        for booked in eekonomi.list_customer_invoices(filter=wanted):
            return dict(booked)
        return None

    def _draft_payload(
        self,
        ctx: SyncContext,
        record: InvoiceRecord,
        label: str,
        customer_read: Sequence[Any] | None = None,
    ) -> dict[str, Any]:
        """Steps 1–2's body: dependencies resolved, rows mapped (R-5.4).

        ``customer_read``: the customer's links as read with the invoice's binding
        (:class:`_Seen`), or ``None`` to read them now.
        """
        customer_id = invoice_customer_id(ctx, record["customer_number"], label, customer_read)
        reference = ctx.clients.reference
        company_currency = reference.company_settings().get("CurrencyCode")
        foreign = is_foreign_currency(record["currency_code"], company_currency)
        rows = [
            severa_invoice_row_to_record(row)
            for row in ctx.clients.severa.list_invoice_rows(record["guid"])
        ]
        if not rows:
            raise MappingError(label, "the invoice has no rows; add rows in Severa")
        lookups = RowLookups.read(
            ctx, label, rows, record["project_numbers"].values(),
            str(ctx.values["default_article_number"]),
        )  # fmt: skip
        lines: list[DraftLine] = []
        for row in rows:
            lines.extend(self._lines(ctx, record, row, lookups, foreign=foreign))
        return record_to_eekonomi_draft(
            record, lines, customer_id=customer_id, terms_of_payment=reference.terms_of_payments()
        )

    def _lines(
        self,
        ctx: SyncContext,
        record: InvoiceRecord,
        row: InvoiceRowRecord,
        lookups: RowLookups,
        *,
        foreign: bool,
    ) -> list[DraftLine]:
        """One Severa row → its draft rows (:func:`schemas.invoice_rows.draft_lines`),
        with the article, unit, cost center and projects' items the schema asks for."""
        projects = record["project_numbers"]
        items = self._source_items(ctx, row) if needs_source_items(row, projects) else []
        article_id = choose_article_id(
            article_codes(row, items),
            str(ctx.values["default_article_number"]),
            lookups.article_id,
            lookups.label,
        )
        split = split_by_project(row, items, projects)
        unit = lookups.unit(row["unit"])
        slot = lookups.slot()
        cost_center_items = {
            project: lookups.cost_center_item(project) for project, _ in split if project
        }
        return draft_lines(
            row, split, article_id=article_id, unit=unit, slot=slot,
            cost_center_items=cost_center_items, foreign=foreign,
        )  # fmt: skip

    def _source_items(self, ctx: SyncContext, row: InvoiceRowRecord) -> list[Mapping[str, Any]]:
        """The work hours, fees or travel expenses grouped into a row (severa-notes §6.15)."""
        severa = ctx.clients.severa
        listing = {
            "Hours": severa.list_invoice_row_work_hours,
            "ProjectFees": severa.list_invoice_row_project_fees,
            "TravelExpenses": severa.list_invoice_row_travel_expenses,
        }.get(row["row_type"])
        return list(listing(row["guid"])) if listing else []


#: The reference lists a draft is built from (company currency, terms of payment, cost
#: centers, units): read ahead with the invoice's binding, in that round trip, not one
#: round trip each when the draft is built (held for the settle, :meth:`Invoices.settle`).
REFERENCE_LISTS = (
    ReferenceData.COMPANY,
    ReferenceData.TERMS,
    ReferenceData.COST_CENTERS,
    ReferenceData.UNITS,
)


@dataclass
class _Seen:
    """What an invoice's settle starts from, read in one round trip: its binding, its
    pending create, its customer's links (:func:`invoice_customers.read_customer`) and
    the reference lists its draft is built from (:data:`REFERENCE_LISTS`, held in the
    settle's cache scope, decoded only if used)."""

    binding: Binding | None
    pending: Pending | None
    customer_number: str
    customer: list[Any]

    @classmethod
    def read(cls, ctx: SyncContext, natural_key: str, invoice: Mapping[str, Any]) -> _Seen:
        binder = ctx.binder(NAME)
        number, _ = invoice_customer(invoice)
        pipe = ctx.redis.pipeline(transaction=False)
        pipe.hget(binder.bindings_key, natural_key)
        pipe.hget(binder.pending_key, natural_key)
        read_customer(pipe, ctx, number)
        customer_replies = len(pipe)
        cache = ctx.clients.reference.cache
        ahead = cache.read_ahead(pipe, REFERENCE_LISTS)
        raw_binding, raw_pending, *replies = pipe.execute()
        customer = replies[: customer_replies - 2]
        cache.hold_read(ahead, replies[customer_replies - 2 :])
        pending = Pending.parse(raw_pending)
        return cls(
            binder.parse(raw_binding, natural_key),
            pending if pending is not None and pending.covers(Side.EEKONOMI) else None,
            number,
            customer,
        )

    def customer_read(self, record: InvoiceRecord) -> list[Any] | None:
        """The customer's links as read, if they are of the record's customer."""
        return self.customer if record["customer_number"] == self.customer_number else None


def _status_of(invoice: Mapping[str, Any]) -> str:
    return str((invoice.get("status") or {}).get("guid") or "")
