"""The two systems and the two directions between them: one name for each, everywhere.

Every module that says which system a record, a client, a watermark or a binding field
belongs to uses :class:`Side`; every error-list entry and history line says which way a
record was going with :class:`Direction`. Both are ``StrEnum``: their values are what
Redis keys, JSON reports and the error list have always stored, so stored state reads
back unchanged.
"""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    """One of the two systems the sync keeps in step."""

    SEVERA = "severa"
    EEKONOMI = "eekonomi"

    @property
    def other(self) -> Side:
        """The system on the other side of the sync."""
        return Side.EEKONOMI if self is Side.SEVERA else Side.SEVERA

    @property
    def outward(self) -> Direction:
        """The direction a record read on this side travels in."""
        return Direction.SEVERA_TO_EEKONOMI if self is Side.SEVERA else Direction.EEKONOMI_TO_SEVERA

    @property
    def label(self) -> str:
        """The system's name as a person writes it."""
        return "Severa" if self is Side.SEVERA else "eEkonomi"


class Direction(StrEnum):
    """Which way a record was going when it was synced or failed (R-4.3)."""

    SEVERA_TO_EEKONOMI = "severa→eekonomi"
    EEKONOMI_TO_SEVERA = "eekonomi→severa"
    #: Not a record's direction: the error-list entry is about the connection or a whole
    #: run (settings missing, authorization lost), not about one record.
    CONNECTION = "connection"

    @classmethod
    def of_records(cls) -> tuple[Direction, Direction]:
        """The two directions a record can travel in (``CONNECTION`` excluded)."""
        return (cls.SEVERA_TO_EEKONOMI, cls.EEKONOMI_TO_SEVERA)
