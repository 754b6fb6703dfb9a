"""The ledger file: concurrent appends of whole lines, and the events read back from it.

Locking. Every append takes an exclusive ``flock`` on the log file's own open descriptor,
writes the whole line (looping over short writes) with ``O_APPEND`` and releases it. The log
itself is locked rather than a side file through ``filelock``, because ``filelock`` opens and
closes its lock file on every acquisition; the descriptor here is opened once per process and
kept. Where ``fcntl`` does not exist (Windows) a ``filelock`` side file is used instead.

Under the lock a writer answers two questions before it writes:

* *Is the file it holds still the log?* It compares the path's ``stat`` with the file it has
  open. A log that was removed, renamed away or replaced (a retention rewrite renames a new
  file over it while holding the old file's lock) is reopened by path first, so no
  acknowledged line lands in a file nobody will read again.
* *Did a writer die mid-line?* A writer sets a flag in a small page shared by all writers
  through ``mmap`` (``events.jsonl.meta``, beside the log's real path, so every name of the
  log shares one page) while it writes, and clears it after. Finding the flag set (and on its
  first append) a writer looks at the log's last byte and, if it is not a newline, starts its
  line with one, so the line lands on a line of its own whatever the dead writer left.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

from jusage.events import EVENT_DECODER, Event
from jusage.locations import default_log_path
from jusage.reading import ReadStats, read_rows

if TYPE_CHECKING:
    from jusage.checker import BudgetChecker, BudgetResult

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["Store", "event_line", "meta_path", "record_event"]

# The page beside the log that every writer maps: the flag a writer sets while it writes,
# and a 64-bit generation advanced by each rewrite that renames a new file over the log.
_DIRTY = 0
_GEN = slice(8, 16)
_META_SIZE = 4096


def meta_path(log: Path) -> Path:
    """The page the writers of ``log`` share: beside its real path, whatever name it is given."""
    real = log.resolve()
    return real.with_name(real.name + ".meta")


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

    Safe for many processes and threads appending at once. ``record`` raises
    :class:`~jusage.events.EventError` for an event the readers would refuse and ``OSError``
    when the line cannot be written; nothing half-written is left behind that a later line
    could merge into.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._name = os.fspath(self.path)
        self.read_stats = ReadStats()
        self._fd = -1
        self._gen = b""
        self._ident = (-1, -1)  # (device, inode) of the file self._fd is open on
        self._meta: mmap.mmap | None = None
        self._checked = False  # the tail was looked at since the file was opened
        self._mutex = threading.Lock()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @classmethod
    def default(cls) -> Store:
        """The store named by ``JUSAGE_LOG`` / ``JUSAGE_HOME``, else ``~/.jusage/usage/events.jsonl``."""
        return cls(default_log_path())

    # -- writing ---------------------------------------------------------------------------

    @overload
    def record(self, event: Event, budgets: None = None, *, now: int | None = None) -> None: ...
    @overload
    def record(self, event: Event, budgets: BudgetChecker, *, now: int | None = None) -> BudgetResult: ...

    def record(
        self, event: Event, budgets: BudgetChecker | None = None, *, now: int | None = None
    ) -> BudgetResult | None:
        """Append one event as one line.

        The event is checked first (see :meth:`Event.check`), and given an ``id`` (random)
        and this machine's ``host`` when it has none, so copies of the log never count it
        twice and every report can tell the machines apart. With ``budgets``, also evaluate
        the budgets that cover the event, with it included, under the same lock as the
        append, and return the result: of many agents recording at once, exactly one sees
        each threshold crossed. The event is written whatever the
        budgets say (``now``, default the clock, decides the current periods).
        """
        line = event_line(event) + b"\n"
        if budgets is None:
            self._append(line)
            return None
        return budgets._record(self, (event,), line, now)

    def record_many(self, events: Iterable[Event]) -> int:
        """Append events in one locked write, each checked and stamped as :meth:`record`
        does; returns how many."""
        return self.append_lines([event_line(event) for event in events])

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
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        st = os.fstat(fd)
        self._fd, self._ident = fd, (st.st_dev, st.st_ino)
        if self._meta is None and fcntl is not None:
            try:
                self._meta = _map_meta(meta_path(self.path))
            except (OSError, ValueError):  # no shared page here: every append looks at the tail
                self._meta = None
        # The generation is read after opening: a rewrite before that is the file we opened.
        self._gen = self._meta[_GEN] if self._meta is not None else b""
        self._checked = False
        _open_stores.add(self)
        return fd

    def _is_current(self) -> bool:
        """Whether the path still names the file we hold open."""
        try:
            st = os.stat(self._name)  # noqa: PTH116 - a str path: pathlib adds its own cost per append
        except FileNotFoundError:
            return False
        return (st.st_dev, st.st_ino) == self._ident

    def _append(self, data: bytes, locked: Callable[[int], None] | None = None) -> int:
        """Write ``data`` at the log's end under the writers' lock; return the bytes written
        (a newline more than ``data`` after a torn line). ``locked(fd)`` is called under the
        lock just before the write, the descriptor open on the log the line goes to."""
        if fcntl is None:  # pragma: no cover - Windows
            with self._mutex, _side_lock(self.path):
                fd = self._fd if self._fd >= 0 else self._open()
                if locked is not None:
                    locked(fd)
                _write_all(fd, data)
            return len(data)
        with self._mutex:
            for _attempt in range(8):
                # The path is looked at before the lock, so the look costs no time under it: a
                # log removed or renamed away by hand is reopened here, and a rewrite by jusage
                # (done under the lock) is seen under the lock, by its generation.
                if self._fd >= 0 and not self._is_current():
                    self._forget()
                fd = self._fd if self._fd >= 0 else self._open()
                _lock(fd)
                try:
                    meta = self._meta
                    if meta is not None and meta[_GEN] != self._gen:
                        self._forget()  # rewritten and renamed over while we waited
                        continue
                    if meta is None or meta[_DIRTY] or not self._checked:
                        if meta is None and not self._is_current():
                            self._forget()
                            continue
                        data = _after_torn_tail(fd, data)
                        self._checked = True
                    if locked is not None:
                        locked(fd)
                    if meta is not None:
                        meta[_DIRTY] = 1
                    _write_all(fd, data)
                    if meta is not None:
                        meta[_DIRTY] = 0
                    return len(data)
                finally:
                    if self._fd == fd:
                        _flock(fd, _LOCK_UN)
            raise OSError(f"{self.path}: the log kept being replaced while appending")

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold the writers' lock (for rewrites): no record lands while inside.

        A rewrite writes the new log beside the old one and renames it over ``path`` inside
        this block. On the way out the generation in the shared page is advanced, so writers
        waiting for the old file's lock reopen the path and append to the new log.
        """
        with self._mutex:
            if fcntl is None:  # pragma: no cover - Windows
                with _side_lock(self.path):
                    yield
                return
            for _attempt in range(8):
                fd = self._fd if self._fd >= 0 else self._open()
                _lock(fd)
                if not self._is_current():
                    _flock(fd, _LOCK_UN)
                    self._forget()
                    continue
                try:
                    yield
                finally:
                    if self._meta is not None and not self._is_current():
                        gen = int.from_bytes(self._meta[_GEN], "little") + 1
                        self._meta[_GEN] = gen.to_bytes(8, "little")
                    _flock(fd, _LOCK_UN)
                    self._forget()
                return
            raise OSError(f"{self.path}: the log kept being replaced")

    # -- reading ---------------------------------------------------------------------------

    def iter_events(self, since: str | None = None) -> Iterator[Event]:
        """Stream the valid events, skipping (and counting in ``read_stats``) bad lines.

        ``since`` (``YYYY-MM-DD``) keeps events whose ``date`` (or, without one, local day of
        ``ts``) is on or after it.
        """
        from jusage.days import local_day

        self.read_stats = stats = ReadStats()
        for rows in read_rows(self.path, stats, decoder=EVENT_DECODER):
            for event in rows:
                if since is None or (event.date or local_day(event.ts)) >= since:
                    yield event

    def load(self, since: str | None = None) -> list[Event]:
        """All valid events (see :meth:`iter_events`); prefer streaming for large logs."""
        return list(self.iter_events(since))


def event_line(event: Event) -> bytes:
    """The JSON line of ``event``, checked, with an ``id`` and a ``host`` when it has none.

    The missing keys are added at the end of the encoded object rather than by building a
    new event: the record path runs once per agent turn in many processes at once.
    """
    data = event.check().to_json()
    if not event.id:
        data = data[:-1] + b',"id":"' + os.urandom(8).hex().encode() + b'"}'
    if not event.host:
        data = data[:-1] + _host_key() + b"}"
    return data


def _host_key() -> bytes:
    """``,"host":"<this machine>"`` as JSON."""
    global _HOST_KEY
    if _HOST_KEY is None:
        import orjson

        from jusage.hosts import host_name

        _HOST_KEY = b',"host":' + orjson.dumps(host_name())
    return _HOST_KEY


_HOST_KEY: bytes | None = None


def _write_all(fd: int, data: bytes | memoryview) -> None:
    """Write all of ``data``, looping over short writes (the lock keeps them contiguous)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _lock(fd: int) -> None:
    """Take the exclusive ``flock`` on ``fd``, waiting for it.

    A lock found busy is tried again twice after yielding the CPU before sleeping on it:
    the holder is often a writer preempted between its lock and its unlock, and letting it
    finish costs less than the wake-ups of sleeping waiters (see docs/performance.md).
    """
    try:
        _flock(fd, _LOCK_EX_NB)
        return
    except BlockingIOError:
        pass
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
def _side_lock(path: Path) -> Iterator[None]:  # pragma: no cover - Windows
    """The writers' lock where ``fcntl`` does not exist: a ``filelock`` side file."""
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
        if prompt + completion <= 0:
            return False
        stamp = int(time.time()) if ts is None else ts
        fields.setdefault("date", time.strftime("%Y-%m-%d", time.localtime(stamp)))
        event = Event.create(ts=stamp, prompt=prompt, completion=completion, **fields)
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
