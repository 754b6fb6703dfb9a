"""Calendar periods for ``--since`` / ``--until``, week and month boundaries, and projections.

Everything here is a pure function of its arguments: ``today`` is always passed in, never
read from the clock. Intervals are whole days and inclusive at both ends: ``[since, until]``.
Weeks start on ``start_of_week`` (Monday = 0 ... Sunday = 6, as :meth:`date.weekday`).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "PERIOD_NAMES",
    "PeriodError",
    "month_end",
    "month_start",
    "named_period",
    "next_period_start",
    "parse_day",
    "parse_period",
    "parse_weekday",
    "period_start",
    "project",
    "week_start",
]

PERIOD_NAMES = ("this-week", "last-week", "this-month", "last-month")
"""The named periods accepted by :func:`parse_day` and :func:`parse_period`."""

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ACCEPTED = "YYYY-MM-DD, YYYYMMDD, today, yesterday, Nd, Nw, this-week, last-week, this-month or last-month"


class PeriodError(ValueError):
    """A date or period the user gave cannot be read, or ``since`` is after ``until``."""


def parse_weekday(name: str) -> int:
    """Monday = 0 ... Sunday = 6 from a weekday name or its 3-letter abbreviation.

    Case and surrounding spaces are ignored. Raises :class:`PeriodError` otherwise.
    """
    key = name.strip().lower()
    for number, weekday in enumerate(_WEEKDAYS):
        if key in (weekday, weekday[:3]):
            return number
    raise PeriodError(f"unknown weekday {name!r}: expected monday ... sunday (or mon ... sun)")


def week_start(d: date, start_of_week: int = 0) -> date:
    """The first day of the week containing ``d``, weeks starting on ``start_of_week``."""
    return d - timedelta(days=(d.weekday() - start_of_week) % 7)


def month_start(d: date) -> date:
    """The first day of ``d``'s month."""
    return d.replace(day=1)


def month_end(d: date) -> date:
    """The last day of ``d``'s month."""
    next_month = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
    return next_month - timedelta(days=1)


def named_period(name: str, today: date, start_of_week: int = 0) -> tuple[date, date]:
    """First and last day of ``this-week``, ``last-week``, ``this-month`` or ``last-month``.

    The current week or month runs to its calendar end, which may lie after ``today``.
    Raises :class:`PeriodError` for any other name.
    """
    key = name.strip().lower()
    if key == "this-week":
        first = week_start(today, start_of_week)
        return first, first + timedelta(days=6)
    if key == "last-week":
        first = week_start(today, start_of_week) - timedelta(days=7)
        return first, first + timedelta(days=6)
    if key == "this-month":
        return month_start(today), month_end(today)
    if key == "last-month":
        last = month_start(today) - timedelta(days=1)
        return month_start(last), last
    raise PeriodError(f"unknown period {name!r}: expected {', '.join(PERIOD_NAMES)}")


def parse_day(text: str, today: date, *, start_of_week: int = 0) -> date:
    """The day a ``--since`` / ``--until`` value names.

    Accepts ``YYYY-MM-DD``, ``YYYYMMDD``, ``today``, ``yesterday``, ``Nd`` (the first of the
    last N days, today included: ``1d`` is today, ``7d`` six days ago, as ``--days 7``) and
    ``Nw`` (the first of the last 7 x N days), N at least 1, and the named
    periods of :func:`named_period`, which give their *first* day here. Case and
    surrounding spaces are ignored. Raises :class:`PeriodError` with a one-line message for
    anything else, including impossible dates such as ``2025-02-30``.
    """
    key = text.strip().lower()
    if key == "today":
        return today
    if key == "yesterday":
        return today - timedelta(days=1)
    if key in PERIOD_NAMES:
        return named_period(key, today, start_of_week)[0]
    try:
        if key[:-1].isdigit() and key[-1:] in ("d", "w") and key[:-1].isascii():
            days = int(key[:-1]) * (7 if key.endswith("w") else 1)
            if days < 1:
                raise ValueError("N in Nd or Nw must be at least 1")
            return today - timedelta(days=days - 1)
        digits = key[:4] + key[5:7] + key[8:] if len(key) == 10 and key[4] == "-" and key[7] == "-" else key
        if len(digits) == 8 and digits.isdigit() and digits.isascii():
            return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except (ValueError, OverflowError) as exc:
        raise PeriodError(f"cannot read date {text!r}: {exc}") from None
    raise PeriodError(f"cannot read date {text!r}: expected {_ACCEPTED}")


def parse_period(
    since: str | None, until: str | None, today: date, start_of_week: int = 0
) -> tuple[date | None, date | None]:
    """The inclusive ``[since, until]`` days of a ``--since`` / ``--until`` pair.

    None on either side means unbounded. The rule for named periods: as ``since`` a
    period gives its first day; as ``until`` it gives its last day (``--until last-month``
    runs through the last day of last month). When ``since`` is ``last-week`` or
    ``last-month`` and ``until`` is None, ``until`` becomes that period's last day, so
    ``--since last-month`` alone means exactly last month; ``this-week`` and ``this-month``
    leave ``until`` open. Every other form is read by :func:`parse_day` on both sides.

    Raises :class:`PeriodError` when a value cannot be read or ``since`` is after ``until``.
    """
    first: date | None = None
    last: date | None = None
    if since is not None:
        first = parse_day(since, today, start_of_week=start_of_week)
        key = since.strip().lower()
        if until is None and key in ("last-week", "last-month"):
            last = named_period(key, today, start_of_week)[1]
    if until is not None:
        key = until.strip().lower()
        if key in PERIOD_NAMES:
            last = named_period(key, today, start_of_week)[1]
        else:
            last = parse_day(until, today, start_of_week=start_of_week)
    if first is not None and last is not None and first > last:
        raise PeriodError(
            f"since ({first.isoformat()}) is after until ({last.isoformat()}): the period would be empty"
        )
    return first, last


def project(
    daily_costs: Mapping[date, int],
    today: date,
    lookback_days: int = 7,
    horizon: date | None = None,
) -> int:
    """Projected spend, in integer micro-dollars, from the first of today's month to ``horizon``.

    ``daily_costs`` maps a day to its spend in micro-dollars; missing days spent nothing.
    The projection is::

        spent     = sum of daily_costs[d] for month_start(today) <= d <= today
        window    = sum of daily_costs[d] for today - lookback_days < d <= today
        remaining = (horizon - today).days, or 0 when horizon is not after today
        project   = spent + (window * remaining) // lookback_days

    ``horizon`` defaults to the last day of today's month, which gives "this month's
    projected spend". Today counts as a spent day (its spend so far is in both ``spent``
    and the trailing average), the average is rounded down only once, at the end, and days
    after ``today`` in ``daily_costs`` are ignored. Raises ValueError if ``lookback_days``
    is below 1.
    """
    if lookback_days < 1:
        raise ValueError(f"lookback_days must be at least 1, not {lookback_days}")
    end = month_end(today) if horizon is None else horizon
    first = month_start(today)
    window_first = today - timedelta(days=lookback_days - 1)
    spent = 0
    window = 0
    for day, cost in daily_costs.items():
        if day > today:
            continue
        if day >= first:
            spent += cost
        if day >= window_first:
            window += cost
    remaining = max((end - today).days, 0)
    return spent + (window * remaining) // lookback_days


def period_start(day: date, period: str, start_of_week: int = 0) -> date:
    """The first day of the ``daily``, ``weekly`` or ``monthly`` period containing ``day``.

    Raises ValueError for any other period.
    """
    if period == "daily":
        return day
    if period == "weekly":
        return week_start(day, start_of_week)
    if period == "monthly":
        return month_start(day)
    raise ValueError(f"{period!r} is not a calendar period")


def next_period_start(start: date, period: str) -> date:
    """The first day of the period after the one that starts on ``start``.

    Raises ValueError for a period other than ``daily``, ``weekly`` or ``monthly``.
    """
    if period == "daily":
        return start + timedelta(days=1)
    if period == "weekly":
        return start + timedelta(days=7)
    if period == "monthly":
        return month_end(start) + timedelta(days=1)
    raise ValueError(f"{period!r} is not a calendar period")
