"""Import Amp threads (``~/.local/share/amp/threads/T-*.json``) into the ledger, exactly once.

Amp's client is not open source; the format here is the one ccusage's Amp adapter reads
(``rust/crates/ccusage/src/adapter/amp``, and its earlier TypeScript loader with a schema of
the fields): one JSON object per thread, rewritten whole as the thread goes on::

    {"id": "T-<uuid>", "created": <ms>, "messages": [
        {"role": "assistant", "messageId": 3, "usage": {"model", "timestamp",
         "inputTokens", "outputTokens", "cacheCreationInputTokens",
         "cacheReadInputTokens", "totalInputTokens", "credits"}}, ...],
     "usageLedger": {"events": [{"id", "timestamp", "model", "credits",
         "tokens": {"input", "output"}, "operationType", "fromMessageId", "toMessageId"}]}}

Older threads carry the ``usageLedger``; current ones only ``messages[].usage``.

Rules:

* A thread with ledger events is read from them (as ccusage does); each event is one call,
  its cache tokens taken from the assistant message it led to (``toMessageId``). Otherwise
  each assistant message with usage is one call.
* A call is identified by its thread and the message it produced (``toMessageId`` or
  ``messageId``), so a thread read once from its messages and later from a ledger counts
  each call once; an event without a message is identified by its own ``id``. A call seen
  again with more tokens adds a correcting event.
* ``inputTokens`` leaves the cache out (Anthropic's convention: 10 + 986 + 11372 =
  ``totalInputTokens`` 12368 in ccusage's sample), so ``prompt`` = ``totalInputTokens`` when
  given, else input + cache creation + cache read; ``cached`` = cacheReadInputTokens,
  ``cache_write`` = cacheCreationInputTokens, ``completion`` = outputTokens.
* ``session`` = the thread id. ``project`` = the first workspace tree of ``env.initial.trees``
  when the thread has one (not in ccusage's schema: unverified). Amp's ``credits`` are not
  dollars that jusage can vouch for, so no ``cost_usd`` is written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson

from jusage.importers.common import ImportSummary, Progress
from jusage.importers.index import key_of
from jusage.importers.records import (
    Bad,
    Calls,
    count,
    data_home,
    existing,
    find_files,
    json_reader,
    run_import,
    stamp,
    text,
)
from jusage.store import Store

__all__ = ["SOURCE", "amp_files", "default_amp_paths", "import_amp"]

SOURCE = "amp"


def default_amp_paths(env: Mapping[str, str] | None = None, *, found_only: bool = True) -> list[Path]:
    """Amp's data folders: each entry of ``$AMP_DATA_DIR`` (comma-separated, as ccusage reads
    it), else ``$XDG_DATA_HOME/amp`` (or ``~/.local/share/amp``); those that exist (all of
    them when ``found_only`` is false)."""
    env = os.environ if env is None else env
    configured = [p.strip() for p in env.get("AMP_DATA_DIR", "").split(",") if p.strip()]
    return existing([Path(p).expanduser() for p in configured] or [data_home(env) / "amp"], found_only)


def _roots(folder: Path) -> list[Path]:
    return [folder / "threads"] if (folder / "threads").is_dir() else [folder]


def amp_files(paths: Sequence[Path]) -> list[tuple[str, os.stat_result]]:
    """The thread files (``T-*.json``) below ``paths`` (an Amp data folder, any folder, or
    files), oldest first."""
    return find_files(paths, _roots, lambda path: path.rpartition(os.sep)[2].startswith("T-"), (".json",))


def import_amp(
    store: Store,
    paths: Sequence[Path],
    *,
    progress: Progress | None = None,
    lock_timeout: float = -1,
) -> ImportSummary:
    """Import what is new in the Amp threads below ``paths`` into ``store``.

    Incremental (a thread is read again only when its file changed), exactly once across
    runs, copies and concurrent runs, malformed threads and calls skipped and counted.
    Raises :class:`~jusage.importers.common.ImportPathError` for a path that does not exist.
    """
    jobs = [(path, st, _read) for path, st in amp_files(paths)]
    return run_import(store, SOURCE, jobs, progress=progress, lock_timeout=lock_timeout)


def _parse(path: str, doc: Any, calls: Calls) -> None:
    if type(doc) is not dict:
        calls.malformed()
        return
    thread = text(doc.get("id")) or Path(path).stem
    project = _project(doc)
    messages = doc.get("messages")
    usages: dict[str, dict[str, Any]] = {}
    for message in messages if type(messages) is list else []:
        if type(message) is not dict or message.get("role") != "assistant":
            continue
        if type(message.get("usage")) is dict:
            usages.setdefault(_ident(message.get("messageId")) or f"#{len(usages)}", message)
        elif message.get("usage") is not None:
            calls.malformed()
    ledger = doc.get("usageLedger")
    events = ledger.get("events") if type(ledger) is dict else None
    if type(events) is list:
        for event in events:
            try:
                _event(event, usages, thread, project, calls)
            except Bad:
                calls.malformed()
        return
    for ident, message in usages.items():
        try:
            _message(ident, message, thread, project, calls)
        except Bad:
            calls.malformed()


def _event(event: Any, usages: dict[str, dict[str, Any]], thread: str, project: str, calls: Calls) -> None:
    if type(event) is not dict or type(event.get("tokens")) is not dict:
        raise Bad("a ledger event without tokens")
    tokens = event["tokens"]
    target = _ident(event.get("toMessageId"))
    usage = usages[target]["usage"] if target in usages else {}
    if target:
        key = key_of(SOURCE, thread, "message", target)
    else:
        key = key_of(SOURCE, thread, "event", text(event.get("id")) or _canonical(event))
    write, read = count(usage.get("cacheCreationInputTokens")), count(usage.get("cacheReadInputTokens"))
    inp, out, total = count(tokens.get("input")), count(tokens.get("output")), count(tokens.get("total"))
    calls.add(
        key,
        stamp(event.get("timestamp")),
        inp + write + read if inp + out else total,
        out,
        cached=read,
        cache_write=write,
        model=text(event.get("model")),
        session=thread,
        project=project,
    )


def _message(ident: str, message: dict[str, Any], thread: str, project: str, calls: Calls) -> None:
    usage = message["usage"]
    inp, out, write, read, given, total = (
        count(usage.get(name))
        for name in (
            "inputTokens",
            "outputTokens",
            "cacheCreationInputTokens",
            "cacheReadInputTokens",
            "totalInputTokens",
            "totalTokens",
        )
    )
    prompt = given if given and given >= write + read else inp + write + read
    if prompt + out == 0:
        prompt = total  # no split given
    if ident.startswith("#"):  # no messageId: the usage itself tells the call apart
        ident = _canonical(usage)
    calls.add(
        key_of(SOURCE, thread, "message", ident),
        stamp(usage.get("timestamp") or message.get("timestamp")),
        prompt,
        out,
        cached=read,
        cache_write=write,
        model=text(usage.get("model")) or text(message.get("model")),
        session=thread,
        project=project,
    )


def _canonical(value: Any) -> str:
    """``value`` as canonical JSON text, to tell apart records without an id of their own."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:  # nested deeper than orjson writes
        raise Bad("a record too deeply nested") from None


def _ident(value: Any) -> str:
    """A message id (a number in Amp's files) as text; ``""`` for anything else."""
    if type(value) is int:
        return str(value)
    return text(value)


def _project(doc: dict[str, Any]) -> str:
    env = doc.get("env")
    initial = env.get("initial") if type(env) is dict else None
    trees = initial.get("trees") if type(initial) is dict else None
    tree = trees[0] if type(trees) is list and trees else None
    uri = text(tree.get("uri")) if type(tree) is dict else ""
    if not uri.startswith("file://"):
        return ""
    try:
        return text(unquote(urlsplit(uri).path))
    except ValueError:  # not a URI after all
        return ""


_read = json_reader(_parse)
