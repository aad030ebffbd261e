"""Products (R-5.2): Severa products, work types, travel-expense types ⇄ eEkonomi articles.

Three Severa registers feed one eEkonomi register; the way back always lands in
Severa's *product* register (R-1.2). Each Severa register has its own schema because
the three carry different fields (only products have a price and a unit; work types
have neither; travel-expense types have a class and a reimbursement rate, not a sales
price). All load into :class:`~schemas.records.ProductRecord`.

Decisions on rules the spec leaves open:

* Units: work types → ``tim``, mileage → ``km``, daily allowance → ``st``, other
  expenses → ``st``, whatever Severa's own unit text says (the spec gives these as the
  defaults and Severa's travel units are free text). Products → Severa's unit when it
  names a known unit (``h``/``timme`` → ``tim``, ``pcs``/``kpl`` → ``st``, ``day`` →
  ``dag``, ``km``) or an eEkonomi unit by name, else ``st``.
* Travel-expense kind: Severa's ``expenseClass`` (``Mileage``/``DailyAllowance``/
  ``OtherTravelExpense``), else its ``isMileage``/``isDailyAllowance`` flags, else other.
* Prices: work types and travel-expense types carry no sales price in Severa (price
  lists do), so their articles are sent without prices. A product's gross price is
  its net price × (1 + Severa ``vatRate``/100), rounded half-up to cents.
* Article number: the Severa code with outer spaces removed; must be non-empty and at
  most 40 characters. :func:`article_number_key` compares numbers without regard to
  case and spacing for the engine's collision check (R-2.3).
* Coding (R-5.2, "förvalt"): an article from Severa gets the coding whose VAT rate is
  the Severa item's (:func:`choose_article_coding`) — "Tjänster 25% moms" when the rate
  is unknown (work types carry none) or no coding has it. An update never changes the
  coding of an existing article: a person may have chosen another (:mod:`schemas.product_codings`).
* Into Severa no product ``type`` is set (Severa's default applies): eEkonomi's
  goods/service distinction lives on the coding and has no agreed Severa counterpart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, cast

from marshmallow import ValidationError, fields, post_dump, post_load, validate

from schemas.base import (
    CheckedBody,
    EEkonomiSchema,
    MappingError,
    Money,
    Percent,
    SeveraSchema,
    check_body,
    clean_text,
    gross_from_net,
    json_number,
    load_answer,
    mapping_error,
    max_length,
    net_from_gross,
    required_messages,
    shared,
    swedish_unit,
    to_decimal,
)
from schemas.product_codings import ARTICLE_KEPT_ON_UPDATE as ARTICLE_KEPT_ON_UPDATE
from schemas.product_codings import article_for_update as article_for_update
from schemas.product_codings import choose_article_coding as choose_article_coding
from schemas.product_codings import coding_vat_percent
from schemas.product_codings import find_services_coding as find_services_coding
from schemas.records import ProductKind, ProductRecord

__all__ = [
    "SEVERA_REGISTER_NAMES",
    "SEVERA_UPDATABLE",
    "EEkonomiArticle",
    "SeveraRegister",
    "SeveraProduct",
    "SeveraTravelExpenseType",
    "SeveraWorkType",
    "article_for_update",
    "article_number_key",
    "choose_article_coding",
    "default_unit",
    "eekonomi_article_body",
    "eekonomi_article_to_record",
    "find_services_coding",
    "price_currency",
    "product_label",
    "record_to_eekonomi_article",
    "record_to_severa_product",
    "record_to_severa_update",
    "resolve_unit_id",
    "severa_item_to_record",
    "severa_product_to_record",
    "severa_travel_expense_type_to_record",
    "severa_work_type_to_record",
    "travel_expense_kind",
]

#: R-5.2 unit defaults per kind of Severa record (eEkonomi's Swedish abbreviations).
DEFAULT_UNITS: dict[ProductKind, str] = {
    "work_type": "tim",
    "mileage": "km",
    "daily_allowance": "st",
    "other_expense": "st",
    "product": "st",
}

_KIND_NAMES: dict[ProductKind, str] = {
    "product": "product",
    "work_type": "work type",
    "mileage": "travel-expense type",
    "daily_allowance": "travel-expense type",
    "other_expense": "travel-expense type",
}

#: The Severa register a record lives in (R-1.2): what a binding remembers, so that an
#: update from eEkonomi goes to the right one.
SeveraRegister = Literal["product", "work_type", "travel_expense_type"]

SEVERA_REGISTER_NAMES: dict[SeveraRegister, str] = {
    "product": "product",
    "work_type": "work type",
    "travel_expense_type": "travel-expense type",
}

#: R-1.2: the fields an update from eEkonomi (the master) may change on the Severa
#: record, per register (ProductInputModel keys, also the JSON Patch paths). Only
#: products carry a sales price; work types and travel-expense types are priced in
#: price lists, so only their name and active flag follow the article. The code never
#: changes: it is the article number both systems match on (R-2.3).
SEVERA_UPDATABLE: dict[SeveraRegister, tuple[str, ...]] = {
    "product": ("name", "isActive", "unitPrice"),
    "work_type": ("name", "isActive"),
    "travel_expense_type": ("name", "isActive"),
}

#: The currency of a price written to Severa when eEkonomi names none (a Swedish company).
DEFAULT_CURRENCY = "SEK"

# -- named rules ----------------------------------------------------------------------


def default_unit(kind: ProductKind) -> str:
    """R-5.2: the eEkonomi unit a kind of Severa record gets by default."""
    return DEFAULT_UNITS[kind]


def travel_expense_kind(
    expense_class: str | None, is_mileage: bool | None, is_daily_allowance: bool | None
) -> ProductKind:
    """Mileage, daily allowance or other expense, from what Severa's type says.

    ``expenseClass`` is required when Severa creates a type, so it decides; the derived
    ``isMileage``/``isDailyAllowance`` flags are the fallback for older records.
    """
    if expense_class == "Mileage":
        return "mileage"
    if expense_class == "DailyAllowance":
        return "daily_allowance"
    if expense_class == "OtherTravelExpense":
        return "other_expense"
    if is_mileage:
        return "mileage"
    if is_daily_allowance:
        return "daily_allowance"
    return "other_expense"


def article_number_key(number: str) -> str:
    """An article number as compared for collisions (R-2.3): case and spacing ignored.

    ``" wt-01 "``, ``"WT-01"`` and ``"Wt-01"`` are the same key; the engine uses it to
    find an unrelated eEkonomi article that a Severa code would collide with.
    """
    return " ".join(number.split()).casefold()


def product_label(kind: ProductKind, number: Any, name: Any) -> str:
    """How a person finds the record: ``work type 'KONS' 'Konsultation'``."""
    text = clean_text(number)
    shown = f"'{text}'" if text is not None else "(no code)"
    return f"{_KIND_NAMES[kind]} {shown} '{name or ''}'"


def price_currency(company_currency: str | None) -> str:
    """The currency of a product price written to Severa: the eEkonomi company's, in
    which the article's prices are kept (``unitPrice`` must name one)."""
    return clean_text(company_currency) or DEFAULT_CURRENCY


def with_prices(
    net: Decimal | None, gross: Decimal | None, vat_rate: Decimal | None
) -> tuple[Decimal | None, Decimal | None]:
    """R-5.2: fill the missing one of net/gross from the VAT rate, half-up to cents."""
    if vat_rate is not None:
        if net is not None and gross is None:
            gross = gross_from_net(net, vat_rate)
        elif gross is not None and not net:
            net = net_from_gross(gross, vat_rate)
    return net, gross


def resolve_unit_id(unit: str, units: Sequence[Mapping[str, Any]], *, fallback: str | None) -> str:
    """eEkonomi ``UnitId`` for a Swedish unit abbreviation, from ``GET /units``.

    A unit matches when its ``Abbreviation``, ``Code``, ``Name`` or
    ``AbbreviationEnglish`` means ``unit`` (``"Timme"`` and ``"tim"`` both mean
    ``tim``). ``fallback`` (``st`` for products) is tried when nothing matches.
    Raises ``ValueError`` with the fix when neither exists.
    """
    for wanted in (unit, fallback):
        if wanted is None:
            continue
        for candidate in units:
            names = (
                candidate.get(k) for k in ("Abbreviation", "Code", "Name", "AbbreviationEnglish")
            )
            if any(swedish_unit(n, default="") == wanted for n in names if n) and candidate.get(
                "Id"
            ):
                return str(candidate["Id"])
    raise ValueError(f"eEkonomi has no unit '{unit}'; add it under Register → Units in eEkonomi")


# -- Severa ---------------------------------------------------------------------------

_CODE_MISSING = (
    "is empty; give it a unique code in Severa: it becomes the eEkonomi article number (R-2.3)"
)


class _SeveraCodedItem(SeveraSchema):
    """What products, work types and travel-expense types share: code, name, active."""

    number = fields.String(  # article number = the Severa code (required, R-2.3)
        data_key="code",
        required=True,
        validate=validate.Regexp(r"\s*\S", error=_CODE_MISSING),
        error_messages=required_messages(_CODE_MISSING),
    )
    name = fields.String(
        required=True,
        validate=validate.Regexp(r"\s*\S", error="is empty; name it in Severa"),
        error_messages=required_messages("is empty; name it in Severa"),
    )
    is_active = fields.Boolean(data_key="isActive", allow_none=True, load_default=True)

    def _record(self, data: Mapping[str, Any], kind: ProductKind, **rest: Any) -> dict[str, Any]:
        record: ProductRecord = {
            "kind": kind,
            "number": data["number"].strip(),
            "name": " ".join(data["name"].split()),
            "is_active": data.get("is_active") is not False,  # Severa: null = default (active)
            "unit": rest.get("unit", default_unit(kind)),
            "net_price": rest.get("net_price"),
            "gross_price": rest.get("gross_price"),
            "vat_rate": rest.get("vat_rate"),
        }
        return cast(dict[str, Any], record)


class SeveraProduct(_SeveraCodedItem):
    """ProductOutputModel (load) / ProductInputModel (dump) ⇄ :class:`ProductRecord`."""

    unit = fields.String(data_key="measurementUnit", allow_none=True)  # or `st`
    net_price = fields.Method(
        "dump_unit_price", "load_amount", data_key="unitPrice", allow_none=True
    )
    vat_rate = Percent(data_key="vatRate")  # gross price comes from it

    def load_amount(self, value: Mapping[str, Any]) -> Decimal | None:
        try:
            return to_decimal(value.get("amount"))
        except ArithmeticError as error:
            raise ValidationError(f"unit price {value.get('amount')!r} is not a number") from error

    def dump_unit_price(self, obj: Mapping[str, Any]) -> dict[str, Any] | None:
        net = obj.get("net_price")
        if net is None:
            return None
        amount = Decimal(net).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return {"amount": json_number(amount), "currencyCode": obj["currency_code"]}

    @post_load
    def complete_record(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """R-5.2: a better unit than ``st`` when Severa names one; gross from VAT."""
        net, gross = with_prices(data.get("net_price"), None, data.get("vat_rate"))
        return self._record(
            data,
            "product",
            unit=swedish_unit(data.get("unit"), default=default_unit("product")),
            net_price=net,
            gross_price=gross,
            vat_rate=data.get("vat_rate"),
        )

    @post_dump
    def omit_unset_price(self, payload: dict[str, Any], **_: Any) -> dict[str, Any]:
        if payload.get("unitPrice") is None:
            payload.pop("unitPrice", None)
        return payload


class SeveraWorkType(_SeveraCodedItem):
    """WorkTypeOutputModel → :class:`ProductRecord` (load only: R-1.2 writes products).

    A work type has no unit, price or VAT in Severa; hours are priced in price lists.
    """

    @post_load
    def complete_record(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return self._record(data, "work_type")  # unit `tim`


class SeveraTravelExpenseType(_SeveraCodedItem):
    """TravelExpenseTypeOutputModel → :class:`ProductRecord` (load only).

    ``unitCost`` is what the employee is reimbursed, not a sales price, so it is not
    the article's price.
    """

    expense_class = fields.String(data_key="expenseClass", allow_none=True)
    is_mileage = fields.Boolean(data_key="isMileage", allow_none=True)
    is_daily_allowance = fields.Boolean(data_key="isDailyAllowance", allow_none=True)
    vat_rate = Percent(data_key="vatRate")

    @post_load
    def complete_record(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        kind = travel_expense_kind(  # mileage → km, allowance/other → st
            data.get("expense_class"), data.get("is_mileage"), data.get("is_daily_allowance")
        )
        return self._record(data, kind, vat_rate=data.get("vat_rate"))


# -- eEkonomi -------------------------------------------------------------------------

_PRICE_RANGE = validate.Range(
    min=0,
    max=99_000_000,
    error="price {input} is outside 0–99 000 000, what eEkonomi accepts; correct it in Severa",
)


class EEkonomiArticle(EEkonomiSchema):
    """eEkonomi ArticleApi ⇄ :class:`ProductRecord`, in the order of R-5.2.

    ``CodingId`` and ``UnitId`` are chosen when dumping (the caller's coding, see
    :func:`resolve_unit_id`); on load the unit comes from ``UnitAbbreviation``.
    """

    is_active = fields.Boolean(data_key="IsActive", required=True)
    number = fields.String(
        data_key="Number",
        required=True,
        validate=max_length(40, "Severa"),
        error_messages=required_messages("the article has no number (R-5.2)"),
    )
    name = fields.String(
        data_key="Name",
        required=True,
        validate=max_length(50, "Severa"),
        error_messages=required_messages("the article has no name (R-5.2)"),
    )
    coding_id = fields.String(  # by the item's VAT rate, else "services, 25% VAT"
        data_key="CodingId",
        required=True,
        error_messages=required_messages("no article account coding chosen"),
    )
    unit_id = fields.String(
        data_key="UnitId", required=True, error_messages=required_messages("no unit chosen")
    )
    unit = fields.String(data_key="UnitAbbreviation", allow_none=True, load_only=True)
    net_price = Money(data_key="NetPrice", validate=_PRICE_RANGE)
    gross_price = Money(data_key="GrossPrice", validate=_PRICE_RANGE)  # from VAT rate

    @post_dump
    def omit_unset_prices(self, payload: dict[str, Any], **_: Any) -> dict[str, Any]:
        """Work and travel types have no price in Severa: send none rather than 0."""
        for key in ("NetPrice", "GrossPrice"):
            if payload.get(key) is None:
                payload.pop(key, None)
        return payload


# -- the API the engine calls ---------------------------------------------------------

_RECORD_KEYS = tuple(ProductRecord.__annotations__)


def _as_record(data: Mapping[str, Any]) -> ProductRecord:
    return cast(ProductRecord, {key: data.get(key) for key in _RECORD_KEYS})


def _load(
    schema: SeveraSchema | EEkonomiSchema, payload: Mapping[str, Any], label: str
) -> dict[str, Any]:
    try:
        return cast(dict[str, Any], schema.load(payload))
    except ValidationError as error:
        raise mapping_error(label, error) from error


def severa_product_to_record(payload: Mapping[str, Any]) -> ProductRecord:
    """Severa product (ProductOutputModel) → record. Raises :class:`MappingError`."""
    label = product_label("product", payload.get("code"), payload.get("name"))
    return _as_record(_load(shared(SeveraProduct), payload, label))


def severa_work_type_to_record(payload: Mapping[str, Any]) -> ProductRecord:
    """Severa work type (WorkTypeOutputModel) → record. Raises :class:`MappingError`."""
    label = product_label("work_type", payload.get("code"), payload.get("name"))
    return _as_record(_load(shared(SeveraWorkType), payload, label))


def severa_travel_expense_type_to_record(payload: Mapping[str, Any]) -> ProductRecord:
    """Severa travel-expense type (TravelExpenseTypeOutputModel) → record."""
    label = product_label("other_expense", payload.get("code"), payload.get("name"))
    return _as_record(_load(shared(SeveraTravelExpenseType), payload, label))


def severa_item_to_record(
    register: SeveraRegister,
    payload: Mapping[str, Any],
    *,
    code_also_used_by: tuple[SeveraRegister, Any] | None = None,
) -> ProductRecord:
    """A record of any of Severa's three registers → record.

    Args:
        code_also_used_by: the register and name of another Severa record with the same
            code, when the synchronizer saw one.

    Raises:
        MappingError: the record cannot be mapped, or its code is not unique (R-2.3).
    """
    to_record = {
        "product": severa_product_to_record,
        "work_type": severa_work_type_to_record,
        "travel_expense_type": severa_travel_expense_type_to_record,
    }[register]
    record = to_record(payload)
    if code_also_used_by is not None:
        other_register, other_name = code_also_used_by
        # a code becomes one article number; two Severa records cannot share it.
        raise MappingError(
            product_label(record["kind"], record["number"], record["name"]),
            f"its code is also used by the {SEVERA_REGISTER_NAMES[other_register]} "
            f"'{other_name}'; codes become eEkonomi article numbers and must be unique "
            "across products, work types and travel-expense types (R-2.3): rename one of "
            "them in Severa",
        )
    return record


def record_to_eekonomi_article(
    record: ProductRecord,
    *,
    codings: Sequence[Mapping[str, Any]],
    units: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """Record → eEkonomi ArticleApi body (POST, or merged into the GET body for PUT).

    Args:
        codings: ``GET /articleaccountcodings`` items; the article gets the one of the
            record's VAT rate (R-5.2, :func:`choose_article_coding`).
        units: ``GET /units`` items; the record's unit must be among them (products
            fall back to ``st``).

    Raises:
        MappingError: no such unit, no single services coding, a number or name too
            long, a price out of range.
    """
    return eekonomi_article_body(record, codings=codings, units=units).payload


def eekonomi_article_body(
    record: ProductRecord,
    *,
    codings: Sequence[Mapping[str, Any]],
    units: Sequence[Mapping[str, Any]],
) -> CheckedBody:
    """:func:`record_to_eekonomi_article`, keeping what checking the body loaded: pass
    it as ``sent`` to :func:`eekonomi_article_to_record` with eEkonomi's answer."""
    label = product_label(record["kind"], record["number"], record["name"])
    fallback = default_unit("product") if record["kind"] == "product" else None
    try:
        coding_id = choose_article_coding(codings, record["vat_rate"])
        unit_id = resolve_unit_id(record["unit"], units, fallback=fallback)
    except ValueError as error:
        raise MappingError(label, str(error)) from error
    payload: dict[str, Any] = shared(EEkonomiArticle).dump(
        {**record, "coding_id": coding_id, "unit_id": unit_id}
    )
    return check_body(EEkonomiArticle, payload, label)


def eekonomi_article_to_record(
    payload: Mapping[str, Any],
    *,
    codings: Sequence[Mapping[str, Any]] | None = None,
    units: Sequence[Mapping[str, Any]] | None = None,
    sent: CheckedBody | None = None,
) -> ProductRecord:
    """eEkonomi article → record (kind ``product``: R-1.2 lands it in Severa's products).

    The VAT rate is the coding's ``VatRatePercent`` when ``codings`` is given, else it
    is derived from ``GrossPrice``/``NetPrice``. A missing net price is computed back
    from the gross price. The unit is ``UnitAbbreviation`` or, failing that, looked up
    by ``UnitId`` in ``units``. ``sent``: the body ``payload`` answers
    (:func:`eekonomi_article_body`), whose load is reused where the answer echoes it
    (:func:`~schemas.base.load_answer`); the record is the same.
    """
    label = product_label("product", payload.get("Number"), payload.get("Name"))
    try:
        data = load_answer(EEkonomiArticle, payload, sent)
    except ValidationError as error:
        raise mapping_error(label, error) from error
    vat_rate: Decimal | None = None
    for coding in codings or ():
        if coding.get("Id") == payload.get("CodingId"):
            vat_rate = coding_vat_percent(coding)
    net, gross = data.get("net_price"), data.get("gross_price")
    if vat_rate is None and net and gross:
        vat_rate = ((gross / net - 1) * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    net, gross = with_prices(net, gross, vat_rate)
    unit = clean_text(data.get("unit"))
    if unit is None:
        for candidate in units or ():
            if candidate.get("Id") == payload.get("UnitId"):
                unit = clean_text(candidate.get("Abbreviation"))
    record: ProductRecord = {
        "kind": "product",
        "number": data["number"].strip(),
        "name": " ".join(data["name"].split()),
        "is_active": data["is_active"],
        "unit": swedish_unit(unit, default=default_unit("product")),
        "net_price": net,
        "gross_price": gross,
        "vat_rate": vat_rate,
    }
    return record


def record_to_severa_product(
    record: ProductRecord, *, company_currency: str | None
) -> dict[str, Any]:
    """Record → Severa ProductInputModel body (POST /v1/products), always a product (R-1.2).

    Args:
        company_currency: the eEkonomi company's currency (:func:`price_currency`).
    """
    label = product_label("product", record["number"], record["name"])
    if not record["number"].strip():
        raise MappingError(label, "the article has no number; give it one in eEkonomi")
    currency = price_currency(company_currency)
    return cast(dict[str, Any], shared(SeveraProduct).dump({**record, "currency_code": currency}))


def record_to_severa_update(
    record: ProductRecord, register: SeveraRegister, *, company_currency: str | None
) -> dict[str, Any]:
    """Record → the fields of the Severa record in ``register`` an update may change
    (:data:`SEVERA_UPDATABLE`), as ProductInputModel keys."""
    body = record_to_severa_product(record, company_currency=company_currency)
    return {name: body[name] for name in SEVERA_UPDATABLE[register] if name in body}
