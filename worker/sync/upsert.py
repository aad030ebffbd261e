"""Create-or-update of one record in eEkonomi, safe to repeat after a crash (R-6.1).

Every register writes to eEkonomi the same way (OCA's ``GenericExporter._run``):

1. A create that may already have happened — the binder's *pending* mark survives a
   crash between the POST and the binding, and an ambiguous answer retries with the
   mark still set — is looked up by natural key first.
2. No counterpart: mark pending, POST. If eEkonomi refuses the number as taken
   (someone created it between our read and our write), bind to that record instead.
3. A counterpart: compare the fields we own with what eEkonomi has and PUT only when
   they differ — merged onto the current record, because eEkonomi's PUT replaces the
   whole record and would null every field we do not map.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from schemas.base import MappingError
from schemas.sides import Side
from worker.clients.http import ApiRecordError
from worker.sync.bindings import Binder
from worker.sync.engine import differs
from worker.sync.history import note_change

Record = dict[str, Any]


@dataclass(frozen=True)
class EEkonomiResource:
    """How to find, create, read and replace one kind of eEkonomi record."""

    find: Callable[[], Record | None]  # by natural key
    create: Callable[[Mapping[str, Any]], Record]
    get: Callable[[str], Record | None]
    update: Callable[[str, Mapping[str, Any]], Record]


def upsert_eekonomi(
    binder: Binder,
    natural_key: str,
    label: str,
    payload: Mapping[str, Any],
    resource: EEkonomiResource,
    *,
    eekonomi_id: str,
    current: Record | None,
    for_update: Callable[[Mapping[str, Any], Record], Mapping[str, Any]] | None = None,
    before_update: Callable[[Record], None] | None = None,
) -> tuple[Record, str]:
    """Write ``payload`` for ``natural_key``; return (the record as eEkonomi has it now,
    ``created`` / ``updated`` / ``unchanged``). The caller binds it.

    ``for_update(payload, current)``: what an update may write onto an existing record,
    when that is less than a create sends (an article keeps its coding, R-5.2).
    ``before_update(current)``: called right before an update is sent — the conflict
    guard (:func:`~worker.sync.conflicts.guard_overwrite`), which may hold it."""
    if not eekonomi_id and binder.claim_create(natural_key, Side.EEKONOMI):
        found = resource.find()
        if found is not None:
            eekonomi_id, current = str(found["Id"]), found
    if not eekonomi_id:
        try:
            created = resource.create(payload)
            note_change(Side.EEKONOMI, "create", payload)
            return created, "created"
        except ApiRecordError as exc:
            found = resource.find() if exc.vendor.code in (4000, 2000) else None
            if found is None:
                raise
            eekonomi_id, current = str(found["Id"]), found
    current = current or resource.get(eekonomi_id)
    if current is None:
        raise MappingError(
            label,
            "the linked eEkonomi record was deleted; restore it in eEkonomi, or give the "
            "record a new number at the source so it is created again",
        )
    if for_update is not None:
        payload = for_update(payload, current)
    if not differs(current, payload):
        return current, "unchanged"
    if before_update is not None:
        before_update(current)
    changed = {name: [current.get(name), payload[name]] for name in differs(current, payload)}
    updated = resource.update(eekonomi_id, {**current, **payload})
    note_change(Side.EEKONOMI, "update", changed)
    return updated, "updated"
