"""The Claude Code Stop/SubagentStop hook: imports one transcript, never raises."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from jusage.hook import run_claude_hook
from jusage.importers.index import ImportIndex
from jusage.store import Store


def _line(mid: str, side: bool = False) -> bytes:
    return orjson.dumps(
        {
            "type": "assistant",
            "timestamp": "2025-09-01T10:00:00.000Z",
            "sessionId": "s1",
            "cwd": "/src/p",
            "isSidechain": side,
            "requestId": f"r-{mid}",
            "message": {
                "id": mid,
                "model": "claude-sonnet-4-20250514",
                "usage": {"input_tokens": 1, "output_tokens": 2},
            },
        }
    )


def test_the_hook_imports_the_transcript_and_its_subagents(tmp_path: Path) -> None:
    """Stop imports what is new in transcript_path and <session>/subagents/."""
    transcript = tmp_path / "projects" / "-p" / "s1.jsonl"
    (transcript.parent / "s1" / "subagents").mkdir(parents=True)
    transcript.write_bytes(_line("m1") + b"\n")
    (transcript.parent / "s1" / "subagents" / "agent-a.jsonl").write_bytes(_line("m2", True) + b"\n")
    store = Store(tmp_path / "ledger" / "events.jsonl")
    payload = orjson.dumps(
        {"session_id": "s1", "transcript_path": str(transcript), "hook_event_name": "Stop"}
    )
    message = run_claude_hook(payload, store)
    assert message == "jusage: 2 events added, 0 corrections"
    assert run_claude_hook(payload, store) == "jusage: 0 events added, 0 corrections"


def test_bad_input_gives_a_message_not_an_exception(tmp_path: Path) -> None:
    """Garbage, a non-object or a missing transcript each give one line."""
    store = Store(tmp_path / "events.jsonl")
    assert run_claude_hook(b"\xff not json", store).startswith("jusage hook: JSONDecodeError")
    assert run_claude_hook(b"[1]", store) == "jusage hook: the hook input is not a JSON object"
    missing = orjson.dumps({"transcript_path": str(tmp_path / "gone.jsonl")})
    assert run_claude_hook(missing, store) == "jusage hook: no transcript to import"


def test_a_busy_importer_makes_the_hook_give_up_quickly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While another import holds the lock, the hook returns instead of waiting long."""
    import jusage.hook as hook

    transcript = tmp_path / "t.jsonl"
    transcript.write_bytes(_line("m1") + b"\n")
    store = Store(tmp_path / "ledger" / "events.jsonl")
    monkeypatch.setattr(hook, "HOOK_LOCK_TIMEOUT", 0.05)
    with ImportIndex(store.path):
        message = run_claude_hook(orjson.dumps({"transcript_path": str(transcript)}), store)
    assert message.startswith("jusage hook: another import is running")


def test_a_line_nested_too_deep_does_not_stop_the_hook_importing(tmp_path: Path) -> None:
    """A transcript line with a tool result nested a thousand levels deep is skipped; the
    lines around it, and those the session writes later, are imported by each Stop."""
    transcript = tmp_path / "projects" / "-p" / "s1.jsonl"
    transcript.parent.mkdir(parents=True)
    deep = _line("m2")[:-1] + b',"toolUseResult":' + b"[" * 1000 + b"]" * 1000 + b"}"
    transcript.write_bytes(b"\n".join([_line("m1"), deep, _line("m3")]) + b"\n")
    store = Store(tmp_path / "ledger" / "events.jsonl")
    payload = orjson.dumps({"transcript_path": str(transcript), "hook_event_name": "Stop"})
    assert run_claude_hook(payload, store) == "jusage: 2 events added, 0 corrections"
    with transcript.open("ab") as fh:
        fh.write(_line("m4") + b"\n")
    assert run_claude_hook(payload, store) == "jusage: 1 event added, 0 corrections"
