"""R-4.1 "Fetch supplier invoices": cost rows on projects → Severa project fees (R-1.5, R-5.5)."""

from __future__ import annotations

from typing import Any

from tasks.base import RecordTask, TransferTask, record_keys
from worker import app
from worker.registry import spec_of

SUPPLIER_INVOICES = spec_of("supplier_invoices")


@app.task(base=TransferTask, name=SUPPLIER_INVOICES.task, bind=True)
def fetch_supplier_invoices(self: TransferTask, connection_id: str) -> dict[str, Any]:
    """R-4.1 'Fetch supplier invoices': read the supplier invoices eEkonomi changed and
    fan out one record per cost row on a project."""
    return self.start(SUPPLIER_INVOICES.name, connection_id, transfer_supplier_invoice_row)


@app.task(base=RecordTask, name=SUPPLIER_INVOICES.record_task, bind=True)
def transfer_supplier_invoice_row(
    self: RecordTask, connection_id: str, run_id: str, keys: list[str] | str
) -> dict[str, Any]:
    """Settle up to ten supplier-invoice rows of a run (each becomes a project fee)."""
    return self.settle(connection_id, SUPPLIER_INVOICES.name, run_id, record_keys(keys))
