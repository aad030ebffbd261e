"""Validation of Severa write bodies against field specs, as ASP.NET model binding does.

Severa ignores unknown and read-only fields, coerces what the JSON serializer would
(``"14"`` for an integer: the document types JSON Patch values as strings), and
answers every problem at once: 400 ``InvalidParameter`` with one detail per field. A
reference (``{guid}``) must name an existing record of this organization. The field
specs are the shared :class:`~sandbox.core.specs.FieldSpec` shape, from
:mod:`sandbox.severa.specs`; Severa adds the kinds ``ref``, ``money`` and ``text``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from sandbox.core import parse_time, utc_ms
from sandbox.core.specs import FieldSpec
from sandbox.severa.errors import SeveraError, detail, invalid
from sandbox.severa.store import Store

Record = dict[str, Any]


#: An input model: field name → its spec (generated, or hand-written in ``specs``).
Spec = Mapping[str, FieldSpec]


def validate(store: Store, spec: Spec, body: Any, *, partial: bool, what: str = "body") -> Record:
    """Check a write body against ``spec``: unknown and read-only fields are
    ignored, as ASP.NET does; type, length, enum and reference errors answer 400
    ``InvalidParameter`` with one detail per field."""
    if not isinstance(body, dict):
        raise invalid(f"The request {what} must be a JSON object.")
    lowered = {name.lower(): name for name in spec}
    clean: Record = {}
    errors: list[Record] = []
    for key, value in body.items():
        name = lowered.get(str(key).lower())
        if name is None:
            continue
        try:
            clean[name] = coerce(store, name, spec[name], value)
        except ValueError as exc:
            errors.append(detail(str(exc), "RequestBody", name))
    for name, spec_field in spec.items():
        if not spec_field.required:
            continue
        present = name in clean
        if (not partial and not present) or (present and clean[name] is None):
            errors.append(detail(f"The {name} field is required.", "RequestBody", name))
    if errors:
        raise SeveraError(400, "InvalidParameter", errors)
    return clean


def coerce(store: Store, name: str, spec: FieldSpec, value: Any) -> Any:
    """The stored form of one field's value; ``ValueError`` says what is wrong."""
    if value is None:
        return None
    kind = _KINDS.get("enum" if spec.enum else spec.kind)
    if kind is None:  # pragma: no cover - a spec typo
        raise ValueError(f"{name}: unsupported field")
    return kind(store, name, spec, value)


def _str(store: Store, name: str, spec: FieldSpec, value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string.")
    if spec.min_length is not None and len(value) < spec.min_length:
        raise ValueError(
            f"The field {name} must be a string with a minimum length of {spec.min_length}."
        )
    if spec.max_length is not None and len(value) > spec.max_length:
        raise ValueError(
            f"The field {name} must be a string with a maximum length of {spec.max_length}."
        )
    return value


def _int(store: Store, name: str, spec: FieldSpec, value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer.")
    return value


def _num(store: Store, name: str, spec: FieldSpec, value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = float(value) if not re.fullmatch(r"-?\d+", value) else int(value)
        except ValueError:
            raise ValueError(f"{name} must be a number.") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number.")
    return value


def _bool(store: Store, name: str, spec: FieldSpec, value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false.")
    return value


def _date(store: Store, name: str, spec: FieldSpec, value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a date.")
    try:
        parsed = parse_time(value)
    except ValueError:
        raise ValueError(f"The value '{value}' is not a valid date for {name}.") from None
    return value[:10] if spec.kind == "date" else utc_ms(parsed)


def _enum(store: Store, name: str, spec: FieldSpec, value: Any) -> Any:
    options = [str(option) for option in spec.enum or ()]
    if isinstance(value, str):
        for option in options:
            if option.lower() == value.lower():
                return option
    raise ValueError(f"{name} must be one of: {', '.join(options)}.")


def _ref(store: Store, name: str, spec: FieldSpec, value: Any) -> Any:
    if isinstance(value, str):
        value = {"guid": value}
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be an object with a guid.")
    guid = value.get("guid")
    if guid is None or guid == "":
        if spec.required:
            raise ValueError(f"The {name}.guid field is required.")
        return None
    if not isinstance(guid, str):
        raise ValueError(f"{name}.guid must be a string.")
    found = store[spec.ref].get(guid) if spec.ref else None
    if spec.ref and found is None:
        raise ValueError(f"{spec.ref_what} '{guid}' was not found.")
    return {"guid": found["guid"] if found else guid}


def _money(store: Store, name: str, spec: FieldSpec, value: Any) -> Any:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be an object with amount and currencyCode.")
    code = value.get("currencyCode")
    if not isinstance(code, str) or not code:
        raise ValueError(f"The {name}.currencyCode field is required.")
    known = {str(c.get("code")).upper() for c in store["currencies"].records.values()}
    if known and code.upper() not in known:
        raise ValueError(f"Currency '{code}' is not in use in this organization.")
    amount = coerce(store, f"{name}.amount", _AMOUNT, value.get("amount"))
    return {"amount": amount, "currencyCode": code.upper()}


def _text(store: Store, name: str, spec: FieldSpec, value: Any) -> Any:
    if isinstance(value, str):
        return {"value": value}
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be an object with a value.")
    text = value.get("value")
    if text is not None and not isinstance(text, str):
        raise ValueError(f"{name}.value must be a string.")
    return {"value": text}


def _list(store: Store, name: str, spec: FieldSpec, value: Any) -> Any:
    if not isinstance(value, list):
        raise ValueError(f"{name} must be an array.")
    return value


def _obj(store: Store, name: str, spec: FieldSpec, value: Any) -> Any:
    if not isinstance(value, dict | list):
        raise ValueError(f"{name} must be an object.")
    return value


_KINDS: dict[str, Callable[[Store, str, FieldSpec, Any], Any]] = {
    "str": _str,
    "int": _int,
    "num": _num,
    "bool": _bool,
    "date": _date,
    "datetime": _date,
    "enum": _enum,
    "ref": _ref,
    "money": _money,
    "text": _text,
    "obj": _obj,
    "list": _list,
}
_AMOUNT = FieldSpec("num")
