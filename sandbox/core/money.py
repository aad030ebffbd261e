"""Money arithmetic: decimals in, rounded decimals out; each vendor formats its own.

Amounts cross the wire as JSON numbers, which Python reads as floats; summing VAT over
rows in floats drifts by cents, and both vendors' totals are checked to the cent by the
product. So amounts are computed as :class:`~decimal.Decimal` (:func:`as_decimal` reads
a wire number through its text, so ``0.1`` stays ``0.1``) and rounded once by
:func:`round_money`. Formatting is vendor business on top: eEkonomi answers a bare
number, Severa a ``MoneyOutputModel`` object.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any


def as_decimal(value: Any) -> Decimal:
    """A wire number (``int``, ``float``, numeric ``str``; ``None`` = 0) as a Decimal."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value if value is not None else 0))


def round_money(value: Any, places: int = 2) -> Decimal:
    """``value`` rounded to ``places`` decimals, half away from zero (0.005 → 0.01,
    −0.005 → −0.01), as eEkonomi rounds sales documents (notes §7.9)."""
    return as_decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def decimals_of(value: Any) -> int:
    """How many decimals a wire number carries (``12.50`` → 1, ``3`` → 0)."""
    exponent = as_decimal(value).normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0
