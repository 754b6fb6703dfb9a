"""What an importer remembers between runs: files already read, messages already recorded.

Layout, under ``<log dir>/import-state/<source>/``:

``lock``
    A ``filelock`` held for the whole run, so two imports (or hooks) of the same source
    never interleave and never count a message twice.
``files.json``
    Per transcript: identity ``(dev, inode)``, bytes consumed, size and mtime, a digest of
    the first bytes (to notice a file rewritten in place) and per-file parser context.
``seen.base`` + ``seen.delta``
    Every message key already in the ledger with the counts recorded for it. ``seen.base``
    is a sorted, packed array (8-byte keys, then 5 signed 8-byte counts per key) that is
    memory-mapped and binary-searched, so a run costs O(new entries x log history) rather
    than O(history) to load. ``seen.delta`` is an append-only file of records written since
    the last merge; it is folded into the base once it grows past a quarter of it.

The ledger is the source of truth and this state a cache of it: event ids are derived from
the same 8-byte key (``<prefix><16 hex digits>``), and the state remembers the ledger size
after its last write. A run first reads any ledger bytes appended since then, so an import
that crashed between writing the ledger and saving the state is not counted twice, and a
lost state can be rebuilt from the ledger alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import struct
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import orjson
from filelock import FileLock, Timeout

__all__ = [
    "COUNTS",
    "Counts",
    "FileMark",
    "ImportBusyError",
    "ImportState",
    "key_of",
]

COUNTS = 6
"""Values kept per key: prompt, completion, cached, cache_write, cache_write_1h, ts."""

Counts = tuple[int, int, int, int, int, int]
"""What the ledger holds for one message key: its summed counts and the first event's ts."""

_MAGIC = b"JUSEEN01"
_HEADER = struct.Struct("<8sQ")
_RECORD = struct.Struct("<Q6q")
HEAD_BYTES = 512
"""Bytes at the start of a file whose digest tells a rewritten file from an appended one."""


_blake2b = hashlib.blake2b


class ImportBusyError(RuntimeError):
    """Another import of the same source holds the lock and did not finish in time."""


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


@dataclass
class FileMark:
    """How far a transcript was read, and how to recognise it next time."""

    dev: int
    ino: int
    offset: int
    size: int
    mtime_ns: int
    head: str
    context: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> list[Any]:
        return [self.dev, self.ino, self.offset, self.size, self.mtime_ns, self.head, self.context]

    @classmethod
    def from_json(cls, raw: Any) -> FileMark | None:
        try:
            dev, ino, offset, size, mtime_ns, head, context = raw
            return cls(int(dev), int(ino), int(offset), int(size), int(mtime_ns), str(head), dict(context))
        except (TypeError, ValueError):
            return None


class _SeenBase:
    """The sorted, memory-mapped part of the seen-keys table."""

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
        values = self.values.tolist()
        for i, key in enumerate(self.keys.tolist()):
            j = i * COUNTS
            yield (
                key,
                (
                    values[j],
                    values[j + 1],
                    values[j + 2],
                    values[j + 3],
                    values[j + 4],
                    values[j + 5],
                ),
            )

    def close(self) -> None:
        self.keys = self.values = None
        if self._mm is not None:
            with contextlib.suppress(BufferError):
                self._mm.close()
            self._mm = None


class ImportState:
    """The state of one importer (``source``) next to one ledger; use as a context manager.

    Entering takes the source's lock (waiting up to ``timeout`` seconds, ``-1`` for ever,
    then raising :class:`ImportBusyError`) and loads the file table; :meth:`commit` saves.
    """

    def __init__(self, log_path: Path, source: str, *, timeout: float = -1) -> None:
        self.dir = log_path.parent / "import-state" / source
        self.log_path = log_path
        self.source = source
        self.timeout = timeout
        self.files: dict[str, FileMark] = {}
        self.ledger: dict[str, int] = {}
        self._lock: FileLock | None = None
        self._base: _SeenBase | None = None
        self._delta: dict[int, Counts] = {}
        self._delta_records = 0
        self._new: dict[int, Counts] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> ImportState:
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.dir / "lock"))
        try:
            self._lock.acquire(timeout=self.timeout)
        except Timeout:
            raise ImportBusyError(f"another {self.source} import is running") from None
        try:
            self._load()
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self._base is not None:
            self._base.close()
        if self._lock is not None:
            self._lock.release()

    def _load(self) -> None:
        try:
            raw = orjson.loads((self.dir / "files.json").read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            raw = {}
        if not isinstance(raw, dict):
            raw = {}
        files = raw.get("files", {})
        if isinstance(files, dict):
            for path, value in files.items():
                mark = FileMark.from_json(value)
                if mark is not None:
                    self.files[path] = mark
        ledger = raw.get("ledger", {})
        self.ledger = ledger if isinstance(ledger, dict) else {}
        self._base = _SeenBase(self.dir / "seen.base")
        try:
            data = (self.dir / "seen.delta").read_bytes()
        except FileNotFoundError:
            data = b""
        usable = len(data) - len(data) % _RECORD.size
        for key, *counts in _RECORD.iter_unpack(data[:usable]):
            self._delta[key] = (counts[0], counts[1], counts[2], counts[3], counts[4], counts[5])
        self._delta_records = usable // _RECORD.size
        if not files and self._base.n == 0 and not self._delta:
            self.ledger = {}  # no state at all: rebuild it from the whole ledger

    # -- seen keys ---------------------------------------------------------------------------

    def get(self, key: int) -> Counts | None:
        """The counts already recorded for ``key``, or ``None`` when it was never recorded."""
        found = self._new.get(key)
        if found is None:
            found = self._delta.get(key)
        if found is None and self._base is not None:
            found = self._base.get(key)
        return found

    def put(self, key: int, counts: Counts) -> None:
        """Remember that the ledger now holds ``counts`` for ``key`` (saved on commit)."""
        self._new[key] = counts

    def getter(self) -> Callable[[int], Counts | None]:
        """:meth:`get` for a hot loop: a bare dict lookup while nothing was saved before."""
        if (self._base is None or self._base.n == 0) and not self._delta:
            return self._new.get
        return self.get

    def setter(self) -> Callable[[int, Counts], None]:
        """:meth:`put` for a hot loop."""
        return self._new.__setitem__

    @property
    def new_keys(self) -> dict[int, Counts]:
        """Keys recorded during this run (not yet saved)."""
        return self._new

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
        """Save the file table and the keys recorded in this run (atomically, in order)."""
        self._save_keys()
        try:
            st = self.log_path.stat()
            self.ledger = {"dev": st.st_dev, "ino": st.st_ino, "offset": st.st_size}
        except FileNotFoundError:
            self.ledger = {}
        payload = {
            "version": 1,
            "files": {path: mark.to_json() for path, mark in self.files.items()},
            "ledger": self.ledger,
        }
        _write_atomic(self.dir / "files.json", orjson.dumps(payload))

    def _save_keys(self) -> None:
        if not self._new:
            return
        base_n = self._base.n if self._base is not None else 0
        records = self._delta_records + len(self._new)
        if records <= max(4096, base_n // 4):
            data = b"".join(_RECORD.pack(k, *v) for k, v in self._new.items())
            with (self.dir / "seen.delta").open("ab") as fh:
                fh.write(data)
            self._delta.update(self._new)
            self._delta_records = records
            self._new = {}
            return
        self._merge()

    def _merge(self) -> None:
        if (self._base is None or self._base.n == 0) and not self._delta:
            items = sorted(self._new.items())  # a first import: nothing to merge with
        else:
            merged: dict[int, Counts] = {}
            if self._base is not None:
                merged.update(self._base.items())
            merged.update(self._delta)
            merged.update(self._new)
            items = sorted(merged.items())
        key_arr = array("Q", [key for key, _ in items])
        values = array("q", chain.from_iterable([counts for _, counts in items]))
        data = _HEADER.pack(_MAGIC, len(items)) + key_arr.tobytes() + values.tobytes()
        if self._base is not None:
            self._base.close()
        _write_atomic(self.dir / "seen.base", data)
        # Delta records are all in the base now; an empty delta is the next starting point.
        _write_atomic(self.dir / "seen.delta", b"")
        self._base = _SeenBase(self.dir / "seen.base")
        self._delta = {}
        self._delta_records = 0
        self._new = {}


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
