"""Writes checked against the published models, the way ASP.NET's model binder does.

Member names match case-insensitively, unknown and read-only members are ignored, and
**PUT is a full replace**: an omitted writable field comes back ``None`` (nullable) or
its type's zero, which is how the real service loses fields a client forgot to send
(notes §7.1). Each failure is one ``Errors[]`` entry of a 2000 answer, with .NET's
message wording, so the product's error classification meets what Visma sends.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sandbox.core.args import is_guid
from sandbox.core.specs import FieldSpec, zero_value
from sandbox.core.store import Record
from sandbox.eekonomi.errors import EEkonomiError, FieldError, field_error, validation_error
from sandbox.eekonomi.specs import spec
from sandbox.eekonomi.wire import normal_time, parse_moment

_MISSING = object()


def validate(schema: str, body: Any, *, prefix: str = "", lenient: Iterable[str] = ()) -> Record:
    """Check a write against ``schema``; return every *writable* field.

    ``lenient`` names required fields that the real service defaults (notes §6.7).
    """
    if not isinstance(body, dict):
        raise validation_error(
            [field_error(prefix.rstrip(".") or "body", "A JSON object is required.")]
        )
    lowered = {k.lower(): v for k, v in body.items()}
    relaxed = set(lenient)
    errors: list[FieldError] = []
    out: Record = {}
    for f in spec(schema).values():
        if f.readonly or f.kind == "obj":
            continue
        value = lowered.get(f.name.lower())
        if value is None or (f.required and f.kind == "str" and value == ""):
            if f.required and f.name not in relaxed:
                errors.append(field_error(prefix + f.name, f"The {f.name} field is required."))
            out[f.name] = _absent(f)
            continue
        problem = value_problem(f, value)
        if problem:
            errors.append(field_error(prefix + f.name, problem))
            continue
        out[f.name] = _stored(f, value)
    if errors:
        raise validation_error(errors)
    return out


def _absent(f: FieldSpec) -> Any:
    """What an omitted field becomes: ``None`` for nullable fields, references and
    date-times (the resource fills those), else the type's zero."""
    return None if f.nullable or f.kind in ("uuid", "datetime") else zero_value(f)


def value_problem(f: FieldSpec, value: Any) -> str | None:
    """What is wrong with a non-null ``value`` for ``f`` (type, length, range, enum)."""
    if not _type_ok(f, value):
        return f"The value {json.dumps(value)[:60]} is not valid for {f.name}."
    if f.kind == "str":
        if f.max_length is not None and len(value) > f.max_length:
            return f"The field {f.name} must be a string with a maximum length of {f.max_length}."
        if f.min_length and len(value) < f.min_length:
            return f"The field {f.name} is too short."
    if f.kind in ("int", "num"):
        if (f.minimum is not None and value < f.minimum) or (
            f.maximum is not None and value > f.maximum
        ):
            return f"The field {f.name} must be between {_num(f.minimum)} and {_num(f.maximum)}."
        if f.enum is not None and value not in f.enum:
            return f"The value {value} is not valid for {f.name}."
    return None


def _stored(f: FieldSpec, value: Any) -> Any:
    """A valid value as the store keeps it (GUIDs lower-case, one date-time spelling)."""
    if f.kind == "uuid":
        return value.lower()
    if f.kind == "datetime":
        return normal_time(value)
    if f.kind == "num":
        return float(value)
    if f.kind == "list":
        # Only e-mail address lists are writable plain values; object lists (rows,
        # persons, labels) are handled by the resource that owns them.
        return [v for v in value if isinstance(v, str)] if f.name == "EmailAddresses" else None
    return value


def _type_ok(f: FieldSpec, value: Any) -> bool:
    kind = f.kind
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "num":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "uuid":
        return is_guid(value)
    if kind == "datetime":
        try:
            return isinstance(value, str) and parse_moment(value) is not None
        except ValueError:
            return False
    if kind == "list":
        return isinstance(value, list)
    return True


def _num(value: float | None) -> str:
    if value is None:
        return "∞"
    return str(int(value)) if float(value).is_integer() else str(value)


def defaults(schema: str) -> Record:
    """Every emitted property of a schema at its empty value (objects are added by code;
    non-null date-times by the resource, which knows which moment they stand for)."""
    out: Record = {}
    for f in spec(schema).values():
        if f.kind == "obj":
            continue
        if f.nullable or f.kind == "datetime":
            out[f.name] = None
        else:
            out[f.name] = zero_value(f)
    return out


def nested_defaults(schema: str) -> Record:
    """Every property of a schema at its empty value, nested objects included (each at
    its own model's empty values): what a read answers when nothing was stored."""
    out = defaults(schema)
    for f in spec(schema).values():
        if f.kind == "obj":
            out[f.name] = nested_defaults(f.schema) if f.schema else None
    return out


def merged(schema: str, base: Record, given: Record) -> Record:
    """``given`` over ``base``, for the properties of ``schema`` only; nested objects are
    merged property by property, so a seed may name one text of ``CompanyText``."""
    out = dict(base)
    for name, f in spec(schema).items():
        if name not in given:
            continue
        value = given[name]
        if f.kind == "obj" and f.schema and isinstance(value, dict):
            value = merged(f.schema, out.get(name) or nested_defaults(f.schema), value)
        out[name] = value
    return out


def normalize_dates(schema: str, record: Record) -> None:
    """Give every top-level date-time of a record its one stored spelling."""
    for f in spec(schema).values():
        if f.kind == "datetime" and isinstance(record.get(f.name), str):
            try:
                record[f.name] = normal_time(record[f.name])
            except ValueError:
                raise EEkonomiError(
                    400, 6001, f"InvalidInputException - {f.name}: not a date-time"
                ) from None


def readonly_of(schema: str, existing: Record | None) -> Record:
    """The read-only fields of an existing record (kept through a PUT's full replace)."""
    if existing is None:
        return {}
    return {k: existing.get(k) for k, f in spec(schema).items() if f.readonly}
