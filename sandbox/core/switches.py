"""Switches: the behaviours a vendor's notes could not confirm, one typed flag each.

Both sandboxes face the same problem: some behaviours of the real services are known
only from one observation or not at all (does ``/convert`` delete the draft? is a page
token still good after ten minutes?). Hard-coding a guess would let the product pass
against the guess only, so each such behaviour is a field of a vendor subclass of
:class:`Switches`, its default the most likely real behaviour. A test pins the product
against the other value; ``GET/POST /_sandbox/switches`` (registered by
:class:`~sandbox.core.app.SandboxApp` when the app's ``switches`` is a :class:`Switches`)
reads and changes them at run time.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar, Self


@dataclasses.dataclass
class Switches:
    """Base of a vendor's switches: a dataclass whose fields are the switches.

    A subclass declares fields with defaults (``bool``, ``int``, ``float``, ``str``, or
    one of them ``| None``) and may list the allowed values of ``str`` switches in
    :attr:`CHOICES`. :meth:`update` checks every value against the field's type before
    changing anything, so a bad request leaves the switches as they were.
    """

    #: Allowed values of ``str`` switches that take a fixed set (name → values).
    CHOICES: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    @classmethod
    def build(cls, values: Mapping[str, Any]) -> Self:
        """Defaults overridden by ``values`` (checked as :meth:`update` checks them)."""
        switches = cls()
        switches.update(values)
        return switches

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def update(self, values: Mapping[str, Any]) -> None:
        """Apply ``values``; ``ValueError`` on an unknown name or a value of the wrong type
        (nothing is changed then)."""
        if not isinstance(values, Mapping):
            raise ValueError("send a JSON object of switch names and values")
        hints = typing.get_type_hints(type(self))
        known = [f.name for f in dataclasses.fields(self)]
        checked: dict[str, Any] = {}
        for name, value in values.items():
            if name not in known:
                raise ValueError(f"unknown switch {name!r}; known: {sorted(known)}")
            checked[name] = self._checked(name, hints[name], value)
        for name, value in checked.items():
            setattr(self, name, value)

    def _checked(self, name: str, hint: Any, value: Any) -> Any:
        allowed = _types_of(hint)
        if value is None:
            if type(None) in allowed:
                return None
            raise ValueError(f"{name} must not be null")
        if bool in allowed:
            if isinstance(value, bool):
                return value
            raise ValueError(f"{name} must be true or false")
        if isinstance(value, bool):
            raise ValueError(f"{name} must be {_describe(allowed)}")
        if float in allowed and isinstance(value, int | float):
            return float(value)
        if int in allowed and isinstance(value, int):
            return value
        if str in allowed and isinstance(value, str):
            choices = self.CHOICES.get(name)
            if choices is not None and value not in choices:
                raise ValueError(f"{name} must be one of {choices}")
            return value
        raise ValueError(f"{name} must be {_describe(allowed)}")


def _types_of(hint: Any) -> tuple[type, ...]:
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return tuple(typing.get_args(hint))
    return (hint,)


def _describe(allowed: tuple[type, ...]) -> str:
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    return " or ".join(names.get(t, t.__name__) for t in allowed if t is not type(None))
