"""What an importer remembers between runs: files already read, messages already recorded.

Layout, under ``<log dir>/import-state/<source>/``:

``lock``
    An exclusive ``flock`` held for the whole run, so two imports (or hooks) of the same source
    never interleave and never count a message twice.
``files/<nn>.bin``
    The file table, in :data:`SHARDS` shards chosen by a CRC of the path: per transcript its
    identity ``(dev, inode)``, bytes consumed, size and mtime, a digest of the first bytes (to
    notice a file rewritten in place) and per-file parser context, as msgpack. A shard is
    read only when a path in it is looked up (a hook touching one transcript reads one or
    two) and rewritten only when one of its marks changed.
``ledger.json``
    How far the ledger had been taken into account (device, inode, size) at the last save.
``seen.base`` + ``seen.mid`` + ``seen.delta``
    Every message key already in the ledger with the counts recorded for it. ``seen.base``
    and ``seen.mid`` are sorted, packed arrays (8-byte keys, then 6 signed 8-byte values per
    key) that are memory-mapped and binary-searched, so a run costs O(new entries x log
    history) rather than O(history) to load. ``seen.delta`` is an append-only file of at most
    :data:`DELTA_RECORDS` records written since; past that it is folded into ``seen.mid``,
    and ``seen.mid`` into ``seen.base`` once it grows past a quarter of it. Records hold
    absolute values (never increments), so reading one twice is harmless.

The ledger is the source of truth and this state a cache of it: event ids are derived from
the same 8-byte key (``<prefix><16 hex digits>``), and the state remembers the ledger size
after its last write. A run first reads any ledger bytes appended since then, so an import
that crashed between writing the ledger and saving the state is not counted twice, and a
lost state can be rebuilt from the ledger alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import mmap
import os
import struct
import sys
import time
import zlib
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import orjson

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "COUNTS",
    "DELTA_RECORDS",
    "SHARDS",
    "Counts",
    "FileMark",
    "FileTable",
    "ImportBusyError",
    "ImportState",
    "key_of",
]

COUNTS = 6
"""Values kept per key: prompt, completion, cached, cache_write, cache_write_1h, ts."""

Counts = tuple[int, int, int, int, int, int]
"""What the ledger holds for one message key: its summed counts and the first event's ts."""

SHARDS = 64
"""Shards of the file table."""

DELTA_RECORDS = 4096
"""Records ``seen.delta`` may hold before they are folded into the sorted ``seen.mid``."""

_MAGIC = b"JUSEEN01"
_HEADER = struct.Struct("<8sQ")
_RECORD = struct.Struct("<Q6q")
_KEY = struct.Struct("<Q")
_SIX = struct.Struct("<6q")
PACKED_COUNTS = _SIX
"""How :meth:`ImportState.put_new_file` and :meth:`ImportState.put_packed` take counts:
six little-endian signed 8-byte values."""
HEAD_BYTES = 512
"""Bytes at the start of a file whose digest tells a rewritten file from an appended one."""


_blake2b = hashlib.blake2b


class ImportBusyError(RuntimeError):
    """Another import of the same source holds the lock and did not finish in time."""


class _Lock:
    """An exclusive lock on a file, between processes (and between descriptors of one).

    A bare ``flock`` rather than the ``filelock`` package: importing that costs a hook more
    than the rest of its start-up (``filelock`` uses the same ``flock`` on Unix, so the two
    exclude each other). Windows falls back to ``filelock``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1
        self._other: Any = None

    def acquire(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds (``-1``: for ever); False when it did not come."""
        if fcntl is None:  # pragma: no cover - Windows
            from filelock import FileLock, Timeout

            self._other = FileLock(str(self.path))
            try:
                self._other.acquire(timeout=timeout)
            except Timeout:
                return False
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            if timeout < 0:
                fcntl.flock(fd, fcntl.LOCK_EX)
            else:
                deadline = time.monotonic() + timeout
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            os.close(fd)
                            return False
                        time.sleep(min(0.01, left))
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        self._fd = fd
        return True

    def release(self) -> None:
        if self._other is not None:  # pragma: no cover - Windows
            self._other.release()
            self._other = None
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = -1


def key_of(*parts: str) -> int:
    """A stable 64-bit key for a message identity (blake2b of the NUL-joined parts)."""
    text = "\0".join(parts)
    try:
        data = text.encode()
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
    return int.from_bytes(_blake2b(data, digest_size=8).digest(), "big")


def head_digest(data: bytes) -> str:
    """Digest of a file's first bytes, as stored in :class:`FileMark`."""
    return hashlib.blake2b(data[:HEAD_BYTES], digest_size=8).hexdigest()


class FileMark(msgspec.Struct, array_like=True):
    """How far a transcript was read, and how to recognise it next time."""

    dev: int
    ino: int
    offset: int
    size: int
    mtime_ns: int
    head: str
    context: dict[str, Any] = {}


_encode_shard = msgspec.msgpack.Encoder().encode
_decode_shard = msgspec.msgpack.Decoder(dict[str, FileMark]).decode


def shard_of(path: str) -> int:
    """The shard of the file table that holds ``path``."""
    return zlib.crc32(path.encode("utf-8", "surrogatepass")) % SHARDS


class FileTable:
    """The marks of the files an importer has read, loaded and saved a shard at a time."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._shards: dict[int, dict[str, FileMark]] = {}
        self._dirty: set[int] = set()

    def _shard(self, index: int) -> dict[str, FileMark]:
        found = self._shards.get(index)
        if found is None:
            try:
                found = _decode_shard((self.folder / f"{index:02d}.bin").read_bytes())
            except (FileNotFoundError, msgspec.DecodeError):
                found = {}  # a lost shard only means its files are read again
            self._shards[index] = found
        return found

    def get(self, path: str) -> FileMark | None:
        """The mark of ``path``, or ``None`` when it was never read."""
        return self._shard(shard_of(path)).get(path)

    def __setitem__(self, path: str, mark: FileMark) -> None:
        index = shard_of(path)
        self._shard(index)[path] = mark
        self._dirty.add(index)

    def snapshot(self) -> dict[str, FileMark]:
        """Every mark in one dict (this reads every shard; later changes are not in it)."""
        merged: dict[str, FileMark] = {}
        for index in range(SHARDS):
            merged.update(self._shard(index))
        return merged

    def values(self) -> Iterator[FileMark]:
        """Every mark (this reads every shard)."""
        for index in range(SHARDS):
            yield from self._shard(index).values()

    def exists(self) -> bool:
        """Whether any shard was ever saved."""
        try:
            with os.scandir(self.folder) as it:
                return any(entry.name.endswith(".bin") for entry in it)
        except FileNotFoundError:
            return False

    def adopt(self, marks: dict[str, FileMark]) -> None:
        """Take over marks from an older layout (all saved on the next :meth:`save`)."""
        for path, mark in marks.items():
            self[path] = mark

    def save(self) -> None:
        """Write the shards that changed (each atomically)."""
        if not self._dirty:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        for index in sorted(self._dirty):
            _write_atomic(self.folder / f"{index:02d}.bin", _encode_shard(self._shards[index]))
        self._dirty.clear()


class _SeenBase:
    """A sorted, memory-mapped part of the seen-keys table."""

    def __init__(self, path: Path) -> None:
        self.n = 0
        self.keys: memoryview | None = None
        self.values: memoryview | None = None
        self._mm: mmap.mmap | None = None
        try:
            fh = path.open("rb")
        except FileNotFoundError:
            return
        with fh:
            size = os.fstat(fh.fileno()).st_size
            if size < _HEADER.size:
                return
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        magic, n = _HEADER.unpack_from(mm, 0)
        if magic != _MAGIC or size != _HEADER.size + n * 8 * (1 + COUNTS):
            mm.close()
            return
        self._mm = mm
        self.n = n
        view = memoryview(mm)
        start = _HEADER.size
        self.keys = view[start : start + 8 * n].cast("Q")
        self.values = view[start + 8 * n :].cast("q")

    def get(self, key: int) -> Counts | None:
        keys = self.keys
        if keys is None:
            return None
        i = bisect_left(keys, key)
        if i < self.n and keys[i] == key:
            assert self.values is not None
            v = self.values[i * COUNTS : (i + 1) * COUNTS]
            return (v[0], v[1], v[2], v[3], v[4], v[5])
        return None

    def items(self) -> Iterator[tuple[int, Counts]]:
        if self.keys is None or self.values is None:
            return
        flat = iter(self.values.tolist())
        rows: Iterator[Counts] = zip(flat, flat, flat, flat, flat, flat, strict=True)
        yield from zip(self.keys.tolist(), rows, strict=True)

    def packed_items(self) -> Iterator[tuple[int, bytes]]:
        """``(key, counts packed as _SIX packs them)``, straight from the file's bytes."""
        if self.keys is None or self.values is None:
            return
        data = self.values.tobytes()  # already little-endian: the file's layout
        size = _SIX.size
        rows = [data[i : i + size] for i in range(0, len(data), size)]
        yield from zip(self.keys.tolist(), rows, strict=True)

    def close(self) -> None:
        self.keys = self.values = None
        if self._mm is not None:
            with contextlib.suppress(BufferError):
                self._mm.close()
            self._mm = None


def _pack_all(rows: Iterable[Counts]) -> list[bytes]:
    """Each row of counts packed as :data:`_SIX` packs it, all in one array (no call per row)."""
    flat = array("q", itertools.chain.from_iterable(rows))
    if sys.byteorder != "little":
        flat.byteswap()
    data = flat.tobytes()
    size = _SIX.size
    return [data[i : i + size] for i in range(0, len(data), size)]


PARALLEL_KEYS = 1 << 17
"""From this many keys, a seen table is sorted and written in two halves at once."""


def _write_seen(path: Path, table: dict[int, bytes]) -> None:
    """Replace ``path`` atomically by ``table`` (key -> packed counts) sorted by key, in the
    layout :class:`_SeenBase` reads.

    Sorting and gathering half a million keys takes most of a second, so a big table is
    done in two halves at once: the keys below 2**63 here and the others in a forked child
    (:func:`~jusage.forked.map_forked`, which does a failed child's half here again). Each
    half is written straight to its place in the file, so nothing travels back.
    """
    from jusage.forked import map_forked

    n = len(table)
    if n >= PARALLEL_KEYS:
        halves = [[k for k in table if k < 1 << 63], [k for k in table if k >= 1 << 63]]
    else:
        halves = [list(table)]
    firsts = [0, len(halves[0])]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:

        def write(index: int) -> int:
            keys = halves[index]
            keys.sort()
            first = firsts[index]
            _pwrite_all(fd, array("Q", keys).tobytes(), _HEADER.size + 8 * first)
            values = b"".join(map(table.__getitem__, keys))
            _pwrite_all(fd, values, _HEADER.size + 8 * n + _SIX.size * first)
            return len(keys)

        _pwrite_all(fd, _HEADER.pack(_MAGIC, n), 0)
        map_forked(write, range(len(halves)))
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    with memoryview(data) as view:
        done = 0
        while done < len(view):
            done += os.pwrite(fd, view[done:], offset + done)


class ImportState:
    """The state of one importer (``source``) next to one ledger; use as a context manager.

    Entering takes the source's lock (waiting up to ``timeout`` seconds, ``-1`` for ever,
    then raising :class:`ImportBusyError`); the file table is read a shard at a time as paths
    are looked up in :attr:`files`; :meth:`commit` saves.
    """

    def __init__(self, log_path: Path, source: str, *, timeout: float = -1) -> None:
        self.dir = log_path.parent / "import-state" / source
        self.log_path = log_path
        self.source = source
        self.timeout = timeout
        self.files = FileTable(self.dir / "files")
        self.ledger: dict[str, int] = {}
        self._lock: _Lock | None = None
        self._base: _SeenBase | None = None
        self._mid: _SeenBase | None = None
        self._delta: dict[int, Counts] = {}
        self._delta_records = 0
        self._new: dict[int, Counts] = {}
        self._bulk: dict[int, bytes] = {}  # keys put a file at a time, counts still packed
        self._legacy = False

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> ImportState:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = _Lock(self.dir / "lock")
        if not self._lock.acquire(self.timeout):
            raise ImportBusyError(f"another {self.source} import is running")
        try:
            self._load()
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for part in (self._base, self._mid):
            if part is not None:
                part.close()
        if self._lock is not None:
            self._lock.release()

    def _load(self) -> None:
        try:
            ledger = orjson.loads((self.dir / "ledger.json").read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            ledger = {}
        self.ledger = ledger if isinstance(ledger, dict) else {}
        has_files = self.files.exists()
        if not has_files:
            has_files = self._load_legacy()
        self._base = _SeenBase(self.dir / "seen.base")
        self._mid = _SeenBase(self.dir / "seen.mid")
        try:
            data = (self.dir / "seen.delta").read_bytes()
        except FileNotFoundError:
            data = b""
        usable = len(data) - len(data) % _RECORD.size
        for key, *counts in _RECORD.iter_unpack(data[:usable]):
            self._delta[key] = (counts[0], counts[1], counts[2], counts[3], counts[4], counts[5])
        self._delta_records = usable // _RECORD.size
        if not has_files and self._base.n == 0 and self._mid.n == 0 and not self._delta:
            self.ledger = {}  # no state at all: rebuild it from the whole ledger

    def _load_legacy(self) -> bool:
        """Read the single ``files.json`` of earlier versions; True when there was one."""
        try:
            raw = orjson.loads((self.dir / "files.json").read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return False
        if not isinstance(raw, dict):
            return False
        marks: dict[str, FileMark] = {}
        files = raw.get("files", {})
        if isinstance(files, dict):
            for path, value in files.items():
                try:
                    dev, ino, offset, size, mtime_ns, head, context = value
                    marks[path] = FileMark(
                        int(dev), int(ino), int(offset), int(size), int(mtime_ns), str(head), dict(context)
                    )
                except (TypeError, ValueError):
                    continue
        self.files.adopt(marks)
        ledger = raw.get("ledger", {})
        if not self.ledger and isinstance(ledger, dict):
            self.ledger = ledger
        self._legacy = True
        return bool(marks)

    # -- seen keys ---------------------------------------------------------------------------

    def get(self, key: int) -> Counts | None:
        """The counts already recorded for ``key``, or ``None`` when it was never recorded."""
        found = self._new.get(key)
        if found is None and self._bulk:
            packed = self._bulk.get(key)
            if packed is not None:
                v = _SIX.unpack(packed)
                return (v[0], v[1], v[2], v[3], v[4], v[5])
        if found is None:
            found = self._delta.get(key)
        if found is None and self._mid is not None:
            found = self._mid.get(key)
        if found is None and self._base is not None:
            found = self._base.get(key)
        return found

    def put(self, key: int, counts: Counts) -> None:
        """Remember that the ledger now holds ``counts`` for ``key`` (saved on commit)."""
        self._new[key] = counts

    def getter(self) -> Callable[[int], Counts | None]:
        """:meth:`get` for a hot loop: only the tiers that hold anything are asked (in a first
        import, this run's keys alone)."""
        if self._delta or not self._nothing_saved():
            return self.get
        if not self._bulk:
            return self._new.get
        new_get = self._new.get
        bulk_get = self._bulk.get
        unpack = _SIX.unpack

        def get(key: int) -> Counts | None:
            found = new_get(key)
            if found is None:
                packed = bulk_get(key)
                if packed is not None:
                    return unpack(packed)
            return found

        return get

    def _nothing_saved(self) -> bool:
        return all(part is None or part.n == 0 for part in (self._base, self._mid))

    def setter(self) -> Callable[[int, Counts], None]:
        """:meth:`put` for a hot loop."""
        return self._new.__setitem__

    def put_new_file(self, keys: list[int], packed_counts: bytes) -> bool:
        """Record a whole file's keys at once when none was met before (a first import).

        ``packed_counts`` holds the counts of each key as :data:`PACKED_COUNTS` packs them.
        Returns False, recording nothing, when the state holds anything saved before this
        run, when one of ``keys`` is already recorded, or when ``keys`` repeat; use
        :meth:`put` then.
        """
        if self._delta or not self._nothing_saved():
            return False
        if self._new.keys() & keys or self._bulk.keys() & keys or len(set(keys)) != len(keys):
            return False
        size = _SIX.size
        self.put_packed(keys, [packed_counts[i : i + size] for i in range(0, len(packed_counts), size)])
        return True

    def put_packed(self, keys: list[int], rows: list[bytes]) -> None:
        """Record ``keys``, each never recorded before, with their counts packed one row per
        key as :data:`PACKED_COUNTS` packs them. They stay packed until saved: no tuple is
        made per key."""
        self._bulk.update(zip(keys, rows, strict=True))

    # -- ledger catch-up ---------------------------------------------------------------------

    def pending_ledger_range(self) -> tuple[int, int]:
        """Bytes of the ledger written since this state last saw it: ``(start, end)``."""
        try:
            st = self.log_path.stat()
        except FileNotFoundError:
            return (0, 0)
        start = int(self.ledger.get("offset", 0))
        if self.ledger.get("ino") != st.st_ino or self.ledger.get("dev") != st.st_dev:
            # A rewritten (or never seen) ledger: our keys stay valid; rescan it only when
            # the state knows nothing, which rebuilds the state from the ledger.
            start = 0 if not self.ledger else st.st_size
        if start > st.st_size:
            start = st.st_size
        return (start, st.st_size)

    # -- saving ------------------------------------------------------------------------------

    def commit(self) -> None:
        """Save the keys recorded in this run, the changed file marks, then the ledger size.

        Each file is replaced atomically, in that order: a crash in between leaves marks
        older than the keys (files read again, their messages found as duplicates) and a
        ledger size older than both (its events taken in again by a catch-up that skips what
        it already knows).
        """
        self._save_keys()
        self.files.save()
        try:
            st = self.log_path.stat()
            self.ledger = {"dev": st.st_dev, "ino": st.st_ino, "offset": st.st_size}
        except FileNotFoundError:
            self.ledger = {}
        _write_atomic(self.dir / "ledger.json", orjson.dumps(self.ledger))
        if self._legacy:
            with contextlib.suppress(FileNotFoundError):
                (self.dir / "files.json").unlink()
            self._legacy = False

    def _save_keys(self) -> None:
        if not self._new and not self._bulk:
            return
        records = self._delta_records + len(self._new) + len(self._bulk)
        if records <= DELTA_RECORDS:
            for key, packed in self._bulk.items():
                if key not in self._new:
                    v = _SIX.unpack(packed)
                    self._new[key] = (v[0], v[1], v[2], v[3], v[4], v[5])
            self._bulk = {}
            data = b"".join(_RECORD.pack(k, *v) for k, v in self._new.items())
            with (self.dir / "seen.delta").open("ab") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            self._delta.update(self._new)
            self._delta_records = records
            self._new = {}
            return
        self._fold()

    def _fold(self) -> None:
        """Fold the delta and this run's keys into ``seen.mid``, or everything into the base."""
        base_n = self._base.n if self._base is not None else 0
        mid_n = self._mid.n if self._mid is not None else 0
        fresh = len(self._delta) + len(self._bulk) + len(self._new)
        into_base = mid_n + fresh > max(DELTA_RECORDS, base_n // 4)
        # Newest last: base, mid, delta, the bulk of this run, then its single puts.
        table: dict[int, bytes] = {}
        if into_base and self._base is not None:
            table.update(self._base.packed_items())
        if self._mid is not None:
            table.update(self._mid.packed_items())
        table.update(zip(self._delta, _pack_all(self._delta.values()), strict=True))
        if table:
            table.update(self._bulk)
        else:
            table = self._bulk  # a first import: nothing to merge with
        table.update(zip(self._new, _pack_all(self._new.values()), strict=True))
        for part in (self._base, self._mid):
            if part is not None:
                part.close()
        if into_base:
            _write_seen(self.dir / "seen.base", table)
            _write_atomic(self.dir / "seen.mid", b"")
        else:
            _write_seen(self.dir / "seen.mid", table)
        # Every delta record is in the files above now; an empty delta is the next start.
        _write_atomic(self.dir / "seen.delta", b"")
        self._base = _SeenBase(self.dir / "seen.base")
        self._mid = _SeenBase(self.dir / "seen.mid")
        self._delta = {}
        self._delta_records = 0
        self._new = {}
        self._bulk = {}


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def iter_ids(values: Iterable[Any], source: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """``(id, corrects, value)`` of the decoded ledger values that came from ``source``."""
    for value in values:
        if isinstance(value, dict) and value.get("source") == source:
            yield str(value.get("id", "")), str(value.get("corrects", "")), value
