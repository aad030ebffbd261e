"""R-5.4, R-1.8 invoice rows: which article, how a row is split per project and rounded,
its unit and cost center — the rules :mod:`worker.sync.invoices` resolves lookups for."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from schemas.base import MappingError
from schemas.invoice_rows import (
    InvoiceRowRecord,
    article_codes,
    choose_article_id,
    cost_center_item_state,
    cost_center_slot,
    draft_line_payload,
    draft_lines,
    draft_row_unit,
    is_foreign_currency,
    needs_source_items,
    quantities_by_project,
    round_price,
    row_codes,
    severa_invoice_row_to_record,
    source_item_code,
    split_by_project,
)
from tests.schemas.conftest import load_fixture

ONE_PROJECT = {"p1": "1001"}
TWO_PROJECTS = {"p2": "1002", "p3": "1003"}
CENTER = "cc0c0000-0000-4000-8000-000000000001"


def money(amount: float) -> dict[str, Any]:
    return {"amount": amount, "currencyCode": "SEK", "multiCurrencyInfo": []}


def row(**changes: Any) -> InvoiceRowRecord:
    base = {
        "guid": "r1",
        "rowType": "Hours",
        "code": ["KONS-SR", "KONS-SR"],
        "description": "Konsult senior",
        "quantity": 12.5,
        "measurementUnit": "h",
        "unitPrice": money(1250.0),
    }
    return severa_invoice_row_to_record({**base, **changes})


def test_r_1_8_grouped_rows_carry_their_codes_distinct_and_in_order() -> None:
    assert row()["codes"] == ["KONS-SR"]
    assert row_codes(["MIL", " ", None, "RESA", "MIL"]) == ["MIL", "RESA"]
    assert row(code=None)["codes"] == []
    assert source_item_code({"workType": {"code": "PL"}}) == "PL"
    assert source_item_code({"product": {"code": "LIC-01"}}) == "LIC-01"
    assert source_item_code({"travelExpense": {"code": "MIL"}}) == "MIL"
    assert source_item_code({"name": "Diverse"}) is None


def test_r_5_4_a_row_spanning_projects_is_split_by_its_source_items() -> None:
    grouped = row(quantity=20)
    items = [
        {"project": {"guid": "p2", "number": 1002}, "quantity": 5},
        {"project": {"guid": "p3"}, "quantity": 5},  # fees carry no project number
        {"project": {"guid": "p2", "number": 1002}, "quantity": 5},
        {"project": {"guid": "p3"}, "quantity": 5},
    ]
    numbers = {"p2": "1002", "p3": "1003"}
    assert quantities_by_project(grouped, items, numbers) == [
        ("1002", Decimal(10)),
        ("1003", Decimal(10)),
    ]
    # Quantities that do not add up (edited row): the whole row to the largest project.
    assert quantities_by_project(row(quantity=18), items[:3], numbers) == [("1002", Decimal(18))]


def test_prices_keep_the_decimals_eekonomi_keeps() -> None:
    assert round_price(Decimal("1234.5678"), foreign=False) == Decimal("1234.57")
    assert round_price(Decimal("1234.5678"), foreign=True) == Decimal("1234.5678")


def items_of(*pairs: tuple[str, float]) -> list[dict[str, Any]]:
    return [{"project": {"guid": guid}, "quantity": quantity} for guid, quantity in pairs]


def units() -> list[dict[str, Any]]:
    return list(load_fixture("eekonomi/units")["Data"])


def cost_centers(number: Any = 1) -> list[dict[str, Any]]:
    return [{**c, "Number": number} for c in load_fixture("eekonomi/cost_centers")["Data"]]


# -- which rows read their source items ---------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "projects", "needed"),
    [
        ({}, ONE_PROJECT, False),  # codes and one project: nothing to learn from the items
        ({"code": None}, ONE_PROJECT, True),  # the items carry the codes
        ({}, TWO_PROJECTS, True),  # the items say which project
        ({"code": None, "rowType": "FlatRate"}, TWO_PROJECTS, False),  # no items to read
    ],
    ids=["codes-one-project", "no-codes", "two-projects", "flat-rate"],
)
def test_given_a_row_then_its_source_items_are_read_only_when_they_decide_something(
    changes: dict[str, Any], projects: dict[str, str], needed: bool
) -> None:
    assert needs_source_items(row(**changes), projects) is needed


# -- the article (R-1.8, R-3.4) ---------------------------------------------------------


def test_r_1_8_the_row_codes_come_first_then_the_source_items_codes() -> None:
    items = [{"workType": {"code": "PL"}}, {"name": "Diverse"}, {"product": {"code": "LIC"}}]
    assert article_codes(row(), items) == ["KONS-SR"]
    assert article_codes(row(code=None), items) == ["PL", "LIC"]


def test_r_1_8_the_first_code_that_is_an_article_wins_and_later_codes_are_not_looked_up() -> None:
    articles = {"PL": "article-pl", "LIC": "article-lic", "ALLM": "article-default"}
    asked: list[str] = []

    def article_id_of(number: str) -> str | None:
        asked.append(number)
        return articles.get(number)

    assert choose_article_id(["GONE", "PL", "LIC"], "ALLM", article_id_of, "inv") == "article-pl"
    assert asked == ["GONE", "PL"]


def test_r_3_4_given_a_row_with_no_code_then_the_default_article() -> None:
    found = choose_article_id([], "ALLM", {"ALLM": "article-default"}.get, "inv")
    assert found == "article-default"


def test_r_3_4_given_codes_that_name_no_article_then_the_row_fails_never_the_default() -> None:
    """Issue 14 D: the default article is only for rows with no code — a code that names
    nothing (the caller has already tried to transfer its Severa item) fails the row
    with its codes named, instead of silently taking the default article."""
    articles = {"ALLM": "article-default"}
    with pytest.raises(MappingError, match=r"a row has GONE, LOST, which is neither"):
        choose_article_id(["GONE", "LOST"], "ALLM", articles.get, "invoice 1")


def test_r_3_4_given_the_default_is_no_article_either_then_the_row_fails_naming_it() -> None:
    with pytest.raises(MappingError, match=r"no code and the default article number 'NOPE'"):
        choose_article_id([], "NOPE", {}.get, "invoice 1")


# -- projects (R-5.4) -------------------------------------------------------------------


def test_r_5_4_given_one_project_then_the_whole_row_goes_to_it_without_reading_items() -> None:
    assert split_by_project(row(quantity=20), [], ONE_PROJECT) == [("1001", Decimal(20))]


def test_r_5_4_given_several_projects_then_the_items_split_the_row() -> None:
    items = items_of(("p2", 5), ("p3", 15))
    assert split_by_project(row(quantity=20), items, TWO_PROJECTS) == [
        ("1002", Decimal(5)),
        ("1003", Decimal(15)),
    ]


def test_r_5_4_given_several_projects_but_items_naming_none_then_the_first_project() -> None:
    assert split_by_project(row(quantity=20), [], TWO_PROJECTS) == [("1002", Decimal(20))]


def test_r_5_4_given_no_project_then_one_row_without_a_cost_center_item() -> None:
    assert split_by_project(row(quantity=20), [], {}) == [("", Decimal(20))]


# -- what eEkonomi keeps ----------------------------------------------------------------


def test_given_the_invoice_currency_then_foreign_means_other_than_the_company_currency() -> None:
    assert not is_foreign_currency(None, "SEK")
    assert not is_foreign_currency("SEK", "SEK")
    assert is_foreign_currency("EUR", "SEK")


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("h", ("tim", "Timme")),
        ("kpl", ("st", "Styck")),
        ("parsec", (None, None)),
        (None, (None, None)),
    ],  # fmt: skip
)
def test_given_a_row_unit_then_the_matching_eekonomi_unit_or_none(
    unit: str | None, expected: tuple[str | None, str | None]
) -> None:
    assert draft_row_unit(unit, units()) == expected


def test_r_3_3_the_projects_cost_center_number_is_the_rows_item_slot() -> None:
    assert cost_center_slot(cost_centers(2), CENTER) == 2
    with pytest.raises(MappingError, match="eEkonomi rows hold cost centers 1–3"):
        cost_center_slot(cost_centers(4), CENTER)
    with pytest.raises(MappingError, match="eEkonomi has no cost center other"):
        cost_center_slot(cost_centers(), "other")


def test_r_5_3_a_closed_projects_item_reads_as_inactive_and_an_unknown_one_as_unknown() -> None:
    centers = cost_centers()
    assert cost_center_item_state(centers, "cc1e0000-0000-4000-8000-000000000001") is True
    assert cost_center_item_state(centers, "cc1e0000-0000-4000-8000-000000000002") is False
    assert cost_center_item_state(centers, "new") is None


# -- the draft rows ---------------------------------------------------------------------


def test_r_5_4_a_split_row_becomes_one_draft_row_per_project_same_price_rounded() -> None:
    split = [("1002", Decimal("5.005")), ("1003", Decimal("14.995"))]
    lines = draft_lines(
        row(unitPrice=money(1234.56789)), split, article_id="a1", unit=("tim", "Timme"), slot=2,
        cost_center_items={"1002": "item-2", "1003": "item-3"}, foreign=True,
    )  # fmt: skip

    assert [(x.quantity, x.unit_price, x.cost_center_item_id) for x in lines] == [
        (Decimal("5.01"), Decimal("1234.5679"), "item-2"),
        (Decimal("15.00"), Decimal("1234.5679"), "item-3"),
    ]
    payload = draft_line_payload(lines[0])
    assert (payload["ArticleId"], payload["CostCenterItemId2"]) == ("a1", "item-2")
    assert (payload["Quantity"], payload["UnitPrice"], payload["UnitAbbreviation"]) == (
        5.01, 1234.5679, "tim",
    )  # fmt: skip


def test_r_5_4_a_row_without_project_has_no_cost_center_slot() -> None:
    (line,) = draft_lines(
        row(unitPrice=money(99.999)), [("", Decimal(1))], article_id="a1", unit=(None, None),
        slot=1, cost_center_items={}, foreign=False,
    )  # fmt: skip
    assert (line.unit_price, line.cost_center_slot, line.cost_center_item_id) == (
        Decimal("100.00"), None, None,
    )  # fmt: skip
    assert not any(k.startswith("CostCenterItemId") for k in draft_line_payload(line))
