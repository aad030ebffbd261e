"""The Visma eEkonomi / eAccounting API v2 sandbox, identity server included.

Why it exists: the real API cannot be reached from our machines, and the behaviours that
break integrations (rotating single-use refresh tokens, one company per token, a rate
limit counted *per endpoint*, PUT as a full replace that nulls omitted fields, read-only
address fields on drafts, ``DebetAmount`` on supplier-invoice rows, ``4002`` for a company
without the API module...) are exactly what a mock written from memory leaves out.
Everything here follows ``shared/apis/eaccounting-v2.openapi.yaml`` (paths, field names,
types, maximum lengths, required fields, scopes) and ``shared/apis/eaccounting-notes.md``
(quirks measured against Visma's own sandbox). Behaviours the notes mark *unconfirmed*
are switches (:class:`Switches`) whose defaults are our best guess of the real service,
so a test can pin the product against both possibilities.

One app answers on one port:

* ``/connect/authorize`` (HTML login form, then a company picker) and ``/connect/token``:
  the OAuth2 authorization-code flow of Visma's IdentityServer;
* ``/v2/...``: the API, every call scoped to the company its token was issued for;
* ``/_sandbox/...``: the back office (loopback only) — core's dump/seed/faults/... plus
  switches, "a person in eEkonomi's UI" actions and refresh-token revocation.

See ``sandbox/docs/eekonomi.md`` for the routes, flows, switches and demo data.
The sandbox imports nothing of the product: it speaks raw vendor JSON only.
"""

from __future__ import annotations

import base64
import contextvars
import copy
import dataclasses
import functools
import hashlib
import html
import json
import math
import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from sandbox.core import RateWindow, Request, Response, SandboxApp

Record = dict[str, Any]

DATA_FILE = Path(__file__).resolve().parent / "data" / "eekonomi-demo.json"

# -- demo identities -------------------------------------------------------------------

DEMO_CLIENT_ID = "demo-eekonomi-client"
DEMO_CLIENT_SECRET = "demo-eekonomi-secret"  # noqa: S105 - the public sandbox demo secret
DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "demo"  # noqa: S105 - the public sandbox demo login

_NS = uuid.UUID("6f1c2f3e-5b0a-4c1e-9a51-0e4e6b0a7c11")


def stable_id(*parts: str) -> str:
    """A deterministic GUID, so demo data and company ids are the same on every run."""
    return str(uuid.uuid5(_NS, "/".join(parts)))


DEMO_COMPANY_ID = stable_id("company", "Demokonsult AB")
HOLDING_COMPANY_ID = stable_id("company", "Demokonsult Holding AB")
OLD_COMPANY_ID = stable_id("company", "Gamla Bolaget AB")

ACCESS_TOKEN_LIFETIME = 3600.0
CODE_LIFETIME = 300.0  # IdentityServer's default authorization-code lifetime
LOGIN_LIFETIME = 600.0
RATE_LIMIT = 600
RATE_WINDOW = 60.0

#: Scopes the identity server knows; anything else in ``scope`` is ``invalid_scope``.
KNOWN_SCOPES = frozenset(
    {
        "ea:api",
        "offline_access",
        "ea:sales",
        "ea:sales_readonly",
        "ea:accounting",
        "ea:accounting_readonly",
        "ea:purchase",
        "ea:purchase_readonly",
        "vls:api",
        "openid",
        "profile",
        "email",
    }
)

# Per-operation scope lists, as the OpenAPI document states them ("Requires any of").
SALES_READ = frozenset({"ea:sales", "ea:sales_readonly"})
SALES_WRITE = frozenset({"ea:sales"})
COST_CENTER_READ = frozenset(
    {"ea:accounting", "ea:accounting_readonly", "ea:sales", "ea:sales_readonly", "vls:api"}
)
COST_CENTER_WRITE = frozenset({"ea:accounting", "ea:sales", "vls:api"})
COUNTRIES_READ = frozenset({"ea:sales", "ea:sales_readonly", "vls:api"})
SALES_OR_PURCHASE_READ = frozenset(
    {"ea:sales", "ea:sales_readonly", "ea:purchase", "ea:purchase_readonly"}
)
PROJECTS_READ = frozenset(
    {
        "ea:accounting",
        "ea:accounting_readonly",
        "ea:sales",
        "ea:sales_readonly",
        "ea:purchase",
        "ea:purchase_readonly",
    }
)
PROJECTS_WRITE = frozenset({"ea:accounting"})
PURCHASE = frozenset({"ea:purchase", "ea:purchase_readonly"})

#: Exchange rates to SEK used for base-currency amounts (fixed: the sandbox has no feed).
RATES = {
    "SEK": Decimal("1"),
    "EUR": Decimal("11.45"),
    "NOK": Decimal("0.98"),
    "DKK": Decimal("1.53"),
    "USD": Decimal("10.62"),
    "GBP": Decimal("13.21"),
}

#: Store collections, in dump order (``costCenterItems`` travel inside ``costCenters``).
COLLECTIONS = (
    "companySettings",
    "units",
    "termsOfPayments",
    "countries",
    "currencies",
    "articleAccountCodings",
    "customers",
    "articles",
    "costCenters",
    "projects",
    "suppliers",
    "customerInvoiceDrafts",
    "customerInvoices",
    "supplierInvoices",
)

_GUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_DATE_ONLY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# -- switches ------------------------------------------------------------------------------


@dataclass
class Switches:
    """Behaviours the notes could not confirm (eaccounting-notes §8), one flag each.

    Defaults are the most likely real behaviour; ``GET/POST /_sandbox/switches`` reads and
    changes them at run time. Every flag is documented in ``sandbox/docs/eekonomi.md``.
    """

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

    _CHOICES = {
        "vies_check": ("validate", "off", "unavailable"),
        "oversize_page": ("reject", "clamp"),
        "article_prices": ("as_sent", "derive_gross"),
        "rate_limit_per": ("endpoint", "url"),
    }

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def update(self, values: dict[str, Any]) -> None:
        """Apply ``values``; raise ``ValueError`` on an unknown name or a wrong type."""
        known = {f.name: f for f in dataclasses.fields(self)}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown switch {name!r}; known: {sorted(known)}")
            current = getattr(self, name)
            if name == "default_company":
                if value is not None and not isinstance(value, str):
                    raise ValueError("default_company must be a company id or null")
            elif isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
            elif isinstance(current, int | float) and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise ValueError(f"{name} must be a number")
            elif isinstance(current, str) and value not in self._CHOICES.get(name, (value,)):
                raise ValueError(f"{name} must be one of {self._CHOICES[name]}")
            if isinstance(current, float) and not isinstance(current, bool):
                value = float(value)
            setattr(self, name, value)


# -- field specs (generated from the OpenAPI document; checked by the tests) -----------


@dataclass(frozen=True)
class FieldSpec:
    """One property of a vendor schema: enough to validate writes and default reads."""

    name: str
    kind: str  # uuid str int num bool dt list obj
    nullable: bool
    readonly: bool
    required: bool
    max_length: int | None = None
    min_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    enum: tuple[int, ...] | None = None


def _parse_spec(text: str) -> dict[str, FieldSpec]:
    fields: dict[str, FieldSpec] = {}
    for raw in text.strip().splitlines():
        name, kind, *flags = raw.split()
        options: dict[str, Any] = {}
        for flag in flags:
            if flag.startswith("max="):
                options["max_length"] = int(flag[4:])
            elif flag.startswith("min="):
                options["min_length"] = int(flag[4:])
            elif flag.startswith("range="):
                low, high = flag[6:].split("..")
                options["minimum"] = float(low) if low else None
                options["maximum"] = float(high) if high else None
            elif flag.startswith("enum="):
                options["enum"] = tuple(int(v) for v in flag[5:].split(","))
        fields[name] = FieldSpec(
            name=name,
            kind=kind.rstrip("?"),
            nullable=kind.endswith("?"),
            readonly="ro" in flags,
            required="req" in flags,
            **options,
        )
    return fields


def spec(schema: str) -> dict[str, FieldSpec]:
    """The parsed field list of one ``components.schemas`` entry."""
    return _SPECS[schema]


# -- errors ----------------------------------------------------------------------------


class ApiError(Exception):
    """An answer in eEkonomi's ``CommonExtendedBadRequest`` format, raised from handlers."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        errors: list[dict[str, str | None]] | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors or []
        self.headers = list(headers)

    def response(self) -> Response:
        return Response.json(self.status, error_body(self.code, self.message, self.errors))


def error_body(code: int, message: str, errors: list[dict[str, str | None]] | None = None) -> Any:
    """``CommonExtendedBadRequest``: a fresh ``ErrorId`` on every failure, like Visma's."""
    return {
        "ErrorCode": code,
        "DeveloperErrorMessage": message,
        "ErrorId": str(uuid.uuid4()),
        "Errors": errors or [],
    }


def field_error(field_name: str, message: str, code: str = "2000") -> dict[str, str | None]:
    return {"Field": field_name, "ErrorCode": code, "Message": message, "Key": None}


def validation_error(errors: list[dict[str, str | None]]) -> ApiError:
    first = errors[0]["Message"] if errors else "invalid data"
    return ApiError(400, 2000, f"ValidationException - {first}", errors)


def not_found(what: str) -> ApiError:
    return ApiError(404, 3000, f"ResourceNotFoundException - {what} was not found")


def missing_reference(field_name: str, what: str) -> ApiError:
    message = f"ResourceNotFoundException - {what} referenced by {field_name} was not found"
    return ApiError(400, 3000, message, [field_error(field_name, message, "3000")])


class ODataError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


# -- time and money ----------------------------------------------------------------------


def iso(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds; a bare midnight is written ``...T00:00:00Z``.

    Every stored date-time goes through here, so one value always has one spelling and a
    dump → seed → dump round trip is exact.
    """
    moment = moment.astimezone(UTC)
    if (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0):
        return iso_day(moment.date())
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def iso_day(day: date) -> str:
    """A calendar date as eEkonomi stores it: midnight, typed ``date-time``."""
    return f"{day.isoformat()}T00:00:00Z"


@functools.lru_cache(maxsize=65536)
def parse_moment(value: str) -> datetime:
    """Parse a date-time (``Z``, offset, or none = UTC) or a bare date; ``ValueError`` if bad."""
    text = value.strip()
    if _DATE_ONLY_RE.match(text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    if "T" not in text:
        raise ValueError(f"not a date-time: {value!r}")
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def dec(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0))


def round_away(value: Decimal, places: int = 2) -> Decimal:
    """Half away from zero, as eEkonomi rounds sales documents (notes §7.9)."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def money(value: Decimal) -> float:
    return float(round_away(value))


def decimals_of(value: Any) -> int:
    exponent = Decimal(str(value)).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def luhn_digit(digits: str) -> str:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def ocr_number(invoice_number: int) -> str:
    """A Swedish OCR reference: the number, a length digit, then a Luhn check digit."""
    base = str(invoice_number)
    with_length = base + str((len(base) + 2) % 10)
    return with_length + luhn_digit(with_length)


# -- OData $filter / $orderby ------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""\s*(?:
      (?P<str>'(?:[^']|'')*')
     |(?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?![\w-])
     |(?P<dt>\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?)(?![\w-])
     |(?P<num>-?\d+(?:\.\d+)?)(?![\w-])
     |(?P<name>[A-Za-z_][A-Za-z0-9_]*)
     |(?P<punct>[(),])
    )""",
    re.VERBOSE,
)

Getter = Callable[[Record], Any]
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "ge": lambda a, b: a is not None and b is not None and a >= b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "le": lambda a, b: a is not None and b is not None and a <= b,
}
_FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "startswith": (2, lambda a, b: isinstance(a, str) and isinstance(b, str) and a.startswith(b)),
    "endswith": (2, lambda a, b: isinstance(a, str) and isinstance(b, str) and a.endswith(b)),
    "contains": (2, lambda a, b: isinstance(a, str) and isinstance(b, str) and b in a),
    "substringof": (2, lambda a, b: isinstance(a, str) and isinstance(b, str) and a in b),
    "tolower": (1, lambda a: a.lower() if isinstance(a, str) else a),
    "toupper": (1, lambda a: a.upper() if isinstance(a, str) else a),
    "length": (1, lambda a: len(a) if isinstance(a, str) else None),
    "year": (1, lambda a: a.year if isinstance(a, datetime) else None),
    "month": (1, lambda a: a.month if isinstance(a, datetime) else None),
    "day": (1, lambda a: a.day if isinstance(a, datetime) else None),
}


class _FilterParser:
    """Recursive descent over the OData v4 subset the notes list; compiles to closures."""

    def __init__(self, text: str, fields: dict[str, FieldSpec], type_name: str) -> None:
        self.fields = fields
        self.type_name = type_name
        self.tokens: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            match = _TOKEN_RE.match(text, position)
            if not match or match.end() == position:
                raise ODataError(6000, f"Syntax error at position {position} in '{text}'.")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            position = match.end()
        self.index = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ODataError(6000, "Unexpected end of the filter expression.")
        self.index += 1
        return token

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token and token[0] == "name" and token[1] == word:
            self.index += 1
            return True
        return False

    def expect(self, punct: str) -> None:
        token = self.take()
        if token != ("punct", punct):
            raise ODataError(6000, f"'{punct}' expected, found '{token[1]}'.")

    def parse(self) -> Callable[[Record], bool]:
        expression = self.or_expr()
        if self.peek() is not None:
            raise ODataError(6000, f"Syntax error: unexpected '{self.peek()[1]}'.")  # type: ignore[index]
        return lambda record: bool(expression(record))

    def or_expr(self) -> Getter:
        left = self.and_expr()
        while self.keyword("or"):
            right = self.and_expr()
            left = (lambda a, b: lambda r: bool(a(r)) or bool(b(r)))(left, right)
        return left

    def and_expr(self) -> Getter:
        left = self.not_expr()
        while self.keyword("and"):
            right = self.not_expr()
            left = (lambda a, b: lambda r: bool(a(r)) and bool(b(r)))(left, right)
        return left

    def not_expr(self) -> Getter:
        if self.keyword("not"):
            inner = self.not_expr()
            return lambda r: not inner(r)
        return self.comparison()

    def comparison(self) -> Getter:
        left = self.value()
        token = self.peek()
        if token and token[0] == "name" and token[1] in _COMPARE:
            self.index += 1
            right = self.value()
            compare = _COMPARE[token[1]]
            return lambda r: compare(left(r), right(r))
        return left

    def value(self) -> Getter:
        kind, text = self.take()
        if kind == "punct" and text == "(":
            inner = self.or_expr()
            self.expect(")")
            return inner
        if kind == "str":
            literal: Any = text[1:-1].replace("''", "'")
            return lambda r: literal
        if kind == "guid":
            guid = text.lower()
            return lambda r: guid
        if kind == "dt":
            try:
                moment = parse_moment(text)
            except ValueError:
                raise ODataError(6001, f"The date-time literal '{text}' is not valid.") from None
            return lambda r: moment
        if kind == "num":
            number: Any = float(text) if "." in text else int(text)
            return lambda r: number
        if kind == "name":
            if text in ("true", "false"):
                flag = text == "true"
                return lambda r: flag
            if text == "null":
                return lambda r: None
            if text in _FUNCTIONS:
                arity, function = _FUNCTIONS[text]
                self.expect("(")
                args = [self.or_expr()]
                while len(args) < arity:
                    self.expect(",")
                    args.append(self.or_expr())
                self.expect(")")
                return lambda r: function(*(a(r) for a in args))
            return self.property(text)
        raise ODataError(6000, f"Syntax error: unexpected '{text}'.")

    def property(self, name: str) -> Getter:
        field_spec = self.fields.get(name)
        if field_spec is None or field_spec.kind in ("list", "obj"):
            raise ODataError(
                6000, f"Could not find a property named '{name}' on type '{self.type_name}'."
            )
        if field_spec.kind == "dt":
            return lambda r: parse_moment(r[name]) if r.get(name) else None
        if field_spec.kind == "uuid":
            return lambda r: r[name].lower() if isinstance(r.get(name), str) else r.get(name)
        return lambda r: r.get(name)


@functools.lru_cache(maxsize=1024)
def compile_filter(text: str, schema: str) -> Callable[[Record], bool]:
    """Compile ``$filter`` once per (text, schema): a benchmark repeats the same queries."""
    return _FilterParser(text, spec(schema), schema).parse()


@functools.lru_cache(maxsize=1024)
def compile_orderby(text: str, schema: str) -> tuple[tuple[str, bool], ...]:
    fields = spec(schema)
    keys: list[tuple[str, bool]] = []
    for part in text.split(","):
        words = part.split()
        if not words or len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
            raise ODataError(6000, f"The $orderby clause '{part.strip()}' is not valid.")
        if words[0] not in fields or fields[words[0]].kind in ("list", "obj"):
            raise ODataError(
                6000, f"Could not find a property named '{words[0]}' on type '{schema}'."
            )
        keys.append((words[0], len(words) == 2 and words[1] == "desc"))
    return tuple(keys)


def _sorter(name: str, kind: str) -> Callable[[Record], tuple[int, Any]]:
    return lambda record: _sort_key(record.get(name), kind)


def _sort_key(value: Any, kind: str) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if kind == "dt":
        return (1, parse_moment(value))
    if isinstance(value, str):
        return (1, value.lower())
    return (1, value)


# -- the store ---------------------------------------------------------------------------


class Records(dict[str, Record]):
    """One collection's records by id, indexed on the value eEkonomi keeps unique in it.

    The duplicate checks (customer number, article number, project number, cost-center
    item short name) used to scan the whole collection on every write, so a POST took
    ten times longer at 10 000 customers than at 500 — the sandbox's CPU, not the rate
    limits, then bounded a benchmark. The index follows every way a record enters or
    leaves (``[id] =``, ``del``, ``pop``, ``update``, ``clear``). A record edited in place
    must be put back (``records[id] = record``) to be re-indexed; :meth:`holders` checks
    each hit against the record as it is now, so a stale entry never reports a duplicate.
    """

    def __init__(self, unique: Callable[[Record], Any] | None = None) -> None:
        super().__init__()
        self._unique = unique
        self._key_of: dict[str, Any] = {}
        self._ids_of: dict[Any, set[str]] = {}

    def holders(self, value: Any) -> list[str]:
        """Ids of the records whose unique value is ``value`` now."""
        if self._unique is None:
            raise TypeError("this collection has no unique value")
        unique = self._unique
        return [
            record_id
            for record_id in self._ids_of.get(value, ())
            if record_id in self and unique(self[record_id]) == value
        ]

    def __setitem__(self, record_id: str, record: Record) -> None:
        self._forget(record_id)
        super().__setitem__(record_id, record)
        if self._unique is not None:
            value = self._unique(record)
            self._key_of[record_id] = value
            self._ids_of.setdefault(value, set()).add(record_id)

    def __delitem__(self, record_id: str) -> None:
        super().__delitem__(record_id)
        self._forget(record_id)

    def pop(self, record_id: str, *default: Any) -> Any:
        self._forget(record_id)
        return super().pop(record_id, *default)

    def popitem(self) -> tuple[str, Record]:
        record_id, record = super().popitem()
        self._forget(record_id)
        return record_id, record

    def setdefault(self, record_id: str, default: Record | None = None) -> Record:
        if record_id not in self:
            self[record_id] = default if default is not None else {}
        return self[record_id]

    def update(self, *args: Any, **kwargs: Any) -> None:
        for record_id, record in dict(*args, **kwargs).items():
            self[record_id] = record

    def clear(self) -> None:
        super().clear()
        self._key_of.clear()
        self._ids_of.clear()

    def _forget(self, record_id: str) -> None:
        if record_id not in self._key_of:
            return
        value = self._key_of.pop(record_id)
        ids = self._ids_of.get(value)
        if ids is not None:
            ids.discard(record_id)
            if not ids:
                del self._ids_of[value]


def _item_short_name(item: Record) -> tuple[Any, str]:
    return (item.get("CostCenterId"), str(item.get("ShortName") or "").lower())


#: What eEkonomi keeps unique per collection (see :class:`Records`).
UNIQUE_VALUES: dict[str, Callable[[Record], Any]] = {
    "customers": lambda customer: customer.get("CustomerNumber"),
    "articles": lambda article: article.get("Number"),
    "projects": lambda project: project.get("Number"),
    "costCenterItems": _item_short_name,
}


@dataclass
class Company:
    """One eEkonomi company: its records (by collection, then id) and its settings."""

    id: str
    name: str
    api_module: bool
    settings: Record = field(default_factory=dict)
    data: dict[str, Records] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in (*COLLECTIONS, "costCenterItems"):
            if name != "companySettings" and name not in self.data:
                self.data[name] = Records(UNIQUE_VALUES.get(name))

    def coll(self, name: str) -> Records:
        return self.data[name]

    def clear(self) -> None:
        for records in self.data.values():
            records.clear()


@dataclass
class OAuthClient:
    client_id: str
    secret: str
    redirect_uris: tuple[str, ...] = ()
    loopback_redirects: bool = False

    def accepts_redirect(self, uri: str) -> bool:
        """Registered URIs match exactly; the demo client takes any loopback http URI
        (any port, any path), as a developer's local callback listener needs."""
        if uri in self.redirect_uris:
            return True
        if not self.loopback_redirects:
            return False
        parts = urlsplit(uri)
        return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")


@dataclass
class User:
    email: str
    password: str
    companies: tuple[str, ...]


@dataclass
class Grant:
    """What a consent produced: shared by the code, the access and the refresh tokens."""

    client_id: str
    user: str
    company_id: str
    scopes: frozenset[str]


@dataclass
class LoginTx:
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    state: str | None
    force_picker: bool
    code_challenge: str | None
    code_challenge_method: str
    created: float
    user: str | None = None


@dataclass
class AuthCode:
    grant: Grant
    redirect_uri: str
    expires_at: float
    code_challenge: str | None
    code_challenge_method: str
    used: bool = False


@dataclass
class AccessToken:
    grant: Grant
    expires_at: float


@dataclass
class RefreshToken:
    grant: Grant
    revoked_at: float | None = None


@dataclass
class ApiContext:
    """The caller of one API request: its company and what its token allows."""

    company: Company
    client_id: str
    scopes: frozenset[str]


ApiHandler = Callable[[Request, ApiContext], Response]

_BO_COMPANY: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "eekonomi_backoffice_company", default=None
)


def demo_data() -> dict[str, Any]:
    """The committed demo company "Demokonsult AB" (``sandbox/data/eekonomi-demo.json``),
    in the shape :meth:`EEkonomiSandbox.seed_store` takes."""
    loaded: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    return loaded


# -- the app -------------------------------------------------------------------------------


class EEkonomiSandbox(SandboxApp):
    """The eEkonomi identity server and API v2; see the module docstring."""

    name = "eekonomi"

    def __init__(
        self,
        *,
        demo: bool = False,
        clock: Callable[[], float] | None = None,
        convert_sets_created_from_draft_id: bool = True,
        convert_deletes_draft: bool = True,
        convert_keeps_references: bool = True,
        vies_check: str = "validate",
        duplicate_number_error: int = 4000,
        unique_article_numbers: bool = True,
        unique_cost_center_short_names: bool = True,
        cost_center_slots_by_number: bool = True,
        max_page_size: int = 1000,
        oversize_page: str = "reject",
        supplier_rows_include_vat_and_payables: bool = True,
        refresh_grace_seconds: float = 0.0,
        date_only_due_dates: bool = False,
        article_prices: str = "as_sent",
        rate_limit_per: str = "endpoint",
        default_company: str | None = None,
    ) -> None:
        super().__init__()
        self.clock = clock or time.time
        self.switches = Switches()
        self.switches.update(
            {
                "convert_sets_created_from_draft_id": convert_sets_created_from_draft_id,
                "convert_deletes_draft": convert_deletes_draft,
                "convert_keeps_references": convert_keeps_references,
                "vies_check": vies_check,
                "duplicate_number_error": duplicate_number_error,
                "unique_article_numbers": unique_article_numbers,
                "unique_cost_center_short_names": unique_cost_center_short_names,
                "cost_center_slots_by_number": cost_center_slots_by_number,
                "max_page_size": max_page_size,
                "oversize_page": oversize_page,
                "supplier_rows_include_vat_and_payables": supplier_rows_include_vat_and_payables,
                "refresh_grace_seconds": refresh_grace_seconds,
                "date_only_due_dates": date_only_due_dates,
                "article_prices": article_prices,
                "rate_limit_per": rate_limit_per,
                "default_company": default_company,
            }
        )
        self.rate_window = RateWindow(RATE_LIMIT, RATE_WINDOW)
        self.clients: dict[str, OAuthClient] = {
            DEMO_CLIENT_ID: OAuthClient(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, loopback_redirects=True)
        }
        self.companies: dict[str, Company] = {}
        self.users: dict[str, User] = {}
        self.logins: dict[str, LoginTx] = {}
        self.codes: dict[str, AuthCode] = {}
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        #: (method, template, scopes) of every API operation, for docs and contract tests.
        self.operations: list[tuple[str, str, frozenset[str]]] = []
        self._setup_companies(demo)
        self._routes()

    # -- companies and identities -------------------------------------------------------

    def _setup_companies(self, demo: bool) -> None:
        """Three companies for the demo user: "Demokonsult AB" (the demo data when ``demo``,
        else empty until seeded), "Demokonsult Holding AB" (API on, only reference data) and
        "Gamla Bolaget AB" (API module off). Reference data (units, terms, countries,
        currencies, codings) exists in every company, as in a real one."""
        self.companies = {
            DEMO_COMPANY_ID: Company(DEMO_COMPANY_ID, "Demokonsult AB", True),
            HOLDING_COMPANY_ID: Company(HOLDING_COMPANY_ID, "Demokonsult Holding AB", True),
            OLD_COMPANY_ID: Company(OLD_COMPANY_ID, "Gamla Bolaget AB", False),
        }
        self.users = {
            DEMO_EMAIL: User(DEMO_EMAIL, DEMO_PASSWORD, tuple(self.companies)),
        }
        payload = demo_data() if DATA_FILE.exists() else {}
        reference = {
            key: payload.get(key, [])
            for key in (
                "units",
                "termsOfPayments",
                "countries",
                "currencies",
                "articleAccountCodings",
            )
        }
        extra: dict[str, Record] = {
            DEMO_COMPANY_ID: {},
            HOLDING_COMPANY_ID: {"CorporateIdentityNumber": "556677-8800", "UsesCostCenter": False},
            OLD_COMPANY_ID: {"CorporateIdentityNumber": "556011-2233"},
        }
        for company in self.companies.values():
            settings: Record = {**payload.get("companySettings", {}), **extra[company.id]}
            if company.id == DEMO_COMPANY_ID:
                if demo:
                    self._seed_company(company, payload, replace=True)
                else:
                    company.settings = self._default_settings(company, settings)
            else:
                self._seed_company(
                    company, {**reference, "companySettings": settings}, replace=True
                )

    def _default_settings(self, company: Company, given: Record) -> Record:
        """``CompanySettingsApi``: the documented subset the sync reads, plus required ones."""
        settings: Record = {
            "Name": company.name,
            "Email": None,
            "Phone": None,
            "MobilePhone": None,
            "Address1": "Storgatan 1",
            "Address2": None,
            "CountryCode": "SE",
            "PostalCode": "111 22",
            "City": "Stockholm",
            "Website": None,
            "OurReference": None,
            "CurrencyCode": "SEK",
            "TermsOfPaymentId": stable_id("terms", "30"),
            "CorporateIdentityNumber": None,
            "VatCode": None,
            "BankGiro": None,
            "PlusGiro": None,
            "ProductVariant": 1,
            "TypeOfBusiness": 1,
            "ActivatedModules": ["api_standard"] if company.api_module else [],
            "NextCustomerNumber": 1,
            "NextSupplierNumber": 1,
            "NextCustomerInvoiceNumber": 1,
            "NextArticleNumber": None,
            "ShowPricesExclVatPC": False,
            "UsesCostCenter": True,
            "UsesProject": True,
            "UsesPaymentReferenceNumber": True,
            "DomesticCurrencyRounding": 1,
            "CompanyStatus": 1,
            "CompanyIdentifier": company.id,
            "KeepOriginalDraftDate": False,
            "UseAutomaticVatCalculation": True,
            "UsesReverseConstructionVat": False,
            "UsesRotReducedInvoicing": False,
        }
        settings.update({k: v for k, v in given.items() if k in settings})
        settings["Name"] = company.name
        settings["CompanyIdentifier"] = company.id
        settings["ActivatedModules"] = ["api_standard"] if company.api_module else []
        return settings

    def company_by(self, ident: str | None) -> Company:
        """A company by id or name (back office); the demo company when ``ident`` is empty."""
        if not ident:
            return self.companies[DEMO_COMPANY_ID]
        if ident in self.companies:
            return self.companies[ident]
        for company in self.companies.values():
            if company.name.lower() == ident.lower():
                return company
        raise KeyError(ident)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def today(self) -> date:
        return self.now().date()

    # -- routing ------------------------------------------------------------------------

    def _routes(self) -> None:
        self.route("GET", "/connect/authorize", self._authorize)
        self.route("POST", "/connect/login", self._login)
        self.route("POST", "/connect/company", self._pick_company)
        self.route("POST", "/connect/token", self._token)

        api = self._api
        api("GET", "/articleaccountcodings", SALES_READ, self._list_of("articleAccountCodings"))
        api("GET", "/articleaccountcodings/{id}", SALES_READ, self._get_of("articleAccountCodings"))
        api("GET", "/articles", SALES_READ, self._list_of("articles"))
        api("POST", "/articles", SALES_WRITE, self._post_article)
        api("GET", "/articles/{id}", SALES_READ, self._get_of("articles"))
        api("PUT", "/articles/{id}", SALES_WRITE, self._put_article)
        api("GET", "/companysettings", SALES_READ, self._get_settings)
        api("GET", "/costcenteritems/{id}", COST_CENTER_READ, self._get_of("costCenterItems"))
        api("POST", "/costcenteritems", COST_CENTER_WRITE, self._post_cost_center_item)
        api("PUT", "/costcenteritems/{id}", COST_CENTER_WRITE, self._put_cost_center_item)
        api("GET", "/costcenters", COST_CENTER_READ, self._list_of("costCenters"))
        api("PUT", "/costcenters/{id}", COST_CENTER_WRITE, self._put_cost_center)
        api("GET", "/countries", COUNTRIES_READ, self._list_of("countries"))
        api("GET", "/countries/{id}", COUNTRIES_READ, self._get_country)
        api("GET", "/currencies", SALES_OR_PURCHASE_READ, self._list_of("currencies"))
        api("GET", "/customerinvoicedrafts", SALES_READ, self._list_of("customerInvoiceDrafts"))
        api("POST", "/customerinvoicedrafts", SALES_WRITE, self._post_draft)
        api("GET", "/customerinvoicedrafts/{id}", SALES_READ, self._get_of("customerInvoiceDrafts"))
        api("PUT", "/customerinvoicedrafts/{id}", SALES_WRITE, self._put_draft)
        api("DELETE", "/customerinvoicedrafts/{id}", SALES_WRITE, self._delete_draft)
        api("POST", "/customerinvoicedrafts/{id}/convert", SALES_WRITE, self._convert_draft)
        api("GET", "/customerinvoices", SALES_READ, self._list_of("customerInvoices"))
        api("POST", "/customerinvoices", SALES_READ, self._post_invoice)
        api("GET", "/customerinvoices/{id}", SALES_READ, self._get_of("customerInvoices"))
        api("GET", "/customerinvoices/{id}/pdf", SALES_READ, self._invoice_pdf)
        api("GET", "/customers", SALES_READ, self._list_of("customers"))
        api("POST", "/customers", SALES_WRITE, self._post_customer)
        api("GET", "/customers/{id}", SALES_READ, self._get_of("customers"))
        api("PUT", "/customers/{id}", SALES_WRITE, self._put_customer)
        api("DELETE", "/customers/{id}", SALES_WRITE, self._delete_customer)
        api("GET", "/projects", PROJECTS_READ, self._list_of("projects"))
        api("POST", "/projects", PROJECTS_WRITE, self._post_project)
        api("GET", "/projects/{id}", PROJECTS_READ, self._get_of("projects"))
        api("PUT", "/projects/{id}", PROJECTS_WRITE, self._put_project)
        api("GET", "/supplierinvoices", PURCHASE, self._list_of("supplierInvoices"))
        api("POST", "/supplierinvoices", PURCHASE, self._post_supplier_invoice)
        api("GET", "/supplierinvoices/{id}", PURCHASE, self._get_of("supplierInvoices"))
        api("GET", "/termsofpayments", SALES_OR_PURCHASE_READ, self._list_of("termsOfPayments"))
        api("GET", "/termsofpayments/{id}", SALES_OR_PURCHASE_READ, self._get_of("termsOfPayments"))
        api("GET", "/units", SALES_READ, self._list_of("units"))
        api("GET", "/units/{id}", SALES_READ, self._get_of("units"))

        bo = self.route
        bo("GET", "/_sandbox/switches", self._bo_switches)
        bo("POST", "/_sandbox/switches", self._bo_set_switches)
        bo("GET", "/_sandbox/companies", self._bo_companies)
        bo("POST", "/_sandbox/revoke-refresh-tokens", self._bo_revoke)
        bo("POST", "/_sandbox/ui/{collection}/{id}/edit", self._bo_edit)
        bo("POST", "/_sandbox/ui/customerinvoicedrafts/{id}/convert", self._bo_convert)
        bo("POST", "/_sandbox/ui/customerinvoices/{id}/send", self._bo_send)
        bo("POST", "/_sandbox/ui/customerinvoices/{id}/pay", self._bo_pay)
        bo("POST", "/_sandbox/ui/supplierinvoices", self._bo_book_supplier_invoice)
        bo("POST", "/_sandbox/ui/projects/{id}/deactivate", self._bo_deactivate_project)
        bo("POST", "/_sandbox/ui/costcenteritems/{id}/deactivate", self._bo_deactivate_item)

    def _api(self, method: str, template: str, scopes: frozenset[str], handler: ApiHandler) -> None:
        """Register ``/v2{template}`` behind authentication, rate limit, module and scope."""
        self.operations.append((method, template, scopes))

        def wrapped(request: Request) -> Response:
            context = self._authenticate(request)
            if isinstance(context, Response):
                return context
            if self.rate_limits_enabled:
                per_url = self.switches.rate_limit_per == "url"
                bucket = request.path.lower().rstrip("/") if per_url else template
                wait = self.rate_window.hit(f"{context.client_id} {bucket}", self.rate_scale)
                if wait is not None:
                    limit = max(1, int(RATE_LIMIT * self.rate_scale))
                    return self._quota_exceeded(limit, wait)
            if not context.company.api_module:
                return ApiError(
                    403, 4002, "ForbiddenRequestException - No access to module: api_standard"
                ).response()
            if not scopes & context.scopes:
                needed = ", ".join(sorted(scopes))
                return ApiError(
                    403,
                    4006,
                    "NoAccessToScopesException - "
                    f"This endpoint requires any of the scopes: {needed}",
                ).response()
            with self.lock:
                try:
                    return handler(request, context)
                except ApiError as exc:
                    return exc.response()
                except ODataError as exc:
                    return ApiError(400, exc.code, f"QueryParameterException - {exc}").response()

        self.route(method, "/v2" + template, wrapped)

    @staticmethod
    def _quota_exceeded(limit: int, wait: float) -> Response:
        seconds = max(1, math.ceil(wait))
        body = error_body(
            4010,
            f"API calls quota exceeded! maximum admitted {limit} per Minute. "
            f"Try again in {seconds} seconds.",
        )
        return Response.json(429, body)

    def _authenticate(self, request: Request) -> ApiContext | Response:
        header = request.headers.get("Authorization") or ""
        scheme, _, token = header.partition(" ")
        with self.lock:
            issued = self.access_tokens.get(token.strip()) if scheme.lower() == "bearer" else None
            if issued is None or issued.expires_at <= self.clock():
                error = "invalid_token" if issued is not None or token else "missing_token"
                return Response(401, b"", [("WWW-Authenticate", f'Bearer error="{error}"')])
            company = self.companies[issued.grant.company_id]
            return ApiContext(company, issued.grant.client_id, issued.grant.scopes)

    # -- vendor-format answers of the framework -------------------------------------------

    def fault_body(self, status: int) -> Any:
        if status == 429:
            return error_body(
                4010,
                f"API calls quota exceeded! maximum admitted {RATE_LIMIT} per Minute. "
                "Try again in 60 seconds.",
            )
        codes = {401: 4005, 403: 4007, 404: 3000, 409: 4000, 502: 5001, 503: 5001, 504: 5001}
        return error_body(codes.get(status, 5000), f"Injected fault: HTTP {status}")

    def not_found(self, request: Request) -> Response:
        return Response.json(
            404, error_body(3000, f"No HTTP resource was found that matches {request.path}")
        )

    def method_not_allowed(self, request: Request) -> Response:
        message = f"The requested resource does not support http method '{request.method}'."
        return Response.json(405, error_body(6000, message))

    def internal_error(self, request: Request, exc: Exception) -> Response:
        return Response.json(
            500, error_body(5000, f"InternalServerError - {type(exc).__name__}: {exc}")
        )

    def handle(self, request: Request) -> Response:
        """Remember ``?company=`` of back-office calls, so core's dump/seed routes act on the
        chosen company without core knowing that eEkonomi has several."""
        if request.path.lower().startswith("/_sandbox/"):
            wanted = request.arg("company")
            if wanted and request.is_loopback:
                try:
                    self.company_by(wanted)
                except KeyError:
                    known = [c.name for c in self.companies.values()]
                    return Response.json(404, {"error": f"no company {wanted!r}; known: {known}"})
            token = _BO_COMPANY.set(wanted)
            try:
                return super().handle(request)
            finally:
                _BO_COMPANY.reset(token)
        return super().handle(request)

    # -- identity server ------------------------------------------------------------------

    def _authorize(self, request: Request) -> Response:
        client_id = request.arg("client_id") or ""
        redirect_uri = request.arg("redirect_uri") or ""
        client = self.clients.get(client_id)
        if client is None:
            return _page(400, "Fel", "<p>Okänd klient (invalid_client).</p>")
        if not client.accepts_redirect(redirect_uri):
            return _page(400, "Fel", "<p>Ogiltig redirect_uri (invalid_request).</p>")
        state = request.arg("state")
        if (request.arg("response_type") or "") != "code":
            return _redirect(redirect_uri, error="unsupported_response_type", state=state)
        scopes = frozenset((request.arg("scope") or "").split())
        if not scopes or not scopes <= KNOWN_SCOPES or "ea:api" not in scopes:
            return _redirect(redirect_uri, error="invalid_scope", state=state)
        method = request.arg("code_challenge_method") or "plain"
        if request.arg("code_challenge") and method not in ("plain", "S256"):
            return _redirect(redirect_uri, error="invalid_request", state=state)
        acr = (request.arg("acr_values") or "").replace("+", " ").split()
        tx_id = secrets.token_urlsafe(18)
        with self.lock:
            self._expire_logins()
            self.logins[tx_id] = LoginTx(
                client_id=client_id,
                redirect_uri=redirect_uri,
                scopes=scopes,
                state=state,
                force_picker="forceselectcompany:true" in acr
                or request.arg("prompt") == "select_account",
                code_challenge=request.arg("code_challenge"),
                code_challenge_method=method,
                created=self.clock(),
            )
        return self._login_page(tx_id)

    def _expire_logins(self) -> None:
        cutoff = self.clock() - LOGIN_LIFETIME
        for tx_id in [k for k, v in self.logins.items() if v.created < cutoff]:
            del self.logins[tx_id]
        now = self.clock()
        for code in [k for k, v in self.codes.items() if v.expires_at < now - CODE_LIFETIME]:
            del self.codes[code]

    @staticmethod
    def _login_page(tx_id: str, error: str | None = None) -> Response:
        message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
        body = f"""{message}
<form method="post" action="/connect/login">
  <input type="hidden" name="tx" value="{html.escape(tx_id)}">
  <p><label for="email">E-postadress</label>
     <input type="email" id="email" name="email" autocomplete="username"></p>
  <p><label for="password">Lösenord</label>
     <input type="password" id="password" name="password" autocomplete="current-password"></p>
  <p><button type="submit">Logga in</button></p>
</form>"""
        return _page(200, "Logga in – Visma Online (sandbox)", body)

    def _login(self, request: Request) -> Response:
        form = request.form()
        with self.lock:
            tx = self.logins.get(form.get("tx", ""))
            if tx is None:
                return _page(400, "Fel", "<p>Inloggningen har gått ut. Börja om.</p>")
            user = self.users.get(form.get("email", "").strip().lower())
            if user is None or not secrets.compare_digest(user.password, form.get("password", "")):
                return self._login_page(form["tx"], "Fel e-postadress eller lösenord.")
            tx.user = user.email
            default = self.switches.default_company
            if len(user.companies) == 1 or (
                default in user.companies and not tx.force_picker and default is not None
            ):
                chosen = user.companies[0] if len(user.companies) == 1 else default
                assert chosen is not None  # noqa: S101 - narrowed above
                return self._consent_done(form["tx"], tx, chosen)
            return self._company_page(form["tx"], user)

    def _company_page(self, tx_id: str, user: User) -> Response:
        options = []
        for company_id in user.companies:
            company = self.companies[company_id]
            org = company.settings.get("CorporateIdentityNumber") or ""
            element_id = f"company-{company_id}"
            options.append(
                f'  <p><input type="radio" id="{element_id}" name="company" '
                f'value="{company_id}"> <label for="{element_id}">'
                f"{html.escape(company.name)} ({html.escape(org)})</label></p>"
            )
        body = f"""<form method="post" action="/connect/company">
  <input type="hidden" name="tx" value="{html.escape(tx_id)}">
  <fieldset><legend>Välj företag</legend>
{chr(10).join(options)}
  </fieldset>
  <p><button type="submit" name="decision" value="allow">Fortsätt</button>
     <button type="submit" name="decision" value="deny">Avbryt</button></p>
</form>"""
        return _page(200, "Välj företag – Visma Online (sandbox)", body)

    def _pick_company(self, request: Request) -> Response:
        form = request.form()
        with self.lock:
            tx = self.logins.get(form.get("tx", ""))
            if tx is None or tx.user is None:
                return _page(400, "Fel", "<p>Inloggningen har gått ut. Börja om.</p>")
            if form.get("decision", "allow") == "deny":
                del self.logins[form["tx"]]
                return _redirect(tx.redirect_uri, error="access_denied", state=tx.state)
            user = self.users[tx.user]
            chosen = form.get("company", "")
            if chosen not in user.companies:
                return self._company_page(form["tx"], user)
            return self._consent_done(form["tx"], tx, chosen)

    def _consent_done(self, tx_id: str, tx: LoginTx, company_id: str) -> Response:
        assert tx.user is not None  # noqa: S101 - only called after login
        del self.logins[tx_id]
        code = secrets.token_urlsafe(32)
        self.codes[code] = AuthCode(
            grant=Grant(tx.client_id, tx.user, company_id, tx.scopes),
            redirect_uri=tx.redirect_uri,
            expires_at=self.clock() + CODE_LIFETIME,
            code_challenge=tx.code_challenge,
            code_challenge_method=tx.code_challenge_method,
        )
        return _redirect(tx.redirect_uri, code=code, state=tx.state)

    def _token(self, request: Request) -> Response:
        form = request.form()
        client_id, secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("Authorization") or ""
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                return _oauth_error("invalid_client")
            client_id, _, secret = decoded.partition(":")
        client = self.clients.get(client_id or "")
        if client is None or not secrets.compare_digest(client.secret, secret or ""):
            return _oauth_error("invalid_client")
        grant_type = form.get("grant_type")
        with self.lock:
            if grant_type == "authorization_code":
                return self._token_from_code(client, form)
            if grant_type == "refresh_token":
                return self._token_from_refresh(client, form)
        return _oauth_error("unsupported_grant_type")

    def _token_from_code(self, client: OAuthClient, form: dict[str, str]) -> Response:
        issued = self.codes.get(form.get("code", ""))
        if issued is None or issued.used or issued.expires_at <= self.clock():
            if issued is not None and issued.used:
                # A replayed code also kills what it produced (RFC 6749 §4.1.2).
                self._revoke_where(lambda g: g is issued.grant)
            return _oauth_error("invalid_grant")
        if issued.grant.client_id != client.client_id:
            return _oauth_error("invalid_grant")
        if form.get("redirect_uri") != issued.redirect_uri:
            return _oauth_error("invalid_grant", "redirect_uri does not match")
        if issued.code_challenge:
            verifier = form.get("code_verifier") or ""
            if issued.code_challenge_method == "S256":
                digest = hashlib.sha256(verifier.encode("ascii")).digest()
                computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
            else:
                computed = verifier
            if not secrets.compare_digest(computed, issued.code_challenge):
                return _oauth_error("invalid_grant", "code_verifier does not match")
        issued.used = True
        return self._issue(issued.grant)

    def _token_from_refresh(self, client: OAuthClient, form: dict[str, str]) -> Response:
        presented = self.refresh_tokens.get(form.get("refresh_token", ""))
        if presented is None or presented.grant.client_id != client.client_id:
            return _oauth_error("invalid_grant")
        if presented.revoked_at is not None:
            grace = self.switches.refresh_grace_seconds
            if grace <= 0 or self.clock() - presented.revoked_at > grace:
                return _oauth_error("invalid_grant")
        else:
            presented.revoked_at = self.clock()
        return self._issue(presented.grant)

    def _issue(self, grant: Grant) -> Response:
        access = secrets.token_urlsafe(40)
        self.access_tokens[access] = AccessToken(grant, self.clock() + ACCESS_TOKEN_LIFETIME)
        payload: Record = {
            "access_token": access,
            "expires_in": int(ACCESS_TOKEN_LIFETIME),
            "token_type": "Bearer",
            "scope": " ".join(sorted(grant.scopes)),
        }
        if "offline_access" in grant.scopes:
            refresh = secrets.token_urlsafe(40)
            self.refresh_tokens[refresh] = RefreshToken(grant)
            payload["refresh_token"] = refresh
        return Response.json(200, payload, [("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    def _revoke_where(self, predicate: Callable[[Grant], bool]) -> int:
        count = 0
        now = self.clock()
        for token in self.refresh_tokens.values():
            if token.revoked_at is None and predicate(token.grant):
                token.revoked_at = now - self.switches.refresh_grace_seconds - 1
                count += 1
        for access in self.access_tokens.values():
            if predicate(access.grant):
                access.expires_at = min(access.expires_at, now)
        return count

    def expire_tokens(self) -> int:
        now = self.clock()
        count = 0
        for token in self.access_tokens.values():
            if token.expires_at > now:
                token.expires_at = now
                count += 1
        return count

    # -- generic list / get ----------------------------------------------------------------

    def _list_of(self, collection: str) -> ApiHandler:
        schema = _SCHEMA_OF[collection]

        def handler(request: Request, ctx: ApiContext) -> Response:
            records: Iterable[Record] = self._records(ctx.company, collection)
            if collection == "customerInvoices":
                since = request.arg("modifiedSinceUtc")
                if since:
                    try:
                        moment = parse_moment(since)
                    except ValueError:
                        raise ApiError(
                            400, 6001, f"InvalidInputException - '{since}' is not a valid date"
                        ) from None
                    records = [
                        r
                        for r in records
                        if r.get("ModifiedUtc") and parse_moment(r["ModifiedUtc"]) >= moment
                    ]
            return self._page(request, list(records), schema)

        return handler

    def _records(self, company: Company, collection: str) -> list[Record]:
        """Records as the API shows them (computed-on-read fields applied)."""
        if collection == "costCenters":
            return [
                self._render_cost_center(company, cc) for cc in company.coll(collection).values()
            ]
        render = self._renderer(collection)
        return [render(company, r) for r in company.coll(collection).values()]

    def _renderer(self, collection: str) -> Callable[[Company, Record], Record]:
        if collection == "customerInvoices":
            return self._render_invoice
        if collection == "supplierInvoices":
            return self._render_supplier_invoice
        if collection == "costCenters":
            return self._render_cost_center
        return lambda company, record: record

    def _page(self, request: Request, records: list[Record], schema: str) -> Response:
        text = request.arg("$filter")
        if text:
            predicate = compile_filter(text, schema)
            records = [r for r in records if predicate(r)]
        order = request.arg("$orderby")
        if order:
            fields = spec(schema)
            for name, descending in reversed(compile_orderby(order, schema)):
                records.sort(key=_sorter(name, fields[name].kind), reverse=descending)
        page = _int_arg(request, "$page", 1)
        size = _int_arg(request, "$pagesize", 50)
        maximum = self.switches.max_page_size
        if page < 1:
            raise ApiError(400, 6000, "QueryParameterException - $page must be 1 or more")
        if size < 1 or size > maximum:
            if size > maximum and self.switches.oversize_page == "clamp":
                size = maximum
            else:
                raise ApiError(
                    400,
                    6000,
                    f"QueryParameterException - $pagesize must be between 1 and {maximum}",
                    [
                        field_error(
                            "$pagesize", f"$pagesize must be between 1 and {maximum}", "6000"
                        )
                    ],
                )
        total = len(records)
        data = records[(page - 1) * size : page * size]
        select = request.arg("$select")
        if select:
            names = [n.strip() for n in select.split(",") if n.strip()]
            unknown = [n for n in names if n not in spec(schema)]
            if unknown:
                raise ODataError(6000, f"Could not find a property named '{unknown[0]}'.")
            data = [{n: r.get(n) for n in names} for r in data]
        meta = {
            "CurrentPage": page,
            "PageSize": size,
            "TotalNumberOfPages": math.ceil(total / size),
            "TotalNumberOfResults": total,
            "ServerTimeUtc": iso(self.now()),
        }
        return Response.json(200, {"Meta": meta, "Data": data})

    def _get_of(self, collection: str) -> ApiHandler:
        what = collection[:-1] if collection.endswith("s") else collection

        def handler(request: Request, ctx: ApiContext) -> Response:
            record = self._find(ctx.company, collection, request.path_params["id"], what)
            return Response.json(200, self._renderer(collection)(ctx.company, record))

        return handler

    @staticmethod
    def _find(company: Company, collection: str, ident: str, what: str) -> Record:
        record = company.coll(collection).get(ident.lower())
        if record is None:
            raise not_found(f"The {what} with id '{ident}'")
        return record

    def _get_settings(self, request: Request, ctx: ApiContext) -> Response:
        settings = dict(ctx.company.settings)
        settings["NextCustomerNumber"] = self._next_customer_number(ctx.company)
        settings["NextCustomerInvoiceNumber"] = self._next_invoice_number(ctx.company)
        return Response.json(200, settings)

    def _get_country(self, request: Request, ctx: ApiContext) -> Response:
        code = request.path_params["id"].upper()
        for country in ctx.company.coll("countries").values():
            if country["Code"] == code:
                return Response.json(200, country)
        raise not_found(f"The country '{code}'")

    # -- validation ------------------------------------------------------------------------

    def _validate(
        self,
        schema: str,
        body: Any,
        *,
        prefix: str = "",
        lenient: Iterable[str] = (),
    ) -> Record:
        """Check a write against the schema; return every *writable* field.

        Omitted writable fields come back as ``None`` (nullable) or the type's zero: that
        is PUT's full replace (notes §7.1). Read-only fields and unknown members are
        ignored, as ASP.NET's model binder does; names match case-insensitively.
        ``lenient`` names required fields that the real service defaults (notes §6.7).
        """
        if not isinstance(body, dict):
            raise validation_error(
                [field_error(prefix.rstrip(".") or "body", "A JSON object is required.")]
            )
        lowered = {k.lower(): v for k, v in body.items()}
        relaxed = set(lenient)
        errors: list[dict[str, str | None]] = []
        out: Record = {}
        for f in spec(schema).values():
            if f.readonly or f.kind == "obj":
                continue
            name = prefix + f.name
            value = lowered.get(f.name.lower())
            if value is None or (f.required and f.kind == "str" and value == ""):
                if f.required and f.name not in relaxed:
                    errors.append(field_error(name, f"The {f.name} field is required."))
                out[f.name] = None if f.nullable else _zero(f)
                continue
            problem = _type_problem(f, value)
            if problem:
                errors.append(field_error(name, problem))
                continue
            if f.kind == "str":
                if f.max_length is not None and len(value) > f.max_length:
                    errors.append(
                        field_error(
                            name,
                            f"The field {f.name} must be a string with a maximum length of "
                            f"{f.max_length}.",
                        )
                    )
                    continue
                if f.min_length and len(value) < f.min_length:
                    errors.append(field_error(name, f"The field {f.name} is too short."))
                    continue
            if f.kind in ("int", "num"):
                if (f.minimum is not None and value < f.minimum) or (
                    f.maximum is not None and value > f.maximum
                ):
                    errors.append(
                        field_error(
                            name,
                            f"The field {f.name} must be between {_num(f.minimum)} and "
                            f"{_num(f.maximum)}.",
                        )
                    )
                    continue
                if f.enum is not None and value not in f.enum:
                    errors.append(
                        field_error(name, f"The value {value} is not valid for {f.name}.")
                    )
                    continue
            if f.kind == "uuid":
                value = value.lower()
            elif f.kind == "dt":
                value = iso(parse_moment(value))
            elif f.kind == "num":
                value = float(value)
            elif f.kind == "list":
                value = (
                    [v for v in value if isinstance(v, str)] if f.name == "EmailAddresses" else None
                )
            out[f.name] = value
        if errors:
            raise validation_error(errors)
        return out

    def _vat_number_check(self, vat_number: str | None) -> None:
        if not vat_number or self.switches.vies_check == "off":
            return
        if self.switches.vies_check == "unavailable":
            raise ApiError(
                503, 5001, "CantReachSystemDependencyException - VIES did not answer in time"
            )
        compact = vat_number.replace(" ", "").upper()
        valid = bool(re.fullmatch(r"[A-Z]{2}[0-9A-Z]{8,12}", compact))
        if compact.startswith("SE"):
            valid = bool(re.fullmatch(r"SE\d{10}01", compact))
        if not valid:
            message = f"InvalidVatNumberException - VAT number '{vat_number}' is not valid (VIES)"
            raise ApiError(400, 4025, message, [field_error("VatNumber", message, "4025")])

    def _duplicate(self, field_name: str, value: str) -> ApiError:
        code = self.switches.duplicate_number_error
        message = f"DuplicateException - {field_name} '{value}' is already in use"
        return ApiError(400, code, message, [field_error(field_name, message, str(code))])

    # -- customers -------------------------------------------------------------------------

    def _post_customer(self, request: Request, ctx: ApiContext) -> Response:
        record = self._customer_from(ctx.company, request.json(), None)
        return Response.json(201, record)

    def _put_customer(self, request: Request, ctx: ApiContext) -> Response:
        existing = self._find(ctx.company, "customers", request.path_params["id"], "customer")
        record = self._customer_from(ctx.company, request.json(), existing)
        return Response.json(200, record)

    def _customer_from(self, company: Company, body: Any, existing: Record | None) -> Record:
        clean = self._validate("CustomerApi", body)
        terms = company.coll("termsOfPayments").get(clean["TermsOfPaymentId"] or "")
        if terms is None:
            raise missing_reference("TermsOfPaymentId", "The terms of payment")
        errors = []
        for name in ("InvoiceCountryCode", "DeliveryCountryCode"):
            code = clean.get(name)
            if code and not any(
                c["Code"] == code.upper() for c in company.coll("countries").values()
            ):
                errors.append(field_error(name, f"The country code '{code}' is not valid."))
            elif code:
                clean[name] = code.upper()
        currency = clean.get("CurrencyCode")
        if currency is None:
            clean["CurrencyCode"] = company.settings.get("CurrencyCode", "SEK")
        elif not any(c["Code"] == currency.upper() for c in company.coll("currencies").values()):
            errors.append(field_error("CurrencyCode", f"The currency '{currency}' is not valid."))
        if clean.get("ReverseChargeOnConstructionServices") and not clean.get("VatNumber"):
            errors.append(
                field_error(
                    "VatNumber",
                    "VatNumber is required when ReverseChargeOnConstructionServices is true.",
                )
            )
        if len(clean.get("EmailAddresses") or []) > 5:
            errors.append(field_error("EmailAddresses", "At most 5 email addresses are allowed."))
        if errors:
            raise validation_error(errors)
        self._vat_number_check(clean.get("VatNumber"))
        own_id = existing["Id"] if existing else None
        number = clean.get("CustomerNumber")
        if not number:
            clean["CustomerNumber"] = str(self._next_customer_number(company))
        elif any(i != own_id for i in company.coll("customers").holders(number)):
            raise self._duplicate("CustomerNumber", number)
        record = _defaults("CustomerApi")
        if existing:
            record.update(
                {k: existing.get(k) for k, f in spec("CustomerApi").items() if f.readonly}
            )
        record.update(clean)
        record["Id"] = own_id or str(uuid.uuid4())
        record["ChangedUtc"] = iso(self.now())
        self._customer_computed(company, record)
        company.coll("customers")[record["Id"]] = record
        return record

    def _customer_computed(self, company: Company, record: Record, *, unpaid: bool = True) -> None:
        terms = company.coll("termsOfPayments").get(record.get("TermsOfPaymentId") or "")
        if terms is not None:
            record["TermsOfPayment"] = dict(terms)
        record.pop("DirectDebitCustomerSettings", None)
        for name in ("MessageThreads", "Notes", "CustomerLabels"):
            if record.get(name) is None:
                record[name] = []
        record["IsFutureInvoiceDateAllowed"] = bool(record.get("IsFutureInvoiceDateAllowed"))
        if unpaid:
            self._refresh_unpaid(company, record)

    def _refresh_unpaid(self, company: Company, customer: Record) -> None:
        unpaid = Decimal(0)
        last: str | None = None
        for invoice in company.coll("customerInvoices").values():
            if invoice.get("CustomerId") != customer["Id"]:
                continue
            unpaid += dec(invoice.get("RemainingAmount"))
            if invoice.get("InvoiceDate") and (last is None or invoice["InvoiceDate"] > last):
                last = invoice["InvoiceDate"]
        customer["UnpaidInvoicesAmount"] = money(unpaid)
        customer["LastInvoiceDate"] = last

    def _next_customer_number(self, company: Company) -> int:
        numbers = [
            int(c["CustomerNumber"])
            for c in company.coll("customers").values()
            if str(c.get("CustomerNumber") or "").isdigit()
        ]
        return max(numbers, default=0) + 1

    def _delete_customer(self, request: Request, ctx: ApiContext) -> Response:
        customer = self._find(ctx.company, "customers", request.path_params["id"], "customer")
        used = any(
            r.get("CustomerId") == customer["Id"]
            for name in ("customerInvoices", "customerInvoiceDrafts", "projects")
            for r in ctx.company.coll(name).values()
        )
        if used:
            raise ApiError(
                400,
                4001,
                "CanNotBeDeletedException - The customer has transactions; set IsActive=false",
            )
        del ctx.company.coll("customers")[customer["Id"]]
        return Response(200)

    # -- articles --------------------------------------------------------------------------

    def _post_article(self, request: Request, ctx: ApiContext) -> Response:
        return Response.json(201, self._article_from(ctx.company, request.json(), None))

    def _put_article(self, request: Request, ctx: ApiContext) -> Response:
        existing = self._find(ctx.company, "articles", request.path_params["id"], "article")
        return Response.json(200, self._article_from(ctx.company, request.json(), existing))

    def _article_from(self, company: Company, body: Any, existing: Record | None) -> Record:
        clean = self._validate("ArticleApi", body)
        coding = company.coll("articleAccountCodings").get(clean["CodingId"] or "")
        if coding is None:
            raise missing_reference("CodingId", "The article account coding")
        unit = company.coll("units").get(clean["UnitId"] or "")
        if unit is None:
            raise missing_reference("UnitId", "The unit")
        errors = [
            field_error(name, f"The field {name} allows at most 2 decimals.")
            for name in ("NetPrice", "GrossPrice")
            if decimals_of(clean.get(name) or 0) > 2
        ]
        if errors:
            raise validation_error(errors)
        own_id = existing["Id"] if existing else None
        if self.switches.unique_article_numbers and any(
            i != own_id for i in company.coll("articles").holders(clean["Number"])
        ):
            raise self._duplicate("Number", clean["Number"])
        lowered = {k.lower() for k in body}
        rate = Decimal(1) + dec(coding.get("VatRatePercent"))
        if self.switches.article_prices == "derive_gross" or "grossprice" not in lowered:
            clean["GrossPrice"] = money(dec(clean["NetPrice"]) * rate)
        elif "netprice" not in lowered:
            clean["NetPrice"] = money(dec(clean["GrossPrice"]) / rate)
        record = _defaults("ArticleApi")
        now = iso(self.now())
        if existing:
            record.update({k: existing.get(k) for k, f in spec("ArticleApi").items() if f.readonly})
        record.update(clean)
        record["Id"] = own_id or str(uuid.uuid4())
        record["CreatedUtc"] = record.get("CreatedUtc") or now
        record["ChangedUtc"] = now
        self._article_computed(company, record)
        company.coll("articles")[record["Id"]] = record
        return record

    def _article_computed(self, company: Company, record: Record) -> None:
        coding = company.coll("articleAccountCodings").get(record.get("CodingId") or "") or {}
        unit = company.coll("units").get(record.get("UnitId") or "") or {}
        record["CodingName"] = coding.get("Name")
        record["UnitName"] = unit.get("Name")
        record["UnitAbbreviation"] = unit.get("Abbreviation")
        record["IsServiceArticle"] = coding.get("Type") == "Service"
        record["NetPriceWithDiscount"] = record.get("NetPrice") or 0.0
        for name in ("MessageThreads", "Notes", "ArticleLabels", "Barcodes"):
            if record.get(name) is None:
                record[name] = []

    # -- cost centers ----------------------------------------------------------------------

    def _render_cost_center(self, company: Company, record: Record) -> Record:
        items = [
            i for i in company.coll("costCenterItems").values() if i["CostCenterId"] == record["Id"]
        ]
        return {**record, "Items": items}

    def _put_cost_center(self, request: Request, ctx: ApiContext) -> Response:
        existing = self._find(ctx.company, "costCenters", request.path_params["id"], "cost center")
        clean = self._validate("CostCenterApi", request.json())
        existing.update(clean)
        return Response.json(200, self._render_cost_center(ctx.company, existing))

    def _post_cost_center_item(self, request: Request, ctx: ApiContext) -> Response:
        return Response.json(201, self._item_from(ctx.company, request.json(), None))

    def _put_cost_center_item(self, request: Request, ctx: ApiContext) -> Response:
        existing = self._find(
            ctx.company, "costCenterItems", request.path_params["id"], "cost center item"
        )
        return Response.json(200, self._item_from(ctx.company, request.json(), existing))

    def _item_from(self, company: Company, body: Any, existing: Record | None) -> Record:
        clean = self._validate("CostCenterItemApi", body)
        if company.coll("costCenters").get(clean["CostCenterId"] or "") is None:
            raise missing_reference("CostCenterId", "The cost center")
        if existing and clean["CostCenterId"] != existing["CostCenterId"]:
            raise validation_error(
                [
                    field_error(
                        "CostCenterId", "A cost center item cannot be moved to another cost center."
                    )
                ]
            )
        own_id = existing["Id"] if existing else None
        if self.switches.unique_cost_center_short_names and any(
            i != own_id for i in company.coll("costCenterItems").holders(_item_short_name(clean))
        ):
            raise self._duplicate("ShortName", clean["ShortName"])
        record: Record = {
            "CostCenterId": clean["CostCenterId"],
            "Id": own_id or str(uuid.uuid4()),
            "Name": clean["Name"],
            "ShortName": clean["ShortName"],
            "IsActive": clean["IsActive"],
            "CreatedUtc": existing["CreatedUtc"] if existing else iso(self.now()),
        }
        company.coll("costCenterItems")[record["Id"]] = record
        return record

    # -- projects --------------------------------------------------------------------------

    def _post_project(self, request: Request, ctx: ApiContext) -> Response:
        return Response.json(201, self._project_from(ctx.company, request.json(), None))

    def _put_project(self, request: Request, ctx: ApiContext) -> Response:
        existing = self._find(ctx.company, "projects", request.path_params["id"], "project")
        # 201 on PUT is what the OpenAPI document states for this one operation.
        return Response.json(201, self._project_from(ctx.company, request.json(), existing))

    def _project_from(self, company: Company, body: Any, existing: Record | None) -> Record:
        clean = self._validate("ProjectApi", body)
        if clean["Status"] not in (1, 2):
            raise validation_error(
                [field_error("Status", "Status must be 1 (Ongoing) or 2 (Finished).")]
            )
        customer_name = None
        if clean.get("CustomerId"):
            customer = company.coll("customers").get(clean["CustomerId"])
            if customer is None:
                raise missing_reference("CustomerId", "The customer")
            customer_name = customer["Name"]
        own_id = existing["Id"] if existing else None
        if any(i != own_id for i in company.coll("projects").holders(clean["Number"])):
            raise self._duplicate("Number", clean["Number"])
        record = {**_defaults("ProjectApi"), **clean}
        record["Id"] = own_id or str(uuid.uuid4())
        record["StartDate"] = clean.get("StartDate") or iso_day(self.today())
        if "startdate" not in {k.lower() for k in body} and existing:
            record["StartDate"] = existing["StartDate"]
        record["CustomerName"] = customer_name
        record["ModifiedUtc"] = iso(self.now())
        company.coll("projects")[record["Id"]] = record
        return record

    # -- sales documents: rows and totals ---------------------------------------------------

    def _row_references(self, company: Company, row: Record, prefix: str) -> None:
        """Check a row's cost-center items and project (3000 / 5006 / 5005)."""
        for slot in (1, 2, 3):
            name = f"CostCenterItemId{slot}"
            item_id = row.get(name)
            if not item_id:
                continue
            item = company.coll("costCenterItems").get(item_id)
            if item is None:
                raise missing_reference(prefix + name, "The cost center item")
            if not item.get("IsActive"):
                message = (
                    "InactiveCostCenterException - cost center item "
                    f"'{item['ShortName']}' is inactive"
                )
                raise ApiError(400, 5006, message, [field_error(prefix + name, message, "5006")])
            if self.switches.cost_center_slots_by_number:
                center = company.coll("costCenters").get(item["CostCenterId"]) or {}
                if center.get("Number") != slot:
                    raise validation_error(
                        [
                            field_error(
                                prefix + name,
                                f"The cost center item belongs to cost center number "
                                f"{center.get('Number')}, not {slot}.",
                            )
                        ]
                    )
        project_id = row.get("ProjectId")
        if project_id:
            project = company.coll("projects").get(project_id)
            if project is None:
                raise missing_reference(prefix + "ProjectId", "The project")
            if project.get("Status") == 2:
                message = f"ProjectEndedException - project '{project['Number']}' has ended"
                raise ApiError(
                    400, 5005, message, [field_error(prefix + "ProjectId", message, "5005")]
                )

    def _sales_rows(
        self,
        company: Company,
        rows_in: Any,
        customer: Record,
        *,
        row_schema: str,
        existing_rows: list[Record] | None,
        replace_zero_price: bool,
    ) -> list[Record]:
        """Validate and complete draft or invoice rows: article data, VAT rate, amounts."""
        if rows_in is None:
            return []
        if not isinstance(rows_in, list):
            raise validation_error([field_error("Rows", "Rows must be an array.")])
        foreign = customer.get("InvoiceCountryCode") not in (
            None,
            "",
            company.settings.get("CountryCode"),
        )
        foreign_currency = customer.get("CurrencyCode") not in (
            None,
            company.settings.get("CurrencyCode"),
        )
        known_ids = {r["Id"] for r in existing_rows or []}
        rows: list[Record] = []
        for index, raw in enumerate(rows_in):
            prefix = f"Rows[{index}]."
            clean = self._validate(
                row_schema,
                raw,
                prefix=prefix,
                lenient=("IsTextRow", "ReversedConstructionServicesVatFree"),
            )
            row = {**_defaults(row_schema), **clean}
            raw_id = str(raw.get("Id") or "").lower() if isinstance(raw, dict) else ""
            row["Id"] = raw_id if raw_id in known_ids else str(uuid.uuid4())
            row["LineNumber"] = index + 1
            row["ContributionMargin"] = {"Amount": None, "Percentage": None}
            if row_schema == "CustomerInvoiceRowApi":
                # IsTextRow is read-only on booked-invoice rows: no article + a text = text row.
                row["IsTextRow"] = not row.get("ArticleId") and bool(row.get("Text"))
            if row.get("IsTextRow"):
                if not (row.get("Text") or "").strip():
                    raise validation_error(
                        [field_error(prefix + "Text", "A text row needs a Text.")]
                    )
                row.update(
                    ArticleId=None, ArticleNumber=None, UnitPrice=0.0, Quantity=0.0, VatRate=None
                )
                row.update(Amount=0.0)
                if "AmountNoVat" in row:
                    row.update(AmountNoVat=0.0, PercentVat=0.0)
                rows.append(row)
                continue
            if not row.get("ArticleId"):
                raise validation_error(
                    [
                        field_error(
                            prefix + "ArticleId", "ArticleId is required unless IsTextRow is true."
                        )
                    ]
                )
            article = company.coll("articles").get(row["ArticleId"])
            if article is None:
                raise missing_reference(prefix + "ArticleId", "The article")
            errors = []
            if decimals_of(row["UnitPrice"]) > (4 if foreign or foreign_currency else 2):
                errors.append(field_error(prefix + "UnitPrice", "UnitPrice has too many decimals."))
            if decimals_of(row["Quantity"]) > 2:
                errors.append(
                    field_error(prefix + "Quantity", "Quantity allows at most 2 decimals.")
                )
            if errors:
                raise validation_error(errors)
            self._row_references(company, row, prefix)
            coding = company.coll("articleAccountCodings").get(article["CodingId"]) or {}
            unit = company.coll("units").get(article["UnitId"]) or {}
            if not row.get("Text"):
                row["Text"] = article["Name"]
            if replace_zero_price and not row["UnitPrice"]:
                row["UnitPrice"] = float(article.get("NetPrice") or 0)
            vat_free = bool(
                row.get("IsVatFree")
                or (
                    customer.get("ReverseChargeOnConstructionServices")
                    and row.get("ReversedConstructionServicesVatFree")
                )
            )
            rate = 0.0 if foreign or vat_free else float(coding.get("VatRatePercent") or 0)
            amount = round_away(
                dec(row["Quantity"]) * dec(row["UnitPrice"]) * (1 - dec(row["DiscountPercentage"]))
            )
            row.update(
                ArticleNumber=article["Number"],
                UnitId=article["UnitId"],
                IsServiceArticle=coding.get("Type") == "Service",
                VatRate=rate,
                Amount=float(amount),
                PurchasePrice=float(article.get("PurchasePrice") or 0),
                FreightCosts=0.0,
                IsDiscountInFixedAmount=False,
                DiscountFixedAmount=None,
            )
            if "VatRateId" in row:
                row["VatRateId"] = coding.get("VatRate")
            if "AmountNoVat" in row:
                row.update(AmountNoVat=float(amount), PercentVat=rate)
            if row_schema == "CustomerInvoiceDraftRowApi":
                row["UnitName"] = row.get("UnitName") or unit.get("Name")
                row["UnitAbbreviation"] = row.get("UnitAbbreviation") or unit.get("Abbreviation")
                row["UnitAbbreviationEnglish"] = row.get("UnitAbbreviationEnglish") or unit.get(
                    "AbbreviationEnglish"
                )
            else:
                row["UnitAbbreviation"] = unit.get("Abbreviation")
                row["UnitAbbreviationEnglish"] = unit.get("AbbreviationEnglish")
            rows.append(row)
        return rows

    def _totals(self, company: Company, rows: list[Record], currency: str) -> Record:
        """VAT per rate, then the total rounded to whole units for the domestic currency
        (``DomesticCurrencyRounding`` = 1, half away from zero)."""
        by_rate: dict[float, Decimal] = {}
        for row in rows:
            if row.get("IsTextRow"):
                continue
            rate = float(row.get("VatRate") or 0)
            by_rate[rate] = by_rate.get(rate, Decimal(0)) + dec(row["Amount"])
        vat_parts = {rate: round_away(net * dec(rate)) for rate, net in by_rate.items()}
        net = sum(by_rate.values(), Decimal(0))
        vat = sum(vat_parts.values(), Decimal(0))
        gross = net + vat
        domestic = currency == company.settings.get("CurrencyCode")
        rounded = (
            round_away(gross, 0)
            if domestic and company.settings.get("DomesticCurrencyRounding") == 1
            else gross
        )
        rate_to_base = RATES.get(currency, Decimal(1))
        return {
            "net": net,
            "vat": vat,
            "roundings": rounded - gross,
            "total": rounded,
            "rate": rate_to_base,
            "specification": [
                {
                    "AmountInvoiceCurrency": float(by_rate[r]),
                    "VatAmountInvoiceCurrency": float(vat_parts[r]),
                    "VatPercent": r,
                }
                for r in sorted(by_rate)
            ],
        }

    def _customer_for(self, company: Company, customer_id: str | None) -> Record:
        customer = company.coll("customers").get(customer_id or "")
        if customer is None:
            raise missing_reference("CustomerId", "The customer")
        return customer

    # -- customer invoice drafts -----------------------------------------------------------

    def _post_draft(self, request: Request, ctx: ApiContext) -> Response:
        return Response.json(201, self._draft_from(ctx.company, request.json(), None))

    def _put_draft(self, request: Request, ctx: ApiContext) -> Response:
        existing = self._find(
            ctx.company, "customerInvoiceDrafts", request.path_params["id"], "draft"
        )
        return Response.json(200, self._draft_from(ctx.company, request.json(), existing))

    def _delete_draft(self, request: Request, ctx: ApiContext) -> Response:
        draft = self._find(ctx.company, "customerInvoiceDrafts", request.path_params["id"], "draft")
        del ctx.company.coll("customerInvoiceDrafts")[draft["Id"]]
        return Response(200)

    def _draft_from(self, company: Company, body: Any, existing: Record | None) -> Record:
        clean = self._validate(
            "CustomerInvoiceDraftApi", body, lenient=("EuThirdParty", "RotReducedInvoicingType")
        )
        customer = self._customer_for(company, clean["CustomerId"])
        if clean.get("TermsOfPaymentId") and clean["TermsOfPaymentId"] not in company.coll(
            "termsOfPayments"
        ):
            raise missing_reference("TermsOfPaymentId", "The terms of payment")
        rows = self._sales_rows(
            company,
            body.get("Rows") if isinstance(body, dict) else None,
            customer,
            row_schema="CustomerInvoiceDraftRowApi",
            existing_rows=existing.get("Rows") if existing else None,
            replace_zero_price=bool(clean.get("ReplaceUnitPriceWhenZero")),
        )
        record = {**_defaults("CustomerInvoiceDraftApi"), **clean}
        record["Id"] = existing["Id"] if existing else str(uuid.uuid4())
        record["CreatedUtc"] = existing["CreatedUtc"] if existing else iso(self.now())
        record["Rows"] = rows
        record["TermsOfPaymentId"] = clean.get("TermsOfPaymentId") or customer["TermsOfPaymentId"]
        self._draft_computed(company, record, customer)
        company.coll("customerInvoiceDrafts")[record["Id"]] = record
        return record

    def _draft_computed(self, company: Company, record: Record, customer: Record) -> None:
        """Fields the draft takes from its customer at save time (read-only on drafts)."""
        record.update(
            CustomerNumber=customer.get("CustomerNumber"),
            CustomerName=customer.get("Name"),
            CustomerIsPrivatePerson=bool(customer.get("IsPrivatePerson")),
            ReverseChargeOnConstructionServices=bool(
                customer.get("ReverseChargeOnConstructionServices")
            ),
            InvoiceCustomerName=(customer.get("Name") or "")[:50],
            InvoicePostalCode=customer.get("InvoicePostalCode"),
            InvoiceCity=customer.get("InvoiceCity"),
            InvoiceCountryCode=customer.get("InvoiceCountryCode"),
            InvoiceCurrencyCode=customer.get("CurrencyCode")
            or company.settings.get("CurrencyCode"),
            IncludesVat=bool(
                customer.get("IsPrivatePerson") and company.settings.get("ShowPricesExclVatPC")
            ),
            ContributionMargin={"Amount": None, "Percentage": None},
            MaxAllowedTaxReductionAmount=0.0,
        )
        # Null means "use the customer's value" for these (the spec's words).
        for own, theirs in (
            ("InvoiceAddress1", "InvoiceAddress1"),
            ("InvoiceAddress2", "InvoiceAddress2"),
            ("DeliveryCustomerName", "DeliveryCustomerName"),
            ("DeliveryAddress1", "DeliveryAddress1"),
            ("DeliveryAddress2", "DeliveryAddress2"),
            ("DeliveryPostalCode", "DeliveryPostalCode"),
            ("DeliveryCity", "DeliveryCity"),
            ("DeliveryCountryCode", "DeliveryCountryCode"),
        ):
            if record.get(own) is None:
                value = customer.get(theirs)
                limit = spec("CustomerInvoiceDraftApi")[own].max_length
                record[own] = value[:limit] if isinstance(value, str) and limit else value
        for name in ("SalesDocumentAttachments", "MessageThreads", "Notes"):
            record[name] = record.get(name) or []
        currency = record["InvoiceCurrencyCode"] or "SEK"
        totals = self._totals(company, record["Rows"], currency)
        record.update(
            TotalAmount=float(totals["total"]),
            TotalVatAmount=float(totals["vat"]),
            TotalRoundings=float(totals["roundings"]),
            TotalAmountBaseCurrency=money(totals["total"] * totals["rate"]),
            TotalVatAmountBaseCurrency=money(totals["vat"] * totals["rate"]),
        )

    def _convert_draft(self, request: Request, ctx: ApiContext) -> Response:
        draft = self._find(ctx.company, "customerInvoiceDrafts", request.path_params["id"], "draft")
        body = None
        if request.body.strip():
            body = self._validate("CustomerInvoiceDraftValidationApi", request.json())
            body["Rows"] = request.json().get("Rows")
        invoice = self._convert(
            ctx.company,
            draft,
            keep_date=_bool_arg(request, "keepOriginalDraftDate"),
            override_company=_bool_arg(request, "overrideCompanyKeepOriginalDraftDate"),
            validation=body,
        )
        return Response.json(201, self._render_invoice(ctx.company, invoice))

    def _convert(
        self,
        company: Company,
        draft: Record,
        *,
        keep_date: bool = False,
        override_company: bool = False,
        validation: Record | None = None,
        send_type: int | None = None,
    ) -> Record:
        """Book a draft as a customer invoice (the API's ``/convert`` and the UI's "Bokför")."""
        if not any(not r.get("IsTextRow") for r in draft.get("Rows") or []):
            raise validation_error(
                [field_error("Rows", "The draft has no article rows to invoice.")]
            )
        customer = self._customer_for(company, draft["CustomerId"])
        if validation:
            self._check_validation(draft, validation)
        for row in draft["Rows"]:
            if row.get("IsTextRow"):
                continue
            article = company.coll("articles").get(row.get("ArticleId") or "") or {}
            coding = company.coll("articleAccountCodings").get(article.get("CodingId") or "") or {}
            if coding.get("DomesticSalesSubjectToVatAccountNumber") is None:
                raise ApiError(
                    400,
                    4024,
                    "SalesAccountNumberMissingException - "
                    f"coding '{coding.get('Name')}' has no sales account",
                )
        keep = (
            keep_date
            if override_company
            else keep_date or bool(company.settings.get("KeepOriginalDraftDate"))
        )
        today = self.today()
        draft_day = parse_moment(draft["InvoiceDate"]).date() if draft.get("InvoiceDate") else None
        if keep:
            invoice_day = draft_day or parse_moment(draft["CreatedUtc"]).date()
        else:
            invoice_day = draft_day if draft_day and draft_day > today else today
        terms = company.coll("termsOfPayments").get(draft.get("TermsOfPaymentId") or "") or {}
        if keep and draft.get("DueDate"):
            due = draft["DueDate"]
        else:
            due = iso_day(invoice_day + timedelta(days=int(terms.get("NumberOfDays") or 0)))
        header = {
            k: draft.get(k)
            for k in spec("CustomerInvoiceApi")
            if k in draft and not spec("CustomerInvoiceApi")[k].readonly
        }
        if not self.switches.convert_keeps_references:
            for name in (
                "YourReference",
                "OurReference",
                "BuyersOrderReference",
                "ContractNumber",
                "SubscriptionNumber",
            ):
                header[name] = None
        header.update(InvoiceDate=iso_day(invoice_day), DueDate=due, SendType=send_type)
        header["CreatedFromDraftId"] = (
            draft["Id"] if self.switches.convert_sets_created_from_draft_id else None
        )
        rows = [self._invoice_row_from_draft(r) for r in draft["Rows"]]
        invoice = self._book(company, header, rows, customer, from_draft=draft)
        if self.switches.convert_deletes_draft:
            company.coll("customerInvoiceDrafts").pop(draft["Id"], None)
        return invoice

    @staticmethod
    def _check_validation(draft: Record, validation: Record) -> None:
        errors = []
        for name, ours in (
            ("TotalAmountInvoiceCurrency", draft["TotalAmount"]),
            ("TotalVatAmountInvoiceCurrency", draft["TotalVatAmount"]),
            ("TotalRoundingsInvoiceCurrency", draft["TotalRoundings"]),
        ):
            theirs = validation.get(name)
            if theirs is not None and abs(dec(theirs) - dec(ours)) > Decimal("0.005"):
                errors.append(field_error(name, f"{name} is {ours}, not {theirs}."))
        by_line = {r["LineNumber"]: r for r in draft["Rows"]}
        for check in validation.get("Rows") or []:
            if not isinstance(check, dict):
                continue
            row = by_line.get(check.get("LineNumber"))
            expected = check.get("TotalAmountNoVatInvoiceCurrency")
            if (
                row is not None
                and expected is not None
                and abs(dec(expected) - dec(row["Amount"])) > Decimal("0.005")
            ):
                errors.append(
                    field_error(
                        f"Rows[{row['LineNumber']}]",
                        f"Row amount is {row['Amount']}, not {expected}.",
                    )
                )
        if errors:
            raise validation_error(errors)

    @staticmethod
    def _invoice_row_from_draft(row: Record) -> Record:
        out = _defaults("CustomerInvoiceRowApi")
        out.update({k: row[k] for k in out if k in row})
        out["Id"] = str(uuid.uuid4())
        out["AmountNoVat"] = row.get("Amount") or 0.0
        out["PercentVat"] = row.get("VatRate") or 0.0
        out["IsVatFree"] = False
        out["ContributionMargin"] = {"Amount": None, "Percentage": None}
        return out

    def _book(
        self,
        company: Company,
        header: Record,
        rows: list[Record],
        customer: Record,
        *,
        from_draft: Record | None = None,
    ) -> Record:
        """Create a booked customer invoice: number, OCR, voucher, amounts, unpaid."""
        invoice = _defaults("CustomerInvoiceApi")
        invoice.update(header)
        currency = customer.get("CurrencyCode") or company.settings.get("CurrencyCode") or "SEK"
        totals = self._totals(company, rows, currency)
        number = self._next_invoice_number(company)
        now = iso(self.now())
        base_total = round_away(totals["total"] * totals["rate"])
        invoice.update(
            Id=str(uuid.uuid4()),
            Rows=rows,
            CustomerId=customer["Id"],
            CustomerNumber=customer.get("CustomerNumber"),
            CustomerName=customer.get("Name"),
            CustomerEmail=customer.get("EmailAddress"),
            CustomerIsPrivatePerson=bool(customer.get("IsPrivatePerson")),
            InvoiceCustomerName=customer.get("Name"),
            CurrencyCode=currency,
            CurrencyRate=float(totals["rate"]),
            InvoiceNumber=number,
            PaymentReferenceNumber=ocr_number(number)
            if company.settings.get("UsesPaymentReferenceNumber")
            else None,
            TotalAmount=float(base_total),
            TotalVatAmount=money(totals["vat"] * totals["rate"]),
            TotalRoundings=money(totals["roundings"] * totals["rate"]),
            TotalAmountInvoiceCurrency=float(totals["total"]),
            TotalVatAmountInvoiceCurrency=float(totals["vat"]),
            SetOffAmountInvoiceCurrency=0.0,
            RemainingAmount=float(base_total),
            RemainingAmountInvoiceCurrency=float(totals["total"]),
            VatSpecification=totals["specification"],
            PaymentStatus=1,
            PaymentDate=None,
            IsNotDelivered=False,
            HasAutoInvoiceError=False,
            VoucherNumber=f"KF{number}",
            VoucherId=str(uuid.uuid4()),
            CreatedUtc=now,
            ModifiedUtc=now,
            ReverseChargeOnConstructionServices=bool(
                customer.get("ReverseChargeOnConstructionServices")
            ),
            CreditedBy=[],
            SalesDocumentAttachments=[],
            MessageThreads=[],
            Notes=[],
            ContributionMargin={"Amount": None, "Percentage": None},
            TermsOfPaymentId=header.get("TermsOfPaymentId") or customer["TermsOfPaymentId"],
        )
        for name in (
            "InvoiceAddress1",
            "InvoiceAddress2",
            "InvoicePostalCode",
            "InvoiceCity",
            "InvoiceCountryCode",
            "DeliveryCustomerName",
            "DeliveryAddress1",
            "DeliveryAddress2",
            "DeliveryPostalCode",
            "DeliveryCity",
            "DeliveryCountryCode",
        ):
            source = from_draft if from_draft is not None else {}
            value = source.get(name) if source.get(name) is not None else customer.get(name)
            invoice[name] = value
        if invoice.get("IsCreditInvoice") is None:
            invoice["IsCreditInvoice"] = False
        company.coll("customerInvoices")[invoice["Id"]] = invoice
        self._refresh_unpaid(company, customer)
        return invoice

    def _next_invoice_number(self, company: Company) -> int:
        numbers = [i.get("InvoiceNumber") or 0 for i in company.coll("customerInvoices").values()]
        return max([0, *numbers]) + 1

    def _render_invoice(self, company: Company, record: Record) -> Record:
        """Overdue (2) is a computed state: unpaid and past its due date today."""
        out = record
        overdue = (
            record.get("PaymentStatus") == 1
            and record.get("DueDate")
            and parse_moment(record["DueDate"]).date() < self.today()
        )
        if overdue or self.switches.date_only_due_dates:
            out = dict(record)
            if overdue:
                out["PaymentStatus"] = 2
            if self.switches.date_only_due_dates and out.get("DueDate"):
                out["DueDate"] = out["DueDate"][:10]
        return out

    def _post_invoice(self, request: Request, ctx: ApiContext) -> Response:
        """``POST /customerinvoices``: book a new invoice, or a draft via ``CreatedFromDraftId``."""
        body = request.json()
        lowered = {k.lower(): v for k, v in body.items()} if isinstance(body, dict) else {}
        draft_id = str(lowered.get("createdfromdraftid") or "").lower()
        send_type = lowered.get("sendtype")
        if draft_id:
            draft = self._find(ctx.company, "customerInvoiceDrafts", draft_id, "draft")
            invoice = self._convert(
                ctx.company, draft, send_type=send_type if isinstance(send_type, int) else None
            )
            invoice["CreatedFromDraftId"] = draft["Id"]  # the documented purpose of the field
            return Response.json(201, self._render_invoice(ctx.company, invoice))
        clean = self._validate(
            "CustomerInvoiceApi", body, lenient=("EuThirdParty", "RotReducedInvoicingType", "Rows")
        )
        customer = self._customer_for(ctx.company, clean["CustomerId"])
        rows = self._sales_rows(
            ctx.company,
            lowered.get("rows"),
            customer,
            row_schema="CustomerInvoiceRowApi",
            existing_rows=None,
            replace_zero_price=bool(clean.get("ReplaceUnitPriceWhenZero")),
        )
        if not any(not r.get("IsTextRow") for r in rows):
            raise validation_error(
                [field_error("Rows", "The invoice needs at least one article row.")]
            )
        today = self.today()
        invoice_day = (
            parse_moment(clean["InvoiceDate"]).date() if clean.get("InvoiceDate") else today
        )
        terms = (
            ctx.company.coll("termsOfPayments").get(
                clean.get("TermsOfPaymentId") or customer["TermsOfPaymentId"]
            )
            or {}
        )
        clean["InvoiceDate"] = iso_day(invoice_day)
        clean["DueDate"] = clean.get("DueDate") or iso_day(
            invoice_day + timedelta(days=int(terms.get("NumberOfDays") or 0))
        )
        clean["CreatedFromDraftId"] = None
        invoice = self._book(ctx.company, clean, rows, customer)
        return Response.json(201, self._render_invoice(ctx.company, invoice))

    def _invoice_pdf(self, request: Request, ctx: ApiContext) -> Response:
        invoice = self._find(
            ctx.company, "customerInvoices", request.path_params["id"], "customer invoice"
        )
        url = f"https://eaccounting.sandbox.invalid/pdf/{invoice['Id']}.pdf"
        return Response.json(200, {"Url": url})

    # -- supplier invoices -------------------------------------------------------------------

    def _render_supplier_invoice(self, company: Company, record: Record) -> Record:
        if (
            self.switches.supplier_rows_include_vat_and_payables
            and not self.switches.date_only_due_dates
        ):
            return record
        out = dict(record)
        if not self.switches.supplier_rows_include_vat_and_payables:
            out["Rows"] = [
                r
                for r in record.get("Rows") or []
                if not _is_vat_or_payables(r.get("AccountNumber"))
            ]
        if self.switches.date_only_due_dates and out.get("DueDate"):
            out["DueDate"] = out["DueDate"][:10]
        return out

    def _post_supplier_invoice(self, request: Request, ctx: ApiContext) -> Response:
        invoice = self._supplier_invoice_from(ctx.company, request.json(), origin=2)
        return Response.json(201, self._render_supplier_invoice(ctx.company, invoice))

    def _supplier_invoice_from(
        self, company: Company, body: Any, *, origin: int, strict_decimals: bool = True
    ) -> Record:
        clean = self._validate("SupplierInvoiceApi", body)
        supplier = company.coll("suppliers").get(clean["SupplierId"] or "")
        if supplier is None:
            raise missing_reference("SupplierId", "The supplier")
        raw_rows = body.get("Rows") if isinstance(body, dict) else None
        rows: list[Record] = []
        debit = credit = Decimal(0)
        for index, raw in enumerate(raw_rows or []):
            prefix = f"Rows[{index}]."
            row = {
                **_defaults("SupplierInvoiceRowApi"),
                **self._validate("SupplierInvoiceRowApi", raw, prefix=prefix),
            }
            if not row.get("AccountNumber"):
                raise validation_error(
                    [field_error(prefix + "AccountNumber", "The AccountNumber field is required.")]
                )
            if strict_decimals:
                for name in ("DebetAmount", "CreditAmount"):
                    if decimals_of(row[name]) > 2:
                        raise validation_error(
                            [field_error(prefix + name, f"{name} allows at most 2 decimals.")]
                        )
            self._row_references(company, row, prefix)
            row["Id"] = str(uuid.uuid4())
            row["LineNumber"] = index + 1
            row["AccountName"] = _ACCOUNT_NAMES.get(
                int(row["AccountNumber"]), "Konto " + str(row["AccountNumber"])
            )
            debit += dec(row["DebetAmount"])
            credit += dec(row["CreditAmount"])
            rows.append(row)
        if rows and round_away(debit) != round_away(credit):
            raise ApiError(
                400,
                4032,
                "SupplierInvoiceDoesntBalanceException - "
                f"debit {debit} does not equal credit {credit}",
            )
        total = dec(clean["TotalAmount"])
        number = (
            max([0, *(i.get("Number") or 0 for i in company.coll("supplierInvoices").values())]) + 1
        )
        now = iso(self.now())
        record = {**_defaults("SupplierInvoiceApi"), **clean}
        invoice_day = (
            parse_moment(clean["InvoiceDate"]).date() if clean.get("InvoiceDate") else self.today()
        )
        record.update(
            Id=str(uuid.uuid4()),
            Rows=rows,
            InvoiceDate=iso_day(invoice_day),
            DueDate=clean.get("DueDate") or iso_day(invoice_day + timedelta(days=30)),
            SupplierName=supplier.get("Name"),
            SupplierNumber=supplier.get("SupplierNumber"),
            CurrencyCode=clean.get("CurrencyCode") or company.settings.get("CurrencyCode"),
            CurrencyRate=float(clean.get("CurrencyRate") or 1.0),
            Number=number,
            NumberSeries="LF",
            VoucherNumber=f"LF{number}",
            VoucherId=str(uuid.uuid4()),
            CreatedUtc=now,
            ModifiedUtc=now,
            # A liability: negative on a normal invoice, positive on a credit (notes §7.7).
            RemainingAmount=float(-total),
            RemainingAmountInvoiceCurrency=float(-total),
            Status=1,
            PaymentStatus=3,
            PaymentFileStatus=0,
            IsDomestic=(clean.get("CurrencyCode") or "SEK") == company.settings.get("CurrencyCode"),
            SupplierInvoiceOrigin=origin,
            OffsetInvoiceIds=[],
            AllocationPeriods=[],
            Attachments=[],
            MessageThreads=[],
            Notes=[],
            BankAccountId=stable_id("bankaccount", company.id),
        )
        company.coll("supplierInvoices")[record["Id"]] = record
        return record

    # -- dump and seed ----------------------------------------------------------------------

    def _bo_company(self) -> Company:
        try:
            return self.company_by(_BO_COMPANY.get())
        except KeyError:
            raise ApiError(404, 3000, f"no company {_BO_COMPANY.get()!r}") from None

    def dump_store(self) -> dict[str, Any]:
        """The chosen company's store (``?company=`` id or name; default Demokonsult AB),
        one key per collection, records as the API shows them."""
        try:
            company = self._bo_company()
        except ApiError:
            company = self.companies[DEMO_COMPANY_ID]
        with self.lock:
            out: dict[str, Any] = {"companySettings": copy.deepcopy(company.settings)}
            for name in COLLECTIONS:
                if name == "companySettings":
                    continue
                out[name] = copy.deepcopy(self._records(company, name))
            return out

    def empty_store(self) -> dict[str, Any]:
        return {name: [] for name in COLLECTIONS if name != "companySettings"}

    def seed_store(self, payload: dict[str, Any], *, replace: bool) -> dict[str, int]:
        company = self._bo_company()
        with self.lock:
            return self._seed_company(company, payload, replace=replace)

    def _seed_company(
        self, company: Company, payload: dict[str, Any], *, replace: bool
    ) -> dict[str, int]:
        """Load wire-format records; missing fields get defaults and derived fields are
        filled in, so a seed may be sparse while a dump → seed round trip is exact."""
        if replace:
            company.clear()
        if "companySettings" in payload or replace:
            company.settings = self._default_settings(
                company,
                {**(company.settings if not replace else {}), **payload.get("companySettings", {})},
            )
        counts: dict[str, int] = {}
        for name in COLLECTIONS:
            if name == "companySettings" or name not in payload:
                continue
            records = payload[name]
            if not isinstance(records, list):
                raise ValueError(f"{name} must be a list of records")
            for raw in records:
                self._seed_record(company, name, copy.deepcopy(raw))
            counts[name] = len(records)
        unpaid: dict[str, Decimal] = {}
        last: dict[str, str] = {}
        for invoice in company.coll("customerInvoices").values():
            owner = invoice.get("CustomerId") or ""
            unpaid[owner] = unpaid.get(owner, Decimal(0)) + dec(invoice.get("RemainingAmount"))
            day = invoice.get("InvoiceDate")
            if day and (owner not in last or day > last[owner]):
                last[owner] = day
        for customer in company.coll("customers").values():
            customer["UnpaidInvoicesAmount"] = money(unpaid.get(customer["Id"], Decimal(0)))
            customer["LastInvoiceDate"] = last.get(customer["Id"])
        return counts

    def _seed_record(self, company: Company, name: str, raw: Record) -> None:
        schema = _SCHEMA_OF.get(name)
        key = "Code" if name in ("countries", "currencies") else "Id"
        if name == "suppliers":
            record = {"Id": raw.get("Id") or str(uuid.uuid4()), **raw}
            record["Id"] = record["Id"].lower()
            company.coll(name)[record["Id"]] = record
            return
        assert schema is not None  # noqa: S101 - every other collection has a schema
        record = {**_defaults(schema), **raw}
        if key == "Id":
            record["Id"] = str(record.get("Id") or uuid.uuid4()).lower()
        now = iso(self.now())
        for f in spec(schema).values():
            if f.kind != "dt":
                continue
            if isinstance(record.get(f.name), str):
                record[f.name] = iso(parse_moment(record[f.name]))
            elif not f.nullable and not record.get(f.name):
                record[f.name] = now
        if name == "costCenters":
            items = record.pop("Items", None) or []
            company.coll(name)[record["Id"]] = record
            for item in items:
                item = {**_defaults("CostCenterItemApi"), **item, "CostCenterId": record["Id"]}
                item["Id"] = str(item.get("Id") or uuid.uuid4()).lower()
                item["CreatedUtc"] = item.get("CreatedUtc") or now
                company.coll("costCenterItems")[item["Id"]] = item
            return
        if name == "customers":
            self._customer_computed(company, record, unpaid=False)  # one pass at the end
        elif name == "articles":
            self._article_computed(company, record)
        elif name == "projects":
            customer = company.coll("customers").get(record.get("CustomerId") or "")
            record["CustomerName"] = customer["Name"] if customer else None
        elif name == "customerInvoiceDrafts":
            customer = company.coll("customers").get(record.get("CustomerId") or "")
            if customer is not None and "TotalAmount" not in raw:
                record["Rows"] = self._sales_rows(
                    company,
                    raw.get("Rows"),
                    customer,
                    row_schema="CustomerInvoiceDraftRowApi",
                    existing_rows=None,
                    replace_zero_price=False,
                )
                record["TermsOfPaymentId"] = (
                    record.get("TermsOfPaymentId") or customer["TermsOfPaymentId"]
                )
                self._draft_computed(company, record, customer)
        elif name == "customerInvoices" and "TotalAmount" not in raw:
            self._seed_invoice(company, record, raw)
            return
        elif name == "supplierInvoices":
            for index, row in enumerate(record.get("Rows") or []):
                row.update({**_defaults("SupplierInvoiceRowApi"), **row})
                row["Id"] = str(row.get("Id") or uuid.uuid4()).lower()
                row["LineNumber"] = row.get("LineNumber") or index + 1
                row["AccountName"] = row.get("AccountName") or _ACCOUNT_NAMES.get(
                    int(row["AccountNumber"])
                )
        if key == "Code":
            company.coll(name)[record["Code"]] = record
        else:
            company.coll(name)[record["Id"]] = record

    def _seed_invoice(self, company: Company, record: Record, raw: Record) -> None:
        """A sparse invoice seed is booked for real: customer, rows and dates in, amounts,
        OCR and voucher out. ``InvoiceNumber``/``CreatedUtc``/``ModifiedUtc``/``SendType``
        are kept when given; ``PaidAmount`` + ``PaymentDate`` register a payment."""
        customer = self._customer_for(company, record.get("CustomerId"))
        rows = self._sales_rows(
            company,
            raw.get("Rows"),
            customer,
            row_schema="CustomerInvoiceRowApi",
            existing_rows=None,
            replace_zero_price=False,
        )
        header_in = {k: v for k, v in raw.items() if k not in ("Rows", "PaidAmount")}
        header = self._validate(
            "CustomerInvoiceApi",
            header_in,
            lenient=("EuThirdParty", "RotReducedInvoicingType", "Rows"),
        )
        terms = (
            company.coll("termsOfPayments").get(
                header.get("TermsOfPaymentId") or customer["TermsOfPaymentId"]
            )
            or {}
        )
        day = (
            parse_moment(header["InvoiceDate"]).date()
            if header.get("InvoiceDate")
            else self.today()
        )
        header["InvoiceDate"] = iso_day(day)
        if not header.get("DueDate"):
            header["DueDate"] = iso_day(day + timedelta(days=int(terms.get("NumberOfDays") or 0)))
        invoice = self._book(company, header, rows, customer)
        del company.coll("customerInvoices")[invoice["Id"]]
        invoice["Id"] = record["Id"]
        for name in ("InvoiceNumber", "CreatedUtc", "ModifiedUtc"):
            if raw.get(name) is not None:
                invoice[name] = (
                    raw[name] if name == "InvoiceNumber" else iso(parse_moment(raw[name]))
                )
        number = int(invoice["InvoiceNumber"])
        if company.settings.get("UsesPaymentReferenceNumber"):
            invoice["PaymentReferenceNumber"] = ocr_number(number)
        invoice["VoucherNumber"] = f"KF{number}"
        company.coll("customerInvoices")[invoice["Id"]] = invoice
        if raw.get("PaidAmount"):
            self._apply_payment(
                company, invoice, dec(raw["PaidAmount"]), raw.get("PaymentDate"), touch=False
            )

    # -- back office -------------------------------------------------------------------------

    def _bo_switches(self, request: Request) -> Response:
        return Response.json(200, self.switches.as_dict())

    def _bo_set_switches(self, request: Request) -> Response:
        try:
            with self.lock:
                self.switches.update(request.json())
        except (ValueError, AttributeError) as exc:
            return Response.json(400, {"error": str(exc)})
        return Response.json(200, self.switches.as_dict())

    def _bo_companies(self, request: Request) -> Response:
        return Response.json(
            200,
            [
                {
                    "id": c.id,
                    "name": c.name,
                    "apiModule": c.api_module,
                    "counts": {k: len(v) for k, v in c.data.items()},
                }
                for c in self.companies.values()
            ],
        )

    def _bo_revoke(self, request: Request) -> Response:
        """Revoke every refresh token (and access token) issued for a company — what a
        password change or a revoked consent does; the next refresh gets invalid_grant."""
        try:
            company = self._bo_company()
        except ApiError as exc:
            return exc.response()
        with self.lock:
            count = self._revoke_where(lambda g: g.company_id == company.id)
        return Response.json(200, {"revoked": count, "company": company.id})

    def _bo_target(self, request: Request) -> tuple[Company, Record | None]:
        company = self._bo_company()
        payload = request.json() if request.body.strip() else {}
        return company, payload if isinstance(payload, dict) else None

    def _bo_edit(self, request: Request) -> Response:
        """A person edits a record in eEkonomi's UI: fields merge in (no API validation, no
        full replace), derived fields are recomputed and the change stamp moves."""
        path_name = request.path_params["collection"].lower()
        collection = _BO_COLLECTIONS.get(path_name)
        if collection is None:
            return Response.json(404, {"error": f"unknown collection {path_name!r}"})
        try:
            company, changes = self._bo_target(request)
            with self.lock:
                record = self._find(company, collection, request.path_params["id"], path_name)
                record.update({k: v for k, v in (changes or {}).items() if k != "Id"})
                company.coll(collection)[record["Id"]] = record  # re-index a new number
                _normalize_dates(_SCHEMA_OF[collection], record)
                now = iso(self.now())
                for stamp in ("ChangedUtc", "ModifiedUtc"):
                    if stamp in record:
                        record[stamp] = now
                if collection == "customers":
                    self._customer_computed(company, record)
                elif collection == "articles":
                    self._article_computed(company, record)
                elif collection == "customerInvoiceDrafts":
                    self._draft_computed(
                        company, record, self._customer_for(company, record["CustomerId"])
                    )
                render = self._renderer(collection)
                return Response.json(200, render(company, record))
        except ApiError as exc:
            return exc.response()

    def _bo_convert(self, request: Request) -> Response:
        """A person books a draft in the UI (``SendType`` optional), under the switches."""
        try:
            company, payload = self._bo_target(request)
            with self.lock:
                draft = self._find(
                    company, "customerInvoiceDrafts", request.path_params["id"], "draft"
                )
                send_type = (payload or {}).get("SendType")
                invoice = self._convert(company, draft, send_type=send_type)
                return Response.json(201, self._render_invoice(company, invoice))
        except ApiError as exc:
            return exc.response()

    def _bo_send(self, request: Request) -> Response:
        """Mark an invoice sent: ``{"SendType": 1, "IsNotDelivered": false}``."""
        try:
            company, payload = self._bo_target(request)
            payload = payload or {}
            with self.lock:
                invoice = self._find(
                    company, "customerInvoices", request.path_params["id"], "invoice"
                )
                invoice["SendType"] = int(payload.get("SendType", 1))
                invoice["IsNotDelivered"] = bool(payload.get("IsNotDelivered", False))
                invoice["HasAutoInvoiceError"] = bool(payload.get("HasAutoInvoiceError", False))
                invoice["ModifiedUtc"] = iso(self.now())
                return Response.json(200, self._render_invoice(company, invoice))
        except ApiError as exc:
            return exc.response()

    def _bo_pay(self, request: Request) -> Response:
        """Register a payment: ``{"Amount": 500, "PaymentDate": "2026-05-01"}``; without
        ``Amount`` the rest is paid."""
        try:
            company, payload = self._bo_target(request)
            payload = payload or {}
            with self.lock:
                invoice = self._find(
                    company, "customerInvoices", request.path_params["id"], "invoice"
                )
                amount = (
                    dec(payload["Amount"])
                    if payload.get("Amount") is not None
                    else dec(invoice["RemainingAmount"])
                )
                self._apply_payment(
                    company, invoice, amount, payload.get("PaymentDate"), touch=True
                )
                return Response.json(200, self._render_invoice(company, invoice))
        except ApiError as exc:
            return exc.response()

    def _apply_payment(
        self, company: Company, invoice: Record, amount: Decimal, day: str | None, *, touch: bool
    ) -> None:
        remaining = dec(invoice["RemainingAmount"]) - amount
        rate = dec(invoice.get("CurrencyRate") or 1)
        if (remaining <= 0 < dec(invoice["TotalAmount"])) or (
            remaining >= 0 > dec(invoice["TotalAmount"])
        ):
            remaining = Decimal(0)
        invoice["RemainingAmount"] = money(remaining)
        invoice["RemainingAmountInvoiceCurrency"] = (
            money(remaining / rate) if rate else money(remaining)
        )
        invoice["PaymentDate"] = iso(parse_moment(day)) if day else iso_day(self.today())
        if remaining == 0:
            invoice["PaymentStatus"] = 0
        if touch:
            invoice["ModifiedUtc"] = iso(self.now())
        customer = company.coll("customers").get(invoice["CustomerId"])
        if customer is not None:
            self._refresh_unpaid(company, customer)

    def _bo_book_supplier_invoice(self, request: Request) -> Response:
        """Book a supplier invoice as a person would: same rules as ``POST /supplierinvoices``
        (rows must balance), but ``SupplierName`` may stand in for ``SupplierId`` (the
        supplier is created) and amounts may carry more than 2 decimals (imported data)."""
        try:
            company, payload = self._bo_target(request)
            payload = dict(payload or {})
            with self.lock:
                if not payload.get("SupplierId") and payload.get("SupplierName"):
                    name = str(payload.pop("SupplierName"))
                    supplier = next(
                        (s for s in company.coll("suppliers").values() if s["Name"] == name), None
                    )
                    if supplier is None:
                        number = len(company.coll("suppliers")) + 1
                        supplier = {
                            "Id": stable_id("supplier", company.id, name),
                            "SupplierNumber": str(number),
                            "Name": name,
                        }
                        company.coll("suppliers")[supplier["Id"]] = supplier
                    payload["SupplierId"] = supplier["Id"]
                invoice = self._supplier_invoice_from(
                    company, payload, origin=0, strict_decimals=False
                )
                return Response.json(201, self._render_supplier_invoice(company, invoice))
        except ApiError as exc:
            return exc.response()

    def _bo_deactivate_project(self, request: Request) -> Response:
        """Finish a project in the UI (``Status`` 2, ``EndDate`` today)."""
        try:
            company, _ = self._bo_target(request)
            with self.lock:
                project = self._find(company, "projects", request.path_params["id"], "project")
                project.update(Status=2, EndDate=project.get("EndDate") or iso_day(self.today()))
                project["ModifiedUtc"] = iso(self.now())
                return Response.json(200, project)
        except ApiError as exc:
            return exc.response()

    def _bo_deactivate_item(self, request: Request) -> Response:
        """Deactivate a cost-center item in the UI (rows using it then answer 5006)."""
        try:
            company, _ = self._bo_target(request)
            with self.lock:
                item = self._find(
                    company, "costCenterItems", request.path_params["id"], "cost center item"
                )
                item["IsActive"] = False
                return Response.json(200, item)
        except ApiError as exc:
            return exc.response()


# -- helpers --------------------------------------------------------------------------------

_SCHEMA_OF = {
    "units": "UnitApi",
    "termsOfPayments": "TermsOfPaymentApi",
    "countries": "CountryApi",
    "currencies": "CurrencyApi",
    "articleAccountCodings": "ArticleAccountCodingApi",
    "customers": "CustomerApi",
    "articles": "ArticleApi",
    "costCenters": "CostCenterApi",
    "costCenterItems": "CostCenterItemApi",
    "projects": "ProjectApi",
    "customerInvoiceDrafts": "CustomerInvoiceDraftApi",
    "customerInvoices": "CustomerInvoiceApi",
    "supplierInvoices": "SupplierInvoiceApi",
}

_BO_COLLECTIONS = {
    "customers": "customers",
    "articles": "articles",
    "projects": "projects",
    "costcenters": "costCenters",
    "costcenteritems": "costCenterItems",
    "customerinvoicedrafts": "customerInvoiceDrafts",
    "customerinvoices": "customerInvoices",
    "supplierinvoices": "supplierInvoices",
}

_ACCOUNT_NAMES = {
    2440: "Leverantörsskulder",
    2640: "Ingående moms",
    2641: "Debiterad ingående moms",
    2645: "Beräknad ingående moms på förvärv från utlandet",
    4010: "Inköp material och varor",
    4600: "Legoarbeten och underentreprenader",
    5410: "Förbrukningsinventarier",
    5611: "Drivmedel för personbilar",
    5800: "Resekostnader",
    5810: "Biljetter",
    5831: "Kost och logi i Sverige",
    6212: "Mobiltelefon",
    6540: "IT-tjänster",
    6550: "Konsultarvoden",
}


def _normalize_dates(schema: str, record: Record) -> None:
    """Give every top-level date-time of a record its one stored spelling (see :func:`iso`)."""
    for f in spec(schema).values():
        if f.kind == "dt" and isinstance(record.get(f.name), str):
            try:
                record[f.name] = iso(parse_moment(record[f.name]))
            except ValueError:
                raise ApiError(
                    400, 6001, f"InvalidInputException - {f.name}: not a date-time"
                ) from None


def _is_vat_or_payables(account: Any) -> bool:
    return isinstance(account, int) and (account == 2440 or 2600 <= account <= 2699)


def _zero(f: FieldSpec) -> Any:
    return {"bool": False, "int": 0, "num": 0.0, "str": "", "list": []}.get(f.kind)


def _defaults(schema: str) -> Record:
    """Every emitted property of a schema at its empty value (objects are added by code)."""
    out: Record = {}
    for f in spec(schema).values():
        if f.kind == "obj":
            continue
        if f.nullable:
            out[f.name] = None
        elif f.kind == "uuid":
            out[f.name] = "00000000-0000-0000-0000-000000000000"
        elif f.kind == "dt":
            out[f.name] = None  # filled by the resource code (non-null timestamps)
        else:
            out[f.name] = _zero(f)
    return out


def _type_problem(f: FieldSpec, value: Any) -> str | None:
    ok: bool
    if f.kind == "bool":
        ok = isinstance(value, bool)
    elif f.kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif f.kind == "num":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif f.kind == "str":
        ok = isinstance(value, str)
    elif f.kind == "uuid":
        ok = isinstance(value, str) and bool(_GUID_RE.match(value))
    elif f.kind == "dt":
        try:
            ok = isinstance(value, str) and parse_moment(value) is not None
        except ValueError:
            ok = False
    elif f.kind == "list":
        ok = isinstance(value, list)
    else:
        ok = True
    return None if ok else f"The value {json.dumps(value)[:60]} is not valid for {f.name}."


def _num(value: float | None) -> str:
    if value is None:
        return "∞"
    return str(int(value)) if float(value).is_integer() else str(value)


def _int_arg(request: Request, name: str, default: int) -> int:
    raw = request.arg(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, 6000, f"QueryParameterException - {name} must be an integer") from None


def _bool_arg(request: Request, name: str) -> bool:
    return (request.arg(name) or "false").lower() == "true"


def _page(status: int, title: str, body: str) -> Response:
    document = f"""<!DOCTYPE html>
<html lang="sv"><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>
<body><h1>{html.escape(title)}</h1>
{body}
</body></html>"""
    return Response.text(status, document, "text/html")


def _redirect(uri: str, **params: str | None) -> Response:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    separator = "&" if urlsplit(uri).query else "?"
    return Response(302, b"", [("Location", f"{uri}{separator}{query}")])


def _oauth_error(error: str, description: str | None = None) -> Response:
    """IdentityServer answers every token error with 400 and ``{"error": ...}``."""
    body: Record = {"error": error}
    if description:
        body["error_description"] = description
    return Response.json(400, body, [("Cache-Control", "no-store")])


# fmt: off
_SPEC_TEXT = {
    "CustomerApi": """
        Id uuid ro
        InvoiceCity str req max=50
        InvoicePostalCode str req max=10
        GLN str? max=255
        EmailAddressOrder str? max=255
        EmailAddressQuote str? max=255
        PayToAccountId uuid? ro
        TermsOfPayment obj
        LastInvoiceDate dt? ro
        TaxDeductionNumber str?
        PropertyType int? range=1..2
        PropertyReference str? max=40
        ChangedUtc dt? ro
        CustomerLabels list?
        MessageThreads list? ro
        Notes list? ro
        IsFutureInvoiceDateAllowed bool ro
        Iban str? max=35
        IsDirectDebitEnabled bool?
        DirectDebitCustomerSettings obj
        DiscountAgreementId uuid?
        UnpaidInvoicesAmount num ro
        CustomerNumber str? max=16
        CorporateIdentityNumber str? max=20
        ContactPersonEmail str? max=255
        ContactPersonMobile str? max=50
        ContactPersonName str? max=100
        ContactPersonPhone str? max=50
        CurrencyCode str? max=3
        EmailAddress str? max=255
        InvoiceAddress1 str? max=50
        InvoiceAddress2 str? max=50
        InvoiceCountryCode str? max=2
        DeliveryAddress1 str? max=50
        DeliveryAddress2 str? max=50
        DeliveryCity str? max=50
        DeliveryCountryCode str? max=2
        DeliveryPostalCode str? max=10
        DeliveryCustomerName str? max=100
        DeliveryMethodId uuid?
        DeliveryTermId uuid?
        Name str req max=50
        Note str? max=4000
        ReverseChargeOnConstructionServices bool
        WebshopCustomerNumber int?
        MobilePhone str? max=50
        Telephone str? max=50
        TermsOfPaymentId uuid req
        VatNumber str? max=20
        WwwAddress str? max=255
        IsPrivatePerson bool req
        IsNorthernIreland bool?
        DiscountPercentage num range=0..1
        IsActive bool req
        ForceBookkeepVat bool
        EdiGlnNumber str? max=255
        SalesDocumentLanguage str? max=2
        ElectronicAddress str? max=255
        ElectronicReference str? max=35
        EdiServiceDelivererId str? max=255
        AutoInvoiceActivationEmailSentDate dt?
        AutoInvoiceRegistrationRequestSentDate dt?
        EmailAddresses list?
        DeliveryBasedVat bool
        SalesPriceListId uuid?
    """,
    "ArticleApi": """
        Id uuid ro
        IsActive bool req
        Number str req max=40
        Name str req max=50
        NameEnglish str? max=50
        NetPrice num range=0..99000000
        NetPriceWithDiscount num range=0..99000000
        GrossPrice num range=0..99000000
        CodingId uuid req
        CodingName str? ro
        UnitId uuid req
        UnitName str? ro
        UnitAbbreviation str? ro
        StockBalance num range=-1000000000000000..1000000000000000
        StockBalanceManuallyChangedUtc dt? ro
        StockBalanceReserved num ro
        StockBalanceAvailable num ro
        CreatedUtc dt ro
        ChangedUtc dt ro
        HouseWorkType int?
        PurchasePrice num range=0..99000000
        PurchasePriceManuallyChangedUtc dt? ro
        SendToWebshop bool
        UsesMoss bool
        ArticleLabels list?
        MessageThreads list? ro
        Notes list? ro
        Note str? max=4000
        IsStock bool
        ShowStockInformation bool ro
        IsServiceArticle bool ro
        StockLocationReference str?
        FreightCosts num range=0..99000000
        FreightCostsManuallyChangedUtc dt? ro
        UpdateStockPrices bool
        Barcodes list?
        StockValue num ro
        GreenTechnologyType int?
        DiscountPercentage num
        CurrencyCode str? max=3
        PurchasePriceWithCurrency num
        FreightCostWithCurrency num
        OrderingPoint num?
        SupplierId uuid?
        SupplierArticleNumber str? max=16
    """,
    "ArticleAccountCodingApi": """
        Id uuid ro
        Name str?
        NameEnglish str?
        Type str?
        VatRate str?
        IsActive bool
        VatRatePercent num
        DomesticSalesSubjectToReversedConstructionVatAccountNumber int?
        DomesticSalesSubjectToVatAccountNumber int?
        DomesticSalesVatExemptAccountNumber int?
        ForeignSalesSubjectToMossAccountNumber int?
        ForeignSalesSubjectToThirdPartySalesAccountNumber int?
        ForeignSalesSubjectToVatWithinEuAccountNumber int?
        ForeignSalesVatExemptOutsideEuAccountNumber int?
        ForeignSalesVatExemptWithinEuAccountNumber int?
        DomesticSalesVatCodeExemptAccountNumber int?
        ChangedUtc dt ro
    """,
    "UnitApi": """
        Id uuid ro
        Name str?
        Code str?
        Abbreviation str?
        AbbreviationEnglish str?
    """,
    "TermsOfPaymentApi": """
        Id uuid ro
        Name str?
        NameEnglish str?
        NumberOfDays int
        TermsOfPaymentTypeId int
        TermsOfPaymentTypeText str?
        AvailableForSales bool
        AvailableForPurchase bool
    """,
    "CountryApi": """
        Name str?
        NameEnglish str?
        Code str?
        IsEuMember bool
    """,
    "CurrencyApi": """
        Code str?
    """,
    "CostCenterApi": """
        Name str req max=20
        Number int ro
        IsActive bool
        Items list? ro
        Id uuid ro
    """,
    "CostCenterItemApi": """
        CostCenterId uuid req
        Id uuid? ro
        Name str req max=50
        ShortName str req max=9
        IsActive bool req
        CreatedUtc dt ro
    """,
    "ProjectApi": """
        Id uuid ro
        Number str req max=9
        Name str req max=200
        StartDate dt
        EndDate dt?
        CustomerId uuid?
        CustomerName str? ro
        Notes str? max=500
        Status int req
        ModifiedUtc dt ro
    """,
    "CustomerInvoiceDraftApi": """
        Id uuid ro
        CustomerId uuid req
        CreatedUtc dt? ro
        IsCreditInvoice bool
        RotReducedInvoicingType int req enum=0,1,2
        RotReducedInvoicingPropertyName str? max=40
        RotReducedInvoicingOrgNumber str? max=11
        MaxAllowedTaxReductionAmount num ro
        RotReducedInvoicingAmount num
        RotReducedInvoicingAutomaticDistribution bool
        RotPropertyType int?
        HouseWorkOtherCosts num?
        Rows list?
        Persons list?
        YourReference str? max=100
        OurReference str? max=100
        BuyersOrderReference str? max=35
        ElectronicReference str? max=100
        SubscriptionNumber str? max=100
        ContractNumber str? max=100
        InvoiceCustomerName str? ro max=50
        InvoiceAddress1 str? max=50
        InvoiceAddress2 str? max=50
        InvoicePostalCode str? ro max=10
        InvoiceCity str? ro max=50
        InvoiceCountryCode str? ro max=2
        InvoiceCurrencyCode str? ro
        DeliveryCustomerName str? max=50
        DeliveryAddress1 str? max=50
        DeliveryAddress2 str? max=50
        DeliveryPostalCode str? max=10
        DeliveryCity str? max=50
        DeliveryCountryCode str? max=2
        DeliveryMethodName str? max=50
        DeliveryTermName str? max=50
        TermsOfPaymentId uuid?
        DeliveryMethodCode str? max=20
        DeliveryTermCode str? max=20
        EuThirdParty bool req
        CustomerIsPrivatePerson bool ro
        ReverseChargeOnConstructionServices bool ro
        SalesDocumentAttachments list? ro
        MessageThreads list? ro
        Notes list? ro
        InvoiceDate dt?
        DueDate dt?
        DeliveryDate dt?
        TotalAmount num ro
        TotalVatAmount num ro
        TotalRoundings num ro
        TotalAmountBaseCurrency num ro
        TotalVatAmountBaseCurrency num ro
        CustomerNumber str? ro max=16
        CustomerName str? ro
        IncludesVat bool ro
        ReplaceUnitPriceWhenZero bool
        UsesGreenTechnology bool
        ContributionMargin obj
        IsDirectDebit bool?
        BackgroundId uuid?
    """,
    "CustomerInvoiceDraftRowApi": """
        Id uuid ro
        LineNumber int? range=0..1000
        ArticleId uuid?
        IsServiceArticle bool ro
        UnitId uuid? ro
        ArticleNumber str?
        IsTextRow bool req
        Text str? max=2000
        UnitPrice num
        IsDiscountInFixedAmount bool ro
        DiscountFixedAmount num? ro
        DiscountPercentage num range=0..1
        Quantity num
        WorkCostType int
        IsWorkCost bool
        WorkHours num?
        MaterialCosts num?
        ReversedConstructionServicesVatFree bool req
        CostCenterItemId1 uuid?
        CostCenterItemId2 uuid?
        CostCenterItemId3 uuid?
        UnitAbbreviation str?
        UnitAbbreviationEnglish str?
        VatRateId str? ro
        VatRate num? ro
        UnitName str?
        ProjectId uuid?
        GreenTechnologyType int range=0..3
        ContributionMargin obj
        PurchasePrice num ro
        Amount num ro
        FreightCosts num ro
    """,
    "CustomerInvoiceApi": """
        Id uuid ro
        EuThirdParty bool req
        IsCreditInvoice bool
        CurrencyCode str? ro
        CurrencyRate num?
        CreatedByUserId uuid? ro
        TotalAmount num ro
        TotalVatAmount num ro
        TotalRoundings num ro
        TotalAmountInvoiceCurrency num ro
        TotalVatAmountInvoiceCurrency num ro
        SetOffAmountInvoiceCurrency num ro
        CustomerId uuid req
        Rows list req
        VatSpecification list? ro
        InvoiceDate dt?
        DueDate dt?
        DeliveryDate dt?
        RotReducedInvoicingType int req range=0..2
        MaxAllowedTaxReductionAmount num ro
        RotReducedInvoicingAmount num?
        RotReducedInvoicingPercent num ro
        RotReducedInvoicingPropertyName str?
        RotReducedInvoicingOrgNumber str? max=11
        Persons list?
        RotReducedInvoicingAutomaticDistribution bool ro
        ElectronicReference str?
        SubscriptionNumber str? max=100
        ContractNumber str? max=100
        ElectronicAddress str? ro
        EdiServiceDelivererId str? max=50
        OurReference str? max=100
        YourReference str? max=100
        BuyersOrderReference str? max=35
        InvoiceCustomerName str? ro
        InvoiceAddress1 str? max=50
        InvoiceAddress2 str? max=50
        InvoicePostalCode str? max=50
        InvoiceCity str? max=50
        InvoiceCountryCode str? max=2
        DeliveryCustomerName str? max=100
        DeliveryAddress1 str? max=50
        DeliveryAddress2 str? max=50
        DeliveryPostalCode str? max=10
        DeliveryCity str? max=50
        DeliveryCountryCode str? max=2
        DeliveryMethodName str? ro
        DeliveryTermName str? ro
        DeliveryMethodCode str? ro
        DeliveryTermCode str? ro
        CustomerIsPrivatePerson bool ro
        TermsOfPaymentId uuid
        CustomerEmail str? ro
        InvoiceNumber int ro
        CustomerNumber str? ro
        CustomerName str? ro
        PaymentReferenceNumber str? ro
        RotPropertyType int? range=1..2
        SalesDocumentAttachments list? ro
        MessageThreads list? ro
        Notes list? ro
        HasAutoInvoiceError bool ro
        IsNotDelivered bool ro
        ReverseChargeOnConstructionServices bool ro
        WorkHouseOtherCosts num?
        RemainingAmount num ro
        RemainingAmountInvoiceCurrency num ro
        ReferringInvoiceId uuid? ro
        CreatedFromOrderId uuid? ro
        CreatedFromQuoteId uuid? ro
        CreatedFromDraftId uuid?
        VoucherNumber str? ro
        VoucherId uuid ro
        CreatedUtc dt? ro
        ModifiedUtc dt? ro
        ReversedConstructionVatInvoicing bool ro
        IncludesVat bool ro
        SendType int?
        PaymentReminderIssued bool ro
        PaymentRemindersCount int ro
        LastPaymentReminderSentDate dt? ro
        UsesGreenTechnology bool
        IsSold bool ro
        FactoringInvoiceStatus int ro
        PaymentDate dt? ro
        PaymentStatus int ro
        CreditedBy list? ro
        ContributionMargin obj
        IsDirectDebit bool?
        IsQuickInvoice bool ro
        IsCollectiveInvoice bool ro
        CollectiveCustomerInvoiceRowsRelationToOrders list? ro
        ReplaceUnitPriceWhenZero bool
        TaxDeductionStatus int ro
        BackgroundId uuid?
    """,
    "CustomerInvoiceRowApi": """
        Id uuid ro
        ArticleNumber str? ro
        ArticleId uuid?
        IsServiceArticle bool ro
        AmountNoVat num ro
        PercentVat num ro
        VatRate num? ro
        LineNumber int ro
        IsTextRow bool ro
        Text str? max=2000
        UnitPrice num
        UnitAbbreviation str? ro
        UnitAbbreviationEnglish str? ro
        IsDiscountInFixedAmount bool ro
        DiscountFixedAmount num? ro
        DiscountPercentage num range=0..1
        Quantity num
        IsWorkCost bool ro
        IsVatFree bool
        CostCenterItemId1 uuid?
        CostCenterItemId2 uuid?
        CostCenterItemId3 uuid?
        UnitId uuid? ro
        ProjectId uuid?
        WorkCostType int
        WorkHours num?
        MaterialCosts num?
        GreenTechnologyType int range=0..3
        ContributionMargin obj
        PurchasePrice num ro
        FreightCosts num ro
        Amount num ro
    """,
    "CustomerInvoiceVatApi": """
        AmountInvoiceCurrency num ro
        VatAmountInvoiceCurrency num ro
        VatPercent num ro
    """,
    "SupplierInvoiceApi": """
        Id uuid ro
        SupplierId uuid req
        OffsetInvoiceIds list? ro
        BankAccountId uuid ro
        InvoiceDate dt?
        PaymentDate dt? ro
        DueDate dt?
        InvoiceNumber str req min=1
        TotalAmount num req
        Vat num
        VatHigh num
        VatMedium num
        VatLow num
        IsCreditInvoice bool
        CurrencyCode str? max=3
        CurrencyRate num
        OcrNumber str?
        Message str?
        CreatedUtc dt? ro
        ModifiedUtc dt? ro
        PlusGiroNumber str? ro
        BankGiroNumber str? ro
        Rows list?
        SupplierName str? ro
        SupplierNumber str? ro
        IsQuickInvoice bool ro
        IsDomestic bool ro
        RemainingAmount num ro
        RemainingAmountInvoiceCurrency num ro
        Number int ro
        NumberSeries str? ro
        VoucherNumber str? ro
        VoucherId uuid ro
        CreatedFromDraftId uuid? ro
        SelfEmployedWithoutFixedAddress bool ro
        AllocationPeriods list? ro
        AutoCreditDebitPairing bool
        SupplierInvoiceOrigin int
        Attachments list?
        MessageThreads list? ro
        Notes list? ro
        SetOffAmountInvoiceCurrency num ro
        Status int ro
        PaymentStatus int ro
        PaymentFileStatus int ro
        SkipSendToBank bool?
        AccountingTemplateId uuid?
        IsIncludedInVatReport bool ro
        VatReportId uuid? ro
    """,
    "SupplierInvoiceRowApi": """
        Id uuid ro
        AccountNumber int range=1..9999999999
        AccountName str? ro
        VatCodeId uuid?
        VatAmount num?
        ProportionalVatRateValue int?
        CostCenterItemId1 uuid?
        CostCenterItemId2 uuid?
        CostCenterItemId3 uuid?
        Quantity num?
        Weight num?
        DeliveryDate dt?
        HarvestYear int?
        DebetAmount num
        CreditAmount num
        LineNumber int ro
        ProjectId uuid?
        TransactionText str? max=100
    """,
    "CustomerInvoiceDraftValidationApi": """
        TotalAmountInvoiceCurrency num?
        TotalVatAmountInvoiceCurrency num?
        TotalRoundingsInvoiceCurrency num?
        Rows list?
    """,
    "CustomerInvoiceDraftValidationRowApi": """
        LineNumber int
        TotalAmountNoVatInvoiceCurrency num?
        TotalAmountIncVatInvoiceCurrency num?
    """,
}
# fmt: on

_SPECS = {name: _parse_spec(text) for name, text in _SPEC_TEXT.items()}
