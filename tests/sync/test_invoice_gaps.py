"""Invoice flow, issue 6's three gaps, end to end (real workers, real Redis, both
sandboxes over HTTP, the demo data):

1. the totals warning resolves itself once a later look sees matching totals — the
   draft re-read by the invoices transfer, or the booked invoice seen by a check;
2. a draft a person books while eEkonomi keeps neither ``CreatedFromDraftId`` nor the
   marker is still found by the checks (by its rows), and what cannot be found is
   listed with what to do — never missed silently;
3. a draft deleted in eEkonomi and its invoice set back to "to transfer" is
   transferred again (R-3.6), while a draft still there, or booked, is not (R-6.1).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.sync.conftest import World, run_in_worker, start_worker
from tests.sync.test_invoices import (
    _backoffice,
    _customer_number,
    _drafts_by_marker,
    _errors,
    _status_names,
    _store,
    _to_transfer,
    transfer_registers,
)
from worker.sync.errorlist import WARNING, ErrorList

pytestmark = pytest.mark.integration

#: Both adverse ``/convert`` switches: the booked invoice names no draft, and the
#: references (the marker's ``SubscriptionNumber`` among them) are not copied.
ADVERSE = {"convert_sets_created_from_draft_id": False, "convert_keeps_references": False}


def _transferred(world: World, celery_app: Any) -> tuple[str, dict[str, str]]:
    """A worker, the registers and one invoices run; → (queue, customer number → guid)."""
    invoices = _to_transfer(world)
    worker = start_worker(world, celery_app)
    transfer_registers(world, celery_app, worker.queue)
    run_in_worker(world, celery_app, "invoices", worker.queue)
    return worker.queue, {_customer_number(i): g for g, i in invoices.items()}


def _draft_of(world: World, guid: str) -> dict[str, Any]:
    [draft] = [
        d
        for d in _store(world, "eekonomi", "customerInvoiceDrafts")
        if d.get("SubscriptionNumber") == f"severa:{guid}"
    ]
    return draft


def _severa_invoice(world: World, guid: str) -> dict[str, Any]:
    [invoice] = [i for i in _store(world, "severa", "invoices") if i["guid"] == guid]
    return invoice


def _status(world: World, guid: str) -> str:
    return _status_names(world)[_severa_invoice(world, guid)["status"]["guid"]]


def _book(world: World, draft_id: str, **switches: bool) -> dict[str, Any]:
    """A person books the draft in eEkonomi's UI, under the given ``/convert`` switches."""
    _backoffice(world, "eekonomi", "switches", switches)
    return _backoffice(world, "eekonomi", f"ui/customerinvoicedrafts/{draft_id}/convert", {})


def _edit_draft(world: World, draft: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """A person changes the draft's rows in eEkonomi's UI (totals are recomputed)."""
    _backoffice(world, "eekonomi", f"ui/customerinvoicedrafts/{draft['Id']}/edit", {"Rows": rows})


def _delete_draft(world: World, draft_id: str) -> None:
    """A person deletes the draft in eEkonomi's UI. The back office has no route for
    it; the sandbox app serves from this process, so the record is removed under its
    lock, as the API's ``DELETE /customerinvoicedrafts/{id}`` does."""
    app = world.eekonomi
    with app.lock:
        del app.company_by(None).coll("customerInvoiceDrafts")[draft_id]


def _set_status(world: World, guid: str, status: str) -> None:
    _backoffice(world, "severa", f"invoices/{guid}/status", {"status": status})


def _enter_by_hand(world: World, guid: str, booked: dict[str, Any]) -> None:
    """What the error list tells a person to do: number and OCR in Severa, then "sent"."""
    numbers = {
        "number": booked["InvoiceNumber"],
        "referenceNumber": booked["PaymentReferenceNumber"],
    }
    _backoffice(world, "severa", f"edit/invoices/{guid}", numbers)
    _set_status(world, guid, "Skickad")


def _sent_entries(world: World) -> dict[str, str]:
    """The sent check's error list: Severa guid → reason."""
    entries = ErrorList(world.redis, world.connection_id).entries(register="sent")
    return {e.record_key: e.reason for e in entries}


def _warning(world: World, guid: str) -> Any:
    return ErrorList(world.redis, world.connection_id).get(
        "invoices", "severa→eekonomi", f"{guid}:totals"
    )


def _add_severa_invoice(world: World, customer: int, project: int, price: float) -> str:
    """A person adds an invoice "to transfer" in Severa: 3 h senior consultant at ``price``."""
    created = _backoffice(
        world,
        "severa",
        "invoices",
        {
            "customer": customer,
            "projects": [project],
            "status": "Att överföra",
            "date": "2025-04-01",
            "dueDate": "2025-05-01",
            "rows": [
                {
                    "rowType": "Hours",
                    "code": "KONS-SR",
                    "description": "Konsult senior",
                    "quantity": 3,
                    "unitPrice": price,
                    "vatRate": 25.0,
                    "measurementUnit": "h",
                    "items": [
                        {
                            "kind": "workHour",
                            "workType": "KONS-SR",
                            "quantity": 3,
                            "unitPrice": price,
                            "project": project,
                        }
                    ],
                }
            ],
        },
    )
    return str(created["invoice"]["guid"])


def _first_row_changed(
    draft: dict[str, Any], quantity: float, price: float | None = None
) -> list[dict[str, Any]]:
    """The draft's rows with its first article row at ``quantity`` × ``price``, amount
    included (the back office merges rows as given; the UI would compute it)."""
    rows = [dict(r) for r in draft["Rows"]]
    row = next(r for r in rows if not r["IsTextRow"])
    price = row["UnitPrice"] if price is None else price
    row.update(Quantity=quantity, UnitPrice=price, Amount=round(quantity * price, 2))
    return rows


# -- gap 1: the totals warning resolves itself -----------------------------------------


def test_gap1_given_a_totals_warning_when_the_draft_is_corrected_in_eekonomi_then_the_next_transfer_resolves_it(  # noqa: E501
    world: World, celery_app: Any
) -> None:
    # 3 h at 1000.0033: 3000.01 in Severa, 3 × 1000.00 = 3000.00 as a draft.
    guid = _add_severa_invoice(world, customer=1001, project=1001, price=1000.0033)
    queue, _ = _transferred(world, celery_app)
    first = _warning(world, guid)
    assert first is not None
    assert first.kind == WARNING

    # Not corrected yet: the draft is re-read, the warning stays as it was (no new count).
    world.clear_logs()
    run_in_worker(world, celery_app, "invoices", queue)
    again = _warning(world, guid)
    assert again is not None
    assert again.count == first.count
    assert world.writes() == []

    draft = _draft_of(world, guid)
    _edit_draft(world, draft, _first_row_changed(draft, 1.0, 3000.01))
    report = run_in_worker(world, celery_app, "invoices", queue)
    assert report["failed"] == 4  # the demo's bad invoices only
    assert _warning(world, guid) is None
    assert f"{guid}:totals" not in _errors(world, WARNING)
    assert _drafts_by_marker(world)[guid] == 1


def test_gap1_given_totals_warnings_when_the_drafts_are_booked_then_the_sent_check_judges_the_booked_totals(  # noqa: E501
    world: World, celery_app: Any
) -> None:
    extra = _add_severa_invoice(world, customer=1001, project=1001, price=1000.0033)
    queue, by_customer = _transferred(world, celery_app)
    uncorrected = by_customer["1005"]
    assert _warning(world, uncorrected) is not None
    assert _warning(world, extra) is not None

    # One is corrected and booked at once (no transfer run sees the corrected draft);
    # the other is booked as it is.
    draft = _draft_of(world, extra)
    _edit_draft(world, draft, _first_row_changed(draft, 1.0, 3000.01))
    _book(world, draft["Id"])
    booked = _book(world, _draft_of(world, uncorrected)["Id"])

    report = run_in_worker(world, celery_app, "sent", queue)
    assert report["status"] == "finished"
    assert _warning(world, extra) is None
    kept = _warning(world, uncorrected)
    assert kept is not None
    assert kept.extra["booked_invoice_number"] == str(booked["InvoiceNumber"])
    assert f"booked eEkonomi invoice {booked['InvoiceNumber']}" in kept.reason
    assert "4928.71 excl. VAT" in kept.reason
    assert (_status(world, extra), _status(world, uncorrected)) == ("Skickad", "Skickad")

    # Checked again (the watermark overlaps): nothing is written, the count stays.
    world.clear_logs()
    run_in_worker(world, celery_app, "sent", queue)
    run_in_worker(world, celery_app, "invoices", queue)
    assert world.writes() == []
    still = _warning(world, uncorrected)
    assert still is not None
    assert still.count == kept.count


# -- gap 2: booked without draft id or marker ----------------------------------------


def test_gap2_given_both_adverse_convert_switches_when_a_person_books_drafts_then_the_checks_find_them_or_list_them(  # noqa: E501
    world: World, celery_app: Any
) -> None:
    queue, by_customer = _transferred(world, celery_app)
    # 1001: booked as made; the draft disappears.
    plain = _book(
        world, _draft_of(world, by_customer["1001"])["Id"], **ADVERSE, convert_deletes_draft=True
    )
    assert plain["CreatedFromDraftId"] is None
    assert plain["SubscriptionNumber"] is None
    # 1004: corrected before booking, and the draft stays after booking.
    draft = _draft_of(world, by_customer["1004"])
    _edit_draft(world, draft, _first_row_changed(draft, 8.0))
    kept = _book(world, draft["Id"], **ADVERSE, convert_deletes_draft=False)
    # 1006: corrected before booking, and the draft disappears: nothing links it any more.
    draft = _draft_of(world, by_customer["1006"])
    _edit_draft(world, draft, _first_row_changed(draft, 15.0))
    lost = _book(world, draft["Id"], **ADVERSE, convert_deletes_draft=True)

    report = run_in_worker(world, celery_app, "sent", queue)
    assert report["status"] == "finished"
    for number, booked in (("1001", plain), ("1004", kept)):
        invoice = _severa_invoice(world, by_customer[number])
        assert _status(world, by_customer[number]) == "Skickad", number
        assert invoice["number"] == booked["InvoiceNumber"], number
        assert invoice["referenceNumber"] == booked["PaymentReferenceNumber"], number
    assert _status(world, by_customer["1006"]) == "Överförd"
    assert _severa_invoice(world, by_customer["1006"])["number"] != lost["InvoiceNumber"]
    listed = _sent_entries(world)
    assert set(listed) == {by_customer["1006"]}
    reason = listed[by_customer["1006"]]
    assert f"draft {draft['Id']} is gone" in reason
    assert "set its status to 'Skickad' by hand" in reason
    assert "back to 'Att överföra'" in reason
    for number in ("1002", "1046"):  # not booked: untouched, not listed
        assert _status(world, by_customer[number]) == "Överförd"

    # The paid check finds 1001 by the link the sent check made.
    _backoffice(world, "eekonomi", f"ui/customerinvoices/{plain['Id']}/pay", {})
    run_in_worker(world, celery_app, "paid", queue)
    assert _status(world, by_customer["1001"]) == "Betald"

    # The person does what the entry says for 1006; the entry resolves itself.
    guid = by_customer["1006"]
    _enter_by_hand(world, guid, lost)
    report = run_in_worker(world, celery_app, "sent", queue)
    assert report["failed"] == 0
    assert _sent_entries(world) == {}
    world.clear_logs()
    for register in ("sent", "paid", "invoices"):
        run_in_worker(world, celery_app, register, queue)
    assert world.writes() == []


def test_gap2_given_identical_invoices_when_one_is_booked_without_draft_id_or_marker_then_both_are_listed_not_guessed(  # noqa: E501
    world: World, celery_app: Any
) -> None:
    first = _add_severa_invoice(world, customer=1002, project=1002, price=1000.0)
    second = _add_severa_invoice(world, customer=1002, project=1002, price=1000.0)
    queue, _ = _transferred(world, celery_app)
    booked = _book(world, _draft_of(world, first)["Id"], **ADVERSE, convert_deletes_draft=True)

    run_in_worker(world, celery_app, "sent", queue)
    listed = _sent_entries(world)
    assert set(listed) == {first, second}
    for reason in listed.values():
        assert f"booked invoices {booked['InvoiceNumber']} have the customer and rows" in reason
    assert (_status(world, first), _status(world, second)) == ("Överförd", "Överförd")
    assert _severa_invoice(world, second)["number"] is None

    # The person enters the number on the right one; both entries resolve (the second
    # once the first's claim is seen: its records settle side by side in one run).
    _enter_by_hand(world, first, booked)
    run_in_worker(world, celery_app, "sent", queue)
    run_in_worker(world, celery_app, "sent", queue)
    assert _sent_entries(world) == {}
    assert _status(world, second) == "Överförd"
    assert _severa_invoice(world, second)["number"] is None


# -- gap 3: deliberate re-transfer ---------------------------------------------------


def test_gap3_given_a_draft_deleted_in_eekonomi_when_the_invoice_is_set_back_to_transfer_then_a_new_draft_is_made(  # noqa: E501
    world: World, celery_app: Any
) -> None:
    queue, by_customer = _transferred(world, celery_app)
    deleted, kept, booked_guid = by_customer["1001"], by_customer["1002"], by_customer["1004"]
    old = _draft_of(world, deleted)
    _delete_draft(world, old["Id"])

    # Deleted but still "transferred": the sent check says what to do.
    run_in_worker(world, celery_app, "sent", queue)
    listed = _sent_entries(world)
    assert set(listed) == {deleted}
    assert "back to 'Att överföra' to transfer it again" in listed[deleted]

    # 1004 is booked (default switches), then all three are set back to "to transfer".
    booked = _book(world, _draft_of(world, booked_guid)["Id"], convert_deletes_draft=True)
    for guid in (deleted, kept, booked_guid):
        _set_status(world, guid, "Att överföra")
    report = run_in_worker(world, celery_app, "invoices", queue)
    assert report["created"] == 1

    new = _draft_of(world, deleted)
    assert new["Id"] != old["Id"]
    assert _status(world, deleted) == "Överförd"
    failures = _errors(world)
    assert "already transferred (eEkonomi draft" in failures[kept]
    assert f"booked as invoice {booked['InvoiceNumber']}" in failures[booked_guid]
    drafts = _drafts_by_marker(world)
    assert (drafts[deleted], drafts[kept], drafts[booked_guid]) == (1, 1, 0)
    assert (_status(world, kept), _status(world, booked_guid)) == ("Att överföra",) * 2

    # The sent check's entry resolves itself: a draft exists again.
    run_in_worker(world, celery_app, "sent", queue)
    assert deleted not in _sent_entries(world)
    world.clear_logs()
    again = run_in_worker(world, celery_app, "invoices", queue)
    assert again["created"] == 0
    assert world.writes() == []
