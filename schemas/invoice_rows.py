"""Invoice rows (R-5.4, R-1.8): a Severa invoice row → one eEkonomi draft row, or one per
project when the row's work belongs to several.

The synchronizer (:mod:`worker.sync.invoices`) resolves what a row needs from eEkonomi
and the other registers — the article of a code, the cost-center item of a project, the
units and cost centers lists — and passes them in; every decision on them is a named
function here, next to the row's fields:

* **Article** (R-1.8, R-3.4): the first of the row's codes that is an eEkonomi article
  (:func:`choose_article_id`); the caller transfers a Severa product, work type or
  travel-expense type of that code first when it has no article yet. Grouped rows carry
  their product / work-type codes; a row with none takes them from its source items
  (:func:`article_codes`). The default article is for a row with no code at all — a
  code that names nothing fails the row, never falls back silently. VAT follows the
  article, whatever the Severa row said (R-5.4).
* **Projects** (R-5.4): a row's cost-center item is the invoice's project; when the
  invoice spans several projects, the row's source items decide — a row whose items
  belong to several projects is split into one draft row per project (same price, each
  project's quantity) when the items' quantities add up to the row's, else it goes to
  the project with the largest quantity (:func:`split_by_project`).
* **Rounding** (eaccounting-notes §6.7): prices are rounded half-up to the decimals
  eEkonomi keeps — 2, or 4 when the invoice is in a currency other than the company's
  (:func:`is_foreign_currency`) — and quantities to 2; any difference that makes shows
  in the totals check.
* **Unit**: the row's unit as an eEkonomi unit when one matches, else none is sent and
  the article's unit applies (:func:`draft_row_unit`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypedDict

from marshmallow import ValidationError, fields, post_load

from schemas.base import (
    EEkonomiSchema,
    MappingError,
    SeveraSchema,
    clean_text,
    json_number,
    mapping_error,
    max_length,
    severa_amount,
    shared,
    swedish_unit,
    to_decimal,
)

__all__ = [
    "DraftLine",
    "EEkonomiDraftRow",
    "InvoiceRowRecord",
    "SeveraInvoiceRow",
    "article_codes",
    "choose_article_id",
    "cost_center_item_state",
    "cost_center_slot",
    "draft_line_payload",
    "draft_lines",
    "draft_row_unit",
    "is_foreign_currency",
    "needs_source_items",
    "quantities_by_project",
    "round_price",
    "round_quantity",
    "row_codes",
    "severa_invoice_row_to_record",
    "source_item_code",
    "split_by_project",
]

CENT = Decimal("0.01")
#: Decimals eEkonomi keeps on a price in a foreign currency (eaccounting-notes §6.7).
FOREIGN_PRICE = Decimal("0.0001")
#: Row types whose source items are not read: a fixed-price row has none to split by.
WITHOUT_SOURCE_ITEMS = frozenset({"FlatRate"})

# -- Severa → record --------------------------------------------------------------------


class InvoiceRowRecord(TypedDict):
    """One Severa invoice row (R-5.4)."""

    guid: str
    row_type: str
    codes: list[str]
    description: str | None
    quantity: Decimal
    unit: str | None
    unit_price: Decimal


class SeveraInvoiceRow(SeveraSchema):
    """InvoiceRowOutputModel → :class:`InvoiceRowRecord` (load only)."""

    guid = fields.String(required=True)
    row_type = fields.String(data_key="rowType", load_default="", allow_none=True)
    codes = fields.Raw(data_key="code", load_default=None, allow_none=True)
    description = fields.String(load_default=None, allow_none=True)
    quantity = fields.Raw(load_default=None, allow_none=True)
    unit = fields.String(data_key="measurementUnit", load_default=None, allow_none=True)
    unit_price = fields.Raw(data_key="unitPrice", load_default=None, allow_none=True)

    @post_load
    def to_record(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {
            "guid": data["guid"],
            "row_type": data["row_type"] or "",
            "codes": row_codes(data["codes"]),
            "description": clean_text(data["description"]),
            "quantity": to_decimal(data["quantity"]) or Decimal(0),
            "unit": clean_text(data["unit"]),
            "unit_price": severa_amount(data["unit_price"]) or Decimal(0),
        }


def severa_invoice_row_to_record(payload: Mapping[str, Any]) -> InvoiceRowRecord:
    """Severa invoice row (InvoiceRowOutputModel) → record. Raises :class:`MappingError`."""
    try:
        data: InvoiceRowRecord = shared(SeveraInvoiceRow).load(payload)
    except ValidationError as error:
        raise mapping_error(f"invoice row {payload.get('guid')}", error) from error
    return data


def row_codes(value: Any) -> list[str]:
    """A row's codes, distinct and in order (R-1.8: ``code`` is an array on grouped rows;
    a single string is accepted as one code)."""
    items = [value] if isinstance(value, str) else list(value or [])
    found: list[str] = []
    for item in items:
        text = clean_text(item)
        if text is not None and text not in found:
            found.append(text)
    return found


def source_item_code(item: Mapping[str, Any]) -> str | None:
    """The product / work-type / travel-expense-type code of a row's source item (R-1.8)."""
    for owner in ("product", "workType", "travelExpense"):
        sub = item.get(owner)
        if isinstance(sub, Mapping) and clean_text(sub.get("code")):
            return clean_text(sub.get("code"))
    return None


def quantities_by_project(
    row: InvoiceRowRecord,
    items: Sequence[Mapping[str, Any]],
    project_numbers: Mapping[str, str],
) -> list[tuple[str, Decimal]]:
    """R-5.4 for an invoice spanning projects: ``[(project number, quantity)]`` of a row.

    Items are grouped by project (``project.number``, else the invoice's own list by
    guid). One project → the whole row. Several → split by each project's quantity when
    they add up to the row's quantity, else the whole row to the largest one (a person
    edited the row's quantity after grouping; splitting then would invent numbers).
    """
    totals: dict[str, Decimal] = {}
    for item in items:
        project = item.get("project") or {}
        number = project.get("number")
        if number is None:
            number = project_numbers.get(str(project.get("guid") or ""))
        if number is None:
            continue
        quantity = item.get("invoiceQuantity")
        if quantity is None:
            quantity = item.get("quantity")
        totals[str(number)] = totals.get(str(number), Decimal(0)) + (
            to_decimal(quantity) or Decimal(0)
        )
    if not totals:
        return []
    if len(totals) == 1 or sum(totals.values(), Decimal(0)) != row["quantity"]:
        largest = max(totals, key=lambda n: (abs(totals[n]), n))
        return [(largest, row["quantity"])]
    return sorted(totals.items())


# -- rules: which article, which projects ------------------------------------------------


def needs_source_items(row: InvoiceRowRecord, project_numbers: Mapping[str, str]) -> bool:
    """Whether the row's source items (the hours, fees or travel expenses grouped into it)
    must be read: for its codes when it carries none (R-1.8), or for its projects when
    the invoice spans several (R-5.4). A fixed-price row has no items to read."""
    if row["row_type"] in WITHOUT_SOURCE_ITEMS:
        return False
    return not row["codes"] or len(set(project_numbers.values())) > 1


def article_codes(row: InvoiceRowRecord, items: Sequence[Mapping[str, Any]]) -> list[str]:
    """R-1.8: the codes that may name the row's article — its own, else its source items'."""
    if row["codes"]:
        return list(row["codes"])
    return [code for code in (source_item_code(item) for item in items) if code]


def choose_article_id(
    codes: Sequence[str],
    default_article_number: str,
    article_id_of: Callable[[str], str | None],
    label: str,
) -> str:
    """R-1.8, R-3.4: the article of a row — the first code that is an eEkonomi article;
    the default article only for a row with no code.

    ``article_id_of`` is the caller's look-up of an article number (binder, index, then
    eEkonomi — transferring the Severa item of that code first, R-1.2); it is called
    lazily, code by code, so a row whose first code is an article costs one look-up.

    Raises:
        MappingError: no code is an article (the codes name nothing either system has),
            or the row has no code and the default article number is not an article.
    """
    for code in codes:
        found = article_id_of(code)
        if found:
            return found
    if codes:
        raise MappingError(
            label,
            f"a row has {', '.join(codes)}, which is neither an eEkonomi article nor a "
            "Severa product, work type or travel-expense type; correct the row in Severa "
            "(the default article is only for rows with no code, R-3.4)",
        )
    found = article_id_of(default_article_number)
    if found:
        return found
    raise MappingError(
        label,
        f"a row has no code and the default article number {default_article_number!r} is "
        "not an article in eEkonomi; choose an existing one with `settings set "
        "default_article_number=…` (R-3.4)",
    )


def split_by_project(
    row: InvoiceRowRecord,
    items: Sequence[Mapping[str, Any]],
    project_numbers: Mapping[str, str],
) -> list[tuple[str, Decimal]]:
    """R-5.4: ``[(project number, quantity)]`` — the draft rows one Severa row becomes.

    One project on the invoice: the whole row on it. Several: split by the source items
    (:func:`quantities_by_project`), or the whole row on the invoice's first project when
    the items name none. No project: one row without a cost-center item (``""``).
    """
    projects = list(project_numbers.values())
    if len(set(projects)) > 1:
        return quantities_by_project(row, items, project_numbers) or [
            (projects[0], row["quantity"])
        ]
    return [(projects[0] if projects else "", row["quantity"])]


# -- rules: what eEkonomi keeps --------------------------------------------------------


def is_foreign_currency(invoice_currency: str | None, company_currency: str | None) -> bool:
    """Whether the invoice is in a currency other than the eEkonomi company's — its
    prices then keep 4 decimals instead of 2 (eaccounting-notes §6.7). An invoice
    without a currency is in the company's."""
    return invoice_currency not in (None, company_currency)


def round_price(price: Decimal, *, foreign: bool) -> Decimal:
    """eEkonomi keeps 2 decimals on a domestic price, 4 on a foreign one (§6.7)."""
    places = FOREIGN_PRICE if foreign else CENT
    return price.quantize(places, rounding=ROUND_HALF_UP)


def round_quantity(quantity: Decimal) -> Decimal:
    """Quantities keep 2 decimals in eEkonomi."""
    return quantity.quantize(CENT, rounding=ROUND_HALF_UP)


def draft_row_unit(
    unit: str | None, units: Sequence[Mapping[str, Any]]
) -> tuple[str | None, str | None]:
    """The row's unit as an eEkonomi unit (``UnitAbbreviation``, ``UnitName``) when one
    of ``units`` (``GET /units``) matches it, else ``(None, None)``: the article's unit
    applies — better than a unit eEkonomi would refuse."""
    if not unit:
        return None, None
    wanted = swedish_unit(unit)
    for candidate in units:
        names = {
            str(candidate.get(k) or "").casefold()
            for k in ("Abbreviation", "Code", "AbbreviationEnglish")
        }
        if wanted in names:
            return candidate.get("Abbreviation"), candidate.get("Name")
    return None, None


def cost_center_slot(cost_centers: Iterable[Mapping[str, Any]], cost_center_id: str) -> int:
    """R-5.4, R-3.3: the ``N`` of ``CostCenterItemId<N>`` a row's project goes in — the
    ``Number`` (1–3) of the cost center chosen for projects.

    Raises:
        MappingError: the chosen cost center is gone, or its number is not 1–3.
    """
    for center in cost_centers:
        if str(center.get("Id")) == cost_center_id:
            number = center.get("Number")
            if isinstance(number, int) and 1 <= number <= 3:
                return number
            raise MappingError(
                "the projects cost center",
                f"its number is {number!r}; eEkonomi rows hold cost centers 1–3",
            )
    raise MappingError(
        "the projects cost center",
        f"eEkonomi has no cost center {cost_center_id}; choose one with `settings set "
        "cost_center_id=…` (R-3.3)",
    )


def cost_center_item_state(cost_centers: Iterable[Mapping[str, Any]], item_id: str) -> bool | None:
    """Whether a cost-center item is active (``None``: not among ``cost_centers``).

    eEkonomi refuses draft rows on an inactive item — a project closed in Severa
    (R-5.3) — so the synchronizer fails the invoice before sending it.
    """
    for center in cost_centers:
        for item in center.get("Items") or []:
            if str(item.get("Id")) == item_id:
                return bool(item.get("IsActive", True))
    return None


# -- the draft rows --------------------------------------------------------------------


@dataclass(frozen=True)
class DraftLine:
    """A row resolved against eEkonomi: article, cost-center item and its slot (1–3)."""

    article_id: str
    text: str | None
    quantity: Decimal
    unit_price: Decimal
    unit_abbreviation: str | None
    unit_name: str | None
    cost_center_slot: int | None
    cost_center_item_id: str | None


class _Amount(fields.Decimal):
    """A rounded Decimal carried as the shortest JSON number (see ``schemas.base.Money``)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return None if value is None else json_number(Decimal(value))


class EEkonomiDraftRow(EEkonomiSchema):
    """CustomerInvoiceDraftRowApi of an article row."""

    article_id = fields.String(data_key="ArticleId", required=True)
    text = fields.String(data_key="Text", allow_none=True, validate=max_length(2000, "Severa"))
    quantity = _Amount(data_key="Quantity")
    unit_price = _Amount(data_key="UnitPrice")
    unit_abbreviation = fields.String(data_key="UnitAbbreviation", allow_none=True)
    unit_name = fields.String(data_key="UnitName", allow_none=True)
    is_text_row = fields.Boolean(data_key="IsTextRow")
    reversed = fields.Boolean(data_key="ReversedConstructionServicesVatFree")


def draft_line_payload(line: DraftLine) -> dict[str, Any]:
    """One resolved row → a CustomerInvoiceDraftRowApi article row."""
    row: dict[str, Any] = shared(EEkonomiDraftRow).dump(
        {
            "article_id": line.article_id,
            "text": line.text,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "unit_abbreviation": line.unit_abbreviation,
            "unit_name": line.unit_name,
            "is_text_row": False,
            "reversed": False,
        }
    )
    if line.cost_center_slot is not None:
        row[f"CostCenterItemId{line.cost_center_slot}"] = line.cost_center_item_id
    return row


def draft_lines(
    row: InvoiceRowRecord,
    split: Sequence[tuple[str, Decimal]],
    *,
    article_id: str,
    unit: tuple[str | None, str | None],
    slot: int,
    cost_center_items: Mapping[str, str],
    foreign: bool,
) -> list[DraftLine]:
    """One Severa row → its draft rows, one per ``(project, quantity)`` of ``split``
    (:func:`split_by_project`), rounded as eEkonomi keeps them.

    Args:
        article_id: :func:`choose_article_id`.
        unit: :func:`draft_row_unit`.
        slot: :func:`cost_center_slot`.
        cost_center_items: project number → its cost-center item id, for every project
            of ``split``.
        foreign: :func:`is_foreign_currency` of the invoice.
    """
    unit_abbreviation, unit_name = unit
    return [
        DraftLine(
            article_id=article_id,
            text=row["description"],
            quantity=round_quantity(quantity),
            unit_price=round_price(row["unit_price"], foreign=foreign),
            unit_abbreviation=unit_abbreviation,
            unit_name=unit_name,
            cost_center_slot=slot if project else None,
            cost_center_item_id=cost_center_items[project] if project else None,
        )
        for project, quantity in split
    ]
