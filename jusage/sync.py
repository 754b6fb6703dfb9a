"""Bring in what is new from every agent found on this machine, in one run.

Each agent's importer is incremental and exactly-once, so a sync with nothing new costs about
one ``stat`` per transcript. Every report runs a sync first (unless told not to), so
``jusage daily`` shows an agent's history without an import step. The agents are the entries
of :data:`AGENTS`; an agent whose usual folders do not exist on this machine is skipped.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jusage.importers.common import ImportSummary, Progress

__all__ = ["AGENTS", "SYNC_LOCK_TIMEOUT", "Agent", "agent_named", "sync_agents"]

SYNC_LOCK_TIMEOUT = 2.0
"""Seconds a report's sync waits for an import that is already running before it goes on
without (what it leaves is picked up by the next sync: reading is incremental)."""


@dataclass(frozen=True, slots=True)
class Agent:
    """An agent jusage can import: its ``source`` name and where its importer lives."""

    name: str
    module: str
    importer: str
    finder: str
    parallel: bool = False  # the importer takes ``workers``

    def default_paths(self) -> list[Path]:
        """The agent's data folders that exist on this machine (its env var honoured)."""
        found: list[Path] = getattr(importlib.import_module(self.module), self.finder)()
        return found

    def run(self, store: Any, paths: Sequence[Path], **options: Any) -> ImportSummary:
        """Import what is new below ``paths`` into ``store`` (options as the importers take)."""
        if not self.parallel:
            options.pop("workers", None)
        function: Callable[..., ImportSummary] = getattr(importlib.import_module(self.module), self.importer)
        return function(store, list(paths), **options)


AGENTS: tuple[Agent, ...] = (
    Agent("claude-code", "jusage.importers.claude_code", "import_claude_code", "default_claude_paths", True),
    Agent("codex", "jusage.importers.codex", "import_codex", "default_codex_paths"),
    Agent("gemini-cli", "jusage.importers.gemini_cli", "import_gemini_cli", "default_gemini_cli_paths"),
    Agent("opencode", "jusage.importers.opencode", "import_opencode", "default_opencode_paths"),
    Agent("qwen-code", "jusage.importers.qwen_code", "import_qwen_code", "default_qwen_code_paths"),
    Agent("amp", "jusage.importers.amp", "import_amp", "default_amp_paths"),
    Agent("copilot-cli", "jusage.importers.copilot_cli", "import_copilot_cli", "default_copilot_cli_paths"),
    Agent("jcode", "jusage.importers.jcode", "import_jcode", "default_jcode_paths"),
)
"""Every agent a sync looks for, in the order it imports them."""


def agent_named(name: str) -> Agent:
    """The agent called ``name``; ValueError naming the known ones otherwise."""
    for agent in AGENTS:
        if agent.name == name:
            return agent
    raise ValueError(f"unknown agent {name!r}: expected one of {', '.join(a.name for a in AGENTS)}")


def sync_agents(
    ledger: Path,
    *,
    agents: Sequence[Agent] = AGENTS,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
    lock_timeout: float = SYNC_LOCK_TIMEOUT,
    workers: int | None = None,
) -> list[ImportSummary]:
    """Import what is new from each of ``agents`` found on this machine into ``ledger``.

    Returns one summary per agent that was found. ``progress`` sees one bar over all of them
    (bytes read, each agent's share its part of the bar). An agent whose import fails (its
    files unreadable, another import of it still running after ``lock_timeout`` seconds) is
    named through ``warn`` and skipped; the others go on.
    """
    from jusage.store import Store

    found = [(agent, paths) for agent in agents if (paths := agent.default_paths())]
    store = Store(ledger)
    summaries = []
    for index, (agent, paths) in enumerate(found):
        share = _Share(progress, index, len(found))
        try:
            summaries.append(
                agent.run(store, paths, progress=share, lock_timeout=lock_timeout, workers=workers)
            )
        except Exception as exc:  # one agent's trouble never stops the others, nor the report
            if warn is not None:
                warn(f"sync: {agent.name} skipped: {exc}")
        share.finish()
    store.close()
    return summaries


class _Share:
    """One agent's part of a progress bar over several agents."""

    __slots__ = ("_count", "_index", "_progress")

    _SCALE = 1_000_000

    def __init__(self, progress: Progress | None, index: int, count: int) -> None:
        self._progress = progress
        self._index = index
        self._count = count

    def __call__(self, done: int, total: int) -> None:
        if self._progress is not None:
            part = done * self._SCALE // total if total else self._SCALE
            self._progress(self._index * self._SCALE + part, self._count * self._SCALE)

    def finish(self) -> None:
        self(1, 1)


def copy_log_to(log: Path, folder: Path, *, name: str | None = None) -> Path:
    """Copy ``log`` into ``folder`` as ``<name>.jsonl`` (default: this machine's name) and
    return that path.

    Only this machine writes that file, so no two machines ever append to one file. The log
    is append-only: when the copy is an earlier state of it, only the new bytes are added;
    otherwise (the log was pruned or repaired) the copy is replaced whole, atomically. Only
    complete lines are copied.
    """
    import os

    from jusage.hosts import host_name
    from jusage.reading import last_line_end
    from jusage.scan import probe

    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name or host_name()}.jsonl"
    size = _size(log)
    if size < 0:
        return target
    end = last_line_end(log, size)
    have = _size(target)
    if 0 <= have <= end and probe(target, have) == probe(log, have):
        with log.open("rb") as source, target.open("ab") as out:
            source.seek(have)
            _copy_bytes(source, out, end - have)
            out.flush()
            os.fsync(out.fileno())
        return target
    tmp = folder / f".{target.name}.{os.getpid()}.tmp"
    with log.open("rb") as source, tmp.open("wb") as out:
        _copy_bytes(source, out, end)
        out.flush()
        os.fsync(out.fileno())
    tmp.replace(target)
    return target


def _size(path: Path) -> int:
    """The size of the file at ``path``, -1 when there is none."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


def _copy_bytes(source: Any, out: Any, count: int) -> None:
    while count > 0:
        chunk = source.read(min(count, 1 << 20))
        if not chunk:
            break
        out.write(chunk)
        count -= len(chunk)
