"""The three kinds of failure, which decide what happens next (code-models rule 4).

Defined in :mod:`schemas.errors` (the schemas raise record errors and import nothing of
the worker); re-exported here for the worker's own modules.
"""

from __future__ import annotations

from schemas.errors import (
    ConfigError,
    MappingError,
    RecordError,
    SyncError,
    TransientError,
)

__all__ = ["ConfigError", "MappingError", "RecordError", "SyncError", "TransientError"]
