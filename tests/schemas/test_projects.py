"""R-5.3 projects: Severa project → eEkonomi cost-center item of the chosen cost center."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from schemas.base import MappingError
from schemas.projects import (
    eekonomi_cost_center_item_to_record,
    items_by_short_code,
    record_to_eekonomi_cost_center_item,
    severa_project_to_record,
    short_code_key,
)
from schemas.records import ProjectRecord, content_hash
from tests.schemas.conftest import load_fixture

COST_CENTER = "cc0c0000-0000-4000-8000-000000000001"


def project(**changes: Any) -> dict[str, Any]:
    return {**load_fixture("severa/project"), **changes}


def to_item(record: ProjectRecord) -> dict[str, Any]:
    return record_to_eekonomi_cost_center_item(record, cost_center_id=COST_CENTER)


def cost_center() -> dict[str, Any]:
    return dict(load_fixture("eekonomi/cost_centers")["Data"][0])


def test_fixtures_match_the_vendor_contracts(assert_contract: Callable[..., None]) -> None:
    assert_contract("severa", "ProjectOutputModel", load_fixture("severa/project"), sent=False)
    assert_contract(
        "eekonomi",
        "PaginatedResponseOfCostCenterApi",
        load_fixture("eekonomi/cost_centers"),
        sent=False,
    )


def test_r_5_3_payload_we_send_matches_the_vendor_contract(
    assert_contract: Callable[..., None],
) -> None:
    assert_contract(
        "eekonomi", "CostCenterItemApi", to_item(severa_project_to_record(project())), sent=True
    )


def test_r_5_3_project_number_becomes_the_item_short_code() -> None:
    item = to_item(severa_project_to_record(project()))

    assert item == {
        "IsActive": True,
        "ShortName": "20417",
        "Name": "Intranät 2.0",
        "CostCenterId": COST_CENTER,
    }


@pytest.mark.parametrize(("is_closed", "active"), [(False, True), (True, False), ("missing", True)])
def test_r_5_3_item_is_active_while_the_project_is_open(
    is_closed: bool | str | None, active: bool
) -> None:
    payload = project(isClosed=is_closed)
    if is_closed == "missing":
        del payload["isClosed"]

    assert to_item(severa_project_to_record(payload))["IsActive"] is active


def test_r_5_3_project_status_label_does_not_decide_activity() -> None:
    payload = project(projectStatus={"guid": "s", "name": "Vilande", "projectStatusTypeGuid": "t"})

    assert severa_project_to_record(payload)["is_active"] is True


def test_r_5_3_project_number_longer_than_9_is_rejected() -> None:
    record = severa_project_to_record(project(number=2025000123, name="Stort avtal"))

    with pytest.raises(MappingError) as caught:
        to_item(record)

    assert caught.value.record_label == "project 2025000123 'Stort avtal'"
    assert caught.value.reason == (
        "ShortName: project number '2025000123' is longer than 9 characters, the most an "
        "eEkonomi cost-center item short code holds; renumber the project in Severa (R-5.3)"
    )


def test_r_5_3_project_number_of_9_digits_is_accepted() -> None:
    assert to_item(severa_project_to_record(project(number=202500012)))["ShortName"] == "202500012"


def test_r_5_3_name_longer_than_eekonomi_allows_is_rejected_not_truncated() -> None:
    name = "Intranät 2.0 – migrering av innehåll, behörigheter och sök"
    record = severa_project_to_record(project(name=name))

    with pytest.raises(MappingError, match="Name: .* longer than 50 characters.*Severa"):
        to_item(record)


@pytest.mark.parametrize("number", [None, "missing"])
def test_r_5_3_project_without_number_is_rejected(number: str | None) -> None:
    payload = project(number=number)
    if number == "missing":
        del payload["number"]

    with pytest.raises(MappingError) as caught:
        severa_project_to_record(payload)

    assert caught.value.record_label == "project (no number) 'Intranät 2.0'"
    assert "number it in Severa (R-5.3)" in caught.value.reason


def test_r_5_3_project_without_name_is_rejected() -> None:
    with pytest.raises(MappingError, match="the project has no name; name it in Severa"):
        severa_project_to_record(project(name=" "))


def test_r_5_3_item_goes_to_the_chosen_cost_center() -> None:
    item = record_to_eekonomi_cost_center_item(
        severa_project_to_record(project()), cost_center_id="chosen"
    )

    assert item["CostCenterId"] == "chosen"


def test_r_5_3_existing_items_are_found_by_short_code() -> None:
    record = severa_project_to_record(project())

    found = items_by_short_code(cost_center()).get(short_code_key(record["number"]))

    assert found is not None
    assert found["Id"] == "cc1e0000-0000-4000-8000-000000000001"
    assert eekonomi_cost_center_item_to_record(found) == record


def test_r_5_3_active_item_wins_when_short_codes_repeat() -> None:
    center = cost_center()
    active = {**center["Items"][1], "Id": "new", "IsActive": True}
    center["Items"] = [*center["Items"], active]

    assert items_by_short_code(center)["19002"]["Id"] == "new"


def test_r_5_3_short_code_key_ignores_case_and_spacing() -> None:
    assert short_code_key(" p-12 ") == short_code_key("P-12")


def test_r_5_3_round_trip_and_change_detection() -> None:
    record = severa_project_to_record(project())
    item = json.loads(json.dumps(to_item(record)))

    back = eekonomi_cost_center_item_to_record({**item, "Id": "i-1", "CreatedUtc": "2025-01-01"})

    assert back == record
    assert content_hash(back) == content_hash(record)
    closed = severa_project_to_record(project(isClosed=True))
    assert content_hash(closed) != content_hash(record)
