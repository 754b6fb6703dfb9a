"""Where jusage's files live: the default log, jusage's own folder, and the files beside a log."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

__all__ = ["cache_dir", "default_log_path", "jusage_home"]


def default_log_path(env: Mapping[str, str] | None = None) -> Path:
    """``$JUSAGE_LOG``, else ``$JUSAGE_HOME/usage/events.jsonl``, else ``~/.jusage/usage/events.jsonl``."""
    env = os.environ if env is None else env
    if env.get("JUSAGE_LOG"):
        return Path(env["JUSAGE_LOG"]).expanduser()
    return jusage_home(env) / "usage" / "events.jsonl"


def jusage_home(env: Mapping[str, str] | None = None) -> Path:
    """``$JUSAGE_HOME``, else ``~/.jusage``: where jusage keeps its own files."""
    env = os.environ if env is None else env
    return Path(env["JUSAGE_HOME"]).expanduser() if env.get("JUSAGE_HOME") else Path.home() / ".jusage"


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$JUSAGE_HOME/cache``: checkpoints and cached price answers, all rebuildable."""
    return jusage_home(env) / "cache"
