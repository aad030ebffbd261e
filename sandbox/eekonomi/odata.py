"""OData list queries: ``$filter``, ``$orderby``, ``$select``, ``$page``/``$pagesize``.

The product reads every register incrementally with ``$filter=ChangedUtc ge …`` and
pages through ``{Meta, Data}`` envelopes; a filter the real service would refuse (an
unknown property, a bad literal) must fail here too, with 6000 / 6001. The subset is the
one the notes list (§3): comparisons, ``and or not``, parentheses, string and date
functions, quoted strings, unquoted GUIDs, date-times and numbers. Filters compile once
to closures per (text, model), because a benchmark repeats the same few queries.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sandbox.core.args import int_arg
from sandbox.core.http import Request, Response
from sandbox.core.specs import Schema
from sandbox.core.store import Record
from sandbox.eekonomi.errors import EEkonomiError, field_error, query_error
from sandbox.eekonomi.specs import spec
from sandbox.eekonomi.switches import EEkonomiSwitches
from sandbox.eekonomi.wire import iso, parse_moment

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


def _syntax(message: str) -> EEkonomiError:
    return query_error(6000, message)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN_RE.match(text, position)
        if not match or match.end() == position:
            raise _syntax(f"Syntax error at position {position} in '{text}'.")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _FilterParser:
    """Recursive descent over the OData v4 subset the notes list; compiles to closures."""

    def __init__(self, text: str, fields: Schema, type_name: str) -> None:
        self.fields = fields
        self.type_name = type_name
        self.tokens = _tokens(text)
        self.index = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _syntax("Unexpected end of the filter expression.")
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
            raise _syntax(f"'{punct}' expected, found '{token[1]}'.")

    def parse(self) -> Callable[[Record], bool]:
        expression = self.or_expr()
        extra = self.peek()
        if extra is not None:
            raise _syntax(f"Syntax error: unexpected '{extra[1]}'.")
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
        if kind == "name":
            return self.name(text)
        literal = _literal(kind, text)
        return lambda r: literal

    def name(self, text: str) -> Getter:
        if text in ("true", "false", "null"):
            constant = None if text == "null" else text == "true"
            return lambda r: constant
        if text not in _FUNCTIONS:
            return self.property(text)
        arity, function = _FUNCTIONS[text]
        self.expect("(")
        args = [self.or_expr()]
        while len(args) < arity:
            self.expect(",")
            args.append(self.or_expr())
        self.expect(")")
        return lambda r: function(*(a(r) for a in args))

    def property(self, name: str) -> Getter:
        field_spec = self.fields.get(name)
        if field_spec is None or field_spec.kind in ("list", "obj"):
            raise _syntax(f"Could not find a property named '{name}' on type '{self.type_name}'.")
        if field_spec.kind == "datetime":
            return lambda r: parse_moment(r[name]) if r.get(name) else None
        if field_spec.kind == "uuid":
            return lambda r: r[name].lower() if isinstance(r.get(name), str) else r.get(name)
        return lambda r: r.get(name)


def _literal(kind: str, text: str) -> Any:
    if kind == "str":
        return text[1:-1].replace("''", "'")
    if kind == "guid":
        return text.lower()
    if kind == "dt":
        try:
            return parse_moment(text)
        except ValueError:
            raise query_error(6001, f"The date-time literal '{text}' is not valid.") from None
    if kind == "num":
        return float(text) if "." in text else int(text)
    raise _syntax(f"Syntax error: unexpected '{text}'.")


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
            raise _syntax(f"The $orderby clause '{part.strip()}' is not valid.")
        if words[0] not in fields or fields[words[0]].kind in ("list", "obj"):
            raise _syntax(f"Could not find a property named '{words[0]}' on type '{schema}'.")
        keys.append((words[0], len(words) == 2 and words[1] == "desc"))
    return tuple(keys)


def _sort_key(value: Any, kind: str) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if kind == "datetime":
        return (1, parse_moment(value))
    if isinstance(value, str):
        return (1, value.lower())
    return (1, value)


def _sorter(name: str, kind: str) -> Callable[[Record], tuple[int, Any]]:
    return lambda record: _sort_key(record.get(name), kind)


def query(request: Request, records: list[Record], schema: str) -> list[Record]:
    """``records`` filtered by ``$filter`` and sorted by ``$orderby``."""
    text = request.arg("$filter")
    if text:
        predicate = compile_filter(text, schema)
        records = [r for r in records if predicate(r)]
    order = request.arg("$orderby")
    if order:
        fields = spec(schema)
        for name, descending in reversed(compile_orderby(order, schema)):
            records.sort(key=_sorter(name, fields[name].kind), reverse=descending)
    return records


def page_size(request: Request, switches: EEkonomiSwitches) -> tuple[int, int]:
    """``($page, $pagesize)``, checked against the ``max_page_size`` switches."""
    page = int_arg(request, "$page", 1)
    size = int_arg(request, "$pagesize", 50)
    assert page is not None  # noqa: S101 - it has a default
    assert size is not None  # noqa: S101 - it has a default
    maximum = switches.max_page_size
    if page < 1:
        raise EEkonomiError(400, 6000, "QueryParameterException - $page must be 1 or more")
    if size > maximum and switches.oversize_page == "clamp":
        return page, maximum
    if size < 1 or size > maximum:
        message = f"$pagesize must be between 1 and {maximum}"
        raise EEkonomiError(
            400,
            6000,
            f"QueryParameterException - {message}",
            [field_error("$pagesize", message, "6000")],
        )
    return page, size


def envelope(
    request: Request,
    records: list[Record],
    schema: str,
    switches: EEkonomiSwitches,
    now: datetime,
) -> Response:
    """One page of ``records`` in eEkonomi's ``{Meta, Data}`` envelope."""
    records = query(request, records, schema)
    page, size = page_size(request, switches)
    data = records[(page - 1) * size : page * size]
    select = request.arg("$select")
    if select:
        names = [n.strip() for n in select.split(",") if n.strip()]
        unknown = [n for n in names if n not in spec(schema)]
        if unknown:
            raise _syntax(f"Could not find a property named '{unknown[0]}'.")
        data = [{n: r.get(n) for n in names} for r in data]
    meta = {
        "CurrentPage": page,
        "PageSize": size,
        "TotalNumberOfPages": math.ceil(len(records) / size),
        "TotalNumberOfResults": len(records),
        "ServerTimeUtc": iso(now),
    }
    return Response.json(200, {"Meta": meta, "Data": data})
