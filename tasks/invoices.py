"""R-4.1 "Transfer invoices", "Check sent invoices" and "Check paid invoices".

``sync.transfer_invoices`` / ``sync.transfer_invoice``, ``sync.check_sent_invoices`` /
``sync.check_sent_invoice`` and ``sync.check_paid_invoices`` / ``sync.check_paid_invoice``.
"""

from __future__ import annotations

from tasks.base import register_tasks

transfer_invoices, transfer_invoice = register_tasks("invoices", "invoice")
check_sent_invoices, check_sent_invoice = register_tasks(
    "sent", "sent_invoice", name="sync.check_sent_invoices", record_name="sync.check_sent_invoice"
)
check_paid_invoices, check_paid_invoice = register_tasks(
    "paid", "paid_invoice", name="sync.check_paid_invoices", record_name="sync.check_paid_invoice"
)
