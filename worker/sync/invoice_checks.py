"""Check sent invoices (R-1.6, R-3.8) and check paid invoices (R-1.7, R-3.9): what
eEkonomi did with a transferred invoice, written back to the Severa invoice.

Both read only the customer invoices eEkonomi changed since the last check
(``modifiedSinceUtc``; booking, sending and every payment move ``ModifiedUtc``) and
keep those that came from our drafts: ``CreatedFromDraftId`` names a draft the
transfer made (its id → Severa guid is kept by :mod:`worker.sync.invoices`), else the
marker the draft carried (``SubscriptionNumber``) names the Severa invoice. So a draft
converted by a person in eEkonomi is found as well as one booked by the sync, whether
or not eEkonomi fills ``CreatedFromDraftId`` or keeps the draft.

* **Sent**: the invoice is booked (``sent_means=booked``, the default), or booked and
  delivered (``delivered``: a ``SendType`` set and not ``IsNotDelivered``). Severa gets
  the invoice number, the OCR number (``PaymentReferenceNumber``) and the "sent" status.
* **Paid**: paid in full (:func:`schemas.invoices.is_paid`; a partly paid invoice stays
  as it is). Severa gets number and OCR when it lacks them, the payment date and the
  "paid" status.

When eEkonomi keeps neither (both unconfirmed, eaccounting-notes §6.8), the rows do: a
booked invoice with no draft id and no marker is linked to the unbooked draft (see
:class:`worker.sync.invoice_links.Unbooked`) that has its customer and rows — one to one only,
never a guess between identical drafts — and the link is remembered, so the other check
finds it without matching again. What cannot be linked is not missed silently: the
sent check lists every draft of ours first, and a draft that is gone without a booked
invoice linked to it, or whose booked invoice cannot be told apart from another's, goes
to the error list with what to do (enter number and OCR by hand, or set the invoice back
to "to transfer" when the draft was deleted on purpose). The entry resolves itself once
the booked invoice is linked, the invoice has moved on in Severa, or a new draft exists.

A booked invoice found also settles the totals warning of its Severa invoice
(:func:`worker.sync.invoice_totals.record_totals`): resolved when its totals match.

The status only moves forward (transferred → sent → paid; "to transfer" too, in case a
person booked the draft before the transfer's last step): never back, and never away
from a status a person chose. What was written is remembered per invoice, so a check
that re-reads an invoice (the watermark overlaps) settles it without a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from schemas.base import MappingError
from schemas.invoices import (
    MARKER_FIELD,
    booked_changes,
    invoice_label,
    is_delivered,
    is_paid,
    severa_guid_of,
    severa_invoice_to_record,
)
from schemas.records import content_hash
from schemas.sides import Direction, Side
from worker.clients.eekonomi import odata_literal
from worker.clients.http import ApiRecordError
from worker.sync.bindings import Binding
from worker.sync.engine import Outcome, Staged, Stager, SyncContext
from worker.sync.errorlist import ErrorList, RecordRef, entry_id
from worker.sync.invoice_links import (
    INVOICES,
    LINKED_BY_CONTENT,
    Unbooked,
    booked_key,
    content_print,
    drafts_key,
    forget_unbooked,
    load_unbooked,
    locate_booked,
    match_by_content,
    remember_unbooked,
    unbooked_key,
    unlinked,
)
from worker.sync.invoice_totals import record_totals, totals_warning_key
from worker.sync.register import RegisterSpec

#: The staged stand-in for a Severa invoice whose draft is gone with no booked invoice
#: linked to it, or whose booked invoice cannot be told apart (see ``_Linker``).
UNLINKED = "_unlinked"
#: Records read per Redis round trip while linking.
BATCH = 500


class InvoiceCheck:
    """What the two checks share; subclasses say when an invoice qualifies."""

    name = ""
    #: The R-3 setting of the status this check sets.
    target_setting = ""
    #: The R-3 settings of the statuses the invoice may move from.
    from_settings: tuple[str, ...] = ()

    #: Whether this check lists our drafts and reports the unlinked ones (the sent
    #: check: one report per invoice is enough).
    reports_unlinked = False

    def qualifies(self, ctx: SyncContext, booked: dict[str, Any]) -> bool:
        raise NotImplementedError

    # -- Register protocol ---------------------------------------------------------------

    def read(
        self, ctx: SyncContext, side: str, since: datetime | None, stage: Stager
    ) -> datetime | None:
        if side == Side.SEVERA:
            return None
        linker = _Linker(ctx, stage, reports_unlinked=self.reports_unlinked)
        # Drafts before invoices: a draft booked between the two reads is then seen as
        # a draft (and its invoice next time), never as gone without an invoice.
        linker.note_drafts()
        listing = ctx.clients.eekonomi.list_customer_invoices(modified_since=since)
        for booked in listing:
            linker.add(booked)
        linker.finish()
        return listing.server_time

    def streamed_side(self, ctx: SyncContext) -> str | None:
        """None: a booked invoice is linked to its draft across the whole read."""
        return None

    def fetch(self, ctx: SyncContext, natural_key: str) -> Staged:
        """The booked invoice of one Severa invoice (error-list retries), or the
        stand-in that reports it unlinked (see the module docstring)."""
        located = locate_booked(ctx, natural_key)
        if located.booked is not None:
            booked = located.booked
            if located.by_content:
                booked[LINKED_BY_CONTENT] = True
            return Staged(eekonomi=booked)
        entry = load_unbooked(ctx, [natural_key]).get(natural_key)
        if entry is not None and (located.ambiguous or not located.draft_exists):
            return Staged(eekonomi=_stand_in(entry, located.ambiguous))
        return Staged()

    def describe(self, natural_key: str, staged: Staged) -> RecordRef:
        booked = staged.eekonomi or {}
        if UNLINKED in booked:
            return RecordRef(
                name=str(booked.get("label") or ""),
                severa_id=natural_key,
                eekonomi_id=str(booked.get("draft_id") or ""),
            )
        return RecordRef(
            number=str(booked.get("InvoiceNumber") or ""),
            name=f"invoice {booked.get('InvoiceNumber') or ''} to "
            f"{booked.get('CustomerName') or ''}".strip(),
            severa_id=natural_key,
            eekonomi_id=str(booked.get("Id") or ""),
        )

    def settle(self, ctx: SyncContext, natural_key: str, staged: Staged) -> Outcome:
        booked = staged.eekonomi
        if booked is None:
            return Outcome("unchanged")
        if UNLINKED in booked:
            return self._settle_unlinked(ctx, natural_key)
        invoice = self._identified(ctx, natural_key, booked)
        if not self.qualifies(ctx, booked):
            return Outcome("skipped", Side.EEKONOMI, f"not {self.name} yet")
        binder = ctx.binder(self.name)
        seen = content_hash(
            {k: booked.get(k) for k in ("Id", "InvoiceNumber", "PaymentReferenceNumber",
                                        "PaymentDate", "PaymentStatus")}
        )  # fmt: skip
        binding = binder.get(natural_key)
        if binding is not None and binding.eekonomi_hash == seen:
            return Outcome("unchanged", Side.EEKONOMI)
        severa = ctx.clients.severa
        if invoice is None:
            invoice = severa.get_invoice(natural_key)
        if invoice is None:
            raise MappingError(
                f"invoice {booked.get('InvoiceNumber')}",
                "its Severa invoice was deleted; nothing to write back",
            )
        target = str(ctx.values[self.target_setting])
        current = str((invoice.get("status") or {}).get("guid") or "")
        changes = booked_changes(
            invoice,
            booked,
            target_status=target,
            may_move_from=[str(ctx.values[s]) for s in self.from_settings if ctx.values.get(s)],
            read_only=self._read_only(ctx, current),
            paid=self.name == "paid",
        )
        if changes:
            severa.update_invoice(natural_key, changes)
        binder.bind(
            natural_key,
            Binding(severa_id=natural_key, eekonomi_id=str(booked["Id"]), eekonomi_hash=seen),
        )
        return Outcome("updated" if changes else "unchanged", Side.EEKONOMI)

    def _identified(
        self, ctx: SyncContext, natural_key: str, booked: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """The booked invoice of ``natural_key`` is known: its draft is no longer
        unbooked, a link by rows is remembered, and an open totals warning is settled
        against the booked totals. Returns the Severa invoice when it was read."""
        warning = entry_id(INVOICES, Direction.SEVERA_TO_EEKONOMI, totals_warning_key(natural_key))
        pipe = ctx.redis.pipeline(transaction=False)
        pipe.hexists(ErrorList(ctx.redis, ctx.connection_id).entries_key, warning)
        pipe.hdel(unbooked_key(ctx), natural_key)
        if booked.get(LINKED_BY_CONTENT):
            pipe.hset(booked_key(ctx), str(booked["Id"]), natural_key)
        if not pipe.execute()[0]:
            return None
        invoice = ctx.clients.severa.get_invoice(natural_key)
        if invoice is not None:
            record = severa_invoice_to_record(invoice)
            record_totals(ctx, natural_key, record, booked, invoice_label(invoice))
        return invoice

    def _settle_unlinked(self, ctx: SyncContext, natural_key: str) -> Outcome:
        """A draft gone without a booked invoice linked to it, or a booked invoice that
        fits it and another draft alike: looked up again now (the read may be stale);
        what is still unlinked goes to the error list with what a person can do."""
        if not self.reports_unlinked:
            return Outcome("unchanged", Side.EEKONOMI)
        staged = self.fetch(ctx, natural_key)
        if staged.eekonomi is None:
            return Outcome("unchanged", Side.EEKONOMI)  # the draft is back, or a new one made
        if UNLINKED not in staged.eekonomi:
            return self.settle(ctx, natural_key, staged)
        stand_in = staged.eekonomi
        invoice = ctx.clients.severa.get_invoice(natural_key)
        if invoice is None:
            forget_unbooked(ctx, natural_key)
            return Outcome("skipped", Side.EEKONOMI, "the Severa invoice was deleted")
        status = str((invoice.get("status") or {}).get("guid") or "")
        if status == str(ctx.values["status_to_transfer"]):
            return Outcome("skipped", Side.EEKONOMI, "set back to 'to transfer': transferred again")
        if status != str(ctx.values["status_transferred"]):
            self._claim_by_number(ctx, natural_key, invoice)
            forget_unbooked(ctx, natural_key)
            return Outcome("skipped", Side.EEKONOMI, "moved on in Severa by hand")
        sent = self._status_name(ctx, str(ctx.values["status_sent"]))
        to_transfer = self._status_name(ctx, str(ctx.values["status_to_transfer"]))
        numbers = [str(n) for n in stand_in.get("numbers") or []]
        if numbers:
            reason = (
                f"eEkonomi booked invoices {', '.join(numbers)} have the customer and rows of "
                "this invoice's draft and of another Severa invoice's draft, and eEkonomi "
                "kept neither the draft id nor the marker, so which is which cannot be "
                "told; enter the right invoice number and OCR number on this invoice in "
                f"Severa and set its status to '{sent}' by hand"
            )
        else:
            reason = (
                f"its eEkonomi draft {stand_in.get('draft_id')} is gone, and no booked "
                "invoice can be linked to it (eEkonomi kept neither the draft id nor the "
                "marker, and no invoice booked since for this customer has the draft's "
                "rows — it may have been changed before booking). If it was booked: enter "
                "the invoice number and OCR number on this invoice in Severa and set its "
                f"status to '{sent}' by hand. If the draft was deleted: set the invoice "
                f"back to '{to_transfer}' to transfer it again"
            )
        raise MappingError(str(stand_in.get("label") or invoice_label(invoice)), reason)

    def _claim_by_number(
        self, ctx: SyncContext, natural_key: str, invoice: Mapping[str, Any]
    ) -> None:
        """A person entered the booked invoice's number in Severa: that invoice is this
        one's, and must not be linked to another draft with the same rows."""
        number = invoice.get("number")
        if not isinstance(number, int):
            return
        wanted = f"InvoiceNumber eq {odata_literal(number)}"
        for booked in ctx.clients.eekonomi.list_customer_invoices(filter=wanted):
            ctx.redis.hset(booked_key(ctx), str(booked["Id"]), natural_key)

    def _status_name(self, ctx: SyncContext, status_guid: str) -> str:
        for status in ctx.clients.reference.invoice_statuses():
            if str(status.get("guid")) == status_guid:
                return str(status.get("name") or status_guid)
        return status_guid

    def _read_only(self, ctx: SyncContext, status_guid: str) -> bool:
        """A read-only Severa status (paid, cancelled) accepts only status changes."""
        for status in ctx.clients.reference.invoice_statuses():
            if str(status.get("guid")) == status_guid:
                return bool(status.get("isReadOnly"))
        return False


class SentInvoices(InvoiceCheck):
    """R-1.6 "Check sent invoices"."""

    spec = RegisterSpec(
        name="sent",
        title="Check sent invoices",
        task="sync.check_sent_invoices",
        record_task="sync.check_sent_invoice",
        tasks_module="tasks.invoices",
        requires=("status_sent",),
        interval_setting="invoice_interval_minutes",
        natural_key="Severa invoice",
        help="booked drafts → invoice number, OCR and 'status_sent' in Severa (R-1.6)",
        sandbox_paths=("/v2/customerinvoices", "/rest-api/v1/invoices/{guid}"),
    )
    name = spec.name
    target_setting = "status_sent"
    from_settings = ("status_to_transfer", "status_transferred")
    reports_unlinked = True

    def qualifies(self, ctx: SyncContext, booked: dict[str, Any]) -> bool:
        if ctx.values.get("sent_means") == "delivered":
            return is_delivered(booked)
        return True  # booked: the invoice exists at all


class PaidInvoices(InvoiceCheck):
    """R-1.7 "Check paid invoices"."""

    spec = RegisterSpec(
        name="paid",
        title="Check paid invoices",
        task="sync.check_paid_invoices",
        record_task="sync.check_paid_invoice",
        tasks_module="tasks.invoices",
        requires=("status_paid",),
        interval_setting="invoice_interval_minutes",
        natural_key="Severa invoice",
        help="invoices paid in full in eEkonomi → 'status_paid' in Severa (R-1.7)",
        sandbox_paths=("/v2/customerinvoices", "/rest-api/v1/invoices/{guid}"),
    )
    name = spec.name
    target_setting = "status_paid"
    from_settings = ("status_to_transfer", "status_transferred", "status_sent")

    def qualifies(self, ctx: SyncContext, booked: dict[str, Any]) -> bool:
        return is_paid(booked)


def _stand_in(entry: Unbooked, candidates: list[dict[str, Any]]) -> dict[str, Any]:
    """What is staged for an unlinked Severa invoice (see ``InvoiceCheck.settle``)."""
    return {
        UNLINKED: True,
        "label": entry.label,
        "draft_id": entry.draft_id,
        "numbers": sorted(str(b.get("InvoiceNumber")) for b in candidates),
    }


class _Linker:
    """One check's read: which Severa invoice each booked invoice came from.

    Cheapest first, per batch: ``CreatedFromDraftId`` (our draft ids), the marker, the
    links made by rows before. What is left and belongs to a customer with unbooked
    drafts is kept as a candidate and matched by rows once everything is read (so that
    a fit to two drafts, or of two invoices, is seen as such). The sent check then
    stages a stand-in for every unbooked draft that is neither in eEkonomi any more nor
    linked: settling it reports the invoice (see ``InvoiceCheck._settle_unlinked``).
    """

    def __init__(self, ctx: SyncContext, stage: Stager, *, reports_unlinked: bool) -> None:
        self.ctx = ctx
        self.stage = stage
        self.reports_unlinked = reports_unlinked
        self.unbooked = load_unbooked(ctx)
        self.customers = {e.customer_id for e in self.unbooked.values()}
        self.prints = {p for e in self.unbooked.values() for p in e.prints}
        self.drafts_seen: set[str] = set()
        self.linked: set[str] = set()
        self.candidates: list[dict[str, Any]] = []
        self.batch: list[dict[str, Any]] = []

    def note_drafts(self) -> None:
        """The sent check lists our drafts (one request per 1 000): which still exist,
        and the rows of those a person changed since they were made."""
        if not (self.reports_unlinked and self.unbooked):
            return
        eekonomi = self.ctx.clients.eekonomi
        ours = f"startswith({MARKER_FIELD},{odata_literal('severa:')})"
        try:
            drafts = list(eekonomi.list_customer_invoice_drafts(filter=ours))
        except ApiRecordError:
            # startswith is documented but unconfirmed per resource: read every draft.
            drafts = list(eekonomi.list_customer_invoice_drafts())
        for draft in drafts:
            draft_id = str(draft.get("Id") or "")
            self.drafts_seen.add(draft_id)
            guid = severa_guid_of(draft.get(MARKER_FIELD))
            entry = self.unbooked.get(guid or "")
            if guid is None or entry is None or entry.draft_id != draft_id:
                continue
            printed = content_print(draft)
            if printed not in entry.prints:
                entry.prints = [entry.prints[0], printed] if entry.prints else [printed]
                remember_unbooked(self.ctx, guid, entry)
                self.prints.add(printed)

    def add(self, booked: dict[str, Any]) -> None:
        self.batch.append(booked)
        if len(self.batch) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        batch, self.batch = self.batch, []
        if not batch:
            return
        draft_ids = [str(b.get("CreatedFromDraftId") or "") for b in batch]
        wanted = [d for d in draft_ids if d]
        known = (
            dict(zip(wanted, self.ctx.redis.hmget(drafts_key(self.ctx), wanted), strict=True))
            if wanted
            else {}
        )
        ids = [str(b["Id"]) for b in batch]
        linked = dict(zip(ids, self.ctx.redis.hmget(booked_key(self.ctx), ids), strict=True))
        for booked, draft_id in zip(batch, draft_ids, strict=True):
            guid = (
                known.get(draft_id)
                or severa_guid_of(booked.get(MARKER_FIELD))
                or linked.get(str(booked["Id"]))
            )
            if guid:
                self.stage.add(str(guid), str(booked["Id"]), booked)
                self.linked.add(str(guid))
            elif (
                unlinked(booked)
                and str(booked.get("CustomerId") or "") in self.customers
                and content_print(booked) in self.prints
            ):
                self.candidates.append(booked)

    def finish(self) -> None:
        self._flush()
        waiting = {g: e for g, e in self.unbooked.items() if g not in self.linked}
        match = match_by_content(self.candidates, waiting)
        for guid, booked in match.matched.items():
            self.stage.add(guid, str(booked["Id"]), {**booked, LINKED_BY_CONTENT: True})
            self.linked.add(guid)
        if not self.reports_unlinked:
            return
        for guid, candidates in match.ambiguous.items():
            self.stage.add(guid, "", _stand_in(waiting[guid], candidates))
        for guid, entry in waiting.items():
            gone = entry.draft_id not in self.drafts_seen
            if gone and guid not in self.linked and guid not in match.ambiguous:
                self.stage.add(guid, "", _stand_in(entry, []))
