"""R-4.1 "Fetch supplier invoices": ``sync.fetch_supplier_invoices`` reads the supplier
invoices eEkonomi changed and fans out ``sync.transfer_supplier_invoice_row``, one per
cost row on a project (R-1.5)."""

from __future__ import annotations

from tasks.base import register_tasks

fetch_supplier_invoices, transfer_supplier_invoice_row = register_tasks(
    "supplier_invoices", "supplier_invoice_row", name="sync.fetch_supplier_invoices"
)
