"""What every register's mapping shares: schema bases, the Money field, the errors.

The vendors disagree on key style (Severa camelCase, eEkonomi PascalCase), on units
(Severa free text, eEkonomi a fixed Swedish list) and on how strict they are, so each
side gets one base schema and the canonical attribute names stay identical across both
(see :mod:`schemas.records`). Mapping functions raise :class:`MappingError`, the one
exception the engine needs to catch per record (R-4.3, R-6.2).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar, TypeVar, cast

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA

from schemas.errors import MappingError

__all__ = [
    "CheckedBody",
    "EEkonomiSchema",
    "MappingError",
    "Money",
    "Percent",
    "SeveraSchema",
    "check_body",
    "clean_text",
    "flatten_messages",
    "gross_from_net",
    "json_number",
    "limits",
    "load_answer",
    "mapping_error",
    "max_length",
    "net_from_gross",
    "raise_if_invalid",
    "required_messages",
    "severa_amount",
    "shared",
    "swedish_unit",
    "to_decimal",
]

CENT = Decimal("0.01")
S = TypeVar("S", bound=Schema)
_SHARED: dict[type[Schema], Schema] = {}


def shared(schema_class: type[S]) -> S:
    """The one instance of ``schema_class`` this process maps with.

    Building a schema deep-copies its declared fields (nested schemas included), which
    cost more than the load or dump itself — about 0.4 ms per schema, several per record,
    thousands of records per run. Our schemas keep no per-call state (no ``context``, no
    ``only``/``exclude``), so one instance serves every record.
    """
    instance = _SHARED.get(schema_class)
    if instance is None:
        instance = _SHARED[schema_class] = schema_class()
    return cast(S, instance)


_LIMITS: dict[type[Schema], Schema] = {}


def limits(schema_class: type[S]) -> S:
    """The one instance of ``schema_class`` that checks only its declared limits — the
    fields with a validator (``maxLength``, say) or ``required`` — for
    :func:`raise_if_invalid` (``only=``).

    A payload we dumped has the right types by construction; what the vendor would
    refuse is a text over its limit or a required key missing. Loading every field to
    find those cost more than the dump itself (an invoice's rows were checked row by
    row), so the check loads only those fields.
    """
    instance = _LIMITS.get(schema_class)
    if instance is None:
        declared = schema_class._declared_fields  # noqa: SLF001 - marshmallow's own field map
        names = [name for name, field in declared.items() if field.validators or field.required]
        instance = _LIMITS[schema_class] = schema_class(only=names)
    return cast(S, instance)


def _no_validators(value: Any) -> None:
    """A field without validators accepts every value it deserialized."""


class _BoundSchema(Schema):
    """A schema whose fields validate with validators combined once, when bound.

    marshmallow 4's ``Field._validate`` builds ``validate.And(*field.validators)`` anew for
    every value it loads — also for a field with no validators, which is most of ours —
    and that cost as much as deserializing the value (an invoice's rows, loaded field by
    field, thousands per run). The same ``And`` — or nothing, when there is nothing to
    check — is built here once per bound field: the same checks, the same messages.
    """

    def on_bind_field(self, field_name: str, field_obj: fields.Field[Any]) -> None:
        super().on_bind_field(field_name, field_obj)
        validators = tuple(field_obj.validators)
        combined = validate.And(*validators) if validators else _no_validators
        field_obj._validate = combined  # type: ignore[method-assign]  # noqa: SLF001


class SeveraSchema(_BoundSchema):
    """Severa JSON (camelCase). Unknown keys are dropped: Severa adds fields freely."""

    class Meta:
        unknown = EXCLUDE


class EEkonomiSchema(_BoundSchema):
    """eEkonomi JSON (PascalCase). Unknown keys are dropped on load.

    Dumps are checked against the same declared limits before they leave (see
    :func:`check_body`, :func:`raise_if_invalid`), because eEkonomi rejects a whole
    record for one field over its ``maxLength`` and we would rather say which one.
    """

    #: The ``post_load`` methods that treat each loaded key on its own (the value of a
    #: key out depends only on that key's value in), so that :func:`load_answer` may load
    #: a few fields of an answer and take the rest from the body sent. A ``post_load``
    #: not named here makes it load the whole answer.
    per_field_post_load: ClassVar[frozenset[str]] = frozenset()

    class Meta:
        unknown = EXCLUDE


class Money(fields.Decimal):
    """An amount: :class:`~decimal.Decimal` inside, a JSON number with ≤ 2 decimals outside.

    Loading goes through ``str`` (``12.1`` stays ``Decimal("12.1")``, never
    ``12.0999…``). Dumping rounds half-up to cents and then hands ``json`` the shortest
    carrier: an ``int`` for whole amounts (``1250``), otherwise a ``float`` whose
    ``repr`` is exactly the rounded decimal text (``12.5``). That holds because both
    APIs cap amounts far below 15 significant digits (eEkonomi: 99 000 000.00), so no
    arithmetic ever happens on the float: it only carries the digits to ``json.dumps``.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allow_none", True)
        super().__init__(places=2, rounding=ROUND_HALF_UP, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value is None:
            return None
        amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
        return json_number(amount)


class Percent(Money):
    """A VAT percentage (``25``, ``25.5``): Decimal inside, a JSON number outside.

    Same handling as :class:`Money`; a separate name so the schemas read as the spec.
    """


def json_number(amount: Decimal) -> int | float:
    """The JSON carrier of a rounded Decimal (see :class:`Money`)."""
    if amount == amount.to_integral_value():
        return int(amount)
    return float(amount)


def to_decimal(value: Any) -> Decimal | None:
    """A vendor number (int, float, str or Decimal) as Decimal, via ``str`` for floats."""
    if value is None or value == "":
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def severa_amount(value: Any) -> Decimal | None:
    """The amount of a Severa ``Money`` (``{amount, currencyCode, …}``) as Decimal; a bare
    number is accepted too."""
    if isinstance(value, Mapping):
        value = value.get("amount")
    return to_decimal(value)


def gross_from_net(net: Decimal, vat_rate: Decimal) -> Decimal:
    """Price incl. VAT from price excl. VAT and a VAT percentage (R-5.2).

    Rounded half-up to cents, as an invoice shows it: 100 at 25 % → 125.00, 99.99 at
    24 % → 123.99 (123.9876). eEkonomi accepts at most 2 decimals on article prices.
    """
    return (net * (1 + vat_rate / 100)).quantize(CENT, rounding=ROUND_HALF_UP)


def net_from_gross(gross: Decimal, vat_rate: Decimal) -> Decimal:
    """Price excl. VAT from a gross price: the reverse of :func:`gross_from_net`.

    Used when an eEkonomi article carries only ``GrossPrice``. Rounded half-up to cents.
    """
    return (gross / (1 + vat_rate / 100)).quantize(CENT, rounding=ROUND_HALF_UP)


def required_messages(message: str) -> dict[str, str | list[Any] | dict[Any, Any]]:
    """``error_messages`` for a starred R-5 field: the same actionable text when the
    key is absent or null (Severa sends ``null`` for an unset number)."""
    return {"required": message, "null": message}


def max_length(limit: int, where: str) -> validate.Length:
    """eEkonomi's ``maxLength``, failing with a reason instead of truncating.

    We never cut vendor text silently: a shortened address or name would be wrong on
    every invoice afterwards. ``where`` names the system to fix it in.
    """
    return validate.Length(
        max=limit,
        error=f"'{{input}}' is longer than {{max}} characters, the most eEkonomi accepts; "
        f"shorten it in {where}",
    )


def flatten_messages(messages: Any, prefix: str = "") -> list[str]:
    """Marshmallow's nested error dict as ``"Field: message"`` lines, in a stable order."""
    if isinstance(messages, Mapping):
        lines: list[str] = []
        for key in sorted(messages, key=str):
            name = "" if key == "_schema" else str(key)
            path = f"{prefix}.{name}" if prefix and name else (prefix or name)
            lines.extend(flatten_messages(messages[key], path))
        return lines
    if isinstance(messages, list | tuple):
        return [line for item in messages for line in flatten_messages(item, prefix)]
    return [f"{prefix}: {messages}" if prefix else str(messages)]


def mapping_error(record_label: str, error: ValidationError) -> MappingError:
    """One :class:`MappingError` carrying every field problem of a record at once."""
    return MappingError(record_label, "; ".join(flatten_messages(error.messages)))


def raise_if_invalid(schema: Schema, payload: Mapping[str, Any], record_label: str) -> None:
    """Check a dumped payload against the schema's own declared limits (max lengths,
    required keys) and fail with every reason at once."""
    errors = schema.validate(payload)
    if errors:
        raise MappingError(record_label, "; ".join(flatten_messages(errors)))


# -- a body sent, and eEkonomi's answer to it -------------------------------------------


@dataclass(frozen=True)
class CheckedBody:
    """An eEkonomi body we dumped and checked, with what loading it gave.

    Attributes:
        schema_class: the schema that dumped and loaded it.
        payload: the body, as it goes to eEkonomi.
        loaded: ``shared(schema_class).load(payload)`` — never changed afterwards.
    """

    schema_class: type[EEkonomiSchema]
    payload: dict[str, Any]
    loaded: Mapping[str, Any]


def check_body(
    schema_class: type[EEkonomiSchema], payload: dict[str, Any], record_label: str
) -> CheckedBody:
    """:func:`raise_if_invalid` that keeps what the check loaded.

    :meth:`Schema.validate` *is* a load without the ``post_load`` step (marshmallow runs
    ``_do_load`` for both, and a failing load raises the very messages ``validate``
    returns), so loading instead costs nothing more and fails with the same reasons. What
    it loaded is the record eEkonomi's answer maps to when the answer echoes the body
    (:func:`load_answer`): the created record's hash then needs no second full load.
    """
    try:
        loaded = shared(schema_class).load(payload)
    except ValidationError as error:
        raise MappingError(record_label, "; ".join(flatten_messages(error.messages))) from error
    return CheckedBody(schema_class, payload, loaded)


_ABSENT = object()


def _same(one: Any, other: Any) -> bool:
    """Whether two decoded JSON values are the same value *of the same type*, written
    the same: ``1``, ``1.0`` and ``True`` are not, nor ``0.0`` and ``-0.0`` (equal, but
    a Decimal field loads them as ``0.00`` and ``-0.00``, which hash differently)."""
    kind = type(one)
    if kind is not type(other):
        return False
    if kind is dict:
        return one.keys() == other.keys() and all(_same(v, other[k]) for k, v in one.items())
    if kind is list:
        return len(one) == len(other) and all(map(_same, one, other))
    if kind is float or kind is Decimal:
        return repr(one) == repr(other)
    return bool(one == other)


_SEPARABLE: dict[type[Schema], tuple[tuple[str, str], ...] | None] = {}
_PARTS: dict[tuple[type[Schema], frozenset[str]], Schema] = {}
#: Distinct sets of differing fields kept (each a schema instance); more load in full.
_MAX_PARTS = 64


def _load_keys(schema_class: type[EEkonomiSchema]) -> tuple[tuple[str, str], ...] | None:
    """(attribute, JSON key) of each loaded field when loading with ``schema_class`` is
    field by field, else ``None``.

    Field by field means: each loaded field's value depends on its own JSON key only
    (marshmallow's fields and ours deserialize the value alone), no hook sees the whole
    input (no ``pre_load``, ``validates`` or ``validates_schema``), every ``post_load``
    is declared :attr:`EEkonomiSchema.per_field_post_load`, unknown keys are dropped and
    each value lands under its own attribute name.
    """
    if schema_class not in _SEPARABLE:
        schema = shared(schema_class)
        hooks = schema._hooks  # noqa: SLF001 - marshmallow's own hook registry
        post_load = {name for name, _, _ in hooks[POST_LOAD]}
        separable = (
            not hooks[PRE_LOAD]
            and not hooks[VALIDATES]
            and not hooks[VALIDATES_SCHEMA]
            and post_load <= schema_class.per_field_post_load
            and schema.unknown == EXCLUDE
            and not schema.many
            and not schema.partial
            and all(field.attribute is None for field in schema.load_fields.values())
        )
        _SEPARABLE[schema_class] = (
            tuple(
                (name, name if field.data_key is None else field.data_key)
                for name, field in schema.load_fields.items()
            )
            if separable
            else None
        )
    return _SEPARABLE[schema_class]


def _part(schema_class: type[EEkonomiSchema], names: frozenset[str]) -> Schema | None:
    """The instance of ``schema_class`` that loads only ``names`` (``only=``), cached."""
    part = _PARTS.get((schema_class, names))
    if part is None and len(_PARTS) < _MAX_PARTS:
        part = _PARTS[(schema_class, names)] = schema_class(only=sorted(names))
    return part


def load_answer(
    schema_class: type[EEkonomiSchema], answer: Any, sent: CheckedBody | None = None
) -> dict[str, Any]:
    """``shared(schema_class).load(answer)`` — the same result, the same errors — at
    the cost of the fields where eEkonomi's ``answer`` differs from the body ``sent``.

    eEkonomi answers a create or update with the whole record, which echoes what we
    sent and adds its own fields (id, dates, the terms' copy). Loading it again repeats
    the load :func:`check_body` already did on the body. When loading is field by field
    (:func:`_load_keys`), a field whose JSON value in the answer is the same value of the
    same type as in the body (or absent from both) loads to the same value, so only the
    differing fields are loaded from the answer (``only=``) and the rest is taken from
    ``sent.loaded``. Anything else — no ``sent``, another schema, a differing field that
    fails to load — loads the whole answer, which raises exactly what it always did.
    """
    schema = shared(schema_class)
    keys = _load_keys(schema_class)
    if (
        sent is None
        or keys is None
        or sent.schema_class is not schema_class
        or not isinstance(answer, Mapping)
    ):
        return cast(dict[str, Any], schema.load(answer))
    payload = sent.payload
    differing = frozenset(
        name for name, key in keys if not _same(answer.get(key, _ABSENT), payload.get(key, _ABSENT))
    )
    kept = {name: value for name, value in sent.loaded.items() if name not in differing}
    if not differing:
        return kept
    part = _part(schema_class, differing)
    if part is None:
        return cast(dict[str, Any], schema.load(answer))
    try:
        kept.update(part.load(answer))
    except ValidationError:
        return cast(dict[str, Any], schema.load(answer))
    return kept


def clean_text(value: Any) -> str | None:
    """Vendor text with outer whitespace removed; empty text is ``None`` (absent)."""
    if value is None:
        return None
    text = str(value).strip()
    return text or None


# -- units (R-5.2) ----------------------------------------------------------------------

#: Severa's free-text units (English, Finnish, Swedish spellings seen in Severa
#: organisations) → eEkonomi's Swedish unit abbreviations.
_UNIT_SYNONYMS: dict[str, str] = {
    **dict.fromkeys(
        ["h", "hr", "hrs", "hour", "hours", "t", "tim", "timme", "timmar", "tunti", "tuntia"],
        "tim",
    ),
    **dict.fromkeys(["km", "kilometer", "kilometre", "kilometers", "kilometri"], "km"),
    **dict.fromkeys(["dag", "dagar", "day", "days", "d", "pv", "päivä", "päivää", "vrk"], "dag"),
    **dict.fromkeys(
        ["st", "st.", "stk", "styck", "pcs", "pc", "piece", "pieces", "kpl", "kappale", "ea"],
        "st",
    ),
}


def swedish_unit(severa_unit: str | None, default: str = "st") -> str:
    """eEkonomi's Swedish unit abbreviation for a Severa unit name (R-5.2).

    ``"h"``, ``"timme"``, ``"tunti"`` → ``tim``; ``"pcs"``, ``"kpl"`` → ``st``;
    ``"day"``, ``"pv"`` → ``dag``; ``"km"`` → ``km``. An unknown name is kept as
    written (lower-cased) so a matching eEkonomi unit can still be found for it; an
    empty one gives ``default``.
    """
    text = clean_text(severa_unit)
    if text is None:
        return default
    return _unit_of_text(text)


@functools.lru_cache(maxsize=1024)
def _unit_of_text(text: str) -> str:
    """:func:`swedish_unit` of a non-empty unit text, remembered (a pure function of the
    text): each article's unit is matched against every name of every eEkonomi unit
    (``schemas.products.resolve_unit_id``), the same few texts for every article."""
    key = re.sub(r"\s+", " ", text).casefold()
    return _UNIT_SYNONYMS.get(key, key)
