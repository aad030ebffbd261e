"""R-5.4 invoices → drafts, R-1.6/R-1.7 booked invoices back: the pure mapping rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from schemas.base import MappingError
from schemas.invoice_rows import DraftLine
from schemas.invoices import (
    booked_changes,
    booked_totals,
    check_totals,
    draft_terms_of_payment_id,
    is_delivered,
    is_paid,
    marker_for,
    record_to_eekonomi_draft,
    severa_guid_of,
    severa_invoice_to_record,
)
from tests.schemas.conftest import load_fixture

GUID = "143d3e10-2d1c-59eb-9988-f8e515ef5858"
CUSTOMER = "2b81e90c-929c-557e-8626-58aad74f3ef5"
ARTICLE = "a0000000-0000-4000-8000-000000000001"
ITEM = "c0000000-0000-4000-8000-000000000001"
TRANSFERRED, SENT, PAID = "s-transferred", "s-sent", "s-paid"


def money(amount: float) -> dict[str, Any]:
    return {"amount": amount, "currencyCode": "SEK", "multiCurrencyInfo": []}


def invoice(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "guid": GUID,
        "number": None,
        "date": "2025-03-03",
        "dueDate": "2025-04-02",
        "paymentTerm": 30,
        "customer": {"guid": "c1", "name": "Kund AB", "number": 1002},
        "billingCustomer": {"guid": "c2", "name": "Nordisk Byggkonsult AB", "number": 1001},
        "projects": [{"guid": "p1", "name": "P", "number": 1001}],
        "ourReference": "Anna Andersson",
        "yourReference": "Per",
        "notes": "Fakturan avser arbete under 2025-03.",
        "freeText1": {"value": "<b>Villkor</b>", "plainText": "Villkor"},
        "freeText2": {"value": "Tack!", "plainText": "Tack!"},
        "receiverAddress": {"addressline": "Box 1000\nPlan 3\nIngång B", "postalCode": "111 22"},
        "currency": {"guid": "x", "code": "SEK"},
        "isCreditNote": False,
        "status": {"guid": TRANSFERRED},
        "totalExcludingTax": money(42525.0),
        "totalIncludingTax": money(53156.25),
    }
    return {**base, **changes}


def line(**changes: Any) -> DraftLine:
    base: dict[str, Any] = {
        "article_id": ARTICLE,
        "text": "Konsult senior",
        "quantity": Decimal("12.5"),
        "unit_price": Decimal("1250"),
        "unit_abbreviation": "tim",
        "unit_name": "Timme",
        "cost_center_slot": 1,
        "cost_center_item_id": ITEM,
    }
    return DraftLine(**{**base, **changes})


def draft(**changes: Any) -> dict[str, Any]:
    record = severa_invoice_to_record(invoice(**changes))
    return record_to_eekonomi_draft(record, [line()], customer_id=CUSTOMER)


def test_r_5_4_header_billing_customer_calendar_dates_references_address(
    assert_contract: Callable[..., None],
) -> None:
    record = severa_invoice_to_record(invoice())
    assert record["customer_number"] == "1001"  # the billing customer receives it
    assert record["invoice_date"] == date(2025, 3, 3)
    assert record["total_including_tax"] == Decimal("53156.25")
    body = draft()
    assert body["InvoiceDate"] == "2025-03-03T00:00:00Z"  # midnight UTC: never a day off
    assert body["DueDate"] == "2025-04-02T00:00:00Z"
    assert (body["OurReference"], body["YourReference"]) == ("Anna Andersson", "Per")
    assert (body["InvoiceAddress1"], body["InvoiceAddress2"]) == ("Box 1000", "Plan 3, Ingång B")
    assert body["CustomerId"] == CUSTOMER
    assert (body["EuThirdParty"], body["RotReducedInvoicingType"]) == (False, 0)
    assert_contract("eekonomi", "CustomerInvoiceDraftApi", body, sent=True)


def test_r_6_1_the_marker_names_the_severa_invoice_and_nothing_else() -> None:
    assert draft()["SubscriptionNumber"] == marker_for(GUID) == f"severa:{GUID}"
    assert severa_guid_of(marker_for(GUID)) == GUID
    assert severa_guid_of("Avtal 12") is None
    assert severa_guid_of(None) is None


def terms() -> list[dict[str, Any]]:
    return list(load_fixture("eekonomi/terms_of_payments")["Data"])


def test_r_5_4_given_payment_days_with_terms_then_the_draft_carries_those_terms() -> None:
    record = severa_invoice_to_record(invoice())  # paymentTerm 30

    body = record_to_eekonomi_draft(
        record, [line()], customer_id=CUSTOMER, terms_of_payment=terms()
    )

    # "30 dagar" (Normal), not "Löpande månad + 30": the rule of.
    assert body["TermsOfPaymentId"] == "f1e2d3c4-b5a6-4978-8695-a4b3c2d1e030"


def test_r_5_4_given_days_without_terms_then_no_terms_are_sent_and_the_invoice_still_maps() -> None:
    """Unlike a customer (R-5.1), the invoice does not fail: its due date is explicit."""
    assert draft_terms_of_payment_id(17, terms()) is None
    assert draft_terms_of_payment_id(None, terms()) is None
    assert draft_terms_of_payment_id(30, []) is None
    record = severa_invoice_to_record(invoice(paymentTerm=17))
    body = record_to_eekonomi_draft(
        record, [line()], customer_id=CUSTOMER, terms_of_payment=terms()
    )
    assert body["TermsOfPaymentId"] is None
    assert body["DueDate"] == "2025-04-02T00:00:00Z"


def test_r_5_4_the_three_text_fields_become_text_rows_around_the_article_rows() -> None:
    rows = draft()["Rows"]
    assert [(r.get("IsTextRow"), r.get("Text")) for r in rows] == [
        (True, "Fakturan avser arbete under 2025-03."),
        (False, "Konsult senior"),
        (True, "Villkor"),  # the plain text, tags removed
        (True, "Tack!"),
    ]
    assert rows[1]["CostCenterItemId1"] == ITEM
    assert (rows[1]["Quantity"], rows[1]["UnitPrice"]) == (12.5, 1250)


def test_r_5_4_a_note_longer_than_a_text_row_is_split_never_cut() -> None:
    rows = draft(notes="x" * 4500, freeText1=None, freeText2=None)["Rows"]
    texts = [r["Text"] for r in rows if r.get("IsTextRow")]
    assert [len(t) for t in texts] == [2000, 2000, 500]


def test_r_5_4_a_reference_over_eekonomis_limit_fails_with_the_field() -> None:
    with pytest.raises(MappingError, match="OurReference.*longer than 100"):
        draft(ourReference="x" * 101)


def test_given_no_date_then_the_invoice_fails_with_a_reason() -> None:
    with pytest.raises(MappingError, match="no date"):
        severa_invoice_to_record(invoice(date=None))


def test_totals_check_reports_a_price_with_more_decimals_than_eekonomi_keeps() -> None:
    record = severa_invoice_to_record(
        invoice(totalExcludingTax=money(4928.70), totalIncludingTax=money(5893.32))
    )
    computed = {"TotalAmount": 6161.0, "TotalVatAmount": 1232.18, "TotalRoundings": 0.11,
                "Rows": [{"IsTextRow": False}] * 3}  # fmt: skip
    check = check_totals(record, computed)
    assert not check.ok
    assert "4928.70 excl. VAT" in check.describe()
    assert "4928.71 excl. VAT" in check.describe()


def test_totals_check_accepts_the_rounding_to_whole_kronor() -> None:
    record = severa_invoice_to_record(invoice())
    computed = {"TotalAmount": 53156.0, "TotalVatAmount": 10631.25, "TotalRoundings": -0.25,
                "Rows": [{"IsTextRow": False}] * 3}  # fmt: skip
    assert check_totals(record, computed).ok


def test_given_a_foreign_currency_booked_invoice_then_totals_compare_in_its_currency() -> None:
    """eaccounting-notes §6.8: a booked invoice's TotalAmount and TotalRoundings are in
    the company currency; the invoice-currency totals and the rate give the draft's view."""
    booked = {"TotalAmount": 11250.0, "TotalVatAmount": 2250.0, "TotalRoundings": 0.5,
              "TotalAmountInvoiceCurrency": 1000.0, "TotalVatAmountInvoiceCurrency": 200.0,
              "CurrencyRate": 11.25, "Rows": [{"IsTextRow": False}]}  # fmt: skip

    totals = booked_totals(booked)

    assert (totals["TotalAmount"], totals["TotalVatAmount"]) == (1000.0, 200.0)
    assert totals["TotalRoundings"] == Decimal("0.5") / Decimal("11.25")
    domestic = booked_totals({"TotalAmount": 125.0, "TotalVatAmount": 25.0, "TotalRoundings": 0})
    assert (domestic["TotalAmount"], domestic["TotalRoundings"], domestic["Rows"]) == (125.0, 0, [])


def test_given_totals_that_differ_on_a_booked_invoice_then_the_warning_says_to_credit_it() -> None:
    record = severa_invoice_to_record(invoice())
    check = check_totals(record, {"TotalAmount": 53000.0, "TotalVatAmount": 10600.0,
                                  "TotalRoundings": 0, "Rows": []})  # fmt: skip

    assert not check.ok
    assert "the draft was kept" in check.describe()
    booked = check.describe(booked_number=1004)
    assert "booked eEkonomi invoice 1004 42400.00 excl. VAT" in booked
    assert "credit it in eEkonomi" in booked


@pytest.mark.parametrize(
    ("booked", "paid"),
    [
        ({"PaymentStatus": 1, "RemainingAmount": 1000.0, "PaymentDate": None}, False),
        # partly paid — PaymentDate set, still open.
        ({"PaymentStatus": 1, "RemainingAmount": 500.0, "PaymentDate": "2026-11-20"}, False),
        ({"PaymentStatus": 2, "RemainingAmount": 500.0, "PaymentDate": "2026-11-20"}, False),
        ({"PaymentStatus": 0, "RemainingAmount": 0.0, "PaymentDate": "2026-11-20"}, True),
        # Credit invoices: negative remaining is open, not "less than nothing left".
        ({"PaymentStatus": 1, "RemainingAmount": -5625.0, "IsCreditInvoice": True}, False),
        ({"PaymentStatus": 1, "RemainingAmount": -0.0, "IsCreditInvoice": True}, True),
    ],
)
def test_r_1_7_paid_means_paid_in_full(booked: dict[str, Any], paid: bool) -> None:
    assert is_paid(booked) is paid


def test_r_3_8_delivered_means_a_send_type_and_no_failed_delivery() -> None:
    assert not is_delivered({"SendType": None})
    assert not is_delivered({"SendType": 0})
    assert not is_delivered({"SendType": 1, "IsNotDelivered": True})
    assert is_delivered({"SendType": 1, "IsNotDelivered": False})


def test_r_1_6_number_and_ocr_go_before_the_status() -> None:
    booked = {"InvoiceNumber": 1004, "PaymentReferenceNumber": "100461"}
    changes = booked_changes(
        invoice(), booked, target_status=SENT, may_move_from=[TRANSFERRED], read_only=False
    )
    assert list(changes.items()) == [
        ("/number", 1004),
        ("/referenceNumber", "100461"),
        ("/status/guid", SENT),
    ]


def test_r_1_6_the_status_never_moves_back_and_read_only_takes_no_number() -> None:
    booked = {"InvoiceNumber": 1004, "PaymentReferenceNumber": "100461"}
    paid_already = invoice(status={"guid": PAID})
    assert (
        booked_changes(
            paid_already, booked, target_status=SENT, may_move_from=[TRANSFERRED], read_only=True
        )
        == {}
    )


def test_r_1_7_paid_writes_the_payment_date_as_a_calendar_date() -> None:
    booked = {"InvoiceNumber": 7, "PaymentDate": "2026-11-20T00:00:00Z", "PaymentStatus": 0}
    sent = invoice(status={"guid": SENT}, number=7)
    changes = booked_changes(
        sent, booked, target_status=PAID, may_move_from=[TRANSFERRED, SENT],
        read_only=False, paid=True,
    )  # fmt: skip
    assert changes == {"/paymentDate": "2026-11-20", "/status/guid": PAID}
