"""Time zones decide days, weeks and months: the same events split differently by zone."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import pytest
from click.testing import CliRunner

from jusage.aggregate import Aggregator, Partial, rollup
from jusage.cli import main
from jusage.events import Event
from jusage.store import Store
from jusage.views.reports import period_report


def ts(text: str) -> int:
    """Unix seconds of an ISO time with offset."""
    return int(datetime.fromisoformat(text).timestamp())


# Three events around 2026-06-15 10:00 UTC: 09:30, 10:30 and 23:30 UTC.
EVENTS = [
    Event(ts=ts("2026-06-15T09:30:00+00:00"), model="m", prompt=1),
    Event(ts=ts("2026-06-15T10:30:00+00:00"), model="m", prompt=10),
    Event(ts=ts("2026-06-15T23:30:00+00:00"), model="m", prompt=100),
]


def daily(events: list[Event], zone: str) -> dict[str, int]:
    agg = Aggregator(("model", "project"), tz=ZoneInfo(zone))
    report = period_report(rollup(agg.accumulate(Partial(), events), agg), "daily")
    return {row.key: row.tally.prompt for row in report.rows}


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("UTC", {"2026-06-15": 111}),
        # UTC-10: 23:30 UTC is 13:30 the same day; 09:30 UTC is 23:30 the day before
        ("Pacific/Honolulu", {"2026-06-14": 1, "2026-06-15": 110}),
        # UTC+13 (no DST in 2026): 10:30 UTC is 23:30 the same day, 23:30 UTC is 12:30 next day
        ("Pacific/Tongatapu", {"2026-06-15": 11, "2026-06-16": 100}),
        # UTC+12 in the southern winter (standard time); 23:30 UTC is 11:30 the next day
        ("Pacific/Auckland", {"2026-06-15": 11, "2026-06-16": 100}),
    ],
)
def test_same_events_split_into_days_by_zone(zone: str, expected: dict[str, int]) -> None:
    """Days are calendar days in the reader's zone, not the writer's."""
    assert daily(EVENTS, zone) == expected


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        # spring forward: 2026-03-08 02:00 EST -> 03:00 EDT. 04:59 UTC is 23:59 EST on the 7th,
        # 05:00 UTC is 00:00 EST on the 8th, 03:59 UTC on the 9th is 23:59 EDT on the 8th.
        (
            [
                "2026-03-08T04:59:00+00:00",
                "2026-03-08T05:00:00+00:00",
                "2026-03-09T03:59:00+00:00",
                "2026-03-09T04:00:00+00:00",
            ],
            {"2026-03-07": 1, "2026-03-08": 2, "2026-03-09": 1},
        ),
        # fall back: 2026-11-01 02:00 EDT -> 01:00 EST; that day has 25 hours.
        # 03:59 UTC is 23:59 EDT on Oct 31; 04:00 UTC is 00:00 EDT on Nov 1;
        # 04:59 UTC on Nov 2 is 23:59 EST on Nov 1; 05:00 UTC is 00:00 EST on Nov 2.
        (
            [
                "2026-11-01T03:59:00+00:00",
                "2026-11-01T04:00:00+00:00",
                "2026-11-02T04:59:00+00:00",
                "2026-11-02T05:00:00+00:00",
            ],
            {"2026-10-31": 1, "2026-11-01": 2, "2026-11-02": 1},
        ),
    ],
)
def test_days_across_daylight_saving_changes(events: list[str], expected: dict[str, int]) -> None:
    """America/New_York: the day boundary follows the offset change."""
    evs = [Event(ts=ts(t), model="m", prompt=1) for t in events]
    assert daily(evs, "America/New_York") == expected


def test_month_boundary_depends_on_zone() -> None:
    """An event at 2026-07-01 05:00 UTC is June in Honolulu and July in UTC."""
    agg_utc = Aggregator(("model", "project"), tz=ZoneInfo("UTC"))
    agg_hnl = Aggregator(("model", "project"), tz=ZoneInfo("Pacific/Honolulu"))
    e = [Event(ts=ts("2026-07-01T05:00:00+00:00"), model="m", prompt=1)]
    assert [
        r.key for r in period_report(rollup(agg_utc.accumulate(Partial(), e), agg_utc), "monthly").rows
    ] == ["2026-07"]
    assert [
        r.key for r in period_report(rollup(agg_hnl.accumulate(Partial(), e), agg_hnl), "monthly").rows
    ] == ["2026-06"]


def test_cli_timezone_option_decides_the_days(runner: CliRunner, log_path: Path) -> None:
    """`jusage daily --timezone` gives each zone's days from the same log."""
    store = Store(log_path)
    for e in EVENTS:
        store.record(e)
    store.close()
    days = {}
    for zone in ("UTC", "Pacific/Honolulu", "Pacific/Apia"):
        result = runner.invoke(main, ["daily", "--log", str(log_path), "--timezone", zone, "--json"])
        assert result.exit_code == 0, result.output
        days[zone] = [row["date"] for row in orjson.loads(result.stdout)["daily"]]
    assert days == {
        "UTC": ["2026-06-15"],
        "Pacific/Honolulu": ["2026-06-14", "2026-06-15"],
        "Pacific/Apia": ["2026-06-15", "2026-06-16"],
    }
