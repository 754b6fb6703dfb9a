"""The record and stats commands, through click's runner and as an installed program."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from freezegun import freeze_time

from jusage.cli import COMMANDS, main
from jusage.events import Event
from jusage.store import Store

STATS_KEYS = {
    "totals",
    "active_days",
    "current_streak",
    "longest_streak",
    "most_used_model",
    "cache_hit_rate",
    "cache_supported",
    "days",
    "by_model",
    "by_project",
    "trend",
    "skipped_lines",
}


def run_json(runner: CliRunner, *args: str) -> dict[str, object]:
    result = runner.invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data = orjson.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def test_every_command_has_help_with_an_example(runner: CliRunner) -> None:
    """Each subcommand's --help works and shows an example."""
    for name in COMMANDS:
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Example" in result.output, name


def test_the_command_list_shows_each_commands_own_first_line() -> None:
    """``jusage --help`` lists each command without importing it, by a copy of the first
    line of its docstring; the copy must not drift."""
    import importlib

    for name, (target, short) in COMMANDS.items():
        module, function = target.split(":")
        command = getattr(importlib.import_module(module), function)
        assert (command.help or "").strip().splitlines()[0] == short, name


def test_stats_json_on_the_sample_has_every_key(runner: CliRunner, sample_log: Path) -> None:
    """--json prints the whole derived view with the documented keys."""
    data = run_json(runner, "stats", "--log", str(sample_log), "--today", "2026-11-20", "--timezone", "UTC")
    assert set(data) >= STATS_KEYS
    assert data["totals"]["turns"] == 3000  # type: ignore[index]
    assert set(data["totals"]) >= {  # type: ignore[arg-type]
        "total",
        "prompt",
        "completion",
        "cached",
        "reasoning",
        "cache_write",
        "calls",
        "turns",
    }
    trend = data["trend"]
    assert [d["date"] for d in trend] == sorted(data["days"])  # type: ignore[union-attr,index,arg-type]


def test_stats_human_view_shows_the_parts(runner: CliRunner, sample_log: Path) -> None:
    """The terminal view has totals, streaks, tables and the trend."""
    result = runner.invoke(main, ["stats", "--log", str(sample_log), "--today", "2026-11-20", "-z", "UTC"])
    assert result.exit_code == 0, result.output
    for part in ("Tokens", "Active days", "Cache hit rate", "Most used model", "Model", "Project", "Last "):
        assert part in result.output


def test_record_then_stats(runner: CliRunner, log_path: Path) -> None:
    """A recorded event shows up in stats."""
    result = runner.invoke(
        main,
        [
            "record",
            "--log",
            str(log_path),
            "--ts",
            "1767225600",
            "--model",
            "gpt-5",
            "--prompt",
            "1000",
            "--cached",
            "400",
            "--completion",
            "50",
            "--project",
            "/p",
        ],
    )
    assert result.exit_code == 0, result.output
    data = run_json(runner, "stats", "--log", str(log_path), "--today", "2026-01-01", "-z", "UTC")
    assert data["totals"]["total"] == 1050  # type: ignore[index]
    assert data["most_used_model"] == "gpt-5"
    assert data["cache_hit_rate"] == 0.4


def test_record_reads_json_lines_from_stdin(runner: CliRunner, log_path: Path) -> None:
    """`record -` takes JSON lines and records them all."""
    lines = b'{"ts": 1, "prompt": 5}\n{"ts": 2, "completion": 3, "model": "m"}\n'
    result = runner.invoke(main, ["record", "--log", str(log_path), "-"], input=lines)
    assert result.exit_code == 0, result.output
    assert [e.ts for e in Store(log_path).load()] == [1, 2]


def test_record_reads_one_pretty_printed_event(runner: CliRunner, log_path: Path) -> None:
    """`record -` also takes one JSON object spread over several lines."""
    result = runner.invoke(
        main, ["record", "--log", str(log_path), "-"], input=b'{\n "ts": 7,\n "prompt": 2\n}\n'
    )
    assert result.exit_code == 0, result.output
    assert [e.ts for e in Store(log_path).load()] == [7]


def test_record_rejects_a_bad_stdin_line_and_writes_nothing(runner: CliRunner, log_path: Path) -> None:
    """One bad line: exit 2, a message naming the line, and nothing written."""
    lines = b'{"ts": 1, "prompt": 5}\n{"ts": 2, "prompt": 1, "cached": 9}\n'
    result = runner.invoke(main, ["record", "--log", str(log_path), "-"], input=lines)
    assert result.exit_code == 2
    assert "line 2" in result.output
    assert not log_path.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["stats", "--days", "0"],
        ["stats", "--days", "x"],
        ["stats", "--today", "2026-13-01"],
        ["stats", "--since", "last-tuesday"],
        ["stats", "--timezone", "Mars/Olympus"],
        ["record", "--prompt", "-3"],
        ["record", "--prompt", "1", "--cached", "5"],
        ["record"],
    ],
)
def test_bad_input_is_a_one_line_error_with_status_2(
    runner: CliRunner, log_path: Path, args: list[str]
) -> None:
    """Bad option values exit 2 with a message, never a traceback."""
    result = runner.invoke(main, [*args, "--log", str(log_path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "Error" in result.output


def test_unreadable_log_is_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    """A directory or an unreadable file given as the log is a clear error."""
    result = runner.invoke(main, ["stats", "--log", str(tmp_path)])
    assert result.exit_code == 2
    if os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.jsonl"
        locked.write_text("{}\n")
        locked.chmod(0)
        result = runner.invoke(main, ["stats", "--log", str(locked)])
        assert result.exit_code == 2
        assert "permission" in result.output


@pytest.mark.parametrize("command", [["stats"], ["daily"], ["prices"], ["record", "--prompt", "5"]])
def test_a_pipe_as_the_log_is_exit_2(runner: CliRunner, tmp_path: Path, command: list[str]) -> None:
    """A named pipe given as the log would block a read (or a write) for ever: a clear error."""
    pipe = tmp_path / "pipe.jsonl"
    os.mkfifo(pipe)
    result = runner.invoke(main, [*command, "--log", str(pipe)])
    assert result.exit_code == 2, result.output
    assert "not a regular file" in result.output


def test_skipped_lines_are_reported(runner: CliRunner, log_path: Path) -> None:
    """The human view says how many malformed lines were skipped."""
    log_path.parent.mkdir(parents=True)
    log_path.write_bytes(b'{"ts": 1767225600, "prompt": 3}\nnot json\n')
    result = runner.invoke(main, ["stats", "--log", str(log_path), "--today", "2026-01-01"])
    assert "Skipped 1 malformed line" in result.output


def _write_days(path: Path, days: list[str]) -> None:
    from datetime import date

    store = Store(path)
    for d in days:
        ts = int((date.fromisoformat(d) - date(1970, 1, 1)).total_seconds()) + 12 * 3600
        store.record(Event(ts=ts, prompt=10, completion=1))


@pytest.mark.parametrize(
    ("now", "days", "current", "longest"),
    [
        ("2026-01-01 18:00", ["2025-12-30", "2025-12-31", "2026-01-01"], 3, 3),  # across a year end
        ("2026-03-02 09:00", ["2026-02-27", "2026-02-28", "2026-03-01"], 3, 3),  # today not active yet
        ("2026-03-03 09:00", ["2026-02-27", "2026-02-28", "2026-03-01"], 0, 3),  # a gap of a day
        ("2026-05-01 10:00", ["2026-04-29", "2026-04-30", "2026-05-01", "2026-04-01"], 3, 3),
    ],
)
def test_streaks_against_a_frozen_today(
    runner: CliRunner, log_path: Path, now: str, days: list[str], current: int, longest: int
) -> None:
    """Without --today, stats reads the clock: streaks across month and year ends."""
    _write_days(log_path, days)
    with freeze_time(now):
        data = run_json(runner, "stats", "--log", str(log_path), "--timezone", "UTC")
    assert data["current_streak"] == current
    assert data["longest_streak"] == longest


def test_days_option_limits_the_window(runner: CliRunner, log_path: Path) -> None:
    """--days N keeps the last N days, today included."""
    _write_days(log_path, ["2026-01-01", "2026-01-09", "2026-01-10"])
    data = run_json(
        runner, "stats", "--log", str(log_path), "--today", "2026-01-10", "--days", "2", "-z", "UTC"
    )
    assert sorted(data["days"]) == ["2026-01-09", "2026-01-10"]  # type: ignore[arg-type]


def test_installed_command_runs_in_a_subprocess(sample_log: Path, tmp_path: Path) -> None:
    """The console script is installed and works end to end."""
    exe = shutil.which("jusage") or str(Path(sys.executable).parent / "jusage")
    assert Path(exe).exists(), "the jusage console script is not installed"
    env = {**os.environ, "JUSAGE_HOME": str(tmp_path)}
    out = subprocess.run(
        [exe, "stats", "--log", str(sample_log), "--today", "2026-11-20", "--timezone", "UTC", "--json"],
        capture_output=True,
        check=True,
        env=env,
        timeout=120,
    )
    assert orjson.loads(out.stdout)["totals"]["turns"] == 3000
    bad = subprocess.run([exe, "stats", "--days", "zero"], capture_output=True, env=env, timeout=60)
    assert bad.returncode == 2
    assert b"Traceback" not in bad.stderr


def test_stats_explains_the_mark_on_partly_priced_costs(runner: CliRunner, tmp_path: Path) -> None:
    """A cost marked * (some of its tokens had no price) gets a footnote; fully priced ones do not."""
    log = tmp_path / "events.jsonl"
    store = Store(log)
    store.record(
        Event(ts=1_764_547_200, model="claude-sonnet-4-5-20250929", project="/p", prompt=1000, completion=10)
    )
    args = ["stats", "--log", str(log), "--today", "2025-12-01", "--timezone", "UTC"]
    plain = runner.invoke(main, args)
    assert plain.exit_code == 0, plain.output
    assert "*" not in plain.stdout
    store.record(Event(ts=1_764_547_260, model="no-such-model-xyz", project="/p", prompt=1000, completion=10))
    marked = runner.invoke(main, args)
    assert marked.exit_code == 0, marked.output
    costs = [line for line in marked.stdout.splitlines() if line.startswith("/p ")]
    assert costs and costs[0].endswith("*")
    assert "* the cost leaves out tokens no price was found for." in marked.stdout
