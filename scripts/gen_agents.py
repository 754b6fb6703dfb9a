"""Realistic, deterministic histories of Gemini CLI, OpenCode, Qwen Code, Amp and Copilot CLI.

The generators behind ``gen_transcripts.py --kind gemini|opencode|qwen|amp|copilot``. Each
writes one agent's files as the agent does (see ``docs/agents.md``), awkward parts included,
and returns (and writes to ``expected.json`` beside them) the totals an exactly-once import
must find: the generator's own sums over the distinct model calls, in jusage's inclusive
convention (``prompt`` includes cached reads and writes, ``completion`` includes reasoning).

Gemini CLI (``<out>/gemini/tmp/<project>/chats/``)
  metadata lines, replies written first without tokens and again with them (and again with
  tool calls), ``$set`` updates (some carrying every message again), ``$rewindTo`` lines,
  subagent recordings, older one-object ``session-*.json`` files and one migrated to
  ``.jsonl`` (the same messages twice), a few calls whose ``input`` leaves the cache out.
OpenCode (``<out>/opencode/``)
  ``opencode.db`` (message rows with JSON data; paid, subscription and free providers; a
  reply still streaming with no tokens) and older ``storage/message/<session>/*.json``
  files, some also in the database.
Qwen Code (``<out>/qwen/projects/<cwd>/chats/``)
  records of OpenAI-, Gemini- and Anthropic-backed models (three conventions for thoughts),
  ``/branch`` copies of records into a new session, subagent logs.
Amp (``<out>/amp/threads/``)
  current threads with ``messages[].usage``, older ones with ``usageLedger.events``, a thread
  copied into a backup folder, replies still streaming.
Copilot CLI (``<out>/copilot/otel/``)
  OpenTelemetry file exports: ``invoke_agent``, ``chat`` and ``execute_tool`` spans, metric
  and log records that repeat the usage, older exports with underscore attribute names, an
  export copied twice.

Every generator also writes malformed lines or files unless told not to; they are counted by
the importers and not in the totals.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from gen_transcripts import PROJECTS, START, Rand, dumps, iso

GARBAGE = [b'{"id":"trunc', b"\x00\xff\xfe garbage \xc3\x28", b"[1,2,", b"NaN", b'{"a":' + b"[" * 3000]


@dataclass
class Expected:
    """The totals an exactly-once import of a generated tree must find."""

    events: int = 0
    prompt: int = 0
    completion: int = 0
    cached: int = 0
    cache_write: int = 0
    reasoning: int = 0
    cost_usd: float = 0.0
    seen: set[str] = field(default_factory=set)

    def call(
        self,
        ident: str,
        prompt: int,
        completion: int,
        cached: int = 0,
        cache_write: int = 0,
        reasoning: int = 0,
        cost: float = 0.0,
    ) -> None:
        """Count one distinct call (a second call with the same ``ident`` is a bug here)."""
        assert ident not in self.seen, ident
        self.seen.add(ident)
        self.events += 1
        self.prompt += prompt
        self.completion += completion
        self.cached += cached
        self.cache_write += cache_write
        self.reasoning += reasoning
        self.cost_usd += cost

    def write(self, folder: Path) -> dict[str, Any]:
        """Write ``expected.json`` in ``folder``; the totals as a dict."""
        out = {
            "events": self.events,
            "prompt": self.prompt,
            "completion": self.completion,
            "cached": self.cached,
            "cache_write": self.cache_write,
            "reasoning": self.reasoning,
            "cost_usd": round(self.cost_usd, 6),
        }
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "expected.json").write_bytes(orjson.dumps(out, option=orjson.OPT_INDENT_2) + b"\n")
        return out


def write_lines(path: Path, lines: list[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def moment(rnd: Rand, days: int) -> datetime:
    return START + timedelta(days=rnd.randrange(days), minutes=rnd.randint(0, 14 * 60))


def spread(total: int, rnd: Rand, most: int) -> list[int]:
    """``total`` calls cut into sessions of 1..``most`` calls."""
    out = []
    while total > 0:
        n = min(total, rnd.randint(1, most))
        out.append(n)
        total -= n
    return out


# -- Gemini CLI --------------------------------------------------------------------------------

GEMINI_MODELS = ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-3-pro-preview"]


def gemini(root: Path, rnd: Rand, entries: int, days: int, malformed: bool) -> dict[str, Any]:
    """Gemini CLI chat recordings below ``root`` (a ``.gemini`` folder)."""
    exp = Expected()
    for i, n in enumerate(spread(entries, rnd, 12)):
        cwd = rnd.choice(PROJECTS)
        slug = hashlib.sha256(cwd.encode()).hexdigest() if rnd.random() < 0.5 else cwd.rsplit("/", 1)[-1]
        folder = root / "tmp" / slug
        folder.mkdir(parents=True, exist_ok=True)
        if slug != cwd.rsplit("/", 1)[-1] or rnd.random() < 0.9:
            (folder / ".project_root").write_text(cwd + "\n")
        _gemini_session(folder / "chats", rnd, n, moment(rnd, days), exp, malformed, first=i)
    if malformed:
        (root / "tmp" / "broken" / "chats").mkdir(parents=True, exist_ok=True)
        (root / "tmp" / "broken" / "chats" / "session-broken.json").write_bytes(rnd.randbytes(512))
    return exp.write(root)


def _gemini_tokens(rnd: Rand, outside: bool) -> tuple[dict[str, int], tuple[int, int, int, int]]:
    """A reply's ``tokens`` as Gemini CLI writes them, and what jusage must count for it."""
    inp = rnd.randint(2000, 90000)
    cached = rnd.randint(0, inp - 500) if rnd.random() < 0.7 else 0
    out = rnd.randint(10, 3000)
    thoughts = rnd.randint(50, 2500) if rnd.random() < 0.6 else 0
    tool = rnd.randint(5, 400) if rnd.random() < 0.2 else 0
    tokens = {"input": inp, "output": out, "cached": cached, "thoughts": thoughts, "tool": tool}
    tokens["total"] = inp + out + thoughts + tool
    if cached and (outside or rnd.random() < 0.05):
        tokens["input"] = inp - cached  # a copy that counted the cache outside ``input``
    return tokens, (inp + tool, out + thoughts, cached, thoughts)


def _gemini_session(
    chats: Path,
    rnd: Rand,
    n: int,
    clock: datetime,
    exp: Expected,
    malformed: bool,
    parent: str = "",
    first: int = 9,
) -> None:
    """One session; the first three of a tree (``first`` 0, 1, 2) are migrated, old-style and
    with a subagent, so that a small tree has each awkward part."""
    session = rnd.uid()
    meta: dict[str, Any] = {
        "sessionId": session,
        "projectHash": hashlib.sha256(chats.parent.name.encode()).hexdigest(),
        "startTime": iso(clock),
        "lastUpdated": iso(clock),
    }
    if parent:
        meta.update(kind="subagent", directories=["/srv/build/monorepo"])
    lines = [dumps(meta)]
    messages: dict[str, dict[str, Any]] = {}
    model = rnd.choice(GEMINI_MODELS)

    def emit(record: dict[str, Any]) -> None:
        lines.append(dumps(record))
        if "id" in record:
            messages[record["id"]] = record

    for i in range(n):
        user = {
            "id": rnd.uid(),
            "timestamp": iso(clock),
            "type": "user",
            "content": [{"text": rnd.text(3, 30)}],
        }
        emit(user)
        clock += timedelta(seconds=rnd.randint(2, 60))
        reply: dict[str, Any] = {
            "id": rnd.uid(),
            "timestamp": iso(clock),
            "type": "gemini",
            "content": rnd.text(5, 60),
            "thoughts": [],
            "model": model,
        }
        emit(reply)  # written before its tokens come
        tokens, counted = _gemini_tokens(rnd, first == 0 and i == 0)
        reply = {**reply, "tokens": tokens}
        emit(reply)
        exp.call(reply["id"], counted[0], counted[1], counted[2], 0, counted[3])
        if rnd.random() < 0.4:
            tool = {"id": rnd.ident("call_"), "name": "run_shell_command", "args": {}, "status": "success"}
            emit({**reply, "toolCalls": [tool]})
        emit({"$set": {"lastUpdated": iso(clock)}})
        if rnd.random() < 0.05:
            emit({"id": rnd.uid(), "timestamp": iso(clock), "type": "info", "content": "Request cancelled."})
        if rnd.random() < 0.06 and i:
            emit({"$set": {"messages": list(messages.values()), "lastUpdated": iso(clock)}})
        if rnd.random() < 0.05:
            lines.append(dumps({"$rewindTo": user["id"]}))  # what was spent stays spent
        if malformed and rnd.random() < 0.03:
            lines.append(rnd.choice(GARBAGE))
        clock += timedelta(seconds=rnd.randint(5, 300))
    name = f"session-{iso(clock)[:16].replace(':', '-')}-{session[:8]}"
    folder = chats / parent if parent else chats
    roll = (0.15, 0.1, 1.0)[first] if first < 3 else rnd.random()
    if parent:
        write_lines(folder / f"{session}.jsonl", lines)
    elif roll < 0.12:
        whole = {**meta, "messages": list(messages.values())}
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.json").write_bytes(orjson.dumps(whole, option=orjson.OPT_INDENT_2))
    elif roll < 0.18:
        # Resumed by a newer Gemini CLI: the old file stays, its messages copied to a .jsonl.
        whole = {**meta, "messages": list(messages.values())[: max(1, len(messages) // 2)]}
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{name}.json").write_bytes(orjson.dumps(whole, option=orjson.OPT_INDENT_2))
        write_lines(folder / f"{name}.jsonl", [dumps(meta), *map(dumps, whole["messages"]), *lines[1:]])
    else:
        write_lines(folder / f"{name}.jsonl", lines)
    if not parent and (first == 2 or rnd.random() < 0.1):
        _gemini_session(chats, rnd, rnd.randint(1, 3), clock, exp, malformed, parent=session)


# -- Qwen Code ---------------------------------------------------------------------------------

QWEN_MODELS = [
    ("qwen3-coder-plus", "openai"),
    ("gemini-2.5-pro", "gemini"),
    ("claude-sonnet-4-5", "anthropic"),
]


def sanitize_cwd(cwd: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in cwd)


def _qwen_usage(rnd: Rand, style: str) -> tuple[dict[str, int], tuple[int, int, int, int]]:
    """``usageMetadata`` as Qwen Code's converter for ``style`` fills it, and the counts."""
    prompt = rnd.randint(1500, 70000)
    cached = rnd.randint(0, prompt - 200) if rnd.random() < 0.7 else 0
    if style == "openai":
        completion = rnd.randint(20, 4000)
        thoughts = rnd.randint(0, completion) if rnd.random() < 0.5 else 0
        usage = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": completion,
            "thoughtsTokenCount": thoughts,
        }
        usage.update(cachedContentTokenCount=cached, totalTokenCount=prompt + completion)
        return usage, (prompt, completion, cached, thoughts)
    if style == "gemini":
        candidates, thoughts = rnd.randint(20, 3000), rnd.randint(30, 2000)
        usage = {
            "promptTokenCount": prompt,
            "candidatesTokenCount": candidates,
            "thoughtsTokenCount": thoughts,
        }
        usage.update(cachedContentTokenCount=cached, totalTokenCount=prompt + candidates + thoughts)
        return usage, (prompt, candidates + thoughts, cached, thoughts)
    output = rnd.randint(20, 3000)
    usage = {"promptTokenCount": prompt, "candidatesTokenCount": output, "totalTokenCount": prompt + output}
    usage["cachedContentTokenCount"] = cached
    return usage, (prompt, output, cached, 0)


@dataclass
class QwenSession:
    """One Qwen Code session being written: its records chain through ``parentUuid``."""

    rnd: Rand
    session: str
    cwd: str
    clock: datetime
    parent: str | None = None

    def record(self, kind: str, **extra: Any) -> dict[str, Any]:
        out = {"uuid": self.rnd.uid(), "parentUuid": self.parent, "sessionId": self.session}
        out.update(
            timestamp=iso(self.clock), type=kind, cwd=self.cwd, version="0.2.3", gitBranch="main", **extra
        )
        self.parent = out["uuid"]
        return out


def qwen(root: Path, rnd: Rand, entries: int, days: int, malformed: bool) -> dict[str, Any]:
    """Qwen Code chat logs below ``root`` (a ``.qwen`` folder)."""
    exp = Expected()
    for i, n in enumerate(spread(entries, rnd, 15)):
        cwd = rnd.choice(PROJECTS)
        project = root / "projects" / sanitize_cwd(cwd)
        s = QwenSession(rnd, rnd.uid(), cwd, moment(rnd, days))
        model, style = rnd.choice(QWEN_MODELS)
        records: list[dict[str, Any]] = []
        for _ in range(n):
            records.append(s.record("user", message={"role": "user", "parts": [{"text": rnd.text(3, 30)}]}))
            s.clock += timedelta(seconds=rnd.randint(2, 90))
            usage, counted = _qwen_usage(rnd, style)
            reply = s.record(
                "assistant", model=model, usageMetadata=usage, message={"role": "model", "parts": []}
            )
            records.append(reply)
            exp.call(reply["uuid"], counted[0], counted[1], counted[2], 0, counted[3])
            if rnd.random() < 0.5:
                records.append(s.record("tool_result", message={"role": "user", "parts": [{"text": "ok"}]}))
            if rnd.random() < 0.1:
                records.append(s.record("system", subtype="ui_telemetry", systemPayload={"uiEvent": {}}))
            s.clock += timedelta(seconds=rnd.randint(5, 200))
        lines = [dumps(r) for r in records]
        if malformed and (i == 0 or rnd.random() < 0.1):
            lines.insert(rnd.randrange(len(lines) + 1), rnd.choice(GARBAGE))
        write_lines(project / "chats" / f"{s.session}.jsonl", lines)
        if i == 0 or rnd.random() < 0.08:
            # /branch: the records copied verbatim (same uuid) into a new session's log.
            fork = rnd.uid()
            origin = {"sessionId": s.session}
            copies = [
                {**r, "sessionId": fork, "forkedFrom": {**origin, "messageUuid": r["uuid"]}} for r in records
            ]
            write_lines(project / "chats" / f"{fork}.jsonl", [dumps(r) for r in copies])
        if i == 1 or rnd.random() < 0.1:
            agent = rnd.ident("agent-", 6)
            side = []
            for _ in range(rnd.randint(1, 3)):
                usage, counted = _qwen_usage(rnd, "openai")
                reply = s.record(
                    "assistant",
                    model="qwen3-coder-flash",
                    usageMetadata=usage,
                    isSidechain=True,
                    agentId=agent,
                )
                side.append(dumps(reply))
                exp.call(reply["uuid"], counted[0], counted[1], counted[2], 0, counted[3])
            write_lines(project / "subagents" / s.session / f"{agent}.jsonl", side)
    return exp.write(root)


# -- OpenCode ----------------------------------------------------------------------------------

OPENCODE_MODELS = [
    ("anthropic", "claude-sonnet-4-20250514", 3e-6, 15e-6),
    ("openai", "gpt-5", 1.25e-6, 10e-6),
    ("github-copilot", "claude-sonnet-4", 0.0, 0.0),  # a subscription: OpenCode reports 0
    ("opencode", "grok-code", 0.0, 0.0),  # free
    ("openrouter", "qwen/qwen3-coder", 0.4e-6, 1.6e-6),
]
OPENCODE_SCHEMA = """
CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, parent_id TEXT,
    slug TEXT NOT NULL, directory TEXT NOT NULL, title TEXT NOT NULL, version TEXT NOT NULL,
    time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL);
CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL,
    time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX message_session_time_created_id_idx ON message (session_id, time_created, id);
CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT NOT NULL, session_id TEXT NOT NULL,
    time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);
"""


def opencode_id(rnd: Rand, prefix: str, ms: int) -> str:
    """An OpenCode id: ``msg_``/``ses_``, 12 hex digits of time, 14 random characters."""
    return f"{prefix}_{ms * 0x1000 + rnd.randrange(0x1000):012x}"[: len(prefix) + 13] + rnd.ident("", 14)


def opencode(
    root: Path, rnd: Rand, entries: int, days: int, malformed: bool, *, wal: bool = False
) -> dict[str, Any]:
    """OpenCode's data folder at ``root``: ``opencode.db`` and older ``storage/message`` files.

    With ``wal`` the database is left in WAL mode with its log, as a running OpenCode leaves it.
    """
    exp = Expected()
    root.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(root / "opencode.db")
    db.execute("PRAGMA journal_mode = WAL" if wal else "PRAGMA journal_mode = DELETE")
    db.execute("PRAGMA wal_autocheckpoint = 0")
    db.executescript(OPENCODE_SCHEMA)
    for i, n in enumerate(spread(entries, rnd, 10)):
        cwd = rnd.choice(PROJECTS)
        clock = int(moment(rnd, days).timestamp() * 1000)
        session = opencode_id(rnd, "ses", clock)
        db.execute(
            "INSERT INTO session VALUES (?, ?, NULL, ?, ?, ?, '0.15.8', ?, ?)",
            (session, rnd.ident("", 40).lower(), rnd.ident("", 8).lower(), cwd, rnd.text(2, 6), clock, clock),
        )
        # < 0.15: files only (before the database); < 0.2: files and rows; else rows only.
        legacy = (0.1, 0.17)[i] if i < 2 else rnd.random()
        provider, model, price_in, price_out = rnd.choice(OPENCODE_MODELS)
        for _ in range(n):
            user_id = opencode_id(rnd, "msg", clock)
            user = {
                "role": "user",
                "time": {"created": clock},
                "agent": "build",
                "model": {"providerID": provider, "modelID": model},
            }
            _opencode_store(db, root, session, user_id, user, clock, legacy, old=False)
            clock += rnd.randint(500, 20000)
            inp, output = rnd.randint(5, 4000), rnd.randint(10, 3000)
            read = rnd.randint(0, 120000) if rnd.random() < 0.8 else 0
            write = rnd.randint(0, 12000) if provider == "anthropic" else 0
            reasoning = rnd.randint(0, 2500) if provider == "openai" else 0
            cost = round(
                (inp + write) * price_in + read * price_in / 10 + (output + reasoning) * price_out, 8
            )
            tokens: dict[str, Any] = {"input": inp, "output": output, "reasoning": reasoning}
            tokens["cache"] = {"read": read, "write": write}
            tokens["total"] = inp + read + write + output + reasoning
            reply_id = opencode_id(rnd, "msg", clock)
            reply = {
                "role": "assistant",
                "time": {"created": clock, "completed": clock + rnd.randint(800, 60000)},
                "parentID": user_id,
                "modelID": model,
                "providerID": provider,
                "mode": "build",
                "agent": "build",
                "path": {"cwd": cwd, "root": cwd},
                "cost": cost,
                "tokens": tokens,
                "finish": rnd.choice(["tool-calls", "stop"]),
            }
            _opencode_store(db, root, session, reply_id, reply, clock, legacy, old=legacy < 0.2)
            exp.call(reply_id, inp + read + write, output + reasoning, read, write, reasoning, cost)
            clock += rnd.randint(1000, 120000)
        if (i == 2 or rnd.random() < 0.1) and legacy >= 0.15:
            # A reply still streaming: OpenCode has written the row, its tokens not yet.
            empty = {
                "role": "assistant",
                "time": {"created": clock},
                "modelID": model,
                "providerID": provider,
                "path": {"cwd": cwd, "root": cwd},
                "cost": 0,
                "tokens": {"input": 0, "output": 0, "reasoning": 0, "cache": {"read": 0, "write": 0}},
            }
            _opencode_store(db, root, session, opencode_id(rnd, "msg", clock), empty, clock, 1.0, old=False)
    if malformed:
        db.execute("INSERT INTO message VALUES ('msg_broken', 'ses_broken', 0, 0, 'not json{')")
        folder = root / "storage" / "message" / "ses_broken"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "msg_broken.json").write_bytes(
            b'{"id":"msg_broken","role":"assistant","tokens":{"input":-5}}'
        )
    db.commit()
    if not wal:
        db.execute("VACUUM")
        db.close()
        return exp.write(root)
    # Closing would fold the log into the database; keep both as a running OpenCode has them.
    data, log = (root / "opencode.db").read_bytes(), (root / "opencode.db-wal").read_bytes()
    db.close()
    (root / "opencode.db").write_bytes(data)
    (root / "opencode.db-wal").write_bytes(log)
    (root / "opencode.db-shm").unlink(missing_ok=True)
    return exp.write(root)


def _opencode_store(
    db: sqlite3.Connection,
    root: Path,
    session: str,
    ident: str,
    data: dict[str, Any],
    ms: int,
    legacy: float,
    *,
    old: bool,
) -> None:
    """Write a message to the database, to a legacy file, or both (see :func:`opencode`)."""
    if legacy >= 0.15:
        db.execute(
            "INSERT INTO message VALUES (?, ?, ?, ?, ?)",
            (ident, session, ms, ms, orjson.dumps(data).decode()),
        )
    if legacy < 0.2:
        value = {"id": ident, "sessionID": session, **data}
        tokens = data.get("tokens")
        if old and tokens and tokens["reasoning"]:
            # Before OpenCode took the reasoning out of ``output``: output held it, total said so.
            value["tokens"] = {**tokens, "output": tokens["output"] + tokens["reasoning"]}
            value["tokens"]["total"] = tokens["total"]
        path = root / "storage" / "message" / session / f"{ident}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(value, option=orjson.OPT_INDENT_2))


# -- Amp ---------------------------------------------------------------------------------------

AMP_MODELS = ["claude-sonnet-4-5-20250929", "claude-opus-4-5-20251101", "claude-haiku-4-5-20251001"]


def amp(root: Path, rnd: Rand, entries: int, days: int, malformed: bool) -> dict[str, Any]:
    """Amp's data folder at ``root`` (``threads/T-*.json``)."""
    exp = Expected()
    threads = root / "threads"
    threads.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for i, n in enumerate(spread(entries, rnd, 12)):
        clock = moment(rnd, days)
        thread = f"T-{rnd.uid()}"
        cwd = rnd.choice(PROJECTS)
        ledger = i == 0 or rnd.random() < 0.25
        messages: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for _ in range(n):
            messages.append(
                {
                    "role": "user",
                    "messageId": len(messages),
                    "content": [{"type": "text", "text": rnd.text(3, 25)}],
                }
            )
            clock += timedelta(seconds=rnd.randint(3, 120))
            inp, out = rnd.randint(3, 400), rnd.randint(10, 4000)
            write = rnd.randint(0, 9000) if rnd.random() < 0.7 else 0
            read = rnd.randint(0, 150000) if rnd.random() < 0.85 else 0
            ident = len(messages)
            usage = {
                "model": rnd.choice(AMP_MODELS),
                "maxInputTokens": 168000,
                "inputTokens": inp,
                "outputTokens": out,
                "cacheCreationInputTokens": write,
                "cacheReadInputTokens": read,
                "totalInputTokens": inp + write + read,
                "credits": round((inp + write) * 3e-6 + read * 3e-7 + out * 15e-6, 6),
                "timestamp": iso(clock),
            }
            messages.append(
                {
                    "role": "assistant",
                    "messageId": ident,
                    "content": [{"type": "text", "text": rnd.text(5, 40)}],
                    "state": {"type": "complete", "stopReason": "end_turn"},
                    "usage": usage,
                }
            )
            if ledger:
                events.append(
                    {
                        "id": rnd.uid(),
                        "timestamp": iso(clock),
                        "model": usage["model"],
                        "credits": usage["credits"],
                        "tokens": {"input": inp, "output": out},
                        "operationType": "inference",
                        "fromMessageId": ident - 1,
                        "toMessageId": ident,
                    }
                )
            exp.call(f"{thread}/{ident}", inp + write + read, out, read, write)
            clock += timedelta(seconds=rnd.randint(5, 400))
        if i == 1 or rnd.random() < 0.1:
            messages.append(
                {
                    "role": "assistant",
                    "messageId": len(messages),
                    "content": [],
                    "state": {"type": "streaming"},
                }
            )
        doc: dict[str, Any] = {
            "v": len(messages) * 3,
            "id": thread,
            "created": int(clock.timestamp() * 1000),
            "title": rnd.text(2, 6),
            "messages": messages,
            "env": {"initial": {"trees": [{"displayName": cwd.rsplit("/", 1)[-1], "uri": f"file://{cwd}"}]}},
        }
        if ledger:
            doc["usageLedger"] = {"events": events}
        path = threads / f"{thread}.json"
        path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
        written.append(path)
    if written:
        backup = threads / "backup"
        backup.mkdir(exist_ok=True)
        shutil.copyfile(written[0], backup / written[0].name)  # a copy of a thread counts once
    if malformed:
        (threads / "T-broken.json").write_bytes(b'{"id": "T-broken", "messages": [')
        bad = {
            "id": "T-bad",
            "messages": [
                {
                    "role": "assistant",
                    "messageId": 1,
                    "usage": {"model": "x", "inputTokens": -1, "timestamp": iso(START)},
                }
            ],
        }
        (threads / "T-bad.json").write_bytes(orjson.dumps(bad))
    return exp.write(root)


# -- Copilot CLI -------------------------------------------------------------------------------

COPILOT_MODELS = ["claude-sonnet-4.5", "gpt-5", "gpt-5-mini", "gemini-2.5-pro"]


def hr(moment_: datetime) -> list[int]:
    """An OpenTelemetry ``HrTime``: ``[seconds, nanoseconds]``."""
    seconds = int(moment_.timestamp())
    return [seconds, int((moment_.timestamp() - seconds) * 1e9)]


def copilot(root: Path, rnd: Rand, entries: int, days: int, malformed: bool) -> dict[str, Any]:
    """Copilot CLI OpenTelemetry file exports below ``root`` (a ``.copilot`` folder)."""
    exp = Expected()
    folder = root / "otel"
    written: list[Path] = []
    for i, n in enumerate(spread(entries, rnd, 20)):
        clock = moment(rnd, days)
        old = i == 0 or rnd.random() < 0.2  # before the attribute names followed the conventions
        cache_read, cache_write, reasoning_name = (
            (
                "gen_ai.usage.cache_read_input_tokens",
                "gen_ai.usage.cache_creation_input_tokens",
                "gen_ai.usage.reasoning_output_tokens",
            )
            if old
            else (
                "gen_ai.usage.cache_read.input_tokens",
                "gen_ai.usage.cache_creation.input_tokens",
                "gen_ai.usage.reasoning.output_tokens",
            )
        )
        conversation = rnd.uid()
        lines: list[bytes] = []
        turns = spread(n, rnd, 6)
        for calls in turns:
            trace, agent_span = rnd.getrandbits(128), rnd.getrandbits(64)
            start = clock
            sums = [0, 0]
            for _ in range(calls):
                model = rnd.choice(COPILOT_MODELS)
                read = rnd.randint(0, 60000) if rnd.random() < 0.8 else 0
                write = rnd.randint(0, 5000) if model.startswith("claude") and rnd.random() < 0.5 else 0
                inp = read + write + rnd.randint(50, 8000)
                reasoning = rnd.randint(0, 1500) if model.startswith("gpt") else 0
                out = reasoning + rnd.randint(5, 2500)
                begin, clock = clock, clock + timedelta(milliseconds=rnd.randint(400, 30000))
                span = rnd.getrandbits(64)
                attrs: dict[str, Any] = {
                    "gen_ai.operation.name": "chat",
                    "gen_ai.provider.name": "github",
                    "gen_ai.request.model": model,
                    "gen_ai.response.model": model,
                    "gen_ai.conversation.id": conversation,
                    "gen_ai.response.id": rnd.ident("resp_"),
                    "gen_ai.usage.input_tokens": inp,
                    "gen_ai.usage.output_tokens": out,
                    "github.copilot.time_to_first_chunk": rnd.randint(200, 3000),
                }
                if read:
                    attrs[cache_read] = read
                if write:
                    attrs[cache_write] = write
                if reasoning:
                    attrs[reasoning_name] = reasoning
                lines.append(
                    dumps(
                        {
                            "type": "span",
                            "traceId": f"{trace:032x}",
                            "spanId": f"{span:016x}",
                            "parentSpanId": f"{agent_span:016x}",
                            "name": f"chat {model}",
                            "kind": 2,
                            "startTime": hr(begin),
                            "endTime": hr(clock),
                            "attributes": attrs,
                            "status": {"code": 0},
                            "events": [],
                        }
                    )
                )
                exp.call(f"{trace:032x}/{span:016x}", inp, out, read, write, reasoning)
                sums[0] += inp
                sums[1] += out
                # The same usage again in a log record and a metric: neither is a call.
                lines.append(
                    dumps(
                        {
                            "hrTime": hr(clock),
                            "attributes": {
                                "event.name": "gen_ai.client.inference.operation.details",
                                "gen_ai.response.model": model,
                                "gen_ai.usage.input_tokens": inp,
                                "gen_ai.usage.output_tokens": out,
                            },
                            "body": f"GenAI inference: {model}",
                        }
                    )
                )
                lines.append(
                    dumps(
                        {
                            "type": "metric",
                            "name": "gen_ai.client.token.usage",
                            "unit": "{token}",
                            "dataPoints": [{"attributes": {"gen_ai.token.type": "input"}, "value": inp}],
                        }
                    )
                )
                if rnd.random() < 0.5:
                    tool_end = clock + timedelta(milliseconds=rnd.randint(10, 4000))
                    lines.append(
                        dumps(
                            {
                                "type": "span",
                                "traceId": f"{trace:032x}",
                                "spanId": f"{rnd.getrandbits(64):016x}",
                                "name": "execute_tool bash",
                                "startTime": hr(clock),
                                "endTime": hr(tool_end),
                                "attributes": {
                                    "gen_ai.operation.name": "execute_tool",
                                    "gen_ai.tool.name": "bash",
                                },
                            }
                        )
                    )
                    clock = tool_end
            # The turn's span is written when it ends, after its calls, with their sums.
            lines.append(
                dumps(
                    {
                        "type": "span",
                        "traceId": f"{trace:032x}",
                        "spanId": f"{agent_span:016x}",
                        "name": "invoke_agent copilot",
                        "kind": 0,
                        "startTime": hr(start),
                        "endTime": hr(clock),
                        "attributes": {
                            "gen_ai.operation.name": "invoke_agent",
                            "gen_ai.agent.name": "copilot",
                            "gen_ai.conversation.id": conversation,
                            "gen_ai.usage.input_tokens": sums[0],
                            "gen_ai.usage.output_tokens": sums[1],
                        },
                    }
                )
            )
            clock += timedelta(seconds=rnd.randint(10, 600))
        if malformed and (i == 0 or rnd.random() < 0.2):
            lines.insert(rnd.randrange(len(lines) + 1), rnd.choice(GARBAGE))
        path = folder / f"copilot-otel-{clock.strftime('%Y%m%d-%H%M%S')}-{rnd.randrange(1000):03d}.jsonl"
        write_lines(path, lines)
        written.append(path)
    if written:
        shutil.copyfile(written[-1], folder / f"copy-of-{written[-1].name}")  # exported twice: counts once
    return exp.write(root)


GENERATORS: dict[str, Callable[..., dict[str, Any]]] = {
    "gemini": gemini,
    "opencode": opencode,
    "qwen": qwen,
    "amp": amp,
    "copilot": copilot,
}
"""``--kind`` -> generator; each writes below ``<out>/<kind>``."""
