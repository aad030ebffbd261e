"""R-4.1 "Transfer projects": ``sync.transfer_projects`` and ``sync.transfer_project``."""

from __future__ import annotations

from tasks.base import register_tasks

transfer_projects, transfer_project = register_tasks("projects", "project")
