#!/usr/bin/env python3
"""Generate realistic, deterministic Claude Code, Codex and jcode session trees.

The output mimics what the tools write on disk, including the awkward parts an importer
must get right:

Claude Code (``<out>/claude/projects/<encoded-cwd>/<sessionId>.jsonl``)
  several projects and sessions over weeks, several models, prompt caching with 5-minute
  and 1-hour writes, streaming (one line per content block of a message, the same
  ``message.id`` + ``requestId`` repeated with growing ``output_tokens``), sidechains in the
  main file, subagent transcripts in ``<sessionId>/subagents/agent-*.jsonl`` mirrored by
  ``progress`` lines in the parent, resumed sessions whose new file starts with a copy of
  the earlier history, lines without usage (user, tool results, summaries), ``<synthetic>``
  messages, malformed lines and turns a few seconds either side of midnight UTC.

Codex (``<out>/codex/sessions/YYYY/MM/DD/rollout-*.jsonl`` and ``archived_sessions/``)
  ``session_meta`` / ``turn_context`` / ``response_item`` / ``event_msg`` lines, ``token_count``
  events with ``last_token_usage`` and cumulative ``total_token_usage`` (sometimes only the
  cumulative one), re-emitted counters, ``info: null`` heartbeats, model switches, forked
  and subagent sessions that replay their parent's history (times rewritten), copies of a
  parent's lines without fork metadata (times kept: a branch, a goal rollout, a file without
  ``session_meta``), sessions that write numeric timestamps (epoch milliseconds), and older
  copies of live sessions under ``archived_sessions/`` at the same relative path. It writes
  ``expected.json``, the totals an exactly-once import must find.

jcode (``<out>/jcode/events.jsonl``)
  lines in jusage's own event format.

Gemini CLI, OpenCode, Qwen Code, Amp and Copilot CLI (``<out>/gemini``, ``opencode``,
``qwen``, ``amp``, ``copilot``)
  see ``gen_agents.py``, which holds their generators; each also writes ``expected.json``,
  the totals an exactly-once import of its tree must find.

Usage::

    python scripts/gen_transcripts.py --out /tmp/tree --entries 5000
    python scripts/gen_transcripts.py --out /tmp/big --entries 1000000 --kind claude
    python scripts/gen_transcripts.py --out /tmp/big --append 1000 --kind claude
    python scripts/gen_transcripts.py --out /tmp/cc --no-streaming --no-malformed

``--entries`` is the number of Claude Code lines that carry usage (and of Codex
``token_count`` events); ``--append N`` adds N usage lines to an existing tree (continuing
the newest sessions and starting a new one), as a day of work would.
"""

from __future__ import annotations

import argparse
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

CLAUDE_MODELS = [
    ("claude-sonnet-4-20250514", 0.45),
    ("claude-sonnet-4-5-20250929", 0.25),
    ("claude-opus-4-1-20250805", 0.15),
    ("claude-3-5-haiku-20241022", 0.15),
]
CODEX_MODELS = ["gpt-5-codex", "gpt-5", "gpt-5.1-codex-max"]
PROJECTS = [
    "/home/ada/src/ledger",
    "/home/ada/src/web.app",
    "/home/ada/work/billing-service",
    "/home/ada/work/infra",
    "/home/ada/notes",
    "/srv/build/monorepo/packages/core",
]
WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "with",
    "was",
    "on",
    "be",
    "by",
    "this",
    "are",
    "or",
    "from",
    "at",
    "an",
    "which",
    "function",
    "return",
    "value",
    "error",
    "file",
    "test",
    "import",
    "class",
    "module",
    "config",
    "cache",
    "token",
    "usage",
    "session",
    "request",
    "response",
    "parse",
    "build",
    "run",
    "check",
    "fix",
    "update",
    "refactor",
    "module",
    "handler",
]
START = datetime(2025, 9, 1, 8, 0, tzinfo=UTC)


def dumps(value: Any) -> bytes:
    # Claude Code and Codex write compact JSON (``JSON.stringify`` / serde), one object a line.
    return orjson.dumps(value)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Rand(random.Random):
    def text(self, lo: int, hi: int) -> str:
        return " ".join(self.choice(WORDS) for _ in range(self.randint(lo, hi)))

    def uid(self) -> str:
        return str(uuid.UUID(int=self.getrandbits(128), version=4))

    def ident(self, prefix: str, n: int = 24) -> str:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789"
        return prefix + "".join(self.choice(alphabet) for _ in range(n))

    def model(self) -> str:
        x = self.random()
        for name, weight in CLAUDE_MODELS:
            x -= weight
            if x <= 0:
                return name
        return CLAUDE_MODELS[0][0]


# -- Claude Code -------------------------------------------------------------------------------


def encode_cwd(cwd: str) -> str:
    return "".join(c if c.isalnum() or c == "-" else "-" for c in cwd)


@dataclass
class ClaudeSession:
    session_id: str
    cwd: str
    path: Path
    clock: datetime
    lines: list[bytes] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)
    parent_uuid: str | None = None
    cache_tokens: int = 0
    model: str = ""


class ClaudeGen:
    def __init__(self, root: Path, rnd: Rand, *, streaming: bool, malformed: bool) -> None:
        self.root = root
        self.rnd = rnd
        self.streaming = streaming
        self.malformed = malformed
        self.usage_lines = 0

    def base(self, s: ClaudeSession, kind: str, *, sidechain: bool = False) -> dict[str, Any]:
        line_uuid = self.rnd.uid()
        out = {
            "parentUuid": s.parent_uuid,
            "isSidechain": sidechain,
            "userType": "external",
            "cwd": s.cwd,
            "sessionId": s.session_id,
            "version": "1.0.98",
            "gitBranch": "main",
            "type": kind,
            "uuid": line_uuid,
            "timestamp": iso(s.clock),
        }
        s.parent_uuid = line_uuid
        return out

    def user_line(self, s: ClaudeSession, *, sidechain: bool = False) -> dict[str, Any]:
        line = self.base(s, "user", sidechain=sidechain)
        if self.rnd.random() < 0.5:
            line["message"] = {"role": "user", "content": self.rnd.text(5, 40)}
        else:
            line["message"] = {
                "role": "user",
                "content": [
                    {
                        "tool_use_id": self.rnd.ident("toolu_"),
                        "type": "tool_result",
                        "content": self.rnd.text(20, 300),
                        "is_error": False,
                    }
                ],
            }
            line["toolUseResult"] = {
                "stdout": self.rnd.text(10, 200),
                "stderr": "",
                "interrupted": False,
            }
        return line

    def usage(self, s: ClaudeSession) -> dict[str, Any]:
        rnd = self.rnd
        fresh = rnd.randint(1, 60) if rnd.random() < 0.8 else rnd.randint(200, 6000)
        write = 0 if rnd.random() < 0.3 else rnd.randint(100, 9000)
        read = s.cache_tokens if rnd.random() < 0.9 else 0
        s.cache_tokens = min(s.cache_tokens + write, 180_000)
        one_hour = write if rnd.random() < 0.2 else (write // 3 if rnd.random() < 0.1 else 0)
        usage: dict[str, Any] = {
            "input_tokens": fresh,
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
            "output_tokens": rnd.randint(1, 2500),
        }
        if rnd.random() < 0.85:
            usage["cache_creation"] = {
                "ephemeral_5m_input_tokens": write - one_hour,
                "ephemeral_1h_input_tokens": one_hour,
            }
            usage["service_tier"] = "standard"
        return usage

    def assistant_message(
        self, s: ClaudeSession, *, sidechain: bool = False, agent_id: str | None = None
    ) -> list[dict[str, Any]]:
        """One API response: one line per content block, all with the same ids."""
        rnd = self.rnd
        model = s.model or rnd.model()
        msg_id = rnd.ident("msg_01")
        req_id = rnd.ident("req_011C")
        usage = self.usage(s)
        blocks = rnd.choice([1, 1, 2, 2, 3])
        final_out = usage["output_tokens"]
        out = []
        for i in range(blocks):
            line = self.base(s, "assistant", sidechain=sidechain)
            if agent_id:
                line["agentId"] = agent_id
            u = dict(usage)
            if self.streaming and i < blocks - 1:
                # Streaming: earlier blocks carry the output count so far, the last the total.
                u["output_tokens"] = max(1, final_out * (i + 1) // (blocks + 1))
            if rnd.random() < 0.5:
                content = [{"type": "text", "text": rnd.text(5, 80)}]
            else:
                content = [
                    {
                        "type": "tool_use",
                        "id": rnd.ident("toolu_"),
                        "name": rnd.choice(["Bash", "Read", "Edit", "Grep"]),
                        "input": {"command": rnd.text(2, 12)},
                    }
                ]
            line["message"] = {
                "id": msg_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content,
                "stop_reason": "tool_use" if i == blocks - 1 else None,
                "stop_sequence": None,
                "usage": u,
            }
            line["requestId"] = req_id
            if rnd.random() < 0.05:
                line["costUSD"] = round(rnd.random() / 10, 6)
            out.append(line)
            s.clock += timedelta(milliseconds=rnd.randint(20, 900))
        return out

    def write_line(self, s: ClaudeSession, line: dict[str, Any], *, keep: bool = True) -> None:
        s.lines.append(dumps(line))
        if "usage" in line.get("message", {}):
            self.usage_lines += 1
        if keep:
            s.history.append(line)

    def session(
        self, cwd: str, clock: datetime, n_usage: int, resume_from: ClaudeSession | None = None
    ) -> ClaudeSession:
        rnd = self.rnd
        sid = rnd.uid()
        folder = self.root / "projects" / encode_cwd(cwd)
        s = ClaudeSession(sid, cwd, folder / f"{sid}.jsonl", clock)
        s.model = rnd.model()
        if resume_from is not None:
            # A resumed session starts with a copy of the earlier conversation, rewritten to
            # the new session id; the copied usage lines must not count twice.
            for old in resume_from.history:
                copy = dict(old)
                copy["sessionId"] = sid
                self.write_line(s, copy)
            s.cache_tokens = resume_from.cache_tokens
            s.clock = max(s.clock, resume_from.clock + timedelta(minutes=5))
        if rnd.random() < 0.3:
            s.lines.append(dumps({"type": "summary", "summary": rnd.text(3, 8), "leafUuid": rnd.uid()}))
        made = 0
        while made < n_usage:
            self.write_line(s, self.user_line(s))
            s.clock += timedelta(seconds=rnd.randint(1, 40))
            roll = rnd.random()
            if roll < 0.04 and made + 4 < n_usage:
                made += self.subagent(s)
                continue
            if roll < 0.08:
                # An old-style sidechain turn written into the main file.
                for line in self.assistant_message(s, sidechain=True):
                    self.write_line(s, line)
                    made += 1
                continue
            if roll < 0.10:
                line = self.base(s, "assistant")
                line["message"] = {
                    "id": rnd.uid(),
                    "model": "<synthetic>",
                    "role": "assistant",
                    "type": "message",
                    "content": [{"type": "text", "text": "No response requested."}],
                    "usage": {
                        "input_tokens": 0,
                        "output_tokens": 0,
                        "cache_creation_input_tokens": 0,
                        "cache_read_input_tokens": 0,
                    },
                }
                self.write_line(s, line)
                made += 1
                continue
            if roll < 0.12:
                s.model = rnd.model()
            for line in self.assistant_message(s):
                self.write_line(s, line)
                made += 1
            if self.malformed and rnd.random() < 0.004:
                s.lines.append(
                    rnd.choice(
                        [
                            b'{"type":"assistant","message":{"id":"msg_trunc',
                            b"\x00\xff\xfe garbage \xc3\x28",
                            b"[1,2,",
                        ]
                    )
                )
            s.clock += timedelta(seconds=rnd.randint(5, 240))
        return s

    def subagent(self, s: ClaudeSession) -> int:
        """A Task subagent: its own transcript, mirrored by ``progress`` lines in the parent."""
        rnd = self.rnd
        agent_id = rnd.ident("", 8).lower()
        path = s.path.parent / s.session_id / "subagents" / f"agent-{agent_id}.jsonl"
        sub = ClaudeSession(s.session_id, s.cwd, path, s.clock)
        sub.model = rnd.choice(["claude-3-5-haiku-20241022", "claude-sonnet-4-20250514"])
        made = 0
        for _ in range(rnd.randint(1, 3)):
            self.write_line(sub, self.user_line(sub, sidechain=True), keep=False)
            for line in self.assistant_message(sub, sidechain=True, agent_id=agent_id):
                self.write_line(sub, line, keep=False)
                made += 1
                if rnd.random() < 0.5:
                    prog = self.base(s, "progress")
                    prog["data"] = {
                        "type": "agent_progress",
                        "agentId": agent_id,
                        "message": {
                            "type": "assistant",
                            "message": line["message"],
                            "requestId": line["requestId"],
                            "timestamp": line["timestamp"],
                            "isSidechain": True,
                            "uuid": line["uuid"],
                        },
                    }
                    s.lines.append(dumps(prog))
        s.clock = max(s.clock, sub.clock)
        self.flush(sub)
        return made

    def flush(self, s: ClaudeSession) -> None:
        s.path.parent.mkdir(parents=True, exist_ok=True)
        with s.path.open("ab") as fh:
            fh.write(b"".join(line + b"\n" for line in s.lines))
        s.lines.clear()

    def tree(self, entries: int, days: int) -> None:
        rnd = self.rnd
        per_session = max(4, min(400, entries // 40))
        sessions: list[ClaudeSession] = []
        day = 0
        while self.usage_lines < entries:
            remaining = entries - self.usage_lines
            n = min(remaining, rnd.randint(max(1, per_session // 3), per_session * 2))
            # Start some sessions shortly before midnight UTC so turns straddle the day.
            if rnd.random() < 0.1:
                clock = START + timedelta(days=day, hours=15, minutes=59, seconds=rnd.randint(0, 50))
            else:
                clock = START + timedelta(days=day, minutes=rnd.randint(0, 14 * 60))
            resume = rnd.choice(sessions) if sessions and rnd.random() < 0.08 else None
            cwd = resume.cwd if resume else rnd.choice(PROJECTS)
            s = self.session(cwd, clock, n, resume)
            if self.malformed and rnd.random() < 0.02 and s.lines:
                s.lines.insert(rnd.randrange(len(s.lines)), b"\xff\xfe\x00binary\x80garbage")
            self.flush(s)
            sessions.append(s)
            if len(sessions) > 50:
                sessions.pop(0)
            day = rnd.randrange(days)

        if self.malformed:
            folder = self.root / "projects" / encode_cwd(PROJECTS[0])
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "broken-binary.jsonl").write_bytes(bytes(rnd.getrandbits(8) for _ in range(4096)))
            midnight = datetime(2025, 9, 3, tzinfo=UTC)
            s = ClaudeSession(
                rnd.uid(),
                PROJECTS[1],
                folder / "midnight.jsonl",
                midnight - timedelta(milliseconds=1),
            )
            s.model = "claude-sonnet-4-20250514"
            for line in self.assistant_message(s):
                line["timestamp"] = iso(midnight - timedelta(milliseconds=1))
                self.write_line(s, line)
            for line in self.assistant_message(s):
                line["timestamp"] = iso(midnight)
                self.write_line(s, line)
            s.lines.append(b'{"type":"user","message":{"role":"user","content":"' + b"x" * 200_000 + b'"}}')
            s.lines.append(b'{"bad utf8":"\xc3\x28"}')
            self.flush(s)

    def append(self, entries: int) -> None:
        """Continue the newest session files and start one new session: a day of work."""
        rnd = self.rnd
        files = sorted((self.root / "projects").glob("*/*.jsonl"), key=lambda p: p.stat().st_mtime)
        files = [f for f in files if f.stem.count("-") == 4][-3:]
        clock = START + timedelta(days=120)
        targets: list[ClaudeSession] = []
        for path in files:
            first = orjson.loads(path.open("rb").readline())
            s = ClaudeSession(path.stem, first.get("cwd", PROJECTS[0]), path, clock)
            s.model = rnd.model()
            targets.append(s)
        goal = self.usage_lines + entries
        for s in targets:
            share = (goal - self.usage_lines) // 2
            while self.usage_lines < goal and share > 0:
                before = self.usage_lines
                self.write_line(s, self.user_line(s), keep=False)
                for line in self.assistant_message(s):
                    self.write_line(s, line, keep=False)
                share -= self.usage_lines - before
            self.flush(s)
        if self.usage_lines < goal:
            s = self.session(rnd.choice(PROJECTS), clock + timedelta(hours=3), goal - self.usage_lines)
            self.flush(s)


# -- Codex -------------------------------------------------------------------------------------


@dataclass
class CodexSession:
    session_id: str
    path: Path
    clock: datetime
    cwd: str
    lines: list[bytes] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOTAL_KEYS, 0))
    model: str = "gpt-5-codex"
    events: list[bytes] = field(default_factory=list)  # replayable history (lines)
    numeric: bool = False  # timestamps written as epoch milliseconds


TOTAL_KEYS = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_output_tokens",
    "total_tokens",
)


class CodexGen:
    def __init__(self, root: Path, rnd: Rand, *, malformed: bool) -> None:
        self.root = root
        self.rnd = rnd
        self.malformed = malformed
        self.token_events = 0
        self.expected = {
            "prompt": 0,
            "completion": 0,
            "cached": 0,
            "cache_write": 0,
            "reasoning": 0,
            "events": 0,
        }

    def path_for(self, clock: datetime, sid: str, archived: bool) -> Path:
        name = f"rollout-{clock.strftime('%Y-%m-%dT%H-%M-%S')}-{sid}.jsonl"
        if archived:
            return self.root / "archived_sessions" / name
        return self.root / "sessions" / clock.strftime("%Y/%m/%d") / name

    def line(self, s: CodexSession, kind: str, payload: dict[str, Any], *, history: bool = True) -> None:
        stamp: Any = int(s.clock.timestamp() * 1000) if s.numeric else iso(s.clock)
        raw = dumps({"timestamp": stamp, "type": kind, "payload": payload})
        s.lines.append(raw)
        if history:
            s.events.append(raw)

    def turn(self, s: CodexSession, *, last_usage: bool = True) -> None:
        rnd = self.rnd
        if rnd.random() < 0.1:
            s.model = rnd.choice(CODEX_MODELS)
        self.line(
            s,
            "turn_context",
            {
                "cwd": s.cwd,
                "approval_policy": "on-request",
                "sandbox_policy": {"mode": "workspace-write"},
                "model": s.model,
                "effort": "medium",
                "summary": "auto",
            },
        )
        self.line(s, "event_msg", {"type": "user_message", "message": rnd.text(4, 30), "kind": "plain"})
        self.line(
            s,
            "response_item",
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": rnd.text(4, 30)}],
            },
        )
        s.clock += timedelta(seconds=rnd.randint(1, 30))
        self.line(s, "event_msg", {"type": "token_count", "info": None, "rate_limits": None})
        prompt = rnd.randint(2000, 60000)
        cached = rnd.randint(0, prompt) if rnd.random() < 0.8 else 0
        out = rnd.randint(10, 4000)
        reasoning = rnd.randint(0, out)
        last = {
            "input_tokens": prompt,
            "cached_input_tokens": cached,
            "output_tokens": out,
            "reasoning_output_tokens": reasoning,
            "total_tokens": prompt + out,
        }
        for k in TOTAL_KEYS:
            s.totals[k] += last[k]
        for name, value in (
            ("prompt", prompt),
            ("completion", out),
            ("cached", cached),
            ("reasoning", reasoning),
        ):
            self.expected[name] += value
        self.expected["events"] += 1
        info: dict[str, Any] = {"total_token_usage": dict(s.totals), "model_context_window": 272000}
        if last_usage:
            info["last_token_usage"] = last
        rate = {"primary": {"used_percent": 7.0, "window_minutes": 300, "resets_at": 1763483205}}
        self.line(s, "event_msg", {"type": "token_count", "info": info, "rate_limits": rate})
        self.token_events += 1
        self.line(
            s,
            "response_item",
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": rnd.text(5, 60)}],
            },
        )
        if rnd.random() < 0.15:
            # Codex re-emits the same counters (e.g. after a rate-limit update).
            s.clock += timedelta(milliseconds=300)
            self.line(s, "event_msg", {"type": "token_count", "info": info, "rate_limits": rate})
        s.clock += timedelta(seconds=rnd.randint(10, 300))

    def session(
        self,
        clock: datetime,
        n: int,
        *,
        parent: CodexSession | None = None,
        subagent: bool = False,
        copy: bool = False,
    ) -> CodexSession:
        """A session of ``n`` turns; with a ``parent``, a fork (a subagent's when
        ``subagent``) replaying its history, or with ``copy`` a file that copies the parent's
        lines as they are and says nothing of it."""
        rnd = self.rnd
        sid = rnd.uid()
        archived = rnd.random() < 0.15
        s = CodexSession(sid, self.path_for(clock, sid, archived), clock, rnd.choice(PROJECTS))
        s.numeric = rnd.random() < 0.1
        meta: dict[str, Any] = {
            "id": sid,
            "timestamp": iso(clock),
            "cwd": s.cwd,
            "originator": "codex_cli_rs",
            "cli_version": "0.58.0",
            "instructions": None,
            "source": "cli",
            "model_provider": "openai",
        }
        if copy and parent is not None:
            s.cwd = meta["cwd"] = parent.cwd
            if rnd.random() < 0.5:
                meta["source"] = "exec"  # a goal rollout's copy; else a branch without metadata
            if rnd.random() < 0.7:
                self.line(s, "session_meta", meta, history=False)
            s.lines += parent.events
            s.events += parent.events
            s.totals = dict(parent.totals)
            s.model = parent.model
            s.clock = max(clock, parent.clock) + timedelta(seconds=rnd.randint(6, 15))
        elif parent is not None:
            s.cwd = meta["cwd"] = parent.cwd
            if subagent:
                meta["source"] = {
                    "subagent": {"thread_spawn": {"parent_thread_id": parent.session_id, "depth": 1}}
                }
            else:
                meta["forked_from_id"] = parent.session_id
        if not copy:
            self.line(s, "session_meta", meta, history=False)
        if parent is not None and not copy:
            # The child replays the parent's history, rewritten to the fork instant.
            stamp = iso(clock)
            for raw in parent.events:
                value = orjson.loads(raw)
                value["timestamp"] = stamp
                s.lines.append(dumps(value))
                s.events.append(dumps(value))
            s.totals = dict(parent.totals)
            s.model = parent.model
            s.clock = clock + timedelta(seconds=rnd.randint(6, 15))
        legacy = rnd.random() < 0.1
        for _ in range(n):
            self.turn(s, last_usage=not legacy)
        if self.malformed and rnd.random() < 0.05:
            s.lines.insert(rnd.randrange(1, len(s.lines)), b'{"timestamp":"2025-09-0')
        s.path.parent.mkdir(parents=True, exist_ok=True)
        s.path.write_bytes(b"".join(line + b"\n" for line in s.lines))
        if not archived and rnd.random() < 0.05:
            # An older state of the session archived at the same relative path.
            old = self.root / "archived_sessions" / s.path.relative_to(self.root / "sessions")
            old.parent.mkdir(parents=True, exist_ok=True)
            old.write_bytes(b"".join(line + b"\n" for line in s.lines[: len(s.lines) // 2]))
        return s

    def tree(self, entries: int, days: int) -> None:
        rnd = self.rnd
        recent: list[CodexSession] = []
        while self.token_events < entries:
            clock = START + timedelta(days=rnd.randrange(days), minutes=rnd.randint(0, 16 * 60 + 50))
            n = min(entries - self.token_events, rnd.randint(1, 25))
            parent = rnd.choice(recent) if recent and rnd.random() < 0.2 else None
            when = parent.clock + timedelta(minutes=rnd.randint(1, 90)) if parent else clock
            kind = rnd.random()
            s = self.session(
                when,
                n,
                parent=parent,
                subagent=bool(parent) and kind < 0.4,
                copy=bool(parent) and kind >= 0.7,
            )
            recent = [*recent[-20:], s]
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "expected.json").write_bytes(
            orjson.dumps(self.expected, option=orjson.OPT_INDENT_2) + b"\n"
        )


# -- jcode -------------------------------------------------------------------------------------


def jcode_log(path: Path, rnd: Rand, entries: int) -> None:
    lines = []
    ts = int(START.timestamp())
    for _ in range(entries):
        ts += rnd.randint(30, 20000)
        prompt = rnd.randint(100, 40000)
        cached = rnd.randint(0, prompt)
        completion = rnd.randint(5, 3000)
        lines.append(
            dumps(
                {
                    "ts": ts,
                    "date": datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d"),
                    "project": rnd.choice(PROJECTS),
                    "session": f"jc-{rnd.randint(1, 30)}",
                    "model": rnd.choice(["claude-sonnet-4-20250514", "gpt-5", "qwen3-coder"]),
                    "prompt": prompt,
                    "completion": completion,
                    "cached": cached,
                    "total": prompt + completion,
                }
            )
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write (claude/, codex/, ...)")
    kinds = ["all", "claude", "codex", "jcode", "gemini", "opencode", "qwen", "amp", "copilot"]
    parser.add_argument("--kind", choices=kinds, default="all")
    parser.add_argument("--entries", type=int, default=2000, help="usage entries per kind")
    parser.add_argument("--days", type=int, default=35, help="spread sessions over this many days")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-streaming", action="store_true", help="repeat final usage on every block")
    parser.add_argument("--no-malformed", action="store_true", help="leave out malformed lines and files")
    parser.add_argument("--append", type=int, default=0, help="append N usage entries to an existing tree")
    args = parser.parse_args(argv)

    rnd = Rand(args.seed)
    if args.kind in ("all", "claude"):
        gen = ClaudeGen(
            args.out / "claude",
            Rand(args.seed),
            streaming=not args.no_streaming,
            malformed=not args.no_malformed,
        )
        if args.append:
            gen.rnd = Rand(args.seed * 1_000_003 + args.append)
            gen.append(args.append)
        else:
            gen.tree(args.entries, args.days)
        print(f"claude: {gen.usage_lines} usage lines under {args.out / 'claude'}")
    if args.kind in ("all", "codex") and not args.append:
        cgen = CodexGen(args.out / "codex", Rand(args.seed + 1), malformed=not args.no_malformed)
        cgen.tree(args.entries, args.days)
        print(f"codex: {cgen.token_events} token_count events under {args.out / 'codex'}")
    if args.kind in ("all", "jcode") and not args.append:
        jcode_log(args.out / "jcode" / "events.jsonl", rnd, args.entries)
        print(f"jcode: {args.entries} events in {args.out / 'jcode' / 'events.jsonl'}")
    if not args.append:
        import gen_agents

        for offset, (kind, generate) in enumerate(gen_agents.GENERATORS.items(), start=2):
            if args.kind in ("all", kind):
                rnd_kind = Rand(args.seed + offset)
                found = generate(args.out / kind, rnd_kind, args.entries, args.days, not args.no_malformed)
                print(f"{kind}: {found['events']} calls under {args.out / kind}")


if __name__ == "__main__":
    main()
