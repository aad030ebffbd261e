"""JSON Patch as Severa takes it: every ``PATCH`` body becomes a partial input body.

Severa's ``PATCH`` routes take a JSON Patch array whose ``value`` the document types as
a string; clients send ``replace`` where the document's enum says ``Replace``. Turning
the operations into a partial body for the resource's field spec lets one validator
(:func:`sandbox.severa.validation.validate`) check POST and PATCH alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sandbox.core import Request
from sandbox.severa.errors import invalid, json_body
from sandbox.severa.validation import Spec

Record = dict[str, Any]

_SPEC_OPS = ("Add", "Copy", "Move", "Remove", "Replace")
_OPS = ("add", "copy", "move", "remove", "replace", "test")


@dataclass
class _Operation:
    """One checked patch operation: its verb, the field it sets and the sub-field."""

    verb: str
    name: str
    sub: str | None
    raw: dict[str, Any]
    where: str


def patch_body(
    request: Request,
    spec: Spec,
    current: Record,
    *,
    any_case: bool,
    currency: str,
) -> Record:
    """Turn a JSON Patch document into a partial input body for ``spec``.

    ``/field`` and one level below (``/customer/guid``, ``/unitPrice/amount``,
    ``/freeText1/value``) are supported; ``op`` ``replace``/``add`` set, ``remove``
    clears, ``copy``/``move`` copy a top-level field. Values may be typed JSON or the
    strings the spec's ``PatchOperation.value`` declares. ``any_case`` takes ``op`` in
    any case; ``currency`` completes a money field patched by its ``amount`` alone."""
    ops = json_body(request)
    if not isinstance(ops, list) or not ops:
        raise invalid("The body must be a non-empty JSON Patch array.", "patchDocument")
    lowered = {name.lower(): name for name in spec}
    body: Record = {}
    for position, raw in enumerate(ops):
        op = _operation(raw, f"patchDocument[{position}]", lowered, any_case)
        if op.verb == "test":
            continue
        value = _value(op, lowered, body, current)
        if op.sub is not None:
            value = _sub_value(op, spec[op.name].kind, value, body, current, currency)
        body[op.name] = value
    return body


def _operation(raw: Any, where: str, lowered: dict[str, str], any_case: bool) -> _Operation:
    if not isinstance(raw, dict):
        raise invalid("A patch operation must be an object.", where)
    verb = raw.get("op")
    if not isinstance(verb, str):
        raise invalid("The op field is required.", f"{where}.op")
    if not any_case and verb not in _SPEC_OPS:
        raise invalid(f"Unknown patch op '{verb}'.", f"{where}.op")
    if verb.lower() not in _OPS:
        raise invalid(f"Unknown patch op '{verb}'.", f"{where}.op")
    path = raw.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise invalid("The path must be a JSON pointer like /name.", f"{where}.path")
    parts = [p for p in path.strip("/").split("/") if p]
    if not parts or len(parts) > 2 or parts[0].lower() not in lowered:
        raise invalid(f"The path '{path}' cannot be patched.", f"{where}.path")
    sub = parts[1] if len(parts) == 2 else None
    return _Operation(verb.lower(), lowered[parts[0].lower()], sub, raw, where)


def _value(op: _Operation, lowered: dict[str, str], body: Record, current: Record) -> Any:
    """What the operation sets: its value, nothing (``remove``) or another field."""
    if op.verb == "remove":
        return None
    if op.verb in ("copy", "move"):
        source = str(op.raw.get("from") or "").strip("/")
        if source.lower() not in lowered:
            raise invalid(f"The from path '{op.raw.get('from')}' is not valid.", f"{op.where}.from")
        name = lowered[source.lower()]
        return body.get(name, current.get(name))
    return op.raw.get("value")


def _sub_value(
    op: _Operation, kind: str, value: Any, body: Record, current: Record, currency: str
) -> Record:
    """The whole field with one sub-field set: ``/unitPrice/amount`` keeps the currency."""
    base = body.get(op.name)
    if not isinstance(base, dict):
        existing = current.get(op.name)
        base = dict(existing) if isinstance(existing, dict) else {}
        if kind == "money":
            base = {
                "amount": base.get("amount"),
                "currencyCode": base.get("currencyCode") or currency,
            }
        elif kind == "text":
            base = {"value": base.get("value")}
        elif kind == "ref":
            base = {"guid": base.get("guid")}
    known = {k.lower(): k for k in base} | {"guid": "guid"}
    key = known.get(str(op.sub).lower())
    if key is None:
        raise invalid(f"The path '{op.raw.get('path')}' cannot be patched.", f"{op.where}.path")
    return {**base, key: value}
