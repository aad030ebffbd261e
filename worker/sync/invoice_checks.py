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

The status only moves forward (transferred → sent → paid; "to transfer" too, in case a
person booked the draft before the transfer's last step): never back, and never away
from a status a person chose. What was written is remembered per invoice, so a check
that re-reads an invoice (the watermark overlaps) settles it without a request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.base import MappingError
from schemas.invoices import (
    MARKER_FIELD,
    booked_changes,
    is_delivered,
    is_paid,
    marker_for,
    severa_guid_of,
)
from schemas.records import content_hash
from worker.clients.eekonomi import odata_literal
from worker.sync.bindings import EEKONOMI, SEVERA, Binding
from worker.sync.engine import Outcome, Staged, Stager, SyncContext
from worker.sync.errorlist import RecordRef
from worker.sync.invoices import NAME as INVOICES
from worker.sync.invoices import drafts_key


class InvoiceCheck:
    """What the two checks share; subclasses say when an invoice qualifies."""

    name = ""
    #: The R-3 setting of the status this check sets.
    target_setting = ""
    #: The R-3 settings of the statuses the invoice may move from.
    from_settings: tuple[str, ...] = ()

    def qualifies(self, ctx: SyncContext, booked: dict[str, Any]) -> bool:
        raise NotImplementedError

    # -- Register protocol ---------------------------------------------------------------

    def read(
        self, ctx: SyncContext, side: str, since: datetime | None, stage: Stager
    ) -> datetime | None:
        if side == SEVERA:
            return None
        listing = ctx.clients.eekonomi.list_customer_invoices(modified_since=since)
        batch: list[dict[str, Any]] = []
        for booked in listing:
            batch.append(booked)
            if len(batch) >= 500:
                self._stage(ctx, batch, stage)
                batch = []
        self._stage(ctx, batch, stage)
        return listing.server_time

    def _stage(self, ctx: SyncContext, batch: list[dict[str, Any]], stage: Stager) -> None:
        """Keep the invoices booked from our drafts, keyed by Severa invoice guid."""
        draft_ids = [str(b.get("CreatedFromDraftId") or "") for b in batch]
        wanted = [d for d in draft_ids if d]
        known = (
            dict(zip(wanted, ctx.redis.hmget(drafts_key(ctx), wanted), strict=True))
            if wanted
            else {}
        )
        for booked, draft_id in zip(batch, draft_ids, strict=True):
            guid = known.get(draft_id) or severa_guid_of(booked.get(MARKER_FIELD))
            if guid:
                stage.add(str(guid), str(booked["Id"]), booked)

    def fetch(self, ctx: SyncContext, natural_key: str) -> Staged:
        """The booked invoice of one Severa invoice (error-list retries)."""
        eekonomi = ctx.clients.eekonomi
        binding = ctx.binder(INVOICES).get(natural_key)
        filters = [f"{MARKER_FIELD} eq {odata_literal(marker_for(natural_key))}"]
        if binding is not None and binding.eekonomi_id:
            filters.insert(0, f"CreatedFromDraftId eq {binding.eekonomi_id}")
        for wanted in filters:
            for booked in eekonomi.list_customer_invoices(filter=wanted):
                return Staged(eekonomi=dict(booked))
        return Staged()

    def describe(self, natural_key: str, staged: Staged) -> RecordRef:
        booked = staged.eekonomi or {}
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
        if not self.qualifies(ctx, booked):
            return Outcome("skipped", EEKONOMI, f"not {self.name} yet")
        binder = ctx.binder(self.name)
        seen = content_hash(
            {k: booked.get(k) for k in ("Id", "InvoiceNumber", "PaymentReferenceNumber",
                                        "PaymentDate", "PaymentStatus")}
        )  # fmt: skip
        binding = binder.get(natural_key)
        if binding is not None and binding.eekonomi_hash == seen:
            return Outcome("unchanged", EEKONOMI)
        severa = ctx.clients.severa
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
        return Outcome("updated" if changes else "unchanged", EEKONOMI)

    def _read_only(self, ctx: SyncContext, status_guid: str) -> bool:
        """A read-only Severa status (paid, cancelled) accepts only status changes."""
        for status in ctx.clients.reference.invoice_statuses():
            if str(status.get("guid")) == status_guid:
                return bool(status.get("isReadOnly"))
        return False


class SentInvoices(InvoiceCheck):
    """R-1.6 "Check sent invoices"."""

    name = "sent"
    target_setting = "status_sent"
    from_settings = ("status_to_transfer", "status_transferred")

    def qualifies(self, ctx: SyncContext, booked: dict[str, Any]) -> bool:
        if ctx.values.get("sent_means") == "delivered":
            return is_delivered(booked)
        return True  # booked: the invoice exists at all


class PaidInvoices(InvoiceCheck):
    """R-1.7 "Check paid invoices"."""

    name = "paid"
    target_setting = "status_paid"
    from_settings = ("status_to_transfer", "status_transferred", "status_sent")

    def qualifies(self, ctx: SyncContext, booked: dict[str, Any]) -> bool:
        return is_paid(booked)
