"""Periods: --since/--until parsing, week and month boundaries, spend projection."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jusage.periods import (
    PERIOD_NAMES,
    PeriodError,
    month_end,
    month_start,
    named_period,
    parse_day,
    parse_period,
    parse_weekday,
    project,
    week_start,
)

TODAY = date(2025, 3, 12)  # a Wednesday
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
weekdays = st.integers(0, 6)


# --- parse_day ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-31", date(2025, 1, 31)),
        ("20250131", date(2025, 1, 31)),
        ("today", TODAY),
        (" Today ", TODAY),
        ("yesterday", date(2025, 3, 11)),
        ("1d", TODAY),
        ("7d", date(2025, 3, 6)),
        ("2w", date(2025, 2, 27)),
        ("this-week", date(2025, 3, 10)),
        ("last-week", date(2025, 3, 3)),
        ("this-month", date(2025, 3, 1)),
        ("last-month", date(2025, 2, 1)),
    ],
)
def test_parse_day_accepts_every_documented_form(text: str, expected: date) -> None:
    """Absolute, relative and named forms each name one day."""
    assert parse_day(text, TODAY) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tomorrow",
        "2025-13-01",
        "2025-02-30",
        "2025/01/01",
        "202501",
        "-3d",
        "0d",
        "0w",
        "3x",
        "d",
        "3.5d",
        "99999999999d",
        "2025-1-1",
    ],
)
def test_parse_day_rejects_malformed_values_with_one_line(text: str) -> None:
    """Anything else is a PeriodError whose message quotes the value on one line."""
    with pytest.raises(PeriodError) as info:
        parse_day(text, TODAY)
    assert repr(text) in str(info.value)
    assert "\n" not in str(info.value)


def test_period_error_is_a_value_error() -> None:
    """Callers catching ValueError catch period errors too."""
    assert issubclass(PeriodError, ValueError)


@given(day=days)
def test_iso_and_compact_dates_round_trip(day: date) -> None:
    """Formatting a date as YYYY-MM-DD or YYYYMMDD and parsing it gives the date back."""
    assert parse_day(day.isoformat(), TODAY) == day
    assert parse_day(day.strftime("%Y%m%d"), TODAY) == day


@given(n=st.integers(1, 5000), today=days)
def test_relative_days_and_weeks_are_the_last_n_days(n: int, today: date) -> None:
    """``Nd`` starts the last N days and ``Nw`` the last 7N days, today included."""
    assert parse_day(f"{n}d", today) == today - timedelta(days=n - 1)
    assert parse_day(f"{n}w", today) == today - timedelta(days=7 * n - 1)


# --- weeks and months ---------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "number"), [("monday", 0), ("Sun", 6), (" WEDNESDAY ", 2), ("sat", 5)])
def test_parse_weekday(name: str, number: int) -> None:
    """Full names and three-letter abbreviations, any case."""
    assert parse_weekday(name) == number


def test_parse_weekday_rejects_unknown_names() -> None:
    """A non-weekday is a PeriodError."""
    with pytest.raises(PeriodError, match="weekday"):
        parse_weekday("funday")


def test_week_start_respects_start_of_week() -> None:
    """Wednesday 2025-03-12 is in the week of Monday 03-10 or of Sunday 03-09."""
    assert week_start(TODAY, 0) == date(2025, 3, 10)
    assert week_start(TODAY, 6) == date(2025, 3, 9)
    assert week_start(TODAY, 2) == TODAY


@given(day=days, start=weekdays)
def test_week_start_is_the_right_weekday_within_the_last_seven_days(day: date, start: int) -> None:
    """The week start has weekday ``start`` and lies 0-6 days before the day."""
    first = week_start(day, start)
    assert first.weekday() == start
    assert 0 <= (day - first).days <= 6


@given(day=days)
def test_month_bounds_contain_the_day(day: date) -> None:
    """month_start is the 1st, month_end the last day, and the next day is a new month."""
    assert month_start(day) == day.replace(day=1)
    assert month_start(day) <= day <= month_end(day)
    assert (month_end(day) + timedelta(days=1)).day == 1


def test_month_end_handles_leap_years() -> None:
    """February has 29 days in 2024 and 28 in 2025."""
    assert month_end(date(2024, 2, 10)) == date(2024, 2, 29)
    assert month_end(date(2025, 2, 10)) == date(2025, 2, 28)
    assert month_end(date(2025, 12, 31)) == date(2025, 12, 31)


def test_last_month_in_january_is_december() -> None:
    """last-month crosses the year boundary."""
    assert named_period("last-month", date(2025, 1, 15)) == (date(2024, 12, 1), date(2024, 12, 31))


# --- parse_period -------------------------------------------------------------------------------


def test_period_is_unbounded_without_arguments() -> None:
    """No --since and no --until is the whole log."""
    assert parse_period(None, None, TODAY) == (None, None)


def test_since_last_month_alone_means_exactly_last_month() -> None:
    """last-week / last-month as since close the period at their own last day."""
    assert parse_period("last-month", None, TODAY) == (date(2025, 2, 1), date(2025, 2, 28))
    assert parse_period("last-week", None, TODAY) == (date(2025, 3, 3), date(2025, 3, 9))


def test_since_this_month_alone_stays_open() -> None:
    """this-week / this-month as since leave until open."""
    assert parse_period("this-month", None, TODAY) == (date(2025, 3, 1), None)
    assert parse_period("this-week", None, TODAY, start_of_week=6) == (date(2025, 3, 9), None)


def test_named_until_is_the_periods_last_day() -> None:
    """--until last-month runs through the end of last month."""
    assert parse_period("2025-01-01", "last-month", TODAY) == (date(2025, 1, 1), date(2025, 2, 28))
    assert parse_period(None, "last-week", TODAY) == (None, date(2025, 3, 9))


def test_explicit_until_wins_over_a_named_since() -> None:
    """An explicit until is kept even when since is last-month."""
    assert parse_period("last-month", "today", TODAY) == (date(2025, 2, 1), TODAY)


def test_since_after_until_is_a_clear_one_line_error() -> None:
    """An empty period is refused, naming both days."""
    with pytest.raises(PeriodError) as info:
        parse_period("2025-03-10", "2025-03-01", TODAY)
    message = str(info.value)
    assert "2025-03-10" in message
    assert "2025-03-01" in message
    assert "\n" not in message


def test_since_equal_to_until_is_one_day() -> None:
    """The interval is inclusive, so since == until is a valid single day."""
    assert parse_period("today", "1d", TODAY) == (TODAY, TODAY)


def test_malformed_until_is_an_error() -> None:
    """A bad value on either side raises PeriodError."""
    with pytest.raises(PeriodError, match="nope"):
        parse_period("today", "nope", TODAY)


relative = st.one_of(
    st.sampled_from(["today", "yesterday", *PERIOD_NAMES]),
    st.integers(0, 400).map(lambda n: f"{n}d"),
    st.integers(0, 60).map(lambda n: f"{n}w"),
    days.map(date.isoformat),
    days.map(lambda d: d.strftime("%Y%m%d")),
)


@given(since=st.none() | relative, until=st.none() | relative, today=days, start=weekdays)
def test_a_returned_period_never_has_since_after_until(
    since: str | None, until: str | None, today: date, start: int
) -> None:
    """For all valid inputs the result is ordered, or the call refuses it."""
    try:
        first, last = parse_period(since, until, today, start)
    except PeriodError as exc:
        assert "is after" in str(exc) or "at least 1" in str(exc)
        return
    if first is not None and last is not None:
        assert first <= last


@given(name=st.sampled_from(PERIOD_NAMES), today=days, start=weekdays)
def test_a_named_period_as_both_ends_is_that_whole_period(name: str, today: date, start: int) -> None:
    """--since P --until P is exactly period P, and P contains today or precedes it."""
    first, last = parse_period(name, name, today, start)
    assert (first, last) == named_period(name, today, start)
    assert first is not None
    assert last is not None
    assert first <= last
    assert first <= today


# --- project ------------------------------------------------------------------------------------


def test_projection_by_hand() -> None:
    """Spend so far plus the trailing 7-day average times the days left in the month."""
    today = date(2025, 3, 10)
    costs = {date(2025, 3, d): 1_000_000 * d for d in range(1, 11)}  # $1 on the 1st ... $10
    costs[date(2025, 2, 28)] = 99_000_000  # last month: not spent this month, not in window
    costs[date(2025, 3, 11)] = 500_000_000  # the future: ignored
    # spent     = $1 + ... + $10            = $55
    # window    = $4 + ... + $10 (7 days)   = $49 -> $7 a day
    # remaining = Mar 11 ... Mar 31         = 21 days -> $147
    # projected = $55 + $147                = $202
    assert project(costs, today) == 202_000_000


def test_projection_to_an_explicit_horizon_with_a_shorter_lookback() -> None:
    """A 3-day lookback to a horizon five days out."""
    today = date(2025, 3, 10)
    costs = {date(2025, 3, 8): 3, date(2025, 3, 9): 0, date(2025, 3, 10): 5}
    # spent 8; window 8 over 3 days; 5 days left -> 8 + (8 * 5) // 3 = 8 + 13 = 21
    assert project(costs, today, lookback_days=3, horizon=date(2025, 3, 15)) == 21


def test_projection_on_the_last_day_or_past_horizon_is_the_spend() -> None:
    """With no days left the projection is what was spent."""
    today = date(2025, 3, 31)
    costs = {date(2025, 3, 1): 10, today: 5}
    assert project(costs, today) == 15
    assert project(costs, today, horizon=date(2025, 3, 1)) == 15


def test_projection_of_an_empty_log_is_zero() -> None:
    """No spend projects to nothing."""
    assert project({}, TODAY) == 0


def test_projection_rejects_an_empty_lookback() -> None:
    """lookback_days must be at least one day."""
    with pytest.raises(ValueError, match="lookback_days"):
        project({}, TODAY, lookback_days=0)


@given(
    costs=st.dictionaries(days, st.integers(0, 10**12), max_size=40),
    today=days,
    lookback=st.integers(1, 60),
)
def test_projection_is_at_least_the_spend_so_far(costs: dict[date, int], today: date, lookback: int) -> None:
    """Non-negative daily costs never project below what this month already spent."""
    spent = sum(c for d, c in costs.items() if month_start(today) <= d <= today)
    assert project(costs, today, lookback) >= spent
