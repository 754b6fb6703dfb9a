"""Pieces every importer shares: the summary, incremental line reading, file discovery."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from typing import Any, BinaryIO

import orjson

from jusage.days import local_day
from jusage.importers.index import HEAD_BYTES, Counts, FileMark, ImportIndex, Stamp, digest
from jusage.render.text import counted

__all__ = [
    "MAX_LINE",
    "Found",
    "ImportPathError",
    "ImportSummary",
    "Progress",
    "Tally",
    "add_new",
    "by_age",
    "changed_since",
    "correction",
    "counted",
    "gc_paused",
    "iso_to_unix",
    "local_day",
    "read_new_blocks",
    "read_new_lines",
    "scan_files",
    "scan_tree",
    "stamp_of",
    "stat_paths",
    "total_bytes",
]

MAX_LINE = 64 << 20
"""Lines longer than this (64 MiB) are skipped as malformed without being parsed."""

BLOCK = 8 << 20


class ImportPathError(ValueError):
    """A path given to an import does not exist."""


def stat_paths(paths: Iterable[Path]) -> list[tuple[Path, os.stat_result]]:
    """Each path (``~`` expanded) with its ``stat``.

    :class:`ImportPathError` for a missing path, and for one that is neither a folder nor a
    regular file (reading a named pipe or a device would wait for ever).
    """
    out = []
    for given in paths:
        path = Path(given).expanduser()
        try:
            st = path.stat()
        except FileNotFoundError:
            raise ImportPathError(f"{path}: no such file or directory") from None
        if not (S_ISDIR(st.st_mode) or S_ISREG(st.st_mode)):
            raise ImportPathError(f"{path}: not a file or a folder")
        out.append((path, st))
    return out


Progress = Callable[[int, int], None]
"""Called as ``progress(bytes_done, bytes_total)`` while an import reads its files."""


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What one import run did.

    ``entries`` counts usage records met (every copy and every streaming chunk);
    ``duplicates`` those already in the ledger or met earlier in the run with no more tokens;
    ``corrections`` the correcting events written for messages that grew; ``malformed``
    records that could not be read (bad JSON, invalid UTF-8, binary data, oversized or too
    deeply nested lines, values outside the event schema's ranges); ``skipped`` usage records
    that were never billed (Claude Code's ``<synthetic>`` messages).
    """

    source: str
    files_seen: int
    files_read: int
    entries: int
    events_added: int
    duplicates: int
    corrections: int
    malformed: int
    skipped: int = 0

    def describe(self) -> str:
        """A one-line human summary, with every count the summary holds."""
        return (
            f"{self.source}: {self.files_read} of {counted(self.files_seen, 'file')} read, "
            f"{counted(self.entries, 'entry', 'entries')}, {counted(self.events_added, 'event')} added, "
            f"{counted(self.duplicates, 'duplicate')} skipped, {counted(self.corrections, 'correction')}, "
            f"{counted(self.malformed, 'malformed record')}, {self.skipped} not billed (synthetic)"
        )


class Tally:
    """Mutable counters filled during a run, frozen into an :class:`ImportSummary`."""

    __slots__ = (
        "corrections",
        "duplicates",
        "entries",
        "events",
        "files_read",
        "files_seen",
        "malformed",
        "skipped",
    )

    def __init__(self) -> None:
        self.files_seen = self.files_read = self.entries = self.events = 0
        self.duplicates = self.corrections = self.malformed = self.skipped = 0

    def merge(self, other: Tally) -> None:
        """Add the counters of ``other`` (a worker's tally) to these."""
        for name in Tally.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def summary(self, source: str) -> ImportSummary:
        return ImportSummary(
            source=source,
            files_seen=self.files_seen,
            files_read=self.files_read,
            entries=self.entries,
            events_added=self.events,
            duplicates=self.duplicates,
            corrections=self.corrections,
            malformed=self.malformed,
            skipped=self.skipped,
        )


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: an import allocates millions of acyclic objects."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def iso_to_unix(stamp: Any) -> int | None:
    """Unix seconds (floored) of an ISO 8601 timestamp, or ``None`` when it is not one."""
    if not isinstance(stamp, str):
        return None
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return _lenient_utc(stamp)
    if when.tzinfo is not None:
        # Whole seconds by timedelta division: exact for any year, where a float timestamp
        # rounds .999999 up to the next second far from 1970.
        seconds: int = (when - _EPOCH) // _SECOND
        return seconds
    try:
        return int(when.timestamp() // 1)  # no offset given: the local time of this machine
    except (OverflowError, OSError, ValueError):
        return None


def _lenient_utc(stamp: str) -> int | None:
    """A ``YYYY-MM-DDTHH:MM:SS...Z`` stamp that ``fromisoformat`` refuses (a leap second,
    an odd fraction after the seconds): its whole seconds, or ``None``."""
    if not (
        len(stamp) >= 20
        and stamp[-1] == "Z"
        and stamp[10] == "T"
        and stamp[13] == ":"
        and stamp[16] == ":"
        and (len(stamp) == 20 or stamp[19] in ".,")
    ):
        return None
    try:
        day = datetime.fromisoformat(stamp[:10] + "T00:00:00+00:00")
    except ValueError:
        return None
    hh, mm, ss = stamp[11:13], stamp[14:16], stamp[17:19]
    if not ((hh + mm + ss).isascii() and hh.isdigit() and mm.isdigit() and ss.isdigit()):
        return None
    h, m, sec = int(hh), int(mm), int(ss)
    if h < 24 and m < 60 and sec < 61:
        midnight: int = (day - _EPOCH) // _SECOND
        return midnight + h * 3600 + m * 60 + sec
    return None


Found = tuple[int, Counts, bytes, bool]
"""A message an importer found: its key, its counts, its event line for the ledger and whether
that event is a correction."""


def add_new(index: ImportIndex, source: str, found: Sequence[Found], tally: Tally, out: list[bytes]) -> None:
    """Of ``found`` (in order), add to ``out`` the lines of the messages the ledger does not
    hold yet and record them in ``index``; count the others as duplicates. A key that repeats
    in ``found`` is new at most once.

    For importers whose messages never grow (a copy is a duplicate, not a correction).
    """
    known = index.known(source, [key for key, _, _, _ in found])
    for key, counts, line, correction in found:
        if key in known:
            tally.duplicates += 1
            continue
        known[key] = counts
        index.put(source, key, counts)
        out.append(line)
        if correction:
            tally.corrections += 1
        else:
            tally.events += 1


def correction(prefix: str, key: int, counts: Counts, known: Counts, line: bytes) -> tuple[bytes, Counts]:
    """The event adding what a larger copy of a recorded message has on top of it, and the
    counts the ledger holds for the message after it.

    ``line`` is the event line of the larger copy (``counts`` its counts), ``known`` what the
    ledger holds for ``key``. The correction keeps the original's ``ts``, has the id
    ``<prefix><key>#c<total after it>`` and ``corrects`` the original; it carries no cost
    (the original's stands) and no reasoning count (what the original held is not known).
    """
    delta = [max(0, counts[i] - known[i]) for i in range(5)]
    # Keep the correcting event valid even for copies whose fields moved apart.
    delta[0] = max(delta[0], delta[2] + delta[3])
    delta[4] = min(delta[4], delta[3])
    grown: Counts = (
        known[0] + delta[0],
        known[1] + delta[1],
        known[2] + delta[2],
        known[3] + delta[3],
        known[4] + delta[4],
        known[5],
    )
    value = orjson.loads(line)
    ident = f"{prefix}{key:016x}"
    value.update(
        ts=known[5],
        date=local_day(known[5]),
        prompt=delta[0],
        completion=delta[1],
        cached=delta[2],
        cache_write=delta[3],
        cache_write_1h=delta[4],
        total=delta[0] + delta[1],
        calls=0,
        id=f"{ident}#c{grown[0] + grown[1]}",
        corrects=ident,
    )
    value.pop("cost_usd", None)
    value.pop("reasoning", None)
    for name in ("cache_write", "cache_write_1h", "calls"):
        if not value[name]:
            del value[name]
    return orjson.dumps(value), grown


def scan_files(
    roots: Iterable[Path], pattern: str, *, ordered: bool = True
) -> list[tuple[str, os.stat_result]]:
    """Every ``.jsonl`` file below ``roots`` whose name starts with ``pattern``, with its ``stat``.

    Files reachable twice (same device and inode) are listed once. Oldest first (see
    :func:`by_age`), so an original transcript is read before the copies that resumed
    sessions made of it; ``ordered=False`` leaves the order to the caller (sorting only the
    files it will read is cheaper). :func:`scan_tree` has the other options.
    """
    return scan_tree(roots, pattern, ordered=ordered)[1]


def scan_tree(
    roots: Iterable[Path],
    pattern: str,
    *,
    suffix: str | tuple[str, ...] = ".jsonl",
    ordered: bool = True,
    stamps: Mapping[str, Stamp] | None = None,
) -> tuple[int, list[tuple[str, os.stat_result]]]:
    """``(files found, files kept)``: the files below ``roots`` whose name starts with
    ``pattern`` and ends with ``suffix`` (or one of several), with their ``stat``, as in
    :func:`scan_files`; with ``stamps`` (by path), only those whose ``stat`` differs from
    their stamp.

    A re-import of a big history is mostly this walk: one ``stat`` per transcript, compared
    with its stamp as it is met.
    """
    seen, kept = _walk([str(root) for root in roots], pattern, suffix, stamps)
    return seen, by_age(kept.values()) if ordered else list(kept.values())


def stamp_of(st: os.stat_result) -> Stamp:
    """The :data:`~jusage.importers.index.Stamp` of a file with this ``stat``."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def changed_since(st: os.stat_result, mark: FileMark | None) -> bool:
    """Whether a file with this ``stat`` may hold lines its ``mark`` does not cover: it was
    never read, or its size, time or identity moved (a mark of a file not read to its end
    has size -1, so such a file is always looked at again)."""
    return mark is None or mark.stamp() != stamp_of(st)


def _may_follow(link: str, followed: set[str]) -> bool:
    """Whether a walk goes into the folder a symbolic link leads to: not when the folder holds
    the link itself (``loop -> ..``, which would never end), nor when another link already
    led there; ``followed`` keeps where links led."""
    real = os.path.realpath(link)
    here = os.path.realpath(Path(link).parent)
    if real in followed or here == real or here.startswith(real + os.sep):
        return False
    followed.add(real)
    return True


def _walk(
    roots: list[str], pattern: str, suffix: str | tuple[str, ...], stamps: Mapping[str, Stamp] | None
) -> tuple[int, dict[tuple[int, int], tuple[str, os.stat_result]]]:
    """Walk every folder below ``roots``: the count of distinct matching files and, by
    ``(device, inode)``, the ones to keep (all, or those whose stamp changed)."""
    stamp_at = stamps.get if stamps is not None else None
    kept: dict[tuple[int, int], tuple[str, os.stat_result]] = {}
    inodes: set[tuple[int, int]] = set()
    stack: list[str] = list(reversed(roots))
    followed: set[str] = set()  # where the symbolic links walked into lead

    def visit(it: Iterable[os.DirEntry[str]]) -> None:
        # Names first: nearly every entry is a transcript, and its stat (needed anyway)
        # says whether it is a folder, so most entries cost one system call.
        for entry in it:
            name = entry.name
            try:
                if name.endswith(suffix) and name.startswith(pattern):
                    st = entry.stat()
                    if S_ISDIR(st.st_mode):
                        if not entry.is_symlink() or _may_follow(entry.path, followed):
                            stack.append(entry.path)
                        continue
                    if not S_ISREG(st.st_mode):  # a pipe or a device would block the read
                        continue
                    key = (st.st_dev, st.st_ino)
                    if key not in inodes:
                        inodes.add(key)
                        if stamp_at is None or stamp_at(entry.path) != (
                            st.st_dev,
                            st.st_ino,
                            st.st_size,
                            st.st_mtime_ns,
                        ):
                            kept[key] = (entry.path, st)
                elif entry.is_dir() and (not entry.is_symlink() or _may_follow(entry.path, followed)):
                    stack.append(entry.path)
            except OSError:
                continue

    while stack:
        try:
            it = os.scandir(stack.pop())
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
        with it:
            visit(it)
    return len(inodes), kept


def by_age(files: Iterable[tuple[str, os.stat_result]]) -> list[tuple[str, os.stat_result]]:
    """``files`` oldest first (by mtime, then path)."""
    return sorted(files, key=lambda item: (item[1].st_mtime_ns, item[0]))


def read_new_lines(
    path: str, st: os.stat_result, mark: FileMark | None, tally: Tally
) -> Iterator[tuple[list[bytes], FileMark]]:
    """Yield batches of complete new lines of ``path``, each with the mark after it.

    The lines of :func:`read_new_blocks`'s blocks (see there for the rules).
    """
    for block, after in read_new_blocks(path, st, mark, tally):
        yield (block.split(b"\n") if block else []), after


def read_new_blocks(
    path: str, st: os.stat_result, mark: FileMark | None, tally: Tally
) -> Iterator[tuple[bytes, FileMark]]:
    """Yield blocks of complete new lines of ``path`` (joined by newlines, without the last
    newline), each with the mark after it.

    ``mark`` is where the last run stopped. Unchanged files yield nothing without being
    opened. A file with another identity, a shrunk one, or one whose first bytes or bytes
    just before the mark changed (rewritten in place) is read again from the start (message
    keys make that harmless). Oversized lines are dropped and counted. A last line without a
    newline is taken only when it is a complete JSON value; otherwise it waits for the next
    run. An empty block stands for no lines.
    """
    if not changed_since(st, mark):
        return
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the with block below
    except OSError:
        return
    with fh:
        head = fh.read(HEAD_BYTES)
        start = 0
        context: dict[str, Any] = {}
        before = b""  # the last bytes before ``offset``, whose digest a mark keeps
        if mark is not None and mark.dev == st.st_dev and mark.ino == st.st_ino and mark.offset <= st.st_size:
            before = _bytes_before(fh, mark.offset)
            if digest(head[: mark.offset]) == mark.head and digest(before) == mark.tail:
                start = mark.offset
                context = mark.context
            else:
                before = b""
        tally.files_read += 1
        fh.seek(start)
        offset = start
        tail = b""
        skipping = False

        def at(offset: int, size: int) -> FileMark:
            return FileMark(
                st.st_dev,
                st.st_ino,
                offset,
                size,
                st.st_mtime_ns,
                digest(head[:offset]),
                digest(before),
                context,
            )

        while True:
            block = fh.read(BLOCK)
            if not block:
                break
            data = tail + block if tail else block
            cut = data.rfind(b"\n")
            if cut < 0:
                tail = data
                if len(tail) > MAX_LINE:
                    if not skipping:
                        tally.malformed += 1
                    skipping = True
                    offset += len(tail)
                    before = _last_bytes(before, tail, len(tail))
                    tail = b""
                continue
            chunk = data[:cut]
            if skipping:
                first = chunk.find(b"\n")
                chunk = chunk[first + 1 :] if first >= 0 else b""
                skipping = False
            if cut > MAX_LINE:
                lines = chunk.split(b"\n")
                if any(len(line) > MAX_LINE for line in lines):
                    kept = [line for line in lines if len(line) <= MAX_LINE]
                    tally.malformed += len(lines) - len(kept)
                    chunk = b"\n".join(kept)
            offset += cut + 1
            before = _last_bytes(before, data, cut + 1)
            tail = data[cut + 1 :]
            yield chunk, at(offset, -1)
        if tail and not skipping and tail.strip():
            try:
                orjson.loads(tail)
            except orjson.JSONDecodeError:
                yield b"", at(offset, -1)  # an unfinished write: look again next time
                return
            last_line = tail
            offset += len(tail)
            before = _last_bytes(before, tail, len(tail))
            tail = b""
            yield last_line, at(offset, -1)
        # Only a file read to its end can be skipped unopened next time.
        yield b"", at(offset, -1 if tail or skipping or offset != st.st_size else st.st_size)


def _bytes_before(fh: BinaryIO, offset: int) -> bytes:
    """The (up to) :data:`HEAD_BYTES` bytes of ``fh`` before ``offset``."""
    start = max(0, offset - HEAD_BYTES)
    fh.seek(start)
    return fh.read(offset - start)


def _last_bytes(before: bytes, data: bytes, end: int) -> bytes:
    """The last :data:`HEAD_BYTES` bytes of ``before`` followed by ``data[:end]``."""
    if end >= HEAD_BYTES:
        return data[end - HEAD_BYTES : end]
    return (before + data[:end])[-HEAD_BYTES:]


def total_bytes(files: Sequence[tuple[str, os.stat_result, FileMark | None]]) -> int:
    """Bytes a run will read, for progress: each file's bytes past its mark."""
    total = 0
    for _, st, mark in files:
        total += st.st_size - (
            mark.offset if mark and mark.ino == st.st_ino and mark.offset <= st.st_size else 0
        )
    return total
