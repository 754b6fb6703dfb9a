"""Claude Code ``Stop`` / ``SubagentStop`` hook: import what is new in one transcript.

Install in ``~/.claude/settings.json``::

    {"hooks": {
      "Stop": [{"hooks": [{"type": "command", "command": "jusage hook claude-code"}]}],
      "SubagentStop": [{"hooks": [{"type": "command", "command": "jusage hook claude-code"}]}]
    }}

The hook must never disturb the agent: :func:`run_claude_hook` never raises, and waits
only briefly for another import into the same ledger (what it leaves is picked up by the
next hook or import, since reading is incremental).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jusage.store import Store

__all__ = ["HOOK_LOCK_TIMEOUT", "run_claude_hook"]

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
        from jusage.importers.common import counted
        from jusage.importers.index import ImportBusyError

        if store is None:
            from jusage.store import Store

            store = Store.default()
        try:
            summary = import_claude_code(store, paths, lock_timeout=HOOK_LOCK_TIMEOUT)
        except ImportBusyError:
            return "jusage hook: another import is running; this turn will be picked up later"
        added, fixed = counted(summary.events_added, "event"), counted(summary.corrections, "correction")
        return f"jusage: {added} added, {fixed}"
    except Exception as exc:  # the agent must never see a failure
        return f"jusage hook: {type(exc).__name__}: {exc}"
