"""Running totals: what a check reads instead of the log, and the periods they follow."""

from __future__ import annotations

import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jusage.budgets import Budget, Scope, matcher
from jusage.checker import BudgetChecker
from jusage.costing import Coster
from jusage.events import Event
from jusage.periods import period_start
from jusage.store import Store
from jusage.totals import state_path

NO_PRICES = Coster(None)  # only reported costs: the figures do not depend on a price table
G = (Scope("global"),)


def ts(text: str) -> int:
    """Unix seconds of an ISO time with its offset."""
    return int(datetime.fromisoformat(text).timestamp())


def checker(log: Path, budgets: list[Budget], zone: str = "UTC", start_of_week: int = 0) -> BudgetChecker:
    return BudgetChecker(budgets, log=log, tz=ZoneInfo(zone), start_of_week=start_of_week, coster=NO_PRICES)


def used(result_or_checker: BudgetChecker, name: str, now: int) -> tuple[int, int]:
    status = {s.budget.name: s for s in result_or_checker.status(now=now)}[name]
    return status.used_tokens, status.used_pico


# -- the reference: every period computed from all the events, the slow way -----------------------


def reference(
    events: list[Event], budget: Budget, now: int, zone: str, start_of_week: int
) -> tuple[int, int]:
    test = matcher(budget.scopes)
    tz = ZoneInfo(zone)

    def day(t: int) -> date:
        return datetime.fromtimestamp(t, tz).date()

    def counted(e: Event) -> bool:
        if budget.period == "total":
            return True
        if budget.period == "block":
            hours = sorted({x.ts - x.ts % 3600 for x in events})
            start = -1
            for hour in hours:
                if start < 0 or hour >= start + 5 * 3600:
                    start = hour
            return start <= now < start + 5 * 3600 and start <= e.ts < start + 5 * 3600
        return period_start(day(e.ts), budget.period, start_of_week) == period_start(
            day(now), budget.period, start_of_week
        )

    chosen = [e for e in events if (test is None or test(e)) and counted(e)]
    return sum(e.tokens for e in chosen), sum(round((e.cost_usd or 0) * 10**12) for e in chosen)


BUDGETS = [
    Budget("day", G, "daily", tokens=10**12),
    Budget("week-p", (Scope.parse("project:/p"),), "weekly", tokens=10**12),
    Budget("month-m", (Scope.parse("model:m-*"),), "monthly", usd=10.0),
    Budget("block", G, "block", tokens=10**12),
    Budget("block-p", (Scope.parse("project:/p"), Scope.parse("model:m-1")), "block", usd=1.0),
    Budget("total-q", (Scope.parse("project:/q"),), "total", usd=1e6),
]
NOW = ts("2026-03-29T12:30:00+00:00")  # the day Europe's clocks go forward


def some_events(span: int) -> st.SearchStrategy[list[Event]]:
    """Up to 60 events in the ``span`` seconds before NOW."""
    an_event = st.builds(
        Event,
        ts=st.integers(NOW - span, NOW),
        project=st.sampled_from(["/p", "/p/sub", "/q", "/r", ""]),
        model=st.sampled_from(["m-1", "m-2", "other"]),
        prompt=st.integers(0, 1000),
        completion=st.integers(0, 1000),
        cost_usd=st.one_of(st.none(), st.integers(0, 10**6).map(lambda c: c / 10**6)),
    )
    return st.lists(an_event, max_size=60)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    # Weeks of history, or a busy day and a half where blocks follow each other closely.
    events=st.one_of(some_events(40 * 86400), some_events(36 * 3600)),
    cuts=st.lists(st.integers(0, 60), max_size=4),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns", "Australia/Lord_Howe"]),
    start_of_week=st.integers(0, 6),
    clock=st.one_of(st.integers(0, 3 * 86400), st.integers(0, 3 * 3600)),
)
def test_running_totals_equal_the_periods_computed_from_the_whole_log(
    events: list[Event], cuts: list[int], zone: str, start_of_week: int, clock: int
) -> None:
    """However the events arrive (in pieces, out of time order, with checks and fresh
    processes in between), every budget equals its period summed from all the events."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "events.jsonl"
        store = Store(log)
        now = NOW + clock
        pieces = sorted(set(cuts))
        for start, end in zip([0, *pieces], [*pieces, len(events)], strict=True):
            chunk = events[start:end]
            if chunk:
                store.append_lines([e.to_json() for e in chunk])
            checker(log, BUDGETS, zone, start_of_week).check(now=now)  # a fresh process each time
        final = checker(log, BUDGETS, zone, start_of_week)
        for b in BUDGETS:
            assert used(final, b.name, now) == reference(events, b, now, zone, start_of_week), b.name


# -- periods end where the calendar says, in the configured zone ----------------------------------


def spend(log: Path, when: str, tokens: int = 1) -> None:
    Store(log).record(Event(ts=ts(when), prompt=tokens, model="m-1", project="/p"))


def test_a_day_ends_at_midnight_in_the_zone(tmp_path: Path) -> None:
    """Berlin's day starts at 23:00 UTC in winter: spend either side of it is split there."""
    log = tmp_path / "events.jsonl"
    c = checker(log, [Budget("day", G, "daily", tokens=100)], "Europe/Berlin")
    spend(log, "2026-01-10T22:30:00+00:00", 5)
    with freeze_time("2026-01-10T22:59:59+00:00"):
        assert c.check().budgets[0].used_tokens == 5
    spend(log, "2026-01-10T23:10:00+00:00", 7)
    with freeze_time("2026-01-10T23:30:00+00:00"):
        status = c.check().budgets[0]
    assert status.used_tokens == 7
    assert status.period_start == ts("2026-01-11T00:00:00+01:00")
    assert status.period_end == ts("2026-01-12T00:00:00+01:00")


def test_a_week_can_start_on_sunday(tmp_path: Path) -> None:
    """With weeks starting on Sunday, Saturday's spend is last week's by Sunday."""
    log = tmp_path / "events.jsonl"
    budgets = [Budget("week", G, "weekly", tokens=100)]
    spend(log, "2026-06-13T12:00:00+00:00", 3)  # a Saturday
    spend(log, "2026-06-14T12:00:00+00:00", 4)  # a Sunday
    with freeze_time("2026-06-14T13:00:00+00:00"):
        sunday = checker(log, budgets, "UTC", start_of_week=6).check().budgets[0]
        monday = checker(log, budgets, "UTC", start_of_week=0).check().budgets[0]
    assert sunday.used_tokens == 4
    assert sunday.period_start == ts("2026-06-14T00:00:00+00:00")
    assert monday.used_tokens == 7
    assert monday.period_start == ts("2026-06-08T00:00:00+00:00")


def test_a_month_rolls_over_on_the_first(tmp_path: Path) -> None:
    """January's spend counts until the end of the 31st, then February starts from zero."""
    log = tmp_path / "events.jsonl"
    c = checker(log, [Budget("month", G, "monthly", tokens=100)], "America/New_York")
    spend(log, "2026-01-31T23:00:00-05:00", 9)
    with freeze_time("2026-02-01T04:59:00+00:00"):
        assert c.check().budgets[0].used_tokens == 9
    with freeze_time("2026-02-01T05:00:00+00:00"):
        status = c.check().budgets[0]
    assert status.used_tokens == 0
    assert status.period_end == ts("2026-03-01T00:00:00-05:00")


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/Berlin", "2026-03-29", 23),  # clocks go forward: a 23-hour day
        ("Europe/Berlin", "2026-10-25", 25),  # and back: a 25-hour day
        ("Australia/Lord_Howe", "2026-04-05", 24.5),  # a half-hour change
        ("America/Havana", "2026-03-08", 23),  # the change happens at midnight itself
    ],
)
def test_days_with_a_clock_change_have_their_real_length(zone: str, day: str, hours: float) -> None:
    """A daily budget's period is the day as the zone lives it, however many hours long."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "events.jsonl"
        tz = ZoneInfo(zone)
        noon = datetime.fromisoformat(day).replace(hour=12, tzinfo=tz)
        spend(log, noon.isoformat(), 1)
        with freeze_time(noon.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)):
            status = checker(log, [Budget("d", G, "daily", tokens=9)], zone).check().budgets[0]
        assert status.used_tokens == 1
        assert status.period_start is not None and status.period_end is not None
        assert status.period_end - status.period_start == hours * 3600
        assert datetime.fromtimestamp(status.period_start, tz).date().isoformat() == day
        assert datetime.fromtimestamp(status.period_end - 1, tz).date().isoformat() == day


def test_spend_either_side_of_a_clock_change_is_one_day(tmp_path: Path) -> None:
    """01:30 and 03:30 on the morning clocks jump are the same Berlin day, an hour apart."""
    log = tmp_path / "events.jsonl"
    spend(log, "2026-03-29T01:30:00+01:00", 2)
    spend(log, "2026-03-29T03:30:00+02:00", 3)
    with freeze_time("2026-03-29T10:00:00+00:00"):
        status = checker(log, [Budget("d", G, "daily", tokens=9)], "Europe/Berlin").check().budgets[0]
    assert status.used_tokens == 5


def test_the_block_lasts_five_hours_from_the_hour_of_its_first_event(tmp_path: Path) -> None:
    """10:20 opens a block at 10:00 that ends at 15:00; 15:05 opens the next one."""
    log = tmp_path / "events.jsonl"
    c = checker(log, [Budget("b", G, "block", tokens=100)])
    spend(log, "2026-05-01T10:20:00+00:00", 4)
    spend(log, "2026-05-01T14:59:00+00:00", 5)
    with freeze_time("2026-05-01T14:59:30+00:00"):
        status = c.check().budgets[0]
    assert (status.used_tokens, status.period_start) == (9, ts("2026-05-01T10:00:00+00:00"))
    assert status.period_end == ts("2026-05-01T15:00:00+00:00")
    with freeze_time("2026-05-01T15:01:00+00:00"):
        idle = c.check().budgets[0]
    assert (idle.used_tokens, idle.period_end) == (0, None)  # no active block until the next event
    spend(log, "2026-05-01T15:05:00+00:00", 6)
    with freeze_time("2026-05-01T15:06:00+00:00"):
        status = c.check().budgets[0]
    assert (status.used_tokens, status.period_start) == (6, ts("2026-05-01T15:00:00+00:00"))


def test_a_late_event_moves_the_block_as_the_blocks_report_would(tmp_path: Path) -> None:
    """An event imported late, before the current block, can start an earlier block that
    takes in later events: the totals follow, as `jusage blocks` does."""
    log = tmp_path / "events.jsonl"
    c = checker(log, [Budget("b", G, "block", tokens=100)])
    spend(log, "2026-05-01T10:20:00+00:00", 4)
    with freeze_time("2026-05-01T10:30:00+00:00"):
        assert c.check().budgets[0].period_start == ts("2026-05-01T10:00:00+00:00")
    spend(log, "2026-05-01T08:55:00+00:00", 3)  # arrives after, happened before
    with freeze_time("2026-05-01T10:30:00+00:00"):
        status = c.check().budgets[0]
    assert (status.used_tokens, status.period_start) == (7, ts("2026-05-01T08:00:00+00:00"))


# -- the state beside the ledger ----------------------------------------------------------------


def test_the_state_is_used_and_rebuilt_when_it_no_longer_matches(tmp_path: Path) -> None:
    """A saved state is taken over; a replaced, truncated or garbled log or state is read
    again from the start, and the answer is the same."""
    log = tmp_path / "events.jsonl"
    budgets = [Budget("t", G, "total", tokens=10**9)]
    for i in range(50):
        spend(log, f"2026-05-01T10:{i:02d}:00+00:00", i)
    with freeze_time("2026-05-01T12:00:00+00:00"):
        assert checker(log, budgets).check().budgets[0].used_tokens == sum(range(50))
        assert state_path(log).is_file()
        state_path(log).write_bytes(b"\x93garbage")
        assert checker(log, budgets).check().budgets[0].used_tokens == sum(range(50))
        kept = log.read_bytes()
        log.unlink()
        log.write_bytes(kept[: kept.index(b"\n") + 1])  # another file, one line long
        assert checker(log, budgets).check().budgets[0].used_tokens == 0
        with log.open("r+b") as fh:
            fh.truncate(0)
        assert checker(log, budgets).check().budgets[0].used_tokens == 0


def test_a_log_that_does_not_exist_has_spent_nothing(tmp_path: Path) -> None:
    """No ledger yet: every budget at zero, no error."""
    result = checker(tmp_path / "none.jsonl", [Budget("d", G, "daily", usd=1.0)]).check(now=NOW)
    assert (result.action, result.budgets[0].used_pico) == ("ok", 0)


def test_the_state_file_is_msgpack_not_code(tmp_path: Path) -> None:
    """The state is plain data (msgpack) naming the file it covers and how far."""
    import msgspec

    log = tmp_path / "events.jsonl"
    spend(log, "2026-05-01T10:00:00+00:00", 1)
    checker(log, [Budget("d", G, "daily", usd=1.0)]).check(now=ts("2026-05-01T11:00:00+00:00"))
    saved = msgspec.msgpack.decode(state_path(log).read_bytes())
    assert saved[0] == 1 and saved[4] == log.stat().st_size  # version, ..., offset


def test_imported_lines_count_as_they_land(tmp_path: Path) -> None:
    """Lines appended by an importer (no budgets in hand) are in the next check."""
    log = tmp_path / "events.jsonl"
    c = checker(log, [Budget("d", G, "daily", tokens=100)])
    now = ts("2026-05-01T12:00:00+00:00")
    assert c.check(now=now).budgets[0].used_tokens == 0
    line = orjson.dumps({"ts": now - 60, "prompt": 40, "model": "m-1", "source": "claude-code"})
    Store(log).append_lines([line])
    assert c.check(now=now).budgets[0].used_tokens == 40
    assert c.check(now=now + timedelta(days=1).seconds).budgets[0].used_tokens == 40


def test_a_late_event_inside_an_earlier_block_leaves_the_latest_block_alone(tmp_path: Path) -> None:
    """01:10, 09:10 and 13:10 make blocks at 01:00 and 09:00; 05:10 arriving late joins the
    first (four hours after its start), so the current block still starts at 09:00."""
    log = tmp_path / "events.jsonl"
    c = checker(log, [Budget("b", G, "block", tokens=100)])
    for when in ("01:10", "09:10", "13:10"):
        spend(log, f"2026-05-01T{when}:00+00:00", 1)
    now = ts("2026-05-01T13:30:00+00:00")
    assert c.check(now=now).budgets[0].period_start == ts("2026-05-01T09:00:00+00:00")
    spend(log, "2026-05-01T05:10:00+00:00", 1)
    status = c.check(now=now).budgets[0]
    assert (status.used_tokens, status.period_start) == (2, ts("2026-05-01T09:00:00+00:00"))
