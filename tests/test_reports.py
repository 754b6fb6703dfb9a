"""The report builders: periods, sessions, summaries, ccusage's JSON shape and the tables."""

from __future__ import annotations

from datetime import UTC, date

import pytest

from jusage.aggregate import Aggregator, Partial, Table, rollup
from jusage.costing import Coster
from jusage.events import Event
from jusage.pricing import Pricer, Rates
from jusage.render.reports import render_report, short_model
from jusage.views.reports import (
    narrow,
    parse_dims,
    period_key,
    period_report,
    project_matches,
    report_to_json,
    session_report,
    summary_dims,
    summary_report,
)

PRICER = Pricer({"m-a": Rates(1_000_000, 2_000_000, 100_000, 1_250_000, 2_000_000)})
COSTER = Coster(PRICER, "calculate")
D1 = 1_790_000_000  # 2026-09-21 14:13 UTC (a Monday)
DAY = 86_400

EVENTS = [
    Event(
        ts=D1,
        model="m-a",
        project="/src/app",
        session="s1",
        prompt=1000,
        cached=600,
        cache_write=100,
        completion=50,
    ),
    Event(ts=D1 + 60, model="m-b", project="/src/app", session="s1", prompt=10, completion=5),
    Event(ts=D1 + DAY, model="m-a", project="/src/lib", session="s2", prompt=2000, completion=100),
    Event(
        ts=D1 + 8 * DAY,
        model="m-a",
        project="/src/app",
        session="s3",
        prompt=1,
        completion=1,
        provider="",
        agent="bot",
    ),
]


def build(dims: tuple[str, ...], events: list[Event] = EVENTS) -> Table:
    agg = Aggregator(dims, tz=UTC, coster=COSTER)
    return rollup(agg.accumulate(Partial(), events), agg)


def test_daily_json_has_ccusage_fields_and_non_cached_input() -> None:
    """inputTokens = prompt - cached - cache_write; totalTokens adds the four parts."""
    data = report_to_json(period_report(build(("model", "project")), "daily"))
    first = data["daily"][0]
    assert first["date"] == "2026-09-21"
    assert first["inputTokens"] == (1000 - 600 - 100) + 10
    assert first["outputTokens"] == 55
    assert first["cacheCreationTokens"] == 100
    assert first["cacheReadTokens"] == 600
    assert first["totalTokens"] == 1010 + 55
    assert first["modelsUsed"] == ["m-a", "m-b"]
    assert {b["modelName"] for b in first["modelBreakdowns"]} == {"m-a", "m-b"}
    assert set(first["modelBreakdowns"][0]) == {
        "modelName",
        "inputTokens",
        "outputTokens",
        "cacheCreationTokens",
        "cacheReadTokens",
        "cost",
    }
    assert set(data["totals"]) >= {
        "inputTokens",
        "outputTokens",
        "cacheCreationTokens",
        "cacheReadTokens",
        "totalTokens",
        "totalCost",
    }


def test_daily_cost_is_exact_and_unpriced_tokens_are_named() -> None:
    """m-a is priced by hand; m-b has no price and is listed, not free."""
    report = period_report(build(("model", "project")), "daily")
    # 300 new x $1 + 600 reads x $0.10 + 100 writes x $1.25 + 50 out x $2, per million
    assert report.rows[0].models[0] == ("m-a", report.rows[0].models[0][1])
    assert (
        report.rows[0].models[0][1].cost_pico == 300 * 10**6 + 600 * 10**5 + 100 * 1_250_000 + 50 * 2 * 10**6
    )
    assert report.unpriced_models == {"m-b": 15}
    assert report.totals.unpriced == 15


def test_weekly_and_monthly_keys() -> None:
    """Weeks are keyed by their first day, months by YYYY-MM."""
    weekly = report_to_json(period_report(build(("model", "project")), "weekly"))
    assert [r["week"] for r in weekly["weekly"]] == ["2026-09-21", "2026-09-28"]
    sunday = report_to_json(period_report(build(("model", "project")), "weekly", start_of_week=6))
    assert [r["week"] for r in sunday["weekly"]] == ["2026-09-20", "2026-09-27"]
    monthly = report_to_json(period_report(build(("model", "project")), "monthly"))
    assert [r["month"] for r in monthly["monthly"]] == ["2026-09"]


def test_since_until_are_inclusive_whole_days() -> None:
    """[since, until] keeps both end days."""
    report = period_report(
        build(("model", "project")), "daily", since=date(2026, 9, 22), until=date(2026, 9, 29)
    )
    assert [r.key for r in report.rows] == ["2026-09-22", "2026-09-29"]


def test_order_desc_reverses_rows() -> None:
    """--order desc puts the newest first."""
    report = period_report(build(("model", "project")), "daily", order="desc")
    assert [r.key for r in report.rows] == ["2026-09-29", "2026-09-22", "2026-09-21"]


def test_project_filter_by_path_or_last_part() -> None:
    """--project matches the whole path or its last component."""
    assert project_matches("/src/app", "app") and project_matches("/src/app/", "/src/app/")
    assert not project_matches("/src/app", "ap")
    report = period_report(narrow(build(("model", "project")), project="lib"), "daily")
    assert [r.key for r in report.rows] == ["2026-09-22"]


def test_session_rows_have_project_and_activity_days() -> None:
    """Sessions carry sessionId, projectPath, firstActivity and lastActivity."""
    data = report_to_json(session_report(build(("session", "project", "model")), tz=UTC))
    by_id = {s["sessionId"]: s for s in data["sessions"]}
    assert by_id["s1"]["projectPath"] == "/src/app"
    assert by_id["s1"]["firstActivity"] == by_id["s1"]["lastActivity"] == "2026-09-21"
    assert by_id["s2"]["projectPath"] == "/src/lib"
    assert [s["sessionId"] for s in data["sessions"]] == ["s1", "s2", "s3"]


def test_summary_by_provider_infers_it_from_the_model() -> None:
    """An event without provider gets one from its model name."""
    events = [
        Event(ts=D1, model="claude-sonnet-4-5", prompt=10),
        Event(ts=D1, model="gpt-5", prompt=30),
        Event(ts=D1, model="gpt-5", provider="azure", prompt=5),
    ]
    report = summary_report(build(summary_dims(("provider",)), events), ("provider",))
    assert [(r.labels, r.tally.total) for r in report.rows] == [
        (("openai",), 30),
        (("anthropic",), 10),
        (("azure",), 5),
    ]


def test_summary_by_two_dims_and_a_calendar_dim() -> None:
    """--by agent,month groups by both; shares add to one."""
    by = parse_dims("agent,month")
    report = summary_report(build(summary_dims(by)), by)
    keys = {r.labels for r in report.rows}
    assert keys == {("", "2026-09"), ("bot", "2026-09")}
    data = report_to_json(report)
    assert data["by"] == ["agent", "month"]
    assert sum(r["share"] for r in data["summary"]) == pytest.approx(1.0)


def test_parse_dims_rejects_unknown_and_repeated() -> None:
    """Bad --by values are errors naming the problem."""
    with pytest.raises(ValueError, match="unknown dimension"):
        parse_dims("model,colour")
    with pytest.raises(ValueError, match="twice"):
        parse_dims("model,model")


def test_table_fits_80_columns_and_marks_unpriced_cost() -> None:
    """The narrow table stays within 80 columns, right-aligns numbers and notes unpriced tokens."""
    text = render_report(period_report(build(("model", "project")), "daily"), breakdown=True, width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "1,065" in text  # thousands separators
    assert "*" in text and "m-b" in text.splitlines()[-1]


def test_period_key_and_short_model() -> None:
    """Helpers: week start, month key, and short model names for tables."""
    assert period_key("2026-09-24", "weekly", 0) == "2026-09-21"
    assert period_key("2026-09-24", "monthly") == "2026-09"
    assert short_model("anthropic/claude-sonnet-4-5-20250929") == "sonnet-4-5"
    assert short_model("gpt-5-codex") == "gpt-5-codex"
