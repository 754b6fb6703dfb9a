"""The import index of a ledger: which transcript bytes were read, which messages it holds.

One index per ledger, beside its real path and named after it (``events.jsonl`` has
``events.jsonl.imports.sqlite``), shared by every importer and by drop folders'
:mod:`jusage.ingest` (a ``source`` column keeps them apart). It is a cache of the ledger,
kept in the standard library's ``sqlite3``: the JSON-lines ledger stays the only record, no
report reads the index, and the index can always be rebuilt from the ledger, because an
imported event's id is derived from the same 64-bit key the index keeps (``<prefix><16 hex
digits>``, a correction adding ``#c<total>``).

It holds:

``seen``
    Per source and message key, the counts the ledger holds for that message (summed over
    the original and its corrections) and the original's ``ts``.
``files``
    Per source and transcript path, a :class:`FileMark`: where reading stopped and how to
    tell next time whether the file only grew since.
``ledger``
    The ledger's identity (device, inode), the length taken into account, and a digest of
    the bytes just before that length.

On entry the index is checked against its ledger. A ledger that is missing, replaced, shorter
than recorded or changed before the recorded length has the index rebuilt from what it holds
(marks and keys forgotten, then every event id read back in); a ledger that grew has its new
bytes read and their ids taken in (a run that died between appending and committing, or
another writer). Runs append to the ledger first and commit the index after, so a run killed
at any moment is harmless.

One run at a time per ledger: entering takes an exclusive lock on ``<index>.lock`` for the
whole run, so concurrent imports (and hooks, and ingesters) of any source never count a
message twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
from array import array
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

import orjson

from jusage.events import MAX_COUNT, Event  # MAX_COUNT: a count (or ts) this large is malformed
from jusage.importers.lock import ExclusiveLock

__all__ = [
    "HEAD_BYTES",
    "ID_PREFIXES",
    "MAX_COUNT",
    "Counts",
    "FileMark",
    "ImportBusyError",
    "ImportIndex",
    "Stamp",
    "add_counts",
    "counts_of",
    "digest",
    "event_counts",
    "fits",
    "index_path",
    "key_of",
]

Counts = tuple[int, int, int, int, int, int]
"""What the ledger holds for one message key: prompt, completion, cached, cache_write,
cache_write_1h (summed over the original and its corrections) and the original's ``ts``."""

Stamp = tuple[int, int, int, int]
"""A file's ``(device, inode, size, mtime_ns)``: equal stamps mean a file need not be opened."""

ID_PREFIXES: dict[str, str] = {
    "claude-code": "cc-",
    "codex": "cx-",
    "jcode": "jc-",
    "gemini-cli": "gm-",
    "opencode": "oc-",
    "qwen-code": "qw-",
    "amp": "am-",
    "copilot-cli": "cp-",
    "ingest": "dr-",
}
"""The event id prefix of each importer's events (``ingest``: drop folders', see
:data:`jusage.drops.ID_PREFIX`); a new importer adds its own here, so that rebuilding an
index from the ledger takes its events in too."""


HEAD_BYTES = 512
"""Bytes at the start of a file, and just before a saved offset, whose digests tell a file
that only grew from one rewritten in place."""

_SCHEMA_VERSION = 2  # 2: dr- ids count, which a version 1 index skipped, so it is rebuilt
_SCHEMA = """
CREATE TABLE sources (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE seen (
    source INTEGER NOT NULL REFERENCES sources (id),
    key INTEGER NOT NULL,
    prompt INTEGER NOT NULL,
    completion INTEGER NOT NULL,
    cached INTEGER NOT NULL,
    cache_write INTEGER NOT NULL,
    cache_write_1h INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    PRIMARY KEY (source, key)
) WITHOUT ROWID;
CREATE TABLE files (
    source INTEGER NOT NULL REFERENCES sources (id),
    path BLOB NOT NULL,
    dev INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    offset INTEGER NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    head BLOB NOT NULL,
    tail BLOB NOT NULL,
    context TEXT NOT NULL,
    PRIMARY KEY (source, path)
) WITHOUT ROWID;
CREATE TABLE ledger (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    dev INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    length INTEGER NOT NULL,
    tail BLOB NOT NULL
);
"""

_MARK_COLUMNS = "dev, ino, offset, size, mtime_ns, head, tail, context"

_LOOKUP = 500
"""Keys asked for in one query (well under SQLite's limit on bound parameters)."""

_ID = re.compile(r"([a-z][a-z0-9]*-)([0-9a-f]{16})(?:#c([0-9]{1,18}))?")
_SOURCE_OF_PREFIX = {prefix: source for source, prefix in ID_PREFIXES.items()}
_MENTIONS_AN_ID = re.compile(("|".join(f'"{re.escape(prefix)}' for prefix in ID_PREFIXES.values())).encode())


class ImportBusyError(RuntimeError):
    """Another import into the same ledger holds the lock and did not finish in time.

    ``holder`` says which process holds it (``pid 4242: jusage import codex``), or is ``""``.
    """

    def __init__(self, message: str, holder: str = "") -> None:
        super().__init__(message)
        self.holder = holder


def index_path(ledger: Path) -> Path:
    """Where the import index of ``ledger`` lives: beside its real path, named after it."""
    # Resolved, so that every name of one ledger (a symbolic link) shares one index and lock.
    real = ledger.resolve()
    return real.with_name(real.name + ".imports.sqlite")


def key_of(*parts: str) -> int:
    """A stable 64-bit key for a message identity (blake2b of the NUL-joined parts)."""
    text = "\0".join(parts)
    try:
        data = text.encode()
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


def digest(data: bytes) -> bytes:
    """The digest a :class:`FileMark` keeps of a file's first bytes and of those before its
    offset (``data`` is at most :data:`HEAD_BYTES` long)."""
    return hashlib.blake2b(data, digest_size=8).digest()


@dataclass(frozen=True, slots=True)
class FileMark:
    """How far a transcript was read, and how to recognise it next time.

    ``size`` is the file's size when it was read to its end, else -1 (so the file is opened
    again); ``head`` digests its first bytes (up to ``offset``) and ``tail`` the bytes just
    before ``offset``; ``context`` is what the importer's parser carries from one read to
    the next (JSON-serialisable).
    """

    dev: int
    ino: int
    offset: int
    size: int
    mtime_ns: int
    head: bytes
    tail: bytes
    context: dict[str, Any] = field(default_factory=dict)

    def stamp(self) -> Stamp:
        """The ``stat`` figures this mark was taken at, as a :data:`Stamp`."""
        return (self.dev, self.ino, self.size, self.mtime_ns)


_2_64 = 1 << 64


def _signed(n: int) -> int:
    """An unsigned 64-bit number as the signed one SQLite stores (same bits)."""
    return n - _2_64 if n >= 1 << 63 else n


def _unsigned(n: int) -> int:
    return n + _2_64 if n < 0 else n


def fits(counts: Counts) -> bool:
    """Whether every count (and the ``ts``) is smaller than :data:`MAX_COUNT` in size."""
    return min(counts) > -MAX_COUNT and max(counts) < MAX_COUNT


_COUNT_FIELDS = ("prompt", "completion", "cached", "cache_write", "cache_write_1h", "ts")


def counts_of(event: Event) -> Counts:
    """What the index keeps of one event: its counts as its ledger line holds them."""
    return (event.prompt, event.completion, event.cached, event.cache_write, event.cache_write_1h, event.ts)


def event_counts(value: dict[str, Any]) -> Counts | None:
    """The counts (and ``ts``) a ledger event carries, as the index keeps them (a value that
    is not an integer counts as 0); ``None`` when one does not :func:`fit <fits>`."""
    p, c, ca, cw, c1, ts = [v if type(v) is int else 0 for v in map(value.get, _COUNT_FIELDS)]
    counts = (p, c, ca, cw, c1, ts)
    return counts if fits(counts) else None


def add_counts(old: Counts, add: Counts) -> Counts:
    """``old`` plus the token counts of ``add`` (``old`` keeps its ``ts``)."""
    return (old[0] + add[0], old[1] + add[1], old[2] + add[2], old[3] + add[3], old[4] + add[4], old[5])


def _ledger_tail(path: Path, length: int) -> bytes:
    """The digest of the (up to) :data:`HEAD_BYTES` bytes of ``path`` before ``length``."""
    start = max(0, length - HEAD_BYTES)
    try:
        with path.open("rb") as fh:
            fh.seek(start)
            return digest(fh.read(length - start))
    except FileNotFoundError:
        return digest(b"")


class ImportIndex:
    """The import index of the ledger at ``ledger``; use as a context manager.

    Entering takes the lock (waiting up to ``timeout`` seconds, ``-1`` for ever, then raising
    :class:`ImportBusyError`), then brings the index in step with the ledger (see the module
    docstring). Keys and marks put during the run are kept in memory and written, with the
    ledger's new length, by :meth:`commit`; leaving without a commit forgets them.
    """

    def __init__(self, ledger: Path, *, timeout: float = -1) -> None:
        self.ledger = Path(ledger)
        self.path = index_path(self.ledger)
        self.timeout = timeout
        self._lock = ExclusiveLock(self.path.with_name(self.path.name + ".lock"))
        self._db: sqlite3.Connection | None = None
        self._pending: dict[str, _Pending] = {}
        self._marks: dict[tuple[str, str], FileMark] = {}
        self._stored: dict[str, bool] = {}  # whether the database may hold keys of a source
        self._sources: dict[str, int] = {}  # the number of each source in the tables
        self._ledger_row: tuple[int, int, int] | None = None  # as the database records it

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> ImportIndex:
        self.ledger.parent.mkdir(parents=True, exist_ok=True)
        if not self._lock.acquire(self.timeout):
            holder = self._lock.holder()
            running = f" ({holder})" if holder else ""
            raise ImportBusyError(f"another import into {self.ledger} is running{running}", holder)
        try:
            self._db = self._connect()
            self._reconcile()
        except BaseException as exc:
            self.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def __exit__(self, kind: object = None, error: object = None, trace: object = None) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                if self._db.in_transaction:
                    self._db.rollback()
            self._db.close()
            self._db = None
        if isinstance(error, sqlite3.DatabaseError) and not isinstance(error, sqlite3.OperationalError):
            self._remove()  # damaged: the next run rebuilds it from the ledger
        self._pending = {}
        self._marks = {}
        self._lock.release()

    def _remove(self) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{self.path}{suffix}").unlink()

    def _connect(self) -> sqlite3.Connection:
        """The database, created (or recreated, when unreadable or of another version)."""
        for attempt in range(2):
            db = sqlite3.connect(self.path, isolation_level=None)
            try:
                # Our own lock keeps every other process out, so SQLite need not share its
                # WAL index; a commit lost to a power cut is caught up from the ledger.
                db.execute("PRAGMA locking_mode = EXCLUSIVE")
                db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
                db.execute("PRAGMA cache_size = -65536")
                if db.execute("PRAGMA user_version").fetchone()[0] != _SCHEMA_VERSION:
                    tables = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
                    for (name,) in tables:
                        db.execute(f'DROP TABLE "{name}"')
                    # The version goes last: a run killed half-way starts over next time.
                    db.executescript(f"{_SCHEMA} PRAGMA user_version = {_SCHEMA_VERSION};")
                db.execute("BEGIN")
                return db
            except sqlite3.DatabaseError:
                db.close()
                if attempt:
                    raise
                self._remove()  # a cache we cannot read is a cache we rebuild
        raise AssertionError("unreachable")

    @property
    def db(self) -> sqlite3.Connection:
        """The open database (only inside the ``with`` block)."""
        if self._db is None:
            raise RuntimeError("the import index is not open")
        return self._db

    # -- in step with the ledger -------------------------------------------------------------

    def _reconcile(self) -> None:
        row = self.db.execute("SELECT dev, ino, length, tail FROM ledger").fetchone()
        try:
            st = self.ledger.stat()
        except FileNotFoundError:
            st = None
        if (
            st is None
            or row is None
            or (_signed(st.st_dev), _signed(st.st_ino)) != (row[0], row[1])
            or st.st_size < row[2]
            or _ledger_tail(self.ledger, row[2]) != row[3]
        ):
            self._forget()
            start = 0
        else:
            self._ledger_row = (row[0], row[1], row[2])
            start = row[2]
        if st is not None and st.st_size > start:
            self._take_in(start, st.st_size)

    def _forget(self) -> None:
        """Forget every mark and key: the ledger they described is gone."""
        self.db.execute("DELETE FROM seen")
        self.db.execute("DELETE FROM files")
        self.db.execute("DELETE FROM ledger")
        self._stored = dict.fromkeys(ID_PREFIXES, False)
        self._ledger_row = None

    def _take_in(self, start: int, end: int) -> int:
        """Take in the imported events among ledger bytes ``[start, end)``; how many.

        What the index already holds is skipped (a ledger can hold an event twice, say
        after two ledgers were joined), so reading an event twice never inflates the counts:
        an original is known once its key is, and a correction (``<prefix><hex>#c<total>``)
        once the key's total reached ``<total>``.
        """
        from jusage.reading import read_lines, too_deep

        taken = 0
        mentions_an_id = _MENTIONS_AN_ID.search
        loads = orjson.loads
        for batch in read_lines(self.ledger, start, end):
            for raw in batch:
                if mentions_an_id(raw) is None or too_deep(raw):  # a line no report counts
                    continue
                try:
                    value = loads(raw)
                except orjson.JSONDecodeError:
                    continue
                ident = value.get("id") if type(value) is dict else None
                found = _ID.fullmatch(ident) if type(ident) is str else None
                source = _SOURCE_OF_PREFIX.get(found[1]) if found else None
                if source is None or found is None:
                    continue
                add = event_counts(value)
                if add is None:
                    continue
                key = int(found[2], 16)
                old = self.get(source, key)
                if old is not None:
                    reached = found[3]
                    if reached is None or old[0] + old[1] >= int(reached):
                        continue  # already counted
                    add = add_counts(old, add)
                    if not fits(add):
                        continue
                self.put(source, key, add)
                taken += 1
        return taken

    def adopt_rewritten_ledger(self) -> None:
        """Take the ledger as it is now as the one this index describes, keeping every key.

        For jusage's own rewrites of the ledger (pruning old events, repairing it): without
        this, the next import would see another file, rebuild the index from what the
        rewritten ledger still holds, and import the dropped events again. Enter the index
        before taking the writers' lock (as imports do, so the two cannot wait on each other)
        and call this after the new file is in place, still under the writers' lock::

            with ImportIndex(store.path) as index, store.exclusive():
                ...  # write the new ledger beside the old one, os.replace it over the path
                index.adopt_rewritten_ledger()

        Entering already took in everything the old ledger held, so every key stays valid.
        This commits.
        """
        self.commit()

    # -- seen keys ---------------------------------------------------------------------------

    def get(self, source: str, key: int) -> Counts | None:
        """The counts recorded for ``key`` of ``source``, or ``None`` when it was never seen."""
        pending = self._pending.get(source)
        if pending is not None and key in pending.row:
            return pending.get(key)
        if not self._may_hold(source):
            return None
        return self.known(source, (key,)).get(key)

    def known(self, source: str, keys: Collection[int]) -> dict[int, Counts]:
        """Of ``keys``, those recorded for ``source`` (this run's included), with their counts."""
        pending = self._pending.get(source)
        hits = pending.row.keys() & keys if pending is not None else set()
        out = {key: pending.get(key) for key in hits} if pending is not None else {}
        if len(hits) < len(keys) and self._may_hold(source):
            ask = sorted({_signed(key) for key in keys if key not in hits})
            db = self.db
            number = self._source_id(source)
            for i in range(0, len(ask), _LOOKUP):
                part = ask[i : i + _LOOKUP]
                rows = db.execute(
                    "SELECT key, prompt, completion, cached, cache_write, cache_write_1h, ts FROM seen"
                    f" WHERE source = ? AND key IN ({','.join('?' * len(part))})",
                    (number, *part),
                )
                for key, *counts in rows:
                    out[_unsigned(key)] = (counts[0], counts[1], counts[2], counts[3], counts[4], counts[5])
        return out

    def _may_hold(self, source: str) -> bool:
        stored = self._stored.get(source)
        if stored is None:
            number = self._source_id(source)
            query = "SELECT 1 FROM seen WHERE source = ? LIMIT 1"
            stored = number is not None and self.db.execute(query, (number,)).fetchone() is not None
            self._stored[source] = stored
        return stored

    def _source_id(self, source: str, *, create: bool = False) -> int | None:
        """The number that stands for ``source`` in the tables (a number compares faster than
        a name, which counts in a first import); ``None`` when it has none yet."""
        number = self._sources.get(source)
        if number is None:
            row = self.db.execute("SELECT id FROM sources WHERE name = ?", (source,)).fetchone()
            if row is not None:
                number = row[0]
            elif create:
                number = self.db.execute("INSERT INTO sources (name) VALUES (?)", (source,)).lastrowid
            if number is None:
                return None
            self._sources[source] = number
        return number

    def put(self, source: str, key: int, counts: Counts) -> None:
        """Remember that the ledger now holds ``counts`` for ``key`` (written on commit)."""
        self._pending_of(source).put(key, counts)

    def put_packed(self, source: str, keys: list[int], packed_counts: bytes) -> None:
        """:meth:`put` for many keys at once, their counts given as the bytes of an
        ``array("q")`` holding six values per key (so that no tuple is made per key)."""
        self._pending_of(source).put_packed(keys, packed_counts)

    def _pending_of(self, source: str) -> _Pending:
        pending = self._pending.get(source)
        if pending is None:
            pending = self._pending[source] = _Pending()
        return pending

    # -- file marks --------------------------------------------------------------------------

    def mark(self, source: str, path: str) -> FileMark | None:
        """The mark of ``path`` (as read by ``source``), or ``None`` when it was never read."""
        return self.marks(source, [path]).get(path)

    def marks(self, source: str, paths: Iterable[str] | None = None) -> dict[str, FileMark]:
        """The marks of ``source``, by path: all of them, or those of ``paths`` it has."""
        select = f"SELECT path, {_MARK_COLUMNS} FROM files WHERE source = ?"
        number = self._source_id(source)
        rows: list[Any] = []
        if paths is None:
            if number is not None:
                rows = self.db.execute(select, (number,)).fetchall()
            mine = {path: mark for (src, path), mark in self._marks.items() if src == source}
        else:
            paths = list(paths)
            wanted = [os.fsencode(path) for path in paths] if number is not None else []
            for i in range(0, len(wanted), _LOOKUP):
                part = wanted[i : i + _LOOKUP]
                query = f"{select} AND path IN ({','.join('?' * len(part))})"
                rows += self.db.execute(query, (number, *part)).fetchall()
            mine = {path: self._marks[source, path] for path in paths if (source, path) in self._marks}
        out = {os.fsdecode(row[0]): _mark_of(row[1:]) for row in rows}
        out.update(mine)
        return out

    def stamps(self, source: str, folders: Sequence[Path]) -> dict[str, Stamp]:
        """The :data:`Stamp` of every file below ``folders`` that ``source`` has a mark for.

        A tree's re-import compares these with a ``stat`` of each file, so that it opens only
        the files that changed.
        """
        out: dict[str, Stamp] = {}
        db = self.db
        fsdecode = os.fsdecode
        number = self._source_id(source)
        for folder in folders if number is not None else ():
            sep = os.fsencode(os.sep)
            low = os.fsencode(folder).rstrip(sep) + sep
            high = low[:-1] + bytes([low[-1] + 1])  # every path below ``low`` sorts before it
            rows = db.execute(
                "SELECT path, dev, ino, size, mtime_ns FROM files"
                " WHERE source = ? AND path >= ? AND path < ?",
                (number, low, high),
            )
            # _unsigned, inlined: a re-import of a big tree meets every row here.
            out.update(
                {
                    fsdecode(path): (
                        dev if dev >= 0 else dev + _2_64,
                        ino if ino >= 0 else ino + _2_64,
                        size,
                        mtime,
                    )
                    for path, dev, ino, size, mtime in rows
                }
            )
        for (src, path), mark in self._marks.items():
            if src == source:
                out[path] = mark.stamp()
        return out

    def set_mark(self, source: str, path: str, mark: FileMark) -> None:
        """Record how far ``path`` was read (written on commit)."""
        self._marks[(source, path)] = mark

    # -- saving ------------------------------------------------------------------------------

    def commit(self) -> None:
        """Write this run's keys and marks and the ledger's identity and length, atomically.

        Call it after the ledger lines of the run are written: a run killed before the
        commit leaves the ledger ahead of the index, which the next run catches up. A run
        that changed nothing writes nothing.
        """
        db = self.db
        for source, pending in self._pending.items():
            if not pending.row:
                continue
            number = self._source_id(source, create=True)
            db.executemany(
                "INSERT OR REPLACE INTO seen VALUES (?, ?, ?, ?, ?, ?, ?, ?)", pending.rows(number)
            )
            self._stored[source] = True
        db.executemany(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    self._source_id(source, create=True),
                    os.fsencode(path),
                    _signed(mark.dev),
                    _signed(mark.ino),
                    mark.offset,
                    mark.size,
                    mark.mtime_ns,
                    mark.head,
                    mark.tail,
                    orjson.dumps(mark.context).decode(),
                )
                for (source, path), mark in self._marks.items()
            ],
        )
        try:
            st = self.ledger.stat()
        except FileNotFoundError:
            ledger = None
        else:
            ledger = (_signed(st.st_dev), _signed(st.st_ino), st.st_size)
        if ledger != self._ledger_row:
            db.execute("DELETE FROM ledger")
            if ledger is not None:
                tail = _ledger_tail(self.ledger, ledger[2])
                db.execute("INSERT INTO ledger VALUES (1, ?, ?, ?, ?)", (*ledger, tail))
            self._ledger_row = ledger
        db.execute("COMMIT")
        self._pending = {}
        self._marks = {}
        db.execute("BEGIN")


def _mark_of(row: Sequence[Any]) -> FileMark:
    dev, ino, offset, size, mtime_ns, head, tail, context = row
    try:
        ctx = orjson.loads(context)
    except orjson.JSONDecodeError:
        ctx = {}
    return FileMark(
        _unsigned(dev),
        _unsigned(ino),
        offset,
        size,
        mtime_ns,
        head,
        tail,
        ctx if isinstance(ctx, dict) else {},
    )


class _Pending:
    """The keys of one source recorded in this run: a row number per key and the rows'
    counts in one flat array, six values a row (a tuple per key would take several times
    the memory in a first import)."""

    __slots__ = ("row", "values")

    def __init__(self) -> None:
        self.row: dict[int, int] = {}
        self.values = array("q")

    def get(self, key: int) -> Counts:
        """The counts of ``key``, which must be in :attr:`row`."""
        i = self.row[key] * 6
        v = self.values[i : i + 6]
        return (v[0], v[1], v[2], v[3], v[4], v[5])

    def put(self, key: int, counts: Counts) -> None:
        i = self.row.get(key)
        if i is None:
            self.row[key] = len(self.values) // 6
            self.values.extend(counts)
        else:
            self.values[i * 6 : i * 6 + 6] = array("q", counts)

    def put_packed(self, keys: list[int], packed: bytes) -> None:
        first = len(self.values) // 6
        if self.row.keys().isdisjoint(keys) and len(set(keys)) == len(keys):
            self.row.update(zip(keys, range(first, first + len(keys)), strict=True))
            self.values.frombytes(packed)
            return
        counts = array("q")
        counts.frombytes(packed)
        for n, key in enumerate(keys):
            v = counts[n * 6 : n * 6 + 6]
            self.put(key, (v[0], v[1], v[2], v[3], v[4], v[5]))

    def rows(self, source: int | None) -> Iterator[tuple[Any, ...]]:
        """``(source, key as SQLite stores it, six counts)`` for every key, in row order."""
        # The same 64 bits read as signed, in C rather than one call per key.
        keys = array("q", array("Q", self.row).tobytes()).tolist()  # a dict lists keys in row order
        step = 1 << 16
        for start in range(0, len(keys), step):
            values = iter(self.values[start * 6 : (start + step) * 6].tolist())
            yield from zip(repeat(source), keys[start : start + step], *[values] * 6)
