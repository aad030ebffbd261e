"""R-5.5 supplier-invoice rows → Severa project fees (and R-1.5's cost rows)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from schemas.base import MappingError
from schemas.errors import ConfigError
from schemas.supplier_invoices import (
    FeeRecord,
    cost_rows,
    default_vat_rate,
    describe_differences,
    fee_currency,
    fee_differences,
    fee_patch,
    is_cost_account,
    is_invoiced,
    project_refs,
    record_to_severa_project_fee,
    row_key,
    severa_project_fee_to_record,
    supplier_cost_to_record,
)
from tests.schemas.conftest import load_fixture

PROJECT = "5eae0000-0000-4000-8000-000000001001"
VAT_RATES = [
    {"guid": "v12", "percentage": 12.0, "isDefault": False, "isActive": True},
    {"guid": "v25", "percentage": 25.0, "isDefault": True, "isActive": True},
]


def invoice(**changes: Any) -> dict[str, Any]:
    return {**load_fixture("eekonomi/supplier_invoice"), **changes}


def first_cost(payload: dict[str, Any]) -> dict[str, Any]:
    return next(row for _, row in cost_rows(payload))


def to_record(
    payload: dict[str, Any], *, billable: bool = True, row: dict[str, Any] | None = None
) -> FeeRecord:
    return supplier_cost_to_record(
        payload,
        row if row is not None else first_cost(payload),
        project_guid=PROJECT,
        billable=billable,
        vat_rates=VAT_RATES,
        company_currency="SEK",
    )


def test_fixtures_match_the_vendor_contract(assert_contract: Callable[..., None]) -> None:
    for name in ("supplier_invoice", "supplier_credit_invoice"):
        assert_contract("eekonomi", "SupplierInvoiceApi", load_fixture(f"eekonomi/{name}"),
                        sent=False)  # fmt: skip


def test_r_5_5_payload_we_send_matches_the_vendor_contract(
    assert_contract: Callable[..., None],
) -> None:
    body = record_to_severa_project_fee(to_record(invoice()))
    assert_contract("severa", "ProjectFeeInputModel", body, sent=True)


def test_r_5_5_the_whole_fee() -> None:
    assert record_to_severa_project_fee(to_record(invoice())) == {
        "project": {"guid": PROJECT},
        "name": "2026-03-04 LF1 Dustin Sverige AB",
        "description": "2026-03-04 LF1 Dustin Sverige AB",
        "eventDate": "2026-03-04",
        "quantity": 1,
        "unitCost": {"amount": 8000, "currencyCode": "SEK"},
        "unitPrice": {"amount": 8000, "currencyCode": "SEK"},
        "isBillable": True,
        "vatRate": 25,
    }


def test_r_5_5_description_is_the_invoice_date_voucher_number_and_supplier_name() -> None:
    record = to_record(invoice(SupplierName="  Dustin   Sverige AB ", VoucherNumber="LF12"))
    assert record["description"] == "2026-03-04 LF12 Dustin Sverige AB"


def test_r_5_5_date_is_the_supplier_invoice_date_whether_sent_as_date_or_date_time() -> None:
    assert to_record(invoice(InvoiceDate="2026-05-31T00:00:00Z"))["event_date"] == "2026-05-31"
    assert to_record(invoice(InvoiceDate="2026-05-31"))["event_date"] == "2026-05-31"


def test_r_5_5_quantity_is_always_1() -> None:
    assert to_record(invoice())["quantity"] == 1


def test_r_5_5_cost_is_the_rows_debit_amount() -> None:
    payload = invoice()
    row = {**first_cost(payload), "DebetAmount": 1161.32}
    assert to_record(payload, row=row)["unit_cost"] == Decimal("1161.32")


def test_r_5_5_price_equals_the_cost_when_supplier_invoices_are_billable() -> None:
    record = to_record(invoice(), billable=True)
    assert (record["unit_price"], record["is_billable"]) == (Decimal(8000), True)


def test_r_5_5_price_is_0_when_supplier_invoices_are_not_billable() -> None:
    record = to_record(invoice(), billable=False)
    assert (record["unit_cost"], record["unit_price"], record["is_billable"]) == (
        Decimal(8000), Decimal(0), False,
    )  # fmt: skip


def test_r_5_5_vat_rate_is_the_company_default_given() -> None:
    assert to_record(invoice())["vat_rate"] == Decimal("25")


def test_r_1_5_a_credit_invoice_gives_a_negative_cost() -> None:
    credit = load_fixture("eekonomi/supplier_credit_invoice")
    record = to_record(credit)
    assert (record["unit_cost"], record["unit_price"]) == (Decimal(-1200), Decimal(-1200))


def test_r_1_5_a_credit_invoice_written_as_a_positive_debit_is_still_negative() -> None:
    credit = load_fixture("eekonomi/supplier_credit_invoice")
    row = {**first_cost(credit), "DebetAmount": 1200.0, "CreditAmount": 0}
    assert to_record(credit, row=row)["unit_cost"] == Decimal(-1200)


@pytest.mark.parametrize(
    ("account", "cost"),
    [(4010, True), (5611, True), (1250, True), (2440, False), (2449, False), (2641, False),
     (2645, False), (2614, False), (None, False)],
)  # fmt: skip
def test_r_1_5_vat_and_accounts_payable_rows_are_never_costs(account: Any, cost: bool) -> None:
    assert is_cost_account(account) is cost


def test_r_1_5_cost_rows_of_the_demo_invoice_are_only_the_purchase() -> None:
    rows = list(cost_rows(invoice()))
    assert [row["AccountNumber"] for _, row in rows] == [4010]


def test_r_1_5_drafts_and_deleted_invoices_have_no_cost_rows() -> None:
    assert list(cost_rows(invoice(Status=0))) == []
    assert list(cost_rows(invoice(Status=2))) == []


def test_r_6_1_the_natural_key_is_the_invoice_and_its_row() -> None:
    payload = invoice()
    row = first_cost(payload)
    assert row_key(payload, row) == f"{payload['Id']}:{row['Id']}"
    assert row_key(payload, {"LineNumber": 3}) == f"{payload['Id']}:line3"


def test_r_1_5_a_row_names_its_cost_center_items_and_project() -> None:
    row = first_cost(invoice())
    items, project = project_refs({**row, "CostCenterItemId3": "x"})
    assert items == [row["CostCenterItemId1"], "x"]
    assert project == row["ProjectId"]


def test_given_an_amount_with_more_decimals_than_severa_keeps_then_the_row_fails_with_why() -> None:
    payload = invoice()
    row = {**first_cost(payload), "DebetAmount": 2678.5714}
    with pytest.raises(MappingError, match=r"2678\.5714 has more decimals than Severa keeps"):
        to_record(payload, row=row)


def test_given_no_voucher_number_then_the_row_fails_with_why() -> None:
    with pytest.raises(MappingError, match="no voucher number"):
        to_record(invoice(VoucherNumber=None))


def test_a_fee_read_back_equals_the_record_written() -> None:
    record = to_record(invoice())
    fee = {
        **record_to_severa_project_fee(record),
        "guid": "f",
        "unitCost": {"amount": 8000.0, "currencyCode": "SEK", "multiCurrencyInfo": []},
        "unitPrice": {"amount": 8000.0, "currencyCode": "SEK", "multiCurrencyInfo": []},
        "vatRate": 25.0,
        "project": {"guid": PROJECT, "name": "Nytt affärssystem"},
    }
    assert fee_differences(severa_project_fee_to_record(fee), record) == {}


def test_a_changed_row_patches_only_what_differs_and_says_what() -> None:
    before = to_record(invoice())
    payload = invoice(InvoiceDate="2026-03-05T00:00:00Z")
    after = to_record(payload, row={**first_cost(payload), "DebetAmount": 8500.0})
    differences = fee_differences(before, after)
    assert fee_patch(after, differences) == {
        "/description": "2026-03-05 LF1 Dustin Sverige AB",
        "/name": "2026-03-05 LF1 Dustin Sverige AB",
        "/eventDate": "2026-03-05",
        "/unitCost/amount": Decimal(8500),
        "/unitPrice/amount": Decimal(8500),
    }
    assert "unit cost 8000 → 8500" in describe_differences(differences)


# -- rules the synchronizer used to hold (issue 13) ----------------------------------------


def test_r_5_5_the_vat_rate_is_the_severa_companys_active_default() -> None:
    assert to_record(invoice())["vat_rate"] == Decimal(25)
    inactive = [{**VAT_RATES[1], "isActive": False}, {**VAT_RATES[0], "isDefault": True}]
    assert default_vat_rate(inactive) == Decimal(12)


def test_r_5_5_given_no_default_vat_rate_then_the_connection_must_be_fixed_not_the_row() -> None:
    with pytest.raises(ConfigError, match="no default VAT rate"):
        default_vat_rate([{**VAT_RATES[1], "isDefault": False}])
    broken_row = {**first_cost(invoice()), "AccountNumber": None}
    with pytest.raises(ConfigError):  # before the row's own problem
        supplier_cost_to_record(invoice(), broken_row, project_guid=PROJECT, billable=True,
                                vat_rates=[], company_currency="SEK")  # fmt: skip


def test_r_5_5_fees_carry_the_eekonomi_company_currency_not_the_invoices() -> None:
    assert to_record(invoice(CurrencyCode="EUR"))["currency_code"] == "SEK"
    assert fee_currency(None, {"CurrencyCode": "EUR"}) == "EUR"
    assert fee_currency(None, {}) == "SEK"


def test_given_a_fee_on_a_severa_invoice_then_it_counts_as_invoiced() -> None:
    assert not is_invoiced({"invoice": None, "invoiceRowGuid": None})
    assert is_invoiced({"invoice": {"guid": "i1", "number": 10012}})
    assert is_invoiced({"invoice": None, "invoiceRowGuid": "r1"})
