"""Shared fixtures: the bundled sample log, a fresh ledger path, a CLI runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


@pytest.fixture
def sample_log() -> Path:
    """The bundled sample log (3,000 events over 90 days ending 2026-11-20)."""
    return FIXTURES / "sample.jsonl"


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    """A path for a new, empty ledger."""
    return tmp_path / "usage" / "events.jsonl"


@pytest.fixture
def runner() -> CliRunner:
    """A click runner (the autouse fixture below keeps it away from the real ~/.jusage)."""
    return CliRunner()


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the real ~/.jusage, nor read the real agents' folders (a report's sync
    looks there), from a test."""
    monkeypatch.setenv("JUSAGE_HOME", str(tmp_path / "jusage-home"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in AGENT_ENV:
        monkeypatch.delenv(name, raising=False)


AGENT_ENV = (
    "JUSAGE_LOG",
    "CLAUDE_CONFIG_DIR",
    "CODEX_HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "GEMINI_CLI_HOME",
    "OPENCODE_DB",
    "OPENCODE_DATA_DIR",
    "QWEN_HOME",
    "QWEN_RUNTIME_DIR",
    "AMP_DATA_DIR",
    "COPILOT_HOME",
    "COPILOT_OTEL_FILE_EXPORTER_PATH",
)
"""Environment variables that point jusage or an agent's importer at a folder."""
