"""The one shape of a field specification, which both sandboxes validate writes with.

A write is checked field by field against the vendor's published model: type,
required, nullable, read-only, lengths, ranges, allowed values. eEkonomi's field lists
are generated from its OpenAPI document (:mod:`sandbox.core.specgen`), Severa's input
models partly written by hand (a reference must exist in a collection, an amount is a
money object); both are ``dict[str, FieldSpec]`` in the model's property order, so one
set of helpers reads either, and the generated module is plain Python a reader can
open.

``kind`` is one of :data:`KINDS`; a vendor may add its own (Severa's ``ref``,
``money``, ``text``) and handle them in its validator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The kinds the generator emits: OpenAPI ``string`` (+ ``format: uuid``/``date``/
#: ``date-time``), ``integer``, ``number``, ``boolean``, ``array`` and ``object``.
KINDS = ("str", "uuid", "date", "datetime", "int", "num", "bool", "list", "obj")

ZERO_GUID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class FieldSpec:
    """One property of a vendor model.

    ``schema`` names the model a nested object (``obj``) or the items of an array
    (``list``) follow, when the document says (``$ref``). ``ref``/``ref_what`` are for
    hand-written references that must exist in a store collection (Severa's ``{guid}``
    fields): which collection, and what to call the record in an error message.
    """

    kind: str
    name: str = ""
    required: bool = False
    nullable: bool = False
    readonly: bool = False
    max_length: int | None = None
    min_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    enum: tuple[Any, ...] | None = None
    schema: str | None = None
    ref: str | None = None
    ref_what: str | None = None


#: A model: its properties in document order, by name.
Schema = dict[str, FieldSpec]


def named(fields: Mapping[str, FieldSpec]) -> Schema:
    """``fields`` with each spec's ``name`` set to its key (for hand-written models,
    which would otherwise say every name twice)."""
    return {
        name: spec if spec.name == name else dataclasses.replace(spec, name=name)
        for name, spec in fields.items()
    }


def zero_value(spec: FieldSpec) -> Any:
    """The value a non-nullable property takes when nothing was sent (.NET's default)."""
    return {
        "bool": False,
        "int": 0,
        "num": 0.0,
        "str": "",
        "list": [],
        "uuid": ZERO_GUID,
    }.get(spec.kind)


def writable(schema: Mapping[str, FieldSpec]) -> list[FieldSpec]:
    """The properties a client may write (read-only ones are ignored on input)."""
    return [spec for spec in schema.values() if not spec.readonly]
