"""Calendar days of timestamps in a time zone: the one day cache, fast enough to ask per event."""

from __future__ import annotations

import os
import time
from datetime import date, datetime, tzinfo

__all__ = ["Calendar", "local_day", "resolve_timezone", "today_in"]

# Every UTC offset in the tz database, and every transition, falls on a multiple of 15 minutes,
# so all the seconds of one quarter hour share a calendar day in any zone.
_QUARTER = 900
_EPOCH_DAY = date(1970, 1, 1).toordinal()


def resolve_timezone(name: str | None) -> tzinfo | None:
    """The zone called ``name`` (IANA, e.g. ``Europe/Berlin``, or ``UTC``); ``None`` = local.

    Raises ``ValueError`` with a one-line message for an unknown zone.
    """
    if name is None or name == "" or name.lower() == "local":
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin or UTC)"
        ) from None


class Calendar:
    """The calendar days (``YYYY-MM-DD``) of unix seconds in one zone, and in UTC.

    Both are computed once per quarter hour and kept in :attr:`quarters`
    (``ts // 900 -> (day in the zone, UTC day)``), which hot loops may read directly; for
    the quarters of about ten years around the first one asked for they are also in
    :attr:`window` (index ``ts // 900 - base``; ``None`` where not yet known), which a hot
    loop reads without hashing. Every quarter of the same two days shares one pair object.
    ``tz`` ``None`` is the local zone. A moment whose day lies past the year 9999 in the zone
    is given 9999-12-31 (the event schema keeps ``ts`` within that year in UTC).
    """

    __slots__ = ("_pairs", "base", "quarters", "tz", "window")

    WINDOW = 96 * 366 * 10
    """Quarter hours in :attr:`window`."""

    def __init__(self, tz: tzinfo | None) -> None:
        self.tz = tz
        self.quarters: dict[int, tuple[str, str]] = {}
        self.window: list[tuple[str, str] | None] = []
        self.base = 0
        self._pairs: dict[tuple[str, str], tuple[str, str]] = {}

    def days(self, ts: int) -> tuple[str, str]:
        """``(day in the zone, UTC day)`` of ``ts``."""
        quarter = ts // _QUARTER
        found = self.quarters.get(quarter)
        if found is None:
            start = quarter * _QUARTER
            pair = (self._in_zone(start), _utc_day(start))
            found = self.quarters[quarter] = self._pairs.setdefault(pair, pair)
            if not self.window:
                self.base = quarter - self.WINDOW // 2
                self.window = [None] * self.WINDOW
            if 0 <= quarter - self.base < self.WINDOW:
                self.window[quarter - self.base] = found
        return found

    def day(self, ts: int) -> str:
        """The day of ``ts`` in the zone."""
        return self.days(ts)[0]

    def _in_zone(self, ts: int) -> str:
        try:
            if self.tz is None:
                moment = time.localtime(ts)
                if not 1 <= moment.tm_year <= 9999:  # the C library goes past the calendar
                    raise OverflowError
                return time.strftime("%Y-%m-%d", moment)
            return datetime.fromtimestamp(ts, self.tz).strftime("%Y-%m-%d")
        except (OverflowError, OSError, ValueError):
            return "9999-12-31" if ts > 0 else "0001-01-01"

    def zone_signature(self) -> str:
        """The zone's identity, for keys of what depends on it (the local zone by its name
        and offsets, so a changed ``TZ`` is another signature)."""
        if self.tz is None:
            return f"local:{os.environ.get('TZ', '')}:{time.tzname}:{time.timezone}:{time.altzone}"
        return str(getattr(self.tz, "key", None) or self.tz)


def _utc_day(ts: int) -> str:
    try:
        return date.fromordinal(_EPOCH_DAY + ts // 86400).isoformat()
    except (OverflowError, ValueError):
        return "9999-12-31" if ts > 0 else "0001-01-01"


_LOCAL = Calendar(None)


def local_day(ts: int) -> str:
    """This machine's local ``YYYY-MM-DD`` at ``ts`` (the informational ``date`` of events)."""
    return _LOCAL.day(ts)


def today_in(tz: tzinfo | None) -> date:
    """Today's date in ``tz`` (``None``: local). Reads the clock: call only at the edges."""
    if tz is None:
        return date.today()
    return datetime.now(tz).date()
