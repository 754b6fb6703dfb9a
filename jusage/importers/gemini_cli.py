"""Import Gemini CLI chat recordings (``~/.gemini/tmp/*/chats/``) into the ledger, exactly once.

Gemini CLI (``packages/core/src/services/chatRecordingService.ts``) appends one JSON object
a line to ``chats/session-<time>-<id>.jsonl`` (a subagent's to ``chats/<parent>/<id>.jsonl``):

* a metadata line ``{"sessionId", "projectHash", "startTime", "kind"?, "directories"?}``;
* messages ``{"id", "timestamp", "type", "model"?, "tokens"?, ...}``, written again under the
  same ``id`` whenever they change (tokens arrive after the text, tool calls after that);
* ``{"$set": {...}}`` metadata updates, some carrying the whole ``messages`` list again;
* ``{"$rewindTo": "<id>"}`` when the user rewinds the conversation.

Older versions kept the whole conversation as one object in ``session-*.json``, rewritten on
every change. ``tokens`` copies the API's ``usageMetadata``: ``input`` (promptTokenCount,
which includes ``cached``), ``output``, ``cached``, ``thoughts``, ``tool`` (tool-use prompt
tokens) and ``total`` = input + output + thoughts + tool.

Rules:

* A ``gemini`` message with tokens is one call, identified by its ``id`` (a UUID): every copy
  of it (rewrites, ``$set`` lists, the ``.jsonl`` a legacy ``.json`` was migrated into)
  counts once; a copy with more tokens than the one recorded adds a correcting event.
* ``prompt`` = input + tool, ``cached`` = cached, ``completion`` = output + thoughts,
  ``reasoning`` = thoughts. When ``total`` says ``input`` left the cached tokens out
  (total = input + cached + output + thoughts + tool), they are added to ``prompt``.
* A rewind removes messages from the conversation, not from the bill: usage recorded before
  it stays, and the messages written after it count as new calls.
* ``project`` is the folder Gemini CLI wrote in the project's ``.project_root``, else the
  session's first workspace directory, else the project folder's name (its hash or slug);
  ``provider`` is ``google``; a subagent's calls have ``role`` ``subagent``.
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
    json_reader,
    jsonl_reader,
    run_import,
    stamp,
    text,
)
from jusage.store import Store

__all__ = ["SOURCE", "default_gemini_cli_paths", "gemini_cli_files", "import_gemini_cli"]

SOURCE = "gemini-cli"


def default_gemini_cli_paths(env: Mapping[str, str] | None = None, *, found_only: bool = True) -> list[Path]:
    """Gemini CLI's folder, ``$GEMINI_CLI_HOME/.gemini`` (else ``~/.gemini``), when it exists
    (or ``found_only`` is false)."""
    env = os.environ if env is None else env
    return existing([env_folder(env, "GEMINI_CLI_HOME", home(env)) / ".gemini"], found_only)


def _roots(folder: Path) -> list[Path]:
    return [folder / "tmp"] if (folder / "tmp").is_dir() else [folder]


def _wanted(path: str) -> bool:
    name = path.rpartition(os.sep)[2]
    if name.endswith(".json"):
        return name.startswith("session-")
    return name.startswith("session-") or f"{os.sep}chats{os.sep}" in path


def gemini_cli_files(paths: Sequence[Path]) -> list[tuple[str, os.stat_result]]:
    """The chat recordings below ``paths`` (a ``.gemini`` folder, any folder, or files), oldest
    first: every ``.jsonl`` below a ``chats`` folder and every ``session-*.json[l]``."""
    return find_files(paths, _roots, _wanted, (".jsonl", ".json"))


def import_gemini_cli(
    store: Store,
    paths: Sequence[Path],
    *,
    progress: Progress | None = None,
    lock_timeout: float = -1,
) -> ImportSummary:
    """Import what is new in the Gemini CLI chat recordings below ``paths`` into ``store``.

    Incremental (a ``.jsonl`` is read from where the last run stopped, a ``.json`` again only
    when it changed), exactly once across runs, copies and concurrent runs, malformed lines
    skipped and counted. Raises
    :class:`~jusage.importers.common.ImportPathError` for a path that does not exist.
    """
    jobs = [
        (path, st, _read_whole if path.endswith(".json") else _read_lines)
        for path, st in gemini_cli_files(paths)
    ]
    return run_import(store, SOURCE, jobs, progress=progress, lock_timeout=lock_timeout)


def _parse_record(path: str, record: dict[str, Any], line: bytes, ctx: dict[str, Any], calls: Calls) -> None:
    if "root" not in ctx:
        ctx["root"], ctx["folder"] = _project_of(path)
    update = record.get("$set")
    if type(update) is dict:
        _metadata(update, ctx, calls)
    elif "$rewindTo" in record:
        return  # the calls before it were made, and billed
    elif type(record.get("sessionId")) is str and "projectHash" in record:
        _metadata(record, ctx, calls)
    else:
        _message(record, ctx, calls)


def _parse_whole(path: str, doc: Any, calls: Calls) -> None:
    if type(doc) is not dict:
        calls.malformed()
        return
    root, folder = _project_of(path)
    _metadata(doc, {"root": root, "folder": folder}, calls)


def _metadata(record: dict[str, Any], ctx: dict[str, Any], calls: Calls) -> None:
    """Take in a metadata record (the first line, a ``$set``, or a legacy whole file) and
    the messages it carries."""
    session = text(record.get("sessionId"))
    if session:
        ctx["session"] = session
    if record.get("kind") == "subagent":
        ctx["role"] = "subagent"
    dirs = record.get("directories")
    if type(dirs) is list and dirs and text(dirs[0]):
        ctx["dir"] = text(dirs[0])
    messages = record.get("messages")
    if type(messages) is list:
        for message in messages:
            if type(message) is dict:
                _message(message, ctx, calls)
            else:
                calls.malformed()


def _message(message: dict[str, Any], ctx: dict[str, Any], calls: Calls) -> None:
    tokens = message.get("tokens")
    ident = message.get("id")
    if message.get("type") != "gemini" or type(tokens) is not dict:
        return  # user and info messages, and replies whose tokens have not come yet
    try:
        if type(ident) is not str or not ident:
            raise Bad("a message without an id")
        inp, out, cached, thoughts, tool = (
            count(tokens.get(name)) for name in ("input", "output", "cached", "thoughts", "tool")
        )
        total = tokens.get("total")
        if cached and total == inp + cached + out + thoughts + tool:
            inp += cached  # this copy counted the cached tokens outside ``input``
        calls.add(
            key_of(SOURCE, ident),
            stamp(message.get("timestamp")),
            inp + tool,
            out + thoughts,
            cached=min(cached, inp),
            reasoning=thoughts,
            model=text(message.get("model")),
            session=ctx.get("session", ""),
            project=ctx.get("root") or ctx.get("dir") or ctx.get("folder", ""),
            provider="google",
            role=ctx.get("role", ""),
        )
    except Bad:
        calls.malformed()


def _project_of(path: str) -> tuple[str, str]:
    """``(root, folder)`` of a recording at ``<tmp>/<project>/chats/...``: the folder Gemini
    CLI wrote in ``<project>/.project_root`` (``""`` without one) and the project folder's
    own name (a hash or a slug); both ``""`` for a file outside a ``chats`` folder."""
    parts = Path(path).parts
    below = [i for i, part in enumerate(parts[:-1]) if part == "chats"]
    if not below:
        return "", ""
    folder = Path(*parts[: below[-1]])
    try:
        root = (folder / ".project_root").read_bytes()[:4096].decode("utf-8", "replace").strip()
    except OSError:
        root = ""
    return root, text(folder.name)


_read_lines = jsonl_reader(_parse_record)
_read_whole = json_reader(_parse_whole)
