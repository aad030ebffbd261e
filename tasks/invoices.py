"""R-4.1 "Transfer invoices", "Check sent invoices" and "Check paid invoices" (R-1.4,
R-1.6, R-1.7): drafts in eEkonomi, then invoice number, OCR, sent and paid back."""

from __future__ import annotations

from typing import Any

from tasks.base import RecordTask, TransferTask, record_keys
from worker import app
from worker.registry import spec_of

INVOICES = spec_of("invoices")
SENT = spec_of("sent")
PAID = spec_of("paid")


@app.task(base=TransferTask, name=INVOICES.task, bind=True)
def transfer_invoices(self: TransferTask, connection_id: str) -> dict[str, Any]:
    """R-4.1 'Transfer invoices': the Severa invoices to transfer become eEkonomi
    drafts, one record task per ten invoices."""
    return self.start(INVOICES.name, connection_id, transfer_invoice)


@app.task(base=RecordTask, name=INVOICES.record_task, bind=True)
def transfer_invoice(
    self: RecordTask, connection_id: str, run_id: str, keys: list[str] | str
) -> dict[str, Any]:
    """Settle up to ten invoices of a run (each becomes a draft)."""
    return self.settle(connection_id, INVOICES.name, run_id, record_keys(keys))


@app.task(base=TransferTask, name=SENT.task, bind=True)
def check_sent_invoices(self: TransferTask, connection_id: str) -> dict[str, Any]:
    """R-4.1 'Check sent invoices': booked drafts give Severa its invoice number, OCR
    number and the sent status."""
    return self.start(SENT.name, connection_id, check_sent_invoice)


@app.task(base=RecordTask, name=SENT.record_task, bind=True)
def check_sent_invoice(
    self: RecordTask, connection_id: str, run_id: str, keys: list[str] | str
) -> dict[str, Any]:
    """Check up to ten invoices of a run for being sent."""
    return self.settle(connection_id, SENT.name, run_id, record_keys(keys))


@app.task(base=TransferTask, name=PAID.task, bind=True)
def check_paid_invoices(self: TransferTask, connection_id: str) -> dict[str, Any]:
    """R-4.1 'Check paid invoices': invoices paid in full in eEkonomi get the paid
    status in Severa."""
    return self.start(PAID.name, connection_id, check_paid_invoice)


@app.task(base=RecordTask, name=PAID.record_task, bind=True)
def check_paid_invoice(
    self: RecordTask, connection_id: str, run_id: str, keys: list[str] | str
) -> dict[str, Any]:
    """Check up to ten invoices of a run for being paid."""
    return self.settle(connection_id, PAID.name, run_id, record_keys(keys))
