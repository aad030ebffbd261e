"""How eEkonomi writes times and amounts on the wire.

Every stored date-time goes through :func:`iso`, so one value always has one spelling
and a dump → seed → dump round trip is exact; every amount through :func:`amount`
(rounded half away from zero, then a JSON number).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sandbox.core.clock import parse_time, utc_ms
from sandbox.core.money import as_decimal, round_money


def iso(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds; a bare midnight is written ``...T00:00:00Z``."""
    moment = moment.astimezone(UTC)
    if (moment.hour, moment.minute, moment.second, moment.microsecond) == (0, 0, 0, 0):
        return iso_day(moment.date())
    return utc_ms(moment)


def iso_day(day: date) -> str:
    """A calendar date as eEkonomi stores it: midnight, typed ``date-time``."""
    return f"{day.isoformat()}T00:00:00Z"


def parse_moment(value: str) -> datetime:
    """A date-time (``Z``, offset, or none = UTC) or a bare date; ``ValueError`` if bad
    (a value without ``T`` that is not ``YYYY-MM-DD`` is refused, as .NET's binder does)."""
    return parse_time(value, strict=True)


def normal_time(value: str) -> str:
    """A wire date-time in its one stored spelling."""
    return iso(parse_moment(value))


def dec(value: Any) -> Decimal:
    return as_decimal(value)


def amount(value: Any) -> float:
    """An amount as eEkonomi answers it: rounded to cents, a JSON number."""
    return float(round_money(value))
