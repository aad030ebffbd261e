"""The one clock of the sandboxes: timezone-aware UTC ``datetime``, settable for tests.

Token expiry, change stamps, "overdue" and page-token ages all depend on the time, and a
test must be able to move it without sleeping. Both sandboxes read the time only through
a :class:`Clock`: live by default, frozen with :meth:`Clock.set`, moved with
:meth:`Clock.advance`. A ``Clock`` is also callable (``clock()`` is ``clock.now()``), so
code written for a ``Callable[[], datetime]`` takes one unchanged.

:func:`parse_time` is the one parser of the date-times both vendors accept on the wire.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

#: What a caller may hand the sandboxes as a clock: a Clock, or a function returning the
#: time as an aware ``datetime`` or as POSIX seconds (the older tests' ``lambda: t[0]``).
ClockSource = Callable[[], datetime] | Callable[[], float]

_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Clock:
    """Now, in UTC: live (the system time, or ``source``), or frozen at a set moment.

    ``advance`` moves a frozen clock, or shifts a live one by an offset.
    """

    def __init__(self, source: ClockSource | None = None) -> None:
        self._source = source
        self._frozen: datetime | None = None
        self._offset = timedelta(0)

    @classmethod
    def of(cls, value: Clock | ClockSource | None) -> Clock:
        """``value`` as a Clock (a Clock is returned as it is)."""
        return value if isinstance(value, Clock) else cls(value)

    @classmethod
    def at(cls, moment: datetime) -> Clock:
        """A clock frozen at ``moment``."""
        clock = cls()
        clock.set(moment)
        return clock

    def now(self) -> datetime:
        if self._frozen is not None:
            return self._frozen
        if self._source is None:
            return datetime.now(UTC) + self._offset
        value = self._source()
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
            return moment.astimezone(UTC) + self._offset
        return datetime.fromtimestamp(float(value), UTC) + self._offset

    __call__ = now

    def timestamp(self) -> float:
        """Now as POSIX seconds."""
        return self.now().timestamp()

    def today(self) -> date:
        return self.now().date()

    def set(self, moment: datetime | float) -> None:
        """Freeze the clock at ``moment`` (an aware datetime, or POSIX seconds)."""
        if isinstance(moment, datetime):
            if moment.tzinfo is None:
                raise ValueError("the sandbox clock takes timezone-aware datetimes")
            self._frozen = moment.astimezone(UTC)
        else:
            self._frozen = datetime.fromtimestamp(float(moment), UTC)

    def advance(self, by: timedelta | float) -> None:
        """Move the clock forward by ``by`` (a timedelta, or seconds)."""
        step = by if isinstance(by, timedelta) else timedelta(seconds=float(by))
        if self._frozen is not None:
            self._frozen += step
        else:
            self._offset += step

    def resume(self) -> None:
        """Unfreeze: live again (the offset from :meth:`advance` on a live clock stays)."""
        self._frozen = None


@functools.lru_cache(maxsize=65536)
def parse_time(value: str, *, strict: bool = False) -> datetime:
    """An ISO-8601 date or date-time as an aware UTC datetime; no offset means UTC.

    ``strict`` accepts only ``YYYY-MM-DD`` or a value with a ``T`` (what .NET's
    ``DateTime`` binder takes in a JSON body); ``ValueError`` when not a date. Cached: a
    benchmark filters on the same few moments thousands of times.
    """
    text = value.strip()
    if not text:
        raise ValueError("empty date-time")
    if _DATE_ONLY.match(text):
        return datetime.fromisoformat(text).replace(tzinfo=UTC)
    if strict and "T" not in text:
        raise ValueError(f"not a date-time: {value!r}")
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def utc_ms(moment: datetime) -> str:
    """``2026-11-24T08:30:15.250Z``: UTC with milliseconds, as both vendors write times."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
