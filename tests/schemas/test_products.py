"""R-5.2 products: Severa products, work types, travel-expense types ⇄ eEkonomi articles."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from schemas.base import MappingError, gross_from_net, net_from_gross, swedish_unit
from schemas.products import (
    SEVERA_UPDATABLE,
    SeveraRegister,
    article_number_key,
    eekonomi_article_to_record,
    find_services_coding,
    price_currency,
    record_to_eekonomi_article,
    record_to_severa_product,
    record_to_severa_update,
    severa_item_to_record,
    severa_product_to_record,
    severa_travel_expense_type_to_record,
    severa_work_type_to_record,
)
from schemas.records import ProductRecord, content_hash
from tests.schemas.conftest import load_fixture

SERVICES_25 = "c0d10000-0000-4000-8000-000000000025"
UNIT_IDS = {"tim": "…0001", "st": "…0002", "km": "…0003", "dag": "…0004", "mån": "…0005"}


def units() -> list[dict[str, Any]]:
    return list(load_fixture("eekonomi/units")["Data"])


def codings() -> list[dict[str, Any]]:
    return list(load_fixture("eekonomi/article_account_codings")["Data"])


def travel(code: str) -> dict[str, Any]:
    return next(t for t in load_fixture("severa/travel_expense_types") if t["code"] == code)


def to_article(record: ProductRecord, **kwargs: Any) -> dict[str, Any]:
    return record_to_eekonomi_article(record, codings=codings(), units=units(), **kwargs)


def unit_abbreviation(article: dict[str, Any]) -> str:
    return next(u["Abbreviation"] for u in units() if u["Id"] == article["UnitId"])


# -- contracts ---------------------------------------------------------------------------


def test_fixtures_match_the_vendor_contracts(assert_contract: Callable[..., None]) -> None:
    assert_contract("severa", "ProductOutputModel", load_fixture("severa/product"), sent=False)
    assert_contract("severa", "WorkTypeOutputModel", load_fixture("severa/work_type"), sent=False)
    for item in load_fixture("severa/travel_expense_types"):
        assert_contract("severa", "TravelExpenseTypeOutputModel", item, sent=False)
    assert_contract("eekonomi", "ArticleApi", load_fixture("eekonomi/article"), sent=False)
    assert_contract(
        "eekonomi", "PaginatedResponseOfUnitApi", load_fixture("eekonomi/units"), sent=False
    )
    assert_contract(
        "eekonomi",
        "PaginatedResponseOfArticleAccountCodingApi",
        load_fixture("eekonomi/article_account_codings"),
        sent=False,
    )


def test_r_5_2_payloads_we_send_match_the_vendor_contracts(
    assert_contract: Callable[..., None],
) -> None:
    for record in (
        severa_product_to_record(load_fixture("severa/product")),
        severa_work_type_to_record(load_fixture("severa/work_type")),
        severa_travel_expense_type_to_record(travel("MIL")),
    ):
        assert_contract("eekonomi", "ArticleApi", to_article(record), sent=True)
    article = eekonomi_article_to_record(load_fixture("eekonomi/article"), codings=codings())
    assert_contract(
        "severa",
        "ProductInputModel",
        record_to_severa_product(article, company_currency="SEK"),
        sent=True,
    )


# -- number, name, active ----------------------------------------------------------------


def test_r_5_2_article_number_and_name_are_the_severa_code_and_name() -> None:
    article = to_article(severa_product_to_record(load_fixture("severa/product")))

    assert article["Number"] == "LIC-PP"
    assert article["Name"] == "Licens Projektportal (månad)"


@pytest.mark.parametrize(
    ("load", "payload"),
    [
        (severa_product_to_record, "severa/product"),
        (severa_work_type_to_record, "severa/work_type"),
        (severa_travel_expense_type_to_record, "severa/travel_expense_types"),
    ],
)
@pytest.mark.parametrize("code", [None, "", "   ", "missing"])
def test_r_5_2_article_number_is_required(
    load: Callable[[dict[str, Any]], ProductRecord], payload: str, code: str | None
) -> None:
    item = load_fixture(payload)
    item = item[0] if isinstance(item, list) else item
    if code == "missing":
        del item["code"]
    else:
        item["code"] = code

    with pytest.raises(MappingError) as caught:
        load(item)

    assert "(no code)" in caught.value.record_label
    assert caught.value.reason.startswith("code: is empty; give it a unique code in Severa")
    assert "R-2.3" in caught.value.reason


def test_r_5_2_code_is_trimmed_for_the_article_number() -> None:
    record = severa_work_type_to_record({**load_fixture("severa/work_type"), "code": " KONS "})

    assert record["number"] == "KONS"


def test_r_2_3_code_longer_than_eekonomi_article_number_is_rejected() -> None:
    record = severa_product_to_record({**load_fixture("severa/product"), "code": "X" * 41})

    with pytest.raises(MappingError, match=r"Number: 'X{41}' is longer than 40 characters"):
        to_article(record)


@pytest.mark.parametrize(("is_active", "expected"), [(True, True), (False, False), (None, True)])
def test_r_5_2_active_flag(is_active: bool | None, expected: bool) -> None:
    record = severa_product_to_record({**load_fixture("severa/product"), "isActive": is_active})

    assert to_article(record)["IsActive"] is expected


def test_r_5_2_inactive_travel_expense_type_gives_inactive_article() -> None:
    assert to_article(severa_travel_expense_type_to_record(travel("PARK")))["IsActive"] is False


@pytest.mark.parametrize(
    ("text", "key"),
    [(" wt-01 ", "wt-01"), ("WT-01", "wt-01"), ("WT  01", "wt 01"), ("Wt 01", "wt 01")],
)
def test_r_2_3_article_number_key_ignores_case_and_spacing(text: str, key: str) -> None:
    assert article_number_key(text) == key


# -- coding ------------------------------------------------------------------------------


def test_r_5_2_articles_from_severa_get_the_services_25_coding() -> None:
    coding_id = find_services_coding(codings())

    assert coding_id == SERVICES_25
    record = severa_work_type_to_record(load_fixture("severa/work_type"))
    assert record_to_eekonomi_article(record, codings=codings(), units=units())["CodingId"] == (
        SERVICES_25
    )


def test_r_5_2_ambiguous_services_coding_is_reported() -> None:
    twice = [*codings(), {**codings()[1], "Id": "other", "Name": "Tjänster 25% moms (EU)"}]

    with pytest.raises(ValueError, match="cannot tell which eEkonomi article coding"):
        find_services_coding(twice)


# -- units -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("load", "payload", "unit"),
    [
        (severa_work_type_to_record, load_fixture("severa/work_type"), "tim"),
        (severa_travel_expense_type_to_record, travel("MIL"), "km"),
        (severa_travel_expense_type_to_record, travel("TRAKT"), "st"),  # Severa says "day"
        (severa_travel_expense_type_to_record, travel("PARK"), "st"),
        (
            severa_product_to_record,
            {**load_fixture("severa/product"), "measurementUnit": None},
            "st",
        ),
    ],
)
def test_r_5_2_unit_defaults_per_kind(
    load: Callable[[dict[str, Any]], ProductRecord], payload: dict[str, Any], unit: str
) -> None:
    record = load(payload)

    assert record["unit"] == unit
    assert unit_abbreviation(to_article(record)) == unit


@pytest.mark.parametrize(
    ("severa_unit", "unit"),
    [
        ("h", "tim"),
        ("tim", "tim"),
        ("Timme", "tim"),
        ("tuntia", "tim"),
        ("km", "km"),
        ("dag", "dag"),
        ("Day", "dag"),
        ("st", "st"),
        ("pcs", "st"),
        ("kpl", "st"),
        ("mån", "mån"),  # no synonym, but eEkonomi has this unit
        ("m²", "st"),  # nothing matches: the product default
    ],
)
def test_r_5_2_product_unit_matches_the_severa_unit(severa_unit: str, unit: str) -> None:
    record = severa_product_to_record(
        {**load_fixture("severa/product"), "measurementUnit": severa_unit}
    )

    assert unit_abbreviation(to_article(record)) == unit


def test_r_5_2_missing_eekonomi_unit_is_reported() -> None:
    record = severa_work_type_to_record(load_fixture("severa/work_type"))
    without_hours = [u for u in units() if u["Abbreviation"] != "tim"]

    with pytest.raises(MappingError) as caught:
        record_to_eekonomi_article(record, codings=codings(), units=without_hours)

    assert caught.value.record_label == "work type 'KONS' 'Konsultation'"
    assert caught.value.reason == (
        "eEkonomi has no unit 'tim'; add it under Register → Units in eEkonomi"
    )


@pytest.mark.parametrize(
    ("expense_class", "flags", "kind"),
    [
        ("Mileage", {}, "mileage"),
        ("DailyAllowance", {}, "daily_allowance"),
        ("OtherTravelExpense", {"isMileage": True}, "other_expense"),  # the class decides
        (None, {"isMileage": True}, "mileage"),
        (None, {"isDailyAllowance": True}, "daily_allowance"),
        (None, {}, "other_expense"),
    ],
)
def test_r_5_2_travel_expense_kind_from_expense_class_or_flags(
    expense_class: str | None, flags: dict[str, bool], kind: str
) -> None:
    payload = {
        **travel("PARK"),
        "expenseClass": expense_class,
        "isMileage": False,
        "isDailyAllowance": False,
        **flags,
    }

    assert severa_travel_expense_type_to_record(payload)["kind"] == kind


# -- prices ------------------------------------------------------------------------------


def test_r_5_2_price_excluding_vat_is_the_severa_unit_price() -> None:
    record = severa_product_to_record(load_fixture("severa/product"))

    assert record["net_price"] == Decimal("1250")
    assert to_article(record)["NetPrice"] == 1250


@pytest.mark.parametrize(
    ("net", "vat", "gross"),
    [
        ("1250", "25", "1562.50"),
        ("99.99", "24", "123.99"),  # 123.9876
        ("100.45", "25.5", "126.06"),  # 126.06475: half-up at the third decimal's 4
        ("10.10", "12", "11.31"),  # 11.312
        ("0.02", "25", "0.03"),  # 0.025 rounds half-up
        ("500", "0", "500.00"),
    ],
)
def test_r_5_2_gross_price_from_severa_vat_rate(net: str, vat: str, gross: str) -> None:
    payload = {
        **load_fixture("severa/product"),
        "unitPrice": {"amount": float(net), "currencyCode": "SEK", "multiCurrencyInfo": []},
        "vatRate": float(vat),
    }

    record = severa_product_to_record(payload)

    assert record["gross_price"] == Decimal(gross)
    assert gross_from_net(Decimal(net), Decimal(vat)) == Decimal(gross)


def test_r_5_2_prices_are_json_numbers_with_only_the_needed_decimals() -> None:
    payload = {**load_fixture("severa/product")}
    payload["unitPrice"] = {**payload["unitPrice"], "amount": 0.1}  # a float trap

    text = json.dumps(to_article(severa_product_to_record(payload)))

    assert '"NetPrice": 0.1' in text
    assert '"GrossPrice": 0.13' in text  # 0.125 → 0.13
    assert '"NetPrice": 1250' in json.dumps(
        to_article(severa_product_to_record(load_fixture("severa/product")))
    )


def test_r_5_2_net_price_computed_back_from_gross() -> None:
    article = {**load_fixture("eekonomi/article"), "NetPrice": 0, "GrossPrice": 1225.0}

    record = eekonomi_article_to_record(article, codings=codings())

    assert record["net_price"] == Decimal("980.00")
    assert net_from_gross(Decimal("123.99"), Decimal("24")) == Decimal("99.99")


def test_r_5_2_work_and_travel_types_carry_no_price_into_the_article() -> None:
    for record in (
        severa_work_type_to_record(load_fixture("severa/work_type")),
        severa_travel_expense_type_to_record(travel("MIL")),  # unitCost is a reimbursement
    ):
        article = to_article(record)
        assert "NetPrice" not in article
        assert "GrossPrice" not in article


def test_r_5_2_negative_price_is_rejected_with_reason() -> None:
    payload = {**load_fixture("severa/product")}
    payload["unitPrice"] = {**payload["unitPrice"], "amount": -50.0}

    with pytest.raises(MappingError, match="NetPrice: price -50.* outside 0–99 000 000"):
        to_article(severa_product_to_record(payload))


# -- eEkonomi → Severa -------------------------------------------------------------------


def test_r_5_2_eekonomi_article_lands_in_the_severa_product_register() -> None:
    record = eekonomi_article_to_record(load_fixture("eekonomi/article"), codings=codings())

    body = record_to_severa_product(record, company_currency="SEK")

    assert record["kind"] == "product"
    assert body == {
        "code": "2001",
        "name": "Ritningsgranskning",
        "isActive": True,
        "measurementUnit": "tim",
        "unitPrice": {"amount": 980, "currencyCode": "SEK"},
        "vatRate": 25,
    }


def test_r_5_2_vat_rate_from_the_coding_else_from_the_prices() -> None:
    article = load_fixture("eekonomi/article")

    assert eekonomi_article_to_record(article, codings=codings())["vat_rate"] == Decimal(25)
    assert eekonomi_article_to_record(article)["vat_rate"] == Decimal("25.00")


def test_r_5_2_unit_by_unit_id_when_the_article_has_no_abbreviation() -> None:
    article = {**load_fixture("eekonomi/article"), "UnitAbbreviation": None}
    article["UnitId"] = units()[2]["Id"]

    assert eekonomi_article_to_record(article, units=units())["unit"] == "km"


@pytest.mark.parametrize(("text", "unit"), [("H", "tim"), ("  PCS ", "st"), ("", "st")])
def test_r_5_2_swedish_unit_names(text: str, unit: str) -> None:
    assert swedish_unit(text) == unit


# -- round trips -------------------------------------------------------------------------


def test_r_5_2_round_trip_severa_product_to_article_and_back() -> None:
    record = severa_product_to_record(load_fixture("severa/product"))
    article = json.loads(json.dumps(to_article(record)))

    back = eekonomi_article_to_record(article, codings=codings(), units=units())

    assert back == record
    assert content_hash(back) == content_hash(record)


def test_r_5_2_round_trip_article_to_severa_product_and_back() -> None:
    record = eekonomi_article_to_record(load_fixture("eekonomi/article"), codings=codings())
    body = json.loads(json.dumps(record_to_severa_product(record, company_currency="SEK")))
    # What Severa answers on GET after the POST.
    read_back = {
        **body,
        "guid": "p-1",
        "type": None,
        "unitPrice": {**body["unitPrice"], "multiCurrencyInfo": []},
    }

    assert severa_product_to_record(read_back) == record


def test_r_5_2_services_coding_found_whether_vat_rate_is_a_fraction_or_a_percent() -> None:
    from schemas.products import find_services_coding

    for rate in (0.25, 25):
        codings = [
            {"Id": "goods", "Name": "Varor 25% moms", "VatRatePercent": rate, "IsActive": True},
            {"Id": "svc", "Name": "Tjänster 25% moms", "VatRatePercent": rate, "IsActive": True},
            {"Id": "svc12", "Name": "Tjänster 12% moms", "VatRatePercent": rate / 25 * 12},
        ]
        assert find_services_coding(codings) == "svc"


def test_r_5_2_services_coding_decided_by_name_when_other_codings_are_typed_service() -> None:
    from schemas.products import find_services_coding

    codings = [
        {"Id": "svc", "Name": "Tjänster 25% moms", "Type": "Service", "VatRatePercent": 0.25},
        {"Id": "misc", "Name": "Övrigt (saknar konto)", "Type": "Service", "VatRatePercent": 0.25},
    ]
    assert find_services_coding(codings) == "svc"


# -- rules the synchronizer used to hold (issue 13) ----------------------------------------


def test_r_5_2_given_no_single_services_coding_then_the_article_fails_naming_the_record() -> None:
    twice = [*codings(), {**codings()[1], "Id": "other", "Name": "Tjänster 25% moms (EU)"}]
    record = severa_work_type_to_record(load_fixture("severa/work_type"))

    with pytest.raises(MappingError) as caught:
        record_to_eekonomi_article(record, codings=twice, units=units())

    assert caught.value.record_label == "work type 'KONS' 'Konsultation'"
    assert "cannot tell which eEkonomi article coding" in caught.value.reason


@pytest.mark.parametrize(
    ("register", "fields"),
    [
        ("product", {"name", "isActive", "unitPrice"}),
        ("work_type", {"name", "isActive"}),  # priced in price lists, not on the type
        ("travel_expense_type", {"name", "isActive"}),
    ],
)
def test_r_1_2_an_update_changes_only_the_fields_the_register_owns(
    register: SeveraRegister, fields: set[str]
) -> None:
    record = eekonomi_article_to_record(load_fixture("eekonomi/article"), codings=codings())

    update = record_to_severa_update(record, register, company_currency="SEK")

    assert set(update) == fields == set(SEVERA_UPDATABLE[register])
    assert update["name"] == "Ritningsgranskning"


def test_given_no_company_currency_then_a_price_written_to_severa_is_in_sek() -> None:
    record = eekonomi_article_to_record(load_fixture("eekonomi/article"), codings=codings())

    assert price_currency(None) == price_currency(" ") == "SEK"
    assert price_currency("EUR") == "EUR"
    body = record_to_severa_product(record, company_currency=None)
    assert body["unitPrice"] == {"amount": 980, "currencyCode": "SEK"}


def test_r_2_3_given_a_code_another_severa_record_uses_then_both_fail_naming_the_other() -> None:
    work_type = load_fixture("severa/work_type")

    assert severa_item_to_record("work_type", work_type) == severa_work_type_to_record(work_type)
    with pytest.raises(MappingError) as caught:
        severa_item_to_record("work_type", work_type, code_also_used_by=("product", "Licens"))

    assert caught.value.record_label == "work type 'KONS' 'Konsultation'"
    assert caught.value.reason.startswith("its code is also used by the product 'Licens'")
    assert "(R-2.3)" in caught.value.reason


def test_r_1_2_each_severa_register_reads_with_its_own_schema() -> None:
    product = load_fixture("severa/product")
    assert severa_item_to_record("product", product) == severa_product_to_record(product)
    assert severa_item_to_record("travel_expense_type", travel("MIL"))["kind"] == "mileage"


def test_r_5_2_an_article_gets_the_coding_of_its_severa_vat_rate() -> None:
    """Issue 19: the coding whose VAT rate is the item's; the preselected "services 25 %"
    when the rate is unknown (a work type) or no coding has it (6 % here)."""
    from schemas.products import choose_article_coding

    assert choose_article_coding(codings(), Decimal(12)) == "c0d10000-0000-4000-8000-000000000012"
    assert choose_article_coding(codings(), Decimal(25)) == SERVICES_25
    assert choose_article_coding(codings(), None) == SERVICES_25
    assert choose_article_coding(codings(), Decimal(6)) == SERVICES_25
    without_account = [{**c, "DomesticSalesSubjectToVatAccountNumber": None} for c in codings()]
    assert choose_article_coding(without_account, Decimal(12)) == SERVICES_25


def test_r_5_2_an_update_keeps_the_articles_coding_and_prices_by_it() -> None:
    from schemas.products import article_for_update

    goods = "c0d10000-0000-4000-8000-000000000125"
    twelve = "c0d10000-0000-4000-8000-000000000012"
    payload = {"CodingId": SERVICES_25, "NetPrice": 100, "GrossPrice": 125, "Name": "X"}
    assert article_for_update(payload, {"CodingId": goods}, codings()) == {
        "NetPrice": 100, "GrossPrice": 125, "Name": "X",
    }  # fmt: skip
    assert article_for_update(payload, {"CodingId": twelve}, codings())["GrossPrice"] == 112
