"""The report commands through click's runner: tables, JSON, periods and every bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner
from freezegun import freeze_time

from jusage.cli import main
from jusage.events import Event
from jusage.store import Store

REPORTS = ["daily", "weekly", "monthly", "session", "blocks", "summary"]
TODAY = ["--today", "2026-11-20", "--timezone", "UTC"]
TOKEN_KEYS = {"inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens", "totalTokens"}


def run(runner: CliRunner, *args: str) -> Any:
    result = runner.invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result


def run_json(runner: CliRunner, *args: str) -> Any:
    return orjson.loads(run(runner, *args, "--json").stdout)


# --- every report, table and JSON --------------------------------------------------------------


@pytest.mark.parametrize(("command", "key"), [("daily", "date"), ("weekly", "week"), ("monthly", "month")])
def test_period_reports_json_shape(runner: CliRunner, sample_log: Path, command: str, key: str) -> None:
    """{"<period>": [...], "totals": {...}} with ccusage's fields; totals add up the rows."""
    data = run_json(runner, command, "--log", str(sample_log), *TODAY)
    rows = data[command]
    assert rows and all(key in row for row in rows)
    assert set(rows[0]) >= TOKEN_KEYS | {"totalCost", "modelsUsed", "modelBreakdowns"}
    for field in TOKEN_KEYS:
        assert data["totals"][field] == sum(row[field] for row in rows)
    assert data["totals"]["totalCost"] == pytest.approx(sum(row["totalCost"] for row in rows))
    assert [row[key] for row in rows] == sorted(row[key] for row in rows)


@pytest.mark.parametrize("command", REPORTS)
def test_every_report_prints_a_table(runner: CliRunner, sample_log: Path, command: str) -> None:
    """A plain table (no colour codes when not a terminal) within 80 columns."""
    extra = ["--since", "2026-11-16"] if command == "blocks" else []
    result = run(runner, command, "--log", str(sample_log), *TODAY, *extra)
    assert "\x1b[" not in result.stdout
    assert "Total" in result.stdout or "Block Start" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80


def test_daily_breakdown_and_desc_order(runner: CliRunner, sample_log: Path) -> None:
    """--breakdown adds model rows; --order desc puts the newest day first."""
    result = run(
        runner,
        "daily",
        "--log",
        str(sample_log),
        *TODAY,
        "--since",
        "2026-11-17",
        "--breakdown",
        "--order",
        "desc",
    )
    lines = result.stdout.splitlines()
    days = [row["date"] for row in run_json(runner, "daily", "--log", str(sample_log), *TODAY)["daily"]]
    assert lines[2].startswith(max(days))
    assert any(line.lstrip().startswith("- ") for line in lines)


def test_session_json(runner: CliRunner, sample_log: Path) -> None:
    """sessions rows carry sessionId, projectPath, firstActivity and lastActivity."""
    data = run_json(runner, "session", "--log", str(sample_log), *TODAY, "--since", "2026-11-01")
    row = data["sessions"][0]
    assert set(row) >= {"sessionId", "projectPath", "firstActivity", "lastActivity"} | TOKEN_KEYS
    assert row["firstActivity"] >= "2026-11-01"


def test_summary_json_by_provider(runner: CliRunner, sample_log: Path) -> None:
    """summary --by provider: every provider once, shares summing to one."""
    data = run_json(runner, "summary", "--log", str(sample_log), *TODAY, "--by", "provider")
    providers = [row["provider"] for row in data["summary"]]
    assert "anthropic" in providers and len(providers) == len(set(providers))
    assert sum(row["share"] for row in data["summary"]) == pytest.approx(1.0)


def test_blocks_json(runner: CliRunner, sample_log: Path) -> None:
    """blocks --json is ccusage's {"blocks": [...]}."""
    data = run_json(runner, "blocks", "--log", str(sample_log), *TODAY, "--since", "2026-11-10")
    assert data["blocks"]
    assert set(data["blocks"][0]) >= {"id", "startTime", "endTime", "isActive", "tokenCounts", "costUSD"}


def test_project_filter(runner: CliRunner, sample_log: Path) -> None:
    """--project NAME keeps only that project, matched by its last path part."""
    all_ = run_json(runner, "monthly", "--log", str(sample_log), *TODAY)
    one = run_json(runner, "monthly", "--log", str(sample_log), *TODAY, "--project", "jusage")
    assert 0 < one["totals"]["totalTokens"] < all_["totals"]["totalTokens"]


def test_unknown_model_warns_on_stderr_and_is_not_free(runner: CliRunner, log_path: Path) -> None:
    """A model with no price: the warning names it, its tokens are unpriced."""
    store = Store(log_path)
    store.record(Event(ts=1_790_000_000, model="my-local-model", prompt=700, completion=70))
    store.close()
    result = run(runner, "daily", "--log", str(log_path), "--json")
    assert "my-local-model" in result.stderr
    data = orjson.loads(result.stdout)
    assert data["totals"]["unpricedTokens"] == 770 and data["totals"]["totalCost"] == 0


def test_prices_override_file_and_prices_command(runner: CliRunner, log_path: Path, tmp_path: Path) -> None:
    """--prices prices an unknown model; `jusage prices` shows its source."""
    store = Store(log_path)
    store.record(Event(ts=1_790_000_000, model="my-local-model", prompt=1_000_000))
    store.close()
    prices = tmp_path / "prices.toml"
    prices.write_text('[models."my-local-*"]\ninput = 2\noutput = 4\n')
    data = run_json(runner, "daily", "--log", str(log_path), "--prices", str(prices))
    assert data["totals"]["totalCost"] == pytest.approx(2.0)
    listed = run_json(runner, "prices", "--log", str(log_path), "--prices", str(prices))
    assert listed["models"][0]["source"] == "override"
    bare = run_json(runner, "prices", "--log", str(log_path))
    assert bare["models"][0]["source"] == "unknown"
    assert "unknown" in run(runner, "prices", "--log", str(log_path)).stdout


def test_mode_display_uses_reported_costs_only(runner: CliRunner, log_path: Path) -> None:
    """--mode display: the reported cost only; --mode calculate ignores it."""
    store = Store(log_path)
    store.record(Event(ts=1_790_000_000, model="gpt-5", prompt=1_000_000, cost_usd=7.0))
    store.close()
    shown = run_json(runner, "daily", "--log", str(log_path), "--mode", "display")
    assert shown["totals"]["totalCost"] == pytest.approx(7.0)
    calculated = run_json(runner, "daily", "--log", str(log_path), "--mode", "calculate")
    assert calculated["totals"]["totalCost"] == pytest.approx(1.25)


# --- periods through the CLI ------------------------------------------------------------------


def _days_log(path: Path) -> None:
    store = Store(path)
    for day in range(1, 31):  # every day of 2026-11, noon UTC
        store.record(Event(ts=1_793_491_200 + (day - 1) * 86_400 + 12 * 3600, model="gpt-5", prompt=day))
    store.close()


@pytest.mark.parametrize(
    ("args", "first", "last"),
    [
        (["--since", "2026-11-10", "--until", "2026-11-12"], "2026-11-10", "2026-11-12"),
        (["--since", "20261110", "--until", "20261110"], "2026-11-10", "2026-11-10"),
        (["--since", "today"], "2026-11-20", "2026-11-30"),
        (["--since", "yesterday", "--until", "today"], "2026-11-19", "2026-11-20"),
        (["--since", "3d", "--until", "today"], "2026-11-18", "2026-11-20"),
        (["--since", "1w", "--until", "today"], "2026-11-14", "2026-11-20"),
        (["--since", "this-week", "--until", "this-week"], "2026-11-16", "2026-11-22"),
        (["--since", "last-week"], "2026-11-09", "2026-11-15"),
        (["--since", "last-week", "--start-of-week", "sunday"], "2026-11-08", "2026-11-14"),
        (["--since", "this-month", "--until", "today"], "2026-11-01", "2026-11-20"),
    ],
)
def test_period_grammar_through_the_cli(
    runner: CliRunner, log_path: Path, args: list[str], first: str, last: str
) -> None:
    """--since/--until: whole days, both ends included, relative to (frozen) today."""
    _days_log(log_path)
    with freeze_time("2026-11-20 15:00:00"):
        data = run_json(runner, "daily", "--log", str(log_path), "--timezone", "UTC", *args)
    days = [row["date"] for row in data["daily"]]
    assert (days[0], days[-1]) == (first, last)
    assert len(days) == len(set(days))


def test_last_month_covers_exactly_last_month(runner: CliRunner, log_path: Path) -> None:
    """--since last-month alone is last month, start to end."""
    _days_log(log_path)
    with freeze_time("2026-12-05 09:00:00"):
        data = run_json(runner, "monthly", "--log", str(log_path), "-z", "UTC", "--since", "last-month")
    assert [row["month"] for row in data["monthly"]] == ["2026-11"]
    assert data["totals"]["inputTokens"] == sum(range(1, 31))


# --- blocks against the clock -----------------------------------------------------------------


def test_active_block_with_frozen_now(runner: CliRunner, log_path: Path) -> None:
    """--active shows the block containing now, its burn rate and projection."""
    store = Store(log_path)
    base = 1_793_491_200 + 19 * 86_400 + 14 * 3600  # 2026-11-20 14:00 UTC
    store.record(Event(ts=base + 600, model="gpt-5", prompt=6000))
    store.record(Event(ts=base + 4200, model="gpt-5", prompt=6000))
    store.close()
    with freeze_time("2026-11-20 16:10:00"):
        data = run_json(runner, "blocks", "--log", str(log_path), "--active", "--token-limit", "20000")
        table = run(runner, "blocks", "--log", str(log_path), "--active", "-z", "UTC").stdout
    [block] = data["blocks"]
    assert block["isActive"] and block["burnRate"]["tokensPerMinute"] == pytest.approx(200.0)
    assert block["projection"]["remainingMinutes"] == 170
    assert block["tokenLimitStatus"]["status"] == "exceeds"
    assert "ACTIVE" in table and "PROJECTED" in table and "burn rate" in table
    with freeze_time("2026-11-21 16:10:00"):
        assert "No active block" in run(runner, "blocks", "--log", str(log_path), "--active").stdout


def test_stats_gains_money(runner: CliRunner, sample_log: Path) -> None:
    """stats --json: cost_usd beside token figures, unpriced_tokens, spend and projection."""
    data = run_json(runner, "stats", "--log", str(sample_log), *TODAY)
    assert data["totals"]["cost_usd"] > 0 and data["totals"]["unpriced_tokens"] > 0
    assert "cost_usd" in data["by_model"][0] and "cost_usd" in data["trend"][0]
    spend = data["spend"]
    assert spend["projected_month_usd"] >= spend["this_month_usd"] >= spend["today_usd"]
    text = run(runner, "stats", "--log", str(sample_log), *TODAY).stdout
    assert "Cost" in text and "projected" in text


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("command", REPORTS)
@pytest.mark.parametrize(
    "args",
    [
        ["--timezone", "Mars/Olympus"],
        ["--since", "2026-02-30"],
        ["--since", "last-tuesday"],
        ["--until", "soon"],
        ["--since", "2026-11-10", "--until", "2026-11-01"],
        ["--start-of-week", "someday"],
        ["--today", "20-11-2026"],
    ],
)
def test_bad_period_input_is_exit_2(runner: CliRunner, log_path: Path, command: str, args: list[str]) -> None:
    """Every report rejects a bad zone, date or interval with one line and status 2."""
    result = runner.invoke(main, [command, "--log", str(log_path), *args])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [*REPORTS, "stats", "prices"])
def test_bad_price_file_is_exit_2(runner: CliRunner, log_path: Path, tmp_path: Path, command: str) -> None:
    """A missing, unreadable or malformed price file is a one-line error naming it."""
    missing = tmp_path / "nope.toml"
    malformed = tmp_path / "bad.toml"
    malformed.write_text('[models."x"]\ninput = "cheap"\noutput = 1\n')
    for path, words in ((missing, "no such file"), (malformed, "bad.toml:2")):
        result = runner.invoke(main, [command, "--log", str(log_path), "--prices", str(path)])
        assert result.exit_code == 2, result.output
        assert words in result.stderr
    directory = runner.invoke(main, [command, "--log", str(log_path), "--prices", str(tmp_path)])
    assert directory.exit_code == 2


@pytest.mark.parametrize("value", ["0", "-1", "many", "1e6"])
def test_bad_token_limit_is_exit_2(runner: CliRunner, sample_log: Path, value: str) -> None:
    """--token-limit must be a positive whole number or max."""
    result = runner.invoke(main, ["blocks", "--log", str(sample_log), "--token-limit", value])
    assert result.exit_code == 2
    assert "--token-limit" in result.stderr


def test_bad_mode_order_and_by_are_exit_2(runner: CliRunner, log_path: Path) -> None:
    """Unknown --mode, --order and --by values are usage errors."""
    for args in (["daily", "--mode", "guess"], ["daily", "--order", "up"], ["summary", "--by", "colour"]):
        result = runner.invoke(main, [*args, "--log", str(log_path)])
        assert result.exit_code == 2, args


def test_a_folder_without_logs_is_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    """A folder given as --log with no *.jsonl in it is a clear error for every report."""
    for command in REPORTS:
        result = runner.invoke(main, [command, "--log", str(tmp_path)])
        assert result.exit_code == 2
        assert "no *.jsonl log" in result.stderr


def test_empty_log_reports(runner: CliRunner, log_path: Path) -> None:
    """A missing log is empty: zero totals in JSON, a sentence in the terminal."""
    data = run_json(runner, "daily", "--log", str(log_path))
    assert data == {
        "daily": [],
        "totals": {**dict.fromkeys(TOKEN_KEYS, 0), "totalCost": 0.0, "unpricedTokens": 0},
    }
    assert "No usage" in run(runner, "weekly", "--log", str(log_path)).stdout


EXTREME_TIMES = b"".join(
    b'{"ts": %d, "prompt": 5, "model": "m"}\n' % ts
    for ts in (2**63 - 1, -(2**63), 253_402_300_800, -62_135_596_801, 1_767_225_600)
)


@pytest.mark.parametrize(
    "command",
    [
        ["stats", "--today", "2026-11-20"],
        ["daily"],
        ["weekly"],
        ["monthly"],
        ["session"],
        ["blocks"],
        ["summary", "--by", "model"],
    ],
)
@pytest.mark.parametrize("zone", [[], ["--timezone", "UTC"], ["--timezone", "Asia/Tokyo"]])
@pytest.mark.parametrize("as_json", [[], ["--json"]])
def test_times_outside_the_calendar_never_break_a_report(
    tmp_path: Path, command: list[str], zone: list[str], as_json: list[str]
) -> None:
    """Events dated before year 1 or after 9999 (the ts field allows any 64-bit value) fall
    on the zero day; every report still runs, in every zone, as a table and as JSON."""
    log = tmp_path / "events.jsonl"
    log.write_bytes(EXTREME_TIMES)
    result = CliRunner().invoke(main, [*command, *zone, *as_json, "--log", str(log)])
    assert result.exit_code == 0, result.output
    assert result.exception is None


@pytest.mark.parametrize(
    "command",
    [
        ["stats", "--today", "2026-11-20"],
        ["daily"],
        ["session"],
        ["blocks"],
        ["summary", "--by", "model"],
        ["prices"],
    ],
)
def test_sums_past_64_bits_are_still_written_as_json(tmp_path: Path, command: list[str]) -> None:
    """Counts past the valid range (2**64 - 1 tokens) are skipped lines; thousands of events
    at the top of the range sum past what orjson writes, and the JSON is still written with
    the exact sum."""
    log = tmp_path / "events.jsonl"
    big = 2**53 - 1
    lines = [b'{"ts": %d, "prompt": %d, "model": "m"}\n' % (1_767_225_600 + i, big) for i in range(2_100)]
    lines.append(b'{"ts": 1767225600, "prompt": %d, "model": "m"}\n' % (2**64 - 1))
    log.write_bytes(b"".join(lines))
    result = CliRunner().invoke(main, [*command, "--json", "--log", str(log)])
    assert result.exit_code == 0, result.output
    assert str(2_100 * big) in result.stdout
