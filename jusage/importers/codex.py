"""Import Codex CLI session logs (``rollout-*.jsonl``) into the ledger, exactly once.

Codex writes one JSON object a line: ``{"timestamp", "type", "payload"}`` with ``type`` one
of ``session_meta`` (first line: session ``id``, ``cwd``, and for forks ``forked_from_id`` or
``source.subagent.thread_spawn.parent_thread_id``), ``turn_context`` (the ``model`` of the
turns that follow), ``response_item``, ``event_msg`` and ``compacted``. Usage comes from
``event_msg`` lines whose payload ``type`` is ``token_count``::

    {"type":"token_count","info":{"total_token_usage":{...},"last_token_usage":{...}}}

with ``input_tokens`` (including ``cached_input_tokens``), ``output_tokens`` (including
``reasoning_output_tokens``) and ``total_tokens``. ``timestamp`` is an ISO 8601 time, or (as
ccusage reads it) a number: seconds since 1970, milliseconds when above 1e10.

The saved output of ``codex exec --json`` is read too (a file named with ``--path``):
``{"type": "thread.started", "thread_id"}``, then a ``turn.completed`` line per turn with
its ``usage`` (``input_tokens``, ``cached_input_tokens``, ``output_tokens``). As in
ccusage's reader, usage may also sit under ``data``, ``result`` or ``response``, with
OpenAI's other names (``prompt_tokens``, ``completion_tokens``...), and the time and model
in ``timestamp``/``created_at``/``createdAt`` and ``model``; a turn without a time is dated
by the file's modification time.

Rules:

* A turn's usage is ``last_token_usage``; without it, the difference of the cumulative
  ``total_token_usage`` from the previous event of the file.
* A token count whose cumulative total did not change is a re-emission and is ignored;
  ``info: null`` heartbeats are ignored.
* The model is the one named by the most recent ``turn_context``.
* A turn has two identities, and a copy of it matches either: its request (the time to the
  millisecond, the model and the five counts; ccusage keys requests so across files) and
  its place in its session's fork lineage (the lineage's root and the cumulative totals
  reached after it). A file that copies another's lines with their times (a branch without
  fork metadata, a goal rollout, files without ``session_meta``) repeats the requests; a
  forked or subagent session that replays its parent's history under rewritten times
  reproduces the parent's cumulative totals under the same root. Either way the turn counts
  once. Files are read in the order of the time in their names, so a parent is read before
  its forks. Events are named after the request (older ledgers', after the lineage).
* A session under ``archived_sessions/`` with the same relative path as one under
  ``sessions/`` of the same Codex home is that session: only the live file is read.
* A ``codex exec`` turn is identified by its thread and its place in it.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from jusage.events import MAX_TS
from jusage.importers.common import (
    ImportSummary,
    Progress,
    Tally,
    gc_paused,
    iso_to_unix,
    local_day,
    read_new_lines,
    scan_files,
    stat_paths,
)
from jusage.importers.index import ID_PREFIXES, MAX_COUNT, Counts, ImportIndex, key_of
from jusage.reading import too_deep
from jusage.store import Store

__all__ = ["ID_PREFIX", "SOURCE", "codex_files", "default_codex_paths", "import_codex"]

SOURCE = "codex"
ID_PREFIX = ID_PREFIXES[SOURCE]
_USAGE_KEYS = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_output_tokens",
    "total_tokens",
)


def default_codex_paths(env: Mapping[str, str] | None = None, *, found_only: bool = True) -> list[Path]:
    """``$CODEX_HOME`` when set, else ``~/.codex``; only when the folder exists (unless
    ``found_only`` is false)."""
    env = os.environ if env is None else env
    configured = env.get("CODEX_HOME", "").strip()
    home = Path(env.get("HOME") or Path.home())
    path = Path(configured).expanduser() if configured else home / ".codex"
    if not found_only:
        return [path]
    return [path.resolve()] if path.is_dir() else []


def codex_files(paths: Sequence[Path]) -> list[tuple[str, os.stat_result]]:
    """Rollout files below ``paths`` (a Codex home, any folder, or a file), in name order.

    For a Codex home, ``sessions/`` and ``archived_sessions/`` are searched. Raises
    :class:`~jusage.importers.common.ImportPathError` for a missing path.
    """
    roots: list[Path] = []
    found: list[tuple[str, os.stat_result]] = []
    for path, st in stat_paths(paths):
        if not path.is_dir():
            found.append((str(path.resolve()), st))
        elif (path / "sessions").is_dir() or (path / "archived_sessions").is_dir():
            live = scan_files([(path / "sessions").resolve()], "rollout-", ordered=False)
            found += live
            found += _archived_only(path, live)
        else:
            roots.append(path)
    found += scan_files([r.resolve() for r in roots], "rollout-")
    unique: dict[tuple[int, int], tuple[str, os.stat_result]] = {}
    for path_str, st in found:
        unique.setdefault((st.st_dev, st.st_ino), (path_str, st))
    # rollout-YYYY-MM-DDTHH-MM-SS-<uuid>.jsonl: the name orders sessions by start time.
    return sorted(unique.values(), key=lambda item: (Path(item[0]).name, item[0]))


def _archived_only(home: Path, live: list[tuple[str, os.stat_result]]) -> list[tuple[str, os.stat_result]]:
    """The rollouts of ``home/archived_sessions`` whose relative path no file of
    ``home/sessions`` (listed in ``live``) has: the live file is the session's newer state."""
    sessions = str((home / "sessions").resolve()) + os.sep
    kept = {path[len(sessions) :] for path, _ in live if path.startswith(sessions)}
    archive = (home / "archived_sessions").resolve()
    prefix = str(archive) + os.sep
    return [
        (path, st)
        for path, st in scan_files([archive], "rollout-", ordered=False)
        if not (path.startswith(prefix) and path[len(prefix) :] in kept)
    ]


def import_codex(
    store: Store,
    paths: Sequence[Path],
    *,
    progress: Progress | None = None,
    lock_timeout: float = -1,
) -> ImportSummary:
    """Import what is new in the Codex rollout files below ``paths`` into ``store``.

    Same guarantees as :func:`~jusage.importers.claude_code.import_claude_code`: incremental,
    exactly once across runs and concurrent runs, malformed lines skipped and counted.
    """
    files = codex_files(paths)
    tally = Tally()
    tally.files_seen = len(files)
    with gc_paused(), ImportIndex(store.path, timeout=lock_timeout) as index:
        marks = index.marks(SOURCE)
        roots: dict[str, str] = {}
        for mark in marks.values():
            session, root = mark.context.get("session"), mark.context.get("root")
            if isinstance(session, str) and isinstance(root, str):
                roots[session] = root
        total = sum(st.st_size for _, st in files) if progress else 0
        done = 0
        for path, st in files:
            out: list[bytes] = []
            last = None
            before = marks.get(path)
            if before is not None and before.context.get("keys") != KEYS_VERSION:
                before = None  # read by a version that kept fewer identities: all of it again
            for lines, mark in read_new_lines(path, st, before, tally):
                context = dict(mark.context) if last is None else last.context
                if not context.get("session"):
                    context["session"] = _session_from_name(path)
                context["keys"] = KEYS_VERSION
                found: list[Turn] = []
                _parse(lines, context, roots, tally, found, st.st_mtime_ns // 1_000_000)
                _settle(index, found, tally, out)
                last = dataclasses.replace(mark, context=context)
            if last is None:
                continue
            store.append_lines(out)
            index.set_mark(SOURCE, path, last)
            if progress:
                done += st.st_size
                progress(min(done, total), total)
        index.commit()
    return tally.summary(SOURCE)


KEYS_VERSION = 2
"""Kept in each file's mark: the turn identities its reading recorded in the index (2: the
request and the lineage). A file read by an earlier version is read again, once."""

Turn = tuple[tuple[int, ...], Counts, bytes]
"""A turn found: its keys (the first names its event), its counts and its event line."""


def _settle(index: ImportIndex, found: list[Turn], tally: Tally, out: list[bytes]) -> None:
    """Of ``found`` (in order), add to ``out`` the event lines of the turns none of whose keys
    the ledger holds, and record all their keys; the others are duplicates, and teach the
    index the keys they had that it did not know (a copy's lineage, a replay's request)."""
    known = index.known(SOURCE, [key for keys, _, _ in found for key in keys])
    for keys, counts, line in found:
        held = next((known[key] for key in keys if key in known), None)
        for key in keys:
            if key not in known:
                known[key] = held or counts
                index.put(SOURCE, key, known[key])
        if held is None:
            out.append(line)
            tally.events += 1
        else:
            tally.duplicates += 1


def _session_from_name(path: str) -> str:
    stem = Path(path).stem
    return stem[-36:] if len(stem) >= 36 else stem


def _usage(raw: Any) -> tuple[int, int, int, int, int] | None:
    if type(raw) is not dict:
        return None
    values = []
    for name in _USAGE_KEYS:
        v = raw.get(name) or 0
        if type(v) is not int or not 0 <= v < MAX_COUNT:
            return None
        values.append(v)
    return (values[0], values[1], values[2], values[3], values[4])


_ROLLOUT_KINDS = ("session_meta", "turn_context", "response_item", "event_msg", "compacted")


def _parse(
    lines: list[bytes],
    ctx: dict[str, Any],
    roots: dict[str, str],
    tally: Tally,
    found: list[Turn],
    mtime_ms: int,
) -> None:
    """Read a batch of rollout (or saved ``codex exec --json``) lines; each turn goes to
    ``found``. ``mtime_ms`` dates an exec turn that has no time of its own."""
    loads = orjson.loads
    for line in lines:
        if not line.strip():
            continue
        if too_deep(line):
            tally.malformed += 1
            continue
        try:
            obj = loads(line)
        except orjson.JSONDecodeError:
            tally.malformed += 1
            continue
        if type(obj) is not dict:
            tally.malformed += 1
            continue
        kind = obj.get("type")
        payload = obj.get("payload")
        if kind not in _ROLLOUT_KINDS:
            _exec_line(obj, ctx, tally, found, mtime_ms)
        elif type(payload) is not dict:
            continue
        elif kind == "session_meta":
            _session_meta(payload, ctx, roots)
        elif kind == "turn_context":
            model = payload.get("model")
            if isinstance(model, str) and model:
                ctx["model"] = model
            cwd = payload.get("cwd")
            if isinstance(cwd, str) and cwd:
                ctx["cwd"] = cwd
        elif kind == "event_msg" and payload.get("type") == "token_count":
            _token_count(obj, payload, ctx, roots, tally, found)


def _session_meta(payload: dict[str, Any], ctx: dict[str, Any], roots: dict[str, str]) -> None:
    session = payload.get("id")
    if isinstance(session, str) and session:
        ctx["session"] = session
    cwd = payload.get("cwd")
    if isinstance(cwd, str) and cwd:
        ctx["cwd"] = cwd
    parent = payload.get("forked_from_id")
    source = payload.get("source")
    if not parent and isinstance(source, dict):
        spawn = (source.get("subagent") or {}) if isinstance(source.get("subagent"), dict) else {}
        thread = spawn.get("thread_spawn") if isinstance(spawn, dict) else None
        parent = thread.get("parent_thread_id") if isinstance(thread, dict) else None
        ctx["role"] = "subagent"
    if isinstance(parent, str) and parent and parent != ctx.get("session"):
        ctx["root"] = roots.get(parent, parent)
    else:
        ctx["root"] = ctx.get("session", "")
    roots[str(ctx.get("session", ""))] = str(ctx["root"])


def _token_count(
    obj: dict[str, Any],
    payload: dict[str, Any],
    ctx: dict[str, Any],
    roots: dict[str, str],
    tally: Tally,
    found: list[Turn],
) -> None:
    info = payload.get("info")
    if type(info) is not dict:
        return  # a heartbeat (rate limits only)
    raw_totals, raw_last = info.get("total_token_usage"), info.get("last_token_usage")
    totals, last = _usage(raw_totals), _usage(raw_last)
    if (totals is None and raw_totals is not None) or (last is None and raw_last is not None):
        tally.malformed += 1  # counts that are not counts, or too large to be true
        return
    if totals is None and last is None:
        return
    tally.entries += 1
    prev = ctx.get("prev")
    prev_t = tuple(prev) if isinstance(prev, list) and len(prev) == 5 else None
    if totals is not None:
        if prev_t == totals:
            tally.duplicates += 1  # the same counters emitted again
            return
        if last is None:
            base = prev_t or (0, 0, 0, 0, 0)
            last = _usage({k: max(0, t - b) for k, t, b in zip(_USAGE_KEYS, totals, base, strict=True)})
        cumulative = totals
    else:
        assert last is not None
        base = prev_t or (0, 0, 0, 0, 0)
        cumulative = (
            base[0] + last[0],
            base[1] + last[1],
            base[2] + last[2],
            base[3] + last[3],
            base[4] + last[4],
        )
    ctx["prev"] = list(cumulative)
    assert last is not None
    if last[0] + last[2] == 0:
        tally.duplicates += 1
        return
    ms = _millis(obj.get("timestamp"))
    if ms is None:
        tally.malformed += 1
        return
    session = str(ctx.get("session", ""))
    root = str(ctx.get("root") or roots.get(session, session))
    lineage = key_of("codex", root, *map(str, cumulative))
    model = str(ctx.get("model") or "")
    _turn((_request_key(ms, model, last), lineage), ms // 1000, last, ctx, session, model, tally, found)


def _request_key(ms: int, model: str, usage: tuple[int, int, int, int, int]) -> int:
    """The key of a request: its time to the millisecond, its model and its five counts."""
    return key_of("codex-request", str(ms), model, *map(str, usage))


def _turn(
    keys: tuple[int, ...],
    ts: int,
    usage: tuple[int, int, int, int, int],
    ctx: dict[str, Any],
    session: str,
    model: str,
    tally: Tally,
    found: list[Turn],
) -> None:
    """Add to ``found`` the turn with these keys and ``usage`` (Codex's five counts), or count
    it malformed when its time or its tokens are out of the event schema's range."""
    inp, cached, output, reasoning, _ = usage
    if not 0 <= ts <= MAX_TS or inp + output >= MAX_COUNT:
        tally.malformed += 1
        return
    cached = min(cached, inp)
    reasoning = min(reasoning, output)
    line: dict[str, Any] = {"ts": ts, "date": local_day(ts)}
    if ctx.get("cwd"):
        line["project"] = ctx["cwd"]
    if session:
        line["session"] = session
    if model:
        line["model"] = model
    line.update(prompt=inp, completion=output, cached=cached)
    if reasoning:
        line["reasoning"] = reasoning
    line.update(total=inp + output, calls=1, id=f"{ID_PREFIX}{keys[0]:016x}", source=SOURCE)
    line["provider"] = "openai"
    if ctx.get("role"):
        line["role"] = ctx["role"]
    found.append((keys, (inp, output, cached, 0, 0, ts), orjson.dumps(line)))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def _millis(stamp: Any) -> int | None:
    """Milliseconds since 1970 (floored) of a ``timestamp``: an ISO 8601 time, or a number of
    seconds (milliseconds when above 1e10, as ccusage reads it); ``None`` for anything else."""
    if type(stamp) is int or type(stamp) is float:
        if not (math.isfinite(stamp) and stamp >= 0):
            return None
        return int(stamp) if stamp > 1e10 else int(stamp * 1000)
    if type(stamp) is not str:
        return None
    try:
        when = datetime.fromisoformat(stamp)
        if when.tzinfo is None:
            when = when.astimezone()  # no offset given: the local time of this machine
        millis: int = (when - _EPOCH) // _MILLISECOND
    except (ValueError, OverflowError, OSError):
        seconds = iso_to_unix(stamp)  # a leap second, an odd fraction: whole seconds
        return None if seconds is None else seconds * 1000
    return millis


# -- saved ``codex exec --json`` output ---------------------------------------------------------

_INPUT = ("input_tokens", "prompt_tokens", "input")
_CACHED = ("cached_input_tokens", "cache_read_input_tokens", "cached_tokens")
_OUTPUT = ("output_tokens", "completion_tokens", "output")
_REASONING = ("reasoning_output_tokens", "reasoning_tokens")
_TIMES = ("timestamp", "created_at", "createdAt")


def _exec_line(
    obj: dict[str, Any], ctx: dict[str, Any], tally: Tally, found: list[Turn], mtime_ms: int
) -> None:
    """A line of ``codex exec --json`` output: a thread's start, or a turn's usage."""
    if obj.get("type") == "thread.started":
        thread = obj.get("thread_id")
        if isinstance(thread, str) and thread:
            ctx["thread"], ctx["turns"] = thread, 0
        return
    places = [obj] + [obj[name] for name in ("data", "result", "response") if type(obj.get(name)) is dict]
    raw = next((place["usage"] for place in places if type(place.get("usage")) is dict), None)
    if raw is None:
        return
    usage = _exec_usage(raw)
    if usage is None:
        tally.malformed += 1
        return
    if not any(usage):
        return
    tally.entries += 1
    turns = ctx.get("turns")
    number = turns if type(turns) is int else 0
    ctx["turns"] = number + 1
    thread = str(ctx.get("thread") or ctx.get("session", ""))
    stamps = [place[name] for place in places for name in _TIMES if place.get(name) is not None]
    ms = _millis(stamps[0]) if stamps else mtime_ms
    models = [place.get("model") for place in places if isinstance(place.get("model"), str)]
    model = next((m for m in models if m), "") or str(ctx.get("model") or "")
    if ms is None:
        tally.malformed += 1
        return
    key = key_of("codex-exec", thread, str(number), *map(str, usage))
    _turn((key,), ms // 1000, usage, ctx, thread, model, tally, found)


def _exec_usage(raw: dict[str, Any]) -> tuple[int, int, int, int, int] | None:
    """Codex's five counts from an exec line's ``usage`` (OpenAI's other names accepted);
    ``None`` when a count is not a whole number below the schema's limit."""
    values: list[int] = []
    for names in (_INPUT, _CACHED, _OUTPUT, _REASONING, ("total_tokens",)):
        value = next((raw[name] for name in names if raw.get(name) is not None), 0)
        if type(value) is not int or not 0 <= value < MAX_COUNT:
            return None
        values.append(value)
    inp, cached, output, reasoning, total = values
    return (inp, cached, output, reasoning, total or inp + output)
