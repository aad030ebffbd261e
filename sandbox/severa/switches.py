"""The switches of the Severa sandbox: behaviours Severa's notes mark unconfirmed.

Where ``shared/apis/severa-notes.md`` cannot say what Severa does, the sandbox does the
most likely thing by default and lets a test choose the other: every field is a
keyword argument of :class:`~sandbox.severa.SeveraSandbox` (for every organization) and
a key of ``POST /_sandbox/switches[?organization=ID]`` (for one).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from sandbox.core import Switches


@dataclass
class SeveraSwitches(Switches):
    """Behaviours the notes mark unconfirmed (severa-notes §8); defaults = most likely.

    Every field is a keyword argument of :class:`SeveraSandbox` and a key of
    ``POST /_sandbox/switches`` (which the shared :class:`Switches` type-checks).
    """

    CHOICES: ClassVar[Mapping[str, tuple[str, ...]]] = {"rate_limit_body": ("json", "text")}

    #: Access-token lifetime (observed: 3600 s in real JWTs).
    access_token_seconds: int = 3600
    #: Refresh-token lifetime (unconfirmed; proposal 30 days).
    refresh_token_days: int = 30
    #: ``/v1/refreshtoken`` invalidates the refresh token it was given.
    rotate_refresh_tokens: bool = True
    #: ``POST /v1/token`` also takes ``grant_type=refresh_token`` (seen in one client only).
    token_refresh_grant: bool = False
    #: Reject data calls without a ``Client_Id`` header (the spec says required; live
    #: Severa tolerates its absence). A *mismatching* header is always rejected.
    require_client_id_header: bool = False
    #: HTTP status of an ``InsufficientApiScope`` error.
    scope_error_status: int = 403
    #: ``rowCount`` when the request gives none (token and offset lists).
    default_row_count: int = 20
    #: Largest ``rowCount`` honoured.
    max_row_count: int = 100
    #: Larger ``rowCount`` values are clamped silently (else 400 ``InvalidParameter``).
    clamp_row_count: bool = True
    #: Send ``NextPageToken`` on the last (non-empty) page too; the page after is empty.
    next_page_token_on_last_page: bool = False
    #: Page tokens older than this answer 400 ``InvalidParameter``.
    page_token_ttl_seconds: int = 600
    #: Header carrying the total when ``calculateRowCount=true`` ("" = never sent).
    total_row_count_header: str = "TotalRowCount"
    #: 429 body: ``json`` (ExceptionModel) or ``text`` (the bare message).
    rate_limit_body: str = "json"
    #: ``Retry-After`` seconds on 429 (0 = header not sent).
    rate_limit_retry_after: int = 1
    #: Requests per second per client before 429.
    rate_limit_per_second: int = 10
    #: Give an invoice the next number when it enters a status with ``hasInvoiceNumber``.
    assign_invoice_numbers: bool = True
    #: ``/number`` may be patched on an invoice (the number eEkonomi gave it, R-1.6).
    invoice_number_patchable: bool = True
    #: A project fee with a product takes name/prices/VAT/unit from it when omitted.
    fee_defaults_from_product: bool = True
    #: Project fees may be added to closed projects.
    fees_on_closed_projects: bool = False
    #: Customer names must be unique (case-insensitive), as R-5.1 says Severa requires.
    unique_customer_names: bool = True
    #: JSON Patch ``op`` in any case (``replace``); else only the spec's ``Replace``.
    patch_op_case_insensitive: bool = True
    #: 404 answers carry an ExceptionModel body (else an empty body).
    not_found_body: bool = True
    #: Changing an address or contact also bumps its customer's ``lastUpdatedDateTime``.
    address_change_touches_customer: bool = False
