"""Calendar days of timestamps in a time zone, fast enough to call once per event."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import date, datetime, tzinfo

__all__ = ["DayFn", "day_fn", "resolve_timezone", "today_in"]

DayFn = Callable[[int], str]
"""Maps unix seconds to the ``YYYY-MM-DD`` calendar day they fall on."""

# Every UTC offset in the tz database, and every transition, falls on a multiple of 15 minutes,
# so all the seconds of one quarter hour share a calendar day in any zone.
_QUARTER = 900


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


def day_fn(tz: tzinfo | None) -> DayFn:
    """A cached converter from unix seconds to the day in ``tz`` (``None``: the local zone)."""
    cache: dict[int, str] = {}

    if tz is None:

        def compute(ts: int) -> str:
            moment = time.localtime(ts)
            if not 1 <= moment.tm_year <= 9999:  # the C library goes past the calendar
                raise ValueError("outside the calendar")
            return time.strftime("%Y-%m-%d", moment)

    else:

        def compute(ts: int) -> str:
            return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d")

    def day(ts: int) -> str:
        key = ts // _QUARTER
        found = cache.get(key)
        if found is None:
            try:
                found = compute(key * _QUARTER)
            except (OverflowError, OSError, ValueError):
                found = "0000-00-00"  # outside the platform's calendar; still counted
            cache[key] = found
        return found

    return day


def today_in(tz: tzinfo | None) -> date:
    """Today's date in ``tz`` (``None``: local). Reads the clock: call only at the edges."""
    if tz is None:
        return date.today()
    return datetime.now(tz).date()


def local_zone_name() -> str:
    """A readable name for the local zone (``TZ`` if set, else the abbreviation)."""
    return os.environ.get("TZ") or time.strftime("%Z")
