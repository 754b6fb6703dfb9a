"""What the command line says to a newcomer's mistakes and to hostile values: one clear line."""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from freezegun import freeze_time

from jusage.cli import main
from jusage.events import Event
from jusage.store import Store

TS = 1_793_880_000  # 2026-11-05 12:00 UTC


def run(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(main, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--prompt", "99999999999999999999999999"], "prompt must be a whole number at most"),
        (["--prompt", "1", "--ts", "1000000000000000000"], "ts must be a whole number at most"),
        (["--prompt", "1", "--ts", "99999999999999"], "ts must be a whole number at most"),
        (["--prompt", "1", "--ts", "-1"], "ts must be a whole number at least 0"),
        (["--prompt", "1", "--cost-usd", "1e300"], "cost_usd must be a number at most"),
        (["--prompt", "1", "--cost-usd", "nan"], "cost_usd"),
        (["--prompt", "5", "--completion", "1", "--total", "1000000000"], "total (1000000000) is not"),
        (["--prompt", "5", "--date", "notadate"], "date must be YYYY-MM-DD"),
        (["--model", "m"], "no tokens"),
    ],
)
def test_record_refuses_values_outside_the_valid_ranges(
    runner: CliRunner, log_path: Path, args: list[str], says: str
) -> None:
    """Every out-of-range value is one line and exit status 2; nothing is written."""
    code, output = run(runner, "record", *args, "--log", str(log_path))
    assert code == 2
    assert says in output
    assert len(output.strip().splitlines()) == 1
    assert not log_path.exists() or log_path.read_bytes() == b""


@pytest.mark.parametrize(
    ("stdin", "says"),
    [
        (b'{"ts": 5, "prompt": 0}', "no tokens"),
        (b'{"ts": 5, "prompt": 18446744073709551615}', "prompt must be a whole number at most"),
        (b'{"ts": 5, "prompt": 3, "completion": 1, "total": 99}', "total (99) is not"),
        (b'{"ts": 5, "prompt": 3, "date": "2026-02-30"}', "date must be YYYY-MM-DD"),
        (b'{"ts": 5, "prompt": 3, "cost_usd": 1e308}', "cost_usd must be a number at most"),
    ],
)
def test_record_from_stdin_follows_the_same_rules(
    runner: CliRunner, log_path: Path, stdin: bytes, says: str
) -> None:
    """`record -` refuses what the options refuse."""
    result = runner.invoke(main, ["record", "-", "--log", str(log_path)], input=stdin)
    assert result.exit_code == 2, result.output
    assert says in result.output


def test_no_events_on_stdin_says_so_once(runner: CliRunner, log_path: Path) -> None:
    """An empty stdin is one line, not "nothing recorded" followed by "recorded 0 events"."""
    result = runner.invoke(main, ["record", "-", "--log", str(log_path)], input=b"\n\n")
    assert result.exit_code == 0
    assert result.output.strip() == "no events on stdin; nothing recorded"


def test_usage_errors_are_one_line(runner: CliRunner) -> None:
    """click's three-line usage errors become one line with status 2."""
    for args in (["stats", "--days", "x"], ["stats", "--bogus"], ["nocommand"]):
        code, output = run(runner, *args)
        assert code == 2
        assert len(output.strip().splitlines()) == 1
        assert output.startswith("Error: ")


def test_a_bad_prune_date_names_its_option(runner: CliRunner, log_path: Path) -> None:
    code, output = run(runner, "prune", "--before", "garbage", "--log", str(log_path))
    assert (code, output.strip()) == (2, "Error: --before: expected YYYY-MM-DD, got 'garbage'")


def test_days_and_since_together_are_refused(runner: CliRunner, log_path: Path) -> None:
    """--days 7 --since 2026-09-01 used to drop --since silently."""
    code, output = run(runner, "stats", "--days", "7", "--since", "2026-09-01", "--log", str(log_path))
    assert code == 2
    assert "not both" in output


def test_seven_d_means_what_days_7_means(runner: CliRunner, log_path: Path) -> None:
    """--since 7d and --days 7 cover the same seven days, today included."""
    store = Store(log_path)
    store.record_many(Event(ts=TS - day * 86_400, prompt=day + 1, model="m") for day in range(10))
    common = ["--json", "--log", str(log_path), "--today", "2026-11-05", "--timezone", "UTC"]
    by_days = orjson.loads(runner.invoke(main, ["stats", "--days", "7", *common]).stdout)
    by_since = orjson.loads(runner.invoke(main, ["stats", "--since", "7d", *common]).stdout)
    assert by_days == by_since
    assert sorted(by_days["days"]) == [f"2026-10-{d:02d}" for d in range(30, 32)] + [
        f"2026-11-{d:02d}" for d in range(1, 6)
    ]


def test_blocks_recent_and_active_follow_today(runner: CliRunner, log_path: Path) -> None:
    """With --today set to another day, "now" is that day's end, not the real clock."""
    Store(log_path).record(Event(ts=TS, prompt=10, model="m"))
    base = ["blocks", "--json", "--log", str(log_path), "--timezone", "UTC"]
    active = orjson.loads(runner.invoke(main, [*base, "--active", "--today", "2026-11-05"]).stdout)
    # 12:00 opens the block 12:00-17:00, which the end of the day (23:59:59) is past.
    assert active["blocks"] == []
    recent = orjson.loads(runner.invoke(main, [*base, "--recent", "--today", "2026-11-06"]).stdout)
    assert len(recent["blocks"]) == 1
    assert orjson.loads(runner.invoke(main, [*base, "--recent", "--today", "2026-12-01"]).stdout) == {
        "blocks": []
    }
    Store(log_path).record(Event(ts=TS + 7 * 3600 + 60, prompt=1, model="m"))  # 19:01: block 19:00-00:00
    active = orjson.loads(runner.invoke(main, [*base, "--active", "--today", "2026-11-05"]).stdout)
    assert [b["startTime"] for b in active["blocks"]] == ["2026-11-05T19:00:00.000Z"]


def test_the_collapsed_row_of_unpriced_models_says_unpriced(runner: CliRunner, log_path: Path) -> None:
    """The "(1 more)" row of stats said $0.00 for a model with no price."""
    store = Store(log_path)
    store.record_many(
        Event(ts=TS + i, model=f"no-such-model-{i}", prompt=1000 - i, completion=1) for i in range(10)
    )
    result = runner.invoke(main, ["stats", "--log", str(log_path), "--today", "2026-11-05"])
    assert result.exit_code == 0
    more = next(line for line in result.stdout.splitlines() if line.startswith("("))
    assert more.startswith("(2 more)")
    assert more.rstrip().endswith("unpriced")


def test_a_tab_in_a_dimension_value_is_just_a_character(runner: CliRunner, log_path: Path) -> None:
    """summary --by project on a project named "/a<TAB>b" raised "row has 7 cells"."""
    Store(log_path).record(Event(ts=TS, project="/a\tb", prompt=5, model="m"))
    table = runner.invoke(main, ["summary", "--by", "project,model", "--log", str(log_path)])
    assert table.exit_code == 0, table.output
    data = orjson.loads(
        runner.invoke(main, ["summary", "--by", "project", "--json", "--log", str(log_path)]).stdout
    )
    assert data["summary"][0]["project"] == "/a\tb"


def test_a_huge_field_renders_in_linear_time(runner: CliRunner, log_path: Path) -> None:
    """A 5 MB project name took seconds to fit into a table (one character per step)."""
    Store(log_path).record(Event(ts=TS, project="/" + "x" * 5_000_000, prompt=5, model="m"))
    began = time.process_time()
    for args in (["stats", "--today", "2026-11-05"], ["summary", "--by", "project"]):
        result = runner.invoke(main, [*args, "--log", str(log_path)])
        assert result.exit_code == 0
        assert max(len(line) for line in result.stdout.splitlines()) < 200
    assert time.process_time() - began < 5  # was 15 s of CPU; a generous bound, not a benchmark


@pytest.mark.parametrize("command", [["daily"], ["weekly"], ["session"], ["summary"], ["blocks"]])
def test_an_empty_or_missing_log_says_which_and_how_to_fill_it(
    runner: CliRunner, tmp_path: Path, command: list[str]
) -> None:
    """ "No usage in this period." named neither the log nor what to do."""
    missing = tmp_path / "typo.jsonl"
    code, output = run(runner, *command, "--log", str(missing))
    assert code == 0
    assert str(missing) in output and "does not exist" in output and "jusage import" in output
    missing.write_bytes(b"")
    code, output = run(runner, *command, "--log", str(missing))
    assert "is empty" in output


@freeze_time("2026-11-05 12:00:00")
def test_stats_honours_force_color(
    runner: CliRunner, log_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FORCE_COLOR turns colour on even when stdout is not a terminal (and NO_COLOR off)."""
    Store(log_path).record(Event(ts=TS, prompt=5, model="m"))
    monkeypatch.setenv("FORCE_COLOR", "1")
    coloured = runner.invoke(main, ["stats", "--log", str(log_path)]).stdout
    assert "\x1b[" in coloured
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in runner.invoke(main, ["stats", "--log", str(log_path)]).stdout


def test_blocks_name_the_unpriced_models_of_the_blocks_shown(runner: CliRunner, log_path: Path) -> None:
    """The warning counts what the shown blocks hold, not the whole log."""
    store = Store(log_path)
    store.record(Event(ts=1_764_547_200, model="mystery-x", prompt=1_000_000, completion=12))
    store.record(Event(ts=1_764_547_200 + 3 * 86_400, model="mystery-y", prompt=5, completion=6))
    args = ["blocks", "--log", str(log_path), "--since", "2025-12-04", "--today", "2025-12-04", "-z", "UTC"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "no price known for: mystery-y (11 tokens)" in result.stderr
    assert "mystery-x" not in result.stderr


def test_session_refuses_a_breakdown_it_cannot_show(runner: CliRunner, log_path: Path) -> None:
    code, output = run(runner, "session", "--breakdown", "host", "--log", str(log_path))
    assert code == 2
    assert "summary --by session,host" in output
