"""The totals warning of a transferred invoice (R-5.4): its draft's — or the booked
invoice's — totals against the Severa invoice's.

A draft's totals may differ from Severa's by eEkonomi's rounding (eaccounting-notes
§6.7): the draft stays, and a *warning* in the error list shows both totals until a later
look — the next run re-reads the draft, the checks read the invoice booked from it —
sees them agree. Kept apart from :mod:`worker.sync.invoices` because both the transfer
and the sent/paid checks (:mod:`worker.sync.invoice_checks`) record it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from schemas.invoices import InvoiceRecord, booked_totals, check_totals, vat_differences
from schemas.sides import Direction
from worker.sync.engine import SyncContext
from worker.sync.errorlist import WARNING, ErrorEntry, ErrorList, RecordRef
from worker.sync.invoice_links import INVOICES as NAME

__all__ = ["record_totals", "totals_warning_key"]


def totals_warning_key(natural_key: str) -> str:
    """The totals warning's own error-list key: a successful settle resolves the
    record's entries, and the warning must outlive it."""
    return f"{natural_key}:totals"


# -- the totals warning ------------------------------------------------------------------


def record_totals(
    ctx: SyncContext,
    natural_key: str,
    record: InvoiceRecord,
    document: Mapping[str, Any],
    label: str,
) -> bool:
    """The totals warning of one invoice, as ``document`` (its draft, or the invoice
    booked from it) shows the totals: resolved when they agree, recorded when they
    differ beyond rounding — and left alone when it already says exactly that, so a
    re-check does not count as a new occurrence. Returns whether they agree."""
    errors = ErrorList(ctx.redis, ctx.connection_id)
    warning_key = totals_warning_key(natural_key)
    number = document.get("InvoiceNumber")
    check = check_totals(record, booked_totals(document) if number is not None else document)
    if check.ok:
        errors.resolve_last(NAME, Direction.SEVERA_TO_EEKONOMI, warning_key)
        return True
    extra = {
        "severa_excluding_vat": str(check.severa_excluding),
        "severa_including_vat": str(check.severa_including),
        "eekonomi_excluding_vat": str(check.eekonomi_excluding),
        "eekonomi_including_vat": str(check.eekonomi_including),
        "booked_invoice_number": "" if number is None else str(number),
    }
    existing = errors.get(NAME, Direction.SEVERA_TO_EEKONOMI, warning_key)
    if existing is not None and existing.extra == extra:
        return False
    reason = check.describe(booked_number=number)
    rows = vat_differences(
        list(ctx.clients.severa.list_invoice_rows(natural_key)), document.get("Rows") or []
    )
    if rows:
        reason += "; VAT differs on " + "; ".join(rows) + " (the article's coding decides VAT)"
    errors.record(
        ErrorEntry(
            register=NAME,
            direction=Direction.SEVERA_TO_EEKONOMI,
            record_key=warning_key,
            record=RecordRef(
                number="" if number is None else str(number),
                name=label,
                severa_id=natural_key,
                eekonomi_id=str(document.get("Id") or ""),
            ),
            reason=f"{label}: {reason}",
            kind=WARNING,
            extra=extra,
        )
    )
    return False
