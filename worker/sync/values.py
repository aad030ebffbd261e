"""How the registers compare what they read with what they would write.

Small pure helpers every synchronizer uses: whether two values are equal as the vendor
stores them (so an update is sent only for a real difference), a record's content hash
for staging, and batching without holding a whole register in memory. Re-exported by
:mod:`worker.sync.engine`, where the registers import them from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any, TypeVar

from schemas.base import MappingError
from schemas.records import content_hash

T = TypeVar("T")


def batches(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last may be shorter), without holding more."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def same_value(current: Any, desired: Any) -> bool:
    """Equal as the vendor stores it: ``None`` and ``""`` alike, numbers by value."""
    if current in (None, "") and desired in (None, ""):
        return True
    numbers = (int, float)
    if (
        isinstance(current, numbers)
        and isinstance(desired, numbers)
        and not isinstance(current, bool)
        and not isinstance(desired, bool)
    ):
        return Decimal(str(current)) == Decimal(str(desired))
    return bool(current == desired)


def differs(current: Mapping[str, Any], desired: Mapping[str, Any]) -> list[str]:
    """The fields of ``desired`` whose value ``current`` does not already have."""
    return [name for name, value in desired.items() if not same_value(current.get(name), value)]


def digest_of(to_record: Callable[[T], Mapping[str, Any]], payload: T) -> str:
    """The content hash of ``to_record(payload)``, the canonical form, or ``""`` when it
    cannot be mapped (a bad record is always staged, so that it is settled and listed)."""
    try:
        return content_hash(to_record(payload))
    except (MappingError, ValueError, KeyError, TypeError):
        return ""
