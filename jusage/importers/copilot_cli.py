"""Import GitHub Copilot CLI's OpenTelemetry file export (``~/.copilot/otel/*.jsonl``), exactly once.

Copilot CLI keeps no usage history of its own on disk; with OpenTelemetry exported to a file
(``COPILOT_OTEL_ENABLED=true``, ``COPILOT_OTEL_EXPORTER_TYPE=file``,
``COPILOT_OTEL_FILE_EXPORTER_PATH=<file>``) it appends one JSON object a line: spans, metrics
and log records. Each model call is a ``chat`` span (``"type": "span"``, ``name``
``"chat <model>"``, ``traceId``, ``spanId``, ``startTime``/``endTime`` as ``[seconds,
nanoseconds]``) whose ``attributes`` follow the OpenTelemetry GenAI conventions::

    gen_ai.operation.name = "chat", gen_ai.response.model, gen_ai.conversation.id,
    gen_ai.usage.input_tokens, gen_ai.usage.output_tokens,
    gen_ai.usage.cache_read.input_tokens, gen_ai.usage.cache_creation.input_tokens,
    gen_ai.usage.reasoning.output_tokens

(before Copilot CLI's changelog entry "emit ... per the GenAI semantic conventions spec" the
last three were written with underscores, ``gen_ai.usage.cache_read_input_tokens`` and so
on; both are read).

Rules:

* A chat span is one call, identified by ``(traceId, spanId)``: a file copied, or exported
  twice, counts once. ``invoke_agent`` spans (the sum of a turn's calls), metrics and log
  records are not read, so nothing counts twice.
* ``prompt`` = input_tokens, which includes the cache reads and writes (the conventions say
  so, and Copilot CLI's changelog: "Ensure input token usage includes cached"); an
  ``input_tokens`` smaller than the cache tokens is taken to leave them out, and they are
  added. ``completion`` = output_tokens, which includes the reasoning tokens (Copilot shows
  reasoning "as a parenthetical on output token count"); reasoning larger than the output
  is taken to be apart from it, and added.
* ``session`` = gen_ai.conversation.id; ``provider`` = gen_ai.provider.name (or
  gen_ai.system) when the span names one. Copilot is a subscription: no cost is recorded.
"""

from __future__ import annotations

import math
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

__all__ = ["SOURCE", "copilot_cli_files", "default_copilot_cli_paths", "import_copilot_cli"]

SOURCE = "copilot-cli"

_CACHE_READ = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")
_CACHE_WRITE = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
)
_REASONING = (
    "gen_ai.usage.reasoning.output_tokens",
    "gen_ai.usage.reasoning_output_tokens",
    "gen_ai.usage.reasoning_tokens",
)


def default_copilot_cli_paths(env: Mapping[str, str] | None = None, *, found_only: bool = True) -> list[Path]:
    """``$COPILOT_HOME/otel`` (else ``~/.copilot/otel``) and the file named by
    ``$COPILOT_OTEL_FILE_EXPORTER_PATH``, those that exist (all when ``found_only`` is false)."""
    env = os.environ if env is None else env
    out = existing([env_folder(env, "COPILOT_HOME", home(env) / ".copilot") / "otel"], found_only)
    exported = env.get("COPILOT_OTEL_FILE_EXPORTER_PATH", "").strip()
    if not found_only:
        return [*out, Path(exported).expanduser()] if exported else out
    if exported and Path(exported).expanduser().is_file():
        out.append(Path(exported).expanduser().resolve())
    return out


def copilot_cli_files(paths: Sequence[Path]) -> list[tuple[str, os.stat_result]]:
    """The export files below ``paths`` (folders searched for ``*.jsonl``, or files), oldest
    first, each once."""
    return find_files(paths, lambda folder: [folder], lambda _: True, (".jsonl",))


def import_copilot_cli(
    store: Store,
    paths: Sequence[Path],
    *,
    progress: Progress | None = None,
    lock_timeout: float = -1,
) -> ImportSummary:
    """Import what is new in the Copilot CLI OpenTelemetry exports below ``paths``.

    Incremental (each export is read from where the last run stopped), exactly once across
    runs, copies and concurrent runs, malformed lines skipped and counted. Raises
    :class:`~jusage.importers.common.ImportPathError` for a path that does not exist.
    """
    jobs = [(path, st, _read) for path, st in copilot_cli_files(paths)]
    return run_import(store, SOURCE, jobs, progress=progress, lock_timeout=lock_timeout)


def _parse(path: str, record: dict[str, Any], line: bytes, ctx: dict[str, Any], calls: Calls) -> None:
    attrs = record.get("attributes")
    if type(attrs) is dict and _is_chat_span(record, attrs):
        _call(record, attrs, line, calls)


_SPAN_KEYS = ("spanId", "traceId", "startTime", "endTime", "duration", "kind")


def _is_chat_span(record: dict[str, Any], attrs: dict[str, Any]) -> bool:
    """A span (``"type": "span"``, or without a type a named record with a span's fields: a
    log record repeats a call's usage and is not one) of a ``chat`` operation."""
    name = record.get("name")
    if "type" in record:
        if record["type"] != "span":
            return False
    elif type(name) is not str or not any(key in record for key in _SPAN_KEYS):
        return False
    return attrs.get("gen_ai.operation.name") == "chat" or (type(name) is str and name.startswith("chat "))


def _first(attrs: dict[str, Any], names: Sequence[str]) -> int:
    for name in names:
        if attrs.get(name) is not None:
            return count(attrs[name])
    return 0


def _call(record: dict[str, Any], attrs: dict[str, Any], line: bytes, calls: Calls) -> None:
    inp = count(attrs.get("gen_ai.usage.input_tokens"))
    out = count(attrs.get("gen_ai.usage.output_tokens"))
    cache_read = _first(attrs, _CACHE_READ)
    cache_write = _first(attrs, _CACHE_WRITE)
    reasoning = _first(attrs, _REASONING)
    if inp < cache_read + cache_write:
        inp += cache_write if inp >= cache_read else cache_read + cache_write
    if reasoning > out:
        out += reasoning
    trace, span = _ids(record)
    key = key_of(SOURCE, trace, span) if trace and span else line_key(SOURCE, line)
    calls.add(
        key,
        _when(record),
        inp,
        out,
        cached=cache_read,
        cache_write=cache_write,
        reasoning=reasoning,
        model=text(attrs.get("gen_ai.response.model")) or text(attrs.get("gen_ai.request.model")),
        session=text(attrs.get("gen_ai.conversation.id")),
        provider=text(attrs.get("gen_ai.provider.name")) or text(attrs.get("gen_ai.system")),
    )


def _ids(record: dict[str, Any]) -> tuple[str, str]:
    context = record.get("spanContext")
    if type(context) is dict:
        return text(context.get("traceId")), text(context.get("spanId"))
    return text(record.get("traceId")), text(record.get("spanId"))


def _when(record: dict[str, Any]) -> int:
    """Unix seconds of a span's end (else its start): an ``[s, ns]`` pair, a number of
    seconds, milliseconds or nanoseconds since 1970, or an ISO 8601 string."""
    for name in ("endTime", "startTime"):
        value = record.get(name)
        if value is None:
            continue
        if type(value) is list and len(value) == 2:
            return count(value[0])
        if type(value) is str:
            return stamp(value)
        if type(value) is float and math.isfinite(value) and value >= 0:
            value = int(value)
        n = count(value)
        # 1e11 s is the year 5138, 1e14 ms the year 5138, 1e17 us the year 5138.
        return n if n < 10**11 else n // 1000 if n < 10**14 else n // 10**6 if n < 10**17 else n // 10**9
    raise Bad("a span without a time")


_read = jsonl_reader(_parse)
