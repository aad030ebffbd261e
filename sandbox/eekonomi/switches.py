"""eEkonomi's unconfirmed behaviours (eaccounting-notes §8), one switch each.

Defaults are the most likely real behaviour; every switch is a keyword argument of
:class:`~sandbox.eekonomi.EEkonomiSandbox`, a key of ``POST /_sandbox/switches`` and a
row of the table in ``sandbox/docs/eekonomi.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.core.switches import Switches


@dataclass
class EEkonomiSwitches(Switches):
    """Behaviours the notes could not confirm, one flag each (see the module docstring)."""

    CHOICES = {  # noqa: RUF012 - the base declares it a ClassVar
        "vies_check": ("validate", "off", "unavailable"),
        "oversize_page": ("reject", "clamp"),
        "article_prices": ("as_sent", "derive_gross"),
        "rate_limit_per": ("endpoint", "url"),
    }

    #: ``/convert`` (and the UI conversion) fills ``CreatedFromDraftId`` on the invoice.
    convert_sets_created_from_draft_id: bool = True
    #: The draft disappears once converted.
    convert_deletes_draft: bool = True
    #: ``YourReference``/``OurReference``/``BuyersOrderReference``/``ContractNumber``/
    #: ``SubscriptionNumber`` survive conversion.
    convert_keeps_references: bool = True
    #: ``VatNumber`` on customer POST/PUT: ``validate`` (format check standing in for
    #: VIES → 4025), ``off``, or ``unavailable`` (VIES down → 503 / 5001).
    vies_check: str = "validate"
    #: ErrorCode of a duplicate customer number / article number / project number.
    duplicate_number_error: int = 4000
    #: Article numbers must be unique (the spec only says so for customers and projects).
    unique_article_numbers: bool = True
    #: Cost-center item ``ShortName`` must be unique within its cost center.
    unique_cost_center_short_names: bool = True
    #: Row slot ``CostCenterItemIdN`` only takes items of the cost center numbered N.
    cost_center_slots_by_number: bool = True
    #: Largest accepted ``$pagesize``.
    max_page_size: int = 1000
    #: ``$pagesize`` above the maximum: ``reject`` (400 / 6000) or ``clamp``.
    oversize_page: str = "reject"
    #: Booked supplier invoices list their VAT (26xx) and payables (2440) rows too.
    supplier_rows_include_vat_and_payables: bool = True
    #: Seconds a rotated refresh token still works (0 = strictly single-use).
    refresh_grace_seconds: float = 0.0
    #: ``DueDate`` on customer and supplier invoices comes back as ``YYYY-MM-DD`` (observed
    #: once, but not a valid ``date-time``; off keeps responses schema-valid).
    date_only_due_dates: bool = False
    #: Article prices: ``as_sent`` (store both; derive the omitted one from the VAT rate)
    #: or ``derive_gross`` (``GrossPrice`` always recomputed from ``NetPrice``).
    article_prices: str = "as_sent"
    #: Rate-limit bucket: ``endpoint`` (path template, ids folded) or ``url`` (literal path).
    rate_limit_per: str = "endpoint"
    #: Company picked silently at login unless the client forces the picker
    #: (``acr_values=forceselectcompany:true`` or ``prompt=select_account``); ``None`` = none.
    default_company: str | None = None
