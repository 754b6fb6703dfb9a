"""The budget gate in the hooks, run as the agents run it: a process, a payload on stdin."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest
from conftest import FIXTURES

from jusage.budgets import Budget, Scope, budgets_path, save_budgets

JUSAGE = str(Path(sys.executable).parent / "jusage")
CLAUDE_SESSION = "240a46ea-93a9-4951-826d-b2ed0603c11d"
CLAUDE_FIXTURE = FIXTURES / "claude-code" / "projects" / "-home-ada-notes" / f"{CLAUDE_SESSION}.jsonl"
CODEX_SESSION = "7de06e08-3c70-4c3b-9f40-d943915922a9"
CODEX_FIXTURE = (
    FIXTURES
    / "codex"
    / "sessions"
    / "2025"
    / "09"
    / "02"
    / f"rollout-2025-09-02T11-49-00-{CODEX_SESSION}.jsonl"
)
G = (Scope("global"),)


def hook(agent: str, payload: Any, log: Path) -> subprocess.CompletedProcess[bytes]:
    data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return subprocess.run(
        [JUSAGE, "hook", agent, "--log", str(log)], input=data, capture_output=True, timeout=60
    )


@pytest.fixture
def transcript(tmp_path: Path) -> Path:
    """A copy of a real-shaped Claude Code transcript (six messages with usage, /home/ada/notes)."""
    target = tmp_path / "claude" / "projects" / "-home-ada-notes" / CLAUDE_FIXTURE.name
    target.parent.mkdir(parents=True)
    shutil.copyfile(CLAUDE_FIXTURE, target)
    return target


@pytest.fixture
def rollout(tmp_path: Path) -> Path:
    """A copy of a real-shaped Codex rollout file."""
    target = tmp_path / "codex" / "sessions" / CODEX_FIXTURE.name
    target.parent.mkdir(parents=True)
    shutil.copyfile(CODEX_FIXTURE, target)
    return target


def claude(event: str, transcript: Path, **extra: Any) -> dict[str, Any]:
    """A Claude Code hook payload, with the fields its hooks reference documents."""
    payload: dict[str, Any] = {
        "session_id": CLAUDE_SESSION,
        "transcript_path": str(transcript),
        "cwd": "/home/ada/notes",
        "permission_mode": "default",
        "hook_event_name": event,
    }
    if event == "UserPromptSubmit":
        payload["prompt"] = "Tidy the notes index"
    if event == "PreToolUse":
        payload.update(
            tool_name="Bash",
            tool_input={"command": "ls notes/", "description": "List the notes"},
            tool_use_id="toolu_01ABC123",
        )
    if event in ("Stop", "SubagentStop"):
        payload["stop_hook_active"] = False
    payload.update(extra)
    return payload


def codex(event: str, rollout: Path, **extra: Any) -> dict[str, Any]:
    """A Codex hook payload, as codex-rs/hooks serialises it."""
    payload: dict[str, Any] = {
        "session_id": CODEX_SESSION,
        "turn_id": "turn-1",
        "transcript_path": str(rollout),
        "cwd": "/srv/build/monorepo/packages/core",
        "hook_event_name": event,
        "model": "gpt-5-codex",
        "permission_mode": "default",
    }
    if event == "UserPromptSubmit":
        payload["prompt"] = "Run the tests"
    if event == "PreToolUse":
        payload.update(tool_name="Bash", tool_input={"command": "cargo test"}, tool_use_id="call_1")
    payload.update(extra)
    return payload


def budget(name: str = "cap", scopes: tuple[Scope, ...] = G, **limits: Any) -> None:
    limits.setdefault("tokens", 1000)
    save_budgets([Budget(name, scopes, "total", **limits)], budgets_path())


def test_stop_imports_and_never_blocks(tmp_path: Path, transcript: Path) -> None:
    """Even with a used-up hard-stop budget, Stop only imports: exit 0, nothing on stdout."""
    budget(hard_stop=True)
    log = tmp_path / "ledger" / "events.jsonl"
    done = hook("claude-code", claude("Stop", transcript), log)
    assert (done.returncode, done.stdout) == (0, b"")
    assert len(log.read_bytes().splitlines()) == 6


def test_a_used_up_hard_stop_blocks_the_prompt(tmp_path: Path, transcript: Path) -> None:
    """UserPromptSubmit imports the turn that just ended first, then blocks: exit 2, reason on stderr."""
    budget(hard_stop=True)
    log = tmp_path / "ledger" / "events.jsonl"
    done = hook("claude-code", claude("UserPromptSubmit", transcript), log)
    assert done.returncode == 2
    assert done.stdout == b""
    assert done.stderr.decode().startswith('jusage: budget "cap" (global) is used up')
    assert log.is_file()  # the transcript was imported before the check


def test_a_used_up_hard_stop_denies_the_tool_call(tmp_path: Path, transcript: Path) -> None:
    """PreToolUse answers with the documented JSON denial, its reason for the model."""
    budget(hard_stop=True)
    done = hook("claude-code", claude("PreToolUse", transcript), tmp_path / "events.jsonl")
    assert done.returncode == 0
    out = orjson.loads(done.stdout)["hookSpecificOutput"]
    assert out["hookEventName"] == "PreToolUse"
    assert out["permissionDecision"] == "deny"
    assert "used up" in out["permissionDecisionReason"]


def test_budgets_of_other_projects_and_models_do_not_block(tmp_path: Path, transcript: Path) -> None:
    """Only budgets covering the session's project, agent or model (read from the transcript) count."""
    log = tmp_path / "events.jsonl"
    budget(scopes=(Scope.parse("project:/home/ada/work"),), hard_stop=True)
    assert hook("claude-code", claude("UserPromptSubmit", transcript), log).returncode == 0
    budget(scopes=(Scope.parse("model:gpt-*"),), hard_stop=True)
    assert hook("claude-code", claude("UserPromptSubmit", transcript), log).returncode == 0
    budget(scopes=(Scope.parse("model:claude-sonnet-4-5*"), Scope.parse("project:notes")), hard_stop=True)
    assert hook("claude-code", claude("UserPromptSubmit", transcript), log).returncode == 2


def test_an_alert_is_shown_once_per_budget_and_period(tmp_path: Path, transcript: Path) -> None:
    """A budget at its alert level gives one systemMessage, not one per turn."""
    budget(tokens=10**9, usd=0.01)  # no hard stop; the transcript's reported costs pass $0.01
    log = tmp_path / "events.jsonl"
    first = hook("claude-code", claude("UserPromptSubmit", transcript), log)
    assert first.returncode == 0
    assert 'budget "cap"' in orjson.loads(first.stdout)["systemMessage"]
    again = hook("claude-code", claude("PreToolUse", transcript), log)
    later = hook("claude-code", claude("UserPromptSubmit", transcript), log)
    assert (again.returncode, again.stdout, later.returncode, later.stdout) == (0, b"", 0, b"")


def test_a_changed_limit_is_announced_again(tmp_path: Path, transcript: Path) -> None:
    """Raising a limit that is still passed is news: the alert comes once more."""
    log = tmp_path / "events.jsonl"
    budget(tokens=10)
    assert b"systemMessage" in hook("claude-code", claude("UserPromptSubmit", transcript), log).stdout
    budget(tokens=20)
    assert b"systemMessage" in hook("claude-code", claude("UserPromptSubmit", transcript), log).stdout


@pytest.mark.parametrize(
    "stdin",
    [b"", b"\xff\xfe not json", b"[1, 2]", b'{"hook_event_name": 5}', b'{"hook_event_name": "PreToolUse"}'],
)
def test_garbage_on_stdin_never_blocks(tmp_path: Path, stdin: bytes) -> None:
    """Whatever arrives, the hook exits 0 with nothing on stdout."""
    budget(hard_stop=True)
    done = hook("claude-code", stdin, tmp_path / "events.jsonl")
    assert (done.returncode, done.stdout) == (0, b"")


def test_an_internal_error_fails_open_with_one_line(tmp_path: Path, transcript: Path) -> None:
    """A broken budgets file: exit 0, nothing on stdout, one line on stderr, never a block."""
    budgets_path().parent.mkdir(parents=True, exist_ok=True)
    budgets_path().write_text("[budgets.cap]\nperiod = 'daily'\nusd = 'lots'\n")
    done = hook("claude-code", claude("UserPromptSubmit", transcript), tmp_path / "events.jsonl")
    assert (done.returncode, done.stdout) == (0, b"")
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jusage hook: BudgetError")


def test_an_unreadable_ledger_fails_open(tmp_path: Path, transcript: Path) -> None:
    """A ledger path that is a folder: the hook says so on stderr and lets the agent go on."""
    budget(hard_stop=True)
    folder = tmp_path / "ledger"
    folder.mkdir()
    done = hook("claude-code", claude("PreToolUse", transcript), folder)
    assert (done.returncode, done.stdout) == (0, b"")
    assert done.stderr.startswith(b"jusage hook:")


def test_codex_is_blocked_and_denied_the_same_way(tmp_path: Path, rollout: Path) -> None:
    """The Codex hook imports the session's rollout, then blocks the prompt and denies tools."""
    budget(scopes=(Scope.parse("source:codex"), Scope.parse("model:gpt-5*")), hard_stop=True)
    log = tmp_path / "events.jsonl"
    stop = hook("codex", codex("Stop", rollout), log)
    assert (stop.returncode, stop.stdout) == (0, b"")
    prompt = hook("codex", codex("UserPromptSubmit", rollout), log)
    assert prompt.returncode == 2
    assert prompt.stderr.decode().startswith('jusage: budget "cap"')
    tool = hook("codex", codex("PreToolUse", rollout), log)
    assert orjson.loads(tool.stdout)["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_codex_alerts_once(tmp_path: Path, rollout: Path) -> None:
    """A Codex session at a budget's alert level sees one systemMessage."""
    budget(tokens=10)
    log = tmp_path / "events.jsonl"
    first = hook("codex", codex("UserPromptSubmit", rollout), log)
    assert first.returncode == 0 and "systemMessage" in orjson.loads(first.stdout)
    assert hook("codex", codex("UserPromptSubmit", rollout), log).stdout == b""


def test_without_budgets_the_hook_only_imports(tmp_path: Path, transcript: Path) -> None:
    """No budgets.toml: every event imports and answers nothing."""
    log = tmp_path / "events.jsonl"
    for event in ("UserPromptSubmit", "PreToolUse", "Stop"):
        done = hook("claude-code", claude(event, transcript), log)
        assert (done.returncode, done.stdout) == (0, b"")
    assert len(log.read_bytes().splitlines()) == 6
