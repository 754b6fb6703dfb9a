"""Import Claude Code transcripts (``projects/**/*.jsonl``) into the ledger, exactly once.

A transcript line with usage looks like (abridged)::

    {"type":"assistant","timestamp":"2025-09-01T10:00:00.123Z","sessionId":"…","cwd":"/src/x",
     "isSidechain":false,"requestId":"req_…","costUSD":0.01,
     "message":{"id":"msg_…","model":"claude-sonnet-4-20250514",
                "usage":{"input_tokens":3,"output_tokens":120,
                         "cache_creation_input_tokens":900,"cache_read_input_tokens":4000,
                         "cache_creation":{"ephemeral_5m_input_tokens":900,
                                           "ephemeral_1h_input_tokens":0}}}}

Subagent activity also appears as ``progress`` lines in the parent transcript, wrapping the
subagent's assistant line under ``data.message``; they are read too (and deduplicated against
the subagent's own file).

Rules (see ``docs/ccusage-differences.md`` for how they compare with ccusage):

* One message is identified by ``(message.id, requestId)``; every copy of it (streaming
  chunks, resumed sessions, sidechain replays, progress mirrors, later runs) counts once.
  A sidechain copy with the same ``message.id`` and another ``requestId`` is the same
  message too (a ``/btw`` side question replays main-line responses so; ccusage's rule);
  two main-line copies under different ``requestId`` s are two requests. Lines without
  ``message.id`` are identified by their ``uuid``.
* Of the copies, a main-line one wins over a sidechain one, else the one with the most
  tokens. When a larger copy of the same key arrives after a smaller one was recorded, a
  correcting event adds the difference (same ``ts`` as the original); a copy matched by its
  message id alone adds nothing once another was recorded.
* ``<synthetic>`` messages, and user or summary lines, never count.
* Anthropic's ``input_tokens`` excludes the cache; jusage's ``prompt`` includes it.
"""

from __future__ import annotations

import hashlib
import os
from array import array
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import msgspec
import orjson

from jusage.events import MAX_COST_USD, MAX_TS
from jusage.importers.common import (
    ImportPathError,
    ImportSummary,
    Progress,
    Tally,
    by_age,
    changed_since,
    correction,
    gc_paused,
    iso_to_unix,
    local_day,
    read_new_blocks,
    scan_files,
    scan_tree,
    stat_paths,
    total_bytes,
)
from jusage.importers.index import ID_PREFIXES, MAX_COUNT, Counts, FileMark, ImportIndex
from jusage.parallel import ordered_map
from jusage.reading import too_deep
from jusage.store import Store

__all__ = [
    "ID_PREFIX",
    "SOURCE",
    "ImportPathError",
    "claude_files",
    "default_claude_paths",
    "import_claude_code",
]

SOURCE = "claude-code"
ID_PREFIX = ID_PREFIXES[SOURCE]
"""Event ids are ``cc-`` + 16 hex digits of the message key; corrections add ``#c<total>``."""


def default_claude_paths(env: Mapping[str, str] | None = None, *, found_only: bool = True) -> list[Path]:
    """Claude Code config folders to import from.

    ``$CLAUDE_CONFIG_DIR`` (comma-separated) when set, else ``$XDG_CONFIG_HOME/claude`` (or
    ``~/.config/claude``) and ``~/.claude``; only folders that exist are returned, unless
    ``found_only`` is false (then every folder looked for, to say where).
    """
    env = os.environ if env is None else env
    configured = env.get("CLAUDE_CONFIG_DIR", "").strip()
    if configured:
        candidates = [Path(p.strip()).expanduser() for p in configured.split(",") if p.strip()]
    else:
        home = Path(env.get("HOME") or Path.home())
        xdg = env.get("XDG_CONFIG_HOME", "").strip()
        candidates = [(Path(xdg) if xdg else home / ".config") / "claude", home / ".claude"]
    if not found_only:
        return candidates
    out: list[Path] = []
    for path in candidates:
        resolved = path.resolve()
        if resolved.is_dir() and resolved not in out:
            out.append(resolved)
    return out


def claude_files(paths: Sequence[Path]) -> list[tuple[str, os.stat_result]]:
    """The transcripts below ``paths``, oldest first.

    A path may be a config folder (its ``projects/`` is searched), any folder (searched
    recursively) or one ``.jsonl`` file. Raises :class:`ImportPathError` for a missing path.
    """
    found, singles = _candidates(paths)
    return by_age(found) + singles


def _roots(paths: Sequence[Path]) -> tuple[list[Path], list[tuple[str, os.stat_result]]]:
    """The folders to search and the files named on their own (those not below a folder)."""
    roots: list[Path] = []
    files: list[tuple[str, os.stat_result]] = []
    for path, st in stat_paths(paths):
        if path.is_dir():
            roots.append((path / "projects" if (path / "projects").is_dir() else path).resolve())
        else:
            files.append((str(path.resolve()), st))
    prefixes = tuple(f"{root}{os.sep}" for root in roots)
    singles: list[tuple[str, os.stat_result]] = []
    inodes: set[tuple[int, int]] = set()
    for path_str, st in files:  # a file named twice, or also found below a folder, counts once
        if not path_str.startswith(prefixes) and (st.st_dev, st.st_ino) not in inodes:
            singles.append((path_str, st))
            inodes.add((st.st_dev, st.st_ino))
    return roots, singles


def _candidates(
    paths: Sequence[Path],
) -> tuple[list[tuple[str, os.stat_result]], list[tuple[str, os.stat_result]]]:
    """The transcripts found below folders (in no order) and those named as files (in order)."""
    roots, singles = _roots(paths)
    return scan_files(roots, "", ordered=False), singles


def import_claude_code(
    store: Store,
    paths: Sequence[Path],
    *,
    progress: Progress | None = None,
    lock_timeout: float = -1,
    workers: int | None = None,
) -> ImportSummary:
    """Import what is new in the Claude Code transcripts below ``paths`` into ``store``.

    Safe to run again and concurrently with any import: the ledger's import index (see
    :mod:`jusage.importers.index`) is locked for the whole run (waiting up to
    ``lock_timeout`` seconds, ``-1`` for ever, then raising
    :class:`~jusage.importers.index.ImportBusyError`). Large imports parse files in
    ``workers`` processes (default: one, in this process). Raises :class:`ImportPathError`
    for a path that does not exist and ``OSError`` when the ledger cannot be written.
    Malformed lines are skipped and counted, never fatal.
    """
    roots, singles = _roots(paths)
    tally = Tally()
    with gc_paused(), ImportIndex(store.path, timeout=lock_timeout) as index:
        # Only files whose stat differs from their mark's are read: a re-run costs about
        # one stat per transcript.
        stamps = index.stamps(SOURCE, roots)
        seen, found = scan_tree(roots, "", ordered=False, stamps=stamps)
        tally.files_seen = seen + len(singles)
        found.sort(key=lambda item: (item[1].st_mtime_ns, item[0]))
        marks = index.marks(SOURCE, [p for p, _ in found if p in stamps] + [p for p, _ in singles])
        jobs = [(p, st, marks.get(p)) for p, st in found]
        jobs += [(p, st, marks.get(p)) for p, st in singles if changed_since(st, marks.get(p))]
        # Files that replay the main conversation last: the main-line copies are met first.
        jobs.sort(key=lambda job: job[0].rpartition(os.sep)[2].startswith(_REPLAYS))
        total = total_bytes(jobs)
        n = (workers or 1) if total >= PARALLEL_BYTES else 1
        chunk = max(1, min(256, len(jobs) // (16 * n)))
        done = 0
        out: list[bytes] = []
        pending = 0
        for path, mark, keys, counts, aliases, blob, file_tally in ordered_map(
            _parse_file, jobs, n, chunksize=chunk
        ):
            tally.merge(file_tally)
            if mark is None:
                continue
            if keys:
                pending += _settle(keys, counts, aliases, blob, index, tally, out)
                if pending >= 20000:
                    store.append_lines(out)
                    out = []
                    pending = 0
            before = marks.get(path)
            done += mark.offset - (before.offset if before and before.offset <= mark.offset else 0)
            index.set_mark(SOURCE, path, mark)
            if progress:
                progress(min(done, total), total)
        store.append_lines(out)
        index.commit()
    return tally.summary(SOURCE)


_REPLAYS = ("agent-aside_question-", "agent-acompact-")
"""Names of the subagent transcripts that replay the main conversation: a ``/btw`` side
question's, and the one that compacts the context."""

PARALLEL_BYTES = 32 << 20
"""Below this many bytes to read, an import stays in one process (starting workers costs)."""


# -- decoding one line ----------------------------------------------------------------------
#
# Most lines with usage have one shape; msgspec decodes just the fields below from them (it
# skips the rest, content blocks and all, without building objects), which is several times
# cheaper than a full parse. Anything that does not fit these types exactly (a missing
# ``usage``, a string where a count should be, a ``message`` that is not an object...) goes
# to the general path, which parses the whole line with orjson and applies the same rules.


class _Split(msgspec.Struct):
    ephemeral_5m_input_tokens: int | None = None
    ephemeral_1h_input_tokens: int | None = None


class _Usage(msgspec.Struct):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_creation: _Split | None = None


class _Message(msgspec.Struct):
    usage: _Usage
    id: str | None = None
    model: str | None = None


class _Data(msgspec.Struct):
    message: _Line | None = None


class _Line(msgspec.Struct):
    message: _Message | None = None
    data: _Data | None = None
    type: str | None = None
    isSidechain: bool | None = None
    requestId: str | None = None
    uuid: str | None = None
    timestamp: str | None = None
    cwd: str | None = None
    sessionId: str | None = None
    costUSD: float | None = None


_decode_line = msgspec.json.Decoder(_Line).decode

Record = tuple[Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, Any]
"""What an entry carries to :func:`_winners`, not yet checked: input, output, cache write,
cache read, 5m and 1h split (``None`` without a split), timestamp, project, session, model
and costUSD, exactly as they appeared."""


Parsed = tuple[str, FileMark | None, bytes, bytes, bytes, bytes, Tally]
"""What a worker sends back for one file, in a compact form that is cheap to pickle: the
path, the mark after it, the winners' keys (an ``array("Q")``'s bytes), their counts and ts
(six per key, an ``array("q")``'s bytes), their message aliases (two per key, see
:func:`_winners`) and their event lines joined by newlines, and the file's counters."""


def _parse_file(job: tuple[str, os.stat_result, FileMark | None]) -> Parsed:
    """Read the new part of one transcript: the best copy of each message in it."""
    path, st, mark = job
    tally = Tally()
    pending: dict[Any, Entry] = {}
    messages: Messages = {}
    final = None
    for block, after in read_new_blocks(path, st, mark, tally):
        if block:
            _collect(_usage_lines(block, tally), pending, messages, tally)
        final = after
    keys, counts, aliases, blob = _winners(pending, tally)
    return path, final, keys, counts, aliases, blob, tally


def _usage_lines(block: bytes, tally: Tally) -> list[bytes]:
    """The lines of ``block`` that mention ``"usage"``; the others only have their shape
    checked (a line that is not blank and not ``{...}`` is counted as malformed).

    Most lines of a transcript carry no usage (prompts, tool results, summaries), and most
    bytes are in them. So the block is not split into lines (a byte-by-byte loop that also
    copies every line): ``"usage"`` is searched for in the whole block, and only the lines it
    is found in are sliced out. Every newline is still visited (``find``, in C) to check the
    shape of the line before it by looking at two bytes; a line that does not pass that look
    (blank, CRLF, trailing space, not JSON) gets the exact check.
    """
    find = block.find
    out: list[bytes] = []
    malformed = 0
    size = len(block)
    start = 0
    hit = find(b'"usage"')
    while start < size:
        end = find(b"\n", start)
        if end < 0:
            end = size
        if block[start] != 123 or block[end - 1] != 125:  # not "{...}": look closer
            line = block[start:end]
            if b'"usage"' not in line:
                if line.strip() and not (line.startswith(b"{") and line.rstrip().endswith(b"}")):
                    malformed += 1
                start = end + 1
                continue
        if 0 <= hit < end:
            out.append(block[start:end])
            hit = find(b'"usage"', end)
        start = end + 1
    tally.malformed += malformed
    return out


def _collect(lines: list[bytes], pending: dict[Any, Entry], messages: Messages, tally: Tally) -> None:
    """Keep, per message, its best copy among ``lines`` (and those met before in the file).

    ``lines`` are the lines that mention usage (see :func:`_usage_lines`).
    """
    decode = _decode_line
    # msgspec raises UnicodeDecodeError for bad UTF-8 in a string it decodes, and
    # RecursionError when the caller's stack leaves no room (the full parse decides then).
    errors = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
    find = pending.get
    entries = duplicates = skipped = malformed = 0
    for line in lines:
        if too_deep(line):  # whether msgspec could read it would depend on the stack
            malformed += 1
            continue
        try:
            rec = decode(line)
        except errors:
            _collect_general(line, pending, messages, tally)
            continue
        # msgspec does not check the UTF-8 of strings it skips; orjson (the rule) does.
        if not line.isascii():
            try:
                line.decode()
            except UnicodeDecodeError:
                malformed += 1
                continue
        msg = rec.message
        if msg is not None:
            entry = rec
            side = rec.isSidechain is True
            if rec.type in _NOT_USAGE:
                continue
        else:
            # A progress line wrapping a subagent's assistant line; anything else without
            # a message is not usage.
            data = rec.data
            if rec.type != "progress" or data is None or data.message is None:
                continue
            entry = data.message
            msg = entry.message
            if msg is None:
                continue
            side = True
        if msg.model == "<synthetic>":
            skipped += 1
            continue
        usage = msg.usage
        total = (
            usage.input_tokens
            + usage.output_tokens
            + (usage.cache_creation_input_tokens or 0)
            + (usage.cache_read_input_tokens or 0)
        )
        entries += 1
        mid = msg.id
        if mid:
            pair = (mid, entry.requestId)
            if mid in messages or pair in pending:
                duplicates += _keep(pending, messages, pair, (total, side, rec, entry))
            else:  # the usual case, a message met for the first time, inline
                pending[pair] = (total, side, rec, entry)
                messages[mid] = [pair]
            continue
        key = ("uuid", entry.uuid or line)
        found = find(key)
        if found is not None:
            duplicates += 1
            if not ((found[1] and not side) or (found[1] == side and total > found[0])):
                continue
        pending[key] = (total, side, rec, entry)
    tally.entries += entries
    tally.duplicates += duplicates
    tally.skipped += skipped
    tally.malformed += malformed


_NOT_USAGE = ("user", "summary", "system")

Entry = tuple[Any, bool, Any, Any]
"""A message's best copy so far: its token total, whether it is a sidechain copy, the line
(decoded or parsed) and the entry in it that carries the message."""

Messages = dict[Any, list[Any]]
"""The keys ``(message.id, requestId)`` of a file's best copies, by message id."""


def _keep(pending: dict[Any, Entry], messages: Messages, key: Any, copy: Entry) -> bool:
    """Keep ``copy`` (of the message with ``key``) if it is the best copy of its message so
    far; whether it is a copy of a message met before.

    A copy is of the same message as another with the same key, or (a ``/btw`` side question
    replaying the main line under a new request id) with the same message id when either is
    a sidechain copy. The best copy is a main-line one, else the one with the most tokens.
    """
    found = pending.get(key)
    same = key
    if found is None:
        for other in messages.get(key[0], ()):
            if copy[1] or pending[other][1]:
                same, found = other, pending[other]
                break
        else:
            pending[key] = copy
            messages.setdefault(key[0], []).append(key)
            return False
    if (found[1] and not copy[1]) or (found[1] == copy[1] and copy[0] > found[0]):
        if same != key:  # the replay's best copy is now this one, under its own key
            del pending[same]
            keys = messages[key[0]]
            keys[keys.index(same)] = key
        pending[key] = copy
    return True


def _collect_general(line: bytes, pending: dict[Any, Entry], messages: Messages, tally: Tally) -> None:
    """The same rules as :func:`_collect` for a line of any shape, parsed in full."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        tally.malformed += 1
        return
    try:
        entry = obj
        msg = obj["message"]
        usage = msg["usage"]
        side = obj.get("isSidechain") is True
    except (KeyError, TypeError, AttributeError):
        entry = _progress_entry(obj)
        if entry is None:
            if type(obj) is not dict:
                tally.malformed += 1
            return
        msg = entry["message"]
        usage = msg["usage"]
        side = True
    if type(usage) is not dict or obj.get("type") in _NOT_USAGE:
        return
    if msg.get("model") == "<synthetic>":
        tally.skipped += 1
        return
    try:
        total = (
            usage["input_tokens"]
            + usage["output_tokens"]
            + (usage.get("cache_creation_input_tokens") or 0)
            + (usage.get("cache_read_input_tokens") or 0)
        )
    except (KeyError, TypeError):
        tally.malformed += 1
        return
    if type(total) is not int and type(total) is not float:  # e.g. counts given as strings
        tally.malformed += 1
        return
    tally.entries += 1
    mid = _scalar(msg.get("id"))
    if mid:
        tally.duplicates += _keep(
            pending, messages, (mid, _scalar(entry.get("requestId"))), (total, side, obj, entry)
        )
        return
    key = ("uuid", _scalar(entry.get("uuid")) or line)
    found = pending.get(key)
    if found is not None:
        tally.duplicates += 1
        if not ((found[1] and not side) or (found[1] == side and total > found[0])):
            return
    pending[key] = (total, side, obj, entry)


def _progress_entry(obj: Any) -> dict[str, Any] | None:
    """The subagent line a ``progress`` line wraps, when it carries usage."""
    if type(obj) is not dict or obj.get("type") != "progress":
        return None
    data = obj.get("data")
    inner = data.get("message") if type(data) is dict else None
    if type(inner) is not dict:
        return None
    msg = inner.get("message")
    if type(msg) is not dict or type(msg.get("usage")) is not dict:
        return None
    return inner


def _record(obj: Any, entry: Any) -> Record:
    """The fields of an entry that make its event, from a decoded or a fully parsed line."""
    if type(entry) is _Line:
        msg = entry.message
        assert msg is not None
        usage = msg.usage
        split = usage.cache_creation
        return (
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_creation_input_tokens or 0,
            usage.cache_read_input_tokens or 0,
            None if split is None else (split.ephemeral_5m_input_tokens or 0),
            None if split is None else (split.ephemeral_1h_input_tokens or 0),
            entry.timestamp or obj.timestamp,
            obj.cwd or entry.cwd,
            obj.sessionId or entry.sessionId,
            msg.model,
            entry.costUSD,
        )
    msg = entry["message"]
    usage = msg["usage"]
    split = usage.get("cache_creation")
    split_ok = type(split) is dict
    return (
        usage["input_tokens"],
        usage["output_tokens"],
        usage.get("cache_creation_input_tokens") or 0,
        usage.get("cache_read_input_tokens") or 0,
        (split.get("ephemeral_5m_input_tokens") or 0) if split_ok else None,
        (split.get("ephemeral_1h_input_tokens") or 0) if split_ok else None,
        entry.get("timestamp") or obj.get("timestamp"),
        _scalar(obj.get("cwd") or entry.get("cwd")),
        _scalar(obj.get("sessionId") or entry.get("sessionId")),
        _scalar(msg.get("model")),
        entry.get("costUSD"),
    )


def _scalar(value: Any) -> Any:
    """``value``, or ``None`` for a JSON list or object (which cannot name anything).

    Fields that name things (ids, folders, sessions, models) are used as dict keys; a line
    that puts a list or an object there is treated as if the field were missing.
    """
    return None if type(value) is list or type(value) is dict else value


# An event line, written directly (byte for byte what orjson makes of the same dict).
_EVENT = (
    b'{"ts":%d,"date":"%s"%s,"prompt":%d,"completion":%d,"cached":%d%s%s,"total":%d,"calls":1,'
    b'"id":"' + ID_PREFIX.encode() + b'%016x","source":"' + SOURCE.encode() + b'",'
    b'"provider":"anthropic"%s%s}'
)


def _winners(pending: dict[Any, Entry], tally: Tally) -> tuple[bytes, bytes, bytes, bytes]:
    """The events of a file's best copies: packed keys, packed counts, packed aliases and
    joined lines.

    The aliases of a copy are two numbers: the key that stands for its message id as a
    main-line copy (see :func:`_settle`; the sidechain copies' is the same key plus one; 0
    for a line without a message id), and 1 for a sidechain copy, else 0.

    This runs once per message, so the key is hashed and the day looked up inline, and the
    line is formatted in one step.
    """
    dumps = orjson.dumps
    keys = array("Q")
    counts = array("q")
    aliases = array("Q")
    lines: list[bytes] = []
    labels: dict[tuple[Any, Any, Any], bytes] = {}
    blake2b = hashlib.blake2b
    from_bytes = int.from_bytes
    to_unix = iso_to_unix
    days = _days
    bad = 0
    for key_parts, (_, side, obj, entry) in pending.items():
        if type(entry) is _Line and type(obj) is _Line:
            # Decoded by msgspec: the counts are ints already; the same checks as below.
            msg = entry.message
            assert msg is not None
            usage = msg.usage
            inp = usage.input_tokens
            outp = usage.output_tokens
            cw = usage.cache_creation_input_tokens or 0
            cr = usage.cache_read_input_tokens or 0
            if (inp | outp | cw | cr) < 0:
                bad += 1
                continue
            cw1h = 0
            split = usage.cache_creation
            if split is not None:
                e5 = split.ephemeral_5m_input_tokens or 0
                e1 = split.ephemeral_1h_input_tokens or 0
                if e5 >= 0 and e1 >= 0:
                    if cw == 0:
                        cw = e5 + e1
                    cw1h = min(e1, cw)
            stamp: Any = entry.timestamp or obj.timestamp
            project: Any = obj.cwd or entry.cwd
            session: Any = obj.sessionId or entry.sessionId
            model: Any = msg.model
            cost: Any = entry.costUSD
        else:
            inp, outp, cw, cr, e5, e1, stamp, project, session, model, cost = _record(obj, entry)
            if (
                not (type(inp) is int and type(outp) is int and type(cw) is int and type(cr) is int)
                or min(inp, outp, cw, cr) < 0
            ):
                bad += 1
                continue
            cw1h = 0
            if type(e5) is int and type(e1) is int and e5 >= 0 and e1 >= 0:
                if cw == 0:
                    cw = e5 + e1
                cw1h = min(e1, cw)
        ts = to_unix(stamp)
        if (
            ts is None
            or not 0 <= ts <= MAX_TS
            or inp + outp + cw + cr >= MAX_COUNT  # too many to be true, or to fit the index
            or (cost is not None and not (type(cost) in (int, float) and 0 <= cost <= MAX_COST_USD))
        ):
            bad += 1
            continue
        # key_of(a, b), inlined: blake2b-64 of the NUL-joined parts (surrogates passed
        # through, as key_of does when strict UTF-8 fails).
        a, b = key_parts
        text = f"{a}\0{b if type(b) is str else ''}" if a != "uuid" else f"uuid\0{b}"
        key = from_bytes(blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big")
        prompt = inp + cw + cr
        label = labels.get((project, session, model))
        if label is None:
            parts: dict[str, Any] = {}
            if project and type(project) is str:
                parts["project"] = project
            if session and type(session) is str:
                parts["session"] = session
            if model and type(model) is str:
                parts["model"] = model
            label = b"," + dumps(parts)[1:-1] if parts else b""
            labels[(project, session, model)] = label
        quarter = ts // 900
        day = days.get(quarter)
        if day is None:
            day = days[quarter] = local_day(ts).encode()
        lines.append(
            _EVENT
            % (
                ts,
                day,
                label,
                prompt,
                outp,
                cr,
                b',"cache_write":%d' % cw if cw else b"",
                b',"cache_write_1h":%d' % cw1h if cw1h else b"",
                prompt + outp,
                key,
                b',"role":"subagent"' if side else b"",
                b',"cost_usd":' + dumps(float(cost)) if cost is not None else b"",
            )
        )
        keys.append(key)
        counts.extend((prompt, outp, cr, cw, cw1h, ts))
        if a == "uuid":
            aliases.extend((0, 0))
        else:
            named = f"{_ALIAS}\0{a}".encode("utf-8", "surrogatepass")
            # Even, and never 0 (which stands for no alias): its sidechain twin is one more.
            aliases.extend(((from_bytes(blake2b(named, digest_size=8).digest(), "big") | 2) & ~1, side))
    tally.malformed += bad
    tally.entries -= bad
    return keys.tobytes(), counts.tobytes(), aliases.tobytes(), b"\n".join(lines)


_ALIAS = "claude-code-message"
"""The namespace of the keys that stand for a message id in the import index: an even
number (from ``key_of(_ALIAS, message_id)``) for its main-line copies, that number plus one
for its sidechain copies."""


_days: dict[int, bytes] = {}
"""Local days (bytes) by quarter hour (see :func:`~jusage.importers.common.local_day`)."""


def _settle(
    packed_keys: bytes,
    packed_counts: bytes,
    packed_aliases: bytes,
    blob: bytes,
    index: ImportIndex,
    tally: Tally,
    out: list[bytes],
) -> int:
    """Against what the ledger holds: new messages, grown ones (corrections), duplicates.

    A copy whose key the ledger does not hold is still a duplicate when the ledger holds a
    copy with its message id and either of the two is a sidechain copy (a ``/btw`` side
    question replaying the main line under a new request id): the index keeps an alias of
    the message id for every copy recorded, and for every main-line copy met again (so an
    index rebuilt from the ledger learns them back as the transcripts are read again, the
    side questions' files last). The copy recorded first stays, with no correction.

    Appends to ``out`` the lines to write (the file's whole ``blob`` when every message in it
    is new, the usual case) and returns how many events that is.
    """
    keys = array("Q")
    keys.frombytes(packed_keys)
    listed = keys.tolist()
    packed = array("Q")
    packed.frombytes(packed_aliases)
    aliases = packed.tolist()
    known = index.known(SOURCE, listed)
    named, sides = aliases[0::2], aliases[1::2]
    asked: list[int] = []
    for key, alias, side in zip(listed, named, sides, strict=True):
        if alias and key not in known:
            # A main-line copy repeats a recorded sidechain copy; a sidechain copy, any copy.
            asked += (alias, alias + 1) if side else (alias + 1,)
    replayed = index.known(SOURCE, asked) if asked else {}
    flat = array("q")
    flat.frombytes(packed_counts)
    if not known and not replayed and len(set(listed)) == len(listed):  # all new: the lines as they are
        index.put_packed(SOURCE, listed, packed_counts)
        _remember_aliases(index, named, sides, flat, range(len(listed)))
        tally.events += len(listed)
        out.append(blob)
        return len(listed)
    values = iter(flat.tolist())
    rows: list[Counts] = list(zip(values, values, values, values, values, values, strict=True))
    # Some keys were met before (resumed sessions copy earlier history). A key that repeats
    # within the file (two messages hashing alike) compares with its copy met first.
    changed: dict[int, None] = {}  # keys to record, new or grown, in order
    stale: list[int] = []  # positions of lines not to write as they are
    remember: list[int] = []  # positions of the copies whose aliases to remember
    fixes: list[bytes] = []
    lines: list[bytes] | None = None
    fresh = 0
    for i, key in enumerate(listed):
        before = known.get(key)
        counts = rows[i]
        if before is None:
            if replayed and named[i] and (named[i] + 1 in replayed or (sides[i] and named[i] in replayed)):
                stale.append(i)
                tally.duplicates += 1
                continue
            known[key] = counts
            changed[key] = None
            remember.append(i)
            fresh += 1
            continue
        stale.append(i)
        if not sides[i]:
            remember.append(i)
        if counts[0] + counts[1] > before[0] + before[1]:
            if lines is None:
                lines = blob.split(b"\n")
            fix, known[key] = correction(ID_PREFIX, key, counts, before, lines[i])
            changed[key] = None
            fixes.append(fix)
        else:
            tally.duplicates += 1
    recorded = array("q", chain.from_iterable(known[key] for key in changed))
    index.put_packed(SOURCE, list(changed), recorded.tobytes())
    _remember_aliases(index, named, sides, flat, remember)
    tally.events += fresh
    tally.corrections += len(fixes)
    if not stale:
        out.append(blob)
    elif fresh:
        if lines is None:
            lines = blob.split(b"\n")
        skip = set(stale)
        out.extend([line for i, line in enumerate(lines) if i not in skip])
    out.extend(fixes)
    return fresh + len(fixes)


def _remember_aliases(
    index: ImportIndex, named: list[int], sides: list[int], counts: array[int], positions: Iterable[int]
) -> None:
    """Record in ``index`` the alias of the copies at ``positions`` (of their kind: main line
    or sidechain), with their counts; copies without a message id have none."""
    kept = [i for i in positions if named[i]]
    if not kept:
        return
    own = [named[i] + sides[i] for i in kept]
    if len(kept) == len(named):  # every copy of the file: its counts as they are
        index.put_packed(SOURCE, own, counts.tobytes())
        return
    rows = array("q", chain.from_iterable(counts[6 * i : 6 * i + 6] for i in kept))
    index.put_packed(SOURCE, own, rows.tobytes())
