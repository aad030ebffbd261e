"""Projects (R-5.3): Severa project → eEkonomi cost-center item of the chosen cost center.

One way only (R-1.3). The item's short code ("förkortning") is the Severa project
number, which is also how the engine finds an item it made before: eEkonomi has no
list endpoint for items, only ``GET /costcenters`` with each center's ``Items``, so
:func:`items_by_short_code` indexes those.

Decisions on rules the spec leaves open:

* Active = the project is open: Severa's ``isClosed`` flag decides. ``projectStatus``
  is an organisation-defined label (e.g. "On hold") and is not used.
* Short codes hold at most 9 characters and names 50 (eEkonomi's ``maxLength``). A
  longer project number or name fails the project with the reason; it is never cut,
  since a cut short code could match another project's item.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from marshmallow import ValidationError, fields, post_load, validate

from schemas.base import (
    CheckedBody,
    EEkonomiSchema,
    SeveraSchema,
    check_body,
    load_answer,
    mapping_error,
    max_length,
    required_messages,
    shared,
)
from schemas.records import ProjectRecord

__all__ = [
    "EEkonomiCostCenterItem",
    "SeveraProject",
    "eekonomi_cost_center_item_body",
    "eekonomi_cost_center_item_to_record",
    "items_by_short_code",
    "project_label",
    "record_to_eekonomi_cost_center_item",
    "severa_project_to_record",
    "short_code_key",
]

SHORT_CODE_MAX = 9


def project_label(number: Any, name: Any) -> str:
    """How a person finds the project: ``project 20417 'Intranät'``."""
    return f"project {number if number not in (None, '') else '(no number)'} '{name or ''}'"


def short_code_key(short_code: str) -> str:
    """A short code as compared when matching items: case and spacing ignored."""
    return " ".join(short_code.split()).casefold()


def items_by_short_code(cost_center: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """A cost center's ``Items`` (from ``GET /costcenters``) by :func:`short_code_key`.

    Lets the engine find the item a project maps to before creating one (R-6.1). When
    two items share a short code, the active one is kept.
    """
    found: dict[str, dict[str, Any]] = {}
    for item in cost_center.get("Items") or []:
        code = item.get("ShortName")
        if not code:
            continue
        key = short_code_key(code)
        if key not in found or (item.get("IsActive") and not found[key].get("IsActive")):
            found[key] = dict(item)
    return found


class SeveraProject(SeveraSchema):
    """ProjectOutputModel → :class:`ProjectRecord` (load only: R-1.3 is one way)."""

    number = fields.Method(
        deserialize="load_number",
        required=True,
        error_messages=required_messages(
            "the project has no project number; number it in Severa (R-5.3)"
        ),
    )
    name = fields.String(
        required=True,
        validate=validate.Regexp(r"\s*\S", error="the project has no name; name it in Severa"),
        error_messages=required_messages("the project has no name; name it in Severa"),
    )
    is_active = fields.Method(  # active = project open
        deserialize="load_open", data_key="isClosed", load_default=True
    )

    def load_number(self, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip():
            raise ValidationError(f"project number {value!r} is not a number")
        return str(value).strip()

    def load_open(self, value: Any) -> bool:
        return value is not True

    @post_load
    def tidy(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {**data, "name": " ".join(data["name"].split())}


class EEkonomiCostCenterItem(EEkonomiSchema):
    """eEkonomi CostCenterItemApi ⇄ :class:`ProjectRecord`, in the order of R-5.3.

    ``CostCenterId`` is the chosen cost center (R-3.3), added when dumping.
    """

    is_active = fields.Boolean(data_key="IsActive", required=True)
    number = fields.String(  # project number → short code ("förkortning")
        data_key="ShortName",
        required=True,
        validate=validate.Length(
            max=SHORT_CODE_MAX,
            error="project number '{input}' is longer than {max} characters, the most an "
            "eEkonomi cost-center item short code holds; renumber the project in Severa "
            "(R-5.3)",
        ),
        error_messages=required_messages("the item has no short code (R-5.3)"),
    )
    name = fields.String(
        data_key="Name",
        required=True,
        validate=max_length(50, "Severa"),
        error_messages=required_messages("the item has no name (R-5.3)"),
    )
    cost_center_id = fields.String(
        data_key="CostCenterId",
        required=True,
        error_messages=required_messages("no cost center chosen (R-3.3)"),
    )


_RECORD_KEYS = tuple(ProjectRecord.__annotations__)


def severa_project_to_record(payload: Mapping[str, Any]) -> ProjectRecord:
    """Severa project → record. Raises :class:`~schemas.base.MappingError`."""
    label = project_label(payload.get("number"), payload.get("name"))
    try:
        data = shared(SeveraProject).load(payload)
    except ValidationError as error:
        raise mapping_error(label, error) from error
    return cast(ProjectRecord, {key: data[key] for key in _RECORD_KEYS})


def record_to_eekonomi_cost_center_item(
    record: ProjectRecord, *, cost_center_id: str
) -> dict[str, Any]:
    """Record → eEkonomi CostCenterItemApi body (POST /costcenteritems, or PUT).

    Raises:
        MappingError: a project number over 9 characters, a name over 50.
    """
    return eekonomi_cost_center_item_body(record, cost_center_id=cost_center_id).payload


def eekonomi_cost_center_item_body(record: ProjectRecord, *, cost_center_id: str) -> CheckedBody:
    """:func:`record_to_eekonomi_cost_center_item`, keeping what checking the body
    loaded: pass it as ``sent`` to :func:`eekonomi_cost_center_item_to_record` with
    eEkonomi's answer."""
    label = project_label(record["number"], record["name"])
    payload: dict[str, Any] = shared(EEkonomiCostCenterItem).dump(
        {**record, "cost_center_id": cost_center_id}
    )
    return check_body(EEkonomiCostCenterItem, payload, label)


def eekonomi_cost_center_item_to_record(
    payload: Mapping[str, Any], *, sent: CheckedBody | None = None
) -> ProjectRecord:
    """eEkonomi cost-center item → record, to compare with what Severa has.

    ``sent``: the body ``payload`` answers (:func:`eekonomi_cost_center_item_body`),
    whose load is reused where the answer echoes it (:func:`~schemas.base.load_answer`);
    the record is the same.
    """
    label = project_label(payload.get("ShortName"), payload.get("Name"))
    try:
        data = load_answer(EEkonomiCostCenterItem, payload, sent)
    except ValidationError as error:
        raise mapping_error(label, error) from error
    return cast(ProjectRecord, {key: data[key] for key in _RECORD_KEYS})
