"""Importers: bring agents' histories into the ledger, exactly once.

Claude Code, Codex and jcode, and (see ``docs/agents.md``) Gemini CLI, OpenCode, Qwen Code,
Amp and GitHub Copilot CLI: each has ``import_<agent>(store, paths, *, progress=None,
lock_timeout=-1)`` (Claude Code's also takes ``workers``) and
``default_<agent>_paths(env=None, *, found_only=True)`` (Claude Code's is
``default_claude_paths``; ``found_only=False`` lists every folder it looks for, found or
not).

Each importer is incremental (it reads only what was appended since its last run), safe to
run concurrently with any other import into the same ledger (one lock per ledger) and
idempotent (event ids are derived from the source, and the ledger's import index remembers
them; see :mod:`jusage.importers.index`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jusage.importers.amp import default_amp_paths, import_amp
    from jusage.importers.claude_code import default_claude_paths, import_claude_code
    from jusage.importers.codex import default_codex_paths, import_codex
    from jusage.importers.common import ImportPathError, ImportSummary, Progress
    from jusage.importers.copilot_cli import default_copilot_cli_paths, import_copilot_cli
    from jusage.importers.gemini_cli import default_gemini_cli_paths, import_gemini_cli
    from jusage.importers.index import ImportBusyError, ImportIndex
    from jusage.importers.jcode import default_jcode_paths, import_jcode
    from jusage.importers.opencode import default_opencode_paths, import_opencode
    from jusage.importers.qwen_code import default_qwen_code_paths, import_qwen_code

# Imported on first use, so that the hook (Claude Code only) does not load the others.
_HOMES = {
    "ImportBusyError": "index",
    "ImportIndex": "index",
    "ImportPathError": "common",
    "ImportSummary": "common",
    "Progress": "common",
    "default_amp_paths": "amp",
    "default_claude_paths": "claude_code",
    "default_codex_paths": "codex",
    "default_copilot_cli_paths": "copilot_cli",
    "default_gemini_cli_paths": "gemini_cli",
    "default_jcode_paths": "jcode",
    "default_opencode_paths": "opencode",
    "default_qwen_code_paths": "qwen_code",
    "import_amp": "amp",
    "import_claude_code": "claude_code",
    "import_codex": "codex",
    "import_copilot_cli": "copilot_cli",
    "import_gemini_cli": "gemini_cli",
    "import_jcode": "jcode",
    "import_opencode": "opencode",
    "import_qwen_code": "qwen_code",
}

__all__ = [
    "ImportBusyError",
    "ImportIndex",
    "ImportPathError",
    "ImportSummary",
    "Progress",
    "default_amp_paths",
    "default_claude_paths",
    "default_codex_paths",
    "default_copilot_cli_paths",
    "default_gemini_cli_paths",
    "default_jcode_paths",
    "default_opencode_paths",
    "default_qwen_code_paths",
    "import_amp",
    "import_claude_code",
    "import_codex",
    "import_copilot_cli",
    "import_gemini_cli",
    "import_jcode",
    "import_opencode",
    "import_qwen_code",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'jusage.importers' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"jusage.importers.{home}"), name)
    globals()[name] = value
    return value
