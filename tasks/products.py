"""R-4.1 "Transfer products": ``sync.transfer_products`` and ``sync.transfer_product``."""

from __future__ import annotations

from tasks.base import register_tasks

transfer_products, transfer_product = register_tasks("products", "product")
