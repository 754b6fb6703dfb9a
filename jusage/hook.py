"""Agents' hooks: import what is new in one session (a Claude Code transcript, a Codex rollout).

Install in ``~/.claude/settings.json``::

    {"hooks": {
      "Stop": [{"hooks": [{"type": "command", "command": "jusage hook claude-code"}]}],
      "SubagentStop": [{"hooks": [{"type": "command", "command": "jusage hook claude-code"}]}]
    }}

The hook must never disturb the agent: :func:`run_claude_hook` and :func:`run_codex_hook`
never raise, and wait only briefly for another import into the same ledger (what it leaves
is picked up by the next hook or import, since reading is incremental). The budget checks
that these hooks also make live in :mod:`jusage.gate`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jusage.importers.common import ImportSummary
    from jusage.store import Store

__all__ = ["HOOK_LOCK_TIMEOUT", "run_claude_hook", "run_codex_hook"]

HOOK_LOCK_TIMEOUT = 2.0
"""Seconds a hook waits for a concurrent import into the same ledger before giving up."""


def run_claude_hook(stdin_bytes: bytes, store: Store | None = None) -> str:
    """Import the transcript named in a Claude Code hook payload; return a one-line message.

    The payload is the hook's JSON (``session_id``, ``transcript_path``, ``cwd``,
    ``hook_event_name``, and for ``SubagentStop`` possibly ``agent_transcript_path``).
    The session's subagent transcripts (``<session>/subagents/*.jsonl``) are imported too.
    Never raises: errors come back as a message starting with ``jusage hook:``.
    """
    try:
        import orjson

        payload = orjson.loads(stdin_bytes)
        if not isinstance(payload, dict):
            return "jusage hook: the hook input is not a JSON object"
        paths: list[Path] = []
        for name in ("transcript_path", "agent_transcript_path"):
            value = payload.get(name)
            if isinstance(value, str) and value:
                path = Path(value).expanduser()
                if path.is_file() and path not in paths:
                    paths.append(path)
        if not paths:
            return "jusage hook: no transcript to import"
        subagents = paths[0].with_suffix("") / "subagents"
        if subagents.is_dir():
            paths.append(subagents)

        from jusage.importers.claude_code import import_claude_code

        return _import(import_claude_code, store, paths)
    except Exception as exc:  # the agent must never see a failure
        return f"jusage hook: {type(exc).__name__}: {exc}"


def run_codex_hook(stdin_bytes: bytes, store: Store | None = None) -> str:
    """Import what is new in the Codex session named in a Codex hook payload; return a
    one-line message.

    The payload's ``transcript_path`` (the session's rollout file) is imported when it is a
    file, else the Codex folders (``$CODEX_HOME`` or ``~/.codex``, read incrementally).
    Never raises: errors come back as a message starting with ``jusage hook:``.
    """
    try:
        import orjson

        payload = orjson.loads(stdin_bytes)
        if not isinstance(payload, dict):
            return "jusage hook: the hook input is not a JSON object"
        from jusage.importers.codex import default_codex_paths, import_codex

        value = payload.get("transcript_path")
        rollout = Path(value).expanduser() if isinstance(value, str) and value else None
        paths = [rollout] if rollout is not None and rollout.is_file() else default_codex_paths()
        if not paths:
            return "jusage hook: no Codex session to import"
        return _import(import_codex, store, paths)
    except Exception as exc:  # the agent must never see a failure
        return f"jusage hook: {type(exc).__name__}: {exc}"


def _import(importer: Callable[..., ImportSummary], store: Store | None, paths: list[Path]) -> str:
    """Run one importer for a hook (into the default store unless given); the message."""
    from jusage.importers.common import counted
    from jusage.importers.index import ImportBusyError

    if store is None:
        from jusage.store import Store

        store = Store.default()
    try:
        summary = importer(store, paths, lock_timeout=HOOK_LOCK_TIMEOUT)
    except ImportBusyError:
        return "jusage hook: another import is running; this turn will be picked up later"
    added, fixed = counted(summary.events_added, "event"), counted(summary.corrections, "correction")
    return f"jusage: {added} added, {fixed}"
