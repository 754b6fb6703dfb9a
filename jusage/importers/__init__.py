"""Importers: bring Claude Code, Codex and jcode histories into the ledger, exactly once.

Each importer is incremental (it reads only what was appended since its last run), safe to
run concurrently with itself (a lock per source under ``<log dir>/import-state/``) and
idempotent (event ids are derived from the source, and a seen-state remembers them).
"""

from __future__ import annotations

from jusage.importers.claude_code import ImportPathError, default_claude_paths, import_claude_code
from jusage.importers.codex import default_codex_paths, import_codex
from jusage.importers.common import ImportSummary, Progress
from jusage.importers.jcode import default_jcode_paths, import_jcode
from jusage.importers.state import ImportBusyError

__all__ = [
    "ImportBusyError",
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
