"""The budget gate in agents' hooks: no new work once a hard-stop budget is used up.

Claude Code and Codex run ``jusage hook claude-code`` / ``jusage hook codex`` with a JSON
payload on stdin at each hook event. Every event first imports what is new in the session
(so a check includes the turn that just ended); then, at the two events where an agent starts
new work:

``UserPromptSubmit``
    a used-up hard-stop budget covering the session, its project, agent or model blocks the
    prompt: exit status 2 with the reason on stderr (the agent shows it to the user and drops
    the prompt);
``PreToolUse``
    the same budgets deny the tool call with the documented JSON on stdout,
    ``{"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
    "permissionDecisionReason": ...}}`` (the model sees the reason).

A budget at its alert level is shown once per budget and period, as a ``systemMessage`` in
the JSON on stdout, not at every turn. ``Stop`` and ``SubagentStop`` only import. Any
internal error fails open: exit status 0 and one line on stderr, never a block by accident.

Both agents document these event names, exit status 2 with stderr, ``permissionDecision``
and ``systemMessage`` (Claude Code's hooks reference; Codex's ``codex-rs/hooks``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jusage.budgets import Context
    from jusage.checker import BudgetResult, BudgetStatus
    from jusage.store import Store

__all__ = ["GATED_EVENTS", "HookReply", "alerts_path", "claude_code_hook", "codex_hook", "gate"]

GATED_EVENTS = frozenset({"UserPromptSubmit", "PreToolUse"})
"""The hook events at which an agent starts new work, so a used-up budget can stop it."""

_MODEL = re.compile(rb'"model"\s*:\s*"([^"\\]{1,200})"')
_TAIL = 64 << 10  # bytes of a transcript searched for the model in use


@dataclass(frozen=True, slots=True)
class HookReply:
    """What a hook handler prints on stdout and stderr, and its exit status."""

    exit_code: int = 0
    stdout: str = ""
    stderr: str = ""


def alerts_path(log: Path) -> Path:
    """Where the budgets already announced are remembered: beside the ledger's real path."""
    real = log.resolve()
    return real.with_name(real.name + ".budget-alerts")


def _text(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    return value if isinstance(value, str) else ""


def _last_model(transcript: str) -> str:
    """The model of the last assistant message in a Claude Code transcript ("" if none)."""
    if not transcript:
        return ""
    try:
        with Path(transcript).expanduser().open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - _TAIL))
            tail = fh.read()
    except OSError:
        return ""
    models = [m for m in _MODEL.findall(tail) if not m.startswith(b"<")]  # not <synthetic>
    return models[-1].decode("utf-8", "replace") if models else ""


def _first_alerts(log: Path, statuses: list[BudgetStatus]) -> list[BudgetStatus]:
    """The statuses not announced yet in their period, now remembered as announced.

    The memory is a small JSON file, read and written under an exclusive lock so that of
    several hooks running at once exactly one announces each budget.
    """
    import orjson

    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: announce, at worst, more than once
        return statuses
    path = alerts_path(log)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(os.dup(fd), "r+b") as fh:
            try:
                seen = orjson.loads(fh.read() or b"{}")
            except orjson.JSONDecodeError:
                seen = {}
            if not isinstance(seen, dict):
                seen = {}
            fresh = []
            for s in statuses:
                mark = f"{s.period_start or 0}:{s.budget.usd}:{s.budget.tokens}"
                if seen.get(s.budget.name) != mark:
                    seen[s.budget.name] = mark
                    fresh.append(s)
            if fresh:
                fh.seek(0)
                fh.truncate()
                fh.write(orjson.dumps(seen))
        return fresh
    finally:
        os.close(fd)  # closing drops the lock


def gate(event: str, result: BudgetResult, log: Path) -> HookReply:
    """The reply to hook ``event`` given the budgets that cover the agent's context.

    A used-up hard-stop budget blocks ``UserPromptSubmit`` (exit status 2, reason on stderr)
    and denies ``PreToolUse`` (JSON on stdout); budgets at their alert level are announced
    once per period in a ``systemMessage``; other events get an empty reply.
    """
    import orjson

    if event not in GATED_EVENTS:
        return HookReply()
    stops = [s for s in result.budgets if s.action == "stop"]
    if stops:
        reason = "jusage: " + "; ".join(s.reason for s in stops)
        if event == "UserPromptSubmit":
            return HookReply(2, "", reason)
        decision = {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": reason,
        }
        return HookReply(0, orjson.dumps({"hookSpecificOutput": decision}).decode())
    alerts = _first_alerts(log, [s for s in result.budgets if s.action == "alert"])
    if not alerts:
        return HookReply()
    message = "jusage: " + "; ".join(s.reason for s in alerts)
    return HookReply(0, orjson.dumps({"systemMessage": message}).decode())


def _run(stdin_bytes: bytes, store: Store | None, agent: str, now: int | None) -> HookReply:
    import orjson

    from jusage.budgets import Context
    from jusage.hook import run_claude_hook, run_codex_hook

    importer = run_claude_hook if agent == "claude-code" else run_codex_hook
    note = importer(stdin_bytes, store)
    note = note if note.startswith("jusage hook:") else ""
    try:
        payload = orjson.loads(stdin_bytes)
    except orjson.JSONDecodeError:
        return HookReply(0, "", note)
    if not isinstance(payload, dict) or _text(payload, "hook_event_name") not in GATED_EVENTS:
        return HookReply(0, "", note)
    model = _text(payload, "model") or (
        _last_model(_text(payload, "transcript_path")) if agent == "claude-code" else ""
    )
    context = Context(
        project=_text(payload, "cwd"),
        session=_text(payload, "session_id"),
        agent=_text(payload, "agent_type"),
        source=agent,
        model=model,
    )
    reply = _decide(payload, context, store, now)
    return HookReply(reply.exit_code, reply.stdout, "\n".join(filter(None, [reply.stderr, note])))


def _decide(payload: dict[str, Any], context: Context, store: Store | None, now: int | None) -> HookReply:
    from jusage.checker import BudgetChecker

    checker = BudgetChecker.load(store.path if store is not None else None)
    if not checker.budgets:
        return HookReply()
    return gate(_text(payload, "hook_event_name"), checker.check(context, now=now), checker.log)


def claude_code_hook(stdin_bytes: bytes, store: Store | None = None, *, now: int | None = None) -> HookReply:
    """Handle one Claude Code hook event (payload on stdin): import, then gate.

    Never raises, and fails open: an internal error gives exit status 0 and one line on
    stderr.
    """
    return _fail_open(stdin_bytes, store, "claude-code", now)


def codex_hook(stdin_bytes: bytes, store: Store | None = None, *, now: int | None = None) -> HookReply:
    """Handle one Codex hook event (payload on stdin): import, then gate.

    Never raises, and fails open: an internal error gives exit status 0 and one line on
    stderr.
    """
    return _fail_open(stdin_bytes, store, "codex", now)


def _fail_open(stdin_bytes: bytes, store: Store | None, agent: str, now: int | None) -> HookReply:
    try:
        return _run(stdin_bytes, store, agent, now)
    except BaseException as exc:  # never a block by accident, whatever went wrong
        try:
            text = f"jusage hook: {type(exc).__name__}: {exc}".replace("\n", " ")
        except Exception:  # an exception whose text cannot be made
            text = "jusage hook: internal error"
        return HookReply(0, "", text)
