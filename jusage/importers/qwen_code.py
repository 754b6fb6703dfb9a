"""Import Qwen Code chat logs (``~/.qwen/projects/*/chats/*.jsonl``) into the ledger, exactly once.

Qwen Code (``packages/core/src/services/chatRecordingService.ts``) appends one ``ChatRecord``
a line to ``projects/<sanitised cwd>/chats/<sessionId>.jsonl``: ``{"uuid", "parentUuid",
"sessionId", "timestamp", "type", "cwd", "version", ...}``. An ``assistant`` record carries
the ``model`` and the call's ``usageMetadata`` (Gemini's shape, filled by Qwen Code's
converters from each provider's usage)::

    {"promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount",
     "cachedContentTokenCount", "totalTokenCount"}

Rules:

* An assistant record with usage is one call, identified by its ``uuid``: ``/branch`` copies
  records verbatim (same ``uuid``) into a new session's file, and the copy counts once.
  Records are never rewritten, so a call never grows.
* ``prompt`` = promptTokenCount (+ toolUsePromptTokenCount when present). It already
  includes the cached tokens: Qwen Code's OpenAI converter copies ``prompt_tokens`` and its
  Anthropic one sums input, cache read and cache creation. ``cached`` =
  cachedContentTokenCount.
* ``completion`` = candidatesTokenCount, which includes the thoughts for OpenAI-compatible
  and Anthropic providers (``completion_tokens``, ``output_tokens``); only when
  ``totalTokenCount`` = prompt + candidates + thoughts (Gemini's own API, which keeps them
  apart) are the thoughts added. ``reasoning`` = thoughtsTokenCount.
* A record with only ``totalTokenCount`` (a provider that gave no split) puts it all in
  ``prompt``: the larger and cheaper side of an agent's calls, so a price is not overstated.
* ``project`` = the record's ``cwd``; a subagent's records (``isSidechain`` or ``agentId``)
  have ``role`` ``subagent``. Qwen Code does not record the provider, nor a cost.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jusage.importers.common import ImportSummary, Progress
from jusage.importers.index import key_of
from jusage.importers.records import (
    Bad,
    Calls,
    count,
    env_folder,
    existing,
    find_files,
    home,
    jsonl_reader,
    line_key,
    run_import,
    stamp,
    text,
)
from jusage.store import Store

__all__ = ["SOURCE", "default_qwen_code_paths", "import_qwen_code", "qwen_code_files"]

SOURCE = "qwen-code"


def default_qwen_code_paths(env: Mapping[str, str] | None = None, *, found_only: bool = True) -> list[Path]:
    """Qwen Code's runtime folder, ``$QWEN_RUNTIME_DIR``, else ``$QWEN_HOME`` (the folder of
    its settings), else ``~/.qwen``, when it exists (or ``found_only`` is false)."""
    env = os.environ if env is None else env
    folder = env_folder(env, "QWEN_RUNTIME_DIR", env_folder(env, "QWEN_HOME", home(env) / ".qwen"))
    return existing([folder], found_only)


def _roots(folder: Path) -> list[Path]:
    return [folder / "projects"] if (folder / "projects").is_dir() else [folder]


def qwen_code_files(paths: Sequence[Path]) -> list[tuple[str, os.stat_result]]:
    """The chat logs below ``paths`` (a Qwen Code folder, any folder, or files), oldest first."""
    return find_files(paths, _roots, lambda _: True, (".jsonl",))


def import_qwen_code(
    store: Store,
    paths: Sequence[Path],
    *,
    progress: Progress | None = None,
    lock_timeout: float = -1,
) -> ImportSummary:
    """Import what is new in the Qwen Code chat logs below ``paths`` into ``store``.

    Incremental (each log is read from where the last run stopped), exactly once across runs,
    copies and concurrent runs, malformed lines skipped and counted. Raises
    :class:`~jusage.importers.common.ImportPathError` for a path that does not exist.
    """
    jobs = [(path, st, _read) for path, st in qwen_code_files(paths)]
    return run_import(store, SOURCE, jobs, progress=progress, lock_timeout=lock_timeout)


def _parse(path: str, record: dict[str, Any], line: bytes, ctx: dict[str, Any], calls: Calls) -> None:
    usage = record.get("usageMetadata")
    if record.get("type") == "assistant" and usage is not None:
        _call(record, usage, line, calls)


def _call(record: dict[str, Any], usage: Any, line: bytes, calls: Calls) -> None:
    if type(usage) is not dict:
        raise Bad("usageMetadata is not an object")
    prompt, candidates, thoughts, cached, tool = (
        count(usage.get(name))
        for name in (
            "promptTokenCount",
            "candidatesTokenCount",
            "thoughtsTokenCount",
            "cachedContentTokenCount",
            "toolUsePromptTokenCount",
        )
    )
    total = count(usage.get("totalTokenCount"))
    completion = candidates
    if thoughts and total == prompt + candidates + thoughts + tool:
        completion += thoughts  # Gemini's API counts the thoughts apart from the candidates
    if prompt + completion == 0:
        prompt = total  # no split given
    ident = record.get("uuid")
    key = key_of(SOURCE, ident) if type(ident) is str and ident else line_key(SOURCE, line)
    sidechain = record.get("isSidechain") is True or bool(text(record.get("agentId")))
    calls.add(
        key,
        stamp(record.get("timestamp")),
        prompt + tool,
        completion,
        cached=cached,
        reasoning=thoughts,
        model=text(record.get("model")),
        session=text(record.get("sessionId")),
        project=text(record.get("cwd")),
        role="subagent" if sidechain else "",
    )


_read = jsonl_reader(_parse)
