"""The ledger file: concurrent appends of whole lines, and streaming reads that skip bad lines.

Locking. Every append takes an exclusive ``flock`` on the log file's own open descriptor,
writes the whole line (looping over short writes) with ``O_APPEND`` and releases it. We lock
the log itself rather than a side file through ``filelock`` because ``filelock`` opens and
closes its lock file on every acquisition (about 13k acquisitions/s here against about 150k/s
for a bare ``flock``); the descriptor is opened once per process and kept. Where ``fcntl`` does
not exist (Windows) a ``filelock`` side file is used instead.

Appends cost three system calls: lock, write, unlock. Two questions a writer must answer
under the lock are answered from a small page shared by all writers through ``mmap``
(``events.jsonl.meta``), which costs no system call (on this machine any extra call per
append, even an ``fstat`` or a one-byte ``pread``, costs as much as the write):

* *Did a writer die mid-line?* A writer sets a flag in the page while it writes and clears it
  after. Finding the flag set (or on its first append) a writer looks at the log's last byte
  and, if it is not a newline, starts its line with one, so the line lands on a line of its
  own whatever the dead writer left.
* *Was the log replaced?* A rewrite (retention) writes a new file and renames it over the log
  while holding the old file's lock, then advances a generation number in the page before it
  lets go. A writer that then gets the old file's lock sees a generation it did not open and
  reopens the path, so no line is appended to a file nobody will read again.
"""

from __future__ import annotations

import contextlib
import itertools
import mmap
import os
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import msgspec

from jusage.events import ROW_DECODER, Event, EventError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "ReadStats",
    "Store",
    "default_log_path",
    "jusage_home",
    "last_line_end",
    "read_lines",
    "read_rows",
    "record_event",
    "split_ranges",
]

T = TypeVar("T")

# The meta page beside the log (``events.jsonl.meta``), shared by every writer through mmap:
# byte 0 the log's generation (advanced by each rewrite that replaces the file), byte 8 set
# while a writer is writing (so a writer that died mid-line leaves it set).
_GEN = 0  # one byte, wrapping at 256: a writer would have to sleep through 256 rewrites
_DIRTY = 8
_META_SIZE = 4096


def meta_path(log: Path) -> Path:
    """The meta page that the writers of ``log`` share (see the module docstring)."""
    return log.with_name(log.name + ".meta")


def _map_meta(path: Path) -> mmap.mmap:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        if os.fstat(fd).st_size < _META_SIZE:
            os.ftruncate(fd, _META_SIZE)  # idempotent: racing creators agree on the size
        return mmap.mmap(fd, _META_SIZE)
    finally:
        os.close(fd)


def _after_torn_tail(fd: int, data: bytes) -> bytes:
    """``data``, preceded by a newline if the file does not end in one (a torn line)."""
    size = os.lseek(fd, 0, os.SEEK_END)
    if size and os.pread(fd, 1, size - 1) != b"\n":
        return b"\n" + data
    return data

BLOCK = 1 << 22
"""Bytes read at a time when streaming the log."""

MAX_LINE = 16 << 20
"""A log line that grows past this while it is read is malformed: skipped (and counted by
the row reader) without being held whole in memory."""


def default_log_path(env: Mapping[str, str] | None = None) -> Path:
    """``$JUSAGE_LOG``, else ``$JUSAGE_HOME/usage/events.jsonl``, else ``~/.jusage/usage/events.jsonl``."""
    env = os.environ if env is None else env
    if env.get("JUSAGE_LOG"):
        return Path(env["JUSAGE_LOG"]).expanduser()
    return jusage_home(env) / "usage" / "events.jsonl"


class ReadStats:
    """Counts of what a read met: lines parsed and lines skipped as malformed."""

    __slots__ = ("lines", "skipped")

    def __init__(self) -> None:
        self.lines = 0
        self.skipped = 0


def split_ranges(path: Path, parts: int, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split bytes ``[start, end)`` of the file into up to ``parts`` ranges cut after newlines.

    ``start`` must itself be a line start (0 or just after a newline).
    """
    stop = path.stat().st_size if end is None else end
    if parts <= 1 or stop <= start:
        return [(start, stop)]
    cuts = [start]
    with path.open("rb") as fh:
        for i in range(1, parts):
            pos = min(_next_line_start(fh, max(start + (stop - start) * i // parts, cuts[-1])), stop)
            if pos > cuts[-1]:
                cuts.append(pos)
    if cuts[-1] != stop:
        cuts.append(stop)
    return list(itertools.pairwise(cuts))


def _next_line_start(fh: BinaryIO, pos: int) -> int:
    """The offset just after the first newline at or after ``pos`` (the file's end if none),
    read in small steps: ``readline`` would hold a whole line, however long, in memory."""
    fh.seek(pos)
    while chunk := fh.read(1 << 16):
        cut = chunk.find(b"\n")
        if cut >= 0:
            return pos + cut + 1
        pos += len(chunk)
    return pos


def last_line_end(path: Path, size: int) -> int:
    """The offset just after the last newline in the first ``size`` bytes (0 if none)."""
    with path.open("rb") as fh:
        pos = size
        while pos > 0:
            step = min(pos, 1 << 16)
            fh.seek(pos - step)
            chunk = fh.read(step)
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                return pos - step + cut + 1
            pos -= step
    return 0


def jusage_home(env: Mapping[str, str] | None = None) -> Path:
    """``$JUSAGE_HOME``, else ``~/.jusage``: where jusage keeps its own files."""
    env = os.environ if env is None else env
    return Path(env["JUSAGE_HOME"]).expanduser() if env.get("JUSAGE_HOME") else Path.home() / ".jusage"


def read_lines(path: Path, start: int = 0, end: int | None = None) -> Iterator[list[bytes]]:
    """The lines of ``[start, end)`` in batches, newlines removed; blank lines included.

    A last line without its newline (a torn write, or a writer still busy) comes last. A
    line that outgrows :data:`MAX_LINE` while it is read is dropped, so memory stays
    bounded. A missing file yields nothing.
    """
    for buf, n in _line_runs(path, start, end):
        if n >= 0:
            with memoryview(buf) as whole, whole[:n] as lines:
                data = bytes(lines)
            yield data.split(b"\n")


def _line_runs(path: Path, start: int = 0, end: int | None = None) -> Iterator[tuple[bytearray, int]]:
    """Stream ``[start, end)`` as ``(buffer, n)``: ``buffer[:n]`` is a run of whole lines
    without its final newline, read into one reused buffer. A last line without its newline
    (a torn write, or a writer still busy) comes as a run of its own.

    The lines are read straight into the buffer and only the unfinished tail is moved to its
    front, so a consumer makes at most one copy of each block. The buffer is overwritten on
    the next step, so a consumer must be done with it (and have released any ``memoryview``
    of it) before asking for more.

    A line that outgrows :data:`MAX_LINE` (twice the buffer at most) is not an event: it is
    dropped as it is read, and ``(buffer, -1)`` says one such line was skipped. Without the
    cap, a 300 MB run of garbage without a newline took 842 MB of memory to read.
    """
    try:
        fh = path.open("rb", buffering=0)
    except FileNotFoundError:
        return
    with fh:
        fh.seek(start)
        remaining = -1 if end is None else end - start
        buf = bytearray(BLOCK)
        have = 0  # bytes of an unfinished line carried at the front of buf
        skipping = False  # inside a line longer than MAX_LINE, dropping it
        while remaining != 0:
            if have == len(buf):  # one line longer than the buffer: make room, or drop it
                if len(buf) >= MAX_LINE:
                    skipping = True
                    have = 0
                else:
                    buf.extend(bytes(len(buf)))
            want = len(buf) - have if remaining < 0 else min(len(buf) - have, remaining)
            with memoryview(buf) as view, view[have : have + want] as target:
                got = fh.readinto(target)
            if not got:
                break
            if remaining > 0:
                remaining -= got
            filled = have + got
            search_from = have  # the carried bytes hold no newline
            if skipping:
                end_of_long = buf.find(b"\n", have, filled)
                if end_of_long < 0:
                    have = 0
                    continue
                skipping = False
                yield buf, -1
                have = filled - end_of_long - 1
                buf[:have] = buf[end_of_long + 1 : filled]
                filled = have
                search_from = 0
            cut = buf.rfind(b"\n", search_from, filled)
            if cut < 0:
                have = filled
                continue
            yield buf, cut
            have = filled - cut - 1
            buf[:have] = buf[cut + 1 : filled]  # the same length: moved, never reallocated
        if skipping:
            yield buf, -1
        elif have:
            yield buf, have


def _one_object_per_line(data: bytes, values: int) -> bool:
    """Whether ``values`` decoded from ``data`` by ``decode_lines`` are its lines one for one.

    ``decode_lines`` reads whitespace-separated JSON values, so on its own it would accept two
    objects on one line, or one object spread over two. If the run starts with ``{``, ends
    with ``}`` and every newline sits between a ``}`` and a ``{``, no value can continue past
    a line end (after a ``}`` JSON allows only ``,``, ``}`` or ``]``, never ``{``, and a
    string cannot hold a raw newline), so every line starts a value of its own; then as many
    values as lines means exactly one per line.

    Counted in machine instructions (callgrind, so the machine's noise does not decide),
    newlines are cheapest counted by what deleting them removes (``replace`` finds them with
    ``memchr``; ``count`` tests every byte), and the ``}\\n{`` test is cheapest as one
    ``count``: together a third of the instructions of ``count`` plus a regex search.
    """
    newlines = len(data) - len(data.replace(b"\n", b""))
    return (
        values == newlines + 1
        and data[:1] == b"{"
        and data[-1:] == b"}"
        and data.count(b"}\n{") == newlines
    )


def read_rows(
    path: Path,
    stats: ReadStats,
    start: int = 0,
    end: int | None = None,
    *,
    decoder: msgspec.json.Decoder[T],
) -> Iterator[list[T]]:
    """Stream the typed rows of the lines in ``[start, end)``, in batches.

    ``decoder`` is a msgspec decoder for a struct (e.g. :data:`~jusage.events.ROW_DECODER`).
    Lines it rejects (not JSON, wrong types, negative counts, garbage, torn writes, invalid
    UTF-8) are skipped and counted in ``stats.skipped``; blank lines are ignored. Rows still
    need :func:`jusage.events.validate_counts` (the aggregation checks it inline).
    """
    decode = decoder.decode
    for buf, n in _line_runs(path, start, end):
        if n < 0:  # a line too long to be an event
            stats.lines += 1
            stats.skipped += 1
            continue
        with memoryview(buf) as whole, whole[:n] as lines:
            data = bytes(lines)
        # The common case, a run of good lines, is decoded in one call; anything unusual
        # (a bad line, a blank one, CRLF) is decoded line by line, which is exact.
        try:
            rows = decoder.decode_lines(data)
        except msgspec.DecodeError:
            rows = None
        if rows is not None and _one_object_per_line(data, len(rows)):
            stats.lines += len(rows)
            yield rows
            continue
        rows = []
        for line in data.split(b"\n"):
            if not line or line.isspace():
                continue
            stats.lines += 1
            try:
                rows.append(decode(line))
            except msgspec.DecodeError:
                stats.skipped += 1
        yield rows


class Store:
    """An append-only JSON-lines event log at ``path``.

    Safe for many processes and threads appending at once. ``record`` raises ``OSError`` when
    the line cannot be written; nothing half-written is left behind that a later line could
    merge into.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.read_stats = ReadStats()
        self._fd = -1
        self._meta: mmap.mmap | None = None
        self._gen = -1
        self._checked = False  # file size right after our last write
        self._mutex = threading.Lock()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @classmethod
    def default(cls) -> Store:
        """The store named by ``JUSAGE_LOG`` / ``JUSAGE_HOME``, else ``~/.jusage/usage/events.jsonl``."""
        return cls(default_log_path())

    # -- writing ---------------------------------------------------------------------------

    def record(self, event: Event) -> None:
        """Append one event as one line."""
        self._append(event.to_json() + b"\n")

    def record_many(self, events: Iterable[Event]) -> int:
        """Append events in one locked write; returns how many were written."""
        lines = [event.to_json() for event in events]
        if lines:
            self._append(b"\n".join(lines) + b"\n")
        return len(lines)

    def append_lines(self, lines: list[bytes]) -> int:
        """Append already-serialised event lines (no newlines inside) in one locked write.

        For importers that build lines themselves: the caller vouches that each is a valid
        event (the readers would skip and count one that is not). Returns how many.
        """
        if lines:
            self._append(b"\n".join(lines) + b"\n")
        return len(lines)

    def close(self) -> None:
        """Close the kept descriptor (it is reopened on the next record)."""
        with self._mutex:
            self._forget()

    def _forget(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd = -1

    def _open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(
            self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644
        )
        if self._meta is None and fcntl is not None:
            try:
                self._meta = _map_meta(meta_path(self.path))
            except (OSError, ValueError):  # no shared page here: every append takes the careful path
                self._meta = None
        self._gen = self._meta[_GEN] if self._meta is not None else -1
        self._checked = False
        _open_stores.add(self)
        return self._fd

    def _append(self, data: bytes) -> None:
        if fcntl is None:  # pragma: no cover - Windows
            with self._mutex, _locked(-1, self.path):
                fd = self._fd if self._fd >= 0 else self._open()
                _write_all(fd, data)
            return
        # The hot path of every record is three system calls: lock, write, unlock. What the
        # writer must know besides (was the log replaced? did a writer die mid-line?) it reads
        # from the shared meta page, which costs no system call.
        with self._mutex:
            fd = self._fd
            if fd < 0:
                fd = self._open()
            meta = self._meta
            if meta is None:
                self._append_carefully(data)
                return
            # _lock(fd), inlined with the flags bound once: this path runs for every record.
            try:
                _flock(fd, _LOCK_EX_NB)
            except BlockingIOError:
                _wait_for_lock(fd)
            try:
                if meta[_GEN] == self._gen and self._checked and not meta[_DIRTY]:
                    meta[_DIRTY] = 1
                    written = os.write(fd, data)
                    if written != len(data):
                        _write_all(fd, memoryview(data)[written:])
                    meta[_DIRTY] = 0
                    return
            finally:
                _flock(fd, _LOCK_UN)
            self._append_carefully(data)

    def _append_carefully(self, data: bytes) -> None:
        """The rare path: the log was replaced, a writer died mid-line, or this is our first
        append since opening it. The caller holds the mutex."""
        assert fcntl is not None
        for _attempt in range(8):
            fd = self._fd if self._fd >= 0 else self._open()
            meta = self._meta
            _lock(fd)
            try:
                replaced = meta[_GEN] != self._gen if meta is not None else os.fstat(fd).st_nlink == 0
                if replaced:  # renamed over by a rewrite: use the new file
                    self._forget()
                    continue
                data = _after_torn_tail(fd, data)
                self._checked = True
                if meta is not None:
                    meta[_DIRTY] = 1
                _write_all(fd, data)
                if meta is not None:
                    meta[_DIRTY] = 0
                return
            finally:
                if self._fd == fd:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        raise OSError(f"{self.path}: the log kept being replaced while appending")

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the writers' lock (for rewrites): no record lands while inside.

        A rewrite writes the new log beside the old one and renames it over ``path`` inside
        this block. On the way out, if the file was replaced, the generation in the meta page
        is advanced before the lock is released, so writers that were waiting for the old
        file's lock move to the new file.
        """
        with self._mutex:
            fd = self._fd if self._fd >= 0 else self._open()
            with _locked(fd, self.path):
                try:
                    yield
                finally:
                    try:
                        replaced = self.path.stat().st_ino != os.fstat(fd).st_ino
                    except FileNotFoundError:
                        replaced = True
                    if replaced and self._meta is not None:
                        self._meta[_GEN] = (self._meta[_GEN] + 1) % 256
            self._forget()

    # -- reading ---------------------------------------------------------------------------

    def iter_events(self, since: str | None = None) -> Iterator[Event]:
        """Stream the valid events, skipping (and counting in ``read_stats``) bad lines.

        ``since`` (``YYYY-MM-DD``) keeps events whose ``date`` (or, without one, local day of
        ``ts``) is on or after it.
        """
        self.read_stats = stats = ReadStats()
        for rows in read_rows(self.path, stats, decoder=ROW_DECODER):
            for row in rows:
                try:
                    event = Event.from_row(row)
                except EventError:
                    stats.skipped += 1
                    continue
                if since is None or _event_day(event) >= since:
                    yield event

    def load(self, since: str | None = None) -> list[Event]:
        """All valid events (see :meth:`iter_events`); prefer streaming for large logs."""
        return list(self.iter_events(since))


def _event_day(event: Event) -> str:
    return event.date or time.strftime("%Y-%m-%d", time.localtime(event.ts))


def _write_all(fd: int, data: bytes | memoryview) -> None:
    """Write all of ``data``, looping over short writes (the lock keeps them contiguous)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _lock(fd: int) -> None:
    """Take the exclusive ``flock`` on ``fd``, waiting for it."""
    try:
        _flock(fd, _LOCK_EX_NB)
    except BlockingIOError:
        _wait_for_lock(fd)


def _wait_for_lock(fd: int) -> None:
    """Take a lock found busy: yield the CPU and try again, twice, before sleeping on it.

    The holder is often a writer preempted between its lock and its unlock; letting it run
    costs less than sleeping, since every unlock wakes the sleepers. With 8 writers on 2
    cores (bench.py, locked rate over plain): sleeping at once 0.54-0.62x, one yield then
    sleep 0.48-0.61x, yield-and-retry once 0.48-0.78x, twice 0.65-0.71x, three or eight
    times 0.59-0.70x (3 to 11 runs each, one after another).
    """
    for _ in range(2):
        _yield_cpu()
        try:
            _flock(fd, _LOCK_EX_NB)
            return
        except BlockingIOError:
            pass
    _flock(fd, _LOCK_EX)


_yield_cpu = getattr(os, "sched_yield", lambda: None)

if fcntl is not None:
    _flock = fcntl.flock
    _LOCK_EX, _LOCK_UN, _LOCK_EX_NB = fcntl.LOCK_EX, fcntl.LOCK_UN, fcntl.LOCK_EX | fcntl.LOCK_NB


@contextmanager
def _locked(fd: int, path: Path) -> Iterator[None]:
    if fcntl is not None:
        _lock(fd)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    else:  # pragma: no cover - Windows
        from filelock import FileLock

        with FileLock(str(path) + ".lock"):
            yield


# A descriptor inherited across fork shares its flock with the parent's, so it would not
# exclude the parent: children forget every kept descriptor and open their own.
_open_stores: weakref.WeakSet[Store] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for store in list(_open_stores):
        store._fd = -1  # the shared meta mapping stays valid: it is MAP_SHARED
        store._mutex = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# -- the best-effort entry point for agents ----------------------------------------------------

_default_store: Store | None = None


def record_event(
    *,
    prompt: int = 0,
    completion: int = 0,
    store: Store | None = None,
    ts: int | None = None,
    **fields: Any,
) -> bool:
    """Record one agent turn in the default store; never raises.

    Stamps ``ts`` (now) and ``date`` (local) unless given, drops turns with no tokens, and
    sends any error to the ``jusage`` logger instead of the caller. Returns whether a line was
    written.
    """
    global _default_store
    try:
        if prompt + completion <= 0 and fields.get("total", 0) <= 0:
            return False
        stamp = int(time.time()) if ts is None else ts
        fields.setdefault("date", time.strftime("%Y-%m-%d", time.localtime(stamp)))
        event = Event(ts=stamp, prompt=prompt, completion=completion, **fields)
        if store is None:
            if _default_store is None or _default_store.path != default_log_path():
                _default_store = Store.default()
            store = _default_store
        store.record(event)
        return True
    except Exception as exc:
        import logging  # only on this failure path: keeps the record path's start-up short

        logging.getLogger("jusage").warning("jusage: could not record a usage event: %s", exc)
        return False
