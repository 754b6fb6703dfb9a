"""`jusage budget set|list|rm|check|status` and `jusage record` with budgets."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from jusage.budgets import budgets_path, load_budgets
from jusage.cli import main
from jusage.events import Event
from jusage.locations import jusage_home
from jusage.store import Store

CHECK_KEYS = {
    "name",
    "action",
    "used_usd",
    "limit_usd",
    "used_tokens",
    "limit_tokens",
    "percent",
    "period_end",
}


def run(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(main, list(args), catch_exceptions=False)


def budget_set(runner: CliRunner, *args: str) -> Any:
    """`jusage budget set ARGS`, which must succeed."""
    done = run(runner, "budget", "set", *args)
    assert done.exit_code == 0, done.output
    return done


def spend(log: Path, tokens: int, **fields: Any) -> None:
    Store(log).record(Event(ts=int(time.time()) - 5, prompt=tokens, **fields))


def test_set_list_and_rm_keep_the_file(runner: CliRunner) -> None:
    """Budgets are added, replaced by name and removed; the file reads back the same."""
    budget_set(runner, "cap", "--scope", "global", "--period", "daily", "--usd", "20")
    done = run(
        runner, "budget", "set", "cap", "--scope", "model:gpt-*", "--period", "weekly", "--tokens", "900"
    )
    assert done.output.startswith("replaced budget 'cap'")
    budget_set(runner, "app", "--scope", "project:/src/app", "--period", "block", "--usd", "5", "--hard-stop")
    assert [(b.name, b.period) for b in load_budgets()] == [("cap", "weekly"), ("app", "block")]
    listed = run(runner, "budget", "list")
    assert "project:/src/app" in listed.output and "900 tok" in listed.output
    data = orjson.loads(run(runner, "budget", "list", "--json").output)
    assert data[1] == {
        "name": "app",
        "scope": ["project:/src/app"],
        "period": "block",
        "limit_usd": 5.0,
        "limit_tokens": None,
        "alert_at": 0.8,
        "hard_stop": True,
    }
    assert run(runner, "budget", "rm", "cap").exit_code == 0
    assert [b.name for b in load_budgets()] == ["app"]


def test_a_project_scope_of_home_or_here_is_made_absolute(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """project:~/x and project:. name real folders, so a check from anywhere matches them."""
    monkeypatch.chdir(tmp_path)
    budget_set(runner, "here", "--scope", "project:.", "--period", "daily", "--usd", "1")
    assert load_budgets()[0].scopes[0].value == str(tmp_path.resolve())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["set", "x", "--scope", "planet:mars", "--period", "daily", "--usd", "1"], "unknown scope"),
        (["set", "x", "--scope", "global", "--period", "daily"], "needs a limit"),
        (["set", "x", "--scope", "global", "--period", "daily", "--usd", "-1"], "usd must"),
        (
            ["set", "x", "--scope", "global", "--period", "daily", "--tokens", "5", "--alert-at", "2"],
            "alert_at",
        ),
        (["set", "x", "--scope", "global", "--period", "yearly", "--usd", "1"], "yearly"),
        (["rm", "nobody"], "no budget named 'nobody'"),
        (["check", "--timezone", "Mars/Olympus"], "unknown time zone"),
        (["status", "--start-of-week", "someday"], "unknown weekday"),
    ],
)
def test_mistakes_are_one_line_and_exit_status_2(runner: CliRunner, args: list[str], message: str) -> None:
    """Every mistake a user can make is one line on stderr and status 2, never a traceback."""
    done = runner.invoke(main, ["budget", *args])
    assert done.exit_code == 2
    assert message in done.output
    assert "Traceback" not in done.output
    errors = [line for line in done.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0]  # (click adds its usage lines to a bad choice)


def test_a_broken_budgets_file_names_its_line(runner: CliRunner) -> None:
    """`budget list` (and every other) reports the file and line of the mistake."""
    budgets_path().parent.mkdir(parents=True, exist_ok=True)
    budgets_path().write_text("[budgets.a]\nscope = ['global']\nperiod = 'daily'\nusd = true\n")
    done = runner.invoke(main, ["budget", "list"])
    assert done.exit_code == 2
    assert f"{budgets_path()}:4:" in done.output


def test_check_exits_0_1_or_2_for_ok_alert_and_stop(runner: CliRunner, log_path: Path) -> None:
    """Scripts and CI can gate on `budget check`: 0 ok, 1 alert, 2 stop."""
    budget_set(runner, "cap", "--scope", "global", "--period", "daily", "--tokens", "100", "--hard-stop")
    assert run(runner, "budget", "check", "--log", str(log_path)).exit_code == 0
    spend(log_path, 85)
    alert = run(runner, "budget", "check", "--log", str(log_path))
    assert alert.exit_code == 1 and alert.output.startswith('alert  budget "cap"')
    spend(log_path, 20)
    assert run(runner, "budget", "check", "--log", str(log_path)).exit_code == 2


def test_check_json_has_the_documented_fields(runner: CliRunner, log_path: Path) -> None:
    """--json: the action, the reason, and per budget the documented fields; unset limits are null."""
    budget_set(runner, "app", "--scope", "project:/src/app", "--period", "monthly", "--usd", "10")
    budget_set(runner, "other", "--scope", "project:/src/lib", "--period", "daily", "--usd", "10")
    spend(log_path, 10, project="/src/app", cost_usd=9.0)
    done = run(runner, "budget", "check", "--project", "/src/app", "--json", "--log", str(log_path))
    data = orjson.loads(done.output)
    assert done.exit_code == 1
    assert data["action"] == "alert" and "app" in data["reason"]
    (only,) = data["budgets"]
    assert set(only) >= CHECK_KEYS
    assert (only["name"], only["used_usd"], only["limit_usd"], only["limit_tokens"]) == (
        "app",
        9.0,
        10.0,
        None,
    )
    assert only["percent"] == 90.0
    assert only["period_end"].endswith(("+00:00", "Z")) or "T00:00:00" in only["period_end"]


def test_status_shows_a_bar_time_left_and_projection(runner: CliRunner, log_path: Path) -> None:
    """The table has every budget with a bar; --json adds the period start and projection."""
    budget_set(runner, "cap", "--scope", "global", "--period", "daily", "--usd", "4")
    spend(log_path, 10, cost_usd=1.0)
    table = run(runner, "budget", "status", "--log", str(log_path)).output
    assert "cap" in table and "█████░░░" in table and "25%" in table
    data = orjson.loads(run(runner, "budget", "status", "--json", "--log", str(log_path)).output)
    (row,) = data["budgets"]
    assert row["used_usd"] == 1.0
    assert row["projected_usd"] >= 1.0
    assert 0 < row["seconds_left"] <= 86400 + 3600
    assert row["period_start"] < row["period_end"]


def test_the_configured_zone_decides_the_periods(runner: CliRunner, log_path: Path) -> None:
    """config.toml's timezone is the budgets' zone, and --timezone overrides it for one run."""
    (jusage_home()).mkdir(parents=True, exist_ok=True)
    (jusage_home() / "config.toml").write_text('timezone = "Asia/Tokyo"\nstart_of_week = "sunday"\n')
    budget_set(runner, "cap", "--scope", "global", "--period", "daily", "--usd", "4")
    tokyo = orjson.loads(run(runner, "budget", "status", "--json", "--log", str(log_path)).output)
    utc = orjson.loads(
        run(runner, "budget", "status", "--json", "--timezone", "UTC", "--log", str(log_path)).output
    )
    assert tokyo["budgets"][0]["period_end"].endswith("T00:00:00+09:00")
    assert utc["budgets"][0]["period_end"].endswith("T00:00:00+00:00")


def test_a_bad_zone_in_the_config_names_its_line(runner: CliRunner, log_path: Path) -> None:
    """config.toml with an unknown zone is one line naming the file and line."""
    jusage_home().mkdir(parents=True, exist_ok=True)
    (jusage_home() / "config.toml").write_text('sync = true\ntimezone = "Nowhere/Land"\n')
    budget_set(runner, "cap", "--scope", "global", "--period", "daily", "--usd", "4")
    done = runner.invoke(main, ["budget", "status", "--log", str(log_path)])
    assert done.exit_code == 2
    assert "config.toml:2: timezone: unknown time zone" in done.output


def test_record_names_the_budgets_it_passes_and_records_anyway(runner: CliRunner, log_path: Path) -> None:
    """`jusage record` evaluates the budgets as it writes; a used-up budget never stops it."""
    budget_set(runner, "cap", "--scope", "global", "--period", "daily", "--tokens", "10", "--hard-stop")
    done = runner.invoke(main, ["record", "--log", str(log_path), "--model", "m", "--prompt", "12"])
    assert done.exit_code == 0
    assert 'jusage: stop: budget "cap" (global) is used up' in done.output
    assert len(Store(log_path).load()) == 1


def test_record_with_a_broken_budgets_file_still_records(runner: CliRunner, log_path: Path) -> None:
    """A budgets file that cannot be read is reported, and the event written all the same."""
    budgets_path().parent.mkdir(parents=True, exist_ok=True)
    budgets_path().write_text("not toml [")
    done = runner.invoke(main, ["record", "--log", str(log_path), "--model", "m", "--prompt", "12"])
    assert done.exit_code == 0
    assert "budgets not checked" in done.output
    assert len(Store(log_path).load()) == 1
