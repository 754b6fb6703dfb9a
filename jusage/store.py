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
import mmap
import os
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from jusage.events import ROW_DECODER, Event, EventError
from jusage.locations import default_log_path
from jusage.reading import ReadStats, read_rows

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["Store", "record_event"]

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
