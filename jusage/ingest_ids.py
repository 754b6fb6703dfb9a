"""Which dropped events the ledger already holds, and the lock that makes check-and-append one step.

The ledger is the record: every event that came through a drop folder has the id
``dr-<16 hex digits>`` (see :mod:`jusage.drops`), so the ids it holds are found by reading
it. :class:`LedgerIds` keeps them in a cache beside the ledger (``events.jsonl`` has
``events.jsonl.ingest.sqlite``, in the standard library's ``sqlite3``) together with how
far the ledger was read: its device and inode, that length, and a digest of the bytes just
before it. Each use reads only what was appended since; a ledger that is another file,
shorter, or changed before that length, and a cache that cannot be read, are rebuilt from
the whole ledger. No report reads the cache.

Ingesters hold ``events.jsonl.ingest.lock`` (an exclusive ``flock``) from the catch-up
until their append is on disk, so two ingesters never both find an id missing and both
append it. Only they write ``dr-`` ids, so other writers need not take it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from jusage.drops import ID_PREFIX
from jusage.events import Event, EventError
from jusage.reading import last_line_end, read_lines

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LedgerIds", "cache_path"]

_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE ids (key INTEGER PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE ledger (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    dev INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    tail BLOB NOT NULL
);
"""
_TAIL = 64  # bytes before the saved length whose digest tells an appended ledger from a rewritten one
_CHUNK = 500  # keys per query: below sqlite's limit on bound parameters
_NEEDLE = ID_PREFIX.encode()


def cache_path(ledger: Path) -> Path:
    """The cache of ``ledger``'s dropped ids: beside its real path, whatever name it is given."""
    real = ledger.resolve()
    return real.with_name(real.name + ".ingest.sqlite")


def _signed(key: int) -> int:
    """``key`` (unsigned 64-bit) as the signed integer sqlite stores."""
    return key - (1 << 64) if key >= 1 << 63 else key


def _unsigned(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


class LedgerIds:
    """The keys of the ``dr-`` ids in the ledger at ``ledger``, held under the ingest lock.

    Use as a context manager: entering waits for the lock and brings the cache up to date
    with the ledger; :meth:`add` records keys once their events are on disk. Raises
    ``OSError`` when the lock or the ledger cannot be read.
    """

    def __init__(self, ledger: Path) -> None:
        self.ledger = ledger
        self.path = cache_path(ledger)
        self._lock_fd = -1
        self._other_lock: Any = None
        self._db: sqlite3.Connection | None = None

    def __enter__(self) -> LedgerIds:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock()
        try:
            try:
                self._open()
                self._catch_up()
            except sqlite3.DatabaseError:
                # Only a cache: a damaged one is removed and rebuilt from the ledger.
                self._close_db()
                for name in (self.path, self.path.with_name(self.path.name + "-journal")):
                    with contextlib.suppress(FileNotFoundError):
                        name.unlink()
                self._open()
                self._catch_up()
        except BaseException:
            self._close_db()
            self._unlock()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._close_db()
        self._unlock()

    def known(self, keys: Collection[int]) -> set[int]:
        """Those of ``keys`` whose events the ledger holds."""
        assert self._db is not None, "use LedgerIds as a context manager"
        found: set[int] = set()
        ordered = [_signed(k) for k in keys]
        for start in range(0, len(ordered), _CHUNK):
            part = ordered[start : start + _CHUNK]
            marks = ",".join("?" * len(part))
            rows = self._db.execute(f"SELECT key FROM ids WHERE key IN ({marks})", part)
            found.update(_unsigned(row[0]) for row in rows)
        return found

    def add(self, keys: Iterable[int]) -> None:
        """Remember ``keys`` as in the ledger: call only once their lines are on disk."""
        assert self._db is not None, "use LedgerIds as a context manager"
        with self._db:
            self._db.executemany("INSERT OR IGNORE INTO ids VALUES (?)", ((_signed(k),) for k in keys))

    # -- the cache ---------------------------------------------------------------------------

    def _open(self) -> None:
        db = sqlite3.connect(self.path, timeout=60)
        self._db = db
        db.execute("PRAGMA synchronous=NORMAL")  # a lost commit is only a longer catch-up
        if db.execute("PRAGMA user_version").fetchone()[0] != _SCHEMA_VERSION:
            with db:
                db.execute("DROP TABLE IF EXISTS ids")
                db.execute("DROP TABLE IF EXISTS ledger")
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    def _close_db(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _catch_up(self) -> None:
        """Take in the ids of ledger lines written since the cache last read it."""
        db = self._db
        assert db is not None
        try:
            st = self.ledger.stat()
        except FileNotFoundError:
            st = None
        row = db.execute("SELECT dev, ino, offset, tail FROM ledger").fetchone()
        matches = (
            st is not None
            and row is not None
            and (row[0], row[1]) == (st.st_dev, st.st_ino)
            and row[2] <= st.st_size
            and row[3] == self._tail(row[2])
        )
        start = row[2] if matches else 0
        if st is None:
            with db:
                db.execute("DELETE FROM ids")
                db.execute("DELETE FROM ledger")
            return
        # Up to the last whole line: a line still being written is read next time.
        end = max(start, last_line_end(self.ledger, st.st_size)) if st.st_size > start else start
        keys = list(self._scan(start, end)) if end > start else []
        with db:
            if not matches:
                db.execute("DELETE FROM ids")
            db.executemany("INSERT OR IGNORE INTO ids VALUES (?)", ((_signed(k),) for k in keys))
            db.execute(
                "INSERT OR REPLACE INTO ledger VALUES (1, ?, ?, ?, ?)",
                (st.st_dev, st.st_ino, end, self._tail(end)),
            )

    def _scan(self, start: int, end: int) -> Iterable[int]:
        """The keys of the valid ``dr-`` events in bytes ``[start, end)`` of the ledger.

        A line the readers would skip (a write torn by a killed ingester) is not counted: its
        event is not in the ledger, and must be appended again.
        """
        cut = len(ID_PREFIX)
        for batch in read_lines(self.ledger, start, end):
            for raw in batch:
                if _NEEDLE not in raw:
                    continue
                try:
                    ident = Event.from_json(raw).id
                except EventError:
                    continue
                if ident.startswith(ID_PREFIX) and len(ident) == cut + 16:
                    try:
                        yield int(ident[cut:], 16)
                    except ValueError:
                        continue

    def _tail(self, offset: int) -> bytes:
        """A digest of the ledger's bytes just before ``offset``."""
        if offset <= 0:
            return b""
        try:
            with self.ledger.open("rb") as fh:
                fh.seek(max(0, offset - _TAIL))
                data = fh.read(min(offset, _TAIL))
        except FileNotFoundError:
            return b""
        return hashlib.blake2b(data, digest_size=16).digest()

    # -- the lock ----------------------------------------------------------------------------

    def _lock(self) -> None:
        lock = self.path.with_name(self.path.name.removesuffix(".sqlite") + ".lock")
        if fcntl is None:  # pragma: no cover - Windows
            from filelock import FileLock

            self._other_lock = FileLock(str(lock))
            self._other_lock.acquire()
            return
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._other_lock is not None:  # pragma: no cover - Windows
            self._other_lock.release()
            self._other_lock = None
        if self._lock_fd >= 0:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = -1
