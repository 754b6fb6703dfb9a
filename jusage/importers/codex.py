"""Import Codex CLI session logs (``rollout-*.jsonl``) into the ledger, exactly once.

Codex writes one JSON object a line: ``{"timestamp", "type", "payload"}`` with ``type`` one
of ``session_meta`` (first line: session ``id``, ``cwd``, and for forks ``forked_from_id`` or
``source.subagent.thread_spawn.parent_thread_id``), ``turn_context`` (the ``model`` of the
turns that follow), ``response_item``, ``event_msg`` and ``compacted``. Usage comes from
``event_msg`` lines whose payload ``type`` is ``token_count``::

    {"type":"token_count","info":{"total_token_usage":{...},"last_token_usage":{...}}}

with ``input_tokens`` (including ``cached_input_tokens``), ``output_tokens`` (including
``reasoning_output_tokens``) and ``total_tokens``.

Rules:

* A turn's usage is ``last_token_usage``; without it, the difference of the cumulative
  ``total_token_usage`` from the previous event of the file.
* A token count whose cumulative total did not change is a re-emission and is ignored;
  ``info: null`` heartbeats are ignored.
* The model is the one named by the most recent ``turn_context``.
* A turn is identified by the root of its session's fork lineage and the cumulative totals
  reached after it. A forked or subagent session that replays its parent's history
  reproduces the parent's cumulative totals under the same root, so the replay counts
  once, whatever its (rewritten) timestamps. Files are read in the order of the time in
  their names, so a parent is read before its forks.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from jusage.events import MAX_TS
from jusage.importers.common import (
    Found,
    ImportSummary,
    Progress,
    Tally,
    add_new,
    gc_paused,
    iso_to_unix,
    local_day,
    read_new_lines,
    scan_files,
    stat_paths,
)
from jusage.importers.index import ID_PREFIXES, MAX_COUNT, ImportIndex, key_of
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
            roots += [path / "sessions", path / "archived_sessions"]
        else:
            roots.append(path)
    found += scan_files([r.resolve() for r in roots], "rollout-")
    unique: dict[tuple[int, int], tuple[str, os.stat_result]] = {}
    for path_str, st in found:
        unique.setdefault((st.st_dev, st.st_ino), (path_str, st))
    # rollout-YYYY-MM-DDTHH-MM-SS-<uuid>.jsonl: the name orders sessions by start time.
    return sorted(unique.values(), key=lambda item: (Path(item[0]).name, item[0]))


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
            for lines, mark in read_new_lines(path, st, marks.get(path), tally):
                context = dict(mark.context) if last is None else last.context
                if not context.get("session"):
                    context["session"] = _session_from_name(path)
                found: list[Found] = []
                _parse(lines, context, roots, tally, found)
                add_new(index, SOURCE, found, tally, out)
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


def _parse(
    lines: list[bytes],
    ctx: dict[str, Any],
    roots: dict[str, str],
    tally: Tally,
    found: list[Found],
) -> None:
    """Read a batch of rollout lines; each turn goes to ``found``."""
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
        if type(payload) is not dict:
            continue
        if kind == "session_meta":
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
    found: list[Found],
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
    inp, cached, output, reasoning, _ = last
    if inp + output == 0:
        tally.duplicates += 1
        return
    ts = iso_to_unix(obj.get("timestamp"))
    if ts is None or not 0 <= ts <= MAX_TS or inp + output >= MAX_COUNT:
        tally.malformed += 1
        return
    session = str(ctx.get("session", ""))
    root = str(ctx.get("root") or roots.get(session, session))
    key = key_of("codex", root, *map(str, cumulative))
    cached = min(cached, inp)
    reasoning = min(reasoning, output)
    line: dict[str, Any] = {"ts": ts, "date": local_day(ts)}
    if ctx.get("cwd"):
        line["project"] = ctx["cwd"]
    if session:
        line["session"] = session
    if ctx.get("model"):
        line["model"] = ctx["model"]
    line.update(prompt=inp, completion=output, cached=cached)
    if reasoning:
        line["reasoning"] = reasoning
    line.update(total=inp + output, calls=1, id=f"{ID_PREFIX}{key:016x}", source=SOURCE)
    line["provider"] = "openai"
    if ctx.get("role"):
        line["role"] = ctx["role"]
    found.append((key, (inp, output, cached, 0, 0, ts), orjson.dumps(line), False))
