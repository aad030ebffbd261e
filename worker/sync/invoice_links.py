"""Links between a Severa invoice, the draft the transfer made of it, and the invoice
eEkonomi booked from that draft (R-1.4, R-1.6, R-1.7, R-6.1).

The transfer (:mod:`worker.sync.invoices`) binds the Severa invoice to its draft; the
checks (:mod:`worker.sync.invoice_checks`) must then find the *booked* invoice, which
eEkonomi may make without saying where it came from: no ``CreatedFromDraftId``, no
marker (both unconfirmed, eaccounting-notes §6.8). So the transfer also remembers each
draft as *unbooked* (:class:`Unbooked`: its id, customer, creation time and a print of
its rows) until a check sees the invoice booked from it, and the print is then what
still links the two (:func:`locate_booked`, :func:`match_by_content`) — one to one only,
never a guess between identical drafts.

Both registers use these links, so they live in a module of their own below both.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from schemas.base import to_decimal
from schemas.invoices import MARKER_FIELD, marker_for, severa_guid_of
from schemas.records import content_hash
from worker.clients.eekonomi import odata_literal
from worker.keys import key
from worker.sync.engine import SyncContext

#: The invoice transfer's register (``worker.sync.invoices.NAME``): its bindings link a
#: Severa invoice to its draft, and these links are kept under its name.
INVOICES = "invoices"

#: The registers of the checks (:mod:`worker.sync.invoice_checks`), whose bindings hold
#: the booked invoice of a Severa invoice once they have seen it.
CHECKS = ("sent", "paid")
#: Added to a booked invoice that only its rows link to our draft (see locate_booked).
LINKED_BY_CONTENT = "_linked_by_content"


def drafts_key(ctx: SyncContext) -> str:
    """Draft id → Severa invoice guid: how the checks recognise ``CreatedFromDraftId``."""
    return key(ctx.connection_id, "index", INVOICES, "drafts")


def unbooked_key(ctx: SyncContext) -> str:
    """Severa guid → :class:`Unbooked`, for drafts whose booked invoice is not seen yet."""
    return key(ctx.connection_id, "index", INVOICES, "unbooked")


def booked_key(ctx: SyncContext) -> str:
    """Booked invoice id → Severa guid, for invoices linked by their rows (or by the number
    a person entered in Severa): later reads link them without matching again."""
    return key(ctx.connection_id, "index", INVOICES, "booked")


# -- drafts not yet seen booked ----------------------------------------------------------


@dataclass
class Unbooked:
    """A draft the transfer made, remembered until the invoice booked from it is seen.

    ``prints`` are :func:`content_print` of the draft as created and, once a check saw it
    changed in eEkonomi, as last seen: a person may correct a draft before booking it.
    """

    draft_id: str
    customer_id: str
    created: str
    label: str
    prints: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> Unbooked:
        return cls(**json.loads(raw))


def load_unbooked(ctx: SyncContext, guids: Iterable[str] | None = None) -> dict[str, Unbooked]:
    """The unbooked drafts (all, or those of ``guids``) by Severa guid."""
    if guids is None:
        found: Mapping[Any, Any] = ctx.redis.hgetall(unbooked_key(ctx))
    else:
        wanted = list(guids)
        values = ctx.redis.hmget(unbooked_key(ctx), wanted) if wanted else []
        found = dict(zip(wanted, values, strict=True))
    return {str(g): Unbooked.from_json(raw) for g, raw in found.items() if raw}


def remember_unbooked(ctx: SyncContext, natural_key: str, entry: Unbooked) -> None:
    ctx.redis.hset(unbooked_key(ctx), natural_key, entry.to_json())


def forget_unbooked(ctx: SyncContext, natural_key: str) -> None:
    ctx.redis.hdel(unbooked_key(ctx), natural_key)


def content_print(document: Mapping[str, Any]) -> str:
    """What booking copies from a draft to its invoice, hashed: the customer and the rows
    in order (article, text, quantity, price, discount). Not the dates (booking sets
    them), not the references (they may be dropped)."""
    rows = [
        {
            "text_row": bool(row.get("IsTextRow")),
            "article": str(row.get("ArticleId") or ""),
            "text": str(row.get("Text") or "").strip(),
            "quantity": to_decimal(row.get("Quantity")) or Decimal(0),
            "price": to_decimal(row.get("UnitPrice")) or Decimal(0),
            "discount": to_decimal(row.get("DiscountPercentage")) or Decimal(0),
        }
        for row in document.get("Rows") or []
    ]
    return content_hash({"customer": str(document.get("CustomerId") or ""), "rows": rows})


def unlinked(booked: Mapping[str, Any]) -> bool:
    """A booked invoice that names no draft and carries no marker: eEkonomi kept neither."""
    return not booked.get("CreatedFromDraftId") and severa_guid_of(booked.get(MARKER_FIELD)) is None


@dataclass
class ContentMatch:
    """Unbooked drafts whose rows a booked invoice has: ``matched`` one-to-one only;
    ``ambiguous`` when the invoice fits several drafts or the draft several invoices."""

    matched: dict[str, dict[str, Any]] = field(default_factory=dict)
    ambiguous: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def match_by_content(
    candidates: Iterable[Mapping[str, Any]], entries: Mapping[str, Unbooked]
) -> ContentMatch:
    """Link booked invoices without draft id or marker to unbooked drafts by their print.

    A booked invoice fits a draft when it has the draft's customer and rows and was made
    after it. Only a one-to-one fit links: two drafts with the same rows (identical
    invoices to one customer) cannot be told apart, and guessing would put one invoice's
    number and "sent" status on the other — those are reported instead.
    """
    by_print: dict[str, list[str]] = {}
    for guid, entry in entries.items():
        for printed in set(entry.prints):
            by_print.setdefault(printed, []).append(guid)
    booked_by_id: dict[str, dict[str, Any]] = {}
    fits: dict[str, list[str]] = {}
    per_guid: dict[str, list[str]] = {}
    for booked in candidates:
        booked_id = str(booked.get("Id") or "")
        if not booked_id or booked_id in booked_by_id:
            continue
        guids = [
            g
            for g in by_print.get(content_print(booked), [])
            if _not_before(booked.get("CreatedUtc"), entries[g].created)
        ]
        if not guids:
            continue
        booked_by_id[booked_id] = dict(booked)
        fits[booked_id] = guids
        for guid in guids:
            per_guid.setdefault(guid, []).append(booked_id)
    result = ContentMatch()
    for guid, ids in per_guid.items():
        if len(ids) == 1 and fits[ids[0]] == [guid]:
            result.matched[guid] = booked_by_id[ids[0]]
        else:
            result.ambiguous[guid] = [booked_by_id[i] for i in ids]
    return result


@dataclass
class Located:
    """Where a Severa invoice's draft went: the booked invoice and whether only its rows
    link it; else the booked invoices that fit it and another draft alike; and — asked
    only when neither was found — whether the draft still exists."""

    booked: dict[str, Any] | None = None
    by_content: bool = False
    ambiguous: list[dict[str, Any]] = field(default_factory=list)
    draft_exists: bool = False


def locate_booked(ctx: SyncContext, natural_key: str) -> Located:
    """One Severa invoice's booked invoice, by everything that may link it, cheapest first:
    ``CreatedFromDraftId``, the marker, what a check saw before, then the rows.

    For the rare paths (error-list retries of the checks, an invoice set back to "to
    transfer"); the checks' reads link many invoices at once instead.
    """
    eekonomi = ctx.clients.eekonomi
    entry = load_unbooked(ctx, [natural_key]).get(natural_key)
    binding = ctx.binder(INVOICES).get(natural_key)
    draft_id = entry.draft_id if entry else (binding.eekonomi_id if binding else "")
    filters = [f"{MARKER_FIELD} eq {odata_literal(marker_for(natural_key))}"]
    if draft_id:
        filters.insert(0, f"CreatedFromDraftId eq {draft_id}")
    for wanted in filters:
        for booked in eekonomi.list_customer_invoices(filter=wanted):
            return Located(dict(booked))
    for register in CHECKS:
        seen = ctx.binder(register).get(natural_key)
        if seen is not None and seen.eekonomi_id:
            found = eekonomi.get_customer_invoice(seen.eekonomi_id)
            if found is not None:
                return Located(dict(found))
    if entry is not None:
        located = _locate_by_content(ctx, natural_key, entry)
        if located.booked is not None or located.ambiguous:
            return located
    exists = bool(draft_id) and eekonomi.get_customer_invoice_draft(draft_id) is not None
    return Located(draft_exists=exists)


def _locate_by_content(ctx: SyncContext, natural_key: str, entry: Unbooked) -> Located:
    """The customer's invoices booked since the draft was made, matched by their rows
    against every unbooked draft of that customer (see match_by_content)."""
    listing = ctx.clients.eekonomi.list_customer_invoices(
        modified_since=_moment(entry.created),
        filter=f"CustomerId eq {entry.customer_id}",
    )
    candidates = [dict(b) for b in listing if unlinked(b)]
    ids = [str(b.get("Id")) for b in candidates]
    claimed = dict(zip(ids, ctx.redis.hmget(booked_key(ctx), ids), strict=True)) if ids else {}
    for booked in candidates:
        if claimed.get(str(booked.get("Id"))) == natural_key:
            return Located(booked, by_content=True)
    free = [b for b in candidates if not claimed.get(str(b.get("Id")))]
    others = {g: e for g, e in load_unbooked(ctx).items() if e.customer_id == entry.customer_id}
    others[natural_key] = entry
    match = match_by_content(free, others)
    if natural_key in match.matched:
        return Located(match.matched[natural_key], by_content=True)
    return Located(ambiguous=match.ambiguous.get(natural_key, []))


def _moment(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _not_before(later: Any, earlier: str) -> bool:
    """Whether eEkonomi time ``later`` is not before ``earlier`` (unknown: assume so)."""
    first, second = _moment(earlier), _moment(str(later or ""))
    return first is None or second is None or second >= first
