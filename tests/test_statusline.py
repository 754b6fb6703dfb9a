"""The status line: what it shows, and that it never fails Claude Code's status bar."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import JSON_ANY

from jusage.budgets import Budget, Scope, budgets_path, save_budgets
from jusage.events import Event
from jusage.statusline import status_line
from jusage.store import Store

JUSAGE = str(Path(sys.executable).parent / "jusage")
NOW = 1_780_000_000  # 2026-05-28 20:26:40 UTC
FULL = {
    "session_id": "s1",
    "transcript_path": "/home/ada/.claude/projects/-src-app/s1.jsonl",
    "cwd": "/src/app",
    "model": {"id": "claude-opus-4-1-20250805", "display_name": "Opus 4.1"},
    "workspace": {"current_dir": "/src/app", "project_dir": "/src/app"},
    "version": "2.1.0",
    "cost": {"total_cost_usd": 1.234, "total_duration_ms": 45000},
    "rate_limits": {
        "five_hour": {"used_percentage": 42.4, "resets_at": NOW + 3600},
        "seven_day": {"used_percentage": 91, "resets_at": "2026-06-01T00:00:00Z"},
    },
}


def line(payload: Any, log: Path, *, color: bool = False, now: int = NOW) -> str:
    data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return status_line(data, log=log, now=now, color=color)


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    """A ledger with $3 spent today over two hours, in /src/app."""
    log = tmp_path / "events.jsonl"
    store = Store(log)
    store.record(Event(ts=NOW - 7200, prompt=100, project="/src/app", session="s1", cost_usd=1.0))
    store.record(Event(ts=NOW - 600, prompt=200, project="/src/app", session="s1", cost_usd=2.0))
    return log


def test_the_line_shows_everything_it_is_given(ledger: Path) -> None:
    """Model, session cost, today, the block with time left and burn rate, the tightest
    budget, and the official rate limits."""
    save_budgets([Budget("app-day", (Scope.parse("project:/src/app"),), "daily", usd=5.0)], budgets_path())
    text = line(FULL, ledger)
    assert text.split(" · ") == [
        "Opus 4.1",
        "$1.23 session",
        "$3.00 today",
        "$3.00 block (2h 33m left, $1.64/h)",
        "app-day 60%",
        "5h 42% 7d 91%",
    ]


def test_shares_are_coloured_at_the_alert_level_and_over(ledger: Path) -> None:
    """The budget is yellow from its alert level and red over its limit; so are rate limits."""
    save_budgets([Budget("day", (Scope("global"),), "daily", usd=3.5)], budgets_path())
    coloured = line(FULL, ledger, color=True)
    assert "\x1b[33mday 86%\x1b[0m" in coloured
    assert "\x1b[33m7d 91%\x1b[0m" in coloured
    save_budgets([Budget("day", (Scope("global"),), "daily", usd=2.0)], budgets_path())
    assert "\x1b[31mday 150%\x1b[0m" in line(FULL, ledger, color=True)


@pytest.mark.parametrize(
    "payload",
    [{}, {"model": {}}, {"model": "Opus"}, {"cost": {"total_cost_usd": "lots"}}, {"rate_limits": [1]}, []],
)
def test_missing_or_odd_fields_are_left_out(ledger: Path, payload: Any) -> None:
    """Every field is optional; what is missing or the wrong type is simply not shown."""
    assert line(payload, ledger).split(" · ")[0] == "$3.00 today"


@settings(max_examples=100, deadline=None)
@given(payload=JSON_ANY | st.dictionaries(st.sampled_from(list(FULL)), JSON_ANY))
def test_any_json_gives_a_line(payload: Any) -> None:
    """Any JSON value at all, or an object with any values in the known fields, gives a line."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        text = status_line(json.dumps(payload).encode(), log=Path(tmp) / "none.jsonl", now=NOW)
    assert text and "\n" not in text


def test_a_ledger_that_does_not_exist_costs_nothing(tmp_path: Path) -> None:
    """No ledger yet: the line shows $0.00 today and no block."""
    assert line(FULL, tmp_path / "missing" / "events.jsonl").split(" · ")[:3] == [
        "Opus 4.1",
        "$1.23 session",
        "$0.00 today",
    ]


def test_a_broken_budgets_file_gives_the_fallback(ledger: Path) -> None:
    """What cannot be read gives a short fallback line, never an error."""
    budgets_path().parent.mkdir(parents=True, exist_ok=True)
    budgets_path().write_text("[budgets.x]\nperiod = 3\n")
    assert line(FULL, ledger) == "Opus 4.1 · jusage: no data"


@pytest.mark.parametrize("stdin", [b"", b"garbage \xff", b'{"model": {"display_name": "Sonnet"}}'])
def test_the_command_always_prints_a_line_and_exits_0(tmp_path: Path, stdin: bytes) -> None:
    """As Claude Code runs it: a process, JSON (or not) on stdin, one line out, status 0."""
    done = subprocess.run(
        [JUSAGE, "statusline", "--log", str(tmp_path / "nothing.jsonl"), "--no-color"],
        input=stdin,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert len(done.stdout.decode().splitlines()) == 1
    assert done.stderr == b""


def test_the_command_survives_a_log_that_is_a_folder(tmp_path: Path) -> None:
    """Even an option click would refuse still gives a line and exit status 0."""
    done = subprocess.run(
        [JUSAGE, "statusline", "--log", str(tmp_path)], input=b"{}", capture_output=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout.strip()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], (None, False)),
        (["--no-color"], (None, True)),
        (["--log", "/x/e.jsonl", "--no-color"], (Path("/x/e.jsonl"), True)),
        (["--log=/x/e.jsonl"], (Path("/x/e.jsonl"), False)),
        (["--log"], None),
        (["--help"], None),
        (["--json"], None),
    ],
)
def test_the_fast_path_takes_only_the_options_it_knows(args: list[str], expected: Any) -> None:
    """`jusage statusline` skips click's start-up for --log and --no-color; anything else
    (--help, a mistake) goes to click."""
    from jusage.console import _statusline_options

    assert _statusline_options(args) == expected
