"""R-4.1 "Transfer customers": ``sync.transfer_customers`` and ``sync.transfer_customer``."""

from __future__ import annotations

from tasks.base import register_tasks

transfer_customers, transfer_customer = register_tasks("customers", "customer")
