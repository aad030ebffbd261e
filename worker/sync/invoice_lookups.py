"""What an invoice's rows need from the other registers — each code's article and each
project's cost-center item (R-1.8, R-5.4) — looked up once per invoice, not per row.

Every row names an article code and lies on a project, and most rows of an invoice
share them. Looked up row by row they were two Redis round trips per row — for 1–20
rows the largest part of the worker's time per invoice (bench/README.md, issue 20). So
:class:`RowLookups` reads the links of every code the rows carry and of every project of
the invoice at once, in one round trip (bindings, the products' key index and the
articles found before), and keeps what it resolved for the invoice's other rows; the
cost-center item's state and the row's unit are likewise worked out once per item and
unit. What is not known yet (a code only a row's source items carry, an article or
project not linked) is looked up and transferred as before, code by code, in row order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from schemas.base import MappingError
from schemas.invoice_rows import (
    InvoiceRowRecord,
    cost_center_item_state,
    cost_center_slot,
    draft_row_unit,
)
from schemas.products import article_number_key
from schemas.projects import short_code_key
from schemas.sides import Side
from worker.errors import RecordError
from worker.keys import key
from worker.sync.engine import SyncContext
from worker.sync.invoice_links import INVOICES
from worker.sync.products import PRODUCTS, Products
from worker.sync.projects import NAME as PROJECTS
from worker.sync.projects import Projects

__all__ = ["RowLookups", "articles_key", "reason_of"]


def articles_key(ctx: SyncContext) -> str:
    """Article number key → eEkonomi article id of articles found in eEkonomi but not in
    Severa (no binding): remembered, since articles cannot be deleted there."""
    return key(ctx.connection_id, "index", INVOICES, "articles")


class RowLookups:
    """The articles, cost-center items, units and cost-center slot of one invoice's rows.

    Built by :meth:`read` before the rows are mapped; each method answers from what was
    read in that one round trip when it can, else looks up (and transfers) as a row by
    itself would, and remembers the answer for the invoice's other rows.
    """

    def __init__(
        self,
        ctx: SyncContext,
        label: str,
        articles: Mapping[str, Sequence[Any]],
        items: Mapping[str, Any],
    ) -> None:
        self.ctx = ctx
        self.label = label
        #: Article number → (binding, key index, articles found) as read, not parsed yet.
        self._read_articles = dict(articles)
        #: Project number → its binding as read, not parsed yet.
        self._read_items = dict(items)
        #: Article number → eEkonomi article id (``None``: no system has it).
        self._articles: dict[str, str | None] = {}
        #: Project number → its cost-center item id, once checked active.
        self._items: dict[str, str] = {}
        self._units: dict[str, tuple[str | None, str | None]] = {}
        self._slot: int | None = None
        #: The products' binder, for parsing the bindings read (one per invoice).
        self._products = ctx.binder(PRODUCTS)

    @classmethod
    def read(
        cls,
        ctx: SyncContext,
        label: str,
        rows: Sequence[InvoiceRowRecord],
        project_numbers: Iterable[str],
        default_article_number: str,
    ) -> RowLookups:
        """The links of the rows' own codes (the default article's too, when a row has
        none) and of the invoice's projects, in one round trip. Each is parsed only when
        a row uses it, as a row by itself would read it."""
        numbers = list(dict.fromkeys(code for row in rows for code in row["codes"]))
        if any(not row["codes"] for row in rows):
            numbers.append(default_article_number)
        article_keys = [article_number_key(number) for number in numbers]
        projects = list(dict.fromkeys(number for number in project_numbers if number))
        project_keys = [short_code_key(number) for number in projects]
        if not article_keys and not project_keys:
            return cls(ctx, label, {}, {})
        pipe = ctx.redis.pipeline(transaction=False)
        if article_keys:
            pipe.hmget(ctx.binder(PRODUCTS).bindings_key, article_keys)
            pipe.hmget(ctx.index(PRODUCTS, Side.EEKONOMI).key, article_keys)
            pipe.hmget(articles_key(ctx), article_keys)
        if project_keys:
            pipe.hmget(ctx.binder(PROJECTS).bindings_key, project_keys)
        replies = pipe.execute()
        articles = (
            dict(zip(numbers, zip(*replies[:3], strict=True), strict=True)) if numbers else {}
        )
        items = dict(zip(projects, replies[-1], strict=True)) if projects else {}
        return cls(ctx, label, articles, items)

    # -- articles (R-1.8) ----------------------------------------------------------------

    def article_id(self, number: str) -> str | None:
        """The eEkonomi article of an article number (a row's code), transferring the
        Severa item of that code first when it is not linked (:meth:`_article`)."""
        if number not in self._articles:
            self._articles[number] = self._known_article(number) or self._article(number)
        return self._articles[number]

    def _known_article(self, number: str) -> str | None:
        """The article as read in :meth:`read`: the binding's, the key index's, or the
        one found before (``None``: not read, or not known then)."""
        read = self._read_articles.get(number)
        if read is None:
            return None
        raw, indexed, found = read
        binding = self._products.parse(raw, article_number_key(number))
        article = (binding.eekonomi_id if binding is not None else "") or indexed or found
        return str(article) if article else None

    def _article(self, number: str) -> str | None:
        """Bindings and indexes of the products register first (no request); else the
        product, work type or travel-expense type of that code is transferred now — as
        an invoice's customer and projects are — and its article used (R-1.8). An
        article already in eEkonomi but not linked is found by that transfer too, and
        remembered (articles cannot be deleted there). ``None``: no system has it.

        Raises:
            MappingError: the Severa item cannot become an article (its reason).
        """
        ctx = self.ctx
        natural_key = article_number_key(number)
        binding = ctx.binder(PRODUCTS).get(natural_key)
        if binding is not None and binding.eekonomi_id:
            return binding.eekonomi_id
        known = ctx.index(PRODUCTS, Side.EEKONOMI).get(natural_key)
        if known:
            return known
        cached = ctx.redis.hget(articles_key(ctx), natural_key)
        if cached:
            return str(cached)
        products = Products()
        staged = products.fetch(ctx, natural_key)
        if staged.severa is not None:
            try:
                products.settle(ctx, natural_key, staged)
            except RecordError as exc:
                raise MappingError(
                    self.label,
                    f"its row's code {number} cannot become an article: {reason_of(exc)}",
                ) from exc
            binding = ctx.binder(PRODUCTS).get(natural_key)
            return binding.eekonomi_id if binding is not None and binding.eekonomi_id else None
        if staged.eekonomi is None:
            return None
        ctx.redis.hset(articles_key(ctx), natural_key, str(staged.eekonomi["Id"]))
        return str(staged.eekonomi["Id"])

    # -- cost-center items (R-5.4) -------------------------------------------------------

    def cost_center_item(self, project_number: str) -> str:
        """The project's cost-center item, transferring the project first when it is not
        linked.

        Raises:
            MappingError: the project cannot be transferred, is gone, or its item is
                inactive.
        """
        item = self._items.get(project_number)
        if item is None:
            item = self._items[project_number] = self._active_item(project_number)
        return item

    def _active_item(self, project_number: str) -> str:
        ctx = self.ctx
        natural_key = short_code_key(project_number)
        if project_number in self._read_items:
            binding = ctx.binder(PROJECTS).parse(self._read_items[project_number], natural_key)
        else:
            binding = ctx.binder(PROJECTS).get(natural_key)
        if binding is None or not binding.eekonomi_id:
            projects = Projects()
            try:
                projects.settle(ctx, natural_key, projects.fetch(ctx, natural_key))
            except RecordError as exc:
                raise MappingError(
                    self.label,
                    f"its project {project_number} cannot become a cost-center item: "
                    f"{reason_of(exc)}",
                ) from exc
            binding = ctx.binder(PROJECTS).get(natural_key)
        if binding is None or not binding.eekonomi_id:
            raise MappingError(
                self.label, f"its project {project_number} was not found in Severa (R-5.4)"
            )
        if not self._item_active(binding.eekonomi_id):
            raise MappingError(
                self.label,
                f"the cost-center item of project {project_number} is inactive in eEkonomi "
                "(the project is closed in Severa), and eEkonomi refuses rows on inactive "
                "items; reopen the project in Severa (or activate the item in eEkonomi) "
                "until the invoice is transferred",
            )
        return binding.eekonomi_id

    def _item_active(self, item_id: str) -> bool:
        """Whether the item is active, from the cached cost centers — re-read once when
        the cache says inactive (it may predate the project's reopening). Checked here
        so a closed project fails the invoice without a draft request on every run."""
        reference = self.ctx.clients.reference
        if cost_center_item_state(reference.cost_centers(), item_id) is not False:
            return True  # active, or not cached yet (a new item): eEkonomi decides
        reference.cache.forget("eekonomi:costcenters")
        return cost_center_item_state(reference.cost_centers(), item_id) is not False

    # -- reference lists -----------------------------------------------------------------

    def slot(self) -> int:
        """The ``N`` of ``CostCenterItemId<N>`` the rows' projects go in (R-3.3).

        Raises:
            MappingError: the chosen cost center is gone, or its number is not 1–3.
        """
        if self._slot is None:
            self._slot = cost_center_slot(
                self.ctx.clients.reference.cost_centers(), str(self.ctx.values["cost_center_id"])
            )
        return self._slot

    def unit(self, name: str | None) -> tuple[str | None, str | None]:
        """The row's unit as an eEkonomi unit (:func:`draft_row_unit`); the units list is
        consulted only for a row that names a unit."""
        if not name:
            return None, None
        if name not in self._units:
            self._units[name] = draft_row_unit(name, self.ctx.clients.reference.units())
        return self._units[name]


def reason_of(exc: Exception) -> str:
    """A dependency's failure as the invoice's reason (an API error's text already
    names the vendor's message, field and ErrorId)."""
    return exc.reason if isinstance(exc, MappingError) else str(exc)
