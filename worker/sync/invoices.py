"""Transfer invoices (R-1.4, R-5.4, R-3.6, R-3.7): Severa invoices in the "to transfer"
status become eEkonomi customer-invoice drafts; the Severa invoice then gets the
"transferred" status — the last step, once the draft exists and is linked.

**Exactly once.** The natural key is the Severa invoice guid (invoices to transfer have
no number yet). One invoice settles in this order:

1. dependencies first: the customer (transferred when not linked, and brought up to
   date at most every few minutes, because a draft's postal code, city and country
   come from the eEkonomi customer), the projects' cost-center items, the articles;
2. the binder's *pending* mark, then ``POST /customerinvoicedrafts`` with the marker
   (``SubscriptionNumber = severa:<guid>``, see :mod:`schemas.invoices`);
3. the totals check (a warning in the error list, the draft stays);
4. the binding (Severa guid ⇄ draft id, plus draft id → guid for the checks);
5. the Severa status "to transfer" → "transferred", and the binding marked done.

A crash after 2 leaves the pending mark: the next attempt finds the draft (or the
invoice booked from it) by its marker instead of creating another. A crash after 4
finds the binding and only finishes the status, re-reading the Severa invoice first so
a status a check set meanwhile (sent, paid) is never moved back.

Bad input (customer or project that cannot be transferred, no default article in
eEkonomi, a draft eEkonomi refuses) fails the invoice before step 2 with the reason,
and leaves its Severa status alone: every run reads all invoices still "to transfer",
so it transfers once fixed — also when the fix was made on the customer or project.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from schemas.base import MappingError, swedish_unit
from schemas.customers import choose_terms_of_payment
from schemas.invoices import (
    MARKER_FIELD,
    DraftLine,
    InvoiceRecord,
    InvoiceRowRecord,
    check_totals,
    invoice_label,
    marker_for,
    quantities_by_project,
    record_to_eekonomi_draft,
    round_price,
    round_quantity,
    severa_invoice_row_to_record,
    severa_invoice_to_record,
    source_item_code,
)
from schemas.products import article_number_key
from schemas.projects import short_code_key
from worker.clients.eekonomi import odata_literal
from worker.errors import RecordError
from worker.keys import key
from worker.sync.bindings import EEKONOMI, SEVERA, Binding
from worker.sync.customers import Customers
from worker.sync.engine import Outcome, Staged, Stager, SyncContext
from worker.sync.errorlist import WARNING, ErrorEntry, ErrorList, RecordRef
from worker.sync.projects import Projects

NAME = "invoices"
#: ``Binding.severa_hash`` of an invoice whose Severa status was set (step 5).
DONE = "status:transferred"
#: A linked customer is re-synced before an invoice at most this often (seconds).
CUSTOMER_FRESH_SECONDS = 300
DIRECTION = "severa→eekonomi"


def drafts_key(ctx: SyncContext) -> str:
    """Draft id → Severa invoice guid: how the checks recognise ``CreatedFromDraftId``."""
    return key(ctx.connection_id, "index", NAME, "drafts")


def totals_warning_key(natural_key: str) -> str:
    """The totals warning's own error-list key: a successful settle resolves the
    record's entries, and the warning must outlive it."""
    return f"{natural_key}:totals"


class Invoices:
    """The invoice transfer (see the module docstring)."""

    name = NAME

    def read(
        self, ctx: SyncContext, side: str, since: datetime | None, stage: Stager
    ) -> datetime | None:
        if side == EEKONOMI:
            return None  # drafts are written, never read back as changes
        # Every invoice still "to transfer", not only changed ones: an invoice that
        # failed because of its customer or project must be retried once they are
        # fixed, though the invoice itself did not change.
        listing = ctx.clients.severa.list_invoices(
            invoice_status_guids=[str(ctx.values["status_to_transfer"])]
        )
        for invoice in listing:
            stage.add(str(invoice["guid"]), str(invoice["guid"]), invoice)
        return listing.server_time

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
        invoice = staged.severa
        if invoice is None:
            return Outcome("unchanged")
        binder = ctx.binder(NAME)
        binding = binder.get(natural_key)
        to_transfer = str(ctx.values["status_to_transfer"])
        if binding is not None and binding.eekonomi_id:
            if binding.severa_hash == DONE:
                return self._transferred_before(ctx, natural_key, invoice, binding)
            # Linked, status not yet set (a crash after step 4): re-read the status.
            current = ctx.clients.severa.get_invoice(natural_key) or {}
            self._finish(ctx, natural_key, current, binding)
            return Outcome("updated", SEVERA)
        if _status_of(invoice) != to_transfer:
            return Outcome("skipped", SEVERA, "no longer in the 'to transfer' status")
        record = severa_invoice_to_record(invoice)
        label = invoice_label(invoice)
        draft: dict[str, Any] | None = None
        counter = "updated"
        if binder.pending_on(natural_key) == EEKONOMI:
            draft = self._find_by_marker(ctx, natural_key)
        if draft is None:
            payload = self._draft_payload(ctx, record, label)
            binder.mark_pending(natural_key, EEKONOMI)
            draft = ctx.clients.eekonomi.create_customer_invoice_draft(payload)
            counter = "created"
        if "TotalAmount" in draft and "InvoiceNumber" not in draft:
            self._check_totals(ctx, natural_key, record, draft, label)
        draft_id = str(draft.get("CreatedFromDraftId") or draft["Id"])
        binding = Binding(severa_id=natural_key, eekonomi_id=draft_id)
        ctx.redis.hset(drafts_key(ctx), draft_id, natural_key)
        binder.bind(natural_key, binding)
        self._finish(ctx, natural_key, invoice, binding)
        return Outcome(counter, SEVERA)

    def _transferred_before(
        self, ctx: SyncContext, natural_key: str, invoice: Mapping[str, Any], binding: Binding
    ) -> Outcome:
        """An invoice transferred before and read again "to transfer": a redelivered
        task (the staged status is old), or a person moved it back. Never a second
        draft (R-6.1); the person is told what to do instead."""
        to_transfer = str(ctx.values["status_to_transfer"])
        if _status_of(invoice) != to_transfer:
            return Outcome("unchanged", SEVERA)
        current = ctx.clients.severa.get_invoice(natural_key) or {}
        if _status_of(current) != to_transfer:
            return Outcome("unchanged", SEVERA)
        raise MappingError(
            invoice_label(invoice),
            f"it was already transferred (eEkonomi draft {binding.eekonomi_id}) and is not "
            "transferred twice; correct that draft in eEkonomi, and move the invoice out "
            "of the 'to transfer' status in Severa",
        )

    # -- steps ---------------------------------------------------------------------------

    def _finish(
        self, ctx: SyncContext, natural_key: str, invoice: Mapping[str, Any], binding: Binding
    ) -> None:
        """Step 5: "to transfer" → "transferred" (only from "to transfer": a check may
        already have moved it on), then remember that it is done."""
        if _status_of(invoice) == str(ctx.values["status_to_transfer"]):
            ctx.clients.severa.update_invoice(
                natural_key, {"/status/guid": str(ctx.values["status_transferred"])}
            )
        binding.severa_hash = DONE
        ctx.binder(NAME).bind(natural_key, binding)

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

    def _check_totals(
        self,
        ctx: SyncContext,
        natural_key: str,
        record: InvoiceRecord,
        draft: Mapping[str, Any],
        label: str,
    ) -> None:
        """Step 3: a warning naming both totals when they differ beyond rounding."""
        errors = ErrorList(ctx.redis, ctx.connection_id)
        check = check_totals(record, draft)
        warning_key = totals_warning_key(natural_key)
        if check.ok:
            errors.resolve(NAME, DIRECTION, warning_key)
            return
        errors.record(
            ErrorEntry(
                register=NAME,
                direction=DIRECTION,
                record_key=warning_key,
                record=RecordRef(
                    name=label, severa_id=natural_key, eekonomi_id=str(draft.get("Id") or "")
                ),  # fmt: skip
                reason=f"{label}: {check.describe()}",
                kind=WARNING,
                extra={
                    "severa_excluding_vat": str(check.severa_excluding),
                    "severa_including_vat": str(check.severa_including),
                    "eekonomi_excluding_vat": str(check.eekonomi_excluding),
                    "eekonomi_including_vat": str(check.eekonomi_including),
                },
            )
        )

    def _draft_payload(self, ctx: SyncContext, record: InvoiceRecord, label: str) -> dict[str, Any]:
        """Steps 1–2's body: dependencies resolved, rows mapped (R-5.4)."""
        customer_id = self._customer_id(ctx, record, label)
        reference = ctx.clients.reference
        company_settings = reference.company_settings()
        try:
            terms_id: str | None = choose_terms_of_payment(
                record["payment_term_days"], reference.terms_of_payments(), ""
            )
        except ValueError:
            terms_id = None  # the customer's terms; the due date is sent explicitly
        foreign = record["currency_code"] not in (None, company_settings.get("CurrencyCode"))
        rows = [
            severa_invoice_row_to_record(row)
            for row in ctx.clients.severa.list_invoice_rows(record["guid"])
        ]
        if not rows:
            raise MappingError(label, "the invoice has no rows; add rows in Severa")
        lines: list[DraftLine] = []
        for row in rows:
            lines.extend(self._lines(ctx, record, row, label, foreign=foreign))
        return record_to_eekonomi_draft(
            record, lines, customer_id=customer_id, terms_of_payment_id=terms_id or None
        )

    def _customer_id(self, ctx: SyncContext, record: InvoiceRecord, label: str) -> str:
        """The eEkonomi customer, transferred first when not linked, and brought up to
        date at most every ``CUSTOMER_FRESH_SECONDS`` (the draft copies its address)."""
        number = record["customer_number"]
        binding = ctx.binder("customers").get(number)
        fresh = key(ctx.connection_id, "fresh", "customers", number)
        if (
            binding is None
            or not binding.eekonomi_id
            or ctx.redis.set(fresh, "1", nx=True, ex=CUSTOMER_FRESH_SECONDS)
        ):
            customers = Customers()
            try:
                customers.settle(ctx, number, customers.fetch(ctx, number))
            except (MappingError, RecordError) as exc:
                ctx.redis.delete(fresh)
                raise MappingError(
                    label, f"its customer {number} cannot be transferred: {_reason(exc)}"
                ) from exc
            binding = ctx.binder("customers").get(number)
        if binding is None or not binding.eekonomi_id:
            raise MappingError(
                label,
                f"its customer {number} is neither in Severa nor in eEkonomi any more; "
                "restore the customer or move the invoice to another customer",
            )
        return binding.eekonomi_id

    def _lines(
        self,
        ctx: SyncContext,
        record: InvoiceRecord,
        row: InvoiceRowRecord,
        label: str,
        *,
        foreign: bool,
    ) -> list[DraftLine]:
        """One Severa row → one draft row (or one per project, see quantities_by_project)."""
        codes = row["codes"]
        projects = list(record["project_numbers"].values())
        items: list[Mapping[str, Any]] = []
        if (not codes or len(set(projects)) > 1) and row["row_type"] != "FlatRate":
            items = self._source_items(ctx, row)
            codes = codes or [c for c in (source_item_code(i) for i in items) if c]
        article_id = self._article_id(ctx, codes, label)
        if len(set(projects)) > 1:
            split = quantities_by_project(row, items, record["project_numbers"]) or [
                (projects[0], row["quantity"])
            ]
        elif projects:
            split = [(projects[0], row["quantity"])]
        else:
            split = [("", row["quantity"])]
        unit_abbreviation, unit_name = self._unit(ctx, row["unit"])
        slot = self._cost_center_slot(ctx)
        return [
            DraftLine(
                article_id=article_id,
                text=row["description"],
                quantity=round_quantity(quantity),
                unit_price=round_price(row["unit_price"], foreign=foreign),
                unit_abbreviation=unit_abbreviation,
                unit_name=unit_name,
                cost_center_slot=slot if project else None,
                cost_center_item_id=self._cost_center_item(ctx, project, label)
                if project
                else None,
            )
            for project, quantity in split
        ]

    def _source_items(self, ctx: SyncContext, row: InvoiceRowRecord) -> list[Mapping[str, Any]]:
        """The work hours, fees or travel expenses grouped into a row (severa-notes §6.15)."""
        severa = ctx.clients.severa
        listing = {
            "Hours": severa.list_invoice_row_work_hours,
            "ProjectFees": severa.list_invoice_row_project_fees,
            "TravelExpenses": severa.list_invoice_row_travel_expenses,
        }.get(row["row_type"])
        return list(listing(row["guid"])) if listing else []

    def _article_id(self, ctx: SyncContext, codes: list[str], label: str) -> str:
        """The first code that is an eEkonomi article (R-1.8), else the default (R-3.4)."""
        for code in codes:
            found = self._article_by_number(ctx, code)
            if found:
                return found
        default = str(ctx.values["default_article_number"])
        found = self._article_by_number(ctx, default)
        if not found:
            shown = ", ".join(codes) or "no code"
            raise MappingError(
                label,
                f"a row has {shown} and the default article number {default!r} is not an "
                "article in eEkonomi; choose an existing one with `settings set "
                "default_article_number=…` (R-3.4)",
            )
        return found

    def _article_by_number(self, ctx: SyncContext, number: str) -> str | None:
        """Bindings and indexes of the products register first (no request), then one
        look-up in eEkonomi, remembered (articles cannot be deleted there)."""
        natural_key = article_number_key(number)
        binding = ctx.binder("products").get(natural_key)
        if binding is not None and binding.eekonomi_id:
            return binding.eekonomi_id
        known = ctx.index("products", EEKONOMI).get(natural_key)
        if known:
            return known
        cache = key(ctx.connection_id, "index", NAME, "articles")
        cached = ctx.redis.hget(cache, natural_key)
        if cached:
            return str(cached)
        article = ctx.clients.eekonomi.find_article_by_number(number)
        if article is None:
            return None
        ctx.redis.hset(cache, natural_key, str(article["Id"]))
        return str(article["Id"])

    def _cost_center_item(self, ctx: SyncContext, project_number: str, label: str) -> str:
        """The project's cost-center item (R-5.4), transferring the project first."""
        natural_key = short_code_key(project_number)
        binding = ctx.binder("projects").get(natural_key)
        if binding is None or not binding.eekonomi_id:
            projects = Projects()
            try:
                projects.settle(ctx, natural_key, projects.fetch(ctx, natural_key))
            except (MappingError, RecordError) as exc:
                raise MappingError(
                    label,
                    f"its project {project_number} cannot become a cost-center item: "
                    f"{_reason(exc)}",
                ) from exc
            binding = ctx.binder("projects").get(natural_key)
        if binding is None or not binding.eekonomi_id:
            raise MappingError(
                label, f"its project {project_number} was not found in Severa (R-5.4)"
            )
        if not self._item_active(ctx, binding.eekonomi_id):
            raise MappingError(
                label,
                f"the cost-center item of project {project_number} is inactive in eEkonomi "
                "(the project is closed in Severa), and eEkonomi refuses rows on inactive "
                "items; reopen the project in Severa (or activate the item in eEkonomi) "
                "until the invoice is transferred",
            )
        return binding.eekonomi_id

    def _item_active(self, ctx: SyncContext, item_id: str) -> bool:
        """Whether the item is active, from the cached cost centers — re-read once when
        the cache says inactive (it may predate the project's reopening). Checked here
        so a closed project fails the invoice without a draft request on every run."""
        reference = ctx.clients.reference
        if _item_state(reference.cost_centers(), item_id) is not False:
            return True  # active, or not cached yet (a new item): eEkonomi decides
        reference.cache.forget("eekonomi:costcenters")
        return _item_state(reference.cost_centers(), item_id) is not False

    def _cost_center_slot(self, ctx: SyncContext) -> int:
        """``CostCenterItemId<N>``: N is the chosen cost center's number (1–3)."""
        wanted = str(ctx.values["cost_center_id"])
        for center in ctx.clients.reference.cost_centers():
            if str(center.get("Id")) == wanted:
                number = center.get("Number")
                if isinstance(number, int) and 1 <= number <= 3:
                    return number
                raise MappingError(
                    "the projects cost center",
                    f"its number is {number!r}; eEkonomi rows hold cost centers 1–3",
                )
        raise MappingError(
            "the projects cost center",
            f"eEkonomi has no cost center {wanted}; choose one with `settings set "
            "cost_center_id=…` (R-3.3)",
        )

    def _unit(self, ctx: SyncContext, unit: str | None) -> tuple[str | None, str | None]:
        """The row's unit as an eEkonomi unit when one matches, else the article's."""
        if not unit:
            return None, None
        wanted = swedish_unit(unit)
        for candidate in ctx.clients.reference.units():
            names = {
                str(candidate.get(k) or "").casefold()
                for k in ("Abbreviation", "Code", "AbbreviationEnglish")
            }
            if wanted in names:
                return candidate.get("Abbreviation"), candidate.get("Name")
        return None, None


def _item_state(centers: Iterable[Mapping[str, Any]], item_id: str) -> bool | None:
    for center in centers:
        for item in center.get("Items") or []:
            if str(item.get("Id")) == item_id:
                return bool(item.get("IsActive", True))
    return None


def _status_of(invoice: Mapping[str, Any]) -> str:
    return str((invoice.get("status") or {}).get("guid") or "")


def _reason(exc: Exception) -> str:
    """A dependency's failure as the invoice's reason (an API error's text already
    names the vendor's message, field and ErrorId)."""
    return exc.reason if isinstance(exc, MappingError) else str(exc)
