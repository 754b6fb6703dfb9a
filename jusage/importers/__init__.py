"""Importers: bring Claude Code, Codex and jcode histories into the ledger, exactly once.

Each importer is incremental (it reads only what was appended since its last run), safe to
run concurrently with any other import into the same ledger (one lock per ledger) and
idempotent (event ids are derived from the source, and the ledger's import index remembers
them; see :mod:`jusage.importers.index`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jusage.importers.claude_code import default_claude_paths, import_claude_code
    from jusage.importers.codex import default_codex_paths, import_codex
    from jusage.importers.common import ImportPathError, ImportSummary, Progress
    from jusage.importers.index import ImportBusyError, ImportIndex
    from jusage.importers.jcode import default_jcode_paths, import_jcode

# Imported on first use, so that the hook (Claude Code only) does not load the others.
_HOMES = {
    "ImportBusyError": "index",
    "ImportIndex": "index",
    "ImportPathError": "common",
    "ImportSummary": "common",
    "Progress": "common",
    "default_claude_paths": "claude_code",
    "default_codex_paths": "codex",
    "default_jcode_paths": "jcode",
    "import_claude_code": "claude_code",
    "import_codex": "codex",
    "import_jcode": "jcode",
}

__all__ = [
    "ImportBusyError",
    "ImportIndex",
    "ImportPathError",
    "ImportSummary",
    "Progress",
    "default_claude_paths",
    "default_codex_paths",
    "default_jcode_paths",
    "import_claude_code",
    "import_codex",
    "import_jcode",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'jusage.importers' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"jusage.importers.{home}"), name)
    globals()[name] = value
    return value
