"""Every agent without an import step: sync, reports that sync first, --source and breakdowns."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from conftest import AGENT_ENV, FIXTURES

from jusage.cli import main
from jusage.sync import AGENTS, sync_agents


def fresh_home(tmp_path: Path) -> Path:
    """A HOME holding Claude Code, Codex and Gemini CLI histories (the bundled fixtures)."""
    home = tmp_path / "home"
    shutil.copytree(FIXTURES / "claude-code", home / ".claude")
    shutil.copytree(FIXTURES / "codex", home / ".codex")
    shutil.copytree(FIXTURES / "gemini-cli", home / ".gemini")
    return home


def test_a_fresh_machine_shows_every_agent_without_an_import(tmp_path: Path) -> None:
    """`jusage daily` in a fresh HOME with Claude Code, Codex and Gemini CLI history shows all
    three, with no other command run first (the installed command, in a subprocess)."""
    home = fresh_home(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in AGENT_ENV and k != "JUSAGE_HOME"}
    env["HOME"] = str(home)
    exe = Path(sys.executable).parent / "jusage"
    cmd = [str(exe), "daily", "--breakdown", "source", "--json", "--timezone", "UTC"]
    done = subprocess.run(cmd, capture_output=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    data = orjson.loads(done.stdout)
    sources = {part["source"] for row in data["daily"] for part in row["breakdown"]}
    assert {"claude-code", "codex", "gemini-cli"} <= sources
    again = subprocess.run(cmd, capture_output=True, env=env, timeout=120)
    assert orjson.loads(again.stdout) == data  # the second sync found nothing new


def test_sync_says_per_agent_what_it_added(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`jusage sync` imports every agent found; a second run adds nothing."""
    monkeypatch.setenv("HOME", str(fresh_home(tmp_path)))
    first = orjson.loads(runner.invoke(main, ["sync", "--json"]).stdout)
    added = {s["source"]: s["events_added"] for s in first["agents"]}
    assert set(added) == {"claude-code", "codex", "gemini-cli"} and all(added.values())
    second = orjson.loads(runner.invoke(main, ["sync", "--json"]).stdout)
    assert all(s["events_added"] == 0 for s in second["agents"])
    text = runner.invoke(main, ["sync"]).stdout
    assert "claude-code:" in text and "codex:" in text


def test_no_sync_and_the_config_setting_turn_it_off(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--no-sync and config.toml's sync = false leave the ledger alone; a named --log is only
    synced with --sync."""
    monkeypatch.setenv("HOME", str(fresh_home(tmp_path)))
    ledger = Path(os.environ["JUSAGE_HOME"]) / "usage" / "events.jsonl"
    runner.invoke(main, ["daily", "--no-sync"])
    assert not ledger.exists()
    other = tmp_path / "other.jsonl"
    runner.invoke(main, ["daily", "--log", str(other)])
    assert not other.exists()
    config = Path(os.environ["JUSAGE_HOME"]) / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("sync = false\n")
    from jusage.config import _load

    _load.cache_clear()
    runner.invoke(main, ["daily"])
    assert not ledger.exists()
    runner.invoke(main, ["daily", "--log", str(other), "--sync"])
    assert other.exists() and other.stat().st_size > 0


def test_source_filters_every_report(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--source claude-code,codex keeps those agents' usage only."""
    monkeypatch.setenv("HOME", str(fresh_home(tmp_path)))
    both = orjson.loads(runner.invoke(main, ["summary", "--by", "source", "--json"]).stdout)
    everything = {row["source"]: row["totalTokens"] for row in both["summary"]}
    some = orjson.loads(
        runner.invoke(main, ["summary", "--by", "source", "--json", "--source", "claude-code,codex"]).stdout
    )
    assert {row["source"]: row["totalTokens"] for row in some["summary"]} == {
        k: v for k, v in everything.items() if k in ("claude-code", "codex")
    }
    stats = orjson.loads(runner.invoke(main, ["stats", "--json", "--source", "gemini-cli"]).stdout)
    assert stats["totals"]["total"] == everything["gemini-cli"]


def test_an_agent_that_fails_does_not_stop_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One importer's trouble is named through warn, and the other agents still sync."""
    monkeypatch.setenv("HOME", str(fresh_home(tmp_path)))
    import jusage.importers.codex as codex

    def broken(*_args: object, **_kwargs: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(codex, "import_codex", broken)
    warnings: list[str] = []
    summaries = sync_agents(tmp_path / "ledger.jsonl", warn=warnings.append)
    assert {s.source for s in summaries} == {"claude-code", "gemini-cli"}
    assert warnings == ["sync: codex skipped: disk on fire"]


def test_every_agent_has_an_importer_and_a_finder() -> None:
    """The sync's list names real functions, and each agent's source name is its importer's."""
    import importlib

    for agent in AGENTS:
        module = importlib.import_module(agent.module)
        assert callable(getattr(module, agent.importer)) and callable(getattr(module, agent.finder))
        assert agent.name == module.SOURCE
