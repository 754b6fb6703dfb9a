"""Every importer as a door that records come in by: how to write a history holding given lines,
a good record to surround hostile ones with, and where its timestamp, cost and counts sit.

The hostile-input tests (``test_import_hostile.py``) run the same checks through every door."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from jusage import importers
from jusage.importers import ImportSummary
from jusage.store import Store

Importer = Callable[..., ImportSummary]

TS = "2025-09-01T10:00:05.000Z"
TS_MS = 1_756_720_805_000


ISO_OUTSIDE = (b'"1969-12-31T23:59:59Z"', b'"0001-01-01T00:00:00Z"', b'"9999-12-31T23:59:59-12:00"')
"""ISO 8601 times outside 1970-9999 in UTC (the last is in the year 10000 there)."""


@dataclass(frozen=True)
class Door:
    """One importer and the shape of its records.

    ``good(i)`` is the i-th of as many distinct good records as wanted; ``write(folder,
    lines)`` writes a history holding ``lines`` (each one record, any bytes) below ``folder``
    and returns the path to import; ``ts``, ``cost`` and ``counts`` are where a record holds
    its time, its reported cost (``None``: the agent reports none) and two token counts;
    ``bad_ts`` are times (JSON text) outside 1970-9999 in the door's own form.
    ``lines_are_records`` is false for a door whose history is one JSON document (a record
    must then be JSON for the others to be read at all).
    """

    source: str
    importer: Importer
    good: Callable[[int], dict[str, Any]]
    write: Callable[[Path, list[bytes]], Path]
    ts: tuple[str, ...]
    counts: tuple[tuple[str, ...], tuple[str, ...]]
    cost: tuple[str, ...] | None = None
    lines_are_records: bool = True
    bad_ts: tuple[bytes, ...] = ISO_OUTSIDE

    def run(self, ledger: Path, path: Path) -> ImportSummary:
        """Import ``path`` into the ledger at ``ledger``."""
        return self.importer(Store(ledger), [path])


def dump(value: Any) -> bytes:
    """``value`` as the standard library writes it: integers of any size, NaN and Infinity."""
    return json.dumps(value).encode()


def _jsonl(relative: str, *head: dict[str, Any]) -> Callable[[Path, list[bytes]], Path]:
    def write(folder: Path, lines: list[bytes]) -> Path:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(line + b"\n" for line in [*map(dump, head), *lines]))
        return folder

    return write


def _claude(i: int) -> dict[str, Any]:
    return {
        "type": "assistant",
        "timestamp": f"2025-09-01T10:00:{i:02d}.000Z",
        "sessionId": "s1",
        "cwd": "/src/p",
        "isSidechain": False,
        "uuid": f"u{i}",
        "requestId": f"req_{i}",
        "costUSD": 0.01 * (i + 1),
        "message": {
            "id": f"msg_{i}",
            "model": "claude-sonnet-4-20250514",
            "usage": {"input_tokens": 10 + i, "output_tokens": 5 + i, "cache_read_input_tokens": 100},
        },
    }


def _codex(i: int) -> dict[str, Any]:
    last = {
        "input_tokens": 500 + i,
        "cached_input_tokens": 400,
        "output_tokens": 30 + i,
        "reasoning_output_tokens": 10,
        "total_tokens": 530 + 2 * i,
    }
    total = {key: value * (i + 1) for key, value in last.items()}
    return {
        "timestamp": f"2025-09-01T10:00:{i:02d}.000Z",
        "type": "event_msg",
        "payload": {"type": "token_count", "info": {"total_token_usage": total, "last_token_usage": last}},
    }


_CODEX_HEAD = (
    {"timestamp": TS, "type": "session_meta", "payload": {"id": "0199a213-81c0-7800-8aa1-bbab2a035a53"}},
    {"timestamp": TS, "type": "turn_context", "payload": {"model": "gpt-5-codex", "cwd": "/src/p"}},
)


def _jcode(i: int) -> dict[str, Any]:
    return {"ts": 1_756_720_800 + i, "model": "gpt-5", "prompt": 100 + i, "completion": 7, "id": f"j{i}"}


def _jcode_write(folder: Path, lines: list[bytes]) -> Path:
    path = folder / "events.jsonl"
    folder.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def _gemini(i: int) -> dict[str, Any]:
    return {
        "id": f"m-{i}",
        "timestamp": f"2025-09-01T10:00:{i:02d}.000Z",
        "type": "gemini",
        "model": "gemini-2.5-pro",
        "tokens": {
            "input": 1000 + i,
            "output": 50,
            "cached": 600,
            "thoughts": 30,
            "tool": 0,
            "total": 1080 + i,
        },
    }


_GEMINI_HEAD = {"sessionId": "s-1", "projectHash": "ab12", "startTime": TS}


def _qwen(i: int) -> dict[str, Any]:
    return {
        "uuid": f"r-{i}",
        "sessionId": "s-1",
        "timestamp": f"2025-09-01T10:00:{i:02d}.000Z",
        "type": "assistant",
        "cwd": "/src/p",
        "model": "qwen3-coder-plus",
        "usageMetadata": {
            "promptTokenCount": 1000 + i,
            "candidatesTokenCount": 200,
            "cachedContentTokenCount": 600,
            "totalTokenCount": 1200 + i,
        },
    }


def _copilot(i: int) -> dict[str, Any]:
    return {
        "type": "span",
        "traceId": "0" * 31 + "1",
        "spanId": f"{i:016x}",
        "name": "chat gpt-5",
        "startTime": [1_756_720_800 + i, 0],
        "endTime": [1_756_720_805 + i, 0],
        "attributes": {
            "gen_ai.operation.name": "chat",
            "gen_ai.response.model": "gpt-5",
            "gen_ai.usage.input_tokens": 1000 + i,
            "gen_ai.usage.output_tokens": 300,
        },
    }


def _amp(i: int) -> dict[str, Any]:
    return {
        "role": "assistant",
        "messageId": i,
        "usage": {
            "model": "claude-haiku-4-5-20251001",
            "inputTokens": 10 + i,
            "outputTokens": 178,
            "cacheReadInputTokens": 1000,
            "timestamp": f"2026-01-19T11:42:{i:02d}.652Z",
        },
    }


def _amp_write(folder: Path, lines: list[bytes]) -> Path:
    threads = folder / "threads"
    threads.mkdir(parents=True, exist_ok=True)
    doc = b'{"id": "T-1", "created": 1768822930000, "messages": [' + b", ".join(lines) + b"]}"
    (threads / "T-1.json").write_bytes(doc)
    return folder


def _opencode(i: int) -> dict[str, Any]:
    return {
        "role": "assistant",
        "time": {"created": TS_MS + i},
        "modelID": "claude-sonnet-4-20250514",
        "providerID": "anthropic",
        "cost": 0.01 * (i + 1),
        "tokens": {"input": 100 + i, "output": 50, "reasoning": 0, "cache": {"read": 4000, "write": 0}},
    }


def _opencode_write(folder: Path, lines: list[bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(folder / "opencode.db", isolation_level=None)
    db.execute(
        "CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL,"
        " time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL)"
    )
    for n, line in enumerate(lines):
        db.execute(
            "INSERT INTO message VALUES (?, 'ses_1', ?, ?, ?)",
            (f"msg_{n}", TS_MS, TS_MS, line.decode("utf-8", "replace")),
        )
    db.close()
    return folder


DOORS = {
    door.source: door
    for door in (
        Door(
            "claude-code",
            partial(importers.import_claude_code, workers=1),
            _claude,
            _jsonl("projects/-src-p/s1.jsonl"),
            ("timestamp",),
            (("message", "usage", "input_tokens"), ("message", "usage", "output_tokens")),
            cost=("costUSD",),
        ),
        Door(
            "codex",
            importers.import_codex,
            _codex,
            _jsonl("sessions/2025/09/01/rollout-2025-09-01T10-00-00-s1.jsonl", *_CODEX_HEAD),
            ("timestamp",),
            (
                ("payload", "info", "last_token_usage", "input_tokens"),
                ("payload", "info", "last_token_usage", "output_tokens"),
            ),
        ),
        Door(
            "jcode",
            importers.import_jcode,
            _jcode,
            _jcode_write,
            ("ts",),
            (("prompt",), ("completion",)),
            cost=("cost_usd",),
            bad_ts=(b"-1", b"253402300800", b"1e300"),
        ),
        Door(
            "gemini-cli",
            importers.import_gemini_cli,
            _gemini,
            _jsonl("tmp/p/chats/session-2025-09-01T10-00-s1.jsonl", _GEMINI_HEAD),
            ("timestamp",),
            (("tokens", "input"), ("tokens", "output")),
        ),
        Door(
            "qwen-code",
            importers.import_qwen_code,
            _qwen,
            _jsonl("projects/-src-p/chats/s-1.jsonl"),
            ("timestamp",),
            (("usageMetadata", "promptTokenCount"), ("usageMetadata", "candidatesTokenCount")),
        ),
        Door(
            "copilot-cli",
            importers.import_copilot_cli,
            _copilot,
            _jsonl("otel/copilot.jsonl"),
            ("endTime",),
            (("attributes", "gen_ai.usage.input_tokens"), ("attributes", "gen_ai.usage.output_tokens")),
            bad_ts=(b"[-1, 0]", b"[253402300800, 0]", b'"0001-01-01T00:00:00Z"'),
        ),
        Door(
            "amp",
            importers.import_amp,
            _amp,
            _amp_write,
            ("usage", "timestamp"),
            (("usage", "inputTokens"), ("usage", "outputTokens")),
            lines_are_records=False,
        ),
        Door(
            "opencode",
            importers.import_opencode,
            _opencode,
            _opencode_write,
            ("time", "created"),
            (("tokens", "input"), ("tokens", "output")),
            cost=("cost",),
            bad_ts=(b"-1", b"253402300800000"),
        ),
    )
}
"""Every importer's door, by source."""


def set_path(value: dict[str, Any], path: tuple[str, ...], new: Any) -> dict[str, Any]:
    """A copy of ``value`` with ``new`` at ``path`` (objects made on the way)."""
    out: dict[str, Any] = json.loads(json.dumps(value))
    target = out
    for part in path[:-1]:
        target = target.setdefault(part, {})
    target[path[-1]] = new
    return out


def with_raw(value: dict[str, Any], path: tuple[str, ...], raw: bytes) -> bytes:
    """The line of ``value`` with the JSON text ``raw`` at ``path``, written as it is: a value
    nested past what any encoder would write, a NaN literal, a number of any size."""
    return with_raws(value, [(path, raw)])


def with_raws(value: dict[str, Any], changes: list[tuple[tuple[str, ...], bytes]]) -> bytes:
    """The line of ``value`` with each ``(path, raw)`` of ``changes`` written in (see
    :func:`with_raw`; a later change to the same path wins)."""
    for n, (path, _) in enumerate(changes):
        value = set_path(value, path, f"\u2603jusage-raw-{n}\u2603")
    line = dump(value)
    for n, (_, raw) in enumerate(changes):
        line = line.replace(dump(f"\u2603jusage-raw-{n}\u2603"), raw)
    return line


def deep_bytes(depth: int) -> bytes:
    """A JSON array nested ``depth`` levels deep, as text (encoders recurse, and stop)."""
    return b"[" * depth + b"]" * depth
