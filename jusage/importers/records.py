"""What the importers of agents that record usage per model call share.

Gemini CLI, OpenCode, Qwen Code, Amp and Copilot CLI each store one usage record per model
call under an identity of their own (a message id, a span id). Their importers read an
agent's files into :class:`Calls` (one :class:`Usage` per record, every count checked
against the event schema on the way in) and leave the rest to this module: settling the
calls against the ledger's import index (new, grown since, already there), writing the
event lines, and the run itself, which opens only the files that changed since the last one.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISDIR
from typing import Any

import orjson

from jusage.days import local_day
from jusage.events import MAX_COST_USD, MAX_TS
from jusage.importers.common import (
    ImportSummary,
    Progress,
    Tally,
    by_age,
    changed_since,
    correction,
    gc_paused,
    iso_to_unix,
    read_new_lines,
    scan_tree,
    stat_paths,
)
from jusage.importers.index import ID_PREFIXES, MAX_COUNT, Counts, FileMark, ImportIndex, key_of
from jusage.reading import too_deep
from jusage.store import Store

__all__ = [
    "MAX_FILE",
    "Bad",
    "Calls",
    "Reader",
    "Usage",
    "count",
    "data_home",
    "env_folder",
    "existing",
    "find_files",
    "home",
    "json_reader",
    "jsonl_reader",
    "line_key",
    "millis",
    "run_import",
    "settle",
    "stamp",
    "text",
    "whole_mark",
]

MAX_FILE = 256 << 20
"""A whole-file JSON history larger than this (256 MiB) is skipped as malformed unread."""


class Bad(ValueError):
    """A usage record holds a value the event schema cannot take (counted as malformed)."""


def count(value: Any) -> int:
    """A token count from JSON: missing (``None``) is 0; a whole number in ``[0, 2**53)``
    is itself (written as ``12.0`` too); anything else raises :class:`Bad`."""
    if value is None:
        return 0
    if type(value) is int:
        if 0 <= value < MAX_COUNT:
            return value
    elif type(value) is float and value.is_integer() and 0 <= value < MAX_COUNT:
        return int(value)
    raise Bad(f"not a token count: {value!r}")


def stamp(value: Any) -> int:
    """Unix seconds of an ISO 8601 timestamp; :class:`Bad` when it is not one."""
    ts = iso_to_unix(value)
    if ts is None:
        raise Bad(f"not a timestamp: {value!r}")
    return ts


def millis(value: Any) -> int:
    """Unix seconds of a JavaScript time (milliseconds since 1970); :class:`Bad` otherwise."""
    if type(value) is float and math.isfinite(value):
        value = int(value)
    if type(value) is not int or value < 0:
        raise Bad(f"not a time in milliseconds: {value!r}")
    return value // 1000


def text(value: Any) -> str:
    """``value`` when it is a string (made valid UTF-8), else ``""``: a list, an object or a
    number where a name belongs names nothing."""
    if type(value) is not str:
        return ""
    try:
        value.encode()
    except UnicodeEncodeError:  # a lone surrogate, from a file name that was not UTF-8
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return value


def line_key(source: str, line: bytes) -> int:
    """The key of a record without an identity of its own: its bytes, so that a copy of the
    line counts once."""
    return key_of(source, "line", line.decode("utf-8", "surrogateescape"))


@dataclass(frozen=True, slots=True)
class Usage:
    """One model call as an event will hold it: counts in jusage's inclusive convention
    (``prompt`` includes ``cached`` and ``cache_write``, ``completion`` includes
    ``reasoning``), already checked against the event schema."""

    key: int
    ts: int
    prompt: int
    completion: int
    cached: int = 0
    cache_write: int = 0
    reasoning: int = 0
    model: str = ""
    session: str = ""
    project: str = ""
    provider: str = ""
    role: str = ""
    agent: str = ""
    cost_usd: float | None = None

    @property
    def tokens(self) -> int:
        """``prompt + completion``, as every report counts them."""
        return self.prompt + self.completion

    def counts(self) -> Counts:
        """The counts the import index keeps for this call."""
        return (self.prompt, self.completion, self.cached, self.cache_write, 0, self.ts)


class Calls:
    """The model calls found in one read of a file, and the tally the read counts into."""

    __slots__ = ("found", "tally")

    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self.found: list[Usage] = []

    def malformed(self) -> None:
        """Count one record that could not be read."""
        self.tally.malformed += 1

    def add(
        self,
        key: int,
        ts: int,
        prompt: int,
        completion: int,
        *,
        cached: int = 0,
        cache_write: int = 0,
        reasoning: int = 0,
        cost_usd: Any = None,
        **labels: str,
    ) -> None:
        """Keep one call (a call with no tokens is not one, and is left out uncounted).

        The counts are whole numbers (see :func:`count`); ``cached`` and ``cache_write`` are
        clipped to ``prompt``, ``reasoning`` to ``completion``. A ``ts`` outside 1970..9999,
        tokens adding up past the schema's limit or a cost that is not a finite number of
        dollars in ``[0, 1e6]`` make the record malformed. A zero cost is no cost.
        """
        if prompt + completion == 0:
            return
        cost: float | None = None
        if cost_usd is not None:
            if type(cost_usd) not in (int, float) or not 0 <= cost_usd <= MAX_COST_USD:
                self.tally.malformed += 1
                return
            cost = float(cost_usd) or None
        if not 0 <= ts <= MAX_TS or prompt + completion >= MAX_COUNT:
            self.tally.malformed += 1
            return
        cached = min(cached, prompt)
        self.tally.entries += 1
        self.found.append(
            Usage(
                key,
                ts,
                prompt,
                completion,
                cached,
                min(cache_write, prompt - cached),
                min(reasoning, completion),
                cost_usd=cost,
                **labels,
            )
        )


def event_line(prefix: str, source: str, call: Usage, host: str) -> bytes:
    """The ledger line of a call (optional keys left out when empty)."""
    line: dict[str, Any] = {"ts": call.ts, "date": local_day(call.ts)}
    for name in ("project", "session", "model"):
        if getattr(call, name):
            line[name] = getattr(call, name)
    line["prompt"] = call.prompt
    line["completion"] = call.completion
    for name in ("cached", "cache_write", "reasoning"):
        if getattr(call, name):
            line[name] = getattr(call, name)
    line.update(total=call.tokens, calls=1, id=f"{prefix}{call.key:016x}", source=source)
    for name in ("provider", "agent", "role"):
        if getattr(call, name):
            line[name] = getattr(call, name)
    line["host"] = host
    if call.cost_usd is not None:
        line["cost_usd"] = call.cost_usd
    return orjson.dumps(line)


def settle(index: ImportIndex, source: str, calls: Iterable[Usage], tally: Tally, host: str) -> list[bytes]:
    """The ledger lines for ``calls`` against what the index says the ledger holds.

    Of the copies of one call among ``calls`` the last of those with the most tokens counts
    (an agent that writes a message again writes its newest state). A call the ledger does
    not hold becomes an event; one it holds with fewer tokens a correcting event for the
    difference (see :func:`~jusage.importers.common.correction`); any other copy is a
    duplicate. The index records what the ledger holds after the lines are written.
    """
    prefix = ID_PREFIXES[source]
    best: dict[int, Usage] = {}
    for call in calls:
        old = best.get(call.key)
        if old is not None:
            tally.duplicates += 1
            if call.tokens < old.tokens:
                continue
        best[call.key] = call
    known = index.known(source, list(best))
    out: list[bytes] = []
    for key, call in best.items():
        before = known.get(key)
        if before is None:
            index.put(source, key, call.counts())
            out.append(event_line(prefix, source, call, host))
            tally.events += 1
        elif call.tokens > before[0] + before[1]:
            fresh = event_line(prefix, source, call, host)
            line, grown = correction(prefix, key, call.counts(), before, fresh)
            index.put(source, key, grown)
            out.append(line)
            tally.corrections += 1
        else:
            tally.duplicates += 1
    return out


Reader = Callable[[str, os.stat_result, FileMark | None, Tally], tuple[list[Usage], FileMark] | None]
"""Reads what is new in one file: ``(calls found, mark after the read)``, or ``None`` when
there was nothing to read (unchanged, or gone). Malformed records are counted in the tally."""


def run_import(
    store: Store,
    source: str,
    jobs: Sequence[tuple[str, os.stat_result, Reader]],
    *,
    progress: Progress | None = None,
    lock_timeout: float = -1,
) -> ImportSummary:
    """Read each file of ``jobs`` with its reader and bring its new calls into ``store``.

    One run holds the ledger's import index (see :mod:`jusage.importers.index`) from start
    to end, waiting up to ``lock_timeout`` seconds for another import (``-1``: for ever).
    Each file's lines are appended before its mark is recorded, and the index is committed
    after the last file, so a run killed at any moment loses and doubles nothing.
    """
    from jusage.hosts import host_name

    host = host_name()
    tally = Tally()
    tally.files_seen = len(jobs)
    total = sum(st.st_size for _, st, _ in jobs)
    done = 0
    with gc_paused(), ImportIndex(store.path, timeout=lock_timeout) as index:
        marks = index.marks(source, [path for path, _, _ in jobs])
        for path, st, read in jobs:
            result = read(path, st, marks.get(path), tally)
            if result is not None:
                found, mark = result
                store.append_lines(settle(index, source, found, tally, host))
                index.set_mark(source, path, mark)
            done += st.st_size
            if progress:
                progress(min(done, total), total)
        index.commit()
    return tally.summary(source)


RecordParser = Callable[[str, dict[str, Any], bytes, dict[str, Any], Calls], None]
"""Reads one JSON object of a JSON-lines file into calls: ``(path, object, its line, context,
calls)``. The context is what the parser carries from one read of the file to the next (kept
in the file's mark); raising :class:`Bad` counts the record as malformed."""


def jsonl_reader(parse: RecordParser) -> Reader:
    """A :data:`Reader` of an append-only JSON-lines file: only the lines added since its
    mark are read (see :func:`~jusage.importers.common.read_new_lines`), and each that is a
    JSON object is given to ``parse``; one that is not JSON, not an object, or nested deeper
    than :data:`~jusage.reading.MAX_DEPTH` is malformed."""

    def read(
        path: str, st: os.stat_result, mark: FileMark | None, tally: Tally
    ) -> tuple[list[Usage], FileMark] | None:
        calls = Calls(tally)
        last: FileMark | None = None
        loads = orjson.loads
        for lines, after in read_new_lines(path, st, mark, tally):
            context = dict(after.context) if last is None else last.context
            for line in lines:
                if not line.strip():
                    continue
                try:
                    if too_deep(line):
                        raise Bad("nested too deep")
                    record = loads(line)
                    if type(record) is not dict:
                        raise Bad("not a JSON object")
                    parse(path, record, line, context, calls)
                except (orjson.JSONDecodeError, Bad):
                    calls.malformed()
            last = dataclasses.replace(after, context=context)
        return None if last is None else (calls.found, last)

    return read


def whole_mark(st: os.stat_result) -> FileMark:
    """The mark of a file read whole: it is read again whenever its ``stat`` changes."""
    return FileMark(st.st_dev, st.st_ino, st.st_size, st.st_size, st.st_mtime_ns, b"", b"")


DocParser = Callable[[str, Any, Calls], None]
"""Reads the calls of one whole JSON document (its file's path given)."""


def json_reader(parse: DocParser) -> Reader:
    """A :data:`Reader` of a JSON file that its agent rewrites whole: read again, all of it,
    when its ``stat`` changed since its mark (the calls' keys make that harmless). A file
    that is not JSON (half written, or garbage) counts as one malformed record."""

    def read(
        path: str, st: os.stat_result, mark: FileMark | None, tally: Tally
    ) -> tuple[list[Usage], FileMark] | None:
        if not changed_since(st, mark):
            return None
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_FILE + 1)
        except OSError:
            return None
        tally.files_read += 1
        calls = Calls(tally)
        try:
            if len(data) > MAX_FILE:
                raise Bad("file too large")
            doc = orjson.loads(data)
        except (orjson.JSONDecodeError, Bad):
            calls.malformed()
        else:
            parse(path, doc, calls)
        # The stat taken before reading: a write that came after it is read next time.
        return calls.found, whole_mark(st)

    return read


def home(env: Mapping[str, str]) -> Path:
    """The home folder: ``$HOME``, else the user's."""
    return Path(env.get("HOME") or Path.home())


def data_home(env: Mapping[str, str]) -> Path:
    """``$XDG_DATA_HOME``, else ``~/.local/share``."""
    xdg = env.get("XDG_DATA_HOME", "").strip()
    return Path(xdg) if xdg else home(env) / ".local" / "share"


def env_folder(env: Mapping[str, str], variable: str, default: Path) -> Path:
    """The folder ``$variable`` names (``~`` expanded), else ``default``."""
    configured = env.get(variable, "").strip()
    return Path(configured).expanduser() if configured else default


def existing(paths: Iterable[Path], found_only: bool = True) -> list[Path]:
    """Those of ``paths`` that are folders, resolved, each once (with ``found_only`` false:
    all of them, as given)."""
    if not found_only:
        return list(paths)
    out: list[Path] = []
    for path in paths:
        if path.is_dir() and path.resolve() not in out:
            out.append(path.resolve())
    return out


def find_files(
    paths: Sequence[Path],
    roots: Callable[[Path], list[Path]],
    wanted: Callable[[str], bool],
    suffixes: Sequence[str],
) -> list[tuple[str, os.stat_result]]:
    """The history files below ``paths``, oldest first, each file once (by device and inode).

    A folder given is searched below each of ``roots(folder)`` for files ending in one of
    ``suffixes`` of which ``wanted(path)`` approves; a file given is taken whatever its name.
    Raises :class:`~jusage.importers.common.ImportPathError` for a path that does not exist.
    """
    found: list[tuple[str, os.stat_result]] = []
    folders: list[Path] = []
    for path, st in stat_paths(paths):
        if S_ISDIR(st.st_mode):
            folders += [root.resolve() for root in roots(path)]
        else:
            found.append((str(path.resolve()), st))
    found += [
        item for item in scan_tree(folders, "", suffix=tuple(suffixes), ordered=False)[1] if wanted(item[0])
    ]
    unique: dict[tuple[int, int], tuple[str, os.stat_result]] = {}
    for path_str, st in found:
        unique.setdefault((st.st_dev, st.st_ino), (path_str, st))
    return by_age(unique.values())
